"""The column-wise import path (parse → CaseColumns → COPY text → upsert) keeps the per-row behaviour.

The importer never builds one object per row any more: the file is read column-wise, decided per
distinct value and written from codes into distinct values.  These tests hold it to what the per-row
parser (``parse_rows(..., vectorised=False)``) says for the same file — rejects with their row numbers
and reasons, counts, and the values stored — and check the upsert history on a re-import.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from geo_dash.cases import store
from geo_dash.cases.importer import import_file, resolver_for
from geo_dash.cases.parsing import CaseColumns, Coded, RawTable, parse_rows, read_table
from tests.cases.test_importer import _write as write_csv

AS_OF = dt.date(2025, 10, 1)
HEADER = ["STT", "Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái", "Ngày giải quyết",
          "Hạn giải quyết", "Đối thoại", "Tóm tắt", "Mã xã", "Kinh độ", "Vĩ độ"]


def _good(i: int) -> list[str]:
    return [str(i), f"G-{i}", f"{1 + i % 28:02d}/0{1 + i % 9}/2024", ["Khiếu nại", "Tố cáo", "KNPA"][i % 3],
            ["GPMB", "Môi trường", "khác"][i % 3], str(1 + i % 7), ["", "Đang giải quyết", "Đã giải quyết"][i % 3],
            "", "", "", "", ["19741", "19363", "01936"][i % 3], "", ""]


def _mixed_rows() -> list[list[str]]:
    rows = [_good(i) for i in range(60)]
    rows[3][2] = "31/02/2024"                      # no such date
    rows[5][1] = "G-1"                              # duplicate reference (row of G-1 keeps it)
    rows[7][1] = "g-1"                              # duplicate, case-insensitively
    rows[9][5] = "-3"                               # negative count
    rows[11][11] = "99999"                          # unknown commune
    rows[13][12], rows[13][13] = "107.1", ""        # latitude missing
    rows[15][12], rows[15][13] = "16.7", "107.1"    # swapped
    rows[17][10] = "gọi 0912345678"                 # a phone number in the summary
    rows[19][7] = "01/01/2023"                      # resolved before received
    rows[21] = [""] * len(HEADER)                   # a blank row
    rows[22][0] = "22"
    rows[22][1:] = [""] * (len(HEADER) - 1)          # only the STT number: blank too
    rows[23][1] = ""                                 # no reference
    rows[25][1] = "x" * 101                          # reference too long
    rows[27][3] = "KN"                               # ambiguous kind
    rows[29][10] = "tab\there, new\nline and back\\slash"  # kept verbatim: COPY must escape it
    rows[31][9] = "10/06/2024; 05/06/2024"            # dialogues, sorted
    rows[33][12], rows[33][13] = "107,36", "16,75"    # decimal commas
    rows[35][8] = "15/12/2026"                        # a deadline ahead is fine
    rows[37][1] = "Ví dụ 1"                           # a template example: a warning, still imported
    rows[39][2] = "45385"                             # Excel serial date
    return rows


def _write(path: Path, rows, header=HEADER) -> Path:
    return write_csv(path, rows, header)


def test_a_bad_file_is_rejected_and_stored_exactly_as_the_per_row_parser_says(scratch_engine, tmp_path):
    f = _write(tmp_path / "mixed.csv", _mixed_rows())
    reference = parse_rows(read_table(f), as_of=AS_OF, resolver=resolver_for(scratch_engine), vectorised=False)
    assert len(reference.rejects) == 12 and len(reference.blank_rows) == 2  # the file is as bad as meant

    report = import_file(scratch_engine, f, source="mixed", as_of=AS_OF, rejects_path=tmp_path / "r.csv")
    assert report.status == "committed"
    assert report.rejects == [{"row": r.row_number, "reasons": r.reasons} for r in reference.rejects]
    assert (report.rows_in, report.accepted, report.rejected, report.blank_rows) == \
        (58, len(reference.records), 12, 2)
    assert report.rows_in == report.accepted + report.rejected and report.created == report.accepted
    with open(report.rejects_file, encoding="utf-8-sig") as fh:
        assert [r["Mã hồ sơ"] for r in csv.DictReader(fh)] == [r.values["Mã hồ sơ"] for r in reference.rejects]

    with scratch_engine.connect() as conn:
        stored = conn.execute(text("""
            SELECT external_ref, received_date, kind, category, people_count, is_mass, status, deadline_date,
                   resolved_date, dialogue_dates, summary, unit_scheme, unit_code, ST_X(location), ST_Y(location),
                   source, import_id
            FROM grievance_case ORDER BY id""")).all()
        counts = conn.execute(text("SELECT rows_in, accepted, rejected, created FROM case_import WHERE id = :i"),
                              {"i": report.import_id}).one()
        warnings = conn.execute(text("SELECT report->'warnings' FROM case_import WHERE id = :i"),
                                {"i": report.import_id}).scalar_one()
    assert tuple(counts) == (58, report.accepted, 12, report.accepted)
    expected = [(r.external_ref, r.received_date, r.kind, r.category, r.people_count, r.is_mass, r.status,
                 r.deadline_date, r.resolved_date, r.dialogue_dates, r.summary, r.scheme, r.commune_code,
                 r.lon, r.lat, "mixed", report.import_id) for r in reference.records]
    assert [tuple(row) for row in stored] == expected  # in file order, every value as parsed
    assert "tab\there, new\nline and back\\slash" in [row[10] for row in stored]
    assert warnings == reference.warnings and len(warnings) == 1


def test_reimport_records_history_for_the_changed_cases_only(scratch_engine, tmp_path):
    rows = [_good(i) for i in range(40)]
    first = import_file(scratch_engine, _write(tmp_path / "a.csv", rows), source="s", as_of=AS_OF)
    assert (first.created, first.updated, first.unchanged) == (40, 0, 0)
    again = import_file(scratch_engine, _write(tmp_path / "b.csv", rows), source="s", as_of=AS_OF)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 40)

    rows[4][6] = "Không thụ lý"                        # status only
    rows[8][12], rows[8][13] = "107.36", "16.75"       # a point added (the commune 19363 stays)
    rows[12][10] = "Tóm tắt mới"                        # summary only
    changed = import_file(scratch_engine, _write(tmp_path / "c.csv", rows), source="s", as_of=AS_OF)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 3, 37)
    with scratch_engine.connect() as conn:
        history = dict(conn.execute(text("""
            SELECT c.external_ref, h.changes FROM case_history h JOIN grievance_case c
              ON c.province_2025 = h.province_2025 AND c.id = h.case_id
            WHERE h.import_id = :i AND h.action = 'update'"""), {"i": changed.import_id}).all())
        statuses = conn.execute(text("""
            SELECT c.external_ref, s.status FROM case_status_history s JOIN grievance_case c
              ON c.province_2025 = s.province_2025 AND c.id = s.case_id
            WHERE s.import_id = :i"""), {"i": changed.import_id}).all()
        n_status = conn.execute(text("SELECT count(*) FROM case_status_history")).scalar_one()
        updated_by_import = conn.execute(text("SELECT count(*) FROM grievance_case WHERE import_id = :i"),
                                         {"i": changed.import_id}).scalar_one()
    assert set(history) == {"G-4", "G-8", "G-12"}
    assert history["G-4"] == {"status": ["dang_giai_quyet", "khong_thu_ly"]}
    assert set(history["G-8"]) == {"location"} and history["G-8"]["location"][0] is None
    assert history["G-12"] == {"summary": [None, "Tóm tắt mới"]}
    assert [tuple(s) for s in statuses] == [("G-4", "khong_thu_ly")]
    assert n_status == 41 and updated_by_import == 3


def _naive_copy_text(df: pd.DataFrame) -> list[list[str]]:
    """The stage rows formatted cell by cell, in _STAGE_COLS order (what the grouped writer must give)."""
    out = []
    for rec in df.to_dict("records"):
        out.append([fmt([rec[field]])[0] if fmt is store._TEXT else fmt(rec[field])
                    for field, fmt in store._STAGE_FORMAT.values()])
    return out


def test_the_grouped_copy_text_has_every_cell_in_its_column():
    rng = np.random.default_rng(7)
    n = 3000
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, n)]
    df = pd.DataFrame({
        "source": "s", "external_ref": [f"R{i}" for i in range(n)],
        "channel": rng.choice(np.array(["Bưu điện", None, "a\tb"], dtype=object), n),
        "received_date": days, "kind": rng.choice(["khieu_nai", "to_cao"], n),
        "category": rng.choice(["khac", "moi_truong", "dat_dai_thu_hoi"], n),
        "people_count": rng.choice(np.array([1, 2, None, 12], dtype=object), n),
        "is_mass": rng.choice([True, False], n), "is_over_level": rng.choice([True, False], n),
        "is_complex": False, "handling_level": rng.choice(np.array([None, "xa", "tinh"], dtype=object), n),
        "status": rng.choice(["tiep_nhan", "da_giai_quyet"], n),
        "deadline_date": [d + dt.timedelta(days=30) for d in days],
        "resolved_date": [d if i % 3 else None for i, d in enumerate(days)],
        "dialogue_dates": [[d] if i % 5 == 0 else [] for i, d in enumerate(days)],
        "project_name": None, "summary": [f"back\\slash {i % 7}\nline" if i % 11 == 0 else None for i in range(n)],
        "scheme": rng.choice(["legacy", "2025"], n), "commune_code": [f"{c:05d}" for c in rng.integers(1, 900, n)],
        "lon": [float(x) if i % 2 else None for i, x in enumerate(rng.uniform(102, 110, n))],
        "lat": [float(x) if i % 2 else None for i, x in enumerate(rng.uniform(8, 23, n))],
        "is_synthetic": False,
    })[list(store.RECORD_COLUMNS)]
    order, body = store._copy_text(store._coded_frame(df), n)
    assert sorted(order) == sorted(store._STAGE_COLS)
    lines = body.split("\n")
    assert lines[-1] == "" and len(lines) == n + 1
    got = [dict(zip(order, line.split("\t"))) for line in lines[:-1]]
    want = _naive_copy_text(df)
    assert [[row[c] for c in store._STAGE_COLS] for row in got] == want


def test_case_columns_round_trip_records():
    raw = RawTable.from_rows(HEADER, _mixed_rows(), source="m.csv")
    from geo_dash.cases.places import PlaceResolver, units_from_vietnamadminunits
    resolver = PlaceResolver(units_from_vietnamadminunits())
    result = parse_rows(raw, as_of=AS_OF, resolver=resolver)
    columns = CaseColumns.from_records(result.records)
    assert columns.records() == result.records
    both = CaseColumns.concat([columns, columns.take(np.array([2, 0]))])
    assert both.records() == result.records + [result.records[2], result.records[0]]
    assert Coded.of([[1], (1,), None, None, [1]]).codes.tolist() == [0, 1, 2, 2, 0]


RAGGED_HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Mã xã"]


@pytest.mark.parametrize("rows", [
    [["A", "03/04/2024", "KN", "GPMB", "19741"], ["B", "x"]],
    [["A", "03/04/2024", "KN", "GPMB", "19741", "extra"], ["B"]],
    [["A"], [""], [" ", "", ""]],
])
def test_ragged_rows_read_as_before(rows):
    """Short rows get "" for their missing cells, a cell beyond the header gets a column, trailing
    empty rows are dropped — as the row-wise reader did."""
    raw = RawTable.from_rows(RAGGED_HEADER, rows)
    width = max(len(r) for r in rows)
    headers = RAGGED_HEADER + [f"Cột {j + 1}" for j in range(len(RAGGED_HEADER), width)
                               if any(len(r) > j and r[j].strip() for r in rows)]
    expected = [(i + 2, {h: (r[j] if j < len(r) else "") for j, h in enumerate(headers)}) for i, r in enumerate(rows)]
    while expected and not any(v.strip() for v in expected[-1][1].values()):
        expected.pop()
    assert raw.headers == headers
    assert [(r.row_number, r.values) for r in raw.rows] == expected
