"""User administration from the app: admin-only writes on the user tables, enforced in the database.

Login bookkeeping (failed attempts, lock, last login) goes through a SECURITY DEFINER function,
so the app's role needs no general UPDATE right on ``app_user``; adding, changing and disabling
users is admitted by row-level security only when the transaction's user is an admin
(``geo_dash.role`` is set with the scope at the start of every app transaction).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gd_record_login(p_user integer, p_failed integer, p_locked timestamptz, p_ok boolean)
        RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
            UPDATE app_user SET failed_logins = p_failed, locked_until = p_locked,
                                last_login_at = CASE WHEN p_ok THEN now() ELSE last_login_at END
            WHERE id = p_user
        $$;
        REVOKE ALL ON FUNCTION gd_record_login(integer, integer, timestamptz, boolean) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION gd_record_login(integer, integer, timestamptz, boolean) TO geo_dash_app;
        REVOKE UPDATE ON app_user FROM geo_dash_app;

        CREATE FUNCTION gd_is_admin() RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT current_setting('geo_dash.role', true) = 'admin'
        $$;
        GRANT INSERT, UPDATE ON app_user, user_scope, wall_token TO geo_dash_app;
        GRANT DELETE ON user_scope TO geo_dash_app;
        ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
        CREATE POLICY app_user_read ON app_user FOR SELECT USING (true);
        CREATE POLICY app_user_admin_insert ON app_user FOR INSERT WITH CHECK (gd_is_admin());
        CREATE POLICY app_user_admin_update ON app_user FOR UPDATE USING (gd_is_admin()) WITH CHECK (gd_is_admin());
        ALTER TABLE user_scope ENABLE ROW LEVEL SECURITY;
        CREATE POLICY user_scope_read ON user_scope FOR SELECT USING (true);
        CREATE POLICY user_scope_admin_insert ON user_scope FOR INSERT WITH CHECK (gd_is_admin());
        CREATE POLICY user_scope_admin_delete ON user_scope FOR DELETE USING (gd_is_admin());
        ALTER TABLE wall_token ENABLE ROW LEVEL SECURITY;
        CREATE POLICY wall_token_read ON wall_token FOR SELECT USING (true);
        CREATE POLICY wall_token_admin_insert ON wall_token FOR INSERT WITH CHECK (gd_is_admin());
        CREATE POLICY wall_token_admin_update ON wall_token FOR UPDATE USING (gd_is_admin()) WITH CHECK (gd_is_admin());
        GRANT SELECT ON app_user TO geo_dash_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP POLICY IF EXISTS app_user_read ON app_user; DROP POLICY IF EXISTS app_user_admin_insert ON app_user;
        DROP POLICY IF EXISTS app_user_admin_update ON app_user;
        DROP POLICY IF EXISTS user_scope_read ON user_scope; DROP POLICY IF EXISTS user_scope_admin_insert ON user_scope;
        DROP POLICY IF EXISTS user_scope_admin_delete ON user_scope;
        DROP POLICY IF EXISTS wall_token_read ON wall_token; DROP POLICY IF EXISTS wall_token_admin_insert ON wall_token;
        DROP POLICY IF EXISTS wall_token_admin_update ON wall_token;
        ALTER TABLE app_user DISABLE ROW LEVEL SECURITY; ALTER TABLE user_scope DISABLE ROW LEVEL SECURITY;
        ALTER TABLE wall_token DISABLE ROW LEVEL SECURITY;
        DROP FUNCTION IF EXISTS gd_is_admin(); DROP FUNCTION IF EXISTS gd_record_login(integer, integer, timestamptz, boolean);
        """
    )
