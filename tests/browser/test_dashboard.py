"""The dashboard on demo data with analytics: choropleth restyling without geometry, time playback,
the commune panel equal to the analytics KPIs, URL state, and the wall kiosk."""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine

from geo_dash.analytics import read as analytics
from geo_dash.security.scope import ALL
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def _fills(page):
    return [el.get_attribute("fill") for el in page.locator("path.gd-commune").all()]


def test_indicator_change_restyles_without_geometry(analytics_server, page, test_output):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45&indicator=intensity")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    expect(page.locator("#month-label")).to_have_text("06/2025", timeout=20000)
    before = _fills(page)
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and "communes-style" in (r.request.post_data or "")) as info:
        page.get_by_role("textbox", name="Chỉ tiêu", exact=True).click()
        page.get_by_role("option", name="Khiếu kiện đông người").click()
    body = info.value.body()
    assert len(body) < 8_000, f"a restyle answer should be small, got {len(body)} bytes"
    assert b"coordinates" not in body and b"MultiPolygon" not in body
    payload = json.loads(body)["response"]["communes-style"]["data"]
    assert len(payload["k"]) == 119 and len(payload["v"]) == 119  # one class and one value per commune
    assert set(payload["k"]) <= set("0123456789-~") and payload["g"] == "legacy:45"
    page.wait_for_timeout(800)
    after = _fills(page)
    assert after != before
    assert "indicator=n_mass" in page.url
    page.screenshot(path=str(test_output / "map_mass_petitions.png"))


def test_play_steps_through_months(analytics_server, page):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45&month=2025-01")
    expect(page.locator("#month-label")).to_have_text("01/2025", timeout=20000)
    page.get_by_role("button", name="Chạy/dừng theo tháng").click()
    expect(page.locator("#month-label")).to_have_text("02/2025", timeout=10000)
    expect(page.locator("#month-label")).to_have_text("03/2025", timeout=10000)
    page.get_by_role("button", name="Chạy/dừng theo tháng").click()


def test_commune_panel_equals_the_analytics_kpis(analytics_server, analytics_url, page, test_output):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    page.locator("path.gd-commune").nth(60).click()
    title = page.locator("#panel-title")
    title.wait_for(timeout=15000)
    engine = create_engine(analytics_url)
    name = title.inner_text().split(" — ")[0]
    geo = [f for f in __import__("geo_dash.boundaries.read", fromlist=["x"]).province_geojson(engine, "legacy", "45")["communes"]["features"]
           if f["properties"]["name"] == name]
    code = geo[0]["properties"]["code"]
    kpi = analytics.kpis(engine, ALL, "legacy", "commune", code, "12m")
    engine.dispose()
    tiles = page.locator(".gd-kpi-value").all_inner_texts()
    assert tiles[0] == f"{int(kpi['received']):,}".replace(",", ".")
    assert tiles[2] == f"{int(kpi['backlog'])}" and tiles[3] == f"{int(kpi['overdue'])}"
    page.locator("#panel-trend .js-plotly-plot").wait_for(timeout=15000)  # the 24-month chart drew
    page.screenshot(path=str(test_output / "map_commune_panel.png"))


def test_saved_url_restores_the_view(analytics_server, page):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=49&indicator=overdue&month=2024-06&lang=en")
    expect(page.locator("path.gd-commune")).to_have_count(233, timeout=20000)
    expect(page.locator("#month-label")).to_have_text("06/2024", timeout=20000)
    assert "Overdue" in page.locator("#legend").inner_text()


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_wall_rotates_and_refreshes(analytics_server, browser, test_output, size):
    from tests.browser.conftest import CHROMIUM  # noqa: F401

    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    login(page, analytics_server)
    page.goto(analytics_server + "/wall?province=45&rotate=5&refresh=30&views=overview,hotspots,mass")
    title = page.locator("#wall-view-title")
    expect(title).to_have_text("Toàn cảnh: cường độ khiếu kiện 12 tháng", timeout=20000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(test_output / f"wall_overview_{size[0]}x{size[1]}.png"))
    expect(title).to_have_text("Điểm nóng đang nổi lên", timeout=10000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(test_output / f"wall_hotspots_{size[0]}x{size[1]}.png"))
    expect(title).to_have_text("Khiếu kiện đông người", timeout=10000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(test_output / f"wall_mass_{size[0]}x{size[1]}.png"))
    # type readable from across the room: the KPI figures are at least 6% of the screen height
    height = page.locator(".gd-wall-kpi-value").first.bounding_box()["height"]
    assert height >= 0.06 * size[1]
    assert page.locator("#wall-demo").count() == 1  # demo data is never shown unmarked
    context.close()


def test_split_view_shows_both_periods_on_the_same_classes(analytics_server, page, test_output):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=49&indicator=n_land&month=2025-06")
    expect(page.locator("#map path.gd-commune")).to_have_count(233, timeout=20000)
    page.get_by_role("switch", name="So sánh hai kỳ").check(force=True)
    expect(page.locator("#map2 path.gd-commune")).to_have_count(233, timeout=20000)
    expect(page.locator("#compare-title")).to_contain_text("06/2024", timeout=15000)
    expect(page.locator("#compare-title")).to_contain_text("06/2025")
    page.wait_for_timeout(800)
    left = [el.get_attribute("fill") for el in page.locator("#map path.gd-commune").all()]
    right = [el.get_attribute("fill") for el in page.locator("#map2 path.gd-commune").all()]
    assert left != right  # two different months
    page.screenshot(path=str(test_output / "map_split_view.png"))
