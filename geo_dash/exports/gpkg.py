"""The snapshot's GeoPackage (pyogrio), EPSG:4326, readable by QGIS.

Layers
    * ``communes`` — the scope's communes (MultiPolygon; display geometry) with the month's
      indicators, the map class and colour, Gi* and the EHSA category, alerts, sensitive-area and
      NTM context;
    * ``hotspots`` — the ranked hotspots (their commune polygons);
    * ``alerts`` — one point per alert at its commune's representative point.

A commune the analytics cover but that has no polygon keeps its row with an empty geometry.
Field names are the frozen tables' column names (ASCII, QGIS-friendly); each layer's description
carries the scope, month, as-of date and a demo-data warning when there is one.
``OGR_CURRENT_DATE`` is pinned to the as-of date so the same content gives the same file.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo_dash.exports import manifest as mf

LAYERS = ("communes", "hotspots", "alerts")
GEOMETRY_TYPES = {"communes": "MultiPolygon", "hotspots": "MultiPolygon", "alerts": "Point"}


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    cols = mf.TABLES[table]
    df = pd.DataFrame([{c.name: (mf.dumps(r[c.name]) if c.kind == "json" and r[c.name] is not None else r[c.name])
                        for c in cols} for r in rows], columns=[c.name for c in cols])
    for c in cols:
        if c.kind == "float":
            df[c.name] = pd.to_numeric(df[c.name], errors="coerce").astype("float64")
        elif c.kind == "int":
            df[c.name] = pd.to_numeric(df[c.name], errors="coerce").astype("Int64")
        elif c.kind == "bool":
            df[c.name] = df[c.name].astype("boolean")
        else:
            df[c.name] = df[c.name].astype(object)
    return df


def _polygons(data: mf.SnapshotData) -> dict[str, object]:
    geo = data.communes_geo
    if geo is None or len(geo) == 0:
        return {}
    multi = [g if g is None or g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geo.geometry]
    return dict(zip(geo["code"], multi))


def _points(polygons: dict) -> dict[str, object]:
    return {code: shapely.point_on_surface(g) for code, g in polygons.items() if g is not None}


def layer_frames(data: mf.SnapshotData) -> dict[str, gpd.GeoDataFrame]:
    tables = mf.canonical_tables(data.tables, sort=False)
    polygons = _polygons(data)
    points = _points(polygons)
    out = {}
    for name, lookup in (("communes", polygons), ("hotspots", polygons), ("alerts", points)):
        df = _frame(name, tables[name])
        geometry = gpd.GeoSeries([lookup.get(c) for c in df["commune_code"]], crs="EPSG:4326")
        out[name] = gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")
    return out


def _description(data: mf.SnapshotData, layer: str) -> str:
    m = data.meta
    text = (f"geo_dash — {layer} — {m['scope_label']} — {mf.month_vi(m['month'])} — "
            f"số liệu tính đến {m['as_of']:%d/%m/%Y} — {mf.SCHEME_VI[m['scheme']]}")
    return text + (" — DỮ LIỆU MINH HỌA (demo data)" if m["is_demo"] else "")


def write_gpkg(data: mf.SnapshotData, path: Path, info: dict | None = None) -> dict:
    """Write the three layers; returns {"layers": {name: features}}."""
    path = Path(path)
    if path.exists():
        path.unlink()
    frames = layer_frames(data)
    stamp = f"{data.meta['as_of']:%Y-%m-%d}T00:00:00Z"
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        for name in LAYERS:
            pyogrio.write_dataframe(frames[name], path, layer=name, driver="GPKG",
                                    geometry_type=GEOMETRY_TYPES[name], promote_to_multi=name != "alerts",
                                    layer_options={"DESCRIPTION": _description(data, name)})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return {"layers": {name: len(frames[name]) for name in LAYERS}}
