"""The case importer against the real PostGIS: transactions, upserts, history, refusals, failures."""

import csv
import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from geo_dash.cases.importer import import_file
from tests.cases.test_parsing import to_tcvn3

FIXTURE = Path(__file__).parent / "fixtures" / "cases_realistic.csv"
AS_OF = dt.date(2025, 10, 1)
HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái", "Ngày giải quyết",
          "Tỉnh", "Huyện", "Xã", "Kinh độ", "Vĩ độ"]


def _write(path: Path, rows, header=HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_realistic_file_is_imported_with_places_on_both_schemes(scratch_engine, tmp_path):
    report = import_file(scratch_engine, FIXTURE, source="tiep-cong-dan", as_of=AS_OF,
                         rejects_path=tmp_path / "rejects.csv")
    assert report.status == "committed"
    assert report.rows_in == report.accepted + report.rejected
    assert report.accepted > 0 and report.created == report.accepted
    with scratch_engine.connect() as conn:
        rec = conn.execute(text("SELECT rows_in, accepted, rejected, created, status FROM case_import WHERE id = :i"),
                           {"i": report.import_id}).one()
        assert tuple(rec) == (report.rows_in, report.accepted, report.rejected, report.created, "committed")
        hai_khe = conn.execute(text("""SELECT unit_scheme, commune_legacy, province_legacy, commune_2025, province_2025,
                                              category, kind, people_count, is_mass, dialogue_dates, ST_X(location)
                                       FROM grievance_case WHERE external_ref = 'HS-2024-001'""")).one()
        expected_2025 = conn.execute(text("""SELECT c.new_code FROM crosswalk c JOIN admin_unit n
                                               ON n.scheme = '2025' AND n.code = c.new_code
                                             WHERE c.legacy_code = '19741'
                                             ORDER BY ST_Contains(n.geom, ST_SetSRID(ST_MakePoint(107.367143, 16.756599), 4326)) DESC,
                                                      c.is_default DESC LIMIT 1""")).scalar_one()
        source, channel = conn.execute(text("SELECT source, channel FROM grievance_case "
                                            "WHERE external_ref = 'HS-2024-001'")).one()
        n_cases = conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one()
        n_history = conn.execute(text("SELECT count(*) FROM case_status_history WHERE import_id = :i"),
                                 {"i": report.import_id}).scalar_one()
    assert hai_khe[:3] == ("legacy", "19741", "45")
    assert hai_khe[3] == expected_2025 and hai_khe[4] == "44"
    assert hai_khe[5:9] == ("dat_dai_thu_hoi", "khieu_nai", 7, True)
    assert hai_khe[9] == [dt.date(2024, 4, 10), dt.date(2024, 5, 15)]
    assert hai_khe[10] == pytest.approx(107.367143)
    assert n_cases == n_history == report.accepted
    # the dataset is the import's source; the file's "Nguồn" column is the channel the petition came through
    assert (source, channel) == ("tiep-cong-dan", "Tiếp công dân")


def test_no_personal_data_reaches_the_database(scratch_engine, tmp_path):
    import_file(scratch_engine, FIXTURE, as_of=AS_OF, rejects_path=tmp_path / "r.csv")
    with scratch_engine.connect() as conn:
        dump = conn.execute(text("SELECT string_agg(t::text, '|') FROM grievance_case t")).scalar_one()
        report = conn.execute(text("SELECT report::text FROM case_import")).scalar_one()
    for secret in ("Nguyễn Văn Giả", "CCCD-GIA-01", "SDT-GIA-01", "Thôn 1, xã Hải Khê"):
        assert secret not in dump and secret not in report


def test_reimport_is_idempotent_and_an_update_is_recorded(scratch_engine, tmp_path):
    rows = [["R1", "03/04/2024", "Khiếu nại", "Thu hồi đất", "2", "Đang giải quyết", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", ""],
            ["R2", "04/04/2024", "Tố cáo", "Môi trường", "1", "Tiếp nhận", "", "Quảng Trị", "Vĩnh Linh", "Vĩnh Thái", "", ""]]
    f = _write(tmp_path / "a.csv", rows)
    first = import_file(scratch_engine, f, source="s", as_of=AS_OF)
    again = import_file(scratch_engine, f, source="s", as_of=AS_OF)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert _scalar(scratch_engine, "SELECT count(*) FROM case_history") == 0  # creations are on the case rows
    assert _scalar(scratch_engine, "SELECT count(*) FROM case_status_history") == 2

    rows[0][5], rows[0][6] = "Đã giải quyết", "20/04/2024"
    f2 = _write(tmp_path / "b.csv", rows)
    upd = import_file(scratch_engine, f2, source="s", as_of=AS_OF)
    assert (upd.created, upd.updated, upd.unchanged) == (0, 1, 1)
    with scratch_engine.connect() as conn:
        changes = conn.execute(text("""SELECT h.changes FROM case_history h JOIN grievance_case c ON c.id = h.case_id
                                       WHERE c.external_ref = 'R1' AND h.action = 'update'""")).scalar_one()
        statuses = conn.execute(text("""SELECT s.status FROM case_status_history s JOIN grievance_case c ON c.id = s.case_id
                                        WHERE c.external_ref = 'R1' ORDER BY s.id""")).scalars().all()
    assert changes["status"] == ["dang_giai_quyet", "da_giai_quyet"]
    assert changes["resolved_date"] == [None, "2024-04-20"]
    assert set(changes) == {"status", "resolved_date"}
    assert statuses == ["dang_giai_quyet", "da_giai_quyet"]
    # the same reference in another source is another case
    other = import_file(scratch_engine, f2, source="other", as_of=AS_OF)
    assert other.created == 2


def test_rejects_are_reported_written_and_reimportable(scratch_engine, tmp_path):
    rows = [["OK1", "03/04/2024", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", ""],
            ["BAD1", "31/02/2024", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", ""],
            ["BAD2", "03/04/2024", "Khiếu nại", "Thu hồi đất", "-3", "Tiếp nhận", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", ""],
            ["BAD3", "03/04/2024", "Khiếu nại", "Thu hồi đất", "1", "Tiếp nhận", "", "Quảng Trị", "Hải Lăng", "Không Có Xã Này", "", ""]]
    f = _write(tmp_path / "m.csv", rows)
    rep = import_file(scratch_engine, f, source="m", as_of=AS_OF)
    assert (rep.rows_in, rep.accepted, rep.rejected) == (4, 1, 3)
    assert [r["row"] for r in rep.rejects] == [3, 4, 5]
    with open(rep.rejects_file, encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    assert [r["Mã hồ sơ"] for r in rejected] == ["BAD1", "BAD2", "BAD3"]
    assert all(r["Lý do từ chối (reason)"] for r in rejected)
    # fix the rows in the rejects file and import it again: all accepted
    fixed = tmp_path / "fixed.csv"
    for r in rejected:
        r["Ngày tiếp nhận"], r["Số người"], r["Xã"] = "03/04/2024", "1", "Hải Khê"
    with open(fixed, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rejected[0]))
        w.writeheader()
        w.writerows(rejected)
    again = import_file(scratch_engine, fixed, source="m", as_of=AS_OF)
    assert (again.rows_in, again.accepted, again.created) == (3, 3, 3)
    assert _scalar(scratch_engine, "SELECT count(*) FROM grievance_case WHERE source = 'm'") == 4


def test_tcvn3_file_is_refused_recorded_and_imports_nothing(scratch_engine, tmp_path):
    f = tmp_path / "tcvn3.csv"
    body = "Mã hồ sơ,Ngày tiếp nhận,Loại đơn,Lĩnh vực,Mã xã\nA1,03/04/2024,Khiếu nại,Đất đai thu hồi,19741\n"
    f.write_bytes(to_tcvn3(body))
    rep = import_file(scratch_engine, f, as_of=AS_OF)
    assert rep.status == "refused" and "TCVN3" in rep.reason
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one() == 0
        assert conn.execute(text("SELECT status FROM case_import WHERE id = :i"), {"i": rep.import_id}).scalar_one() == "refused"


def test_connection_dropped_mid_import_leaves_nothing(scratch_engine, tmp_path):
    rows = [[f"K{i}", "03/04/2024", "Khiếu nại", "Thu hồi đất", "1", "Tiếp nhận", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", ""]
            for i in range(200)]
    f = _write(tmp_path / "k.csv", rows)
    killer = create_engine(scratch_engine.url, isolation_level="AUTOCOMMIT")

    def kill_importer(step: str) -> None:
        if step == "history":  # cases staged and history written, not yet committed
            with killer.connect() as conn:
                killed = conn.execute(text("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                              WHERE datname = current_database() AND pid <> pg_backend_pid()
                                                AND state = 'idle in transaction'""")).scalars().all()
            assert killed, "no importer transaction found to kill"

    with pytest.raises(OperationalError):
        import_file(scratch_engine, f, source="k", as_of=AS_OF, on_step=kill_importer)
    killer.dispose()
    scratch_engine.dispose()
    assert _scalar(scratch_engine, "SELECT count(*) FROM grievance_case") == 0
    assert _scalar(scratch_engine, "SELECT count(*) FROM case_history") == 0
    assert _scalar(scratch_engine, "SELECT count(*) FROM case_status_history") == 0
    assert _scalar(scratch_engine, "SELECT count(*) FROM case_import WHERE status = 'committed'") == 0


def test_point_inside_a_split_communes_target_chooses_that_target(scratch_engine, tmp_path):
    with scratch_engine.connect() as conn:
        legacy, target, lon, lat, prov, dist, name = conn.execute(text("""
            SELECT c.legacy_code, c.new_code, ST_X(p), ST_Y(p), pr.name, d.name, l.name FROM (
                SELECT c.*, ST_PointOnSurface(ST_Intersection(l.geom, n.geom)) AS p
                FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
                JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
                WHERE c.split AND NOT c.is_default AND c.weight > 0.2 AND l.province_code IN ('45', '49', '54', '58', '24')
                ORDER BY c.legacy_code LIMIT 1) c
            JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
            JOIN admin_unit d ON d.scheme = 'legacy' AND d.code = l.parent_code
            JOIN admin_unit pr ON pr.scheme = 'legacy' AND pr.code = l.province_code
        """)).one()
    f = _write(tmp_path / "p.csv", [
        ["P1", "03/04/2024", "Khiếu nại", "Thu hồi đất", "1", "Tiếp nhận", "", prov, dist, name, f"{lon:.6f}", f"{lat:.6f}"],
        ["P2", "03/04/2024", "Khiếu nại", "Thu hồi đất", "1", "Tiếp nhận", "", prov, dist, name, "", ""],
    ])
    rep = import_file(scratch_engine, f, source="p", as_of=AS_OF)
    assert rep.accepted == 2
    with scratch_engine.connect() as conn:
        got = dict(conn.execute(text("SELECT external_ref, commune_2025 FROM grievance_case WHERE source = 'p'")).all())
        default = conn.execute(text("SELECT new_code FROM crosswalk WHERE legacy_code = :l AND is_default"),
                               {"l": legacy}).scalar_one()
    assert got["P1"] == target
    assert got["P2"] == default != target


def test_island_special_zone_coordinates_are_accepted(scratch_engine, tmp_path):
    """Trường Sa lies near 114 °E: coordinates east of 110 °E are still Vietnam."""
    f = tmp_path / "island.csv"
    _write(f, [["TS-1", "03/08/2025", "Kiến nghị", "Khác", "1", "Tiếp nhận", "", "Khánh Hòa", "", "Đặc khu Trường Sa",
                "114.3", "10.4"]])
    rep = import_file(scratch_engine, f, source="island", as_of=AS_OF)
    assert (rep.accepted, rep.rejected) == (1, 0), rep.rejects
    assert _scalar(scratch_engine, "SELECT commune_2025 FROM grievance_case WHERE external_ref = 'TS-1'") == "22736"
