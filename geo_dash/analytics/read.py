"""Read functions over the derived analytics tables, for the web and the exports.

They **only read** ``cube_month``, ``gi_star_result``, ``ehsa_result``, ``alert``, ``kpi_result`` and
``analytics_run`` (written by :func:`geo_dash.analytics.refresh.refresh`); nothing is recomputed on a
request.  Every function that returns per-unit figures takes a :class:`~geo_dash.security.scope.Scope`
and restricts the units through :func:`scope_communes_sql`, the one rule for derived tables:

Scope rule for derived (per-commune) tables
    A commune of scheme S is visible when the scope names it *natively* — legacy: its province
    or its district is in the scope; 2025: its province or the commune itself is in the scope — or,
    across schemes, when **every** unit it draws on through the crosswalk (weight > 0) is visible
    natively: a legacy commune whose 2025 targets all lie in the scope's 2025 provinces/communes;
    a 2025 commune whose legacy sources all lie in the scope's legacy provinces/districts.
    Containment, not overlap: a derived figure aggregates every case of its unit, so it is shown
    only when all of them come from the user's area.  A district or province figure
    (``kpis``) is visible when all of its communes are.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from geo_dash.analytics.cube import INDICATORS, SCHEMES, add_months, month_start
from geo_dash.analytics.refresh import HOT_CATEGORIES
from geo_dash.cases.read import is_busy, wait_briefly
from geo_dash.security.scope import Scope

__all__ = [
    "scope_communes_sql",
    "cube_values",
    "cube_series",
    "indicator_quantiles",
    "stored_quantiles",
    "commune_series",
    "ehsa_categories",
    "top_hotspots",
    "alerts",
    "kpis",
    "latest_run",
    "cases_changed_since",
    "behind_since",
    "available_months",
]

_FILTER_COLUMNS = ("district_code", "commune_code")
_SEVERITY_ORDER = "CASE a.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def scope_communes_sql(scope: Scope, scheme: str, column: str = "commune_code") -> tuple[str, dict]:
    """SQL condition (and parameters) admitting the communes of ``scheme`` in ``column`` that ``scope`` may see.

    See the module docstring for the rule.  ``column`` is a commune code of ``scheme``
    (e.g. ``"r.commune_code"``).
    """
    _check_scheme(scheme)
    if scope.everything:
        return "TRUE", {}
    if scope.is_empty:
        return "FALSE", {}
    params = {"sc_lp": sorted(scope.legacy_provinces), "sc_ld": sorted(scope.legacy_districts),
              "sc_np": sorted(scope.provinces_2025), "sc_nc": sorted(scope.communes_2025)}
    legacy_ok = ("(lu.province_code = ANY(CAST(:sc_lp AS text[])) "
                 "OR lu.parent_code = ANY(CAST(:sc_ld AS text[])))")
    new_ok = "(nu.province_code = ANY(CAST(:sc_np AS text[])) OR nu.code = ANY(CAST(:sc_nc AS text[])))"
    if scheme == "legacy":
        native = f"""SELECT lu.code FROM admin_unit lu
                     WHERE lu.scheme = 'legacy' AND lu.level = 'commune' AND {legacy_ok}"""
        across = f"""SELECT x.legacy_code FROM crosswalk x
                     JOIN admin_unit nu ON nu.scheme = '2025' AND nu.code = x.new_code
                     WHERE x.weight > 0 GROUP BY x.legacy_code HAVING bool_and({new_ok})"""
    else:
        native = f"""SELECT nu.code FROM admin_unit nu
                     WHERE nu.scheme = '2025' AND nu.level = 'commune' AND {new_ok}"""
        across = f"""SELECT x.new_code FROM crosswalk x
                     JOIN admin_unit lu ON lu.scheme = 'legacy' AND lu.code = x.legacy_code
                     WHERE x.weight > 0 GROUP BY x.new_code HAVING bool_and({legacy_ok})"""
    return f"({column} IN ({native}) OR {column} IN ({across}))", params


def _read(engine: Engine, sql: str, params: dict) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def _filters_sql(filters: dict | None) -> tuple[str, dict]:
    parts, params = [], {}
    for i, (col, value) in enumerate(sorted((filters or {}).items())):
        if col not in _FILTER_COLUMNS:
            raise ValueError(f"filters: unknown column {col!r}; known: {list(_FILTER_COLUMNS)}")
        values = [value] if isinstance(value, str) else list(value)
        parts.append(f"r.{col} = ANY(CAST(:f{i} AS text[]))")
        params[f"f{i}"] = values
    return "".join(f" AND {p}" for p in parts), params


def _latest_month(engine: Engine, scheme: str, province_code: str | None) -> date | None:
    prov = "AND province_code = :p" if province_code else ""
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT max(month) FROM cube_month WHERE scheme = :s {prov}"),
                            {"s": scheme, "p": province_code}).scalar()


def cube_values(
    engine: Engine,
    scope: Scope,
    *,
    scheme: str,
    province_code: str | None,
    month: date | None = None,
    months: tuple[date, date] | None = None,
    indicator: str = "intensity",
    filters: dict | None = None,
) -> pd.DataFrame:
    """``DataFrame(commune_code, value)`` of one cube indicator for the province's visible communes.

    ``month``: that month; ``months=(first, last)``: the range — flows (new cases, intensity, …)
    are summed over it, stocks (backlog, overdue and their rates) take the last month's value;
    neither: the latest month of the cube.  ``filters``: ``{"district_code": …, "commune_code": …}``
    (a code or a list).  Rates are NULL (NaN) where the population is unknown.
    """
    _check_scheme(scheme)
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; known: {sorted(INDICATORS)}")
    if months is not None:
        first, last = month_start(months[0]), month_start(months[1])
    else:
        first = last = month_start(month) if month is not None else _latest_month(engine, scheme, province_code)
    if first is None:
        return pd.DataFrame({"commune_code": pd.Series(dtype=str), "value": pd.Series(dtype=float)})
    where, params = scope_communes_sql(scope, scheme, "r.commune_code")
    extra, fparams = _filters_sql(filters)
    if INDICATORS[indicator]:  # stock: the value at the last month of the range
        value, month_cond = f"r.{indicator}", "r.month = :last"
    else:
        value, month_cond = f"sum(r.{indicator})", "r.month BETWEEN :first AND :last"
    prov = "AND r.province_code = :p" if province_code else ""  # None: the whole country
    sql = f"""
        SELECT r.commune_code, {value} AS value FROM cube_month r
        WHERE r.scheme = :s {prov} AND {month_cond} AND {where}{extra}
        {"" if INDICATORS[indicator] else "GROUP BY r.commune_code"}
        ORDER BY r.commune_code"""
    return _read(engine, sql, {"s": scheme, "p": province_code, "first": first, "last": last, **params, **fparams})


def cube_series(
    engine: Engine,
    scope: Scope,
    *,
    scheme: str,
    province_code: str | None,
    indicator: str,
    first: date,
    last: date,
) -> pd.DataFrame:
    """``DataFrame(commune_code, month, value)``: one cube indicator month by month from ``first`` to
    ``last`` for the province's (``None``: the country's) visible communes — for each month exactly what
    :func:`cube_values` returns for that month alone (a month's flow is its own sum; a stock is its
    value).  What the map page sends once so that a change of month or indicator restyles in the page."""
    _check_scheme(scheme)
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; known: {sorted(INDICATORS)}")
    where, params = scope_communes_sql(scope, scheme, "r.commune_code")
    prov = "AND r.province_code = :p" if province_code else ""
    sql = f"""
        SELECT r.commune_code, to_char(r.month, 'YYYY-MM') AS month, r.{indicator} AS value FROM cube_month r
        WHERE r.scheme = :s {prov} AND r.month BETWEEN :first AND :last AND {where}
        ORDER BY r.month, r.commune_code"""
    return _read(engine, sql, {"s": scheme, "p": province_code, "first": month_start(first),
                               "last": month_start(last), **params})


def indicator_quantiles(engine: Engine, scope: Scope, *, scheme: str, province_code: str | None,
                        indicator: str, n: int = 101) -> list[float]:
    """``n`` evenly spaced quantiles (0 … 1) of one indicator over every month and visible commune of
    the province (``None``: the country) — what a map's classes are fixed on, so colours mean the
    same in every month.  Computed in PostgreSQL: the country's ~700,000 cube cells never leave it."""
    _check_scheme(scheme)
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r}; known: {sorted(INDICATORS)}")
    where, params = scope_communes_sql(scope, scheme, "r.commune_code")
    prov = "AND r.province_code = :p" if province_code else ""
    sql = f"""SELECT percentile_cont(CAST(:fractions AS float8[])) WITHIN GROUP (ORDER BY r.{indicator})
              FROM cube_month r WHERE r.scheme = :s {prov} AND r.{indicator} IS NOT NULL AND {where}"""
    fractions = [i / (n - 1) for i in range(n)]
    with engine.connect() as conn:
        values = conn.execute(text(sql), {"s": scheme, "p": province_code, "fractions": fractions, **params}).scalar()
    return [float(v) for v in values or []]


def stored_quantiles(engine: Engine, run_id: int, scheme: str, indicator: str,
                     province_code: str | None) -> list[float] | None:
    """The quantiles a run stored for one indicator and province (``None``: the country), or None.

    Over **every** commune of the province: use them only for a scope that sees them all (the map
    computes its own, with :func:`indicator_quantiles`, for narrower scopes)."""
    with engine.connect() as conn:
        values = conn.execute(text("SELECT params #> CAST(:path AS text[]) FROM analytics_run WHERE id = :id"),
                              {"id": int(run_id), "path": ["class_quantiles", scheme, indicator,
                                                          province_code or "VN"]}).scalar()
    return [float(v) for v in values] if isinstance(values, list) and values else None


def commune_series(engine: Engine, scope: Scope, scheme: str, commune_code: str, months: int = 24) -> pd.DataFrame:
    """The commune's last ``months`` cube rows (every indicator) with that month's Gi* z, p, bin, significant."""
    _check_scheme(scheme)
    where, params = scope_communes_sql(scope, scheme, "r.commune_code")
    cols = ", ".join(f"r.{c}" for c in INDICATORS)
    sql = f"""
        SELECT r.month, r.province_code, r.district_code, r.commune_code, r.population, {cols},
               r.population_imputed, g.z, g.p, g.bin, g.significant, r.as_of, r.run_id
        FROM cube_month r
        LEFT JOIN gi_star_result g ON g.scheme = r.scheme AND g.province_code = r.province_code
                                   AND g.commune_code = r.commune_code AND g.month = r.month
        WHERE r.scheme = :s AND r.commune_code = :c AND {where}
          AND r.month > (SELECT max(month) FROM cube_month WHERE scheme = :s AND commune_code = :c)
                        - make_interval(months => :n)
        ORDER BY r.month"""
    return _read(engine, sql, {"s": scheme, "c": commune_code, "n": int(months), **params})


def ehsa_categories(engine: Engine, scope: Scope, scheme: str, province_code: str | None) -> pd.DataFrame:
    """One row per visible commune of the province (``None``: the country): its emerging hot spot
    category and explanation."""
    _check_scheme(scheme)
    where, params = scope_communes_sql(scope, scheme, "r.commune_code")
    sql = f"""
        SELECT r.commune_code, u.name, r.category, r.category_vi, r.explanation_vi, r.trend_tau, r.trend_p,
               r.n_periods, r.n_hot, r.n_cold, r.final_run, r.last_z, r.last_p, r.last_bin,
               r.window_start, r.window_end, r.priority_dialogue, r.as_of, r.run_id
        FROM ehsa_result r LEFT JOIN admin_unit u ON u.scheme = r.scheme AND u.code = r.commune_code
        WHERE r.scheme = :s {"AND r.province_code = :p" if province_code else ""} AND {where}
        ORDER BY r.commune_code"""
    return _read(engine, sql, {"s": scheme, "p": province_code, **params})


def top_hotspots(engine: Engine, scope: Scope, scheme: str, province_code: str, n: int = 10) -> pd.DataFrame:
    """The province's ``n`` leading hotspots: communes with a current hot-spot category or an alert.

    Order: priority for dialogue first, then hot-spot categories, then the number of alerts, then
    the last month's Gi* z (descending).  A commune with alerts but no EHSA row (no polygon) is
    listed with an empty category.
    """
    _check_scheme(scheme)
    where, params = scope_communes_sql(scope, scheme, "b.commune_code")
    sql = f"""
        WITH e AS (
            SELECT * FROM ehsa_result WHERE scheme = :s AND province_code = :p
        ), a AS (
            SELECT commune_code, count(*) AS n_alerts, bool_or(priority_dialogue) AS priority_dialogue,
                   max(as_of) AS as_of
            FROM alert WHERE scheme = :s AND province_code = :p GROUP BY commune_code
        ), b AS (
            SELECT commune_code FROM e WHERE category = ANY(:hot)
            UNION SELECT commune_code FROM a
        ), ranked AS (
            SELECT b.commune_code, u.name, e.category, e.category_vi, e.explanation_vi, e.last_z, e.n_hot,
                   COALESCE(a.n_alerts, 0) AS n_alerts,
                   (COALESCE(e.priority_dialogue, false) OR COALESCE(a.priority_dialogue, false)) AS priority_dialogue,
                   COALESCE(e.category = ANY(:hot), false) AS is_hot,
                   COALESCE(e.as_of, a.as_of) AS as_of
            FROM b LEFT JOIN e ON e.commune_code = b.commune_code LEFT JOIN a ON a.commune_code = b.commune_code
            LEFT JOIN admin_unit u ON u.scheme = :s AND u.code = b.commune_code
            WHERE {where}
        )
        SELECT * FROM ranked
        ORDER BY priority_dialogue DESC, is_hot DESC, n_alerts DESC, last_z DESC NULLS LAST, commune_code
        LIMIT :n"""
    return _read(engine, sql, {"s": scheme, "p": province_code, "n": int(n), "hot": list(HOT_CATEGORIES), **params})


def alerts(engine: Engine, scope: Scope, scheme: str | None = None, province_code: str | None = None) -> pd.DataFrame:
    """Alerts of the latest run for the visible communes, most severe and priority first."""
    frames = []
    for s in (SCHEMES if scheme is None else (scheme,)):
        _check_scheme(s)
        where, params = scope_communes_sql(scope, s, "a.commune_code")
        sql = f"""
            SELECT a.scheme, a.province_code, a.district_code, a.commune_code, u.name, a.rule_id, a.rule_type,
                   a.period, a.figures, a.message_vi, a.message_en, a.severity, a.priority_dialogue,
                   a.as_of, a.run_id
            FROM alert a LEFT JOIN admin_unit u ON u.scheme = a.scheme AND u.code = a.commune_code
            WHERE a.scheme = :s AND (CAST(:p AS text) IS NULL OR a.province_code = :p) AND {where}
            ORDER BY {_SEVERITY_ORDER}, a.priority_dialogue DESC, a.rule_id, a.commune_code"""
        frames.append(_read(engine, sql, {"s": s, "p": province_code, **params}))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def kpis(engine: Engine, scope: Scope, scheme: str, level: str, unit_code: str, period_kind: str) -> dict | None:
    """Handling KPIs of one unit (commune, district or province) and period kind; None if absent or hidden."""
    _check_scheme(scheme)
    if level not in ("commune", "district", "province") or period_kind not in ("month", "12m", "ytd"):
        raise ValueError(f"unknown level {level!r} or period kind {period_kind!r}")
    where, params = scope_communes_sql(scope, scheme, "cu.code")
    member = {"commune": "cu.code", "district": "cu.parent_code", "province": "cu.province_code"}[level]
    sql = f"""
        SELECT k.* FROM kpi_result k
        WHERE k.scheme = :s AND k.level = :lvl AND k.unit_code = :u AND k.period_kind = :pk
          AND NOT EXISTS (SELECT 1 FROM admin_unit cu
                          WHERE cu.scheme = :s AND cu.level = 'commune' AND {member} = :u AND NOT {where})"""
    with engine.connect() as conn:
        row = conn.execute(text(sql), {"s": scheme, "lvl": level, "u": unit_code, "pk": period_kind,
                                       **params}).mappings().first()
    return dict(row) if row else None


def latest_run(engine: Engine, scheme: str | None = None) -> dict | None:
    """The latest successful run (covering ``scheme`` when given): id, as_of, finished_at, data_version, …"""
    with engine.connect() as conn:
        row = conn.execute(text("""
            SELECT id, scheme, from_month, as_of, started_at, finished_at, data_version FROM analytics_run
            WHERE status = 'ok' AND (CAST(:s AS text) IS NULL OR scheme IS NULL OR scheme = :s)
            ORDER BY id DESC LIMIT 1"""), {"s": scheme}).mappings().first()
    return dict(row) if row else None


def cases_changed_since(engine: Engine, run: dict | None) -> bool | None:
    """True when cases were imported, created or edited after ``run`` (see migration 0011): the map
    and the wall then say that what they show does not include them yet.  None without a run (or
    for a run that recorded no data version, and while a bulk import holds the cases).  Reads every
    case once when no import came since the run (0.25 s at 981,656 cases)."""
    if not run:
        return None
    try:
        with engine.connect() as conn:
            wait_briefly(conn)  # a bulk import holds the cases until it commits: not known yet, not a wait
            return conn.execute(text("SELECT gd_cases_changed_since(:r)"), {"r": run["id"]}).scalar()
    except OperationalError as exc:
        if is_busy(exc):
            return None
        raise


def behind_since(engine: Engine, run: dict | None) -> str | None:
    """When cases changed after ``run``: its finish time as the pages write it ("HH:MM dd/mm/yyyy");
    None when the run is current (or unknown, see :func:`cases_changed_since`)."""
    if not cases_changed_since(engine, run):
        return None
    return f"{run['finished_at']:%H:%M %d/%m/%Y}"


def available_months(engine: Engine, scheme: str, province_code: str | None = None) -> list[date]:
    """Months present in the cube for ``scheme`` (and province), oldest first."""
    _check_scheme(scheme)
    with engine.connect() as conn:
        return list(conn.execute(text("""
            SELECT DISTINCT month FROM cube_month
            WHERE scheme = :s AND (CAST(:p AS text) IS NULL OR province_code = :p) ORDER BY month"""),
            {"s": scheme, "p": province_code}).scalars())


def months_back(last: date, n: int) -> tuple[date, date]:
    """``(first, last)`` month range of the ``n`` months ending with the month of ``last``."""
    return add_months(last, -(n - 1)), month_start(last)
