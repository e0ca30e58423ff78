"""The derived per-commune "sensitive area" (địa bàn nhạy cảm) flags.

A commune is sensitive when any of these holds (thresholds in the
``sensitivity:`` block of ``layers/sensitive_areas.yaml``):

* ``em_region`` — its ethnic-minority region class (Decision 861/QĐ-TTg) is
  one of ``em_region_classes`` (default: III);
* ``religious`` — at least ``religious_min_establishments`` religious
  establishments, or at least ``religious_min_followers_pct`` % followers;
* ``near_project`` — within ``project_buffer_km`` of a key project whose site
  clearance status is one of ``project_statuses`` (default: under way);
* ``border`` — a border commune (below).

**What the flags are for.**  They raise the *priority of dialogue* with the
people of a commune where a hotspot emerges (the analytics orders alerts by
them) and are drawn as a hatch over the map.  Ethnicity and religion are
**never inputs to any hotspot score**: Gi*, EHSA and the early-warning rules
count grievances only; these flags are read after the scores are computed.

**Border communes.**  No open outline of the neighbouring countries ships with
geo_dash, so the land border is derived from the communes themselves: the
outer ring of the largest polygon of the union of all provinces of the scheme
(the mainland) is cut at the two points where the land border meets the sea —
Móng Cái (China, 107.97 °E 21.53 °N) and Hà Tiên (Cambodia, 104.45 °E
10.41 °N).  Of the two arcs, the land border is the one through the country's
westernmost point (Điện Biên, ~102.14 °E); the other is the coast.  A commune
is a border commune when its polygon lies within ``border_tolerance_m`` of
that arc.  On the bundled legacy data this finds communes in exactly the 25
provinces that border China, Laos and Cambodia and none on the coast away
from the two end points (a commune next to Móng Cái or Hà Tiên is both).
Known approximation: where the 2009 commune polygons leave a gap at the
border (about 136 km² in southern Đa Krông), the communes around the gap are
flagged as well.
"""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo_dash.layers.registry import Sensitivity, load_registry

MONG_CAI = (107.97, 21.53)     # where the China border meets the sea
HA_TIEN = (104.45, 10.41)      # where the Cambodia border meets the sea
M_PER_DEGREE = 111_320.0


def sensitivity_config(directory=None) -> Sensitivity:
    """The rules from the ``sensitive_areas`` layer's ``sensitivity:`` block, or the defaults."""
    for layer in load_registry(directory).values():
        if layer.sensitivity is not None:
            return layer.sensitivity
    return Sensitivity()


# ---------------------------------------------------------------------- border
def land_border_line(province_geoms) -> shapely.LineString:
    """The land-border arc of the national outline built from the provinces' polygons (see module doc)."""
    union = shapely.union_all(np.asarray([g for g in province_geoms if g is not None], dtype=object))
    polys = list(union.geoms) if hasattr(union, "geoms") else [union]
    mainland = max(polys, key=lambda p: p.area)
    ring = np.asarray(mainland.exterior.coords)[:-1]

    def nearest(pt):
        return int(np.argmin((ring[:, 0] - pt[0]) ** 2 + (ring[:, 1] - pt[1]) ** 2))

    a, b = sorted((nearest(MONG_CAI), nearest(HA_TIEN)))
    west = int(np.argmin(ring[:, 0]))
    inner = ring[a:b + 1]
    outer = np.vstack([ring[b:], ring[: a + 1]])
    land = inner if a <= west <= b else outer
    return shapely.LineString(land)


def _border_wkb(conn: Connection, scheme: str) -> bytes | None:
    """The land-border arc as WKB, cached per database, scheme and boundary load."""
    stamp = conn.execute(text("SELECT current_database() || ':' || coalesce(max(id), 0)::text || ':' || count(*)::text "
                              "FROM boundary_load")).scalar_one()
    key = (scheme, stamp)
    if key not in _BORDER_CACHE:
        rows = conn.execute(text("SELECT ST_AsBinary(geom) FROM admin_unit WHERE scheme = :s AND level = 'province' "
                                 "AND geom IS NOT NULL ORDER BY code"), {"s": scheme}).scalars().all()
        if len(_BORDER_CACHE) > 8:
            _BORDER_CACHE.clear()
        _BORDER_CACHE[key] = (shapely.to_wkb(land_border_line([shapely.from_wkb(bytes(w)) for w in rows]))
                              if rows else None)
    return _BORDER_CACHE[key]


_BORDER_CACHE: dict[tuple, object] = {}


def _segments(line: shapely.LineString, per: int = 16) -> np.ndarray:
    """The line cut into short pieces, so that a spatial index can find what lies near each one."""
    coords = np.asarray(line.coords)
    starts = range(0, max(len(coords) - 1, 1), per)
    return np.array([shapely.LineString(coords[i:i + per + 1]) for i in starts], dtype=object)


def border_communes(engine_or_conn, scheme: str, province_code: str | None = None,
                    tolerance_m: float = 150) -> set[str]:
    """Codes of the communes of ``scheme`` on the land border (optionally of one province)."""
    def run(conn):
        line = _border_wkb(conn, scheme)
        if line is None:
            return set()
        stamp = conn.execute(text("SELECT current_database() || ':' || coalesce(max(id), 0)::text "
                                  "FROM boundary_load")).scalar_one()
        key = ("communes", scheme, stamp, tolerance_m)
        if key not in _BORDER_CACHE:
            rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM admin_unit WHERE scheme = :s "
                                     "AND level = 'commune' AND geom IS NOT NULL ORDER BY code"), {"s": scheme}).all()
            codes = np.array([c for c, _ in rows], dtype=object)
            geoms = shapely.from_wkb([bytes(w) for _, w in rows])
            tree = shapely.STRtree(_segments(shapely.from_wkb(line)))
            hit = tree.query(geoms, predicate="dwithin", distance=tolerance_m / M_PER_DEGREE)
            _BORDER_CACHE[key] = frozenset(codes[np.unique(hit[0])])
        found = _BORDER_CACHE[key]
        if province_code is None:
            return set(found)
        scope = conn.execute(text("SELECT code FROM admin_unit WHERE scheme = :s AND level = 'commune' "
                                  "AND province_code = :p"), dict(s=scheme, p=province_code)).scalars().all()
        return set(scope) & found

    if isinstance(engine_or_conn, Connection):
        return run(engine_or_conn)
    with engine_or_conn.connect() as conn:
        return run(conn)


# ---------------------------------------------------------------------- the flags
def _latest(conn: Connection, layer_id: str, field: str, scheme: str, province: str | None) -> pd.DataFrame:
    rows = conn.execute(text("""
        SELECT DISTINCT ON (v.unit_code) v.unit_code AS code, v.value_num, v.value_text, v.is_demo
        FROM layer_value v JOIN admin_unit u ON u.scheme = v.scheme AND u.code = v.unit_code AND u.level = 'commune'
        WHERE v.layer_id = :l AND v.field = :f AND v.scheme = :s
          AND (CAST(:p AS text) IS NULL OR u.province_code = CAST(:p AS text))
        ORDER BY v.unit_code, v.period DESC NULLS LAST"""), dict(l=layer_id, f=field, s=scheme, p=province)).all()
    return pd.DataFrame(rows, columns=["code", "value_num", "value_text", "is_demo"])


def compute_sensitivity(engine: Engine, scheme: str, province_code: str | None = None,
                        config: Sensitivity | None = None) -> pd.DataFrame:
    """The flags of every commune of the scope, computed now (nothing written).

    Columns: code, province_code, em_region, religious, near_project, border,
    is_sensitive, reasons (list of {flag, detail}), is_demo (a flag rests on a
    demo value).  Ethnicity/religion only raise dialogue priority; never a score input.
    """
    cfg = config or sensitivity_config()
    with engine.connect() as conn:
        units = pd.DataFrame(conn.execute(text("""
            SELECT code, province_code FROM admin_unit WHERE scheme = :s AND level = 'commune'
              AND (CAST(:p AS text) IS NULL OR province_code = CAST(:p AS text)) ORDER BY code"""),
            dict(s=scheme, p=province_code)).all(), columns=["code", "province_code"])
        em = _latest(conn, cfg.em_layer, cfg.em_field, scheme, province_code)
        est = _latest(conn, cfg.religious_layer, cfg.religious_establishments_field, scheme, province_code)
        fol = _latest(conn, cfg.religious_layer, cfg.religious_followers_field, scheme, province_code)
        try:
            projects = conn.execute(text(f"""
                SELECT u.code, p.name, p.is_demo,
                       round((ST_Distance(geography(u.geom), geography(p.geom)) / 1000)::numeric, 2) AS km
                FROM admin_unit u JOIN {cfg.project_table} p
                  ON u.geom && ST_Expand(p.geom, :deg)
                 AND ST_DWithin(geography(u.geom), geography(p.geom), :m)
                WHERE u.scheme = :s AND u.level = 'commune' AND u.geom IS NOT NULL
                  AND (CAST(:p AS text) IS NULL OR u.province_code = CAST(:p AS text))
                  AND p.clearance_status = ANY(:st)
                ORDER BY u.code, km"""),
                dict(s=scheme, p=province_code, m=cfg.project_buffer_km * 1000,
                     deg=cfg.project_buffer_km * 1000 / M_PER_DEGREE * 2, st=list(cfg.project_statuses))).all()
        except Exception:  # noqa: BLE001 - a deployment without the project table
            conn.rollback()
            projects = []
        border = border_communes(conn, scheme, province_code, cfg.border_tolerance_m) if cfg.border else set()
    reasons: dict[str, list] = {c: [] for c in units["code"]}
    demo: dict[str, bool] = {c: False for c in units["code"]}
    flags = {k: set() for k in ("em_region", "religious", "near_project", "border")}
    for r in em.itertuples(index=False):
        if r.code in reasons and r.value_text in cfg.em_region_classes:
            flags["em_region"].add(r.code)
            reasons[r.code].append({"flag": "em_region", "detail": r.value_text})
            demo[r.code] |= bool(r.is_demo)
    if cfg.religious_min_establishments is not None:
        for r in est.itertuples(index=False):
            if r.code in reasons and r.value_num is not None and r.value_num >= cfg.religious_min_establishments:
                flags["religious"].add(r.code)
                reasons[r.code].append({"flag": "religious", "detail": f"establishments={int(r.value_num)}"})
                demo[r.code] |= bool(r.is_demo)
    if cfg.religious_min_followers_pct is not None:
        for r in fol.itertuples(index=False):
            if r.code in reasons and r.value_num is not None and r.value_num >= cfg.religious_min_followers_pct:
                if r.code not in flags["religious"]:
                    flags["religious"].add(r.code)
                reasons[r.code].append({"flag": "religious", "detail": f"followers_pct={r.value_num:g}"})
                demo[r.code] |= bool(r.is_demo)
    for code, name, is_demo, km in projects:
        if code in reasons:
            if code not in flags["near_project"]:
                reasons[code].append({"flag": "near_project", "detail": f"{name} ({float(km):g} km)"})
            flags["near_project"].add(code)
            demo[code] |= bool(is_demo)
    for code in border:
        if code in reasons:
            flags["border"].add(code)
            reasons[code].append({"flag": "border", "detail": "land border"})
    df = units.copy()
    for k, s in flags.items():
        df[k] = df["code"].isin(s)
    df["is_sensitive"] = df[["em_region", "religious", "near_project", "border"]].any(axis=1)
    df["reasons"] = df["code"].map(reasons)
    df["is_demo"] = df["code"].map(demo)
    return df


def refresh_sensitivity(engine: Engine, schemes=("legacy", "2025"), config: Sensitivity | None = None,
                        province_code: str | None = None) -> dict[str, int]:
    """Recompute and store the flags (table ``sensitive_area``); returns sensitive communes per scheme."""
    cfg = config or sensitivity_config()
    out = {}
    for scheme in schemes:
        df = compute_sensitivity(engine, scheme, province_code, cfg)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sensitive_area WHERE scheme = :s AND (CAST(:p AS text) IS NULL "
                              "OR province_code = CAST(:p AS text))"), dict(s=scheme, p=province_code))
            rows = [dict(s=scheme, c=r.code, p=r.province_code, em=bool(r.em_region), rel=bool(r.religious),
                         near=bool(r.near_project), b=bool(r.border), reasons=json.dumps(r.reasons, ensure_ascii=False),
                         demo=bool(r.is_demo), params=cfg.model_dump_json())
                    for r in df.itertuples(index=False)]
            if rows:
                conn.execute(text("""
                    INSERT INTO sensitive_area (scheme, unit_code, province_code, em_region, religious, near_project,
                                                border, reasons, is_demo, params)
                    VALUES (:s, :c, :p, :em, :rel, :near, :b, CAST(:reasons AS jsonb), :demo, CAST(:params AS jsonb))"""),
                    rows)
        out[scheme] = int(df["is_sensitive"].sum())
    return out


def sensitive_areas(engine: Engine, scheme: str, province_code: str | None = None) -> pd.DataFrame:
    """The stored flags of the scope (what the map and the analytics read; see refresh_sensitivity).

    Columns: code, em_region, religious, near_project, border, is_sensitive, reasons, is_demo, computed_at.
    """
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT unit_code AS code, em_region, religious, near_project, border, is_sensitive, reasons, is_demo,
                   computed_at
            FROM sensitive_area WHERE scheme = :s AND (CAST(:p AS text) IS NULL OR province_code = CAST(:p AS text))
            ORDER BY unit_code"""), dict(s=scheme, p=province_code)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=["code", "em_region", "religious", "near_project", "border",
                                                          "is_sensitive", "reasons", "is_demo", "computed_at"])
