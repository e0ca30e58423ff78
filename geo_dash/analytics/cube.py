"""The space-time cube: one row per commune and month, on one scheme, materialised in ``cube_month``.

Computed entirely in SQL (one ``INSERT … SELECT`` with ``generate_series`` for the months) so a
million cases refresh in seconds; :func:`build_cube` is called by
:func:`geo_dash.analytics.refresh.refresh` inside its transaction.

Which cases count where
    * **legacy scheme**: a case counts, with weight 1, in its ``commune_legacy``.  Cases filed on a
      2025 commune have no legacy commune and do **not** appear on the legacy cube (decision: a
      reverse crosswalk would smear post-2025 cases over abolished units nobody reports on).
    * **2025 scheme**: a case filed on a 2025 commune counts 1 in it; a case filed on a legacy
      commune **with a point** counts 1 in its ``commune_2025`` (the crosswalk target containing
      the point, chosen by the writer); a legacy case **without a point** is split over the
      crosswalk targets of its legacy commune, ``weight × 1`` in each (the weights of a legacy
      commune sum to 1, so a case still counts 1 in total).  Counts on the 2025 scheme are
      therefore fractional.
    * Only cases received on or before ``as_of`` count.

Columns per commune and month ``m`` (``snapshot(m)`` = the last day of ``m``, or ``as_of`` for the
month of ``as_of``)
    * ``new_<category>`` (one per category code), ``n_new``, ``n_mass``, ``n_over_level``,
      ``n_land`` (:data:`~geo_dash.cases.vocab.LAND_CATEGORIES`): cases received in ``m``;
    * ``backlog``: cases open at ``snapshot(m)``, exactly as :func:`geo_dash.analytics.kpis.open_at`
      (received by then and either in an open status, or ``da_giai_quyet`` with a later
      ``resolved_date``; not accepted / withdrawn cases are never open);
    * ``overdue``: of those, ``deadline_date < snapshot(m)``;
    * ``resolved``, ``resolved_on_time``: ``resolved_date`` in ``m`` (and ``<= deadline_date``) — the
      same definition as :func:`~geo_dash.analytics.kpis.handling_kpis` (any closing status);
    * ``dialogues``: dialogue dates (``dialogue_dates``) falling in ``m``;
    * ``*_per_10k``: generated columns, NULL where the population is unknown or zero;
    * ``intensity_count`` and ``intensity`` (below).

Grievance intensity (configurable in ``intensity.yaml``, recorded in every run's params)::

    intensity_count = Σ_k weight_k · component_k          (default: 1·n_new + 2·n_mass
                                                            + 1.5·n_over_level + 0.5·overdue)
    intensity       = intensity_count · per_people / population      (per_people = 10,000)

A mass petition is also a new case, so by default it weighs 1 + 2 = 3.  Where the population is
unknown or zero the province's median commune population (same scheme) is used and
``population_imputed`` is true (``missing_population: province_median``); if a whole province has
no population, intensity = intensity_count there.  ``per_people: null`` gives the plain weighted
count everywhere.

No gaps
    Every commune of every *included* province of the scheme has a row for every month from the
    cube's first month (the month of the earliest case on the scheme) to the month of ``as_of``;
    months without cases are zeros (EHSA needs complete series).  Included provinces are those
    with at least one case on the scheme: a province nobody imported cases for has *no data*,
    which is not the same as zero grievances, so it gets no rows at all.

Incremental builds
    Backlog and overdue are running sums of +w/−w events (the month a case becomes open / overdue
    and the month it closes).  Rebuilding the months from ``from_month`` on therefore reads only the
    cases that touch those months (received, closed, past their deadline or with a dialogue then)
    and carries in the stocks at the end of the month before from the cube itself.  That equals a
    full build as long as nothing changed before ``from_month`` — the caller's premise (see
    :mod:`geo_dash.analytics.refresh`); a full build (``from_month`` = the first month) reads
    every case and carries nothing in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import Connection, text

from geo_dash.cases.vocab import CATEGORIES, LAND_CATEGORIES, OPEN_STATUSES

__all__ = [
    "SCHEMES",
    "CATEGORY_COLUMNS",
    "COMPONENTS",
    "STOCK_COLUMNS",
    "INDICATORS",
    "DEFAULT_INTENSITY_PATH",
    "IntensityConfig",
    "load_intensity",
    "month_start",
    "add_months",
    "cube_provinces",
    "cube_first_month",
    "build_cube",
]

SCHEMES = ("legacy", "2025")
CATEGORY_COLUMNS: tuple[str, ...] = tuple(f"new_{t.code}" for t in CATEGORIES)
FLOW_COLUMNS: tuple[str, ...] = CATEGORY_COLUMNS + (
    "n_new", "n_mass", "n_over_level", "n_land", "resolved", "resolved_on_time", "dialogues",
)
#: Stocks (a state at the month's snapshot), not flows: a range of months takes the last value.
STOCK_COLUMNS: tuple[str, ...] = ("backlog", "overdue")
#: Cube columns the intensity formula may weigh.
COMPONENTS: tuple[str, ...] = FLOW_COLUMNS + STOCK_COLUMNS
RATE_COLUMNS: dict[str, str] = {
    "new_per_10k": "n_new", "mass_per_10k": "n_mass", "over_level_per_10k": "n_over_level",
    "land_per_10k": "n_land", "backlog_per_10k": "backlog", "overdue_per_10k": "overdue",
}
#: Every cube column a map may show, with whether it is a stock (True) or a flow (False).
INDICATORS: dict[str, bool] = (
    {c: c in STOCK_COLUMNS for c in COMPONENTS}
    | {r: src in STOCK_COLUMNS for r, src in RATE_COLUMNS.items()}
    | {"intensity": False, "intensity_count": False}
)
DEFAULT_INTENSITY_PATH = Path(__file__).with_name("intensity.yaml")
_MISSING_POPULATION = ("province_median", "count")


#: The indicators a map can show (the map page, the wall, the snapshots).
MAP_INDICATORS: tuple[str, ...] = ("intensity", "n_new", "new_per_10k", "n_land", "n_mass", "n_over_level",
                                   "backlog", "overdue")
#: How many evenly spaced quantiles of an indicator a run stores per province (and for the country).
N_QUANTILES = 101


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class IntensityConfig:
    """Weights of the intensity formula (see the module docstring)."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: {"n_new": 1.0, "n_mass": 2.0, "n_over_level": 1.5, "overdue": 0.5}
    )
    per_people: float | None = 10_000
    missing_population: str = "province_median"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"intensity: unknown component(s) {unknown}; known: {list(COMPONENTS)}")
        if not self.weights:
            raise ValueError("intensity: at least one weight is needed")
        for name, w in self.weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise ValueError(f"intensity.weights.{name}: expected a number >= 0, got {w!r}")
        if self.per_people is not None and (isinstance(self.per_people, bool) or not self.per_people > 0):
            raise ValueError(f"intensity.per_people: expected a positive number or null, got {self.per_people!r}")
        if self.missing_population not in _MISSING_POPULATION:
            raise ValueError(f"intensity.missing_population: one of {list(_MISSING_POPULATION)}")

    def as_dict(self) -> dict:
        return {"weights": {k: float(v) for k, v in sorted(self.weights.items())},
                "per_people": self.per_people, "missing_population": self.missing_population}

    def formula(self) -> str:
        terms = " + ".join(f"{float(w):g}·{c}" for c, w in self.weights.items())
        return f"({terms}) × {self.per_people:g} / population" if self.per_people else terms

    def count_sql(self) -> str:
        """SQL expression of ``intensity_count`` over the cube's component columns."""
        return " + ".join(f"{float(w)!r} * {c}" for c, w in self.weights.items())


def load_intensity(path: str | Path | None = None) -> IntensityConfig:
    """Read ``intensity.yaml`` (or another file with an ``intensity:`` block); errors name the file."""
    path = Path(path) if path is not None else DEFAULT_INTENSITY_PATH
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    block = doc.get("intensity") if isinstance(doc, Mapping) else None
    if not isinstance(block, Mapping) or not isinstance(block.get("weights"), Mapping):
        raise ValueError(f"{path}: expected an 'intensity:' block with 'weights:'")
    unknown = sorted(set(block) - {"weights", "per_people", "missing_population"})
    if unknown:
        raise ValueError(f"{path}: intensity.{unknown[0]}: unknown field")
    try:
        return IntensityConfig(weights=dict(block["weights"]), per_people=block.get("per_people", 10_000),
                               missing_population=block.get("missing_population", "province_median"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


# --------------------------------------------------------------------------- months
def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    """First day of the month ``n`` months after the month of ``d`` (n may be negative)."""
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


# --------------------------------------------------------------------------- SQL
# A case touches the months from :from_month on when it was received, closed, became overdue or had a
# dialogue then; older cases only contribute to the stocks carried into :from_month.
_TOUCHES_FROM = """ AND (c.received_date >= :from_month OR c.resolved_date >= :from_month
              OR c.deadline_date + 1 >= :from_month
              OR (cardinality(c.dialogue_dates) > 0
                  AND EXISTS (SELECT 1 FROM unnest(c.dialogue_dates) AS d WHERE d >= :from_month)))"""


def placed_sql(scheme: str, only_touching: bool = False, *, where: str = "", where_split: str | None = None) -> str:
    """Cases (received by :as_of) with the commune they count in on ``scheme`` and their weight ``w``.

    The one placement rule (module docstring), for the cube and for anything that counts cases per
    commune the way the cube does (the map's case filters).  ``only_touching``: only the cases that
    change a month from ``:from_month`` on.  ``where``: extra SQL conditions on ``c`` (``AND …``) for the
    cases placed directly; ``where_split``: for the legacy cases split over the crosswalk (default:
    ``where``) — a province filter differs between the two.
    """
    cols = ("c.received_date, c.category, c.is_mass, c.is_over_level, c.status, c.deadline_date, "
            "c.resolved_date, c.dialogue_dates")
    touch = _TOUCHES_FROM if only_touching else ""
    split = where if where_split is None else where_split
    if scheme == "legacy":
        return f"""
            SELECT c.commune_legacy AS commune_code, 1.0::float8 AS w, {cols}
            FROM grievance_case c WHERE c.commune_legacy IS NOT NULL AND c.received_date <= :as_of{touch} {where}"""
    return f"""
            SELECT c.commune_2025 AS commune_code, 1.0::float8 AS w, {cols}
            FROM grievance_case c
            WHERE c.received_date <= :as_of{touch} {where}
              AND (c.unit_scheme = '2025' OR c.location IS NOT NULL OR c.commune_legacy IS NULL)
            UNION ALL
            SELECT x.new_code, x.weight, {cols}
            FROM grievance_case c JOIN crosswalk x ON x.legacy_code = c.commune_legacy
            WHERE c.received_date <= :as_of{touch} {split} AND c.unit_scheme = 'legacy' AND c.location IS NULL
              AND x.weight > 0"""


def _sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))  # vocabulary codes: [a-z_] only


# The commune attributes (only the grid's "cell" rows carry them; max() picks them up per cell).
_NO_ATTRIBUTES = ("NULL::varchar AS province_code, NULL::varchar AS district_code, NULL::bigint AS population, "
                  "NULL::float8 AS province_median")


def _cell_aggregates() -> str:
    """Per (commune, month) sums over the event stream ``ev`` (see :func:`_cube_insert_sql`)."""
    recv = "kind = 'recv'"
    parts = [f"COALESCE(sum(w) FILTER (WHERE {recv} AND category = '{t.code}'), 0) AS new_{t.code}"
             for t in CATEGORIES]
    parts += [
        f"COALESCE(sum(w) FILTER (WHERE {recv}), 0) AS n_new",
        f"COALESCE(sum(w) FILTER (WHERE {recv} AND flag), 0) AS n_mass",
        f"COALESCE(sum(w) FILTER (WHERE {recv} AND flag2), 0) AS n_over_level",
        f"COALESCE(sum(w) FILTER (WHERE {recv} AND category IN ({_sql_list(LAND_CATEGORIES)})), 0) AS n_land",
        "COALESCE(sum(w) FILTER (WHERE kind = 'close'), 0) AS resolved",
        "COALESCE(sum(w) FILTER (WHERE kind = 'close' AND flag), 0) AS resolved_on_time",
        "COALESCE(sum(w) FILTER (WHERE kind = 'talk'), 0) AS dialogues",
        "COALESCE(sum(w) FILTER (WHERE kind = 'backlog'), 0) AS d_backlog",
        "COALESCE(sum(w) FILTER (WHERE kind = 'overdue'), 0) AS d_overdue",
    ]
    return ",\n                ".join(parts)


def _intensity_sql(cfg: IntensityConfig) -> str:
    count = f"({cfg.count_sql()})"
    if not cfg.per_people:
        return f"{count} AS intensity_count, {count} AS intensity, false AS population_imputed"
    per = float(cfg.per_people)
    if cfg.missing_population == "province_median":
        pop = "CASE WHEN population > 0 THEN population ELSE province_median END"
        imputed = "NOT COALESCE(population > 0, false) AND province_median IS NOT NULL"
    else:
        pop = "CASE WHEN population > 0 THEN population END"
        imputed = "false"
    return (f"{count} AS intensity_count, COALESCE({count} * {per!r} / ({pop}), {count}) AS intensity, "
            f"{imputed} AS population_imputed")


def _cube_insert_sql(scheme: str, cfg: IntensityConfig) -> str:
    """One INSERT … SELECT: every fact becomes a typed event row, aggregated once per (commune, month).

    Event kinds: ``recv`` (received in the month; flag = mass, flag2 = over level), ``close``
    (resolved_date in the month; flag = on time), ``talk`` (a dialogue date), ``backlog`` / ``overdue``
    (+w in the month a case becomes open / overdue, −w in the month it closes), ``cell`` (a zero for
    every commune and month of the grid, so no cell is missing).  Stocks are the cube's own value at
    the end of the month before ``from_month`` (none for a full build) plus a running sum of deltas.
    """
    counts = list(FLOW_COLUMNS) + list(STOCK_COLUMNS)
    district = "u.parent_code" if scheme == "legacy" else "NULL::varchar"
    open_statuses = _sql_list(OPEN_STATUSES)
    flows = ", ".join(FLOW_COLUMNS)
    return f"""
        WITH placed AS ({placed_sql(scheme, only_touching=True)}
        ),
        spans AS (  -- open from the received month until (excluding) the closing month; overdue from deadline+1
            SELECT commune_code, w,
                   date_trunc('month', received_date)::date AS open_from,
                   CASE WHEN status = 'da_giai_quyet' AND resolved_date <= :as_of
                        THEN date_trunc('month', resolved_date)::date END AS open_until,
                   CASE WHEN deadline_date + 1 <= :as_of
                        THEN greatest(date_trunc('month', received_date), date_trunc('month', deadline_date + 1))::date
                   END AS overdue_from
            FROM placed
            WHERE status IN ({open_statuses}) OR (status = 'da_giai_quyet' AND resolved_date IS NOT NULL)
        ),
        stock AS (
            SELECT commune_code, open_from AS month, 'backlog' AS kind, w FROM spans
                WHERE open_until IS NULL OR open_until > open_from
            UNION ALL SELECT commune_code, open_until, 'backlog', -w FROM spans WHERE open_until > open_from
            UNION ALL SELECT commune_code, overdue_from, 'overdue', w FROM spans
                WHERE overdue_from IS NOT NULL AND (open_until IS NULL OR open_until > overdue_from)
            UNION ALL SELECT commune_code, open_until, 'overdue', -w FROM spans
                WHERE overdue_from IS NOT NULL AND open_until > overdue_from
        ),
        medians AS (
            SELECT province_code,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY population) FILTER (WHERE population > 0)
                       AS province_median
            FROM admin_unit
            WHERE scheme = :scheme AND level = 'commune' AND province_code = ANY(:provinces)
            GROUP BY province_code
        ),
        ev AS (
            SELECT commune_code, date_trunc('month', received_date)::date AS month, 'recv' AS kind, w,
                   category, is_mass AS flag, is_over_level AS flag2, {_NO_ATTRIBUTES}
            FROM placed WHERE received_date >= :from_month
            UNION ALL
            SELECT commune_code, date_trunc('month', resolved_date)::date, 'close', w,
                   NULL, resolved_date <= deadline_date, NULL, {_NO_ATTRIBUTES}
            FROM placed WHERE resolved_date >= :from_month AND resolved_date <= :as_of
            UNION ALL
            SELECT p.commune_code, date_trunc('month', d)::date, 'talk', p.w, NULL, NULL, NULL, {_NO_ATTRIBUTES}
            FROM placed p CROSS JOIN LATERAL unnest(p.dialogue_dates) AS d
            WHERE d >= :from_month AND d <= :as_of
            UNION ALL
            SELECT commune_code, month, kind, w, NULL, NULL, NULL, {_NO_ATTRIBUTES}
            FROM stock WHERE month >= :from_month
            UNION ALL  -- stocks at the end of the month before :from_month, as the cube already holds them
            SELECT commune_code, CAST(:from_month AS date), kind, v, NULL, NULL, NULL, {_NO_ATTRIBUTES}
            FROM cube_month CROSS JOIN LATERAL (VALUES ('backlog', backlog), ('overdue', overdue)) AS s(kind, v)
            WHERE scheme = :scheme AND month = CAST(:from_month AS date) - interval '1 month'
            UNION ALL  -- every commune and month once, with the commune's attributes
            SELECT u.code, m.month::date, 'cell', 0.0, NULL, NULL, NULL,
                   u.province_code, {district}, u.population, md.province_median
            FROM admin_unit u JOIN medians md ON md.province_code = u.province_code
            CROSS JOIN generate_series(CAST(:from_month AS date), CAST(:last_month AS date),
                                       interval '1 month') AS m(month)
            WHERE u.scheme = :scheme AND u.level = 'commune' AND u.province_code = ANY(:provinces)
        ),
        cells AS (
            SELECT commune_code, month, max(province_code) AS province_code, max(district_code) AS district_code,
                   max(population) AS population, max(province_median) AS province_median,
                {_cell_aggregates()}
            FROM ev WHERE month <= :last_month GROUP BY commune_code, month
        ),
        joined AS (  -- no join after the aggregation: robust to missing planner statistics
            SELECT province_code, commune_code, month, district_code, population, province_median, {flows},
                   round(CAST(sum(d_backlog) OVER (PARTITION BY commune_code ORDER BY month) AS numeric),
                         9)::float8 AS backlog,
                   round(CAST(sum(d_overdue) OVER (PARTITION BY commune_code ORDER BY month) AS numeric),
                         9)::float8 AS overdue
            FROM cells WHERE province_code IS NOT NULL
        )
        INSERT INTO cube_month (scheme, province_code, commune_code, month, district_code, population,
                                {", ".join(counts)}, intensity_count, intensity, population_imputed, run_id, as_of)
        SELECT :scheme, province_code, commune_code, month, district_code, population,
               {", ".join(counts)}, {_intensity_sql(cfg)}, :run_id, :as_of
        FROM joined
    """


# --------------------------------------------------------------------------- public functions
def cube_provinces(conn: Connection, scheme: str, as_of: date) -> list[str]:
    """Provinces with at least one case (received by ``as_of``) on ``scheme``: the cube's provinces."""
    if scheme == "legacy":
        communes = """SELECT DISTINCT commune_legacy AS code FROM grievance_case
                      WHERE commune_legacy IS NOT NULL AND received_date <= :as_of"""
    else:  # the same placement as placed_sql, on distinct communes first
        communes = """
            SELECT DISTINCT commune_2025 AS code FROM grievance_case WHERE received_date <= :as_of
                AND (unit_scheme = '2025' OR location IS NOT NULL OR commune_legacy IS NULL)
            UNION
            SELECT x.new_code FROM (
                SELECT DISTINCT commune_legacy FROM grievance_case
                WHERE received_date <= :as_of AND unit_scheme = 'legacy' AND location IS NULL) l
            JOIN crosswalk x ON x.legacy_code = l.commune_legacy AND x.weight > 0"""
    rows = conn.execute(text(f"""
        SELECT DISTINCT u.province_code FROM ({communes}) p
        JOIN admin_unit u ON u.scheme = :scheme AND u.level = 'commune' AND u.code = p.code
        ORDER BY 1"""), {"scheme": scheme, "as_of": as_of}).scalars().all()
    return list(rows)


def cube_first_month(conn: Connection, scheme: str, as_of: date) -> date | None:
    """Month of the earliest case (received by ``as_of``) on ``scheme``; None when there is none.

    Every case has a 2025 commune; only cases with a legacy commune are on the legacy scheme.
    """
    legacy_only = "AND commune_legacy IS NOT NULL" if scheme == "legacy" else ""
    first = conn.execute(text(f"SELECT min(received_date) FROM grievance_case WHERE received_date <= :as_of "
                              f"{legacy_only}"), {"as_of": as_of}).scalar()
    return month_start(first) if first else None


def build_cube(
    conn: Connection,
    *,
    scheme: str,
    provinces: list[str],
    first_month: date,
    last_month: date,
    as_of: date,
    run_id: int,
    intensity: IntensityConfig,
    from_month: date | None = None,
) -> int:
    """(Re)build the cube of ``scheme`` for months ``first_month..last_month`` inside the caller's transaction.

    ``from_month`` None: full build — every row of the scheme is replaced.  Else incremental: rows
    before ``from_month`` are kept, months ``from_month..last_month`` are deleted and rebuilt, their
    stocks carried in from the kept month before (see "Incremental builds" above).  Returns the
    number of rows inserted.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    first_month, last_month = month_start(first_month), month_start(last_month)
    from_month = first_month if from_month is None else max(month_start(from_month), first_month)
    if from_month == first_month:
        conn.execute(text("DELETE FROM cube_month WHERE scheme = :s"), {"s": scheme})
    else:
        conn.execute(text("DELETE FROM cube_month WHERE scheme = :s AND (month >= :m OR month < :f "
                          "OR NOT province_code = ANY(:p))"),
                     {"s": scheme, "m": from_month, "f": first_month, "p": list(provinces)})
    if not provinces or last_month < from_month:
        return 0
    params = {"scheme": scheme, "provinces": list(provinces), "from_month": from_month,
              "last_month": last_month, "as_of": as_of, "run_id": run_id}
    # JIT compilation costs 1-2 s here and buys nothing: the row estimates of the CTEs are far too
    # high, which is what makes the planner think the query is expensive enough to compile.
    # (Transaction-local; restored after the insert, and by the rollback if it fails.)
    previous = conn.execute(text("SELECT current_setting('jit')")).scalar()
    conn.execute(text("SELECT set_config('jit', 'off', true)"))
    rows = conn.execute(text(_cube_insert_sql(scheme, intensity)), params).rowcount
    conn.execute(text("SELECT set_config('jit', :v, true)"), {"v": previous})
    return rows


def class_quantiles(conn: Connection, scheme: str, indicators=MAP_INDICATORS) -> dict[str, dict[str, list[float]]]:
    """``{indicator: {province_code | "VN": [N_QUANTILES quantiles]}}`` over every month of the cube.

    What the map's classes are fixed on (colours mean the same in every month), computed once per run
    by :func:`geo_dash.analytics.refresh.refresh` and stored in its ``params`` so that no request has
    to sort the country's cube.  ``"VN"`` is the whole scheme.
    """
    fractions = [i / (N_QUANTILES - 1) for i in range(N_QUANTILES)]
    out: dict[str, dict[str, list[float]]] = {}
    for ind in indicators:
        if ind not in INDICATORS:
            raise ValueError(f"unknown indicator {ind!r}")
        rows = conn.execute(text(f"""
            SELECT COALESCE(province_code, 'VN'),
                   percentile_cont(CAST(:f AS float8[])) WITHIN GROUP (ORDER BY {ind})
            FROM cube_month WHERE scheme = :s AND {ind} IS NOT NULL
            GROUP BY GROUPING SETS ((province_code), ())"""), {"s": scheme, "f": fractions}).all()
        out[ind] = {code: [round(float(v), 6) for v in values] for code, values in rows}
    return out
