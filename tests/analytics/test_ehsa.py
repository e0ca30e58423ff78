"""Emerging Hot Spot Analysis: Esri categories, Mann-Kendall, time lag, validation."""

from __future__ import annotations

import esda
import numpy as np
import pandas as pd
import pymannkendall
import pytest
from libpysal.weights import W, lat2W

from geo_dash.analytics import CATEGORIES, CATEGORY_VI, classify_emerging_pattern, emerging_hotspots
from geo_dash.analytics.ehsa import space_time_gi_star

# --------------------------------------------------------------------------
# classifier on hand-written (z, significant) series
#   "H" significant hot (z=+3), "C" significant cold (z=-3),
#   "." not significant (z=+0.5), "o" not significant (z=-0.5)
# --------------------------------------------------------------------------
NO_TREND = (0.0, 1.0)
UP = (0.6, 0.001)
DOWN = (-0.6, 0.001)


def classify(pattern: str, trend=NO_TREND, alpha=0.05) -> str:
    z = np.array([{"H": 3.0, "C": -3.0, ".": 0.5, "o": -0.5}[c] for c in pattern])
    sig = np.array([c in "HC" for c in pattern])
    return classify_emerging_pattern(z, sig, trend[0], trend[1], alpha=alpha).category


@pytest.mark.parametrize(
    ("pattern", "trend", "expected"),
    [
        ("..........", NO_TREND, "no pattern"),
        (".........H", NO_TREND, "new hot spot"),
        ("......HHHH", NO_TREND, "consecutive hot spot"),
        ("HHHHHHHHHH", UP, "intensifying hot spot"),
        ("HHHHHHHHHH", NO_TREND, "persistent hot spot"),
        ("HHHHHHHHHH", DOWN, "diminishing hot spot"),
        ("H..H...H.H", NO_TREND, "sporadic hot spot"),
        ("C...H..H.H", NO_TREND, "oscillating hot spot"),
        ("HHHHHHHHH.", NO_TREND, "historical hot spot"),
        (".........C", NO_TREND, "new cold spot"),
        ("......CCCC", NO_TREND, "consecutive cold spot"),
        ("CCCCCCCCCC", DOWN, "intensifying cold spot"),  # z falling = colder
        ("CCCCCCCCCC", NO_TREND, "persistent cold spot"),
        ("CCCCCCCCCC", UP, "diminishing cold spot"),
        ("C..C...C.C", NO_TREND, "sporadic cold spot"),
        ("H...C..C.C", NO_TREND, "oscillating cold spot"),
        ("CCCCCCCCC.", NO_TREND, "historical cold spot"),
    ],
)
def test_each_category(pattern, trend, expected):
    assert classify(pattern, trend) == expected


def test_all_categories_covered_and_translated():
    assert len(CATEGORIES) == 17
    assert set(CATEGORY_VI) == set(CATEGORIES)
    assert CATEGORY_VI["new hot spot"] == "điểm nóng mới"
    assert CATEGORY_VI["intensifying cold spot"] == "điểm lạnh gia tăng"
    assert CATEGORY_VI["no pattern"] == "không có xu hướng"


# ---- decisions on Esri's ambiguous wording -------------------------------
def test_decision_new_requires_no_prior_significance_of_either_sign():
    assert classify("C........H") == "oscillating hot spot"
    assert classify("H........C") == "oscillating cold spot"


def test_decision_consecutive_needs_a_run_of_at_least_two():
    assert classify("........H") == "new hot spot"
    assert classify(".......HH") == "consecutive hot spot"
    assert classify("..H....HH") == "sporadic hot spot"  # hot before the final run


def test_decision_consecutive_with_earlier_cold_is_oscillating():
    assert classify("C......HHH") == "oscillating hot spot"


def test_decision_sporadic_requires_a_significant_final_step():
    assert classify("H.H.H.....") == "no pattern"
    assert classify("C.C.C.....") == "no pattern"


def test_decision_persistent_needs_significant_final_else_historical():
    assert classify("HHHHHHHHH.") == "historical hot spot"
    assert classify("HHHHHHHHHo") == "historical hot spot"  # z < 0 but not significant: still historical
    assert classify("HHHHHHHHH.", UP) == "historical hot spot"


def test_decision_final_cold_after_90pct_hot_is_oscillating_cold():
    assert classify("HHHHHHHHHC") == "oscillating cold spot"


def test_decision_trend_must_be_strictly_below_alpha():
    assert classify("HHHHHHHHHH", (0.5, 0.05)) == "persistent hot spot"
    assert classify("HHHHHHHHHH", (0.5, 0.0499)) == "intensifying hot spot"


# ---- the 90 % rule: just below, exactly at, just above -------------------
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("..." + "H" * 17, "consecutive hot spot"),  # 17/20 = 85 %
        (".." + "H" * 18, "persistent hot spot"),  # 18/20 = 90 % exactly
        ("." + "H" * 19, "persistent hot spot"),  # 19/20 = 95 %
        ("H.H." + "H" * 6, "sporadic hot spot"),  # 8/10
        ("H." + "H" * 8, "persistent hot spot"),  # 9/10 exactly
        ("H" * 10, "persistent hot spot"),  # 10/10
        ("H" * 17 + "...", "no pattern"),  # historical: 17/20
        ("H" * 18 + "..", "historical hot spot"),  # 18/20 exactly
        ("H" * 19 + ".", "historical hot spot"),  # 19/20
        ("C" * 17 + "...", "no pattern"),
        ("C" * 18 + "..", "historical cold spot"),
        ("..." + "C" * 17, "consecutive cold spot"),
        (".." + "C" * 18, "persistent cold spot"),
    ],
)
def test_ninety_percent_boundary(pattern, expected):
    assert classify(pattern) == expected


def test_decision_final_step_counts_in_the_90pct_denominator():
    # 8 of the first 9 plus the final = 9/10 = 90 %: persistent.  Had the final
    # step been left out of the count (8/9 = 88.9 %) this would be sporadic.
    assert classify("H.HHHHHHHH") == "persistent hot spot"


def test_classifier_rejects_bad_input():
    with pytest.raises(ValueError):
        classify_emerging_pattern(np.array([1.0]), np.array([True]), 0.0, 1.0)
    with pytest.raises(ValueError):
        classify_emerging_pattern(np.array([1.0, 2.0]), np.array([True]), 0.0, 1.0)


# --------------------------------------------------------------------------
# full pipeline on a 7x7 queen grid: the target id24 and its 8 neighbours form
# a block whose values make id24 a hot (or cold) spot in chosen periods.
# --------------------------------------------------------------------------
TARGET = "id24"


@pytest.fixture(scope="module")
def grid_w() -> W:
    return lat2W(7, 7, rook=False, id_type="string")


def make_cube(w: W, spec: list, start: str = "2023-01") -> pd.DataFrame:
    """spec per period: None (all units equal -> z = 0), ("hot", v) or ("cold", v).

    hot: background 1,2,3,1,2,3,... with the block at v (v >= 4; higher v, higher z);
    cold: background 20,21,22,... with the block at v (v <= 15; lower v, lower z).
    """
    block = {TARGET, *w.neighbors[TARGET]}
    periods = pd.period_range(start, periods=len(spec), freq="M")
    rows = []
    for period, s in zip(periods, spec):
        for i, uid in enumerate(w.id_order):
            if s is None:
                v = 1.0
            elif uid in block:
                v = float(s[1])
            else:
                v = float(i % 3 + (1 if s[0] == "hot" else 20))
            rows.append({"unit_id": uid, "period": period, "value": v})
    return pd.DataFrame(rows)


def target_row(result: pd.DataFrame) -> pd.Series:
    return result.set_index("unit_id").loc[TARGET]


HOT, COLD = ("hot", 10), ("cold", 8)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ([None] * 5 + [HOT], "new hot spot"),
        ([None] * 5 + [COLD], "new cold spot"),
        ([None] * 3 + [HOT] * 5, "consecutive hot spot"),
        ([("hot", v) for v in range(5, 15)], "intensifying hot spot"),
        ([HOT] * 10, "persistent hot spot"),
        ([("hot", v) for v in range(14, 4, -1)], "diminishing hot spot"),
        ([("cold", v) for v in range(5, 15)], "diminishing cold spot"),
        ([("cold", v) for v in range(14, 4, -1)], "intensifying cold spot"),
        ([HOT, None, HOT, None, None, HOT], "sporadic hot spot"),
        ([COLD, None, None, COLD, None, COLD], "sporadic cold spot"),
        ([COLD, None, None, HOT], "oscillating hot spot"),
        ([HOT] * 9 + [None], "historical hot spot"),
    ],
)
def test_pipeline_categories(grid_w, spec, expected):
    res = emerging_hotspots(make_cube(grid_w, spec), grid_w)
    row = target_row(res)
    assert row["category"] == expected
    assert row["category_vi"] == CATEGORY_VI[expected]
    assert row["explanation_vi"]


def test_pipeline_output_shape(grid_w):
    res = emerging_hotspots(make_cube(grid_w, [None] * 3 + [HOT] * 5), grid_w)
    assert res["unit_id"].tolist() == grid_w.id_order
    for col in ("category", "category_vi", "explanation_vi", "trend_tau", "trend_p", "n_hot", "n_cold", "last_z"):
        assert col in res.columns
    assert set(res["category"]) <= set(CATEGORIES)
    row = target_row(res)
    assert (row["n_hot"], row["n_cold"], row["final_run"]) == (5, 0, 5)
    assert row["last_z"] > 3
    # the example sentence of the brief, for a 5-month run
    assert "5 tháng liên tiếp" in row["explanation_vi"]
    assert row["explanation_vi"].startswith("Là điểm nóng có ý nghĩa")


def test_explanation_uses_decimal_comma_for_tau(grid_w):
    res = emerging_hotspots(make_cube(grid_w, [("hot", v) for v in range(5, 15)]), grid_w)
    row = target_row(res)
    assert row["trend_tau"] == pytest.approx(1.0)
    assert "tau=1,00" in row["explanation_vi"] and "tăng" in row["explanation_vi"]


def test_mann_kendall_equals_pymannkendall(grid_w):
    rng = np.random.default_rng(3)
    periods = pd.period_range("2022-01", periods=12, freq="M")
    cube = pd.DataFrame(
        [
            {"unit_id": u, "period": p, "value": float(rng.poisson(2 + 3 * (i < 10) * k / 12))}
            for k, p in enumerate(periods)
            for i, u in enumerate(grid_w.id_order)
        ]
    )
    res = emerging_hotspots(cube, grid_w).set_index("unit_id")
    gi = space_time_gi_star(cube, grid_w)
    for uid in grid_w.id_order:
        z = gi.loc[gi["unit_id"] == uid].sort_values("period")["z"].to_numpy()
        mk = pymannkendall.original_test(z)
        assert res.loc[uid, "trend_tau"] == mk.Tau
        assert res.loc[uid, "trend_p"] == mk.p


def _mk_columns() -> np.ndarray:
    """Series of every shape the test meets: random floats, small counts (many ties), constants,
    monotone, all-but-one equal, and Gi* z-scores rounded to share values."""
    rng = np.random.default_rng(3)
    n = 36
    cols = [rng.normal(size=n) for _ in range(300)]
    cols += [rng.poisson(0.7, size=n).astype(float) for _ in range(300)]       # ties everywhere
    cols += [np.full(n, 0.0), np.full(n, -1.25), np.arange(n, dtype=float), -np.arange(n, dtype=float)]
    cols += [np.r_[np.zeros(n - 1), 1.0], np.r_[2.0, np.zeros(n - 1)]]
    cols += [np.round(rng.normal(size=n), 1) for _ in range(100)]
    return np.column_stack(cols)


@pytest.mark.parametrize("periods", [2, 3, 12, 36])
def test_mann_kendall_of_many_columns_is_pymannkendall_value_for_value(periods):
    from geo_dash.analytics.ehsa import MannKendallTrend

    x = _mk_columns()[:periods]
    tau, p = MannKendallTrend.test_columns(x, chunk=97)  # several chunks, the last one short
    for j in range(x.shape[1]):
        mk = pymannkendall.original_test(x[:, j])
        assert (tau[j], p[j]) == (mk.Tau, mk.p), j


def test_mann_kendall_of_a_column_with_a_gap_skips_it_as_the_library_does():
    from geo_dash.analytics.ehsa import MannKendallTrend

    x = _mk_columns()[:, :50].copy()
    x[[3, 17], 5] = np.nan
    tau, p = MannKendallTrend.test_columns(x)
    mk = pymannkendall.original_test(x[:, 5])
    assert (tau[5], p[5]) == (mk.Tau, mk.p) and mk.Tau == pymannkendall.original_test(x[~np.isnan(x[:, 5]), 5]).Tau
    assert np.isfinite(tau).all() and np.isfinite(p).all()
    with pytest.raises(ValueError):
        MannKendallTrend.test_columns(x[:1])


def test_fdr_is_applied_per_period(grid_w):
    cube = make_cube(grid_w, [HOT, ("hot", 5), None])
    gi = space_time_gi_star(cube, grid_w)
    for _, g in gi.groupby("period"):
        assert (g["p_fdr_cut"] == esda.fdr(g["p"].to_numpy(), 0.05)).all()
        assert (g["significant"] == (g["p"] < g["p_fdr_cut"])).all()
    plain = space_time_gi_star(cube, grid_w, fdr=False)
    assert (plain["p_fdr_cut"] == 0.05).all()


# ---- time lag ---------------------------------------------------------------
def _manual_two_slice_w(w: W) -> W:
    """Space-time weights for slices (t, t-1), built independently: focal
    (i, t) neighbours = (j, t) and (j, t-1) for j in N(i) + {i}; the lagged
    slice gets its spatial neighbourhood + self."""
    nbrs, wts = {}, {}
    for i in w.id_order:
        star = [i, *w.neighbors[i]]
        nbrs[("t", i)] = [("t", j) for j in star] + [("t-1", j) for j in star]
        nbrs[("t-1", i)] = [("t-1", j) for j in star]
    for k, v in nbrs.items():
        wts[k] = [1.0] * len(v)
    order = [("t", i) for i in w.id_order] + [("t-1", i) for i in w.id_order]
    return W(nbrs, wts, id_order=order, silence_warnings=True)


def test_time_lag_gi_star_is_gi_star_over_the_stacked_neighbourhood(grid_w):
    rng = np.random.default_rng(11)
    periods = pd.period_range("2024-01", periods=3, freq="M")
    cube = pd.DataFrame(
        [{"unit_id": u, "period": p, "value": float(rng.poisson(4))} for p in periods for u in grid_w.id_order]
    )
    lagged = space_time_gi_star(cube, grid_w, time_lag=1)
    plain = space_time_gi_star(cube, grid_w, time_lag=0)
    wide = cube.pivot(index="period", columns="unit_id", values="value")[grid_w.id_order]
    stw = _manual_two_slice_w(grid_w)
    for t in (1, 2):
        y = np.concatenate([wide.iloc[t].to_numpy(), wide.iloc[t - 1].to_numpy()])
        expected = esda.G_Local(y, stw, star=True, transform="B", permutations=0).Zs[: grid_w.n]
        got = lagged.loc[lagged["period"] == periods[t], "z"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        assert not np.allclose(got, plain.loc[plain["period"] == periods[t], "z"])
    # the first period has no earlier slice: same as without a lag
    np.testing.assert_allclose(
        lagged.loc[lagged["period"] == periods[0], "z"], plain.loc[plain["period"] == periods[0], "z"]
    )


def test_time_lag_carries_a_hot_spot_into_the_next_period(grid_w):
    # a block only in the second-to-last month; the last month is flat
    cube = make_cube(grid_w, [None, None, None, HOT, None])
    no_lag = target_row(emerging_hotspots(cube, grid_w, time_lag=0))
    lag1 = target_row(emerging_hotspots(cube, grid_w, time_lag=1))
    assert no_lag["category"] == "no pattern"
    assert (no_lag["n_hot"], no_lag["last_z"]) == (1, 0.0)
    # with k=1 the last month's neighbourhood still contains the block
    assert lag1["category"] == "consecutive hot spot"
    assert (lag1["n_hot"], lag1["final_run"]) == (2, 2)


def test_time_lag_must_be_non_negative_int(grid_w):
    with pytest.raises(ValueError, match="time_lag"):
        emerging_hotspots(make_cube(grid_w, [HOT, HOT]), grid_w, time_lag=-1)


def test_permutation_inference_is_reproducible(grid_w):
    cube = make_cube(grid_w, [None, HOT, HOT, ("hot", 6)])
    a = emerging_hotspots(cube, grid_w, permutations=99, seed=5)
    b = emerging_hotspots(cube, grid_w, permutations=99, seed=5)
    pd.testing.assert_frame_equal(a, b)


# ---- validation ----------------------------------------------------------------
def test_duplicate_rows_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT, HOT])
    with pytest.raises(ValueError, match="duplicate"):
        emerging_hotspots(pd.concat([cube, cube.iloc[[5]]]), grid_w)


def test_gap_for_one_unit_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT, HOT])
    with pytest.raises(ValueError, match="gaps"):
        emerging_hotspots(cube.drop(index=60), grid_w)


def test_missing_whole_period_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT, HOT, HOT])
    cube = cube[cube["period"] != pd.Period("2023-02", "M")]
    with pytest.raises(ValueError, match="gaps.*2023-02"):
        emerging_hotspots(cube, grid_w)


def test_missing_datetime_period_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT, HOT, HOT])
    cube["period"] = cube["period"].dt.to_timestamp()
    emerging_hotspots(cube, grid_w)  # monthly datetimes are fine
    with pytest.raises(ValueError, match="gaps"):
        emerging_hotspots(cube[cube["period"] != pd.Timestamp("2023-03-01")], grid_w)


def test_unknown_and_absent_units_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT])
    extra = pd.DataFrame({"unit_id": ["nowhere"] * 2, "period": cube["period"].unique(), "value": [1.0, 1.0]})
    with pytest.raises(ValueError, match="not in the weights"):
        emerging_hotspots(pd.concat([cube, extra]), grid_w)
    with pytest.raises(ValueError, match="no rows for unit"):
        emerging_hotspots(cube[cube["unit_id"] != "id3"], grid_w)


def test_nan_values_and_missing_columns_rejected(grid_w):
    cube = make_cube(grid_w, [HOT, HOT])
    cube.loc[3, "value"] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        emerging_hotspots(cube, grid_w)
    with pytest.raises(ValueError, match="missing column"):
        emerging_hotspots(cube.drop(columns="value"), grid_w)


def test_explanation_names_the_period_unit(grid_w):
    cube = make_cube(grid_w, [None, HOT, HOT])
    assert "tháng" in target_row(emerging_hotspots(cube, grid_w))["explanation_vi"]
    cube["period"] = cube["period"].map({p: i for i, p in enumerate(sorted(cube["period"].unique()))})
    text = target_row(emerging_hotspots(cube, grid_w))["explanation_vi"]
    assert "2 kỳ liên tiếp" in text and "tháng" not in text
