"""The snapshot's files: PDF briefing, offline HTML map, GeoPackage, XLSX — and the district scope in each."""

from __future__ import annotations

import copy
import json
import re
import subprocess

import openpyxl
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from geo_dash.analytics import read as analytics
from geo_dash.exports import manifest as mf
from geo_dash.exports import pdf as pdf_writer
from geo_dash.exports import snapshot as sn
from geo_dash.exports.gpkg import LAYERS
from geo_dash.exports.xlsx import INFO_SHEET, SHEETS
from geo_dash.layers.classify import fmt_number
from geo_dash.security.scope import Scope
from tests.exports import DISTRICT, MONTH, PROVINCE, pdf_pages, pdf_text

PROVINCE_SCOPE = Scope(legacy_provinces=frozenset({PROVINCE}))
DISTRICT_SCOPE = Scope(legacy_districts=frozenset({DISTRICT}))


@pytest.fixture(scope="module")
def province(engine, tmp_path_factory):
    return sn.create_snapshot(engine, month=MONTH, scope=PROVINCE_SCOPE, out_dir=tmp_path_factory.mktemp("p"),
                              actor="test")


@pytest.fixture(scope="module")
def district(engine, tmp_path_factory):
    return sn.create_snapshot(engine, month=MONTH, scope=DISTRICT_SCOPE, out_dir=tmp_path_factory.mktemp("d"),
                              actor="test")


# ---------------------------------------------------------------------- PDF
def test_pdf_pages_sections_and_text(province, engine, test_output):
    path = province.files["pdf"]
    assert pdf_pages(path) == province.pdf_pages == len(pdf_writer.SECTIONS)  # every section fits on its page here
    text_ = pdf_text(path)
    assert "Tỉnh Quảng Trị" in text_
    assert "Tháng 06/2025" in text_ and "30/06/2025" in text_
    top = analytics.top_hotspots(engine, PROVINCE_SCOPE, "legacy", PROVINCE, n=1).iloc[0]
    assert top["name"] in pdf_text(path, 1, 1)  # named on the cover
    assert top["name"] in pdf_text(path, 4, 4)  # and first in the hotspot table
    kpi = analytics.kpis(engine, PROVINCE_SCOPE, "legacy", "province", PROVINCE, "12m")
    cover = pdf_text(path, 1, 1)
    assert re.search(rf"\b{re.escape(fmt_number(kpi['received'], 'vi', 0))}\b", cover)
    assert f"{fmt_number(round(kpi['resolved_on_time_pct'], 1), 'vi', 1)}%" in cover
    assert "DỮ LIỆU MINH HỌA" in cover
    methods = pdf_text(path, len(pdf_writer.SECTIONS), len(pdf_writer.SECTIONS))
    assert "Phương pháp" in methods and province.content_hash in methods.replace("\n", "").replace(" ", "")
    for page in (1, 2):
        png = test_output / f"snapshot_pdf_page{page}"
        subprocess.run(["pdftoppm", "-r", "80", "-f", str(page), "-l", str(page), "-png", "-singlefile",
                        str(path), str(png)], check=True)
        assert png.with_suffix(".png").stat().st_size > 20_000


def test_pdf_fonts_are_embedded(province):
    out = subprocess.run(["pdffonts", str(province.files["pdf"])], capture_output=True, text=True, check=True).stdout
    fonts = [line for line in out.splitlines()[2:] if line.strip()]
    assert fonts and all(" yes " in line and "DejaVuSans" in line for line in fonts)


def test_long_tables_continue_on_following_pages(engine, tmp_path):
    data = sn.collect(engine, month=MONTH, scheme="legacy", scope=PROVINCE_SCOPE, province_code=PROVINCE)
    communes = data.tables["communes"]
    # one made-up alert row of the table's own shape (the demo province may have no real alert that month)
    base = {"seq": 1, "commune_code": communes["commune_code"].iloc[0], "commune_name": communes["name"].iloc[0],
            "district_code": None, "rule_id": "mass_petitions_30d", "rule_type": "count_window", "period": "2025-06",
            "figures": {"n": 2}, "message_vi": "", "message_en": "", "severity": "high", "priority_dialogue": False}
    assert set(base) == set(data.tables["alerts"].columns)
    n = 150
    data.tables["alerts"] = pd.DataFrame([{**copy.deepcopy(base), "seq": i, "message_vi": f"Cảnh báo thử số {i}."}
                                          for i in range(1, n + 1)])
    path = tmp_path / "long.pdf"
    info = pdf_writer.write_pdf(data, path, {"id": 0, "version": 1})
    sections = info["sections"]
    assert pdf_pages(path) == info["pages"] > len(pdf_writer.SECTIONS)
    alert_pages = range(sections["alerts"], sections["ntm"])
    assert len(alert_pages) >= 3
    text_ = pdf_text(path, alert_pages[0], alert_pages[-1])
    assert all(f"Cảnh báo thử số {i}." in text_ for i in range(1, n + 1))  # nothing cut off
    for page in alert_pages:  # the header row is repeated on every page the table runs onto
        assert "Nội dung cảnh báo" in pdf_text(path, page, page)


# ---------------------------------------------------------------------- HTML
@pytest.mark.browser
def test_html_map_draws_offline_with_every_request_blocked(province, test_output, browser):
    path = province.files["html"]
    html_ = path.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html_)  # everything inline
    if True:  # the session's Chromium (tests/conftest.py)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, offline=True)
        blocked, errors = [], []

        def guard(route):
            if route.request.url.startswith("file://"):
                return route.continue_()
            blocked.append(route.request.url)
            return route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_selector("path.leaflet-interactive")
        n_polygons = len(province_polygons(province))
        assert page.locator("path.leaflet-interactive").count() >= n_polygons
        assert page.locator(".gd-legend").inner_text().startswith("Cường độ khiếu kiện")
        page.select_option("#gd-indicator", "n_new")
        assert "Vụ việc mới" in page.locator(".gd-legend").inner_text()
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # a commune near the centre
        popup = page.locator(".leaflet-popup-content .gd-popup")
        popup.wait_for(state="visible")
        assert "Xu hướng điểm nóng (EHSA)" in popup.inner_text()
        page.screenshot(path=str(test_output / "snapshot_html_map.png"))
        context.close()
    assert blocked == [] and errors == []


def province_polygons(result) -> list:
    return pyogrio.read_dataframe(result.files["gpkg"], layer="communes").dropna(subset=["geometry"]).commune_code.tolist()


# ---------------------------------------------------------------------- GeoPackage
def test_gpkg_layers_counts_and_crs(province, engine):
    path = province.files["gpkg"]
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == set(LAYERS)
    assert layers["communes"] == "MultiPolygon" and layers["hotspots"] == "MultiPolygon" and layers["alerts"] == "Point"
    rows = sn.frozen_tables(engine, province.id)
    for name in LAYERS:
        info = pyogrio.read_info(path, layer=name)
        assert info["crs"] == "EPSG:4326"
        assert info["features"] == len(rows[name])
    communes = pyogrio.read_dataframe(path, layer="communes")
    values = analytics.cube_values(engine, PROVINCE_SCOPE, scheme="legacy", province_code=PROVINCE, month=MONTH,
                                   indicator="n_new")
    assert dict(zip(communes["commune_code"], communes["n_new"])) == pytest.approx(
        dict(zip(values["commune_code"], values["value"])))
    assert communes.geometry.notna().all() and communes.geometry.is_valid.all()
    assert (communes.total_bounds[[0, 2]] > 106).all() and (communes.total_bounds[[1, 3]] < 17.5).all()


# ---------------------------------------------------------------------- XLSX
def test_xlsx_sheets_headers_formats(province, engine):
    wb = openpyxl.load_workbook(province.files["xlsx"])
    assert wb.sheetnames == [s for s, _ in SHEETS] + [INFO_SHEET]
    kpi_sheet = wb["Chỉ tiêu KPI"]
    headers = [c.value for c in kpi_sheet[1]]
    assert headers[:4] == ["Cấp", "Mã đơn vị", "Đơn vị", "Kỳ"]
    assert kpi_sheet.freeze_panes == "A2"
    rows = [dict(zip(headers, [c.value for c in r])) for r in kpi_sheet.iter_rows(min_row=2)]
    twelve = next(r for r in rows if r["Mã đơn vị"] == PROVINCE and r["Kỳ"] == "12 tháng")
    kpi = analytics.kpis(engine, PROVINCE_SCOPE, "legacy", "province", PROVINCE, "12m")
    assert twelve["Tiếp nhận"] == kpi["received"]
    assert twelve["Tỷ lệ giải quyết đúng hạn"] == pytest.approx(kpi["resolved_on_time_pct"] / 100)
    col = headers.index("Tỷ lệ giải quyết đúng hạn") + 1
    assert kpi_sheet.cell(row=2, column=col).number_format == "0.0%"
    assert kpi_sheet.cell(row=2, column=headers.index("Tiếp nhận") + 1).number_format == "#,##0"
    communes = wb["Chỉ số theo xã"]
    assert communes.freeze_panes == "A2" and communes.max_row - 1 == len(sn.frozen_tables(engine, province.id)["communes"])
    assert [c.value for c in communes[1]][:2] == ["Mã xã", "Xã, phường, thị trấn"]


def test_manifest_lists_hashes_parameters_and_data_version(province, engine):
    manifest = json.loads(province.files["manifest"].read_text(encoding="utf-8"))
    assert manifest["content_hash"]["value"] == province.content_hash
    assert set(manifest["files"]) == {"pdf", "html", "gpkg", "xlsx"}
    for entry in manifest["files"].values():
        assert mf.file_sha256(province.directory / entry["name"]) == entry["sha256"]
    run = analytics.latest_run(engine, "legacy")
    assert manifest["data_version"] == run["data_version"] and manifest["analytics_run"]["id"] == run["id"]
    assert manifest["params"]["analytics"]["params"]["ehsa_months"] == 24
    assert manifest["snapshot"]["version"] == province.version
    assert "created_by" not in json.dumps(manifest)  # no user name in the files


# ---------------------------------------------------------------------- the district scope, in every file
def _district_units(engine) -> tuple[set[str], set[str], set[str]]:
    """(communes of the district, names of the other districts of the province, case refs outside it)."""
    with engine.connect() as conn:
        own = set(conn.execute(text("SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' "
                                    "AND parent_code = :d"), {"d": DISTRICT}).scalars())
        others = set(conn.execute(text("SELECT name FROM admin_unit WHERE scheme = 'legacy' AND level = 'district' "
                                       "AND province_code = :p AND code <> :d"), {"p": PROVINCE, "d": DISTRICT}).scalars())
        refs = set(conn.execute(text("SELECT external_ref FROM grievance_case WHERE province_legacy = :p"),
                                {"p": PROVINCE}).scalars())
    return own, others, refs


REF = r"\b[A-Z]{2,}-\d+-\d+\b"  # the demo cases' references: DEMO-45-001497


def _assert_clean(text_: str, other_districts: set[str], refs: set[str], where: str) -> None:
    for name in other_districts:
        assert name not in text_, f"{where} names {name}"
    found = set(re.findall(REF, text_)) & refs
    assert not found, f"{where} holds case references {sorted(found)[:3]}"
    assert "case_id" not in text_, f"{where} holds case ids"


def test_a_district_snapshot_holds_only_its_district_in_every_file(district, engine):
    own, other_districts, refs = _district_units(engine)
    assert refs and all(re.fullmatch(REF, r) for r in sorted(refs)[:20])
    assert district.scope_label.startswith("Huyện Vĩnh Linh")
    rows = sn.frozen_tables(engine, district.id)
    assert {r["commune_code"] for r in rows["communes"]} <= own
    assert len(rows["communes"]) >= 10
    assert {r["commune_code"] for r in rows["hotspots"] + rows["alerts"]} <= own
    assert {(r["level"], r["unit_code"]) for r in rows["kpis"]} == {("district", DISTRICT)}
    assert {r["unit_code"] for r in rows["ntm"]} <= {DISTRICT}
    # GeoPackage
    for layer in LAYERS:
        df = pyogrio.read_dataframe(district.files["gpkg"], layer=layer)
        assert set(df["commune_code"]) <= own, layer
        _assert_clean(df.drop(columns="geometry").to_json(force_ascii=False), other_districts, refs, f"gpkg {layer}")
    # XLSX
    wb = openpyxl.load_workbook(district.files["xlsx"])
    cells = " | ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    codes = {c.value for ws in wb.worksheets for row in ws.iter_rows(min_row=2) for c in row
             if isinstance(c.value, str) and re.fullmatch(r"\d{5}", c.value)}
    assert codes <= own
    _assert_clean(cells, other_districts, refs, "xlsx")
    # HTML
    html_ = district.files["html"].read_text(encoding="utf-8")
    assert set(re.findall(r'"code": "(\d{5})"', html_)) <= own
    assert len(set(re.findall(r'"code": "(\d{5})"', html_))) == len(province_polygons(district))
    _assert_clean(html_, other_districts, refs, "html")
    # PDF
    text_ = pdf_text(district.files["pdf"])
    assert "Huyện Vĩnh Linh" in text_
    _assert_clean(text_, other_districts, refs, "pdf")
    # manifest
    _assert_clean(district.files["manifest"].read_text(encoding="utf-8"), other_districts, refs, "manifest")
