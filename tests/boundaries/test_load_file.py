"""Loading a user's boundary file: any CRS (VN-2000 included), repair, matching, refusal."""

import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from sqlalchemy import text

from geo_dash.boundaries.crs import parse_crs
from geo_dash.boundaries.io import BoundaryFileError
from geo_dash.boundaries.load import load_file

HAI_KHE = "19741"  # Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị (legacy)


def _commune(engine, code, scheme="legacy") -> gpd.GeoDataFrame:
    return gpd.read_postgis(
        text("SELECT u.code, u.name, d.name AS district, u.geom FROM admin_unit u "
             "LEFT JOIN admin_unit d ON d.scheme = u.scheme AND d.code = u.parent_code "
             "WHERE u.scheme = :s AND u.code = :c"),
        engine, params={"s": scheme, "c": code}, geom_col="geom",
    )


def _fingerprint(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT md5(string_agg(code || coalesce(ST_AsText(geom), '') || coalesce(ST_AsText(geom_display), ''), ',' "
            "ORDER BY scheme, code)), (SELECT count(*) FROM boundary_load), "
            "(SELECT md5(string_agg(legacy_code || new_code || weight::text, ',' ORDER BY legacy_code, new_code)) FROM crosswalk) "
            "FROM admin_unit")).one()


def _write_zipped_shapefile(gdf, tmp_path, name="xa", with_prj=True):
    folder = tmp_path / name
    folder.mkdir()
    pyogrio.write_dataframe(gdf, folder / f"{name}.shp", encoding="UTF-8")
    zpath = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in folder.iterdir():
            if f.suffix == ".prj" and not with_prj:
                continue
            zf.write(f, f.name)
    return zpath


def _max_distance_m(a, b) -> float:
    """Hausdorff distance between two lon/lat geometries, in metres (VN-2000 UTM 48N)."""
    pa = gpd.GeoSeries([a], crs=4326).to_crs(3405).iloc[0]
    pb = gpd.GeoSeries([b], crs=4326).to_crs(3405).iloc[0]
    return pa.hausdorff_distance(pb)


@pytest.mark.parametrize("crs", ["vn2000:45", "EPSG:3405"])
def test_vn2000_shapefile_loads_back_onto_the_same_place(scratch_engine, tmp_path, crs):
    original = _commune(scratch_engine, HAI_KHE)
    assert original.name.iloc[0] == "Xã Hải Khê" and original.district.iloc[0] == "Huyện Hải Lăng"
    projected = original.to_crs(parse_crs(crs))
    assert projected.geometry.iloc[0].bounds[0] > 100_000  # metres, not degrees
    zpath = _write_zipped_shapefile(projected[["code", "geom"]].rename(columns={"code": "MA_XA"}).set_geometry("geom"),
                                    tmp_path)
    summary = load_file(scratch_engine, zpath, scheme="legacy", level="commune")
    assert summary.units == {"legacy/commune": 1}
    assert "VN-2000" in summary.source_crs or "VN2000" in summary.source_crs.replace("-", "")
    loaded = _commune(scratch_engine, HAI_KHE)
    assert _max_distance_m(original.geometry.iloc[0], loaded.geometry.iloc[0]) < 3.0


def test_vn2000_gpkg_matched_by_name_without_diacritics(scratch_engine, tmp_path):
    original = _commune(scratch_engine, HAI_KHE)
    gdf = gpd.GeoDataFrame({"ten_xa": ["hai khe"], "ten_huyen": ["HAI LANG"]},
                           geometry=original.to_crs(parse_crs("vn2000:45")).geometry.values)
    path = tmp_path / "xa.gpkg"
    pyogrio.write_dataframe(gdf, path)
    load_file(scratch_engine, path, scheme="legacy", level="commune", province="45")
    loaded = _commune(scratch_engine, HAI_KHE)
    assert _max_distance_m(original.geometry.iloc[0], loaded.geometry.iloc[0]) < 3.0


def test_explicit_crs_for_a_shapefile_without_prj(scratch_engine, tmp_path):
    original = _commune(scratch_engine, HAI_KHE)
    projected = original.to_crs(3405)[["code", "geom"]].set_geometry("geom")
    zpath = _write_zipped_shapefile(projected.rename(columns={"code": "ma_xa"}), tmp_path, with_prj=False)
    before = _fingerprint(scratch_engine)
    with pytest.raises(BoundaryFileError, match="unknown CRS"):
        load_file(scratch_engine, zpath, scheme="legacy")
    assert _fingerprint(scratch_engine) == before
    load_file(scratch_engine, zpath, scheme="legacy", crs="EPSG:3405")
    loaded = _commune(scratch_engine, HAI_KHE)
    assert _max_distance_m(original.geometry.iloc[0], loaded.geometry.iloc[0]) < 3.0


def test_wrong_crs_is_refused_and_nothing_changes(scratch_engine, tmp_path):
    original = _commune(scratch_engine, HAI_KHE)
    # metres labelled as degrees: lands far outside Vietnam
    gdf = gpd.GeoDataFrame({"ma_xa": [HAI_KHE]}, geometry=list(original.to_crs(3405).geometry), crs=4326)
    path = tmp_path / "wrong.geojson"
    pyogrio.write_dataframe(gdf.set_crs(4326, allow_override=True), path)
    before = _fingerprint(scratch_engine)
    with pytest.raises(BoundaryFileError, match="outside Vietnam"):
        load_file(scratch_engine, path, scheme="legacy")
    assert _fingerprint(scratch_engine) == before


def test_garbage_geometry_is_refused_and_nothing_changes(scratch_engine, tmp_path):
    gdf = gpd.GeoDataFrame(
        {"ma_xa": [HAI_KHE, "19684"]},
        geometry=[shapely.LineString([(107.1, 16.7), (107.2, 16.8)]), shapely.Polygon([(107.1, 16.7)] * 4)],
        crs=4326,
    )
    path = tmp_path / "garbage.gpkg"
    pyogrio.write_dataframe(gdf, path)
    before = _fingerprint(scratch_engine)
    with pytest.raises(BoundaryFileError) as err:
        load_file(scratch_engine, path, scheme="legacy")
    assert "not a polygon" in str(err.value)
    assert len(err.value.problems) == 2
    assert _fingerprint(scratch_engine) == before


def test_unknown_names_are_listed_and_nothing_changes(scratch_engine, tmp_path):
    original = _commune(scratch_engine, HAI_KHE)
    gdf = gpd.GeoDataFrame({"ten_xa": ["Hải Khê", "Xã Không Tồn Tại", "Hai Khe"], "ten_huyen": ["Hải Lăng", "Hải Lăng", "Gio Linh"]},
                           geometry=[original.geometry.iloc[0]] * 3, crs=4326)
    path = tmp_path / "names.geojson"
    pyogrio.write_dataframe(gdf, path)
    before = _fingerprint(scratch_engine)
    with pytest.raises(BoundaryFileError) as err:
        load_file(scratch_engine, path, scheme="legacy", province="45")
    problems = "\n".join(err.value.problems)
    assert "Xã Không Tồn Tại" in problems
    assert "row 3" in problems  # Hải Khê is not in Gio Linh
    assert "row 1" not in problems
    assert _fingerprint(scratch_engine) == before


def test_unknown_code_is_refused(scratch_engine, tmp_path):
    gdf = gpd.GeoDataFrame({"ma_xa": ["99999"]}, geometry=[shapely.box(107.1, 16.7, 107.11, 16.71)], crs=4326)
    path = tmp_path / "code.geojson"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(BoundaryFileError, match="99999"):
        load_file(scratch_engine, path, scheme="legacy")


def test_self_intersecting_polygon_is_repaired_and_reported(scratch_engine, tmp_path):
    original = _commune(scratch_engine, HAI_KHE).geometry.iloc[0]
    x0, y0, x1, y1 = original.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    gdf = gpd.GeoDataFrame({"ma_xa": [HAI_KHE]}, geometry=[bowtie], crs=4326)
    path = tmp_path / "bowtie.geojson"
    pyogrio.write_dataframe(gdf, path)
    summary = load_file(scratch_engine, path, scheme="legacy")
    assert len(summary.repaired) == 1 and "Self-intersection" in summary.repaired[0]
    with scratch_engine.connect() as conn:
        valid, gtype = conn.execute(text("SELECT ST_IsValid(geom), GeometryType(geom) FROM admin_unit "
                                         "WHERE scheme='legacy' AND code=:c"), {"c": HAI_KHE}).one()
        load = conn.execute(text("SELECT n_repaired FROM boundary_load ORDER BY id DESC LIMIT 1")).scalar_one()
    assert valid and gtype == "MULTIPOLYGON"
    assert load == 1


def test_parent_outlines_follow_a_reloaded_commune(scratch_engine, tmp_path):
    """After a commune's geometry changes, its district is dissolved again and still contains it."""
    original = _commune(scratch_engine, HAI_KHE).geometry.iloc[0]
    moved = shapely.affinity.translate(original, xoff=0.01)  # ~1 km east
    gdf = gpd.GeoDataFrame({"ma_xa": [HAI_KHE]}, geometry=[moved], crs=4326)
    path = tmp_path / "moved.geojson"
    pyogrio.write_dataframe(gdf, path)
    load_file(scratch_engine, path, scheme="legacy")
    with scratch_engine.connect() as conn:
        outside = conn.execute(text("""
            SELECT ST_Area(ST_Difference(c.geom, d.geom)) / ST_Area(c.geom) FROM admin_unit c
            JOIN admin_unit d ON d.scheme = 'legacy' AND d.code = c.parent_code
            WHERE c.scheme = 'legacy' AND c.code = :c"""), {"c": HAI_KHE}).scalar_one()
    assert outside < 1e-6


def test_parse_crs_shortcuts():
    def meridian(crs):
        return {p.name: p.value for p in crs.coordinate_operation.params}["Longitude of natural origin"]

    assert meridian(parse_crs("vn2000:45")) == 106.25
    assert meridian(parse_crs("vn2000-tm3:108.5")) == 108.5
    assert parse_crs("vn2000:45").geodetic_crs == CRS.from_epsg(4756)
    assert parse_crs("EPSG:3405") == CRS.from_epsg(3405)
    with pytest.raises(ValueError, match="province 99"):
        parse_crs("vn2000:99")
    with pytest.raises(ValueError, match="invalid CRS"):
        parse_crs("not a crs")
