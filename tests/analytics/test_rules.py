"""Early-warning rules: each rule triggered and not triggered, YAML validation."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from geo_dash.analytics import evaluate_rules, load_rules
from geo_dash.analytics.rules import DEFAULT_RULES_PATH, RESULT_COLUMNS, min_alert_count, spike_test

_ids = itertools.count(1)


def case(commune, received, *, is_mass=False, status="tiep_nhan", deadline=None, resolved=None, lon=np.nan, lat=np.nan):
    received = pd.Timestamp(received)
    return {
        "case_id": f"c{next(_ids)}",
        "commune_code": commune,
        "received_date": received,
        "kind": "khieu_nai",
        "category": "dat_dai_thu_hoi",
        "people_count": 6 if is_mass else 1,
        "is_mass": is_mass,
        "is_over_level": False,
        "status": status,
        "deadline_date": pd.Timestamp(deadline) if deadline else received + pd.Timedelta(days=30),
        "resolved_date": pd.Timestamp(resolved) if resolved else pd.NaT,
        "dialogue_count": 0,
        "lon": lon,
        "lat": lat,
    }


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows)


def rule(type_, **params):
    defaults = {r["type"]: r for r in load_rules()}
    r = defaults[type_]
    return {"id": r["id"], "type": type_, "severity": r["severity"], "params": {**r["params"], **params}}


def alerted(result: pd.DataFrame) -> set[str]:
    return set(result["commune_code"])


# --------------------------------------------------------------------------
# default rules file
# --------------------------------------------------------------------------
def test_default_rules_load_with_the_documented_thresholds():
    rules = {r["type"]: r for r in load_rules()}
    assert set(rules) == {"mass_petitions_window", "spike_over_baseline", "overdue_above", "near_key_project"}
    assert rules["mass_petitions_window"]["params"] == {"min_count": 2, "window_days": 30}
    spike = rules["spike_over_baseline"]["params"]
    assert (spike["k_sd"], spike["low_baseline_mean"], spike["low_baseline_count"]) == (2.0, 2.0, 5)
    assert spike["baseline_months"] == 12
    assert rules["overdue_above"]["params"] == {"threshold": 5}
    assert rules["near_key_project"]["params"]["radius_km"] == 2.0
    assert rules["near_key_project"]["params"]["clearance_statuses"] == ["dang_giai_phong"]


# --------------------------------------------------------------------------
# mass_petitions_window (as_of 2024-06-30, window (05-31, 06-30])
# --------------------------------------------------------------------------
AS_OF = date(2024, 6, 30)


def test_mass_petitions_window():
    cases = frame(
        [
            case("M1", "2024-06-30", is_mass=True),  # as_of itself: inside
            case("M1", "2024-06-01", is_mass=True),  # as_of - 29 days: inside
            case("M2", "2024-06-15", is_mass=True),
            case("M2", "2024-05-31", is_mass=True),  # as_of - 30 days: outside
            case("M2", "2024-07-01", is_mass=True),  # after as_of: ignored
            case("M3", "2024-06-10"),
            case("M3", "2024-06-11"),
            case("M3", "2024-06-12"),  # three, but not mass petitions
        ]
    )
    res = evaluate_rules(cases, as_of=AS_OF, rules=[rule("mass_petitions_window")])
    assert alerted(res) == {"M1"}
    row = res.iloc[0]
    assert row["figures"]["mass_petitions"] == 2
    assert row["period"] == "2024-06-01..2024-06-30"
    assert "2 vụ khiếu kiện đông người" in row["message_vi"]
    assert "2 mass petitions" in row["message_en"]
    assert row["severity"] == "high"
    # with min_count 1, M2 (one inside the window) alerts too
    res1 = evaluate_rules(cases, as_of=AS_OF, rules=[rule("mass_petitions_window", min_count=1)])
    assert alerted(res1) == {"M1", "M2"}


# --------------------------------------------------------------------------
# spike_over_baseline (evaluated month June 2024, baseline 2023-06..2024-05)
# --------------------------------------------------------------------------
BASELINE_MONTHS = pd.period_range("2023-06", "2024-05", freq="M")


def month_cases(commune, month: pd.Period, n: int):
    return [case(commune, month.start_time + pd.Timedelta(days=i % 28)) for i in range(n)]


def spike_fixture() -> pd.DataFrame:
    rows = []
    june = pd.Period("2024-06", "M")

    def commune(code, baseline_counts, june_count):
        for m, n in zip(BASELINE_MONTHS, baseline_counts):
            rows.extend(month_cases(code, m, n))
        rows.extend(month_cases(code, june, june_count))

    commune("S1", [1] * 12, 6)  # mean 1 sd 0; 6 > 5: guard off -> ALERT
    commune("S2", [2] * 12, 5)  # mean 2.0 (= guard), count 5 (= guard) -> guard holds -> no alert
    commune("S3", [2] * 12, 6)  # mean 2.0, count 6 (one above the count guard) -> ALERT
    commune("S4", [2] * 11 + [3], 5)  # mean 25/12 = 2.083 (just above the mean guard) -> ALERT
    commune("S5", [8, 12] * 6, 14)  # mean 10, sd sqrt(48/11) = 2.089: threshold 14.18; 14 -> no alert
    commune("S6", [8, 12] * 6, 15)  # 15 > 14.18 and 15 >= 1.5 * 10 -> ALERT
    commune("S7", [4] * 12, 5)  # 5 > 4 + 0 but 5 < 1.5 * 4: ratio condition -> no alert
    # the partial month of as_of is not evaluated: 20 cases in July for S2 change nothing
    rows.extend(month_cases("S2", pd.Period("2024-07", "M"), 20))
    return frame(rows)


@pytest.mark.parametrize("as_of", [date(2024, 7, 15), date(2024, 6, 30)])
def test_spike_over_baseline_with_low_baseline_guard(as_of):
    res = evaluate_rules(spike_fixture(), as_of=as_of, rules=[rule("spike_over_baseline")])
    assert alerted(res) == {"S1", "S3", "S4", "S6"}
    s4 = res.set_index("commune_code").loc["S4"]
    assert s4["period"] == "2024-06"
    assert s4["figures"]["count"] == 5
    assert s4["figures"]["baseline_mean"] == pytest.approx(25 / 12, abs=1e-3)
    assert "ngưỡng cảnh báo từ 4 vụ" in s4["message_vi"]  # ceil(1.5 * 2.083) = 4; the guard is off
    s6 = res.set_index("commune_code").loc["S6"]["figures"]
    assert s6["baseline_sd"] == pytest.approx(np.sqrt(48 / 11), abs=1e-3)
    assert s6["threshold"] == pytest.approx(10 + 2 * np.sqrt(48 / 11), abs=1e-3)


def test_spike_guard_thresholds_are_configurable():
    # raising the count guard to 6 silences S3 (mean 2, count 6); S1 (mean 1, count 6) too
    res = evaluate_rules(spike_fixture(), as_of=AS_OF, rules=[rule("spike_over_baseline", low_baseline_count=6)])
    assert alerted(res) == {"S4", "S6"}


def test_spike_test_formula_boundaries():
    p = {"k_sd": 2.0, "min_ratio": 1.5, "low_baseline_mean": 2.0, "low_baseline_count": 5}
    assert spike_test(5, 2.0, 0.0, p) == (False, 2.0)  # guard: mean <= 2 and count <= 5
    assert spike_test(6, 2.0, 0.0, p)[0] is True
    assert spike_test(5, 2.01, 0.0, p)[0] is True
    assert spike_test(7, 3.0, 2.0, p) == (False, 7.0)  # count must EXCEED mean + k*sd
    assert spike_test(8, 3.0, 2.0, p)[0] is True


@pytest.mark.parametrize(
    ("mean", "sd", "expected"),
    [(2.0, 0.0, 6), (1.0, 0.0, 6), (25 / 12, np.sqrt(1 / 12), 4), (10.0, np.sqrt(48 / 11), 15), (4.0, 0.0, 6), (3.0, 2.0, 8)],
)
def test_min_alert_count_is_the_smallest_alerting_count(mean, sd, expected):
    p = {"k_sd": 2.0, "min_ratio": 1.5, "low_baseline_mean": 2.0, "low_baseline_count": 5}
    assert min_alert_count(mean, sd, p) == expected
    assert spike_test(expected, mean, sd, p)[0] and not spike_test(expected - 1, mean, sd, p)[0]


# --------------------------------------------------------------------------
# overdue_above (> 5 open cases past their deadline at as_of)
# --------------------------------------------------------------------------
def test_overdue_above():
    overdue = dict(deadline="2024-06-01")
    rows = []
    # O1: 5 open overdue + 1 resolved only after as_of (open at as_of) -> 6 -> ALERT
    rows += [case("O1", "2024-05-01", **overdue) for _ in range(5)]
    rows.append(case("O1", "2024-05-01", status="da_giai_quyet", resolved="2024-07-05", **overdue))
    # O2: exactly 5 overdue -> no alert
    rows += [case("O2", "2024-05-01", status="dang_giai_quyet", **overdue) for _ in range(5)]
    # O3: 5 overdue + deadline == as_of (not yet overdue) + resolved before as_of + withdrawn -> 5 -> no alert
    rows += [case("O3", "2024-05-01", **overdue) for _ in range(5)]
    rows.append(case("O3", "2024-05-01", deadline="2024-06-30"))
    rows.append(case("O3", "2024-05-01", status="da_giai_quyet", resolved="2024-06-20", **overdue))
    rows.append(case("O3", "2024-05-01", status="rut_don", **overdue))
    res = evaluate_rules(frame(rows), as_of=AS_OF, rules=[rule("overdue_above")])
    assert alerted(res) == {"O1"}
    assert res.iloc[0]["figures"]["overdue_open"] == 6
    assert "6 vụ việc" in res.iloc[0]["message_vi"]


# --------------------------------------------------------------------------
# near_key_project (new cases in 30 days within 2 km of a project in clearance)
# --------------------------------------------------------------------------
GEOD = Geod(ellps="WGS84")
P1 = (105.80, 21.00)
P2 = (106.50, 20.50)


def at_km(origin, km, azimuth=0.0):
    lon, lat, _ = GEOD.fwd(origin[0], origin[1], azimuth, km * 1000.0)
    return {"lon": lon, "lat": lat}


@pytest.fixture
def projects():
    return pd.DataFrame(
        [
            {"project_id": "P1", "name": "Khu đô thị A", "lon": P1[0], "lat": P1[1], "clearance_status": "dang_giai_phong"},
            {"project_id": "P2", "name": "Cao tốc B", "lon": P2[0], "lat": P2[1], "clearance_status": "hoan_thanh"},
        ]
    )


def test_near_key_project(projects):
    cases = frame(
        [
            case("N1", "2024-06-20", **at_km(P1, 1.5)),  # ALERT
            case("N2", "2024-06-20", **at_km(P1, 2.5, 90)),  # too far
            case("N3", "2024-06-20", **at_km(P2, 0.5)),  # project already cleared
            case("N4", "2024-05-31", **at_km(P1, 1.0)),  # as_of - 30 days: outside the window
            case("N5", "2024-06-20"),  # no coordinates
            case("N6", "2024-06-25", **at_km(P1, 1.999, 180)),  # just inside 2 km: ALERT
            case("N7", "2024-06-25", **at_km(P1, 2.001, 270)),  # just outside
        ]
    )
    res = evaluate_rules(cases, as_of=AS_OF, rules=[rule("near_key_project")], projects=projects)
    assert alerted(res) == {"N1", "N6"}
    n1 = res.set_index("commune_code").loc["N1"]
    assert n1["figures"]["project_id"] == "P1"
    assert n1["figures"]["nearest_km"] == pytest.approx(1.5, abs=1e-3)
    assert "Khu đô thị A" in n1["message_vi"]
    # without a projects frame the rule yields nothing
    assert evaluate_rules(cases, as_of=AS_OF, rules=[rule("near_key_project")]).empty
    # listing finished projects too makes N3 alert
    both = rule("near_key_project", clearance_statuses=["dang_giai_phong", "hoan_thanh"])
    assert alerted(evaluate_rules(cases, as_of=AS_OF, rules=[both], projects=projects)) == {"N1", "N3", "N6"}


# --------------------------------------------------------------------------
# evaluate_rules output
# --------------------------------------------------------------------------
def test_output_columns_and_severity_order(projects):
    cases = pd.concat(
        [
            spike_fixture(),
            frame([case("M1", "2024-06-30", is_mass=True), case("M1", "2024-06-01", is_mass=True)]),
            frame([case("N1", "2024-06-20", **at_km(P1, 1.5))]),
        ],
        ignore_index=True,
    )
    res = evaluate_rules(cases, as_of=AS_OF, projects=projects)
    assert list(res.columns) == RESULT_COLUMNS
    assert res["severity"].tolist() == sorted(res["severity"], key=["high", "medium", "low"].index)
    assert {"mass_petitions_30d", "monthly_spike", "near_key_project_2km"} <= set(res["rule_id"])
    assert (res["as_of"] == AS_OF).all()
    assert res["figures"].map(lambda f: isinstance(f, dict)).all()
    assert res["message_vi"].str.len().gt(0).all() and res["message_en"].str.len().gt(0).all()


def test_no_alerts_gives_an_empty_frame_with_the_columns():
    res = evaluate_rules(frame([case("Z", "2024-06-10")]), as_of=AS_OF)
    assert res.empty and list(res.columns) == RESULT_COLUMNS


# --------------------------------------------------------------------------
# YAML validation: errors name the file and the field
# --------------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "my_rules.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_unknown_rule_type_names_file_and_field(tmp_path):
    p = write(tmp_path, "rules:\n  - id: x\n    type: moon_phase\n    severity: low\n    params: {}\n")
    with pytest.raises(ValueError, match=r"my_rules\.yaml: rules\[0\]\.type: unknown rule type 'moon_phase'"):
        load_rules(p)


def test_missing_parameter_names_file_and_field(tmp_path):
    p = write(
        tmp_path,
        "rules:\n  - id: x\n    type: mass_petitions_window\n    severity: high\n    params:\n      min_count: 2\n",
    )
    with pytest.raises(ValueError, match=r"my_rules\.yaml: rules\[0\]\.params\.window_days: missing required"):
        load_rules(p)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("{threshold: 5, thresold: 6}", "params.thresold: unknown parameter"),
        ("{threshold: five}", "params.threshold: expected int"),
        ("{threshold: -1}", "params.threshold: must be >= 0"),
    ],
)
def test_bad_parameters_rejected(tmp_path, params, field):
    p = write(tmp_path, f"rules:\n  - id: x\n    type: overdue_above\n    severity: medium\n    params: {params}\n")
    with pytest.raises(ValueError, match=r"my_rules\.yaml: rules\[0\]\." + field.replace(".", r"\.")):
        load_rules(p)


def test_other_structural_errors(tmp_path):
    with pytest.raises(ValueError, match=r"my_rules\.yaml: rules: missing"):
        load_rules(write(tmp_path, "alerts: []\n"))
    with pytest.raises(ValueError, match=r"rules\[0\]\.severity"):
        load_rules(write(tmp_path, "rules:\n  - {id: x, type: overdue_above, severity: urgent, params: {threshold: 1}}\n"))
    with pytest.raises(ValueError, match="duplicate id"):
        load_rules(
            write(
                tmp_path,
                "rules:\n  - {id: x, type: overdue_above, severity: low, params: {threshold: 1}}\n"
                "  - {id: x, type: overdue_above, severity: low, params: {threshold: 2}}\n",
            )
        )
    with pytest.raises(ValueError, match=r"<rules argument>: rules\[0\]\.params\.radius_km: missing"):
        evaluate_rules(
            frame([case("Z", "2024-06-10")]),
            as_of=AS_OF,
            rules=[{"id": "n", "type": "near_key_project", "severity": "high",
                    "params": {"window_days": 30, "clearance_statuses": ["dang_giai_phong"]}}],
        )


def test_default_rules_path_is_packaged():
    assert DEFAULT_RULES_PATH.name == "default_rules.yaml" and DEFAULT_RULES_PATH.exists()
