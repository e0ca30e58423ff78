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
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"""SELECT code, name FROM admin_unit WHERE scheme = :s AND level = 'province'
                     AND code IN (SELECT province_code FROM admin_unit WHERE scheme = :s AND level = 'commune'
                                  AND code IN ({communes}))
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
            'tooltip', u.name || COALESCE(' — ' || p.name, ''),
            'in_scope', u.code IN ({scope_communes}))
    ) ORDER BY u.code), '[]'::json))
FROM admin_unit u
LEFT JOIN admin_unit p ON p.scheme = u.scheme AND p.code = u.parent_code AND p.level = 'district'
WHERE u.scheme = :s AND u.level = :level AND u.province_code = :p AND u.geom_display IS NOT NULL
"""


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
