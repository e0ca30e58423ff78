"""Local Getis-Ord Gi*: agreement with esda, Ord & Getis (1995), FDR and bins."""

from __future__ import annotations

import warnings

import esda
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import fill_diagonal, lat2W
from scipy import stats

from geo_dash.analytics import hot_spot_bins, local_gi_star
from geo_dash.analytics.gistar import gi_star_scores, gi_star_weights


@pytest.fixture
def grid_w():
    return lat2W(7, 7, rook=False, id_type="string")


@pytest.fixture
def values(grid_w) -> pd.Series:
    """A 3x3 block of high counts around id24 (the centre) and a low corner."""
    rng = np.random.default_rng(42)
    y = rng.poisson(3, grid_w.n).astype(float)
    for uid in ("id16", "id17", "id18", "id23", "id24", "id25", "id30", "id31", "id32"):
        y[grid_w.id_order.index(uid)] += 12
    # order deliberately not the W order
    return pd.Series(y, index=grid_w.id_order)[::-1]


def _ord_getis_z(y: np.ndarray, w_star_dense: np.ndarray) -> np.ndarray:
    """Ord & Getis (1995) eq. 9 with ROW-STANDARDISED weights (self included)."""
    r = w_star_dense / w_star_dense.sum(axis=1, keepdims=True)
    n, xbar = y.size, y.mean()
    s = np.sqrt((y**2).mean() - xbar**2)
    wi, s1 = r.sum(axis=1), (r**2).sum(axis=1)
    return (r @ y - xbar * wi) / (s * np.sqrt((n * s1 - wi**2) / (n - 1)))


def test_z_equals_esda_gi_star_zs(grid_w, values):
    res = local_gi_star(values, grid_w)
    y = values.reindex(grid_w.id_order).to_numpy()
    g = esda.G_Local(y, fill_diagonal(grid_w, 1.0), star=True, transform="B", permutations=0)
    assert res["unit_id"].tolist() == grid_w.id_order
    np.testing.assert_allclose(res["z"], g.Zs, rtol=1e-12)


def test_z_is_the_row_standardised_gi_star_of_ord_and_getis(grid_w, values):
    res = local_gi_star(values, grid_w)
    y = values.reindex(grid_w.id_order).to_numpy()
    expected = _ord_getis_z(y, fill_diagonal(grid_w, 1.0).full()[0])
    np.testing.assert_allclose(res["z"], expected, rtol=1e-10)
    # the centre of the block is a strong hot spot
    assert res.set_index("unit_id").loc["id24", "z"] > 3


def test_already_row_standardised_w_gives_the_same_result(grid_w, values):
    base = local_gi_star(values, grid_w)
    grid_w.transform = "R"
    again = local_gi_star(values, grid_w)
    np.testing.assert_allclose(again["z"], base["z"])
    assert grid_w.transform == "R"  # the caller's W is left as it was


def test_p_is_two_sided_normal(grid_w, values):
    res = local_gi_star(values, grid_w)
    np.testing.assert_allclose(res["p"], 2 * stats.norm.sf(np.abs(res["z"])))


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_fdr_cutoff_equals_esda_fdr(grid_w, values, alpha):
    res = local_gi_star(values, grid_w, alpha=alpha, fdr=True)
    cut = esda.fdr(res["p"].to_numpy(), alpha)
    assert (res["p_fdr_cut"] == cut).all()
    assert (res["significant"] == (res["p"] < cut)).all()
    assert res["significant"].any()
    # FDR is stricter than the plain cut-off here
    plain = local_gi_star(values, grid_w, alpha=alpha, fdr=False)
    assert (plain["p_fdr_cut"] == alpha).all()
    assert plain["significant"].sum() > res["significant"].sum()


def test_bins_without_fdr_follow_the_90_95_99_levels():
    z = np.array([3.0, -3.0, 2.0, -1.7, 0.5, 1.0])
    p = np.array([0.001, 0.009, 0.03, 0.08, 0.6, 0.0999])
    assert hot_spot_bins(z, p, fdr=False).tolist() == [3, -3, 2, -1, 0, 1]
    # exactly on a level is not inside it (strict p < level)
    assert hot_spot_bins(np.array([2.0, 2.0]), np.array([0.01, 0.05]), fdr=False).tolist() == [2, 1]


def test_bins_with_fdr_use_one_fdr_cutoff_per_level():
    z = np.array([3.0, 1.0, 1.0, 1.0])
    p = np.array([0.008, 0.2, 0.3, 0.4])
    # without FDR: 0.008 < 0.01 -> 99 %
    assert hot_spot_bins(z, p, fdr=False).tolist() == [3, 0, 0, 0]
    # with FDR (n=4): fdr(p, .01): 0.008 is not < 1*.01/4 -> Bonferroni bound .0025, not 99 %;
    # fdr(p, .05): 0.008 < 1*.05/4 = .0125 -> 95 %
    assert esda.fdr(p, 0.01) == pytest.approx(0.0025)
    assert esda.fdr(p, 0.05) == pytest.approx(0.0125)
    assert hot_spot_bins(z, p, fdr=True).tolist() == [2, 0, 0, 0]


def test_bins_agree_with_significance_at_95(grid_w, values):
    res = local_gi_star(values, grid_w, alpha=0.05, fdr=True)
    assert ((res["bin"].abs() >= 2) == res["significant"]).all()
    assert (np.sign(res["bin"]) == np.sign(res["z"]) * (res["bin"] != 0)).all()


@pytest.mark.parametrize("level", [0.0, 5.0])
def test_constant_series_is_not_significant(grid_w, level):
    values = pd.Series(level, index=grid_w.id_order)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 RuntimeWarning leaks out
        res = local_gi_star(values, grid_w)
    assert (res["z"] == 0).all()
    assert (res["p"] == 1).all()
    assert (res["bin"] == 0).all()
    assert not res["significant"].any()


def test_permutation_p_values_are_seeded_two_sided_esda_p_sim(grid_w, values):
    a = local_gi_star(values, grid_w, permutations=199, seed=7)
    b = local_gi_star(values, grid_w, permutations=199, seed=7)
    pd.testing.assert_frame_equal(a, b)
    y = values.reindex(grid_w.id_order).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        g = esda.G_Local(
            y, fill_diagonal(grid_w, 1.0), star=True, transform="B", permutations=199, seed=7, n_jobs=1
        )
    np.testing.assert_allclose(a["p"], np.minimum(1, 2 * g.p_sim))
    np.testing.assert_allclose(a["z"], g.Zs)  # z stays analytical
    assert a["p"].min() == pytest.approx(2 / 200)  # the most extreme id24: (0 + 1) / (199 + 1), doubled


def test_permutations_do_not_strip_the_self_weight_of_reused_weights(grid_w, values):
    ws = gi_star_weights(grid_w)
    y = values.reindex(grid_w.id_order).to_numpy()
    gi_star_scores(y, ws, permutations=49, seed=1)
    assert (ws.sparse.diagonal() == 1).all()
    z_after, _ = gi_star_scores(y, ws)
    np.testing.assert_allclose(z_after, local_gi_star(values, grid_w)["z"])


def test_values_must_match_weight_ids(grid_w, values):
    with pytest.raises(ValueError, match="disagree on unit ids"):
        local_gi_star(values.drop("id0"), grid_w)
    with pytest.raises(ValueError, match="disagree on unit ids"):
        local_gi_star(pd.concat([values, pd.Series({"zzz": 1.0})]), grid_w)
    with pytest.raises(ValueError, match="finite"):
        local_gi_star(values.where(values.index != "id3"), grid_w)
