"""Import of context data: happy paths (CSV/XLSX by code or name, GIS in VN-2000), per-row errors
(unknown and duplicate commune, bad values, bad geometry), whole-file refusals (wrong CRS), provenance."""

from __future__ import annotations

import csv
import zipfile

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from sqlalchemy import text

from geo_dash.db.migrate import upgrade
from geo_dash.layers import data
from geo_dash.layers.demo import load_demo
from geo_dash.layers.imports import LayerImportError, import_layer, write_rejects

HAI_KHE, HAI_AN, HAI_BINH = "19741", "19684", "19687"   # Hải Lăng district, Quảng Trị (legacy)
LAO_BAO = "19432"                                       # Hướng Hóa district, Quảng Trị


@pytest.fixture(autouse=True)
def _template_free(loaded_engine):
    loaded_engine.dispose()  # pooled sessions on the template block the scratch copy


@pytest.fixture
def db(scratch_engine):
    upgrade(scratch_engine)
    return scratch_engine


def _csv(path, rows, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def _values(db, layer, field, scheme="legacy", codes=None):
    with db.connect() as conn:
        rows = conn.execute(text("""SELECT unit_code, value_num, value_text, is_demo, import_id FROM layer_value
                                    WHERE layer_id = :l AND field = :f AND scheme = :s
                                      AND (CAST(:c AS text[]) IS NULL OR unit_code = ANY(CAST(:c AS text[])))"""),
                            dict(l=layer, f=field, s=scheme, c=codes)).all()
    return {r[0]: r[1:] for r in rows}


def _imports(db):
    with db.connect() as conn:
        return conn.execute(text("SELECT id, layer_id, status, rows_in, accepted, rejected, source, licence, sha256, "
                                 "reason, report FROM layer_import ORDER BY id")).mappings().all()


# ---------------------------------------------------------------------- happy paths
def test_csv_by_code_replaces_the_provinces_demo_values_and_records_provenance(db, tmp_path):
    load_demo(db)
    path = _csv(tmp_path / "dtts.csv", [
        ["Mã xã", "Khu vực", "Tỷ lệ DTTS (%)"],
        [HAI_KHE, "Khu vực I", "12,5"],
        [LAO_BAO, "KV III", "85"],
        [HAI_AN, "ngoài vùng", ""],
    ])
    res = import_layer(db, "ethnic_minority_region", path, source="Ủy ban Dân tộc", source_date="2024-06",
                       licence="Văn bản công khai")
    assert (res.rows_in, res.accepted, res.rejected) == (3, 3, 0)
    assert res.removed_demo > 0 and res.derived_2025 > 0
    got = _values(db, "ethnic_minority_region", "region", codes=[HAI_KHE, LAO_BAO, HAI_AN])
    assert {c: v[1] for c, v in got.items()} == {HAI_KHE: "I", LAO_BAO: "III", HAI_AN: "ngoai"}
    assert not any(v[2] for v in got.values()) and {v[3] for v in got.values()} == {res.import_id}
    share = _values(db, "ethnic_minority_region", "em_share", codes=[HAI_KHE, HAI_AN])
    assert share == {HAI_KHE: (12.5, None, False, res.import_id)}  # a blank value is no value
    # demo values are gone from Quảng Trị, kept elsewhere
    vals = data.layer_values(db, "ethnic_minority_region", "legacy", "45")
    assert not vals["is_demo"].any() and (vals["class_index"] >= 0).sum() == 3
    legend = data.layer_legend("ethnic_minority_region", vals)
    assert legend["provenance"]["is_demo"] is False and legend["demo_warning"] is None
    assert legend["provenance"]["source"] == "Ủy ban Dân tộc" and legend["provenance"]["date"] == "2024-06"
    assert data.layer_values(db, "ethnic_minority_region", "legacy", "54")["is_demo"].any()
    # the 2025 commune holding Lao Bảo gets region III, as imported (not demo)
    with db.connect() as conn:
        new = conn.execute(text("SELECT new_code FROM crosswalk WHERE legacy_code = :c"), {"c": LAO_BAO}).scalar_one()
    carried = _values(db, "ethnic_minority_region", "region", "2025", [new])
    assert carried[new][1] == "III" and carried[new][2] is False
    rec = _imports(db)[-1]
    assert (rec["status"], rec["rows_in"], rec["accepted"], rec["rejected"]) == ("committed", 3, 3, 0)
    assert rec["source"] == "Ủy ban Dân tộc" and rec["licence"] == "Văn bản công khai" and len(rec["sha256"]) == 64


def test_xlsx_by_name_within_province_ignores_diacritics_and_prefixes(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tỉnh", "Huyện", "Tên xã", "Mức NTM", "Năm đạt"])
    ws.append(["quang tri", "hai lang", "Xã Hải Khê", "Đạt chuẩn NTM", 2019])
    ws.append(["Quảng Trị", "Huyện Hải Lăng", "hai an", "nâng cao", 2023.0])
    ws.append(["Tỉnh Quảng Trị", "Hải Lăng", "HẢI BÌNH", "chưa đạt", None])
    ws.append([None, None, None, None, None])
    path = tmp_path / "ntm.xlsx"
    wb.save(path)
    res = import_layer(db, "ntm_status", path)
    assert (res.rows_in, res.accepted, res.rejected, res.blank_rows) == (3, 3, 0, 1)
    got = _values(db, "ntm_status", "level", codes=[HAI_KHE, HAI_AN, HAI_BINH])
    assert {c: v[1] for c, v in got.items()} == {HAI_KHE: "dat_chuan", HAI_AN: "nang_cao", HAI_BINH: "chua_dat"}
    years = _values(db, "ntm_status", "year", codes=[HAI_KHE, HAI_AN, HAI_BINH])
    assert {c: v[0] for c, v in years.items()} == {HAI_KHE: 2019, HAI_AN: 2023}


def test_2025_scheme_by_name_with_province_column(db, tmp_path):
    with db.connect() as conn:
        code, name = conn.execute(text("SELECT code, name FROM admin_unit WHERE scheme = '2025' AND level = 'commune' "
                                       "AND province_code = '44' ORDER BY code LIMIT 1")).one()
    path = _csv(tmp_path / "tg.csv", [["Xã/Phường", "Tỉnh", "So co so ton giao"], [name, "Quảng Trị", "7"]], ";")
    res = import_layer(db, "religious_areas", path, scheme="2025")
    assert res.accepted == 1 and res.derived_2025 == 0
    assert _values(db, "religious_areas", "establishments", "2025", [code])[code][0] == 7


# ---------------------------------------------------------------------- per-row errors
def test_unknown_commune_is_rejected_with_close_names_and_nothing_is_lost(db, tmp_path):
    path = _csv(tmp_path / "x.csv", [
        ["Tỉnh", "Huyện", "Xã", "Khu vực"],
        ["Quảng Trị", "Hải Lăng", "Hải Khê", "I"],
        ["Quảng Trị", "Hải Lăng", "Hải Khêê", "I"],        # a typo
        ["Quảng Trị", "Gio Linh", "Hải Khê", "I"],         # wrong district
        ["Tỉnh Không Có", "Hải Lăng", "Hải An", "I"],      # unknown province
    ])
    res = import_layer(db, "ethnic_minority_region", path)
    assert (res.rows_in, res.accepted, res.rejected) == (4, 1, 3)
    by_row = {r.row: " ".join(r.reasons) for r in res.rejects}
    assert "không tìm thấy 'Hải Khêê' (unknown name)" in by_row[3] and "gần giống (close): hai khe" in by_row[3]
    assert "không thuộc 'Gio Linh'" in by_row[4]
    assert "không tìm thấy tỉnh 'Tỉnh Không Có'" in by_row[5]
    out = write_rejects(res, tmp_path / "rejects.csv")
    lines = list(csv.reader(open(out, encoding="utf-8-sig")))
    assert lines[0] == ["Tỉnh", "Huyện", "Xã", "Khu vực", "Lỗi (errors)"]
    assert [l[2] for l in lines[1:]] == ["Hải Khêê", "Hải Khê", "Hải An"]
    assert lines[1][-1].startswith("dòng 3 (row 3): ")
    rec = _imports(db)[-1]
    assert rec["rows_in"] == rec["accepted"] + rec["rejected"] == 4
    assert [r["row"] for r in rec["report"]["rejects"]] == [3, 4, 5]


def test_duplicate_commune_rejects_the_later_row_naming_the_first(db, tmp_path):
    path = _csv(tmp_path / "d.csv", [
        ["ma_xa", "region"],
        [HAI_KHE, "I"],
        [HAI_AN, "II"],
        ["19741.0", "III"],  # the same commune, as a spreadsheet number
    ])
    res = import_layer(db, "ethnic_minority_region", path)
    assert (res.accepted, res.rejected) == (2, 1)
    assert res.rejects[0].row == 4
    assert res.rejects[0].reasons == [f"đơn vị {HAI_KHE} đã có ở dòng 2 (row 2) "
                                      f"(duplicate: this unit is already in dòng 2 (row 2))"]
    assert _values(db, "ethnic_minority_region", "region", codes=[HAI_KHE])[HAI_KHE][1] == "I"


def test_bad_values_are_rejected_per_row_with_every_reason(db, tmp_path):
    path = _csv(tmp_path / "v.csv", [
        ["ma_xa", "khu_vuc", "ty_le_dtts"],
        [HAI_KHE, "IV", "120"],
        [HAI_AN, "", "10"],
        ["99999", "I", "abc"],
    ])
    res = import_layer(db, "ethnic_minority_region", path)
    assert (res.accepted, res.rejected) == (0, 3)
    r1, r2, r3 = (r.reasons for r in res.rejects)
    assert any("'IV' không thuộc danh mục" in x for x in r1) and any("ngoài khoảng 0–100" in x for x in r1)
    assert r2 == ["cột 'khu_vuc' (column 'khu_vuc'): thiếu giá trị bắt buộc (required value missing)"]
    assert any("mã '99999' không có trong danh mục legacy" in x for x in r3) and any("không phải số" in x for x in r3)
    assert _values(db, "ethnic_minority_region", "region") == {}


def test_strict_refuses_the_whole_file_and_changes_nothing(db, tmp_path):
    path = _csv(tmp_path / "s.csv", [["ma_xa", "khu_vuc"], [HAI_KHE, "I"], ["99999", "I"]])
    with pytest.raises(LayerImportError, match="strict: 1 rows rejected") as err:
        import_layer(db, "ethnic_minority_region", path, strict=True)
    assert _values(db, "ethnic_minority_region", "region") == {}
    rec = _imports(db)[-1]
    assert rec["id"] == err.value.import_id and rec["status"] == "refused"


@pytest.mark.parametrize("rows, words", [
    ([["foo", "khu_vuc"], ["x", "I"]], "no commune code or name column"),
    ([["ma_xa", "foo"], [HAI_KHE, "x"]], "missing value columns"),
    ([["ten_xa", "khu_vuc"], ["Hải Khê", "I"]], "matching by name needs the province"),
])
def test_a_file_without_the_needed_columns_is_refused_and_recorded(db, tmp_path, rows, words):
    path = _csv(tmp_path / "r.csv", rows)
    with pytest.raises(LayerImportError, match=words):
        import_layer(db, "ethnic_minority_region", path)
    rec = _imports(db)[-1]
    assert rec["status"] == "refused" and words in rec["reason"] and rec["rows_in"] == 0


# ---------------------------------------------------------------------- GIS files: CRS and geometry
def _projects_gdf(db, crs=4326):
    with db.connect() as conn:
        pts = conn.execute(text("""SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) p
                                   FROM admin_unit WHERE scheme = 'legacy' AND code = ANY(:c)) x ORDER BY code"""),
                           {"c": [LAO_BAO, HAI_KHE]}).all()
    gdf = gpd.GeoDataFrame(
        {"Tên dự án": ["Đường Lao Bảo", "Khu dân cư Hải Khê"], "Mã dự án": ["P1", "P2"],
         "Tình trạng GPMB": ["Đang GPMB", "Hoàn thành"], "Tiến độ GPMB": [40, 100], "Số hộ bị ảnh hưởng": [120, 8],
         "Ngày khởi công": ["15/03/2024", "2023-01-01"]},
        geometry=[shapely.Point(x, y).buffer(0.005) if c == HAI_KHE else shapely.Point(x, y) for c, x, y in pts],
        crs=4326)
    return gdf.to_crs(crs)


def test_gis_in_vn2000_lands_on_the_same_place(db, tmp_path):
    load_demo(db, refresh_sensitive=False)
    original = _projects_gdf(db)
    gdf = _projects_gdf(db, "EPSG:3405")  # VN-2000 / UTM 48N, written with its CRS
    path = tmp_path / "duan.gpkg"
    pyogrio.write_dataframe(gdf, path)
    res = import_layer(db, "key_projects", path, source="Sở KH&ĐT")
    assert (res.accepted, res.rejected) == (2, 0) and "VN-2000" in res.source_crs
    fc = data.layer_features(db, "key_projects", "legacy", "45")
    assert [f["properties"]["name"] for f in fc["features"]] == ["Đường Lao Bảo", "Khu dân cư Hải Khê"]  # demo gone
    p1 = fc["features"][0]
    assert p1["geometry"]["type"] == "Point" and p1["properties"]["clearance_status"] == "dang_thuc_hien"
    assert p1["properties"]["is_demo"] is False and p1["properties"]["start_date"] == "2024-03-15"
    back = shapely.geometry.shape(p1["geometry"])
    assert back.distance(original.geometry.iloc[0]) < 1e-5  # ~1 m
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM key_project WHERE is_demo")).scalar_one() == 0


def test_shapefile_without_prj_needs_crs_and_wrong_crs_is_refused(db, tmp_path):
    gdf = _projects_gdf(db, "EPSG:3405")
    gdf["geometry"] = gdf.geometry.centroid  # a shapefile holds one geometry type; its field names are short
    gdf.columns = ["ten_du_an", "ma_du_an", "gpmb", "tien_do", "so_ho", "khoi_cong", "geometry"]
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(gdf, folder / "duan.shp", encoding="UTF-8")
    zpath = tmp_path / "duan.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in folder.iterdir():
            if f.suffix != ".prj":
                zf.write(f, f.name)
    with pytest.raises(LayerImportError, match="unknown CRS"):
        import_layer(db, "key_projects", zpath)
    with pytest.raises(LayerImportError, match="outside Vietnam after reprojection"):
        import_layer(db, "key_projects", zpath, crs="EPSG:4326")   # the wrong CRS: metres read as degrees
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM key_project")).scalar_one() == 0
        statuses = conn.execute(text("SELECT status FROM layer_import ORDER BY id")).scalars().all()
    assert statuses == ["refused", "refused"]
    res = import_layer(db, "key_projects", zpath, crs="EPSG:3405")
    assert res.accepted == 2


def test_wrong_crs_in_a_geojson_is_refused(db, tmp_path):
    gdf = _projects_gdf(db, "EPSG:3405").set_crs(4326, allow_override=True)  # metres labelled as degrees
    path = tmp_path / "sai.geojson"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(LayerImportError, match="wrong CRS"):
        import_layer(db, "key_projects", path)
    assert _imports(db)[-1]["status"] == "refused"


def test_invalid_geometry_is_repaired_or_rejected_per_feature(db, tmp_path):
    bowtie = shapely.Polygon([(107.0, 16.7), (107.02, 16.72), (107.02, 16.7), (107.0, 16.72), (107.0, 16.7)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"ten": ["KCN A", "KCN B", "KCN C", "CCN D"], "loai": ["KCN", "KCN", "khu", "CCN"],
         "dien_tich": ["120", "80", "50", "30"]},
        geometry=[bowtie, shapely.LineString([(107.0, 16.7), (107.1, 16.8)]), None,
                  shapely.box(107.05, 16.75, 107.06, 16.76)], crs=4326)
    path = tmp_path / "kcn.gpkg"
    pyogrio.write_dataframe(gdf, path)
    res = import_layer(db, "industrial_zones", path)
    assert (res.rows_in, res.accepted, res.rejected) == (4, 2, 2)
    assert res.repaired == ["đối tượng 1 (feature 1): Self-intersection[107.01 16.71]"]
    reasons = {r.row: r.reasons for r in res.rejects}
    assert reasons == {2: ["không phải điểm hay vùng (not a point or polygon: LineString)"],
                       3: ["không có hình học (no geometry)"]}
    with db.connect() as conn:
        rows = conn.execute(text("SELECT name, zone_type, ST_IsValid(geom), GeometryType(geom), area_ha "
                                 "FROM industrial_zone ORDER BY name")).all()
    assert [tuple(r) for r in rows] == [("CCN D", "cum", True, "POLYGON", 30.0), ("KCN A", "khu", True, "MULTIPOLYGON", 120.0)]


def test_points_from_longitude_latitude_columns(db, tmp_path):
    path = _csv(tmp_path / "p.csv", [
        ["Tên", "Loại", "Kinh độ", "Vĩ độ"],
        ["CCN Hải Lăng", "CCN", "107,25", "16,68"],
        ["CCN Sai", "CCN", "16.68", "107.25"],   # swapped: outside Vietnam
    ])
    with pytest.raises(LayerImportError, match="swapped longitude/latitude"):
        import_layer(db, "industrial_zones", path)
    path = _csv(tmp_path / "p2.csv", [["Tên", "Loại", "Kinh độ", "Vĩ độ"], ["CCN Hải Lăng", "CCN", "107,25", "16,68"]])
    assert import_layer(db, "industrial_zones", path).accepted == 1


def test_cli_import_writes_the_rejects(db, tmp_path, monkeypatch):
    from geo_dash.cli_layers import layers
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", db.url.render_as_string(hide_password=False))
    engine_mod._engine.cache_clear()
    path = _csv(tmp_path / "c.csv", [["ma_xa", "khu_vuc"], [HAI_KHE, "I"], ["99999", "II"]])
    out = CliRunner().invoke(layers, ["import", "ethnic_minority_region", str(path), "--source", "UBDT"])
    assert out.exit_code == 0, out.output
    assert "2 dòng (rows) = 1 nhận (accepted) + 1 từ chối (rejected)" in out.output
    assert (tmp_path / "c.rejects.csv").exists()
    bad = CliRunner().invoke(layers, ["import", "ethnic_minority_region", str(path), "--strict"])
    assert bad.exit_code == 1 and "nothing changed" in bad.output
    engine_mod._engine.cache_clear()


def test_demo_again_after_a_real_import_keeps_the_province_real(db, tmp_path):
    path = _csv(tmp_path / "real.csv", [["ma_xa", "khu_vuc"], [HAI_KHE, "I"]])
    import_layer(db, "ethnic_minority_region", path)
    summary = load_demo(db, refresh_sensitive=False)
    assert summary["ethnic_minority_region/provinces_with_real_values"] == 1
    qt = data.layer_values(db, "ethnic_minority_region", "legacy", "45")
    assert not qt["is_demo"].any() and (qt["class_index"] >= 0).sum() == 1
    assert data.layer_values(db, "ethnic_minority_region", "legacy", "49")["is_demo"].all()
    feats = tmp_path / "kcn.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"ten": ["KCN thật"], "loai": ["KCN"]},
                                             geometry=[shapely.box(107.05, 16.75, 107.06, 16.76)], crs=4326), feats)
    import_layer(db, "industrial_zones", feats)
    assert load_demo(db, refresh_sensitive=False)["industrial_zones"] == 0
    assert [f["properties"]["name"] for f in data.layer_features(db, "industrial_zones", "legacy")["features"]] \
        == ["KCN thật"]
