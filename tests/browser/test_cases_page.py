"""Case entry as an officer does it: pick a commune from a searchable list, add a case, edit it, see history."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from sqlalchemy import text

pytestmark = pytest.mark.browser


def _fill(page, label, value):
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(value)


def _select(page, label, option):
    page.get_by_role("textbox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_add_then_edit_a_case_with_history(scratch_server, scratch_engine, page, test_output):
    login(page, scratch_server)
    page.goto(scratch_server + "/cases?scheme=legacy&province=45")
    # the commune is chosen from a list, typed without diacritics
    commune = page.get_by_role("textbox", name="Xã / phường", exact=True)
    commune.click()
    commune.fill("hai khe")
    page.get_by_role("option", name="Xã Hải Khê — Huyện Hải Lăng").click()
    page.wait_for_selector("text=0 vụ việc")

    _fill(page, "Mã hồ sơ", "TAY-001")
    _fill(page, "Ngày tiếp nhận", "05/03/2025")
    _select(page, "Loại đơn", "Khiếu nại")
    _select(page, "Lĩnh vực", "Đất đai — thu hồi, bồi thường, GPMB, tái định cư")
    page.get_by_role("textbox", name="Số người", exact=True).fill("6")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_selector("text=Đã thêm vụ việc.")
    page.wait_for_selector("text=1 vụ việc")
    assert page.locator(".ag-center-cols-container .ag-row").count() == 1
    assert "05/03/2025" in page.locator(".ag-center-cols-container .ag-row").first.inner_text()

    with scratch_engine.connect() as conn:
        row = conn.execute(text("SELECT commune_legacy, is_mass, deadline_date, status, source FROM grievance_case "
                                "WHERE external_ref = 'TAY-001'")).one()
    assert row.commune_legacy == "19741" and row.is_mass is True and row.status == "tiep_nhan"
    assert str(row.deadline_date) == "2025-04-04"  # 30 days after receipt (Law on Complaints, art. 28)
    assert row.source == "nhap-tay"

    # edit: select the row, mark it resolved
    page.locator(".ag-center-cols-container .ag-row").first.click()
    page.wait_for_selector("text=Sửa vụ việc TAY-001")
    _select(page, "Trạng thái", "Đã giải quyết")
    _fill(page, "Ngày giải quyết", "20/03/2025")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_selector("text=Đã cập nhật vụ việc")
    page.locator(".ag-center-cols-container .ag-row").first.click()
    history = page.locator("#form-history")
    history.get_by_text("cập nhật").wait_for()
    assert "Trạng thái: Tiếp nhận → Đã giải quyết" in history.inner_text()
    assert "Ngày giải quyết: — → 20/03/2025" in history.inner_text()
    page.screenshot(path=str(test_output / "cases_edit.png"))


def test_bad_form_input_is_refused_with_reasons(scratch_server, scratch_engine, page):
    login(page, scratch_server)
    page.goto(scratch_server + "/cases?scheme=legacy&province=45&commune=19741")
    page.wait_for_selector("text=0 vụ việc")
    _fill(page, "Mã hồ sơ", "TAY-BAD")
    _fill(page, "Ngày tiếp nhận", "31/02/2025")
    _select(page, "Loại đơn", "Tố cáo")
    _select(page, "Lĩnh vực", "Môi trường")
    page.get_by_role("button", name="Lưu").click()
    alert = page.get_by_role("alert", name="Chưa lưu")
    alert.get_by_text("Chưa lưu").wait_for()
    assert "31/02/2025" in alert.inner_text()
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one() == 0


def test_a_link_to_a_case_alone_opens_its_commune_and_saves(scratch_server, scratch_engine, page):
    """``/cases?case=ID`` with nothing else (a link in a message): the case's commune is chosen, its list
    shown, and Save works; an officer of another district gets an empty form on their own area."""
    import datetime as dt

    from geo_dash.cases.entry import save_case
    from geo_dash.security.scope import ALL

    made = save_case(scratch_engine, ALL, {"external_ref": "LINK-1", "received_date": dt.date(2025, 3, 5),
                                           "kind": "Khiếu nại", "category": "Thu hồi đất", "people_count": 2,
                                           "status": "Tiếp nhận", "commune_code": "19741"}, actor="admin")
    assert made.ok, made.errors
    login(page, scratch_server)
    page.goto(scratch_server + f"/cases?case={made.case_id}")
    page.wait_for_selector("text=Sửa vụ việc LINK-1")
    assert page.get_by_role("textbox", name="Xã / phường", exact=True).input_value() == "Xã Hải Khê — Huyện Hải Lăng"
    page.wait_for_selector("text=1 vụ việc")
    _select(page, "Trạng thái", "Đang giải quyết")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_selector("text=Đã cập nhật vụ việc")
    with scratch_engine.connect() as conn:
        row = conn.execute(text("SELECT status, commune_legacy FROM grievance_case WHERE id = :i"),
                           {"i": made.case_id}).one()
    assert tuple(row) == ("dang_giai_quyet", "19741")

    page.context.clear_cookies()
    login(page, scratch_server, "officer_vl")  # huyện Vĩnh Linh; Hải Khê is in Hải Lăng
    page.goto(scratch_server + f"/cases?case={made.case_id}")
    page.wait_for_selector("text=Thêm vụ việc mới")
    assert "LINK-1" not in page.locator("body").inner_text()
    assert "Hải Khê" not in page.get_by_role("textbox", name="Xã / phường", exact=True).input_value()
    # the commune itself in the link: not counted as "0 cases" there, the officer is asked for one of theirs
    page.goto(scratch_server + "/cases?scheme=legacy&province=45&commune=19741")
    expect(page.locator("#cases-count")).to_have_text("Chọn xã để xem danh sách vụ việc", timeout=15000)


def test_an_officer_imports_a_case_file_and_downloads_the_rejected_rows(scratch_server, scratch_engine, page, test_output):
    """The file an office keeps, chosen in the page: the officer's rows are imported and the list
    shows them; the row of the next district and the impossible date are reported and downloadable."""
    with scratch_engine.connect() as conn:
        vl, hl = (conn.execute(text("""SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                                       AND parent_code = :d ORDER BY code LIMIT 1"""), {"d": d}).scalar_one()
                  for d in ("464", "470"))
    body = ("Mã hồ sơ,Ngày tiếp nhận,Loại đơn,Lĩnh vực,Số người,Trạng thái,Mã xã\n"
            f"VL-1,03/04/2025,Khiếu nại,Thu hồi đất,6,Tiếp nhận,{vl}\n"
            f"VL-2,31/02/2025,Tố cáo,Môi trường,1,Tiếp nhận,{vl}\n"
            f"HL-1,04/04/2025,Khiếu nại,Tranh chấp đất,2,Tiếp nhận,{hl}\n"
            f"VL-3,05/04/2025,Kiến nghị,Môi trường,1,Đang giải quyết,{vl}\n")
    login(page, scratch_server, "officer_vl")
    page.goto(scratch_server + f"/cases?scheme=legacy&province=45&commune={vl}")
    page.wait_for_selector("text=0 vụ việc")
    page.set_input_files("#import-upload input[type=file]",
                         files=[{"name": "don_thu_thang_4.csv", "mimeType": "text/csv", "buffer": body.encode("utf-8")}])
    result = page.locator("#import-result")
    result.get_by_text("Đã nhập tệp don_thu_thang_4.csv").wait_for()
    assert "4 dòng = 2 nhận + 2 từ chối" in result.inner_text()
    assert "nằm ngoài địa bàn của bạn" in result.inner_text()
    page.wait_for_selector("text=2 vụ việc")  # the commune's list, refreshed
    assert page.locator(".ag-center-cols-container .ag-row").count() == 2
    page.locator("#import-result").scroll_into_view_if_needed()
    page.screenshot(path=str(test_output / "cases_import_officer.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#import-rejects-link").click()
    rejected = open(download.value.path(), encoding="utf-8-sig").read()
    assert "VL-2" in rejected and "HL-1" in rejected and "VL-1" not in rejected
