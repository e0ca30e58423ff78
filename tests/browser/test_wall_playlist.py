"""The map wall playing a playlist (walls/*.yaml) on a real server in headless Chromium: views in the
playlist's order and durations — context layers included — a data refresh without reloading, the
wall token's area winning over the playlist's province, URL parameters overriding the playlist, and
a screenshot of every view at 1920×1080 in test-output/ (one at 3840×2160)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from geo_dash.config import WALLS_DIR
from geo_dash.layers import data as layer_data
from geo_dash.layers import registry
from geo_dash.web.i18n import t
from geo_dash.web.walls import CUBE_VIEWS, load_playlists
from tests.browser.conftest import guarded_page, login, served
from tests.conftest import _create_db, _drop_db, case_edited_after_the_analysis

pytestmark = pytest.mark.browser

AS_OF = dt.date(2025, 6, 30)
PLAYLIST = """\
# a short briefing for the test: a cube view, a context layer drawn on communes, a cube view, a layer of points
title: {vi: Giao ban thử nghiệm, en: Test briefing}
province: "45"
refresh_minutes: 0.5
views:
  - {view: overview, seconds: 7}
  - {view: layer, layer: religious_areas, seconds: 5}
  - {view: mass, seconds: 5}
  - {view: layer, layer: key_projects, seconds: 6}
"""
ELSEWHERE = """\
title: {vi: Quảng Nam, en: Quang Nam}
province: "49"
views:
  - {view: overview, seconds: 20}
"""


@pytest.fixture(scope="module")
def wall_url(cluster, template_db):
    """Demo cases, demo context layers and the legacy analytics as of 30/06/2025 — this module's own
    database (it writes wall tokens)."""
    from geo_dash.analytics.refresh import refresh
    from geo_dash.demo.load import load_demo
    from geo_dash.layers.demo import load_demo as load_layer_demo

    name = "geo_dash_wall_playlist"
    url = _create_db(cluster, name, template=template_db)
    engine = create_engine(url)
    load_demo(engine, seed=2025)
    load_layer_demo(engine)
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("ANALYZE"))  # fresh tables without statistics make the cube build far slower
    refresh(engine, scheme="legacy", as_of=AS_OF)
    engine.dispose()
    yield url
    _drop_db(cluster, name)


@pytest.fixture(scope="module")
def walls_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walls")
    shutil.copy(WALLS_DIR / "default.yaml", folder / "default.yaml")
    (folder / "giao_ban.yaml").write_text(PLAYLIST, encoding="utf-8")
    (folder / "quang_nam.yaml").write_text(ELSEWHERE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def wall_server(wall_url, walls_dir):
    with served(wall_url, {"GEO_DASH_WALLS_DIR": str(walls_dir)}) as base:
        yield base


@pytest.fixture(scope="module")
def wall_engine(wall_url):
    engine = create_engine(wall_url)
    yield engine
    engine.dispose()


def wall_page(browser, size=(1920, 1080)):
    """A page of the given size that may reach only this machine, must keep its CSP and throw no error."""
    return guarded_page(browser, size, any_error_fails=True)


def _title(view) -> str:
    """The heading the wall shows for a playlist view (Vietnamese)."""
    if view.view == "layer":
        layer = registry.get_layer(view.layer)
        title = (layer.legend.title or layer.title).vi
        return t("wall.view.context", "vi", title=title) if layer.group == "context" else title
    return t(CUBE_VIEWS[view.view][1], "vi")


def _slug(view) -> str:
    return view.layer if view.view == "layer" else view.view


def _record_callbacks(page) -> list[dict]:
    """Every answer of the wall's view callback: what triggered it, the heading and the rotation interval."""
    seen: list[dict] = []

    def on_response(response):
        if "_dash-update-component" not in response.url:
            return
        try:
            request = json.loads(response.request.post_data or "{}")
            body = response.json().get("response", {})
        except (ValueError, TypeError):
            return
        if "wall-rotate" in body:
            seen.append({"trigger": request.get("changedPropIds", []), "status": response.status,
                         "title": body.get("wall-view-title", {}).get("children"),
                         "interval": body["wall-rotate"].get("interval")})

    page.on("response", on_response)
    return seen


def _fills(page) -> set[str]:
    return {(el.get_attribute("fill") or "").lower() for el in page.locator(".gd-wall-map path").all()}


def test_playlist_rotates_in_order_with_its_durations_and_refreshes(wall_server, wall_engine, walls_dir, browser,
                                                                    test_output):
    from geo_dash.security.users import create_wall_token

    playlist = load_playlists(walls_dir)["giao_ban"]
    token = create_wall_token(wall_engine, "wall_qt", "phòng họp (test)")
    with wall_page(browser) as page:
        calls = _record_callbacks(page)
        page.goto(f"{wall_server}/wall?token={token}&playlist=giao_ban")
        expect(page.locator(".gd-wall-head h1")).to_have_text("Tỉnh Quảng Trị", timeout=30000)
        page.evaluate("window.__notReloaded = true")
        title, step = page.locator("#wall-view-title"), page.locator("#wall-step")
        n = len(playlist.views)
        for i, view in enumerate(playlist.views):
            expect(title).to_have_text(_title(view), timeout=(view.seconds + 20) * 1000)
            expect(step).to_contain_text(f"· {i + 1}/{n}")
            page.wait_for_timeout(1200)  # the map repaints
            if view.layer == "religious_areas":  # a context layer on the communes: its classes and big legend
                legend = page.locator("#wall-big-legend")
                expect(legend).to_contain_text("Số cơ sở tôn giáo")
                expect(legend).to_contain_text("DỮ LIỆU MINH HỌA")
                values = layer_data.layer_values(wall_engine, "religious_areas", "legacy", "45")
                drawn = {c.lower() for c, k in zip(values["color"], values["class_index"]) if k >= 0}
                assert drawn and drawn <= _fills(page), "the layer's class colours are on the map"
            if view.layer == "key_projects":  # a layer of points: one marker per project
                features = layer_data.layer_features(wall_engine, "key_projects", "legacy", "45")["features"]
                assert features
                expect(page.locator(".gd-wall-map path[stroke='#ffffff']")).to_have_count(len(features))
                expect(page.locator("#wall-big-legend")).to_contain_text("Tình trạng GPMB")
            if view.view == "overview":
                assert page.locator(".gd-wall-kpi-value").count() == 4
            page.screenshot(path=str(test_output / f"wall_playlist_{i + 1}_{_slug(view)}_1920x1080.png"))
        # round again
        expect(title).to_have_text(_title(playlist.views[0]), timeout=(playlist.views[-1].seconds + 20) * 1000)
        expect(step).to_contain_text(f"· 1/{n}")

        # each view stayed for its own seconds: the callback set the rotation timer to them
        rotations = [c for c in calls if "wall-refresh.n_intervals" not in c["trigger"]]
        durations = {c["title"]: c["interval"] for c in rotations}
        assert durations == {_title(v): v.seconds * 1000 for v in playlist.views}

        # the data refresh (refresh_minutes: 0.5): the same view redrawn, the page not reloaded
        deadline = 45
        while not any("wall-refresh.n_intervals" in c["trigger"] for c in calls) and deadline > 0:
            page.wait_for_timeout(1000)
            deadline -= 1
        refreshes = [c for c in calls if "wall-refresh.n_intervals" in c["trigger"]]
        assert refreshes, "the wall refreshed its data within 30 s (+ slack)"
        assert all(c["status"] == 200 and c["title"] in durations for c in refreshes)
        assert page.evaluate("window.__notReloaded") is True
        assert re.fullmatch(r"Số liệu tính đến 30/06/2025", page.locator("#wall-asof").inner_text())
        assert page.locator("#wall-demo").count() == 1  # demo data is never shown unmarked

        # a case edited after the analysis: the next refresh says the map does not show it yet
        behind = page.locator("#wall-behind")
        assert behind.inner_text() == "" and not behind.is_visible()  # until now the analysis was current
        with case_edited_after_the_analysis(wall_engine) as finished:
            expect(behind).to_have_text(
                f"Có vụ việc mới hoặc đã sửa sau lần phân tích lúc {finished:%H:%M %d/%m/%Y}, chưa có trên bản đồ",
                timeout=(30 + 20) * 1000)
            assert page.evaluate("window.__notReloaded") is True
            page.screenshot(path=str(test_output / "wall_playlist_analytics_behind_cases_1920x1080.png"))


def test_default_playlist_shows_every_context_layer(wall_server, browser, test_output):
    playlist = load_playlists(WALLS_DIR)["default"]
    context = [layer.id for layer in registry.list_layers(group="context")]
    assert [v.layer for v in playlist.views if v.view == "layer"] == context
    with wall_page(browser) as page:
        login(page, wall_server, "leader_qt")
        page.goto(f"{wall_server}/wall?province=45&rotate=5")  # no playlist named: walls/default.yaml
        title, step = page.locator("#wall-view-title"), page.locator("#wall-step")
        for i, view in enumerate(playlist.views):
            expect(title).to_have_text(_title(view), timeout=30000)
            expect(step).to_contain_text(f"· {i + 1}/{len(playlist.views)}")
            page.wait_for_timeout(1200)
            if view.view == "layer":
                expect(page.locator("#wall-big-legend li").first).to_be_visible()
            else:
                expect(page.locator(".gd-wall-legend-item").first).to_be_visible()
            page.screenshot(path=str(test_output / f"wall_default_{i + 1}_{_slug(view)}_1920x1080.png"))
            # readable from across the room: the view's heading is at least 3.5% of the screen's height
            assert page.locator("#wall-view-title").bounding_box()["height"] >= 0.035 * 1080


def test_token_area_wins_and_url_overrides_the_playlist_at_4k(wall_server, wall_engine, browser, test_output):
    from geo_dash.security.users import create_wall_token

    token = create_wall_token(wall_engine, "wall_qt", "phòng họp 4K (test)")
    with wall_page(browser, (3840, 2160)) as page:
        # the playlist names Quảng Nam (49); the wall token's area is Quảng Trị (legacy:45)
        page.goto(f"{wall_server}/wall?token={token}&playlist=quang_nam&views=layer:ntm_status&rotate=5")
        expect(page.locator(".gd-wall-head h1")).to_have_text("Tỉnh Quảng Trị", timeout=30000)
        expect(page.locator("#wall-view-title")).to_have_text("Bối cảnh: Nông thôn mới", timeout=30000)
        expect(page.locator("#wall-step")).to_contain_text("· 1/1")
        expect(page.locator("#wall-playlist")).to_have_text("Quảng Nam")
        page.wait_for_timeout(1500)
        rows = page.locator("#wall-big-legend li")
        expect(rows.first).to_contain_text("Chưa đạt chuẩn")
        assert rows.first.bounding_box()["height"] >= 0.035 * 2160  # big legend rows on a 4K screen
        page.screenshot(path=str(test_output / "wall_playlist_token_ntm_3840x2160.png"))


def test_unknown_playlist_says_which_exist(wall_server, browser):
    with wall_page(browser) as page:
        login(page, wall_server, "leader_qt")
        page.goto(f"{wall_server}/wall?playlist=phong_hop_9")
        error = page.locator("#wall-error")
        expect(error).to_contain_text("phong_hop_9", timeout=30000)
        expect(error).to_contain_text("default, giao_ban, quang_nam")
