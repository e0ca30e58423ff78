"""One case per (source, reference) across provinces, now that the keys include the province (migration 0008).

A case whose place is corrected to another province on re-import (or in the form) is the same case,
moved: same id, its history kept and moved with it, the move recorded; never a second case.
"""

import csv
import datetime as dt
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from geo_dash.cases.entry import save_case
from geo_dash.cases.importer import import_file
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import ALL, Scope

AS_OF = dt.date(2025, 10, 1)
HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái", "Ngày giải quyết", "Mã xã"]
HAI_KHE = "19741"  # legacy commune of Quảng Trị (45) -> 2025 province 44


def _write(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def _commune_elsewhere(engine, not_province_2025: str) -> str:
    """A legacy commune whose 2025 province is another one (Quảng Nam's first commune)."""
    with engine.connect() as conn:
        return conn.execute(text("""
            SELECT u.code FROM admin_unit u JOIN crosswalk x ON x.legacy_code = u.code AND x.is_default
            JOIN admin_unit n ON n.scheme = '2025' AND n.code = x.new_code
            WHERE u.scheme = 'legacy' AND u.level = 'commune' AND u.province_code = '49'
              AND n.province_code <> :p ORDER BY u.code LIMIT 1"""), {"p": not_province_2025}).scalar_one()


def _case(engine, ref: str, source: str = "s"):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM grievance_case WHERE source = :s AND external_ref = :r"),
                            {"s": source, "r": ref}).mappings().all()


def _history(engine, case_id: int):
    with engine.connect() as conn:
        changes = conn.execute(text("SELECT province_2025, id, action, changes FROM case_history "
                                    "WHERE case_id = :i ORDER BY id"), {"i": case_id}).all()
        statuses = conn.execute(text("SELECT province_2025, id, status FROM case_status_history "
                                     "WHERE case_id = :i ORDER BY id"), {"i": case_id}).all()
    return changes, statuses


def test_a_place_corrected_to_another_province_moves_the_same_case(scratch_engine, tmp_path):
    elsewhere = _commune_elsewhere(scratch_engine, "44")
    rows = [["M1", "03/04/2024", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", "", HAI_KHE],
            ["M2", "04/04/2024", "Tố cáo", "Môi trường", "1", "Tiếp nhận", "", HAI_KHE]]
    import_file(scratch_engine, _write(tmp_path / "a.csv", rows), source="s", as_of=AS_OF)
    rows[0][5] = "Đang giải quyết"  # an update first, so the case has history to carry along
    import_file(scratch_engine, _write(tmp_path / "b.csv", rows), source="s", as_of=AS_OF)
    (before,) = _case(scratch_engine, "M1")
    history_before, statuses_before = _history(scratch_engine, before["id"])
    assert before["province_2025"] == "44" and len(history_before) == 1 and len(statuses_before) == 2

    rows[0][7] = elsewhere  # the commune was wrong: it is in another province
    report = import_file(scratch_engine, _write(tmp_path / "c.csv", rows), source="s", as_of=AS_OF)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    (after,) = _case(scratch_engine, "M1")  # one case, not two
    assert after["id"] == before["id"]
    assert after["province_2025"] != "44" and after["unit_code"] == elsewhere and after["commune_legacy"] == elsewhere
    assert after["province_legacy"] == "49"
    assert after["created_at"] == before["created_at"] and after["import_id"] == report.import_id
    history, statuses = _history(scratch_engine, after["id"])
    # the old history moved with the case (same ids), the move is recorded as an update
    assert [h.id for h in history[:1]] == [h.id for h in history_before]
    assert [s.id for s in statuses] == [s.id for s in statuses_before]
    assert {h.province_2025 for h in history} | {s.province_2025 for s in statuses} == {after["province_2025"]}
    move = history[-1].changes
    assert move["province_2025"] == ["44", after["province_2025"]]
    assert move["unit_code"] == [HAI_KHE, elsewhere] and "commune_2025" in move
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM case_history WHERE province_2025 = '44'")).scalar_one() == 0

    # importing the same file again changes nothing; moving it back works the same way
    again = import_file(scratch_engine, _write(tmp_path / "d.csv", rows), source="s", as_of=AS_OF)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    rows[0][7] = HAI_KHE
    back = import_file(scratch_engine, _write(tmp_path / "e.csv", rows), source="s", as_of=AS_OF)
    assert (back.created, back.updated) == (0, 1)
    (home,) = _case(scratch_engine, "M1")
    assert home["id"] == before["id"] and home["province_2025"] == "44"
    assert len(_history(scratch_engine, home["id"])[0]) == 3


def test_the_form_moves_a_case_through_the_database_function(scratch_engine):
    """The app's role has no DELETE: a move goes through gd_move_case, which checks the scope."""
    from geo_dash.db import engine as engine_mod
    from geo_dash.db.engine import get_app_engine

    elsewhere = _commune_elsewhere(scratch_engine, "44")
    app = get_app_engine(scratch_engine.url.render_as_string(hide_password=False))
    values = {"external_ref": "F1", "received_date": dt.date(2024, 4, 3), "kind": "Khiếu nại",
              "category": "Thu hồi đất", "people_count": 2, "status": "Tiếp nhận", "commune_code": HAI_KHE}
    token = current_user.set(User(id=0, username="admin", role="admin", scope=ALL))
    try:
        first = save_case(app, ALL, values, actor="admin", as_of=AS_OF)
        assert first.ok and first.action == "created", first.errors
        moved = save_case(app, ALL, {**values, "commune_code": elsewhere}, actor="admin", as_of=AS_OF)
    finally:
        current_user.reset(token)
        engine_mod._app_engine.cache_clear()
        app.dispose()
    assert moved.ok and moved.action == "updated" and moved.case_id == first.case_id, moved.errors
    (case,) = _case(scratch_engine, "F1", source="nhap-tay")
    assert case["province_2025"] != "44" and case["unit_code"] == elsewhere
    history, statuses = _history(scratch_engine, case["id"])
    assert history[-1].changes["province_2025"] == ["44", case["province_2025"]]
    assert {s.province_2025 for s in statuses} == {case["province_2025"]}


def _app_conn(scratch_engine, cluster):
    return psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user="geo_dash_app",
                           dbname=scratch_engine.url.database)


def test_gd_move_case_refuses_a_move_outside_the_scope(scratch_engine, cluster, tmp_path):
    elsewhere = _commune_elsewhere(scratch_engine, "44")
    import_file(scratch_engine, _write(tmp_path / "a.csv", [["X1", "03/04/2024", "Khiếu nại", "Thu hồi đất", "2",
                                                              "Tiếp nhận", "", HAI_KHE]]), source="s", as_of=AS_OF)
    (case,) = _case(scratch_engine, "X1")
    with scratch_engine.connect() as conn:
        target = conn.execute(text("""
            SELECT jsonb_build_object('province_2025', n.province_code, 'province_legacy', u.province_code,
                   'district_legacy', u.parent_code, 'commune_legacy', u.code, 'commune_2025', n.code,
                   'unit_scheme', 'legacy', 'unit_code', u.code)::text
            FROM admin_unit u JOIN crosswalk x ON x.legacy_code = u.code AND x.is_default
            JOIN admin_unit n ON n.scheme = '2025' AND n.code = x.new_code
            WHERE u.scheme = 'legacy' AND u.code = :c"""), {"c": elsewhere}).scalar_one()
    with _app_conn(scratch_engine, cluster) as conn:
        # the case's own province only: it may not be moved out of it
        conn.execute("SELECT set_config('geo_dash.scope', %s, true)", ('{"legacy_province": ["45"]}',))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT gd_move_case(%s, %s, %s::jsonb)", (case["id"], "44", target))
    with _app_conn(scratch_engine, cluster) as conn:
        # and the app's role cannot delete a case itself
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM grievance_case")
    (still,) = _case(scratch_engine, "X1")
    assert still["province_2025"] == "44"


def test_a_reference_used_outside_the_scope_is_not_created_twice(scratch_engine):
    from geo_dash.db import engine as engine_mod
    from geo_dash.db.engine import get_app_engine

    elsewhere = _commune_elsewhere(scratch_engine, "44")
    app = get_app_engine(scratch_engine.url.render_as_string(hide_password=False))
    values = {"external_ref": "DUP-1", "received_date": dt.date(2024, 4, 3), "kind": "Khiếu nại",
              "category": "Thu hồi đất", "people_count": 2, "status": "Tiếp nhận", "commune_code": HAI_KHE}
    quang_nam = Scope(legacy_provinces=frozenset({"49"}))
    try:
        token = current_user.set(User(id=0, username="admin", role="admin", scope=ALL))
        try:
            assert save_case(app, ALL, values, actor="admin", as_of=AS_OF).ok
        finally:
            current_user.reset(token)
        token = current_user.set(User(id=1, username="officer_qn", role="officer", scope=quang_nam))
        try:
            other = save_case(app, quang_nam, {**values, "commune_code": elsewhere}, actor="officer_qn", as_of=AS_OF)
        finally:
            current_user.reset(token)
    finally:
        engine_mod._app_engine.cache_clear()
        app.dispose()
    assert not other.ok and "not allowed" in other.errors[0]
    cases = _case(scratch_engine, "DUP-1", source="nhap-tay")
    assert len(cases) == 1 and cases[0]["province_2025"] == "44"
