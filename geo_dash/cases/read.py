"""Read functions for cases: what the web and the exports call. Every one takes a scope."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from geo_dash.security.scope import Scope, case_filter_sql, communes_in_scope_sql

# What a case list shows: never the summary, never anything about people.
LIST_COLUMNS = (
    "id", "external_ref", "source", "channel", "received_date", "kind", "category", "people_count", "is_mass",
    "is_over_level", "status", "deadline_date", "resolved_date", "n_dialogues", "project_name", "overdue",
)


# Reads that every page makes (the demo banner, the map's data-quality note) do not queue behind a bulk
# import, which holds the case table until it commits (geo_dash.cases.store.BULK_MIN_ROWS): they give up
# after this long and say so.
BUSY_WAIT_MS = 300


class CasesBusy(RuntimeError):
    """The case table is held by a bulk import; the figures will be there once it commits."""


def wait_briefly(conn: Connection) -> None:
    conn.execute(text(f"SET LOCAL lock_timeout = '{BUSY_WAIT_MS}ms'"))


def is_busy(exc: OperationalError) -> bool:
    return isinstance(exc.orig, LockNotAvailable)


def communes_for_select(engine: Engine, scheme: str, province_code: str, scope: Scope) -> list[dict]:
    """Options for a commune picker within the scope: "Xã Hải Khê — Huyện Hải Lăng" or "Xã Vĩnh Linh"."""
    inside, params = communes_in_scope_sql(scope, scheme)
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT u.code, u.name, d.name AS district FROM admin_unit u
            LEFT JOIN admin_unit d ON d.scheme = u.scheme AND d.code = u.parent_code AND d.level = 'district'
            WHERE u.scheme = :s AND u.level = 'commune' AND u.province_code = :p AND u.code IN ({inside})
            ORDER BY d.name_key NULLS FIRST, u.name_key"""), {"s": scheme, "p": province_code, **params}).all()
    return [{"value": r.code, "label": r.name + (f" — {r.district}" if r.district else "")} for r in rows]


def unit_names(engine: Engine, scheme: str, code: str) -> dict | None:
    """Names of a commune and its parents (for forms and headings)."""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT u.code, u.name, d.name AS district, p.name AS province, u.province_code
            FROM admin_unit u
            LEFT JOIN admin_unit d ON d.scheme = u.scheme AND d.code = u.parent_code AND d.level = 'district'
            JOIN admin_unit p ON p.scheme = u.scheme AND p.code = u.province_code AND p.level = 'province'
            WHERE u.scheme = :s AND u.code = :c AND u.level = 'commune'"""), {"s": scheme, "c": code}).mappings().first()
    return dict(row) if row else None


def list_cases(engine: Engine, scope: Scope, *, scheme: str, commune_code: str, as_of=None,
               limit: int = 1000) -> pd.DataFrame:
    """Cases of one commune (on either scheme), newest first; overdue = open past its deadline."""
    where, params = case_filter_sql(scope, "c")
    column = "commune_legacy" if scheme == "legacy" else "commune_2025"
    sql = f"""
        SELECT c.id, c.external_ref, c.source, c.channel, c.received_date, c.kind, c.category, c.people_count,
               c.is_mass, c.is_over_level, c.status, c.deadline_date, c.resolved_date,
               cardinality(c.dialogue_dates) AS n_dialogues, c.project_name,
               (c.status IN ('tiep_nhan', 'dang_giai_quyet') AND c.deadline_date < COALESCE(:as_of, current_date)) AS overdue
        FROM grievance_case c
        WHERE c.{column} = :code AND {where}
        ORDER BY c.received_date DESC, c.id DESC LIMIT :limit"""
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params={"code": commune_code, "limit": limit, "as_of": as_of, **params})


def get_case(engine: Engine, scope: Scope, case_id: int) -> dict | None:
    """One case for the edit form (summary included: only the form shows it), or None outside the scope."""
    where, params = case_filter_sql(scope, "c")
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT c.*, ST_X(c.location) AS lon, ST_Y(c.location) AS lat FROM grievance_case c
            WHERE c.id = :id AND {where}"""), {"id": case_id, **params}).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out.pop("location", None)
    return out


def case_history(engine: Engine, scope: Scope, case_id: int) -> list[dict]:
    where, params = case_filter_sql(scope, "c")
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT * FROM (
                SELECT h.changed_at, h.changed_by, h.action, h.changes, h.import_id, h.id FROM grievance_case c
                JOIN case_history h ON h.province_2025 = c.province_2025 AND h.case_id = c.id
                WHERE c.id = :id AND {where}
                UNION ALL
                SELECT c.created_at, c.created_by, 'create', '{{}}'::jsonb, NULL, 0 FROM grievance_case c
                WHERE c.id = :id AND {where}
            ) x ORDER BY changed_at DESC, id DESC"""), {"id": case_id, **params}).mappings().all()
    return [dict(r) for r in rows]


_SYNTHETIC_SEEN: dict[str, bool] = {}


def synthetic_present(engine: Engine) -> bool:
    """True when any synthetic (demo) case is in the database: the app then shows a banner.
    While a bulk import holds the table: the last answer for this database (False before any)."""
    key = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            wait_briefly(conn)
            seen = bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM grievance_case WHERE is_synthetic)")).scalar())
    except OperationalError as exc:
        if not is_busy(exc):
            raise
        return _SYNTHETIC_SEEN.get(key, False)
    _SYNTHETIC_SEEN[key] = seen
    return seen


def data_quality(engine: Engine, scope: Scope, scheme: str, province_code: str | None) -> dict:
    """What the map cannot show faithfully, as DHIS2 reports it: cases whose commune has no polygon,
    and cases whose coordinates fall outside their commune (by more than ~100 m).
    Raises :class:`CasesBusy` while a bulk import holds the case table."""
    where, params = case_filter_sql(scope, "c")
    commune = "commune_legacy" if scheme == "legacy" else "commune_2025"
    province = "province_legacy" if scheme == "legacy" else "province_2025"
    sql = text(f"""
        SELECT count(*) FILTER (WHERE u.geom IS NULL) AS no_polygon,
               count(*) FILTER (WHERE c.location IS NOT NULL AND u.geom IS NOT NULL
                                AND NOT ST_Intersects(u.geom, c.location)  -- cheap: most points are inside
                                AND NOT ST_DWithin(geography(u.geom), geography(c.location), 100)) AS outside,
               count(*) AS total
        FROM grievance_case c JOIN admin_unit u ON u.scheme = :s AND u.code = c.{commune}
        WHERE {f"c.{province} = :p" if province_code else "TRUE"} AND {where}""")
    try:
        with engine.connect() as conn:
            wait_briefly(conn)
            row = conn.execute(sql, {"s": scheme, "p": province_code, **params}).mappings().one()
    except OperationalError as exc:
        if is_busy(exc):
            raise CasesBusy(str(exc.orig)) from exc
        raise
    return dict(row)


# --------------------------------------------------------------------------- map filters
# What the map's case filters may hold; anything else is dropped by :func:`clean_filters`.
FILTER_KEYS = ("category", "kind", "status", "mass", "over_level")


def clean_filters(filters: dict | None) -> dict:
    """Only known keys and vocabulary codes: ``{"category": [...], "kind": [...], "status": [...],
    "mass": True, "over_level": True}`` (empty lists and false flags left out)."""
    from geo_dash.cases.vocab import CATEGORIES, KINDS, STATUSES

    known = {"category": {t.code for t in CATEGORIES}, "kind": {t.code for t in KINDS},
             "status": {t.code for t in STATUSES}}
    out: dict = {}
    for key, codes in known.items():
        values = (filters or {}).get(key) or []
        values = [values] if isinstance(values, str) else values
        picked = sorted({v for v in values if isinstance(v, str) and v in codes}) if isinstance(values, list) else []
        if picked:
            out[key] = picked
    for flag in ("mass", "over_level"):
        if (filters or {}).get(flag) is True:
            out[flag] = True
    return out


def _case_conditions(filters: dict, alias: str = "c") -> tuple[str, dict]:
    parts, params = [], {}
    for key in ("category", "kind", "status"):
        if filters.get(key):
            parts.append(f"{alias}.{key} = ANY(CAST(:f_{key} AS text[]))")
            params[f"f_{key}"] = list(filters[key])
    if filters.get("mass"):
        parts.append(f"{alias}.is_mass")
    if filters.get("over_level"):
        parts.append(f"{alias}.is_over_level")
    return "".join(f" AND {p}" for p in parts), params


def filtered_counts(engine: Engine, scope: Scope, *, scheme: str, province_code: str | None, first, last,
                    filters: dict | None = None) -> pd.DataFrame:
    """``DataFrame(commune_code, value)``: cases received in the months ``first``..``last`` that match
    ``filters`` (see :func:`clean_filters`), per commune of the province (``None``: the country).

    Read from the cases themselves (kinds and statuses are not in the cube), placed on the scheme
    exactly as the cube places them, so with no filter the sum over a month equals the cube's ``n_new``.
    Only communes wholly inside the scope are returned (the derived-figure rule of
    :mod:`geo_dash.analytics.read`); communes of the province without a matching case are 0.
    """
    from geo_dash.analytics.cube import add_months, month_start, placed_sql
    from geo_dash.analytics.read import scope_communes_sql

    filters = clean_filters(filters)
    first, last = month_start(first), month_start(last)
    last_day = add_months(last, 1) - timedelta(days=1)  # the cube's :as_of for the period's end
    cond, fparams = _case_conditions(filters)
    where, sparams = case_filter_sql(scope, "c")
    direct = f"AND c.received_date >= :first {cond} AND {where}"
    if province_code and scheme == "legacy":
        direct += " AND c.province_legacy = :p"
    split = direct
    if province_code and scheme == "2025":
        split = direct + (" AND c.commune_legacy IN (SELECT x2.legacy_code FROM crosswalk x2 JOIN admin_unit n2"
                          " ON n2.scheme = '2025' AND n2.code = x2.new_code WHERE n2.province_code = :p AND x2.weight > 0)")
        direct += " AND c.province_2025 = :p"
    placed = placed_sql(scheme, where=direct, where_split=split)
    visible, vparams = scope_communes_sql(scope, scheme, "u.code")
    prov = "AND u.province_code = :p" if province_code else ""
    sql = f"""
        WITH placed AS ({placed})
        SELECT u.code AS commune_code, COALESCE(sum(pl.w), 0)::float8 AS value
        FROM admin_unit u LEFT JOIN placed pl ON pl.commune_code = u.code
        WHERE u.scheme = :s AND u.level = 'commune' {prov} AND {visible}
        GROUP BY u.code ORDER BY u.code"""
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params={"s": scheme, "p": province_code, "first": first,
                                                    "as_of": last_day, **fparams, **sparams, **vparams})


POINTS_LIMIT = 50_000


def case_points(engine: Engine, scope: Scope, *, scheme: str, province_code: str | None, first, last,
                filters: dict | None = None, limit: int = POINTS_LIMIT) -> dict:
    """Cases with coordinates as a GeoJSON FeatureCollection — id, category, kind, status, dates,
    flags; never the summary, never anything about people — and ``truncated`` if over ``limit``."""
    from geo_dash.analytics.cube import add_months, month_start

    filters = clean_filters(filters)
    first, last = month_start(first), month_start(last)
    last_day = add_months(last, 1) - timedelta(days=1)
    cond, fparams = _case_conditions(filters)
    where, sparams = case_filter_sql(scope, "c")
    column, prov_col = ("commune_legacy", "province_legacy") if scheme == "legacy" else ("commune_2025", "province_2025")
    prov = f"AND c.{prov_col} = :p" if province_code else ""
    sql = f"""
        SELECT c.id, c.{column} AS commune, c.category, c.kind, c.status, c.received_date, c.is_mass,
               c.is_over_level, ST_X(c.location) AS lon, ST_Y(c.location) AS lat
        FROM grievance_case c
        WHERE c.location IS NOT NULL AND c.received_date BETWEEN :first AND :last_day {prov}{cond} AND {where}
        ORDER BY c.id LIMIT :limit"""
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"p": province_code, "first": first, "last_day": last_day,
                                        "limit": limit + 1, **fparams, **sparams}).mappings().all()
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(r["lon"], 5), round(r["lat"], 5)]},
                 "properties": {"id": r["id"], "commune": r["commune"], "category": r["category"], "kind": r["kind"],
                                "status": r["status"], "received": r["received_date"].strftime("%d/%m/%Y"),
                                "mass": bool(r["is_mass"]), "over_level": bool(r["is_over_level"])}}
                for r in rows[:limit]]
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) > limit}
