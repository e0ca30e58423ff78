"""Early-warning rules over grievance cases, configured in YAML.

Rule types (parameters are all required in the YAML; defaults live in
``default_rules.yaml``):

``mass_petitions_window`` (min_count, window_days)
    Alert a commune with >= ``min_count`` mass petitions (``is_mass``)
    received in the window (as_of - window_days, as_of].

``spike_over_baseline`` (baseline_months, k_sd, min_ratio, low_baseline_mean, low_baseline_count)
    Monthly spike test in the spirit of ACLED's conflict "spike" indicator
    (a month well above the location's own recent average).  The evaluated
    month M is the latest *complete* calendar month at ``as_of`` (the month of
    ``as_of`` if ``as_of`` is its last day, else the month before).  With
    ``c`` = cases received in M and ``mean``, ``sd`` (sample sd, ddof=1) of
    the monthly counts over the ``baseline_months`` months before M (months
    without cases count as 0), alert when::

        c > mean + k_sd * sd   and   c >= min_ratio * mean

    unless the low-baseline guard holds::

        mean <= low_baseline_mean   and   c <= low_baseline_count   -> no alert

    (small communes going from 0-2 cases to 3-5 are noise, not a spike).  The
    ratio condition stops alerts when the baseline is flat (sd ≈ 0) and the
    month is only marginally higher.

``overdue_above`` (threshold)
    Alert a commune with more than ``threshold`` cases open at ``as_of``
    (:func:`.kpis.open_at`: received by as_of, status tiep_nhan /
    dang_giai_quyet or resolved after as_of) whose ``deadline_date`` < as_of.

``near_key_project`` (window_days, radius_km, clearance_statuses)
    Alert, per commune and project, new cases received in the window
    (as_of - window_days, as_of] with known lon/lat within ``radius_km``
    (geodesic distance on the WGS84 ellipsoid, :class:`pyproj.Geod`) of a key
    project whose ``clearance_status`` is listed (default: dang_giai_phong,
    site clearance under way).  Needs the ``projects`` frame; without it the
    rule yields nothing.

Cases received after ``as_of`` are ignored by every rule, so the rules can be
back-tested on history.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pyproj import Geod

from .kpis import normalise_cases, open_at

__all__ = ["DEFAULT_RULES_PATH", "RULE_TYPES", "SEVERITIES", "load_rules", "validate_rules", "evaluate_rules"]

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.yaml")
SEVERITIES = ("low", "medium", "high")
RESULT_COLUMNS = [
    "rule_id",
    "rule_type",
    "commune_code",
    "period",
    "as_of",
    "figures",
    "message_vi",
    "message_en",
    "severity",
]
CLEARANCE_STATUSES = frozenset({"dang_giai_phong", "hoan_thanh", "chua_bat_dau"})
_WGS84 = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Param:
    kind: type  # int, float or list
    minimum: float | None = 0


@dataclass(frozen=True)
class Alert:
    commune_code: str
    period: str
    figures: dict
    message_vi: str
    message_en: str


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _window(cases: pd.DataFrame, as_of: pd.Timestamp, days: int) -> pd.Series:
    """Mask of cases received in (as_of - days, as_of]."""
    return (cases["received_date"] > as_of - pd.Timedelta(days=days)) & (cases["received_date"] <= as_of)


def _window_label(as_of: pd.Timestamp, days: int) -> str:
    first = as_of - pd.Timedelta(days=days - 1)
    return f"{first.date().isoformat()}..{as_of.date().isoformat()}"


def _num(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}"


def _num_vi(x: float, digits: int = 1) -> str:
    return _num(x, digits).replace(".", ",")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --------------------------------------------------------------------------
# rule evaluators: (cases, as_of, params, projects) -> list[Alert]
# --------------------------------------------------------------------------
def mass_petitions_window(cases: pd.DataFrame, as_of: pd.Timestamp, params: Mapping, projects=None) -> list[Alert]:
    """>= min_count mass petitions in one commune in the last window_days days."""
    n_min, days = params["min_count"], params["window_days"]
    recent = cases[_window(cases, as_of, days) & cases["is_mass"].fillna(False).astype(bool)]
    alerts = []
    for commune, group in recent.groupby("commune_code", sort=True):
        n = len(group)
        if n < n_min:
            continue
        alerts.append(
            Alert(
                commune_code=str(commune),
                period=_window_label(as_of, days),
                figures={"mass_petitions": n, "window_days": days, "min_count": n_min,
                         "case_ids": group["case_id"].tolist() if "case_id" in group else []},
                message_vi=(
                    f"Xã/phường {commune}: {n} vụ khiếu kiện đông người trong {days} ngày qua "
                    f"(ngưỡng ≥ {n_min})."
                ),
                message_en=(
                    f"Commune {commune}: {_plural(n, 'mass petition')} in the last {days} days "
                    f"(threshold >= {n_min})."
                ),
            )
        )
    return alerts


def _evaluated_month(as_of: pd.Timestamp) -> pd.Period:
    """Latest complete calendar month at as_of."""
    month = as_of.to_period("M")
    return month if as_of.normalize() == month.end_time.normalize() else month - 1


def spike_test(count: int, mean: float, sd: float, params: Mapping) -> tuple[bool, float]:
    """(alert?, mean + k_sd * sd) for one commune-month; formula in the module docstring."""
    threshold = mean + params["k_sd"] * sd
    guarded = mean <= params["low_baseline_mean"] and count <= params["low_baseline_count"]
    alert = count > threshold and count >= params["min_ratio"] * mean and not guarded
    return bool(alert), float(threshold)


def min_alert_count(mean: float, sd: float, params: Mapping) -> int:
    """Smallest monthly count that :func:`spike_test` alerts on (shown to users as the threshold)."""
    candidates = [
        math.floor(mean + params["k_sd"] * sd) + 1,
        math.ceil(params["min_ratio"] * mean),
        params["low_baseline_count"] + 1 if mean <= params["low_baseline_mean"] else 1,
        1,
    ]
    count = max(candidates)
    while not spike_test(count, mean, sd, params)[0]:  # float edge cases only
        count += 1
    return count


def spike_over_baseline(cases: pd.DataFrame, as_of: pd.Timestamp, params: Mapping, projects=None) -> list[Alert]:
    """Month count above the commune's own previous-months baseline."""
    month = _evaluated_month(as_of)
    months = pd.period_range(month - params["baseline_months"], month, freq="M")
    known = cases[cases["received_date"] <= as_of]
    counts = (
        known.assign(month=known["received_date"].dt.to_period("M"))
        .loc[lambda d: d["month"].isin(months)]
        .groupby(["commune_code", "month"])
        .size()
        .unstack("month")
        .reindex(index=sorted(known["commune_code"].dropna().unique()), columns=months)
        .fillna(0)
        .astype(int)
    )
    alerts = []
    for commune, row in counts.iterrows():
        base = row.iloc[:-1].to_numpy(dtype=float)
        count = int(row.iloc[-1])
        mean = float(base.mean())
        sd = float(base.std(ddof=1))  # baseline_months >= 2, so ddof=1 is defined
        alert, threshold = spike_test(count, mean, sd, params)
        if not alert:
            continue
        minimum = min_alert_count(mean, sd, params)
        figures = {"month": str(month), "count": count, "baseline_mean": round(mean, 3),
                   "baseline_sd": round(sd, 3), "threshold": round(threshold, 3),
                   "min_alert_count": minimum, "baseline_months": params["baseline_months"]}
        alerts.append(
            Alert(
                commune_code=str(commune),
                period=str(month),
                figures=figures,
                message_vi=(
                    f"Xã/phường {commune}: {count} vụ việc trong tháng {month.strftime('%m/%Y')}, "
                    "tăng đột biến so với "
                    f"{params['baseline_months']} tháng trước (trung bình {_num_vi(mean)} vụ/tháng, "
                    f"ngưỡng cảnh báo từ {minimum} vụ)."
                ),
                message_en=(
                    f"Commune {commune}: {count} cases in {month}, a spike over the previous "
                    f"{params['baseline_months']} months (mean {_num(mean)} per month, alert from {minimum} cases)."
                ),
            )
        )
    return alerts


def overdue_above(cases: pd.DataFrame, as_of: pd.Timestamp, params: Mapping, projects=None) -> list[Alert]:
    """More than `threshold` open cases past their deadline at as_of."""
    limit = params["threshold"]
    overdue = cases[open_at(cases, as_of) & (cases["deadline_date"] < as_of)]
    alerts = []
    for commune, group in overdue.groupby("commune_code", sort=True):
        n = len(group)
        if n <= limit:
            continue
        alerts.append(
            Alert(
                commune_code=str(commune),
                period=as_of.date().isoformat(),
                figures={"overdue_open": n, "threshold": limit,
                         "case_ids": group["case_id"].tolist() if "case_id" in group else []},
                message_vi=f"Xã/phường {commune}: {n} vụ việc đang giải quyết đã quá hạn (ngưỡng > {limit}).",
                message_en=(
                    f"Commune {commune}: {_plural(n, 'open case')} past their deadline (threshold > {limit})."
                ),
            )
        )
    return alerts


def _distances_km(lon: np.ndarray, lat: np.ndarray, p_lon: float, p_lat: float) -> np.ndarray:
    """Geodesic distances (km, WGS84) from each point to one project location."""
    _, _, metres = _WGS84.inv(lon, lat, np.full_like(lon, p_lon), np.full_like(lat, p_lat))
    return np.asarray(metres) / 1000.0


def near_key_project(
    cases: pd.DataFrame, as_of: pd.Timestamp, params: Mapping, projects: pd.DataFrame | None = None
) -> list[Alert]:
    """New cases within radius_km of a key project under site clearance."""
    if projects is None or projects.empty:
        return []
    missing = {"project_id", "name", "lon", "lat", "clearance_status"} - set(projects.columns)
    if missing:
        raise ValueError(f"projects is missing column(s) {sorted(missing)}")
    days, radius = params["window_days"], params["radius_km"]
    active = projects[projects["clearance_status"].isin(params["clearance_statuses"])]
    recent = cases[_window(cases, as_of, days) & cases["lon"].notna() & cases["lat"].notna()]
    if active.empty or recent.empty:
        return []
    lon, lat = recent["lon"].to_numpy(float), recent["lat"].to_numpy(float)
    alerts = []
    for project in active.itertuples(index=False):
        dist = _distances_km(lon, lat, float(project.lon), float(project.lat))
        near = recent.assign(distance_km=dist).loc[dist <= radius]
        for commune, group in near.groupby("commune_code", sort=True):
            n = len(group)
            nearest = float(group["distance_km"].min())
            alerts.append(
                Alert(
                    commune_code=str(commune),
                    period=_window_label(as_of, days),
                    figures={"project_id": project.project_id, "project_name": project.name,
                             "cases_near": n, "nearest_km": round(nearest, 3), "radius_km": radius,
                             "window_days": days,
                             "case_ids": group["case_id"].tolist() if "case_id" in group else []},
                    message_vi=(
                        f"Xã/phường {commune}: {n} vụ việc mới trong {days} ngày qua "
                        "cách dự án trọng điểm "
                        f"“{project.name}” (đang giải phóng mặt bằng) không quá {_num_vi(radius)} km "
                        f"(gần nhất {_num_vi(nearest, 2)} km)."
                    ),
                    message_en=(
                        f"Commune {commune}: {_plural(n, 'new case')} in the last {days} days "
                        f"within {_num(radius)} km of key "
                        f"project \"{project.name}\" under site clearance (nearest {_num(nearest, 2)} km)."
                    ),
                )
            )
    return alerts


@dataclass(frozen=True)
class RuleType:
    evaluate: Callable[..., list[Alert]]
    params: Mapping[str, Param]


RULE_TYPES: dict[str, RuleType] = {
    "mass_petitions_window": RuleType(
        mass_petitions_window, {"min_count": Param(int, 1), "window_days": Param(int, 1)}
    ),
    "spike_over_baseline": RuleType(
        spike_over_baseline,
        {
            "baseline_months": Param(int, 2),
            "k_sd": Param(float),
            "min_ratio": Param(float),
            "low_baseline_mean": Param(float),
            "low_baseline_count": Param(int),
        },
    ),
    "overdue_above": RuleType(overdue_above, {"threshold": Param(int)}),
    "near_key_project": RuleType(
        near_key_project,
        {"window_days": Param(int, 1), "radius_km": Param(float), "clearance_statuses": Param(list, None)},
    ),
}


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def _check_param(value: Any, spec: Param, where: str) -> Any:
    if spec.kind is list:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: expected a non-empty list of strings, got {value!r}")
        unknown = sorted(set(value) - CLEARANCE_STATUSES)
        if unknown:
            raise ValueError(f"{where}: unknown clearance status(es) {unknown}; known: {sorted(CLEARANCE_STATUSES)}")
        return list(value)
    ok_types = (int,) if spec.kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        raise ValueError(f"{where}: expected {spec.kind.__name__}, got {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"{where}: must be >= {spec.minimum}, got {value!r}")
    return spec.kind(value)


def _validate_rule(raw: Any, i: int, source: str) -> dict:
    where = f"{source}: rules[{i}]"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping with id, type, severity, params")
    for field in ("id", "type", "severity", "params"):
        if field not in raw:
            raise ValueError(f"{where}.{field}: missing")
    unknown_fields = sorted(set(raw) - {"id", "type", "severity", "params", "description"})
    if unknown_fields:
        raise ValueError(f"{where}.{unknown_fields[0]}: unknown field")
    if raw["type"] not in RULE_TYPES:
        raise ValueError(f"{where}.type: unknown rule type {raw['type']!r}; known: {sorted(RULE_TYPES)}")
    if raw["severity"] not in SEVERITIES:
        raise ValueError(f"{where}.severity: {raw['severity']!r} is not one of {list(SEVERITIES)}")
    if not isinstance(raw["id"], str) or not raw["id"]:
        raise ValueError(f"{where}.id: must be a non-empty string")
    params = raw["params"]
    if not isinstance(params, Mapping):
        raise ValueError(f"{where}.params: expected a mapping")
    spec = RULE_TYPES[raw["type"]].params
    for name in spec:
        if name not in params:
            raise ValueError(f"{where}.params.{name}: missing required parameter for type {raw['type']!r}")
    for name in params:
        if name not in spec:
            raise ValueError(f"{where}.params.{name}: unknown parameter for type {raw['type']!r}")
    checked = {name: _check_param(params[name], spec[name], f"{where}.params.{name}") for name in spec}
    return {"id": raw["id"], "type": raw["type"], "severity": raw["severity"], "params": checked}


def validate_rules(rules: Any, source: str = "<rules>") -> list[dict]:
    """Validate a list of rule dicts; errors name ``source`` and the field."""
    if not isinstance(rules, list):
        raise ValueError(f"{source}: rules: expected a list of rules")
    checked = [_validate_rule(raw, i, source) for i, raw in enumerate(rules)]
    ids = [r["id"] for r in checked]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{source}: rules[].id: duplicate id(s) {dupes}")
    return checked


def load_rules(path: str | Path | None = None) -> list[dict]:
    """Read and validate a YAML rule file (default: ``default_rules.yaml``).

    Raises ``ValueError`` naming the file and the offending field for an
    unknown rule type, a missing or unknown parameter, or a wrong value type.
    """
    path = Path(path) if path is not None else DEFAULT_RULES_PATH
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, Mapping) or "rules" not in doc:
        raise ValueError(f"{path}: rules: missing top-level 'rules' list")
    return validate_rules(doc["rules"], source=str(path))


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------
_REQUIRED_CASE_COLUMNS = (
    "case_id", "commune_code", "received_date", "is_mass", "status", "deadline_date", "resolved_date", "lon", "lat",
)


def evaluate_rules(
    cases: pd.DataFrame,
    *,
    as_of: date,
    rules: list[dict] | None = None,
    projects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Evaluate early-warning rules at ``as_of``.

    ``rules`` defaults to :func:`load_rules` (``default_rules.yaml``); a list
    of dicts is validated the same way.  Returns one row per alert with
    columns ``rule_id, rule_type, commune_code, period, as_of, figures (dict),
    message_vi, message_en, severity``, sorted by severity (high first),
    rule and commune.
    """
    checked = load_rules() if rules is None else validate_rules(rules, source="<rules argument>")
    df = normalise_cases(cases, _REQUIRED_CASE_COLUMNS)
    df["commune_code"] = df["commune_code"].astype(str)
    as_of_ts = pd.Timestamp(as_of).normalize()
    rows = []
    for rule in checked:
        for alert in RULE_TYPES[rule["type"]].evaluate(df, as_of_ts, rule["params"], projects):
            rows.append(
                {
                    "rule_id": rule["id"],
                    "rule_type": rule["type"],
                    "commune_code": alert.commune_code,
                    "period": alert.period,
                    "as_of": as_of_ts.date(),
                    "figures": alert.figures,
                    "message_vi": alert.message_vi,
                    "message_en": alert.message_en,
                    "severity": rule["severity"],
                }
            )
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    if out.empty:
        return out
    rank = out["severity"].map({s: -i for i, s in enumerate(SEVERITIES)})
    return out.assign(_rank=rank).sort_values(["_rank", "rule_id", "commune_code"]).drop(columns="_rank").reset_index(
        drop=True
    )
