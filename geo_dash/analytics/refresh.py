"""Recompute the derived analytics tables (``geo-dash analytics refresh``).

:func:`refresh` runs, for each scheme asked for, in **one transaction** (a failed refresh leaves
the previous results untouched and is recorded as a ``failed`` run afterwards):

1. **cube** — :func:`geo_dash.analytics.cube.build_cube`, fully or incrementally from a month
   (delete + re-insert those months);
2. **gi_star** — per province and month, local Getis-Ord Gi* on ``value_column`` (default
   ``intensity``) over the province's communes: queen contiguity, islands joined to their
   ``k_islands`` nearest communes (:func:`~geo_dash.analytics.build_weights`, built once per scheme
   and province and cached in-process), FDR per province-month (:mod:`~geo_dash.analytics.gistar`);
3. **ehsa** — :func:`~geo_dash.analytics.emerging_hotspots` per province over the last
   ``ehsa_months`` months (default 24) of the cube;
4. **alerts** — :func:`~geo_dash.analytics.evaluate_rules` at ``as_of`` (projects from
   ``key_project`` when that table exists);
5. **kpis** — :func:`~geo_dash.analytics.handling_kpis` per commune, district (legacy) and province
   for the month of ``as_of``, the 12 months to ``as_of`` and the year to date;
6. **priority** — hotspots (a current EHSA hot-spot category, :data:`HOT_CATEGORIES`, or an alert) in
   communes flagged sensitive
   (``sensitive_area.is_sensitive``, from the context layers, when that table exists) get
   ``priority_dialogue = true``.  The flag is written after the statistics and never changes them.

Decisions
    * ``as_of`` defaults to the end of the last complete month of data: the last day of the month
      of the latest received case if that month is over, else the last day of the month before.
    * Statistics cover the cube's provinces (those with cases on the scheme) and, within them,
      the communes with a geometry (a commune without a polygon cannot have neighbours); the cube
      itself keeps every commune.
    * Rules and KPIs count whole cases in the commune each case is placed in on the scheme
      (``commune_legacy`` / ``commune_2025``), not crosswalk fractions: an alert names real cases
      and a median of days cannot be fractional.
    * key_project's ``clearance_status`` ``dang_thuc_hien`` (site clearance under way, the layers'
      vocabulary) is the rules' ``dang_giai_phong``.
    * An incremental refresh (``from_month``) is honoured only when it can equal a full one: same
      intensity formula and statistics parameters as the last successful run on that scheme, same
      boundary version, same cube start month and provinces; otherwise it falls back to a full
      refresh (the report says why).  It also recomputes the previous run's last month (it may
      have been a partial month).  Its premise: nothing changed in the months before
      ``from_month`` — an import or an edit that touches an earlier month (a received, closing,
      deadline or dialogue date, or a status change of a case open then) needs an earlier
      ``from_month`` or a full refresh.  EHSA, alerts, KPIs and the priority flags are always
      recomputed in full (they are cheap).  Cube and Gi* rows kept from earlier months keep the
      ``run_id``/``as_of`` of the run that computed them.
    * A province needs at least 3 communes with a polygon for Gi*/EHSA.
    * Gi* with permutations uses the seed ``seed + months since year 0`` for a month, so an
      incremental refresh reproduces the full refresh's draws.
"""

from __future__ import annotations

import getpass
import io
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import shapely
import geopandas as gpd
from libpysal.weights import W
from sqlalchemy import Connection, Engine, text

from geo_dash.analytics.cube import (
    COMPONENTS,
    class_quantiles,
    SCHEMES,
    IntensityConfig,
    add_months,
    build_cube,
    cube_first_month,
    cube_provinces,
    load_intensity,
    month_start,
)
from geo_dash.analytics.ehsa import CATEGORIES, emerging_hotspots
from geo_dash.analytics.gistar import gi_star_frame, gi_star_scores, gi_star_weights
from geo_dash.analytics.kpis import DEFAULT_TARGETS, handling_kpis
from geo_dash.analytics.rules import evaluate_rules, load_rules
from geo_dash.analytics.weights import build_weights

__all__ = ["RefreshParams", "RefreshReport", "refresh", "default_as_of", "province_weights", "clear_weights_cache"]

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6765_6F64  # pg_advisory_xact_lock key: one refresh at a time
#: EHSA categories of a commune that is a hot spot *now* (significant hot in the last month): every hot
#: category but "historical hot spot" (hot in >= 90 % of the months, but no longer).
HOT_CATEGORIES: tuple[str, ...] = tuple(c for c in CATEGORIES if c.endswith(" hot spot") and c != "historical hot spot")
GI_VALUE_COLUMNS: tuple[str, ...] = COMPONENTS + ("intensity", "intensity_count")
_CLEARANCE_FOR_RULES = {"dang_thuc_hien": "dang_giai_phong"}
_PERIOD_KINDS = ("month", "12m", "ytd")


# --------------------------------------------------------------------------- parameters and report
@dataclass(frozen=True)
class RefreshParams:
    """Everything that shapes the derived tables besides the data, ``as_of`` and ``from_month``."""

    value_column: str = "intensity"  # cube column Gi* and EHSA run on
    ehsa_months: int = 24
    alpha: float = 0.05
    fdr: bool = True
    permutations: int = 0
    time_lag: int = 0
    seed: int | None = 2025
    k_islands: int = 1
    intensity_path: str | None = None  # default geo_dash/analytics/intensity.yaml
    rules_path: str | None = None  # default geo_dash/analytics/default_rules.yaml
    kpi_targets: Mapping[str, float] | None = None  # default: resolved_on_time_pct 100

    def __post_init__(self) -> None:
        if self.value_column not in GI_VALUE_COLUMNS:
            raise ValueError(f"value_column must be one of {list(GI_VALUE_COLUMNS)}, got {self.value_column!r}")
        if self.ehsa_months < 3:
            raise ValueError("ehsa_months must be >= 3")

    def cube_signature(self, intensity: IntensityConfig, boundary_version: int) -> dict:
        """What the cube and per-month Gi* rows depend on (an incremental refresh needs it unchanged)."""
        return {"intensity": intensity.as_dict(), "value_column": self.value_column, "alpha": self.alpha,
                "fdr": self.fdr, "permutations": self.permutations, "seed": self.seed,
                "k_islands": self.k_islands, "boundary_version": boundary_version}


@dataclass
class RefreshReport:
    run_id: int
    schemes: tuple[str, ...]
    as_of: date
    from_month: date | None
    data_version: str
    modes: dict[str, str] = field(default_factory=dict)  # scheme -> "full" | "from YYYY-MM"
    rows: dict[str, int] = field(default_factory=dict)  # "<scheme>.<table>" -> rows written
    seconds: dict[str, float] = field(default_factory=dict)  # "<scheme>.<step>" -> wall time
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        d["from_month"] = self.from_month.isoformat() if self.from_month else None
        return d


# --------------------------------------------------------------------------- small helpers
def default_as_of(conn: Connection, today: date | None = None) -> date:
    """End of the last complete month of data (see the module docstring)."""
    today = today or date.today()
    latest = conn.execute(text("SELECT max(received_date) FROM grievance_case")).scalar()
    this_month = month_start(today)
    if latest is None or month_start(latest) >= this_month:
        return this_month - timedelta(days=1)
    return add_months(latest, 1) - timedelta(days=1)


def _data_version(conn: Connection) -> str:
    imp, n, upd = conn.execute(text(
        "SELECT (SELECT max(id) FROM case_import), count(*), max(updated_at) FROM grievance_case")).one()
    return f"import:{imp or 0};cases:{n};updated:{upd.isoformat() if upd else '-'}"


def _boundary_version(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM boundary_load")).scalar())


def _table_exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar()


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (date, pd.Timestamp)):
        return v.isoformat()
    return str(v)


def _copy_frame(conn: Connection, table: str, df: pd.DataFrame) -> int:
    """Append ``df`` (columns = table columns) to ``table`` with COPY, inside the caller's transaction."""
    if df.empty:
        return 0
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False, na_rep="\\N")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(df.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
            cp.write(buf.getvalue())
    return len(df)


def _month_seed(seed: int | None, month: date) -> int | None:
    return None if seed is None else seed + month.year * 12 + month.month


# --------------------------------------------------------------------------- weights (cached)
_WEIGHTS: dict[tuple, W | None] = {}


def clear_weights_cache() -> None:
    _WEIGHTS.clear()


def province_weights(conn: Connection, scheme: str, province_code: str, k_islands: int = 1) -> W | None:
    """Queen weights (islands → k nearest) over the province's communes with a geometry; cached.

    The cache key holds the database URL, scheme, province, ``k_islands`` and the boundary version
    (``max(boundary_load.id)``), so loading new boundaries invalidates it.  None when the province
    has fewer than 3 communes with a geometry (no meaningful local statistic).
    """
    key = (conn.engine.url.render_as_string(hide_password=True), scheme, province_code, k_islands,
           _boundary_version(conn))
    if key not in _WEIGHTS:
        rows = conn.execute(text("""
            SELECT code, ST_AsBinary(geom) AS wkb FROM admin_unit
            WHERE scheme = :s AND level = 'commune' AND province_code = :p AND geom IS NOT NULL ORDER BY code"""),
            {"s": scheme, "p": province_code}).all()
        if len(rows) < 3:
            _WEIGHTS[key] = None
        else:
            gdf = gpd.GeoDataFrame({"code": [r.code for r in rows]},
                                   geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs="EPSG:4326")
            _WEIGHTS[key] = build_weights(gdf, "code", k_islands=k_islands)
    return _WEIGHTS[key]


def _cube_by_province(conn: Connection, scheme: str, column: str, start: date, end: date) -> dict[str, pd.DataFrame]:
    """Wide frames (months × communes) of one cube column for every province, read in one query."""
    df = pd.read_sql(text(f"""
        SELECT province_code, commune_code, month, {column} AS value FROM cube_month
        WHERE scheme = :s AND month BETWEEN :a AND :b"""), conn, params={"s": scheme, "a": start, "b": end})
    return {prov: g.pivot(index="month", columns="commune_code", values="value").sort_index()
            for prov, g in df.groupby("province_code")}


# --------------------------------------------------------------------------- steps
def _effective_from(conn: Connection, scheme: str, provinces: list[str], first: date, last: date,
                    from_month: date | None, signature: dict, notes: list[str]) -> date | None:
    """The first month to rebuild incrementally, or None for a full rebuild (see the module docstring)."""
    if from_month is None or not provinces:
        return None
    lo, hi, provs = conn.execute(text("""
        SELECT min(month), max(month), array_agg(DISTINCT province_code ORDER BY province_code)
        FROM cube_month WHERE scheme = :s"""), {"s": scheme}).one()
    previous = conn.execute(text("""
        SELECT params -> 'signature' FROM analytics_run
        WHERE status = 'ok' AND (scheme = :s OR scheme IS NULL) ORDER BY id DESC LIMIT 1"""), {"s": scheme}).scalar()
    reason = None
    if lo is None:
        reason = "no cube yet"
    elif previous != json.loads(json.dumps(signature)):
        reason = "parameters, intensity formula or boundaries changed since the last run"
    elif lo != first or list(provs or []) != list(provinces):
        reason = "the cube's first month or provinces changed"
    if reason:
        notes.append(f"{scheme}: full refresh instead of --from {from_month:%Y-%m} ({reason})")
        return None
    start = min(month_start(from_month), hi, last)
    return None if start <= first else start


def _gi_star_step(conn: Connection, scheme: str, provinces: list[str], first: date, start: date, last: date,
                  run_id: int, as_of: date, p: RefreshParams) -> int:
    """Gi* for months ``start..last`` (rows of the months before ``start`` are kept)."""
    conn.execute(text("""DELETE FROM gi_star_result WHERE scheme = :s
                         AND (month >= :m OR month < :f OR NOT province_code = ANY(:p))"""),
                 {"s": scheme, "m": start, "f": first, "p": provinces})
    frames = []
    values = _cube_by_province(conn, scheme, p.value_column, start, last)
    for prov in provinces:
        w = province_weights(conn, scheme, prov, p.k_islands)
        if w is None:
            continue
        ids = [str(i) for i in w.id_order]
        w_star = gi_star_weights(w)
        wide = values[prov].reindex(columns=ids)
        for month, row in wide.iterrows():
            y = row.to_numpy(dtype=float)
            z, pv = gi_star_scores(y, w_star, permutations=p.permutations, seed=_month_seed(p.seed, month))
            f = gi_star_frame(ids, y, z, pv, alpha=p.alpha, fdr=p.fdr)
            frames.append(f.assign(province_code=prov, month=month))
    if not frames:
        return 0
    out = pd.concat(frames, ignore_index=True).rename(columns={"unit_id": "commune_code"})
    out = out.assign(scheme=scheme, run_id=run_id, as_of=as_of)
    cols = ["scheme", "province_code", "commune_code", "month", "value", "z", "p", "p_fdr_cut", "bin",
            "significant", "run_id", "as_of"]
    return _copy_frame(conn, "gi_star_result", out[cols])


def _ehsa_step(conn: Connection, scheme: str, provinces: list[str], first: date, last: date,
               run_id: int, as_of: date, p: RefreshParams, notes: list[str]) -> int:
    conn.execute(text("DELETE FROM ehsa_result WHERE scheme = :s"), {"s": scheme})
    start = max(first, add_months(last, -(p.ehsa_months - 1)))
    n_months = (last.year - start.year) * 12 + last.month - start.month + 1
    if n_months < 3:
        notes.append(f"{scheme}: EHSA skipped, only {n_months} month(s) of data")
        return 0
    frames = []
    values = _cube_by_province(conn, scheme, p.value_column, start, last)
    for prov in provinces:
        w = province_weights(conn, scheme, prov, p.k_islands)
        if w is None:
            continue
        ids = [str(i) for i in w.id_order]
        wide = values[prov].reindex(columns=ids)
        cube = (wide.rename_axis(index="period", columns="unit_id").stack().rename("value").reset_index())
        cube["period"] = pd.PeriodIndex(pd.to_datetime(cube["period"]), freq="M")
        res = emerging_hotspots(cube, w, alpha=p.alpha, permutations=p.permutations, fdr=p.fdr,
                                time_lag=p.time_lag, seed=p.seed)
        frames.append(res.assign(province_code=prov))
    if not frames:
        return 0
    out = pd.concat(frames, ignore_index=True).rename(columns={"unit_id": "commune_code"})
    out = out.assign(scheme=scheme, window_start=start, window_end=last, priority_dialogue=False,
                     run_id=run_id, as_of=as_of)
    cols = ["scheme", "province_code", "commune_code", "category", "category_vi", "explanation_vi", "trend_tau",
            "trend_p", "n_periods", "n_hot", "n_cold", "final_run", "last_z", "last_p", "last_bin",
            "window_start", "window_end", "priority_dialogue", "run_id", "as_of"]
    return _copy_frame(conn, "ehsa_result", out[cols])


def load_cases(conn: Connection, scheme: str, as_of: date) -> pd.DataFrame:
    """Cases received by ``as_of``, each in its commune on ``scheme``, in the rules' and KPIs' shape."""
    if scheme == "legacy":
        place = ("c.commune_legacy AS commune_code, u.parent_code AS district_code, "
                 "c.province_legacy AS province_code")
        join = "JOIN admin_unit u ON u.scheme = 'legacy' AND u.code = c.commune_legacy"
    else:
        place = "c.commune_2025 AS commune_code, NULL AS district_code, c.province_2025 AS province_code"
        join = ""
    df = pd.read_sql(text(f"""
        SELECT c.id AS case_id, {place}, c.received_date, c.kind, c.category, c.people_count, c.is_mass,
               c.is_over_level, c.status, c.deadline_date, c.resolved_date,
               cardinality(c.dialogue_dates) AS dialogue_count, ST_X(c.location) AS lon, ST_Y(c.location) AS lat
        FROM grievance_case c {join}
        WHERE c.received_date <= :as_of ORDER BY c.id"""), conn, params={"as_of": as_of})
    for col in ("received_date", "deadline_date", "resolved_date"):
        df[col] = pd.to_datetime(df[col])
    return df


def _projects(conn: Connection) -> pd.DataFrame | None:
    if not _table_exists(conn, "key_project"):
        return None
    df = pd.read_sql(text("""
        SELECT id AS project_id, name, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat,
               clearance_status FROM key_project ORDER BY id"""), conn)
    df["clearance_status"] = df["clearance_status"].replace(_CLEARANCE_FOR_RULES)
    return df


def _places(cases: pd.DataFrame) -> pd.DataFrame:
    return cases[["commune_code", "district_code", "province_code"]].drop_duplicates("commune_code").set_index(
        "commune_code")


def _alerts_step(conn: Connection, scheme: str, cases: pd.DataFrame, rules: list[dict], run_id: int,
                 as_of: date) -> int:
    conn.execute(text("DELETE FROM alert WHERE scheme = :s"), {"s": scheme})
    if cases.empty:
        return 0
    found = evaluate_rules(cases, as_of=as_of, rules=rules, projects=_projects(conn))
    if found.empty:
        return 0
    out = found.join(_places(cases), on="commune_code")
    out = out.assign(scheme=scheme, run_id=run_id, as_of=as_of, priority_dialogue=False,
                     figures=out["figures"].map(lambda f: json.dumps(f, default=_json_default, ensure_ascii=False)))
    cols = ["scheme", "province_code", "district_code", "commune_code", "rule_id", "rule_type", "period", "figures",
            "message_vi", "message_en", "severity", "priority_dialogue", "run_id", "as_of"]
    return _copy_frame(conn, "alert", out[cols])


def kpi_periods(as_of: date) -> dict[str, tuple[date, date]]:
    """The KPI periods at ``as_of``: its month, the 12 months to it, the year to date (all end at as_of)."""
    return {"month": (month_start(as_of), as_of), "12m": (add_months(as_of, -11), as_of),
            "ytd": (date(as_of.year, 1, 1), as_of)}


def _targets_json(row: pd.Series, targets: Mapping[str, float]) -> str:
    out = {}
    for metric in targets:
        meets = row[f"{metric}_meets_target"]
        gap = row[f"{metric}_gap"]
        out[metric] = {"target": float(row[f"{metric}_target"]),
                       "gap": None if pd.isna(gap) else float(gap),
                       "meets_target": None if pd.isna(meets) else bool(meets)}
    return json.dumps(out)


def _kpi_step(conn: Connection, scheme: str, cases: pd.DataFrame, run_id: int, as_of: date,
              targets: Mapping[str, float]) -> int:
    conn.execute(text("DELETE FROM kpi_result WHERE scheme = :s"), {"s": scheme})
    if cases.empty:
        return 0
    levels = {"commune": "commune_code", "district": "district_code", "province": "province_code"}
    if scheme != "legacy":
        del levels["district"]
    province_of = {lvl: cases.drop_duplicates(col).set_index(col, drop=False)["province_code"]
                   for lvl, col in levels.items()}
    frames = []
    for kind, (start, end) in kpi_periods(as_of).items():
        for level, col in levels.items():
            k = handling_kpis(cases, start=start, end=end, by=col, as_of=as_of, targets=targets)
            k = k.rename(columns={col: "unit_code"})
            k["province_code"] = k["unit_code"].map(province_of[level])
            k["targets"] = k.apply(_targets_json, axis=1, targets=targets)
            frames.append(k.assign(level=level, period_kind=kind, period_start=start, period_end=end))
    out = pd.concat(frames, ignore_index=True).assign(scheme=scheme, run_id=run_id, as_of=as_of)
    for c in ("received", "resolved", "resolved_on_time", "backlog", "overdue", "mass_petitions", "dialogues"):
        out[c] = out[c].astype("int64")
    cols = ["scheme", "province_code", "level", "unit_code", "period_kind", "period_start", "period_end",
            "received", "resolved", "resolved_on_time", "resolved_on_time_pct", "median_days_to_resolve",
            "backlog", "overdue", "mass_petitions", "dialogues", "targets", "run_id", "as_of"]
    return _copy_frame(conn, "kpi_result", out[cols])


def _priority_step(conn: Connection, scheme: str) -> int:
    """Flag hotspots (hot EHSA category or an alert) in sensitive communes; the statistics are untouched."""
    if not _table_exists(conn, "sensitive_area"):
        return 0
    sensitive_hot = """
        SELECT h.commune_code FROM (
            SELECT commune_code FROM ehsa_result WHERE scheme = :s AND category = ANY(:hot)
            UNION SELECT commune_code FROM alert WHERE scheme = :s) h
        JOIN sensitive_area a ON a.scheme = :s AND a.unit_code = h.commune_code AND a.is_sensitive"""
    params = {"s": scheme, "hot": list(HOT_CATEGORIES)}
    n = conn.execute(text(f"""UPDATE ehsa_result SET priority_dialogue = true
                              WHERE scheme = :s AND commune_code IN ({sensitive_hot})"""), params).rowcount
    n += conn.execute(text(f"""UPDATE alert SET priority_dialogue = true
                               WHERE scheme = :s AND commune_code IN ({sensitive_hot})"""), params).rowcount
    return n


# --------------------------------------------------------------------------- the run
def _start_run(conn: Connection, scheme: str | None, from_month: date | None, as_of: date, params: dict,
               data_version: str) -> int:
    return conn.execute(text("""
        INSERT INTO analytics_run (scheme, from_month, as_of, params, data_version, status, run_by)
        VALUES (:s, :f, :a, CAST(:p AS jsonb), :v, 'running', :by) RETURNING id"""),
        {"s": scheme, "f": from_month, "a": as_of, "p": json.dumps(params, default=_json_default), "v": data_version,
         "by": _actor()}).scalar_one()


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def _record_failure(engine: Engine, scheme: str | None, from_month: date | None, as_of: date | None,
                    params: dict, exc: BaseException) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO analytics_run (scheme, from_month, as_of, params, status, error, finished_at, run_by)
                VALUES (:s, :f, :a, CAST(:p AS jsonb), 'failed', :e, clock_timestamp(), :by)"""),
                {"s": scheme, "f": from_month, "a": as_of, "p": json.dumps(params, default=_json_default),
                 "e": f"{type(exc).__name__}: {exc}"[:4000], "by": _actor()})
    except Exception:  # noqa: BLE001 - the database may be the reason the refresh failed
        log.exception("could not record the failed analytics run")


def _refresh_scheme(conn: Connection, scheme: str, ctx: dict, report: RefreshReport,
                    step: Callable[[str], None]) -> None:
    p: RefreshParams = ctx["params"]
    as_of, run_id = report.as_of, report.run_id

    def timed(name: str, fn, *args):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            # libpysal warns for every province whose weights have several components (islands
            # joined to their nearest unit still form small groups): expected, not actionable.
            warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
            out = fn(*args)
        report.seconds[f"{scheme}.{name}"] = round(time.perf_counter() - t0, 3)
        if isinstance(out, int):
            report.rows[f"{scheme}.{name}"] = out
        step(f"{scheme}:{name}")
        return out

    provinces = cube_provinces(conn, scheme, as_of)
    last = month_start(as_of)
    first = cube_first_month(conn, scheme, as_of) or last
    start = _effective_from(conn, scheme, provinces, first, last, report.from_month, ctx["signature"], report.notes)
    report.modes[scheme] = "full" if start is None else f"from {start:%Y-%m}"
    timed("cube", lambda: build_cube(conn, scheme=scheme, provinces=provinces, first_month=first,
                                     last_month=last, as_of=as_of, run_id=run_id, intensity=ctx["intensity"],
                                     from_month=start))
    timed("gi_star", _gi_star_step, conn, scheme, provinces, first, start or first, last, run_id, as_of, p)
    timed("ehsa", _ehsa_step, conn, scheme, provinces, first, last, run_id, as_of, p, report.notes)
    cases = load_cases(conn, scheme, as_of)
    timed("alerts", _alerts_step, conn, scheme, cases, ctx["rules"], run_id, as_of)
    timed("kpis", _kpi_step, conn, scheme, cases, run_id, as_of, ctx["targets"])
    timed("priority", _priority_step, conn, scheme)


def refresh(
    engine: Engine,
    *,
    scheme: str | None = None,
    from_month: date | None = None,
    as_of: date | None = None,
    params: RefreshParams | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RefreshReport:
    """Recompute the cube and every analytics result for ``scheme`` (None = both), in one transaction.

    ``from_month``: rebuild the cube and Gi* only from that month on (see the module docstring for
    when this falls back to a full refresh).  ``as_of``: the date the results describe (default:
    end of the last complete month of data).  ``on_step(name)`` is called after each step
    (``"legacy:cube"``, ``"legacy:gi_star"``, …): a hook for progress output and for tests.
    """
    if scheme is not None and scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES} or None, got {scheme!r}")
    p = params or RefreshParams()
    schemes = SCHEMES if scheme is None else (scheme,)
    step = on_step or (lambda name: None)
    requested = {"scheme": scheme, "from_month": from_month, "as_of": as_of, "params": asdict(p)}
    t0 = time.perf_counter()
    try:
        intensity = load_intensity(p.intensity_path)
        rules = load_rules(p.rules_path)
        targets = dict(DEFAULT_TARGETS if p.kpi_targets is None else p.kpi_targets)
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            # fresh tables have no planner statistics: without them the cube query takes minutes, not seconds
            conn.execute(text("ANALYZE grievance_case"))
            as_of = as_of or default_as_of(conn)
            signature = p.cube_signature(intensity, _boundary_version(conn))
            run_params = {**requested, "as_of": as_of, "signature": signature, "rules": rules,
                          "intensity_formula": intensity.formula(), "kpi_targets": targets}
            version = _data_version(conn)
            run_id = _start_run(conn, scheme, from_month, as_of, run_params, version)
            report = RefreshReport(run_id=run_id, schemes=schemes, as_of=as_of, from_month=from_month,
                                   data_version=version)
            ctx = {"params": p, "intensity": intensity, "rules": rules, "targets": targets, "signature": signature}
            for s in schemes:
                _refresh_scheme(conn, s, ctx, report, step)
            t1 = time.perf_counter()  # the maps' fixed class breaks read these (see cube.class_quantiles)
            quantiles = {s: class_quantiles(conn, s) for s in schemes}
            report.seconds["class_quantiles"] = round(time.perf_counter() - t1, 3)
            report.seconds["total"] = round(time.perf_counter() - t0, 3)
            conn.execute(text("""
                UPDATE analytics_run SET status = 'ok', finished_at = clock_timestamp(),
                       params = params || CAST(:extra AS jsonb) WHERE id = :id"""),
                {"id": run_id, "extra": json.dumps({"modes": report.modes, "rows": report.rows,
                                                    "seconds": report.seconds, "notes": report.notes,
                                                    "class_quantiles": quantiles})})
        return report
    except BaseException as exc:
        _record_failure(engine, scheme, from_month, as_of, requested, exc)
        raise
