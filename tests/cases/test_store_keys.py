"""An import checks the foreign keys of its new rows once, not once per row.

Per row, PostgreSQL checks each key with a query that locks the row it points to; for new cases
that was half the time of their INSERT.  ``store.keys_checked_once`` locks and checks those rows
itself in two queries and lets the INSERTs run with the key triggers off.  What is stored must be
what the per-row path stores; the rows pointed to must be locked as the per-row checks lock them;
and whenever the shortcut could skip something else (another INSERT trigger, a missing row, a role
that may not set ``session_replication_role``) the rows are checked one by one as before.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from geo_dash.cases import store
from geo_dash.demo.generator import generate_cases, load_bundled_units

_NOOP_TRIGGER = """
CREATE FUNCTION pg_temp.gd_test_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER gd_test_noop BEFORE INSERT ON grievance_case FOR EACH ROW EXECUTE FUNCTION pg_temp.gd_test_noop();
"""


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    """Synthetic cases of one province (Quảng Nam, 49) over a year: about 1,300."""
    return generate_cases(load_bundled_units(), seed=5, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31),
                          provinces=("49",))


@pytest.fixture
def spy(monkeypatch):
    """Records each decision of keys_checked_once."""
    answers = []
    decide = store.keys_checked_once

    def recorded(conn, import_id):
        answers.append(decide(conn, import_id))
        return answers[-1]

    monkeypatch.setattr(store, "keys_checked_once", recorded)
    return answers


def _frame(cases: pd.DataFrame, source: str = "keys") -> pd.DataFrame:
    return store.records_frame(cases.assign(source=source).to_dict("records"))


def _stored(conn) -> tuple[list, list]:
    cases = conn.execute(text("""
        SELECT source, external_ref, status, unit_scheme, unit_code, commune_legacy, commune_2025, province_2025,
               import_id, ST_AsText(location) FROM grievance_case ORDER BY source, external_ref""")).all()
    statuses = conn.execute(text("""
        SELECT c.external_ref, s.status, s.import_id FROM case_status_history s
        JOIN grievance_case c ON c.province_2025 = s.province_2025 AND c.id = s.case_id
        ORDER BY c.external_ref, s.id""")).all()
    return [tuple(r) for r in cases], [tuple(r) for r in statuses]


def _new_import(conn) -> int:
    return conn.execute(text("INSERT INTO case_import (file_name, imported_by, status) VALUES ('keys.csv', 't', 'committed') RETURNING id")
                        ).scalar_one()


def _orphans(conn) -> int:
    """Rows whose key points nowhere, counted by a query that does not rely on the triggers."""
    return conn.execute(text("""
        SELECT (SELECT count(*) FROM grievance_case c WHERE NOT EXISTS
                   (SELECT 1 FROM admin_unit a WHERE a.scheme = c.unit_scheme AND a.code = c.unit_code))
             + (SELECT count(*) FROM grievance_case c WHERE c.import_id IS NOT NULL AND NOT EXISTS
                   (SELECT 1 FROM case_import i WHERE i.id = c.import_id))
             + (SELECT count(*) FROM case_status_history s WHERE NOT EXISTS
                   (SELECT 1 FROM grievance_case c WHERE c.province_2025 = s.province_2025 AND c.id = s.case_id))
             + (SELECT count(*) FROM case_status_history s WHERE s.import_id IS NOT NULL AND NOT EXISTS
                   (SELECT 1 FROM case_import i WHERE i.id = s.import_id))""")).scalar_one()


def test_the_schema_has_exactly_the_keys_the_check_knows(scratch_engine):
    """A new INSERT trigger on the case tables (a key, an audit trigger) switches the shortcut off:
    this test fails first, so that KEYS_ONCE and keys_checked_once are updated with it."""
    with scratch_engine.connect() as conn:
        triggers = {tuple(r) for r in conn.execute(text(store._TABLE_TRIGGERS), {"tables": list(store.BULK_TABLES)})}
    assert triggers == store.KEYS_ONCE


def test_keys_checked_once_store_what_the_per_row_checks_store(scratch_engine, cases, spy):
    with scratch_engine.connect() as conn, conn.begin() as tx:
        conn.execute(text(_NOOP_TRIGGER))  # another INSERT trigger: rows are checked one by one
        imp = _new_import(conn)
        per_row = store.write_cases(conn, _frame(cases), import_id=imp, actor="t", bulk=False)
        expected = _stored(conn)
        tx.rollback()
    assert spy == [False] and per_row.created == len(cases) > 1000

    with scratch_engine.begin() as conn:
        imp2 = _new_import(conn)
        once = store.write_cases(conn, _frame(cases), import_id=imp2, actor="t", bulk=False)
        # the triggers are on again for the rest of the transaction
        assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
    assert spy == [False, True] and once == per_row
    with scratch_engine.connect() as conn:
        stored = _stored(conn)
        assert _orphans(conn) == 0
    fix = {imp2: imp}  # the two runs differ only in their import's id
    assert ([r[:8] + (fix[r[8]],) + r[9:] for r in stored[0]], [(a, b, fix[c]) for a, b, c in stored[1]]) == expected

    # the keys are enforced again after the import: a case of no unit is refused
    with pytest.raises(Exception, match="fk_case_unit"):
        with scratch_engine.begin() as conn:
            conn.execute(text("UPDATE grievance_case SET unit_code = '00000' WHERE source = 'keys' "
                              "AND external_ref = :r"), {"r": str(cases["external_ref"].iloc[0])})


def test_a_bulk_load_checks_its_keys_once_too(scratch_engine, cases, spy):
    """A bulk load has dropped the key between the two tables: the others are still checked, once."""
    with scratch_engine.connect() as conn, conn.begin() as tx:
        imp = _new_import(conn)
        counts = store.write_cases(conn, _frame(cases), import_id=imp, actor="t", bulk=True)
        assert spy == [True] and counts.created == len(cases)
        assert _orphans(conn) == 0
        tx.rollback()


def test_the_rows_pointed_to_are_locked_as_the_per_row_checks_lock_them(scratch_engine, cases):
    """Until the import commits, nobody may delete the unit or the import record its new cases point to."""
    frame = _frame(cases.head(20))
    with scratch_engine.begin() as conn:
        imp = _new_import(conn)  # committed: the other connection sees it
    other = scratch_engine.connect()
    try:
        with scratch_engine.connect() as conn, conn.begin():
            store.write_cases(conn, frame, import_id=imp, actor="t", bulk=False)
            units = conn.execute(text("SELECT DISTINCT unit_scheme, unit_code FROM grievance_case WHERE import_id = :i "
                                      "ORDER BY 1, 2"), {"i": imp}).all()
            assert len(units) >= 3
            other.execute(text("SET lock_timeout = '200ms'"))
            other.commit()
            for scheme, code in units[:3]:
                with pytest.raises(OperationalError, match="lock"):
                    with other.begin():
                        other.execute(text("SELECT 1 FROM admin_unit WHERE scheme = :s AND code = :c FOR UPDATE"),
                                      {"s": scheme, "c": code})
            with pytest.raises(OperationalError, match="lock"):
                with other.begin():
                    other.execute(text("SELECT 1 FROM case_import WHERE id = :i FOR UPDATE"), {"i": imp})
            # reading them, and locking them for another key, does not wait
            with other.begin():
                assert len(other.execute(text("SELECT 1 FROM admin_unit WHERE scheme = :s AND code = :c FOR KEY SHARE"),
                                         {"s": units[0][0], "c": units[0][1]}).all()) == 1
            conn.rollback()
    finally:
        other.close()


def _stage(conn, units: list[tuple[str, str]]) -> None:
    """The two temporary tables keys_checked_once reads, as write_cases leaves them."""
    conn.execute(text("CREATE TEMP TABLE case_stage (source text, external_ref text, unit_scheme text, unit_code text)"
                      " ON COMMIT DROP"))
    conn.execute(text("CREATE TEMP TABLE case_match (source text, external_ref text) ON COMMIT DROP"))
    for n, (scheme, code) in enumerate(units):
        conn.execute(text("INSERT INTO case_stage VALUES ('s', :r, :s, :c)"), {"r": f"r{n}", "s": scheme, "c": code})


def test_a_missing_row_leaves_the_checks_to_each_row(scratch_engine):
    with scratch_engine.connect() as conn, conn.begin():
        real = conn.execute(text("SELECT scheme, code FROM admin_unit WHERE level = 'commune' LIMIT 2")).all()
        _stage(conn, [tuple(r) for r in real])
        imp = _new_import(conn)
        assert store.keys_checked_once(conn, imp) is True
        assert store.keys_checked_once(conn, 10**9) is False  # no such import record
        conn.execute(text("INSERT INTO case_stage VALUES ('s', 'x', 'legacy', 'no-such-unit')"))
        assert store.keys_checked_once(conn, imp) is False
        # a row already matched (an update, not a new case) is not the INSERT's to check
        conn.execute(text("INSERT INTO case_match VALUES ('s', 'x')"))
        assert store.keys_checked_once(conn, imp) is True


def test_another_insert_trigger_or_a_role_without_the_setting_leaves_the_checks_to_each_row(scratch_engine):
    with scratch_engine.connect() as conn, conn.begin():
        _stage(conn, [])
        assert store.keys_checked_once(conn, None) is True
        conn.execute(text(_NOOP_TRIGGER))
        assert store.keys_checked_once(conn, None) is False
    with scratch_engine.connect() as conn, conn.begin():
        _stage(conn, [])
        conn.execute(text("CREATE ROLE gd_test_plain NOLOGIN"))
        conn.execute(text("GRANT SELECT ON admin_unit, case_import TO gd_test_plain"))
        conn.execute(text("SET LOCAL ROLE gd_test_plain"))
        assert store.keys_checked_once(conn, None) is False
        # granted the setting (PostgreSQL 15), the same role may
        conn.execute(text("RESET ROLE"))
        conn.execute(text("GRANT SET ON PARAMETER session_replication_role TO gd_test_plain"))
        conn.execute(text("SET LOCAL ROLE gd_test_plain"))
        assert conn.execute(text("SELECT has_parameter_privilege('session_replication_role', 'SET')")).scalar_one()
