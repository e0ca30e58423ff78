"""Users, roles and scopes; wall tokens; the append-only audit log; the app's database role
and row-level security on the case tables.

The app connects as ``geo_dash_app``, which owns nothing: it may read and write cases only
through the row-level-security policies below, which admit a row when the request's scope —
set per transaction with ``set_config('geo_dash.scope', <json>, true)`` — allows its unit.
Without a scope it sees no case at all.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "geo_dash_app"


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            END IF;
        END $$;

        ALTER TABLE grievance_case ADD COLUMN district_legacy varchar(3);
        UPDATE grievance_case c SET district_legacy = u.parent_code
          FROM admin_unit u WHERE u.scheme = 'legacy' AND u.code = c.commune_legacy;
        CREATE INDEX ix_case_district_legacy ON grievance_case (district_legacy);

        CREATE TABLE app_user (
            id             serial PRIMARY KEY,
            username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{{3,64}}$'),
            display_name   text,
            role           text NOT NULL CHECK (role IN ('admin', 'leader', 'officer', 'wall')),
            password_hash  text,
            disabled       boolean NOT NULL DEFAULT false,
            created_at     timestamptz NOT NULL DEFAULT now(),
            last_login_at  timestamptz,
            failed_logins  integer NOT NULL DEFAULT 0,
            locked_until   timestamptz,
            session_epoch  integer NOT NULL DEFAULT 0   -- bumped to end all of a user's sessions
        );

        -- a scope is a set of admin units: provinces, legacy districts, 2025 communes (or all)
        CREATE TABLE user_scope (
            user_id  integer NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
            kind     text NOT NULL CHECK (kind IN ('all', 'legacy_province', 'legacy_district',
                                                   'province_2025', 'commune_2025')),
            code     text NOT NULL DEFAULT '',
            PRIMARY KEY (user_id, kind, code)
        );

        CREATE TABLE wall_token (
            id          serial PRIMARY KEY,
            user_id     integer NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
            token_hash  varchar(64) NOT NULL UNIQUE,    -- sha256 of the token; the token itself is shown once
            label       text,
            created_at  timestamptz NOT NULL DEFAULT now(),
            revoked_at  timestamptz
        );

        CREATE TABLE audit_log (
            id       bigserial PRIMARY KEY,
            at       timestamptz NOT NULL DEFAULT now(),
            actor    text,
            action   text NOT NULL,
            target   text,
            scope    jsonb,
            details  jsonb,
            ip       text
        );
        CREATE INDEX ix_audit_at ON audit_log (at);
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
        CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

        -- the request's scope, as set by the app for the current transaction
        CREATE FUNCTION gd_scope() RETURNS jsonb LANGUAGE sql STABLE AS $$
            SELECT nullif(current_setting('geo_dash.scope', true), '')::jsonb
        $$;
        CREATE FUNCTION gd_scope_allows(p_legacy text, d_legacy text, p_2025 text, c_2025 text)
        RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT COALESCE(
                (s->>'all')::boolean
                OR p_legacy IN (SELECT jsonb_array_elements_text(s->'legacy_province'))
                OR d_legacy IN (SELECT jsonb_array_elements_text(s->'legacy_district'))
                OR p_2025 IN (SELECT jsonb_array_elements_text(s->'province_2025'))
                OR c_2025 IN (SELECT jsonb_array_elements_text(s->'commune_2025')),
                false)
            FROM (SELECT gd_scope() AS s) x
        $$;

        ALTER TABLE grievance_case ENABLE ROW LEVEL SECURITY;
        CREATE POLICY case_scope ON grievance_case
            USING (gd_scope_allows(province_legacy, district_legacy, province_2025, commune_2025))
            WITH CHECK (gd_scope_allows(province_legacy, district_legacy, province_2025, commune_2025));
        ALTER TABLE case_history ENABLE ROW LEVEL SECURITY;
        CREATE POLICY case_history_scope ON case_history
            USING (EXISTS (SELECT 1 FROM grievance_case c WHERE c.id = case_id));
        ALTER TABLE case_status_history ENABLE ROW LEVEL SECURITY;
        CREATE POLICY case_status_history_scope ON case_status_history
            USING (EXISTS (SELECT 1 FROM grievance_case c WHERE c.id = case_id));
        ALTER TABLE case_import ENABLE ROW LEVEL SECURITY;
        CREATE POLICY case_import_scope ON case_import
            USING ((gd_scope()->>'all')::boolean OR imported_by = current_setting('geo_dash.user', true))
            WITH CHECK (imported_by = current_setting('geo_dash.user', true) OR (gd_scope()->>'all')::boolean);

        GRANT USAGE ON SCHEMA public TO {APP_ROLE};
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
        GRANT INSERT, UPDATE ON grievance_case, case_history, case_status_history, case_import TO {APP_ROLE};
        GRANT INSERT ON audit_log TO {APP_ROLE};
        GRANT UPDATE (last_login_at, failed_logins, locked_until) ON app_user TO {APP_ROLE};
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
        -- tables made by later migrations are readable by the app too (writes are granted one by one)
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {APP_ROLE};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {APP_ROLE};
        REVOKE SELECT ON app_user FROM {APP_ROLE};
        GRANT SELECT (id, username, display_name, role, password_hash, disabled, failed_logins, locked_until,
                      session_epoch, last_login_at) ON app_user TO {APP_ROLE};
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP POLICY IF EXISTS case_scope ON grievance_case;
        DROP POLICY IF EXISTS case_history_scope ON case_history;
        DROP POLICY IF EXISTS case_status_history_scope ON case_status_history;
        DROP POLICY IF EXISTS case_import_scope ON case_import;
        ALTER TABLE grievance_case DISABLE ROW LEVEL SECURITY;
        ALTER TABLE case_history DISABLE ROW LEVEL SECURITY;
        ALTER TABLE case_status_history DISABLE ROW LEVEL SECURITY;
        ALTER TABLE case_import DISABLE ROW LEVEL SECURITY;
        DROP FUNCTION IF EXISTS gd_scope_allows(text, text, text, text);
        DROP FUNCTION IF EXISTS gd_scope();
        DROP TABLE IF EXISTS audit_log, wall_token, user_scope, app_user;
        DROP FUNCTION IF EXISTS audit_log_append_only();
        ALTER TABLE grievance_case DROP COLUMN IF EXISTS district_legacy;
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
        """
    )
