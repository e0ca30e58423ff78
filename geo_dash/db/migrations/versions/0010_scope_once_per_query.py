"""The case scope evaluated once per query, not once per row.

Row-level security on ``grievance_case`` called ``gd_scope_allows(...)`` for every row. That SQL
function has a FROM clause, so PostgreSQL cannot inline it, and each call parsed the scope's JSON
again: ≈ 38 µs a row. Counting 1,000,000 cases as the app took 37 s (0.6 s as the owner), and so did
every page read that touched many cases, such as the map's data-quality note for the whole country.

The policy now reads the scope through uncorrelated scalar subqueries. PostgreSQL runs each of them
once per query (InitPlans), and each row is compared with small arrays:
``all OR province_legacy = ANY(...) OR district_legacy = ANY(...) OR ...``. It admits the same rows
as ``gd_scope_allows``, which stays for the functions that check one case (gd_move_case).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (column, key of the scope's JSON); `(SELECT …)::text[]` is an expression, not `= ANY (subquery)`
_KEYS = (("province_legacy", "legacy_province"), ("district_legacy", "legacy_district"),
         ("province_2025", "province_2025"), ("commune_2025", "commune_2025"))
CASE_SCOPE = " OR ".join(["(SELECT gd_scope_all())"] + [
    f"{column}::text = ANY ((SELECT gd_scope_list('{key}'))::text[])" for column, key in _KEYS])

_OLD = "gd_scope_allows(province_legacy, district_legacy, province_2025, commune_2025)"


def upgrade() -> None:
    op.execute(f"""
        CREATE FUNCTION gd_scope_all() RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT COALESCE((gd_scope()->>'all')::boolean, false)
        $$;
        CREATE FUNCTION gd_scope_list(key text) RETURNS text[] LANGUAGE sql STABLE AS $$
            SELECT COALESCE(ARRAY(SELECT jsonb_array_elements_text(gd_scope()->key)), '{{}}')
        $$;
        DROP POLICY case_scope ON grievance_case;
        CREATE POLICY case_scope ON grievance_case USING ({CASE_SCOPE}) WITH CHECK ({CASE_SCOPE});
    """)


def downgrade() -> None:
    op.execute(f"""
        DROP POLICY case_scope ON grievance_case;
        CREATE POLICY case_scope ON grievance_case USING ({_OLD}) WITH CHECK ({_OLD});
        DROP FUNCTION gd_scope_list(text);
        DROP FUNCTION gd_scope_all();
    """)
