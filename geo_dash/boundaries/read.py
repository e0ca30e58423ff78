"""Read functions for admin units: what the web and the exports call (no SQL elsewhere).

Geometry is read once per scope and scheme, as GeoJSON built by PostGIS from the
display geometry (coverage-simplified, so neighbours share edges exactly).
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from geo_dash.security.scope import ALL, Scope, communes_in_scope_sql

COORD_DIGITS = 5  # ~1 m, the precision of the source data


def list_provinces(engine: Engine, scheme: str, scope: Scope = ALL) -> list[dict]:
    """Provinces of the scheme that the scope reaches (all of them for a national scope)."""
    communes, params = communes_in_scope_sql(scope, scheme)
    inside = "" if scope.everything else f"AND code IN ({communes})"
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"""SELECT code, name FROM admin_unit WHERE scheme = :s AND level = 'province'
                     AND code IN (SELECT DISTINCT province_code FROM admin_unit WHERE scheme = :s AND level = 'commune'
                                  {inside})
                     ORDER BY name_key"""),
            {"s": scheme, **params},
        ).mappings().all()
    return [dict(r) for r in rows]


def unit_counts(engine: Engine, scheme: str, province_code: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT level, count(*) FROM admin_unit WHERE scheme = :s AND province_code = :p GROUP BY level"),
            {"s": scheme, "p": province_code},
        ).all()
    return {level: n for level, n in rows}


_FEATURES = """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', COALESCE(json_agg(json_build_object(
        'type', 'Feature',
        'id', u.code,
        'geometry', ST_AsGeoJSON(u.geom_display, :digits)::json,
        'properties', json_build_object(
            'code', u.code, 'name', u.name, 'level', u.level, 'parent', u.parent_code,
            'parent_name', p.name, 'population', u.population, 'area_km2', round(u.area_km2::numeric, 2),
            'province', u.province_code,
            'tooltip', u.name || COALESCE(' — ' || p.name, ''),
            'in_scope', u.code IN ({scope_communes}))
    ) ORDER BY u.code), '[]'::json))
FROM admin_unit u
LEFT JOIN admin_unit p ON p.scheme = u.scheme AND p.code = u.parent_code AND p.level = 'district'
WHERE u.scheme = :s AND u.level = :level AND u.province_code = :p AND u.geom_display IS NOT NULL
"""


def scope_bounds(engine: Engine, scheme: str, province_code: str, scope: Scope) -> list | None:
    """``[[south, west], [north, east]]`` of the province's communes the user may see — where a
    district officer's map opens — or ``None`` for a user who sees the whole province (or none of it)."""
    if scope.everything:
        return None
    scope_sql, sp = communes_in_scope_sql(scope, scheme)
    with engine.connect() as conn:
        seen, total, w, s_, e, n = conn.execute(text(f"""
            WITH u AS (SELECT geom, code IN ({scope_sql}) AS seen FROM admin_unit
                       WHERE scheme = :s AND level = 'commune' AND province_code = :p AND geom IS NOT NULL),
                 x AS (SELECT count(*) FILTER (WHERE seen) AS seen, count(*) AS total,
                              ST_Extent(geom) FILTER (WHERE seen) AS e FROM u)
            SELECT seen, total, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM x"""),
            {"s": scheme, "p": province_code, **sp}).one()
    if not seen or seen == total or w is None:
        return None
    return [[s_, w], [n, e]]


def province_geojson(engine: Engine, scheme: str, province_code: str, scope: Scope = ALL) -> dict:
    """The communes (and, for the legacy scheme, the districts) of one province, with its bounds.

    Each commune says whether it is ``in_scope``: outlines are public, figures are not.
    """
    scope_sql, sp = communes_in_scope_sql(scope, scheme)
    sql = _FEATURES.replace("{scope_communes}", scope_sql)
    with engine.connect() as conn:
        communes = conn.execute(text(sql), dict(s=scheme, level="commune", p=province_code, digits=COORD_DIGITS, **sp)).scalar_one()
        districts = None
        if scheme == "legacy":
            districts = conn.execute(text(sql), dict(s=scheme, level="district", p=province_code, digits=COORD_DIGITS, **sp)).scalar_one()
        box = conn.execute(
            text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                 "(SELECT ST_Extent(geom) AS e FROM admin_unit WHERE scheme = :s AND code = :p AND level = 'province') x"),
            {"s": scheme, "p": province_code},
        ).one()
    bounds = None if box[0] is None else [[box[1], box[0]], [box[3], box[2]]]
    return {"communes": _as_dict(communes), "districts": _as_dict(districts), "bounds": bounds}


# The whole country at once: every commune of the scheme, simplified further (~300 m) and rounded to
# 3 decimals (~100 m) — what a 1920-pixel-wide map of Vietnam can show — with province outlines.
NATIONAL_TOLERANCE = 0.003
NATIONAL_DIGITS = 3
_national_cache: dict[tuple, dict] = {}


def national_geojson(engine: Engine, scheme: str, scope: Scope = ALL) -> dict:
    """All communes of the scheme (and the provinces as outlines), for national-scope users.

    Built once per scheme and boundary load (cached in the process: ~10,000 polygons take PostGIS a
    few seconds); the ``in_scope`` flags follow ``scope``.
    """
    scope_sql, sp = communes_in_scope_sql(scope, scheme)
    with engine.connect() as conn:
        stamp = tuple(conn.execute(text("SELECT max(load_id), count(*) FROM admin_unit WHERE scheme = :s"),
                                   {"s": scheme}).one())
    key = (str(engine.url), scheme, scope, stamp)
    if key in _national_cache:
        return _national_cache[key]
    geom = f"ST_SimplifyPreserveTopology(u.geom_display, {NATIONAL_TOLERANCE})"
    sql = (_FEATURES.replace("{scope_communes}", scope_sql)
           .replace("ST_AsGeoJSON(u.geom_display, :digits)", f"ST_AsGeoJSON({geom}, :digits)")
           .replace("AND u.province_code = :p ", ""))
    with engine.connect() as conn:
        communes = conn.execute(text(sql), dict(s=scheme, level="commune", digits=NATIONAL_DIGITS, **sp)).scalar_one()
        provinces = conn.execute(text(sql), dict(s=scheme, level="province", digits=NATIONAL_DIGITS, **sp)).scalar_one()
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) AS e FROM admin_unit WHERE scheme = :s AND level = 'province') x"),
                           {"s": scheme}).one()
    bounds = None if box[0] is None else [[box[1], box[0]], [box[3], box[2]]]
    out = {"communes": _as_dict(communes), "districts": _as_dict(provinces), "bounds": bounds}
    if len(_national_cache) > 8:
        _national_cache.clear()
    _national_cache[key] = out
    return out


def list_districts(engine: Engine, scheme: str, province_code: str, scope: Scope = ALL) -> list[dict]:
    """Districts (legacy scheme) of a province with at least one commune in the scope, by name."""
    if scheme != "legacy":
        return []
    communes, params = communes_in_scope_sql(scope, scheme)
    inside = "" if scope.everything else f"AND c.code IN ({communes})"
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT d.code, d.name FROM admin_unit d
            WHERE d.scheme = 'legacy' AND d.level = 'district' AND d.province_code = :p
              AND d.code IN (SELECT c.parent_code FROM admin_unit c WHERE c.scheme = 'legacy' AND c.level = 'commune'
                             AND c.province_code = :p {inside})
            ORDER BY d.name_key"""), {"p": province_code, **params}).mappings().all()
    return [dict(r) for r in rows]


def unit_info(engine: Engine, scheme: str, code: str) -> dict | None:
    """A unit's name, level, parents and bounds ``[[south, west], [north, east]]``."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT u.code, u.name, u.level, u.parent_code, u.province_code, d.name AS district_name,
                   p.name AS province_name,
                   ST_XMin(u.geom) AS w, ST_YMin(u.geom) AS s, ST_XMax(u.geom) AS e, ST_YMax(u.geom) AS n
            FROM admin_unit u
            LEFT JOIN admin_unit d ON d.scheme = u.scheme AND d.code = u.parent_code AND d.level = 'district'
            LEFT JOIN admin_unit p ON p.scheme = u.scheme AND p.code = u.province_code AND p.level = 'province'
            WHERE u.scheme = :s AND u.code = :c"""), {"s": scheme, "c": code}).mappings().first()
    if row is None:
        return None
    out = dict(row)
    w, s, e, n = (out.pop(k) for k in ("w", "s", "e", "n"))
    out["bounds"] = None if w is None else [[s, w], [n, e]]
    return out


def unit_outline(engine: Engine, scheme: str, code: str) -> dict:
    """One unit's detailed outline (the source geometry, not the display one) as a FeatureCollection."""
    with engine.connect() as conn:
        geom = conn.execute(text("SELECT ST_AsGeoJSON(geom, :d)::json FROM admin_unit WHERE scheme = :s AND code = :c"),
                            {"s": scheme, "c": code, "d": COORD_DIGITS}).scalar()
    if geom is None:
        return {"type": "FeatureCollection", "features": []}
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": _as_dict(geom), "properties": {"code": code}}]}


def _as_dict(value):
    if value is None or isinstance(value, dict):
        return value
    return json.loads(value)


def counterpart_province(engine: Engine, code: str, from_scheme: str, to_scheme: str) -> str | None:
    """The province of ``to_scheme`` that holds most of ``code``'s communes (via the crosswalk)."""
    if from_scheme == to_scheme:
        return code
    if from_scheme == "legacy":
        sql = """SELECT n.province_code FROM crosswalk c
                 JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
                 JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
                 WHERE l.province_code = :p GROUP BY 1 ORDER BY sum(c.weight) DESC LIMIT 1"""
    else:
        sql = """SELECT l.province_code FROM crosswalk c
                 JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
                 JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
                 WHERE n.province_code = :p GROUP BY 1 ORDER BY sum(c.weight) DESC LIMIT 1"""
    with engine.connect() as conn:
        return conn.execute(text(sql), {"p": code}).scalar_one_or_none()
