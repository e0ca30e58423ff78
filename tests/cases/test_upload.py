"""Importing a case file in the app (the cases page's upload), as the users who do it.

The real app in process, on a private database (boundaries, no cases), through its Dash callback
and its routes: the same import as the CLI, run as the app's role with the user's scope.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import text

from geo_dash.cases.importer import import_file
from tests.cases.test_parsing import to_tcvn3
from tests.security.conftest import Client, app_on

VINH_LINH, HAI_LANG = "464", "470"  # neighbouring districts of Quảng Trị (officer_vl, officer_hl)
HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái", "Mã xã", "Họ tên"]
OUTPUT = "..import-result.children...import-upload.contents.."


@pytest.fixture
def app(scratch_engine, tmp_path):
    with app_on(scratch_engine, tmp_path) as application:
        yield application


def _commune(engine, district: str, k: int = 0) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(text("""SELECT code, name FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                                   AND parent_code = :d ORDER BY code OFFSET :k LIMIT 1"""), {"d": district, "k": k}).one()
    return row.code, row.name


def _csv(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client: Client, data: bytes, name: str, source: str | None = None, lang: str = "vi"):
    contents = "data:text/csv;base64," + base64.b64encode(data).decode()
    resp = client.callback(OUTPUT, {"import-upload.contents": contents},
                           {"import-upload.filename": name, "import-source.value": source, "cases-lang.data": lang})
    return resp


def _text(component) -> str:
    """All the text of a rendered component tree (the callback's JSON)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, list):
        return " ".join(_text(c) for c in component)
    props = component.get("props", {})
    return " ".join(_text(props.get(k)) for k in ("title", "children") if props.get(k) is not None)


def _result(resp) -> dict:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.loads(resp.get_data())["response"]


def _cases(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT source, external_ref, district_legacy FROM grievance_case ORDER BY 2")).all()


def test_an_officer_imports_their_district_and_the_rest_is_rejected_with_reasons(app, scratch_engine):
    vl, (hl, hl_name) = _commune(scratch_engine, VINH_LINH)[0], _commune(scratch_engine, HAI_LANG)
    rows = [
        ["VL-1", "03/04/2025", "Khiếu nại", "Thu hồi đất", "6", "Tiếp nhận", vl, "Nguyễn Văn A"],
        ["VL-2", "31/02/2025", "Tố cáo", "Môi trường", "1", "Tiếp nhận", vl, ""],          # no such date
        ["HL-1", "04/04/2025", "Khiếu nại", "Tranh chấp đất", "2", "Tiếp nhận", hl, ""],  # the next district
        ["VL-3", "05/04/2025", "Kiến nghị", "Môi trường", "1", "Đang giải quyết", vl, ""],
    ]
    officer = Client(app, "officer_vl")
    response = _result(_upload(officer, _csv(rows), "don_thu_thang_4.csv"))
    shown = _text(response["import-result"]["children"])
    assert response["import-upload"]["contents"] is None  # the same file can be chosen again
    assert "Đã nhập tệp don_thu_thang_4.csv" in shown
    assert "4 dòng = 2 nhận + 2 từ chối" in shown and "Mới 2, cập nhật 0, không đổi 0" in shown
    assert "Dòng 3:" in shown and "31/02/2025" in shown
    assert f"Dòng 4: {hl_name} (mã {hl}) nằm ngoài địa bàn của bạn" in shown
    assert "Họ tên" in shown  # the personal-data column is named as ignored, its values are not kept
    assert "Nguyễn Văn A" not in shown
    assert _cases(scratch_engine) == [("don_thu_thang_4", "VL-1", VINH_LINH), ("don_thu_thang_4", "VL-3", VINH_LINH)]
    with scratch_engine.connect() as conn:
        record = conn.execute(text("SELECT * FROM case_import ORDER BY id DESC LIMIT 1")).mappings().one()
    assert (record["imported_by"], record["status"], record["rows_in"], record["accepted"], record["rejected"]) == (
        "officer_vl", "committed", 4, 2, 2)

    # the rejected rows, to fix and import again: to the officer who imported them
    got = officer.get(f"/cases/rejects/{record['id']}")
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    rejected = list(csv.reader(io.StringIO(got.get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rejected[1:]] == ["VL-2", "HL-1"]
    assert "ngoài địa bàn" in rejected[2][-1] and "Nguyễn Văn A" not in got.get_data().decode("utf-8-sig")
    # not to the officer of the next district, nor to anyone logged out
    assert Client(app, "officer_hl").get(f"/cases/rejects/{record['id']}").status_code == 404
    assert Client(app).get(f"/cases/rejects/{record['id']}").status_code in (302, 401)
    assert Client(app, "admin").get(f"/cases/rejects/{record['id']}").status_code == 200


def test_a_reference_of_a_case_outside_the_area_is_rejected_not_moved(app, scratch_engine, tmp_path):
    """The dataset's reference HL-9 belongs to a Hải Lăng case: a Vĩnh Linh officer's file that places
    HL-9 in Vĩnh Linh is not theirs to write (it would move another district's case)."""
    vl, hl = _commune(scratch_engine, VINH_LINH)[0], _commune(scratch_engine, HAI_LANG)[0]
    first = tmp_path / "ds.csv"
    first.write_bytes(_csv([["HL-9", "03/04/2025", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", hl, ""]]))
    assert import_file(scratch_engine, first, source="so_lieu", as_of=dt.date(2025, 7, 1)).created == 1
    rows = [["HL-9", "03/04/2025", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", vl, ""],
            ["VL-9", "03/04/2025", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", vl, ""]]
    shown = _text(_result(_upload(Client(app, "officer_vl"), _csv(rows), "ds.csv", source="so_lieu"))
                  ["import-result"]["children"])
    assert "2 dòng = 1 nhận + 1 từ chối" in shown
    assert "Mã hồ sơ HL-9 đã thuộc một vụ việc ngoài địa bàn của bạn" in shown
    assert _cases(scratch_engine) == [("so_lieu", "HL-9", HAI_LANG), ("so_lieu", "VL-9", VINH_LINH)]


def test_who_may_upload_and_what_is_refused(app, scratch_engine):
    vl = _commune(scratch_engine, VINH_LINH)[0]
    data = _csv([["L-1", "03/04/2025", "Khiếu nại", "Thu hồi đất", "2", "Tiếp nhận", vl, ""]])
    # a leader reads, does not write
    shown = _text(_result(_upload(Client(app, "leader_qt"), data, "a.csv"))["import-result"]["children"])
    assert "chỉ được xem" in shown
    # not a case file
    shown = _text(_result(_upload(Client(app, "officer_vl"), data, "a.exe", lang="en"))["import-result"]["children"])
    assert "Only .csv, .xlsx or .xlsm" in shown
    # a file in a legacy Vietnamese font encoding: refused as a whole, with the reason, and recorded
    legacy = to_tcvn3(data.decode("utf-8"))
    shown = _text(_result(_upload(Client(app, "officer_vl"), legacy, "tcvn3.csv"))["import-result"]["children"])
    assert "Tệp tcvn3.csv bị từ chối, không nhập gì" in shown and "TCVN3" in shown
    # none of it wrote a case; every refusal is recorded with its reason
    assert _cases(scratch_engine) == []
    with scratch_engine.connect() as conn:
        refused = conn.execute(text("SELECT file_name, imported_by FROM case_import WHERE status = 'refused'")).all()
    assert refused == [("tcvn3.csv", "officer_vl")]


def test_the_template_is_served_to_users_who_are_logged_in(app):
    got = Client(app, "officer_vl").get("/cases/template.xlsx")
    assert got.status_code == 200 and got.get_data()[:2] == b"PK"  # an XLSX (zip) file
    assert Client(app).get("/cases/template.xlsx").status_code in (302, 401)
