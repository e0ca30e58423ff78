"""The first map, as a user meets it: choose a province, see its communes, hover for names."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def _choose_province(page, typed: str, label: str):
    box = page.get_by_role("textbox", name="Tỉnh / thành phố")
    box.click()
    box.fill(typed)
    page.get_by_role("option", name=label).click()


def test_choose_province_shows_one_feature_per_commune(server, page, test_output):
    login(page, server)
    page.goto(server + "/")
    page.wait_for_selector("path.gd-commune")
    # default view: Quảng Trị, legacy scheme, 119 communes with 10 district outlines
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    assert page.locator("path.gd-district").count() == 10

    # typed without diacritics, as people do on keyboards without a Vietnamese IME
    _choose_province(page, "quang nam", "Tỉnh Quảng Nam")
    expect(page.locator("path.gd-commune")).to_have_count(233, timeout=20000)
    assert page.locator("path.gd-district").count() == 17
    assert "17 huyện, 233 xã" in page.locator("#counts").inner_text()
    expect(page).to_have_url(re.compile(r"province=49"), timeout=15000)
    assert "scheme=legacy" in page.url
    page.wait_for_timeout(500)
    page.screenshot(path=str(test_output / "map_quang_nam_legacy.png"))
    assert page.page_errors == []


def test_hover_shows_commune_and_district_name(server, page):
    login(page, server)
    page.goto(server + "/?scheme=legacy&province=45")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    # the map has fitted the province once it writes its position into the URL; hovering before
    # that can land on a point the fit animation then moves away from (no mousemove, no tooltip)
    expect(page).to_have_url(re.compile(r"at=[0-9.]+%2C[0-9.]+%2C"), timeout=15000)
    page.wait_for_timeout(400)
    tooltip = page.locator(".leaflet-tooltip")
    box = page.locator("#map").bounding_box()
    # walk the mouse over a grid around the centre until it rests on a commune; Leaflet keeps a
    # closed tooltip in the page for 200 ms while it fades, so wait that out and expect exactly one
    text = None
    for fx, fy in [(0.5, 0.5), (0.45, 0.45), (0.55, 0.55), (0.4, 0.6), (0.6, 0.4),
                   (0.35, 0.35), (0.65, 0.65), (0.5, 0.3), (0.5, 0.7), (0.3, 0.5), (0.7, 0.5)]:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=4)
        page.wait_for_timeout(400)
        if tooltip.count() == 1 and tooltip.is_visible():
            text = tooltip.inner_text()
            break
    assert text, "no tooltip anywhere on the province's communes"
    assert " — Huyện " in text or " — Thị xã " in text or " — Thành phố " in text, text


def test_scheme_switch_shows_2025_communes_without_districts(server, page, test_output):
    login(page, server)
    page.goto(server + "/?scheme=legacy&province=45")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    page.get_by_text("Từ 01/07/2025 (2 cấp)").click()
    # Quảng Trị (45) became part of the new Quảng Trị (44): 78 communes, no district level
    expect(page.locator("path.gd-commune")).to_have_count(78, timeout=20000)
    assert page.locator("path.gd-district").count() == 0
    expect(page).to_have_url(re.compile(r"scheme=2025.*province=44|province=44.*scheme=2025"), timeout=15000)
    page.screenshot(path=str(test_output / "map_quang_tri_2025.png"))


def test_url_restores_the_view_and_english_is_available(server, page):
    login(page, server)
    page.goto(server + "/?scheme=2025&province=56&lang=en")
    expect(page.locator("path.gd-commune")).to_have_count(65, timeout=20000)
    assert "Grievance hotspot map" in page.locator("header").inner_text()
    assert "65 communes" in page.locator("#counts").inner_text()
