"""The dashboard on demo data with analytics: choropleth restyling without geometry, time playback,
the commune panel equal to the analytics KPIs, URL state, and the wall kiosk."""

import json
import re
import time

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


def _until(page, js: str, timeout: float = 15.0):
    """Poll a page function until it returns something truthy (the CSP forbids wait_for_function)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(js)
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {js}"
        page.wait_for_timeout(50)


HELD = "legend.children"  # in the body of the server's restyle request (its outputs)


def _quang_tri_with_two_series(page, base: str):
    """The map of Quảng Trị once the page holds two indicators' series (intensity, then mass petitions,
    shown); returns the indicator list's box."""
    login(page, base)
    page.goto(base + "/?scheme=legacy&province=45&indicator=intensity")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    _until(page, "() => window.geoDash.series['legacy:45|intensity']")
    box = page.get_by_role("textbox", name="Chỉ tiêu", exact=True)
    box.click()
    page.get_by_role("option", name="Khiếu kiện đông người").click()
    _until(page, "() => window.geoDash.series['legacy:45|n_mass'] && window.geoDash.current.ind === 'n_mass'")
    return box


def test_month_and_indicator_restyle_in_the_page_before_the_server_answers(analytics_server, page, test_output):
    """Once the page holds an indicator's month-by-month series it repaints a change of indicator or
    month by itself; the server's answer (held back here) follows and agrees with it."""
    box = _quang_tri_with_two_series(page, analytics_server)
    page.wait_for_timeout(300)

    held = []
    page.route("**/_dash-update-component*",
               lambda route: held.append(route) if HELD in (route.request.post_data or "") else route.fallback())
    served = page.evaluate("() => window.geoDash.served")
    box.click()
    page.get_by_role("option", name="Cường độ khiếu kiện (chỉ số tổng hợp)").click()
    drawn = _until(page, "() => window.geoDash.current.ind === 'intensity' && window.geoDash.current")
    assert drawn["fast"] is True
    for _ in range(100):  # the held request reaches the handler when Playwright next pumps its events
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    assert page.evaluate("() => window.geoDash.served") == served  # the server has not answered yet
    ser = page.evaluate("() => window.geoDash.series['legacy:45|intensity']")
    j = ser["m"].index(drawn["m"])
    assert drawn["k"] == ser["k"][j] and drawn["m"] == "2025-06"
    # every commune painted in its class's colour (SVG fill), in feature order
    fills = page.evaluate("""() => window.geoDash.layers['legacy:45'].map(l => l.options.fillColor)""")
    expected = [drawn["pal"][int(c)] if c.isdigit() else None for c in drawn["k"]]
    assert [f for f, e in zip(fills, expected) if e] == [e for e in expected if e]
    # the legend waits for the server, dimmed meanwhile
    assert "Khiếu kiện đông người" in page.locator("#legend").inner_text()
    expect(page.locator("#legend")).to_have_class(re.compile("gd-stale"))
    page.screenshot(path=str(test_output / "map_fast_restyle_before_answer.png"))

    for route in held:
        route.fallback()
    _until(page, f"() => window.geoDash.served > {served} && !window.geoDash.current.fast")
    answer = page.evaluate("() => window.geoDash.current")
    assert answer["k"] == drawn["k"] and answer["pal"] == drawn["pal"]  # the server agrees
    expect(page.locator("#legend")).to_contain_text("Cường độ khiếu kiện", timeout=10000)
    expect(page.locator("#legend")).not_to_have_class(re.compile("gd-stale"))

    # playback steps month by month in the page even while the server's answers are held
    held.clear()
    page.get_by_role("button", name="Chạy/dừng theo tháng").click()  # 06/2025 is the last: wraps to the first
    first = _until(page, f"() => window.geoDash.current.m === '{ser['m'][0]}' && window.geoDash.current")
    assert first["fast"] is True and first["k"] == ser["k"][0]
    second = _until(page, f"() => window.geoDash.current.m === '{ser['m'][1]}' && window.geoDash.current")
    assert second["k"] == ser["k"][1]
    page.get_by_role("button", name="Chạy/dừng theo tháng").click()
    assert held, "the server was asked as well"
    for route in held:
        route.fallback()


def test_choosing_an_indicator_repaints_at_the_click_unless_a_filter_needs_the_server(analytics_server, page):
    """The indicator list's click itself repaints the map from the page's series (before the framework
    dispatches the new value); with a case filter set, the page's series do not apply, and the click
    leaves the map to the server's answer — the page's copy of the view follows the filter."""
    box = _quang_tri_with_two_series(page, analytics_server)
    # what the map shows once the click's own listeners have run (a bubbling listener on window: the last)
    page.evaluate("() => window.addEventListener('click', () => { const c = window.geoDash.current || {}; "
                  "window._shownAfterClick = {ind: c.ind, k: c.k}; })")
    before = page.evaluate("() => window.geoDash.atClick || 0")
    box.click()
    page.get_by_role("option", name="Cường độ khiếu kiện (chỉ số tổng hợp)").click()
    assert page.evaluate("() => window._shownAfterClick.ind") == "intensity"
    assert page.evaluate("() => window.geoDash.atClick") == before + 1
    ser = page.evaluate("() => window.geoDash.series['legacy:45|intensity']")
    _until(page, "() => window.geoDash.current.ind === 'intensity' && !window.geoDash.current.fast")
    assert page.evaluate("() => window.geoDash.current.k") == ser["k"][ser["m"].index("2025-06")]  # the server agrees

    # a category filter: the series (all cases) do not apply, the click does not repaint
    page.locator(".gd-filters > summary").click()
    page.get_by_role("textbox", name="Lĩnh vực").click()
    page.get_by_role("option", name=re.compile("^Môi trường")).click()
    expect(page).to_have_url(re.compile(r"category=moi_truong"), timeout=10000)
    page.keyboard.press("Escape")
    _until(page, "() => (window.geoDash.view.category || []).includes('moi_truong')")
    expect(page.locator("#legend")).to_contain_text("Vụ việc theo bộ lọc", timeout=10000)
    filtered = page.evaluate("() => window.geoDash.current.k")
    box.click()
    page.get_by_role("option", name="Khiếu kiện đông người").click()
    assert page.evaluate("() => window._shownAfterClick") == {"ind": None, "k": filtered}  # nothing drawn
    assert page.evaluate("() => window.geoDash.atClick") == before + 1
    expect(page).to_have_url(re.compile(r"indicator=n_mass"), timeout=10000)  # the server's answer (filtered counts)
    expect(page.locator("#legend")).not_to_have_class(re.compile("gd-stale"))


def test_a_series_answer_dropped_by_a_newer_request_is_asked_for_again(analytics_server, page):
    """Dash keeps only the newest answer of a callback: when the indicator changes while the first
    indicator's series is on its way, that series is dropped — the page must ask for it again."""
    login(page, analytics_server)
    held, holding = [], [True]
    page.route("**/_dash-update-component*", lambda route: held.append(route)
               if holding[0] and "communes-series.data" in (route.request.post_data or "") else route.fallback())
    page.goto(analytics_server + "/?scheme=legacy&province=45&indicator=intensity")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1  # intensity's series, held on its way
    box = page.get_by_role("textbox", name="Chỉ tiêu", exact=True)
    box.click()
    page.get_by_role("option", name="Khiếu kiện đông người").click()
    for _ in range(200):
        if len(held) == 2:
            break
        page.wait_for_timeout(50)
    assert len(held) == 2
    holding[0] = False
    for route in held:  # intensity's answer now comes after the newer request: Dash drops it
        route.fallback()
    _until(page, "() => window.geoDash.series['legacy:45|n_mass']")
    assert page.evaluate("() => !window.geoDash.series['legacy:45|intensity']")
    box.click()
    page.get_by_role("option", name="Cường độ khiếu kiện (chỉ số tổng hợp)").click()
    _until(page, "() => window.geoDash.series['legacy:45|intensity']", timeout=15)


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


@pytest.mark.parametrize("size", [(1280, 1024), (1366, 768), (1080, 1920)])
def test_wall_fits_screens_that_are_not_16_9(analytics_server, browser, test_output, size):
    """A 5:4 monitor, a laptop and a portrait screen: the hot-spot list and the legend stay on screen."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    login(page, analytics_server)
    page.goto(analytics_server + "/wall?province=45&rotate=600&views=hotspots")
    expect(page.locator("#wall-view-title")).to_have_text("Điểm nóng đang nổi lên", timeout=20000)
    items = page.locator(".gd-wall-hs li")
    expect(items.first).to_be_visible(timeout=20000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(test_output / f"wall_hotspots_{size[0]}x{size[1]}.png"))
    boxes = [b for b in (el.bounding_box() for el in items.all() + page.locator(".gd-wall-legend-item").all()) if b]
    assert len(boxes) >= 4
    off = [b for b in boxes if b["y"] + b["height"] > size[1] + 1 or b["x"] + b["width"] > size[0] + 1]
    assert off == [], f"{len(off)} of {len(boxes)} list or legend items run off the screen"
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
