"""Handling KPIs for grievance cases (tiếp công dân, giải quyết khiếu nại, tố cáo).

Definitions (period = [start, end], both dates inclusive; "snapshot" =
``as_of`` if given, else ``end``):

* ``received``: cases with ``received_date`` in the period.
* ``resolved``: cases with ``resolved_date`` in the period.
* ``resolved_on_time``: of those, ``resolved_date <= deadline_date``; a case
  with no deadline counts as *not* on time (a data gap must stay visible).
* ``resolved_on_time_pct``: 100 · resolved_on_time / resolved (NaN if none
  resolved).
* ``median_days_to_resolve``: median of ``resolved_date - received_date`` in
  days over the cases resolved in the period (NaN if none).
* ``backlog``: cases open at the snapshot (see :func:`open_at`).
* ``overdue``: open at the snapshot with ``deadline_date`` < snapshot.
* ``mass_petitions``: received in the period with ``is_mass``.
* ``dialogues``: sum of ``dialogue_count`` over cases received in the period.

Target comparison: for each metric in ``targets`` (default
``{"resolved_on_time_pct": 100.0}``, the legal requirement that every case be
settled within its statutory time limit) the frame gets ``<metric>_target``,
``<metric>_gap`` (actual - target) and ``<metric>_meets_target``
(>= target for "higher is better" metrics, <= for "lower is better"; NA when
the actual value is NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

__all__ = ["OPEN_STATUSES", "RESOLVED_STATUS", "open_at", "handling_kpis", "normalise_cases"]

#: Statuses of a case still being handled.
OPEN_STATUSES = frozenset({"tiep_nhan", "dang_giai_quyet"})
RESOLVED_STATUS = "da_giai_quyet"

_DATE_COLUMNS = ("received_date", "deadline_date", "resolved_date")
_HIGHER_IS_BETTER = {"received": True, "resolved": True, "resolved_on_time_pct": True, "dialogues": True}
_LOWER_IS_BETTER = {"median_days_to_resolve": False, "backlog": False, "overdue": False, "mass_petitions": False}
_TARGET_DIRECTION = _HIGHER_IS_BETTER | _LOWER_IS_BETTER
DEFAULT_TARGETS: Mapping[str, float] = {"resolved_on_time_pct": 100.0}


def normalise_cases(cases: pd.DataFrame, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Copy of ``cases`` with the date columns as ``datetime64`` (day precision)."""
    missing = [c for c in required if c not in cases.columns]
    if missing:
        raise ValueError(f"cases is missing column(s) {missing}")
    out = cases.copy()
    for col in _DATE_COLUMNS:
        if col in out.columns:
            out[col] = pd.to_datetime(out[col]).dt.normalize()
    return out


def open_at(cases: pd.DataFrame, when: date | pd.Timestamp) -> pd.Series:
    """Boolean mask: case open at date ``when``.

    Open = received on or before ``when`` and either still in an open status
    (tiep_nhan, dang_giai_quyet) or resolved (da_giai_quyet) only after
    ``when``.  Cases not accepted (khong_thu_ly) or withdrawn (rut_don) are
    never counted as open (their closing date is not recorded).
    ``cases`` must have datetime columns (see :func:`normalise_cases`).
    """
    when = pd.Timestamp(when)
    received = cases["received_date"] <= when
    still_open = cases["status"].isin(OPEN_STATUSES)
    resolved_later = (cases["status"] == RESOLVED_STATUS) & (cases["resolved_date"] > when)
    return received & (still_open | resolved_later)


def _in_period(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return (dates >= start) & (dates <= end)


def _case_flags(cases: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, snapshot: pd.Timestamp) -> pd.DataFrame:
    """Per-case 0/1 flags and amounts that the group sums/medians are built from."""
    received = _in_period(cases["received_date"], start, end)
    resolved = _in_period(cases["resolved_date"], start, end)
    is_open = open_at(cases, snapshot)
    days = (cases["resolved_date"] - cases["received_date"]).dt.days
    return pd.DataFrame(
        {
            "received": received,
            "resolved": resolved,
            "resolved_on_time": resolved & (cases["resolved_date"] <= cases["deadline_date"]),
            "days_to_resolve": days.where(resolved),
            "backlog": is_open,
            "overdue": is_open & (cases["deadline_date"] < snapshot),
            "mass_petitions": received & cases["is_mass"].fillna(False).astype(bool),
            "dialogues": cases["dialogue_count"].fillna(0).astype(int).where(received, 0),
        },
        index=cases.index,
    )


def _target_columns(kpis: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    for metric, target in targets.items():
        if metric not in _TARGET_DIRECTION:
            raise ValueError(f"handling_kpis: unknown target metric {metric!r}; known: {sorted(_TARGET_DIRECTION)}")
        actual = kpis[metric].astype(float)
        meets = actual >= target if _TARGET_DIRECTION[metric] else actual <= target
        kpis[f"{metric}_target"] = float(target)
        kpis[f"{metric}_gap"] = actual - float(target)
        kpis[f"{metric}_meets_target"] = meets.astype("boolean").mask(actual.isna())
    return kpis


def handling_kpis(
    cases: pd.DataFrame,
    *,
    start: date,
    end: date,
    by: str = "commune_code",
    as_of: date | None = None,
    targets: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Handling KPIs per ``by`` group (commune_code, district_code, province_code, ...).

    One row per group value found in ``cases`` (groups with no activity in the
    period get zeros), sorted by group.  See the module docstring for the
    definition of every column.
    """
    required = ("received_date", "resolved_date", "deadline_date", "status", "is_mass", "dialogue_count", by)
    df = normalise_cases(cases, required)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if end_ts < start_ts:
        raise ValueError(f"handling_kpis: end {end} is before start {start}")
    snapshot = pd.Timestamp(as_of) if as_of is not None else end_ts
    flags = _case_flags(df, start_ts, end_ts, snapshot)
    flags[by] = df[by]
    grouped = flags.groupby(by, sort=True, dropna=False)
    counts = grouped[["received", "resolved", "resolved_on_time", "backlog", "overdue", "mass_petitions", "dialogues"]]
    kpis = counts.sum().astype(int)
    kpis["resolved_on_time_pct"] = (100.0 * kpis["resolved_on_time"] / kpis["resolved"]).where(kpis["resolved"] > 0)
    kpis["median_days_to_resolve"] = grouped["days_to_resolve"].median()
    kpis = kpis.reset_index()[
        [
            by,
            "received",
            "resolved",
            "resolved_on_time",
            "resolved_on_time_pct",
            "median_days_to_resolve",
            "backlog",
            "overdue",
            "mass_petitions",
            "dialogues",
        ]
    ]
    kpis["resolved_on_time_pct"] = kpis["resolved_on_time_pct"].astype(float)
    kpis["median_days_to_resolve"] = kpis["median_days_to_resolve"].astype(float)
    return _target_columns(kpis, DEFAULT_TARGETS if targets is None else targets)
