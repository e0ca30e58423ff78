"""Row-level security: the database itself keeps each scope to its own cases."""

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from geo_dash.db.engine import get_app_engine
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import Scope


def _app_conn(cluster, dbname):
    """A direct connection as the app's role (it owns nothing)."""
    return psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user="geo_dash_app", dbname=dbname)


def test_app_role_without_scope_sees_no_cases(cluster, demo_engine):
    dbname = demo_engine.url.database
    with demo_engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one()
    assert total > 1000
    with _app_conn(cluster, dbname) as conn:
        assert conn.execute("SELECT count(*) FROM grievance_case").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM case_status_history").fetchone()[0] == 0
        # with a district's scope set for the transaction: exactly that district's cases
        conn.execute("SELECT set_config('geo_dash.scope', %s, true)", ('{"legacy_district": ["464"]}',))
        n, districts = conn.execute("SELECT count(*), array_agg(DISTINCT district_legacy) FROM grievance_case").fetchone()
    with demo_engine.connect() as conn:
        expected = conn.execute(text("SELECT count(*) FROM grievance_case WHERE district_legacy = '464'")).scalar_one()
    assert n == expected > 0 and districts == ["464"]


def test_app_role_owns_nothing_and_cannot_rewrite_history(cluster, demo_engine):
    with _app_conn(cluster, demo_engine.url.database) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'grievance_case'").fetchone()[0]
        assert owner != "geo_dash_app"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM grievance_case")
    with _app_conn(cluster, demo_engine.url.database) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_log SET actor = 'x'")
    # even the owner cannot change the audit log: it is append-only
    with pytest.raises(DBAPIError, match="append-only"):
        with demo_engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (action) VALUES ('x')"))
            conn.execute(text("DELETE FROM audit_log"))


def test_app_engine_sets_the_request_scope_on_every_transaction(demo_engine):
    url = demo_engine.url.render_as_string(hide_password=False)
    engine = get_app_engine(url)
    token = current_user.set(User(id=0, username="probe", role="officer",
                                  scope=Scope(legacy_districts=frozenset({"470"}))))
    try:
        with engine.connect() as conn:
            role, districts = conn.execute(text(
                "SELECT current_user, array_agg(DISTINCT district_legacy) FROM grievance_case")).one()
    finally:
        current_user.reset(token)
    assert role == "geo_dash_app" and districts == ["470"]
    with engine.connect() as conn:  # no user: nothing
        assert conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one() == 0


def test_writes_outside_the_scope_are_refused_by_the_database(demo_engine):
    url = demo_engine.url.render_as_string(hide_password=False)
    engine = get_app_engine(url)
    token = current_user.set(User(id=0, username="probe", role="officer",
                                  scope=Scope(legacy_districts=frozenset({"464"}))))
    try:
        with pytest.raises(ProgrammingError, match="row-level security"):
            with engine.begin() as conn:
                conn.execute(text("""INSERT INTO grievance_case (source, external_ref, received_date, kind, category,
                    is_mass, status, deadline_date, unit_scheme, unit_code, commune_legacy, district_legacy,
                    province_legacy, commune_2025, province_2025)
                    VALUES ('x', 'y', '2024-01-01', 'khieu_nai', 'khac', false, 'tiep_nhan', '2024-02-01',
                            'legacy', '19741', '19741', '470', '45', '19741', '44')"""))
        with engine.begin() as conn:  # updating another district's case touches no row
            n = conn.execute(text("UPDATE grievance_case SET status = 'rut_don' WHERE district_legacy = '470'")).rowcount
        assert n == 0
    finally:
        current_user.reset(token)


_SCOPES = [  # the shapes scope_json writes, mixed, and ones that admit nothing
    '{"all": true}', '{"all": false}', "{}", "",
    '{"legacy_province": ["45"]}', '{"legacy_district": ["464"]}', '{"legacy_district": ["464", "470"]}',
    '{"province_2025": ["44"]}', '{"commune_2025": ["19363", "19366"]}',
    '{"legacy_district": ["464"], "commune_2025": ["19741"]}', '{"legacy_province": [], "commune_2025": []}',
    '{"legacy_district": ["999"]}',
]


def test_the_case_policy_admits_exactly_what_gd_scope_allows_admits(cluster, demo_engine):
    """Migration 0010 evaluates the scope once per query; for every shape of scope it must admit the
    same rows, for reads and writes, as the per-row function of migration 0005 it replaced."""
    for scope in _SCOPES:
        with demo_engine.connect() as conn:  # the owner: no policy; the old function, row by row
            conn.execute(text("SELECT set_config('geo_dash.scope', :s, false)"), {"s": scope})
            expected = set(conn.execute(text(
                "SELECT id FROM grievance_case WHERE gd_scope_allows(province_legacy, district_legacy, "
                "province_2025, commune_2025)")).scalars())
        with _app_conn(cluster, demo_engine.url.database) as conn:
            conn.execute("SELECT set_config('geo_dash.scope', %s, true)", (scope,))
            seen = {r[0] for r in conn.execute("SELECT id FROM grievance_case")}
            # the same rows may be written (WITH CHECK): an update that keeps every row where it is passes
            updated = conn.execute("UPDATE grievance_case SET updated_by = 'rls-test'").rowcount
            conn.rollback()
        assert seen == expected and updated == len(expected), scope
        if scope in ('{"all": true}', '{"legacy_district": ["464"]}', '{"commune_2025": ["19363", "19366"]}'):
            assert expected, scope  # the demo data has cases there: not a comparison of two empty sets


def test_the_case_policy_reads_the_scope_once_per_query(cluster, demo_engine):
    """Not per row: PostgreSQL runs the policy's scope lookups once (InitPlans), so a whole-country
    count as the app costs a scan, not a function call per case."""
    with _app_conn(cluster, demo_engine.url.database) as conn:
        conn.execute("SELECT set_config('geo_dash.scope', %s, true)", ('{"all": true}',))
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT count(*) FROM grievance_case"))
    assert "InitPlan" in plan and "gd_scope_allows" not in plan
