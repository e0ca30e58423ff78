"""A large load builds the case tables' indexes and checks their foreign keys once, after the insert.

What it stores must be what the row-by-row path stores; afterwards every index and key is back, as
it was and valid; a failure half-way leaves the schema as it was; size decides when it is taken,
and the app's role (row-level security, no DDL) never takes it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from geo_dash.cases import store
from geo_dash.demo.generator import generate_cases, load_bundled_units
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import ALL


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """Synthetic cases of one province (Quảng Nam, 49) over 18 months: about 2,000."""
    return generate_cases(load_bundled_units(), seed=11, start=dt.date(2023, 1, 1), end=dt.date(2024, 6, 30),
                          provinces=("49",))


def _frame(cases: pd.DataFrame, source: str = "bulk") -> pd.DataFrame:
    return store.records_frame(cases.assign(source=source).to_dict("records"))


def _stored(conn) -> tuple[list, list]:
    """Every case and status-history row, without ids and times (which differ between two loads)."""
    cases = conn.execute(text("""
        SELECT source, external_ref, channel, received_date, kind, category, people_count, is_mass, is_over_level,
               is_complex, handling_level, status, deadline_date, resolved_date, dialogue_dates, project_name,
               summary, unit_scheme, unit_code, commune_legacy, commune_2025, province_2025, province_legacy,
               district_legacy, ST_AsText(location), is_synthetic, import_id, created_by
        FROM grievance_case ORDER BY source, external_ref""")).all()
    statuses = conn.execute(text("""
        SELECT c.external_ref, s.status, s.changed_by, s.province_2025 FROM case_status_history s
        JOIN grievance_case c ON c.province_2025 = s.province_2025 AND c.id = s.case_id
        ORDER BY c.external_ref, s.id""")).all()
    return [tuple(r) for r in cases], [tuple(r) for r in statuses]


def _schema(conn) -> tuple[store.BulkPlan, list]:
    """The plan (indexes and foreign keys of the case tables) and whether each is valid."""
    valid = conn.execute(text("""
        SELECT i.indexrelid::regclass::text, i.indisvalid AND i.indisready FROM pg_index i
        WHERE i.indrelid = ANY (CAST(:t AS regclass[]))
        UNION ALL
        SELECT conname, convalidated FROM pg_constraint
        WHERE contype = 'f' AND (conrelid = ANY (CAST(:t AS regclass[])) OR confrelid = ANY (CAST(:t AS regclass[])))
        ORDER BY 1"""), {"t": list(store.BULK_TABLES)}).all()
    return store.BulkPlan.of(conn), [tuple(r) for r in valid]


@pytest.fixture
def spy(monkeypatch):
    """Counts the bulk loads (their drops) that happen."""
    calls = []
    drop = store.BulkPlan.drop

    def counted(self, conn):
        calls.append(len(self.indexes))
        return drop(self, conn)

    monkeypatch.setattr(store.BulkPlan, "drop", counted)
    return calls


def test_a_bulk_load_stores_what_the_row_by_row_load_stores(scratch_engine, cases, spy):
    with scratch_engine.connect() as conn:
        before = _schema(conn)
    assert len(before[0].indexes) >= 8 and len(before[0].foreign_keys) == 1  # there is something to rebuild
    assert all(ok for _, ok in before[1])

    with scratch_engine.connect() as conn, conn.begin() as tx:
        row_by_row = store.write_cases(conn, _frame(cases), import_id=None, actor="t", bulk=False)
        expected = _stored(conn)
        tx.rollback()
    assert spy == [] and row_by_row.created == len(cases) > 1000

    steps = []
    with scratch_engine.begin() as conn:
        bulk = store.write_cases(conn, _frame(cases), import_id=None, actor="t", bulk=True, on_step=steps.append)
    assert spy == [len(before[0].indexes)] and steps[-2:] == ["written", "indexed"]
    assert bulk == row_by_row
    with scratch_engine.connect() as conn:
        assert _stored(conn) == expected
        after = _schema(conn)
        analysed = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'grievance_case'::regclass")).scalar()
    assert after == before  # the same indexes and keys, by name and definition, all valid
    assert analysed == len(cases)

    # the keys are enforced again: a status row of no case is refused
    with pytest.raises(Exception, match="fk_case_status_history_case"):
        with scratch_engine.begin() as conn:
            conn.execute(text("INSERT INTO case_status_history (province_2025, case_id, status) "
                              "VALUES ('49', -1, 'tiep_nhan')"))


def test_a_failed_bulk_load_leaves_the_schema_and_the_data_as_they_were(scratch_engine, cases, monkeypatch):
    with scratch_engine.begin() as conn:
        store.write_cases(conn, _frame(cases.head(50), source="first"), import_id=None, actor="t", bulk=False)
    with scratch_engine.connect() as conn:
        before, data = _schema(conn), _stored(conn)

    build = store.BulkPlan.build

    def half(self, conn):
        self.indexes = self.indexes[:2]  # some indexes come back, then the load fails
        build(self, conn)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.BulkPlan, "build", half)
    with pytest.raises(RuntimeError, match="disk full"):
        with scratch_engine.begin() as conn:
            store.write_cases(conn, _frame(cases), import_id=None, actor="t", bulk=True)
    with scratch_engine.connect() as conn:
        assert _schema(conn) == before and _stored(conn) == data


def test_size_decides_when_a_load_is_bulk(scratch_engine, cases, spy, monkeypatch):
    monkeypatch.setattr(store, "BULK_MIN_ROWS", 100)
    n = len(cases)
    assert n > 1500  # so that the sizes below say what their comments say

    def load(frame) -> int:
        """Loads; returns how many cases the table held before."""
        with scratch_engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one()
        with scratch_engine.begin() as conn:
            store.write_cases(conn, frame, import_id=None, actor="t")
        return held

    load(_frame(cases.head(99), source="small"))        # under the minimum, into an empty table
    assert spy == []
    held = load(_frame(cases.head(n // 3), source="a"))  # at least doubles the table
    assert n // 3 >= held and len(spy) == 1
    held = load(_frame(cases.head(n // 4), source="b"))  # fewer new cases than the table holds
    assert n // 4 < held and len(spy) == 1
    # the rows already there do not count: n // 3 new, among 2 n // 3 rows, more than the table holds
    held = load(_frame(cases.head(2 * (n // 3)), source="a"))
    assert 2 * (n // 3) >= held > n // 3 and len(spy) == 1
    held = load(store.records_frame(pd.concat([cases] * 3).assign(
        source="d", external_ref=[f"D-{i}" for i in range(3 * n)]).to_dict("records")))
    assert 3 * n >= held and len(spy) == 2


def test_the_app_role_never_takes_the_bulk_path(scratch_engine, cases, spy):
    from geo_dash.db import engine as engine_mod
    from geo_dash.db.engine import get_app_engine

    with scratch_engine.connect() as conn:
        before = _schema(conn)
    app = get_app_engine(scratch_engine.url.render_as_string(hide_password=False))
    token = current_user.set(User(id=0, username="admin", role="admin", scope=ALL))
    try:
        with app.begin() as conn:
            counts = store.write_cases(conn, _frame(cases.head(300)), import_id=None, actor="admin", bulk=True)
    finally:
        current_user.reset(token)
        engine_mod._app_engine.cache_clear()
        app.dispose()
    assert counts.created == 300 and spy == []
    with scratch_engine.connect() as conn:
        assert _schema(conn) == before


def test_the_import_command_takes_bulk_or_not_as_told(scratch_engine, spy, tmp_path):
    from click.testing import CliRunner

    from geo_dash.cli import main
    from geo_dash.db import engine as engine_mod
    from tests.cases.test_import_columns import _good, _write

    url = scratch_engine.url.render_as_string(hide_password=False)

    def run(*args):
        engine_mod._engine.cache_clear()
        return CliRunner().invoke(main, ["cases", "import", *args], env={"GEO_DASH_DATABASE_URL": url},
                                  catch_exceptions=False)

    small = _write(tmp_path / "nho.csv", [_good(i) for i in range(30)])
    assert run(str(small), "--no-bulk", "--as-of", "01/10/2025").exit_code == 0 and spy == []
    again = _write(tmp_path / "nho2.csv", [_good(i) for i in range(30, 40)])
    r = run(str(again), "--bulk", "--as-of", "01/10/2025")  # 10 rows onto 30: only because it was asked
    assert r.exit_code == 0, r.output
    assert "Dòng (rows): 10 = 10 nhận (accepted) + 0 từ chối (rejected)" in r.output and len(spy) == 1
    assert run(str(small), "--as-of", "01/10/2025").exit_code == 0 and len(spy) == 1  # 30 known, none new
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one() == 40
        assert all(ok for _, ok in _schema(conn)[1])


def test_pages_do_not_wait_for_a_bulk_load(scratch_engine, cases, tmp_path):
    """While a bulk load holds the case table, the demo banner keeps its last answer and the map's
    footer says the data-quality figures follow; neither waits for the load to commit."""
    import json
    import threading

    from geo_dash.cases import read
    from geo_dash.config import Settings
    from geo_dash.db import engine as engine_mod
    from geo_dash.web.app import create_app
    from tests.security.conftest import Client

    with scratch_engine.begin() as conn:
        store.write_cases(conn, _frame(cases.head(200)), import_id=None, actor="t")
    assert read.synthetic_present(scratch_engine) is True  # generated cases are marked synthetic
    url = scratch_engine.url.render_as_string(hide_password=False)
    app = create_app(database_url=url, settings=Settings(database_url=url, home=tmp_path))
    client = Client(app, "admin")
    key = next(k for k in app.callback_map if k.startswith("map-footer."))

    def footer() -> str:
        resp = client.callback(key, {"map-bounds.data": {}},
                               {"province.value": "49", "scheme.value": "legacy", "lang.data": "vi"})
        return json.loads(resp.get_data())["response"]["map-footer"]["children"]

    assert "200 vụ việc" in footer()
    from geo_dash.analytics.read import cases_changed_since
    from geo_dash.analytics.refresh import _data_version

    with scratch_engine.begin() as conn:  # the record an analytics run of these 200 cases leaves
        run = {"id": conn.execute(text("""INSERT INTO analytics_run (status, as_of, finished_at, data_version)
                                          VALUES ('ok', '2025-06-30', now(), :v) RETURNING id"""),
                                  {"v": _data_version(conn)}).scalar_one()}
    assert cases_changed_since(scratch_engine, run) is False
    answers: dict = {}

    def while_held():
        from geo_dash.boundaries.read import list_provinces

        answers["provinces"] = len(list_provinces(scratch_engine, "legacy", ALL))
        answers["banner"] = read.synthetic_present(scratch_engine)
        try:
            read.data_quality(scratch_engine, ALL, "legacy", "49")
        except read.CasesBusy:
            answers["quality"] = "busy"
        answers["footer"] = footer()
        answers["behind"] = cases_changed_since(scratch_engine, run)

    try:
        with scratch_engine.connect() as holder:
            tx = holder.begin()
            store.BulkPlan.of(holder).drop(holder)  # what a bulk load holds until it commits
            # it holds the two tables it fills and their indexes, nothing every page reads (admin_unit…)
            locked = holder.execute(text("""
                SELECT DISTINCT coalesce(i.indrelid, l.relation)::regclass::text FROM pg_locks l
                JOIN pg_class c ON c.oid = l.relation  -- the dropped indexes are gone
                LEFT JOIN pg_index i ON i.indexrelid = l.relation
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
                """)).scalars().all()
            assert sorted(locked) == sorted(store.BULK_TABLES)
            worker = threading.Thread(target=while_held, daemon=True)
            worker.start()
            worker.join(timeout=60)
            assert not worker.is_alive(), "a page read waited for the bulk load"
            tx.rollback()
        assert answers["provinces"] == 63 and answers["banner"] is True and answers["quality"] == "busy"
        assert "đang nhập một tệp lớn" in answers["footer"] and "200 vụ việc" not in answers["footer"]
        assert "200 vụ việc" in footer()  # and the figures once it is over
        assert answers["behind"] is None  # not known while the load holds the cases (and not waited for)
        assert cases_changed_since(scratch_engine, run) is False
    finally:
        engine_mod._app_engine.cache_clear()
