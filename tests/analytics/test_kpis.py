"""handling_kpis against numbers computed by hand from the fixture rows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo_dash.analytics import handling_kpis

START, END = date(2024, 1, 1), date(2024, 3, 31)
NaT = pd.NaT


def _case(case_id, commune, received, deadline, resolved, status, is_mass=False, dialogues=0, district="D1"):
    return {
        "case_id": case_id,
        "commune_code": commune,
        "district_code": district,
        "province_code": "P",
        "received_date": pd.Timestamp(received),
        "kind": "khieu_nai",
        "category": "dat_dai_thu_hoi",
        "people_count": 1,
        "is_mass": is_mass,
        "is_over_level": False,
        "status": status,
        "deadline_date": pd.Timestamp(deadline) if deadline else NaT,
        "resolved_date": pd.Timestamp(resolved) if resolved else NaT,
        "dialogue_count": dialogues,
        "lon": np.nan,
        "lat": np.nan,
    }


@pytest.fixture
def cases() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # commune A ------------------------------------------------------------
            # a1: received in period, resolved 02-01 <= deadline 02-04 (on time), 27 days, mass, 2 dialogues
            _case("a1", "A", "2024-01-05", "2024-02-04", "2024-02-01", "da_giai_quyet", True, 2),
            # a2: received in period, resolved 03-20 > deadline 03-10 (late), 39 days (2024 is leap), 1 dialogue
            _case("a2", "A", "2024-02-10", "2024-03-10", "2024-03-20", "da_giai_quyet", False, 1),
            # a3: received in period, open at end, deadline 03-31 is NOT < end 03-31 -> not overdue
            _case("a3", "A", "2024-03-01", "2024-03-31", None, "dang_giai_quyet"),
            # a4: received before the period, open, deadline 01-15 < end -> overdue; its 3 dialogues not counted
            _case("a4", "A", "2023-12-01", "2024-01-15", None, "tiep_nhan", False, 3),
            # a5: received before, resolved 01-10 in period, late (deadline 2023-12-01), 70 days
            _case("a5", "A", "2023-11-01", "2023-12-01", "2024-01-10", "da_giai_quyet"),
            # a6: received in period, not accepted (khong_thu_ly) -> never open; mass
            _case("a6", "A", "2024-03-15", "2024-04-15", None, "khong_thu_ly", True),
            # a7: received in period, resolved 04-05 AFTER the end -> open at end;
            #     deadline 03-20 < end -> overdue; 4 dialogues
            _case("a7", "A", "2024-02-20", "2024-03-20", "2024-04-05", "da_giai_quyet", False, 4),
            # commune B ------------------------------------------------------------
            # b1: resolved exactly on its deadline (on time), 30 days, 1 dialogue
            _case("b1", "B", "2024-01-10", "2024-02-09", "2024-02-09", "da_giai_quyet", False, 1),
            # b2: received after the end -> counts nowhere
            _case("b2", "B", "2024-04-02", "2024-05-02", None, "tiep_nhan", True, 5),
            # commune C (other district): only an old withdrawn case -> all zeros
            _case("c1", "C", "2023-06-01", "2023-07-01", None, "rut_don", district="D2"),
        ]
    )


def test_by_commune_hand_computed(cases):
    k = handling_kpis(cases, start=START, end=END).set_index("commune_code")
    assert k.index.tolist() == ["A", "B", "C"]
    a, b, c = k.loc["A"], k.loc["B"], k.loc["C"]
    # A: received a1,a2,a3,a6,a7 = 5; resolved a1,a2,a5 = 3; on time a1 = 1 -> 33.33 %
    assert a["received"] == 5
    assert a["resolved"] == 3
    assert a["resolved_on_time"] == 1
    assert a["resolved_on_time_pct"] == pytest.approx(100 / 3)
    assert a["median_days_to_resolve"] == 39.0  # median(27, 39, 70)
    assert a["backlog"] == 3  # a3, a4, a7
    assert a["overdue"] == 2  # a4, a7
    assert a["mass_petitions"] == 2  # a1, a6
    assert a["dialogues"] == 7  # a1 2 + a2 1 + a3 0 + a6 0 + a7 4
    # B: b1 only
    assert (b["received"], b["resolved"], b["resolved_on_time_pct"]) == (1, 1, 100.0)
    assert b["median_days_to_resolve"] == 30.0
    assert (b["backlog"], b["overdue"], b["mass_petitions"], b["dialogues"]) == (0, 0, 0, 1)
    # C: nothing in the period
    assert (c["received"], c["resolved"], c["backlog"], c["overdue"]) == (0, 0, 0, 0)
    assert np.isnan(c["resolved_on_time_pct"]) and np.isnan(c["median_days_to_resolve"])


def test_default_target_is_100_percent_on_time(cases):
    k = handling_kpis(cases, start=START, end=END).set_index("commune_code")
    assert (k["resolved_on_time_pct_target"] == 100.0).all()
    assert k.loc["A", "resolved_on_time_pct_gap"] == pytest.approx(100 / 3 - 100)
    assert bool(k.loc["A", "resolved_on_time_pct_meets_target"]) is False
    assert bool(k.loc["B", "resolved_on_time_pct_meets_target"]) is True
    assert pd.isna(k.loc["C", "resolved_on_time_pct_meets_target"])  # nothing resolved: no verdict


def test_custom_targets_lower_is_better(cases):
    k = handling_kpis(cases, start=START, end=END, targets={"overdue": 0, "median_days_to_resolve": 30}).set_index(
        "commune_code"
    )
    assert "resolved_on_time_pct_target" not in k.columns
    assert k["overdue_meets_target"].tolist() == [False, True, True]  # A has 2 overdue
    assert k.loc["A", "overdue_gap"] == 2
    assert bool(k.loc["B", "median_days_to_resolve_meets_target"]) is True  # 30 <= 30
    assert bool(k.loc["A", "median_days_to_resolve_meets_target"]) is False  # 39 > 30


def test_unknown_target_metric_rejected(cases):
    with pytest.raises(ValueError, match="unknown target metric"):
        handling_kpis(cases, start=START, end=END, targets={"happiness": 1})


def test_group_by_district(cases):
    k = handling_kpis(cases, start=START, end=END, by="district_code").set_index("district_code")
    assert k.index.tolist() == ["D1", "D2"]
    # D1 = A + B
    assert k.loc["D1", "received"] == 6
    assert k.loc["D1", "resolved"] == 4
    assert k.loc["D1", "resolved_on_time_pct"] == pytest.approx(50.0)  # a1, b1 of 4
    assert k.loc["D1", "median_days_to_resolve"] == pytest.approx(34.5)  # median(27, 30, 39, 70)
    assert k.loc["D1", "backlog"] == 3
    assert k.loc["D2", "received"] == 0


def test_as_of_moves_the_backlog_snapshot(cases):
    k = handling_kpis(cases, start=START, end=END, as_of=date(2024, 2, 15)).set_index("commune_code")
    # open at 02-15: a2 (resolved later, 03-20) and a4; a3/a7 not yet received; a1 resolved 02-01
    assert k.loc["A", "backlog"] == 2
    assert k.loc["A", "overdue"] == 1  # a4 (deadline 01-15); a2's deadline 03-10 is still ahead
    assert k.loc["B", "backlog"] == 0  # b1 resolved 02-09
    # period counts do not depend on as_of
    assert k.loc["A", "received"] == 5


def test_dates_as_python_dates_and_strings_work(cases):
    alt = cases.copy()
    alt["received_date"] = alt["received_date"].dt.date
    alt["deadline_date"] = alt["deadline_date"].astype(str).replace("NaT", None)
    k = handling_kpis(alt, start=START, end=END).set_index("commune_code")
    assert k.loc["A", "received"] == 5 and k.loc["A", "overdue"] == 2


def test_missing_columns_and_bad_period_rejected(cases):
    with pytest.raises(ValueError, match="missing column"):
        handling_kpis(cases.drop(columns="status"), start=START, end=END)
    with pytest.raises(ValueError, match="missing column"):
        handling_kpis(cases, start=START, end=END, by="ward_code")
    with pytest.raises(ValueError, match="before start"):
        handling_kpis(cases, start=END, end=START)
