"""Loading boundaries into ``admin_unit`` and the legacy -> 2025 ``crosswalk``.

* :func:`load_bundle` replaces both schemes with the bundled ``data/boundaries``
  (all of Vietnam) in one transaction.
* :func:`load_file` replaces the geometry of the units a user's file covers
  (any CRS, matched by code or by name), re-dissolves their parents so outlines
  stay aligned, and recomputes display geometry and crosswalk weights; one
  transaction, all or nothing.
"""

from __future__ import annotations

import getpass
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Connection, Engine, text

from geo_dash.boundaries.bundle import BUNDLE_NAME, CROSSWALK_NAME, LAYERS
from geo_dash.boundaries.io import BoundaryFileError, clean_geometries, read_boundary_file
from geo_dash.boundaries.match import match_units
from geo_dash.config import BOUNDARIES_DIR
from geo_dash.db.models import LEGACY_END, SCHEME_2025_START
from geo_dash.text import name_key
from geo_dash.files import sha256_file as _sha256

log = logging.getLogger(__name__)

# Topology-preserving simplification for the map (shapely.coverage_simplify,
# Visvalingam-Whyatt; roughly the side of the smallest triangle kept, in degrees
# ~ 200 m).  Shared edges are simplified once, so neighbours keep no gaps or overlaps.
DISPLAY_TOLERANCE = 0.002

VALIDITY = {"legacy": (None, LEGACY_END), "2025": (SCHEME_2025_START, None)}


@dataclass
class LoadSummary:
    load_id: int
    source: str
    units: dict = field(default_factory=dict)      # "legacy/commune" -> count
    with_geometry: dict = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    crosswalk_rows: int = 0
    source_crs: str = ""

    def as_dict(self) -> dict:
        return asdict(self)




def display_geometries(geoms: np.ndarray, tolerance: float = DISPLAY_TOLERANCE) -> np.ndarray:
    """Simplify a coverage (all units of one level) without opening gaps or overlaps."""
    geoms = np.asarray(geoms, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in geoms])
    out = np.full(len(geoms), None, dtype=object)
    if present.any():
        simplified = shapely.coverage_simplify(geoms[present], tolerance)
        from geo_dash.boundaries.io import polygonal

        out[present] = [polygonal(shapely.make_valid(g)) if not g.is_valid else polygonal(g) for g in simplified]
    return out


def _wkb(g) -> bytes | None:
    return None if g is None else shapely.to_wkb(g, include_srid=False)


def _new_load(conn: Connection, source: str, sha: str | None, scheme: str | None, level: str | None,
              loaded_by: str | None) -> int:
    return conn.execute(
        text("INSERT INTO boundary_load (source, sha256, scheme, level, n_units, loaded_by) "
             "VALUES (:s, :h, :sc, :lv, 0, :by) RETURNING id"),
        dict(s=source, h=sha, sc=scheme, lv=level, by=loaded_by or getpass.getuser()),
    ).scalar_one()


_INSERT_UNIT = text(
    """
    INSERT INTO admin_unit (scheme, level, code, name, name_key, unit_type, parent_code, province_code,
                            valid_from, valid_to, geom, geom_display, area_km2, population,
                            population_source, geom_source, load_id)
    VALUES (:scheme, :level, :code, :name, :name_key, :unit_type, :parent_code, :province_code,
            :valid_from, :valid_to,
            ST_SetSRID(ST_GeomFromWKB(:geom), 4326), ST_SetSRID(ST_GeomFromWKB(:geom_display), 4326),
            ST_Area(geography(ST_SetSRID(ST_GeomFromWKB(:geom), 4326))) / 1e6,
            :population, :population_source, :geom_source, :load_id)
    """
)


def read_bundle(path: Path | None = None) -> dict[tuple[str, str], gpd.GeoDataFrame]:
    path = Path(path or BOUNDARIES_DIR)
    gpkg = path / BUNDLE_NAME if path.is_dir() else path
    if not gpkg.exists():
        raise BoundaryFileError(f"không tìm thấy dữ liệu ranh giới (bundle not found): {gpkg}")
    return {key: pyogrio.read_dataframe(gpkg, layer=layer) for key, layer in LAYERS.items()}


def load_bundle(engine: Engine, path: Path | None = None, loaded_by: str | None = None) -> LoadSummary:
    """Replace all admin units and the crosswalk with the bundled data (one transaction)."""
    path = Path(path or BOUNDARIES_DIR)
    layers = read_bundle(path)
    crosswalk = pd.read_csv(path / CROSSWALK_NAME, dtype=str)
    sha = _sha256(path / BUNDLE_NAME)
    with engine.begin() as conn:
        load_id = _new_load(conn, str(path / BUNDLE_NAME), sha, None, None, loaded_by)
        summary = LoadSummary(load_id=load_id, source=str(path / BUNDLE_NAME))
        conn.execute(text("DELETE FROM crosswalk"))
        conn.execute(text("DELETE FROM admin_unit"))
        for (scheme, level), gdf in layers.items():
            has_geom = gdf.geometry.notna()
            cleaned, report = clean_geometries(gdf[has_geom], labels=[f"{scheme}/{level} {c}" for c in gdf.loc[has_geom, "code"]])
            geoms = np.full(len(gdf), None, dtype=object)
            geoms[has_geom.to_numpy()] = cleaned.geometry.values
            summary.repaired += report.repaired
            display = display_geometries(geoms)
            valid_from, valid_to = VALIDITY[scheme]
            rows = [
                dict(scheme=scheme, level=level, code=r.code, name=r.name, name_key=name_key(r.name),
                     unit_type=r.unit_type or None, parent_code=r.parent_code or None, province_code=r.province_code,
                     valid_from=valid_from, valid_to=valid_to, geom=_wkb(g), geom_display=_wkb(d),
                     population=None if pd.isna(r.population) else int(r.population),
                     population_source="Tổng điều tra dân số 2009 (2009 census)" if not pd.isna(r.population) else None,
                     geom_source=r.geom_source, load_id=load_id)
                for r, g, d in zip(gdf.itertuples(index=False), geoms, display)
            ]
            conn.execute(_INSERT_UNIT, rows)
            summary.units[f"{scheme}/{level}"] = len(rows)
            summary.with_geometry[f"{scheme}/{level}"] = int(has_geom.sum())
        conn.execute(
            text("INSERT INTO crosswalk (legacy_code, new_code, weight, split, is_default, method) "
                 "VALUES (:l, :n, 1, :s, :d, 'single')"),
            [dict(l=r.legacy_commune_code, n=r.new_commune_code, s=r.legacy_split_across_new == "True",
                  d=r.is_default_new_unit == "True") for r in crosswalk.itertuples(index=False)],
        )
        summary.crosswalk_rows = len(crosswalk)
        refresh_crosswalk_weights(conn)
        refresh_population_2025(conn)
        _finish_load(conn, summary)
    return summary


def _finish_load(conn: Connection, summary: LoadSummary) -> None:
    conn.execute(
        text("UPDATE boundary_load SET n_units = :n, n_repaired = :r, report = CAST(:rep AS jsonb) WHERE id = :id"),
        dict(n=sum(summary.units.values()), r=len(summary.repaired), rep=json.dumps(summary.as_dict()), id=summary.load_id),
    )
    # fresh statistics: without them the planner takes the unit tables for empty and the scope
    # subqueries of every page turn into nested loops over ~13,000 rows (seconds instead of milliseconds)
    conn.execute(text("ANALYZE admin_unit"))
    conn.execute(text("ANALYZE crosswalk"))


def refresh_crosswalk_weights(conn: Connection, legacy_codes: list[str] | None = None) -> None:
    """Weights of split legacy communes = share of the legacy polygon's area in each new commune.

    A legacy commune that was not split has weight 1.  A split one whose polygon
    is missing or does not overlap any target keeps all its weight on the
    package's default target (method ``default``).  Weights of each legacy
    commune sum to 1.
    """
    where = "" if legacy_codes is None else "AND c.legacy_code = ANY(:codes)"
    params = {} if legacy_codes is None else {"codes": list(legacy_codes)}
    conn.execute(text(f"""
        WITH inter AS (
            SELECT c.legacy_code, c.new_code,
                   COALESCE(ST_Area(geography(ST_Intersection(l.geom, n.geom))), 0) AS a
            FROM crosswalk c
            JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
            JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
            WHERE c.split {where}
        ), tot AS (
            SELECT legacy_code, sum(a) AS total FROM inter GROUP BY legacy_code
        )
        UPDATE crosswalk c
        SET weight = CASE WHEN t.total > 0 THEN i.a / t.total
                          WHEN c.is_default THEN 1 ELSE 0 END,
            method = CASE WHEN t.total > 0 THEN 'area' ELSE 'default' END
        FROM inter i JOIN tot t USING (legacy_code)
        WHERE c.legacy_code = i.legacy_code AND c.new_code = i.new_code
    """), params)
    # a split commune with no default target and no overlap would sum to 0: spread evenly
    conn.execute(text("""
        WITH s AS (SELECT legacy_code, sum(weight) AS w, count(*) AS n FROM crosswalk GROUP BY legacy_code)
        UPDATE crosswalk c SET weight = 1.0 / s.n, method = 'equal'
        FROM s WHERE c.legacy_code = s.legacy_code AND s.w = 0
    """))


def refresh_population_2025(conn: Connection) -> None:
    """2025 units get the 2009 census population carried across the crosswalk by weight."""
    conn.execute(text("""
        UPDATE admin_unit u SET population = p.pop,
               population_source = 'Tổng điều tra 2009, quy đổi theo bảng chuyển đổi (2009 census via crosswalk weights)'
        FROM (
            SELECT c.new_code, round(sum(c.weight * l.population))::bigint AS pop
            FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
            WHERE l.population IS NOT NULL GROUP BY c.new_code
        ) p
        WHERE u.scheme = '2025' AND u.level = 'commune' AND u.code = p.new_code
    """))
    conn.execute(text("""
        UPDATE admin_unit u SET population = p.pop, population_source = 'tổng các xã (sum of communes)'
        FROM (SELECT province_code, sum(population) AS pop FROM admin_unit
              WHERE scheme = '2025' AND level = 'commune' GROUP BY province_code) p
        WHERE u.scheme = '2025' AND u.level = 'province' AND u.code = p.province_code
    """))


def units_frame(conn: Connection, scheme: str) -> pd.DataFrame:
    return pd.read_sql(
        text("SELECT code, name, level, parent_code, province_code FROM admin_unit WHERE scheme = :s"),
        conn, params={"s": scheme},
    )


def load_file(
    engine: Engine,
    file: str | Path,
    *,
    scheme: str,
    level: str = "commune",
    crs: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    province: str | None = None,
    layer: str | None = None,
    loaded_by: str | None = None,
) -> LoadSummary:
    """Replace the geometry of the units in ``file``; all or nothing.

    Raises BoundaryFileError (unknown CRS, no geometry, unusable geometry,
    unmatched names or codes) without touching the database.
    """
    if scheme not in VALIDITY:
        raise BoundaryFileError(f"scheme must be 'legacy' or '2025', not {scheme!r}")
    if level == "district" and scheme == "2025":
        raise BoundaryFileError("the 2025 scheme has no district level")
    file = Path(file)
    gdf, source_crs = read_boundary_file(file, crs=crs, layer=layer)
    with engine.connect() as conn:
        units = units_frame(conn, scheme)
    if units.empty:
        raise BoundaryFileError("chưa có danh mục đơn vị hành chính (no admin units yet): run `geo-dash boundaries load` first")
    codes = match_units(gdf.drop(columns=gdf.geometry.name), units, level=level, scheme=scheme,
                        code_field=code_field, name_field=name_field, parent_field=parent_field,
                        province_code=province)
    cleaned, report = clean_geometries(gdf, labels=[f"{c}" for c in codes])
    geoms = cleaned.geometry.values
    with engine.begin() as conn:
        load_id = _new_load(conn, str(file), _sha256(file), scheme, level, loaded_by)
        summary = LoadSummary(load_id=load_id, source=str(file), repaired=report.repaired, source_crs=source_crs)
        conn.execute(
            text("""UPDATE admin_unit SET geom = ST_SetSRID(ST_GeomFromWKB(:g), 4326),
                        area_km2 = ST_Area(geography(ST_SetSRID(ST_GeomFromWKB(:g), 4326))) / 1e6,
                        geom_source = :src, load_id = :lid
                    WHERE scheme = :scheme AND level = :level AND code = :code"""),
            [dict(g=_wkb(g), src=f"{file.name} ({source_crs})", lid=load_id, scheme=scheme, level=level, code=c)
             for c, g in zip(codes, geoms)],
        )
        provinces = sorted(units.loc[units["code"].isin(codes), "province_code"].unique())
        _redissolve_parents(conn, scheme, level, provinces)
        _refresh_display(conn, scheme, provinces)
        if level == "commune":
            if scheme == "legacy":
                refresh_crosswalk_weights(conn, list(codes))
            else:
                affected = conn.execute(text("SELECT DISTINCT legacy_code FROM crosswalk WHERE new_code = ANY(:c)"),
                                        {"c": list(codes)}).scalars().all()
                refresh_crosswalk_weights(conn, affected)
            refresh_population_2025(conn)
        summary.units[f"{scheme}/{level}"] = len(codes)
        summary.with_geometry[f"{scheme}/{level}"] = len(codes)
        _finish_load(conn, summary)
    return summary


def _redissolve_parents(conn: Connection, scheme: str, level: str, provinces: list[str]) -> None:
    """Districts and provinces dissolved from communes again, so outlines keep aligning."""
    parents = []
    if level == "commune" and scheme == "legacy":
        parents = [("district", "commune", "parent_code"), ("province", "district", "province_code")]
    elif level == "commune":
        parents = [("province", "commune", "province_code")]
    elif level == "district":
        parents = [("province", "district", "province_code")]
    for parent_level, child_level, key in parents:
        conn.execute(text(f"""
            UPDATE admin_unit p SET geom = d.g, area_km2 = ST_Area(geography(d.g)) / 1e6,
                   geom_source = 'dissolved from {child_level}s'
            FROM (SELECT {key} AS code,
                         ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)) AS g
                  FROM admin_unit WHERE scheme = :s AND level = :child AND province_code = ANY(:p)
                    AND geom IS NOT NULL GROUP BY {key}) d
            WHERE p.scheme = :s AND p.level = :parent AND p.code = d.code
        """), dict(s=scheme, child=child_level, parent=parent_level, p=provinces))


def _refresh_display(conn: Connection, scheme: str, provinces: list[str]) -> None:
    for level in ("commune", "district", "province"):
        rows = conn.execute(text("""SELECT id, ST_AsBinary(geom) FROM admin_unit
                                    WHERE scheme = :s AND level = :l AND province_code = ANY(:p) ORDER BY id"""),
                            dict(s=scheme, l=level, p=provinces)).all()
        if not rows:
            continue
        geoms = np.array([shapely.from_wkb(bytes(w)) if w is not None else None for _, w in rows], dtype=object)
        display = display_geometries(geoms)
        conn.execute(text("UPDATE admin_unit SET geom_display = ST_SetSRID(ST_GeomFromWKB(:g), 4326) WHERE id = :id"),
                     [dict(id=i, g=_wkb(d)) for (i, _), d in zip(rows, display)])
