"""Build the bundled boundary GeoPackage from the reference data in ``shared/data``.

This is the *reproducible processing step* behind ``data/boundaries/``: run
``geo-dash boundaries bundle --from ../shared/data`` and the same files come out.
Only MIT-licensed inputs are used.  District and province outlines are
**dissolved from the communes**, so they align exactly with them (the GPL-3.0
``legacy_districts``/``legacy_provinces`` geometries are *not* bundled).

Units that have no commune polygon of their own (the island districts of the
legacy scheme, which have no communes) take the polygon of the 2025 special zone
(đặc khu) of the same name, which is MIT too; 28 legacy communes created after
2009 have no polygon at all and are kept with an empty geometry, so the list of
units stays complete.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo_dash.boundaries.io import polygonal
from geo_dash.text import name_key

log = logging.getLogger(__name__)

BUNDLE_NAME = "vn_admin_units.gpkg"
CROSSWALK_NAME = "crosswalk_legacy_to_2025_communes.csv"
PROVENANCE_NAME = "legacy_communes_geometry_provenance.csv"

# Layers of the bundle: (scheme, level) -> layer name
LAYERS = {
    ("legacy", "province"): "legacy_provinces",
    ("legacy", "district"): "legacy_districts",
    ("legacy", "commune"): "legacy_communes",
    ("2025", "province"): "provinces_2025",
    ("2025", "commune"): "communes_2025",
}

COLUMNS = ["code", "name", "unit_type", "parent_code", "province_code", "population", "geom_source"]


def _multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Promote polygons to MultiPolygons (one geometry type per layer)."""
    fixed = [g if g is None or g.is_valid else shapely.make_valid(g) for g in geoms]
    return gpd.GeoSeries([polygonal(g) for g in fixed], index=geoms.index, crs=geoms.crs)


def _dissolve(gdf: gpd.GeoDataFrame, by: str) -> gpd.GeoSeries:
    """Union the polygons of each group; coverage union keeps shared edges exact."""
    parts = {}
    for key, grp in gdf[gdf.geometry.notna()].groupby(by):
        geoms = grp.geometry.values
        try:
            parts[key] = shapely.coverage_union_all(geoms)
        except shapely.errors.GEOSException:  # not a clean coverage: fall back
            parts[key] = shapely.union_all(geoms)
    return gpd.GeoSeries(parts, crs=gdf.crs)


def _type_of(name: str) -> str:
    for prefix in ("Thành phố", "Thị xã", "Thị trấn", "Đặc khu", "Huyện", "Quận", "Tỉnh", "Phường", "Xã"):
        if name.startswith(prefix):
            return prefix
    return ""


def build_bundle(shared: Path, out: Path) -> dict[str, int]:
    """Write ``out/vn_admin_units.gpkg`` (+ crosswalk, provenance) from ``shared``.

    Returns feature counts per layer.
    """
    shared, out = Path(shared), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    legacy = pyogrio.read_dataframe(shared / "legacy_communes_vn.geojson")
    new = pyogrio.read_dataframe(shared / "communes_2025.geojson")
    crosswalk = pd.read_csv(shared / CROSSWALK_NAME, dtype=str)
    # The list of legacy districts (codes and names come from vietnamadminunits, MIT);
    # only their attributes are read here, never their GPL geometry.
    districts_attr = pyogrio.read_dataframe(shared / "legacy_districts.geojson", read_geometry=False)

    # --- legacy communes: every official unit, geometry where known -------------
    cw_units = (
        crosswalk[["legacy_province_code", "legacy_district_code", "legacy_commune_code", "legacy_commune_name"]]
        .drop_duplicates("legacy_commune_code")
        .rename(columns={"legacy_province_code": "province_code", "legacy_district_code": "parent_code",
                         "legacy_commune_code": "code", "legacy_commune_name": "name"})
    )
    geo = legacy.set_index("commune_code")
    lc = cw_units.set_index("code")
    lc["population"] = geo["pop_2009_census"].reindex(lc.index)
    lc["geom_source"] = geo["confidence"].reindex(lc.index).map(
        {"high": "censusVN2009", "low": "censusVN2009 (low-confidence match)"}).fillna("none")
    lc = gpd.GeoDataFrame(lc, geometry=geo.geometry.reindex(lc.index).values, crs="EPSG:4326").reset_index()
    lc["unit_type"] = lc["name"].map(_type_of)

    # --- 2025 communes ----------------------------------------------------------------
    nc = new.rename(columns={"commune_code": "code", "commune_name": "name", "commune_type": "unit_type"})
    nc["parent_code"] = nc["province_code"]
    nc["geom_source"] = "vietnamese-provinces-database (sapnhap.bando.com.vn)"
    # 2025 population: the 2009 census carried across the crosswalk by area weight
    # is computed in the database after loading (see geo_dash.boundaries.load), not here.
    nc["population"] = pd.NA
    nc = nc[["code", "name", "unit_type", "parent_code", "province_code", "population", "geom_source", "geometry"]]

    # --- legacy districts, dissolved from communes -------------------------------------------
    ld = districts_attr.rename(columns={"district_code": "code", "district_name": "name", "district_type": "unit_type"})
    ld["parent_code"] = ld["province_code"]
    dis = _dissolve(lc, "parent_code")
    ld["population"] = ld["code"].map(lc.groupby("parent_code")["population"].sum(min_count=1))
    ld["geom_source"] = ld["code"].map(lambda c: "dissolved from legacy communes" if c in dis.index else "none")
    ld = gpd.GeoDataFrame(ld, geometry=ld["code"].map(dis).values, crs="EPSG:4326")
    # island districts without communes: the 2025 special zone of the same name
    zones = nc[nc["unit_type"] == "Đặc khu"].assign(key=lambda d: d["name"].map(name_key)).set_index("key")
    for i, row in ld[ld.geometry.isna()].iterrows():
        key = name_key(row["name"])
        if key in zones.index:
            ld.loc[i, "geometry"] = zones.loc[key, "geometry"]
            ld.loc[i, "geom_source"] = f"2025 special zone {zones.loc[key, 'name']} ({zones.loc[key, 'code']})"
    ld = ld[["code", "name", "unit_type", "parent_code", "province_code", "population", "geom_source", "geometry"]]

    # --- provinces, dissolved from their units ------------------------------------------------
    def provinces(units: gpd.GeoDataFrame, names: pd.Series, source: str) -> gpd.GeoDataFrame:
        geoms = _dissolve(units, "province_code")
        p = pd.DataFrame({"code": names.index, "name": names.values})
        p["unit_type"] = p["name"].map(_type_of)
        p["parent_code"] = None
        p["province_code"] = p["code"]
        p["population"] = p["code"].map(units.groupby("province_code")["population"].sum(min_count=1))
        p["geom_source"] = source
        return gpd.GeoDataFrame(p, geometry=p["code"].map(geoms).values, crs="EPSG:4326")

    lp_names = crosswalk.drop_duplicates("legacy_province_code").set_index("legacy_province_code")["legacy_province_name"]
    lp = provinces(ld, lp_names, "dissolved from legacy districts")
    np_names = new.drop_duplicates("province_code").set_index("province_code")["province_name"]
    np_ = provinces(nc, np_names, "dissolved from 2025 communes")

    layers = {
        "legacy_provinces": lp, "legacy_districts": ld, "legacy_communes": lc[ld.columns],
        "provinces_2025": np_, "communes_2025": nc,
    }
    target = out / BUNDLE_NAME
    if target.exists():
        target.unlink()
    counts = {}
    for name, gdf in layers.items():
        gdf = gdf.copy()
        gdf["geometry"] = _multi(gdf.geometry)
        gdf = gdf.sort_values("code").reset_index(drop=True)
        gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce").astype("Int64")
        pyogrio.write_dataframe(gdf, target, layer=name, driver="GPKG", geometry_type="MultiPolygon",
                                promote_to_multi=True, SPATIAL_INDEX="NO")
        counts[name] = len(gdf)
    crosswalk.to_csv(out / CROSSWALK_NAME, index=False)
    pd.read_csv(shared / PROVENANCE_NAME, dtype=str).to_csv(out / PROVENANCE_NAME, index=False)
    log.info("bundle written: %s", counts)
    return counts
