"""Read functions for cases: what the web and the exports call. Every one takes a scope."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, text

from geo_dash.security.scope import Scope, case_filter_sql, communes_in_scope_sql

# What a case list shows: never the summary, never anything about people.
LIST_COLUMNS = (
    "id", "external_ref", "source", "channel", "received_date", "kind", "category", "people_count", "is_mass",
    "is_over_level", "status", "deadline_date", "resolved_date", "n_dialogues", "project_name", "overdue",
)


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
                SELECT h.changed_at, h.changed_by, h.action, h.changes, h.import_id, h.id FROM case_history h
                JOIN grievance_case c ON c.id = h.case_id WHERE h.case_id = :id AND {where}
                UNION ALL
                SELECT c.created_at, c.created_by, 'create', '{{}}'::jsonb, NULL, 0 FROM grievance_case c
                WHERE c.id = :id AND {where}
            ) x ORDER BY changed_at DESC, id DESC"""), {"id": case_id, **params}).mappings().all()
    return [dict(r) for r in rows]


def synthetic_present(engine: Engine) -> bool:
    """True when any synthetic (demo) case is in the database: the app then shows a banner."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM grievance_case WHERE is_synthetic)")).scalar())


def data_quality(engine: Engine, scope: Scope, scheme: str, province_code: str) -> dict:
    """What the map cannot show faithfully, as DHIS2 reports it: cases whose commune has no polygon,
    and cases whose coordinates fall outside their commune (by more than ~100 m)."""
    where, params = case_filter_sql(scope, "c")
    commune = "commune_legacy" if scheme == "legacy" else "commune_2025"
    province = "province_legacy" if scheme == "legacy" else "province_2025"
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT count(*) FILTER (WHERE u.geom IS NULL) AS no_polygon,
                   count(*) FILTER (WHERE c.location IS NOT NULL AND u.geom IS NOT NULL
                                    AND NOT ST_DWithin(geography(u.geom), geography(c.location), 100)) AS outside,
                   count(*) AS total
            FROM grievance_case c JOIN admin_unit u ON u.scheme = :s AND u.code = c.{commune}
            WHERE c.{province} = :p AND {where}"""), {"s": scheme, "p": province_code, **params}).mappings().one()
    return dict(row)
