"""Whether the cases changed since an analytics run: the map and the wall say so.

The map, the wall and the exports read what ``geo-dash analytics refresh`` computed; imports and
edits of cases do not recompute it.  Each run records the cases it read (``data_version``: the last
import's id, the number of cases and their latest ``updated_at``, as its transaction saw them).
``gd_cases_changed_since(run)`` compares that with the cases now:

* another number of cases, or another latest ``updated_at`` (a case created, edited or moved);
* or a committed import after the run's last one that created or updated cases.

It is SECURITY DEFINER because a run covers every case and the app's role sees only its area under
row-level security; it answers one boolean and nothing about the cases themselves.  NULL for a run
that does not exist or recorded no data version.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(r"""
        CREATE FUNCTION gd_cases_changed_since(p_run integer) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            WITH seen AS (
                SELECT substring(data_version FROM 'import:(\d+)')::bigint AS last_import,
                       substring(data_version FROM 'cases:(\d+)')::bigint AS n,
                       NULLIF(substring(data_version FROM 'updated:(.*)$'), '-')::timestamptz AS updated
                FROM analytics_run WHERE id = p_run
            )
            SELECT CASE
                WHEN seen.n IS NULL THEN NULL
                WHEN EXISTS (SELECT 1 FROM case_import i   -- cheap, and the usual reason: asked first
                             WHERE i.id > seen.last_import AND i.status = 'committed'
                               AND i.created + i.updated > 0) THEN true
                ELSE (SELECT count(*) <> seen.n OR max(updated_at) IS DISTINCT FROM seen.updated
                      FROM grievance_case)
            END
            FROM seen
        $$;
        REVOKE ALL ON FUNCTION gd_cases_changed_since(integer) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION gd_cases_changed_since(integer) TO geo_dash_app;
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION gd_cases_changed_since(integer)")
