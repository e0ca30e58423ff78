"""The map page beyond one indicator: drill-down with breadcrumbs, case filters, case points (clustered),
the whole-country view, the commune's case list, and the view restored from a saved URL."""

import json
import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from geo_dash.boundaries import read
from geo_dash.cases import read as cases_read
from geo_dash.security.scope import ALL
from tests.browser.conftest import login, served

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def engine(analytics_url):
    e = create_engine(analytics_url)
    yield e
    e.dispose()


def _style_response(page, action):
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and "communes-style" in (r.request.post_data or "")) as info:
        action()
    body = info.value.body()
    return body, json.loads(body)["response"]["communes-style"]["data"]


def _crumbs(page) -> list[str]:
    return [c.strip() for c in page.locator(".gd-crumb").all_inner_texts()]


def test_drill_down_to_a_commune_and_back(analytics_server, page, engine, test_output):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    expect(page.locator("#month-label")).to_have_text("06/2025", timeout=20000)
    assert _crumbs(page) == ["Việt Nam", "Tỉnh Quảng Trị"]
    page.locator("path.gd-commune").nth(40).click()
    expect(page.locator("#panel-title")).to_be_visible(timeout=15000)
    expect(page).to_have_url(re.compile(r"commune=\d{5}"), timeout=10000)
    code = re.search(r"commune=(\d{5})", page.url).group(1)
    info = read.unit_info(engine, "legacy", code)
    # the breadcrumbs name the commune's district and the commune; the URL carries both
    expect(page.locator(".gd-crumb-current")).to_have_text(info["name"], timeout=10000)
    assert _crumbs(page) == ["Việt Nam", "Tỉnh Quảng Trị", info["district_name"], info["name"]]
    expect(page).to_have_url(re.compile(f"district={info['parent_code']}"), timeout=10000)
    assert page.locator("#panel-title").inner_text().startswith(info["name"])
    # zoomed to the commune, its detailed outline drawn
    expect(page.locator("path.gd-outline")).to_have_count(1, timeout=10000)
    expect(page).to_have_url(re.compile(r"at=[\d.]+%2C[\d.]+%2C1[0-8]"), timeout=10000)  # zoom 10–18
    page.screenshot(path=str(test_output / "map_drill_commune.png"))
    # up to the district: no commune selected, the district in the URL
    page.get_by_role("button", name=info["district_name"]).click()
    expect(page.locator(".gd-crumb-current")).to_have_text(info["district_name"], timeout=10000)
    expect(page).not_to_have_url(re.compile(r"commune="), timeout=10000)
    assert f"district={info['parent_code']}" in page.url
    expect(page.locator("path.gd-outline")).to_have_count(0)
    # up to the province
    page.get_by_role("button", name="Tỉnh Quảng Trị").click()
    expect(page.locator(".gd-crumb-current")).to_have_text("Tỉnh Quảng Trị", timeout=10000)
    expect(page).not_to_have_url(re.compile(r"district="), timeout=10000)


def test_saved_url_restores_the_drill_down(analytics_server, page, engine):
    login(page, analytics_server)
    info = read.unit_info(engine, "legacy", "19522")
    page.goto(analytics_server + "/?scheme=legacy&province=45&district=466&commune=19522&indicator=n_new&range=3"
              "&month=2025-03&lang=vi")
    expect(page.locator("#panel-title")).to_contain_text(info["name"], timeout=20000)
    assert _crumbs(page)[-2:] == [info["district_name"], info["name"]]
    expect(page.locator("#month-label")).to_have_text("01/2025 – 03/2025", timeout=10000)
    # a map position alone is restored too
    page.goto(analytics_server + "/?scheme=legacy&province=45&at=16.8,107.1,11&lang=vi")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    expect(page).to_have_url(re.compile(r"at=16\.8(000)?%2C107\.1(000)?%2C11(&|$)"), timeout=10000)


def test_case_filters_recolour_the_communes_with_matching_cases(analytics_server, page, engine, test_output):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=49&range=12")
    expect(page.locator("path.gd-commune")).to_have_count(233, timeout=20000)
    expect(page.locator("#month-label")).to_have_text("07/2024 – 06/2025", timeout=20000)
    page.locator(".gd-filters > summary").click()
    body, payload = _style_response(page, lambda: page.get_by_label("Chỉ đông người").check(force=True))
    assert len(body) < 8_000 and b"coordinates" not in body
    expected = cases_read.filtered_counts(engine, ALL, scheme="legacy", province_code="49", first=date(2024, 7, 1),
                                          last=date(2025, 6, 1), filters={"mass": True})
    counts = dict(zip(expected["commune_code"], expected["value"]))
    order = [f["properties"]["code"] for f in read.province_geojson(engine, "legacy", "49")["communes"]["features"]]
    assert [counts.get(c, 0) or 0 for c in order] == [v or 0 for v in payload["v"]]
    with_cases = {payload["k"][i] for i, c in enumerate(order) if counts.get(c, 0) > 0}
    without = {payload["k"][i] for i, c in enumerate(order) if counts.get(c, 0) == 0}
    assert with_cases and without and not with_cases & without  # matching communes stand out
    expect(page.locator("#legend")).to_contain_text("Vụ việc theo bộ lọc")
    expect(page).to_have_url(re.compile(r"range=12.*mass=1|mass=1.*range=12"), timeout=10000)
    fills = {el.get_attribute("fill") for el in page.locator("path.gd-commune").all()}
    assert len(fills) >= 2
    # narrowing to one category keeps only those cases
    body, payload2 = _style_response(page, lambda: (page.get_by_role("textbox", name="Lĩnh vực").click(),
                                                    page.get_by_role("option", name=re.compile("^Môi trường")).click()))
    assert sum(v or 0 for v in payload2["v"]) <= sum(v or 0 for v in payload["v"])
    expect(page).to_have_url(re.compile(r"category=moi_truong"), timeout=10000)
    page.screenshot(path=str(test_output / "map_filters.png"))


def test_sensitive_only_greys_out_the_other_communes(analytics_server, page):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45")
    expect(page.locator("#month-label")).to_have_text("06/2025", timeout=20000)
    page.locator(".gd-filters > summary").click()
    _, payload = _style_response(page, lambda: page.get_by_label("Chỉ vùng nhạy cảm").check(force=True))
    assert "~" in payload["k"] and set(payload["k"]) - {"~"}, payload["k"]
    expect(page).to_have_url(re.compile(r"sonly=1"), timeout=10000)


def test_case_points_are_clustered_above_the_threshold(analytics_url, browser, test_output):
    with served(analytics_url, {"GEO_DASH_CLUSTER_ABOVE": "100"}) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            login(page, base)
            page.goto(base + "/?scheme=legacy&province=49&range=12&points=1")
            expect(page.locator("#points-note")).to_contain_text("gộp cụm", timeout=30000)
            expect(page.locator(".gd-cluster").first).to_be_visible(timeout=20000)
            page.screenshot(path=str(test_output / "map_points_clustered.png"))
            # a filter that leaves fewer points than the threshold shows them one by one
            page.goto(base + "/?scheme=legacy&province=49&range=12&points=1&mass=1&category=dat_dai_thu_hoi")
            expect(page.locator("#points-note")).not_to_contain_text("gộp cụm", timeout=30000)
            expect(page.locator("path.gd-case-point").first).to_be_attached(timeout=20000)
            assert page.locator(".gd-cluster").count() == 0
        finally:
            page.close()


def test_whole_country_view(analytics_server, page, engine, test_output):
    login(page, analytics_server)
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and "communes-style" in (r.request.post_data or "")) as info:
        page.goto(analytics_server + "/?scheme=legacy&province=VN")
    payload = json.loads(info.value.body())["response"]["communes-style"]["data"]
    n = len(read.national_geojson(engine, "legacy")["communes"]["features"])
    assert n > 10_000 and len(payload["k"]) == n and payload["g"] == "legacy:VN"
    assert len(info.value.body()) < 20 * n  # a class and a number per commune, no geometry
    expect(page.locator(".gd-crumb-current")).to_have_text("Việt Nam", timeout=20000)
    expect(page.locator(".leaflet-overlay-pane canvas")).to_have_count(1, timeout=30000)  # one canvas, not 10k paths
    page.screenshot(path=str(test_output / "map_national.png"))


def test_commune_panel_lists_the_communes_cases_and_links_to_their_form(analytics_server, page, engine):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45&commune=19741")
    expect(page.locator("#panel-title")).to_be_visible(timeout=20000)
    expected = cases_read.list_cases(engine, ALL, scheme="legacy", commune_code="19741", limit=200)
    assert len(expected) > 0
    grid = page.locator("#panel-cases")
    expect(grid.locator(".ag-row").first).to_be_visible(timeout=15000)
    first = expected.iloc[0]
    link = grid.get_by_role("link", name=first["external_ref"])
    expect(link).to_have_attribute("href", re.compile(rf"case={first['id']}"))
    summary = cases_read.get_case(engine, ALL, int(first["id"]))["summary"]
    if summary:
        assert summary not in page.locator("#commune-panel").inner_text()  # the summary never leaves the form
    link.click()
    expect(page).to_have_url(re.compile(r"/cases\?"), timeout=15000)
    expect(page.locator("#form-title")).to_contain_text(first["external_ref"], timeout=15000)
    # the open case stays in the URL (bookmark, share), beside the list's commune
    expect(page).to_have_url(re.compile(rf"commune=19741.*case={first['id']}"), timeout=15000)
    page.reload()
    expect(page.locator("#form-title")).to_contain_text(first["external_ref"], timeout=15000)


def test_an_alert_opens_its_commune_on_the_map(analytics_server, page, engine):
    login(page, analytics_server)
    page.goto(analytics_server + "/alerts?scheme=legacy&province=49")
    link = page.locator("#alerts-grid .ag-row a").first
    expect(link).to_be_visible(timeout=20000)
    name = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(r"/\?.*commune=\d{5}"), timeout=15000)
    expect(page.locator("#panel-title")).to_contain_text(name, timeout=20000)
    expect(page.locator(".gd-crumb-current")).to_have_text(name, timeout=10000)


def test_a_commune_can_be_found_by_keyboard_without_diacritics(analytics_server, page):
    login(page, analytics_server)
    page.goto(analytics_server + "/?scheme=legacy&province=45")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    box = page.get_by_role("textbox", name="Tìm xã, phường…")
    box.focus()
    page.keyboard.type("hai khe")
    expect(page.get_by_role("option", name=re.compile("^Xã Hải Khê"))).to_be_visible(timeout=10000)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#panel-title")).to_contain_text("Xã Hải Khê", timeout=15000)
    expect(page).to_have_url(re.compile(r"commune=19741"), timeout=10000)
    expect(page.locator(".gd-crumb-current")).to_have_text("Xã Hải Khê")


def _center(page):
    expect(page).to_have_url(re.compile(r"at=-?[0-9.]+%2C"), timeout=15000)
    lat, lon, zoom = (float(x) for x in re.search(r"at=([^&]+)", page.url).group(1).replace("%2C", ",").split(","))
    return lat, lon, zoom


def _inside(bounds, lat, lon) -> bool:
    (s, w), (n, e) = bounds
    return s <= lat <= n and w <= lon <= e


def test_a_district_officer_opens_on_the_own_district(analytics_server, page, engine):
    login(page, analytics_server, "officer_vl")
    page.goto(analytics_server + "/")
    expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
    expect(page.get_by_role("textbox", name="Quận / huyện")).to_have_value("Huyện Vĩnh Linh", timeout=15000)
    expect(page.locator("#map-crumbs")).to_contain_text("Vĩnh Linh")
    lat, lon, zoom = _center(page)
    assert _inside(read.unit_info(engine, "legacy", "464")["bounds"], lat, lon)
    assert not _inside(read.unit_info(engine, "legacy", "470")["bounds"], lat, lon)  # not Hải Lăng
    # a shared link to a Hải Lăng commune or to Hải Lăng itself opens on the officer's own district too
    with engine.connect() as conn:
        other = conn.execute(text("SELECT min(code) FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' "
                                  "AND parent_code = '470'")).scalar()
    for query in (f"commune={other}", "district=470"):
        page.goto(analytics_server + f"/?scheme=legacy&province=45&{query}")
        expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
        expect(page.get_by_role("textbox", name="Quận / huyện")).to_have_value("Huyện Vĩnh Linh", timeout=15000)
        expect(page).not_to_have_url(re.compile(r"commune=|district=470"), timeout=15000)
        assert page.locator("#panel-title").count() == 0
        lat, lon, _ = _center(page)
        assert _inside(read.unit_info(engine, "legacy", "464")["bounds"], lat, lon)


def test_an_officer_of_a_commune_group_opens_on_those_communes(analytics_server, page, engine):
    login(page, analytics_server, "officer_2025")
    page.goto(analytics_server + "/?scheme=2025")
    # attached, not visible: once the map has zoomed to the group, communes outside the view are empty paths
    expect(page.locator("path.gd-commune").first).to_be_attached(timeout=20000)
    lat, lon, zoom = _center(page)
    a, b = (read.unit_info(engine, "2025", c)["bounds"] for c in ("19363", "19366"))
    group = [[min(a[0][0], b[0][0]), min(a[0][1], b[0][1])], [max(a[1][0], b[1][0]), max(a[1][1], b[1][1])]]
    assert _inside(group, lat, lon)
    province = read.unit_info(engine, "2025", "19363")["province_code"]
    whole = read.scope_bounds(engine, "2025", province, ALL)  # None: the admin sees all of it
    assert whole is None and zoom >= 10
