"""The app says so, on every page, whenever synthetic cases are in the database."""

import pytest

from tests.browser.conftest import login

from geo_dash.demo.load import load_demo

pytestmark = pytest.mark.browser


def test_no_banner_without_synthetic_cases(server, page):
    login(page, server)
    page.goto(server + "/")
    page.wait_for_selector("path.gd-commune")
    assert page.locator("#demo-banner").count() == 0


def test_banner_on_every_page_with_demo_data(scratch_engine, scratch_server, page, test_output):
    load_demo(scratch_engine, seed=2025)
    login(page, scratch_server)
    for path in ("/", "/cases"):
        page.goto(scratch_server + path)
        banner = page.locator("#demo-banner")
        banner.wait_for(timeout=15000)
        assert "DỮ LIỆU MINH HỌA" in banner.inner_text()
    page.goto(scratch_server + "/cases?scheme=legacy&province=45&commune=19741")
    page.wait_for_selector(".ag-center-cols-container .ag-row")
    page.screenshot(path=str(test_output / "cases_demo_hai_khe.png"))
