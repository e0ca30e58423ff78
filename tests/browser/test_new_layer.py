"""Adding a map layer is a YAML file plus its data: no Python change. The new layer appears in the
app's layer list and renders."""

import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from geo_dash.config import LAYERS_DIR
from geo_dash.layers.imports import import_layer
from tests.browser.conftest import login, start_server

pytestmark = pytest.mark.browser

NEW_LAYER = """
id: diem_tiep_dan
title: {vi: Điểm tiếp công dân lưu động, en: Mobile citizen-reception points}
description: {vi: Số buổi tiếp công dân lưu động trong năm (lớp thử nghiệm)., en: Mobile reception sessions a year (test layer).}
group: context
geometry: commune
source: {kind: layer_value}
fields:
  - name: sessions
    type: integer
    title: {vi: Số buổi tiếp dân, en: Sessions}
    min: 0
    aliases: [so_buoi]
value: sessions
time: {mode: static}
classification: {method: user_defined, bins: [1, 3, 6]}
palette: Greens
tooltip: [name, label]
popup: [name, sessions]
visible: false
roles: ["*"]
order: 90
provenance: {source: {vi: Văn phòng tiếp công dân (thử nghiệm), en: Citizen reception office (test)}, date: "2025", licence: test, demo: false}
"""


def test_a_new_yaml_layer_appears_and_renders(scratch_engine, tmp_path, browser, test_output, monkeypatch):
    layers = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, layers)
    (layers / "diem_tiep_dan.yaml").write_text(NEW_LAYER, encoding="utf-8")
    monkeypatch.setenv("GEO_DASH_LAYERS_DIR", str(layers))
    data = tmp_path / "tiep_dan.csv"
    data.write_text("Mã xã,Số buổi\n19741,7\n19369,4\n19396,2\n", encoding="utf-8")
    result = import_layer(scratch_engine, "diem_tiep_dan", data, directory=layers)
    assert result.accepted == 3
    proc, base = start_server(scratch_engine.url.render_as_string(hide_password=False),
                              {"GEO_DASH_LAYERS_DIR": str(layers)})
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        login(page, base)
        page.goto(base + "/?scheme=legacy&province=45")
        expect(page.locator("path.gd-commune")).to_have_count(119, timeout=20000)
        box = page.get_by_role("textbox", name="Lớp bản đồ", exact=True)
        box.click()
        page.get_by_role("option", name="Điểm tiếp công dân lưu động").click()
        expect(page.locator("#legend")).to_contain_text("Điểm tiếp công dân lưu động", timeout=15000)
        expect(page.locator("#legend")).to_contain_text("Văn phòng tiếp công dân (thử nghiệm)")
        page.wait_for_timeout(500)
        fills = {el.get_attribute("fill") for el in page.locator("path.gd-commune").all()}
        assert len(fills) >= 3  # three classes of the new layer + no data
        assert "layer=diem_tiep_dan" in page.url
        page.screenshot(path=str(test_output / "map_new_layer.png"))
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_broken_layer_file_stops_start_up_naming_file_and_field(tmp_path, loaded_url):
    import os
    import sys

    layers = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, layers)
    (layers / "hong.yaml").write_text("id: hong\ntitle: {vi: Hỏng}\ngeometry: commune\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "geo_dash.cli", "serve", "--no-setup", "--port", "1"],
                          env={**os.environ, "GEO_DASH_DATABASE_URL": loaded_url, "GEO_DASH_LAYERS_DIR": str(layers)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "hong.yaml" in proc.stderr and "title" in proc.stderr
