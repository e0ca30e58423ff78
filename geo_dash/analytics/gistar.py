"""Local Getis-Ord Gi* hot-spot statistic.

References
----------
* Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of
  distance statistics. *Geographical Analysis* 24(3), 189-206.
* Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics:
  distributional issues and an application. *Geographical Analysis* 27(4),
  286-306.
* Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
  *JRSS B* 57(1), 289-300 (via :func:`esda.fdr`).
* Esri, "How Hot Spot Analysis (Getis-Ord Gi*) works" (ArcGIS Pro docs) for the
  Gi_Bin confidence bins.

The statistic itself is :class:`esda.G_Local` with ``star=True``: every unit's
neighbourhood includes the unit itself with weight 1.

Row standardisation (``transform="R"``) vs binary (``transform="B"``)
--------------------------------------------------------------------
Ord & Getis (1995, eq. 9) give the Gi* z-score for general weights::

    z_i = (sum_j w_ij x_j - xbar * W_i) / (s * sqrt((n * S1_i - W_i**2) / (n - 1)))

with W_i = sum_j w_ij, S1_i = sum_j w_ij**2 and s the population standard
deviation.  z_i is invariant to multiplying row i by a constant, so the
row-standardised Gi* and the binary Gi* have *the same* z-scores.  esda 2.9's
``G_Local(..., transform="R")`` however computes the variance from the row
sums as if the weights were binary (``cardinality * (N - cardinality)`` with
cardinality = 1), which inflates the variance by roughly the neighbourhood size
and deflates z by a factor 2-4 on a queen grid (nothing would ever be
significant).  We therefore call ``G_Local(star=True, transform="B")`` on the
binary weights with unit self-weights: its ``Zs`` equal the formula above
evaluated with row-standardised weights exactly (tested in
``tests/analytics/test_gistar.py``), i.e. this *is* the row-standardised Gi*.

Inference
---------
* ``permutations=0`` (analytical): ``z`` is esda's ``Zs`` and ``p`` is the
  **two-sided** normal p-value ``2 * (1 - Phi(|z|))``.  Two-sided because a
  unit may be a hot spot (z > 0) or a cold spot (z < 0); this matches Esri's
  bins (|z| >= 1.65 / 1.96 / 2.58 for 90 / 95 / 99 %).  Note esda's own
  ``p_norm`` is one-sided; we do not use it.
* ``permutations>0``: esda's conditional permutation pseudo p-value ``p_sim``
  (seeded with ``seed``) is folded, i.e. one-tailed in the direction of the
  observed statistic; it is doubled (and capped at 1) to make it two-sided.
  ``z`` stays the analytical ``Zs`` (it gives the sign and the magnitude).

Significance and bins
---------------------
``alpha`` decides ``significant``: with ``fdr=True`` the cut-off is
``esda.fdr(p, alpha)`` (Benjamini-Hochberg over the units passed in; esda
returns the Bonferroni bound ``alpha/n`` when nothing survives) and a unit is
significant when ``p < cut`` (strict, which reproduces exactly the
Benjamini-Hochberg rejection set for esda's cut-off); with ``fdr=False`` the
cut-off is ``alpha`` itself (``p < alpha``).

``bin`` is Esri's Gi_Bin in -3..3, with the sign of z:

* without FDR: ±3 when p < 0.01, ±2 when p < 0.05, ±1 when p < 0.10, else 0;
* with FDR: the same three levels, but each level's cut-off is FDR-corrected
  separately, ``esda.fdr(p, 0.01)``, ``esda.fdr(p, 0.05)``,
  ``esda.fdr(p, 0.10)``: |bin| = 3 when p < fdr(p, .01), 2 when
  p < fdr(p, .05), 1 when p < fdr(p, .10), else 0 (Benjamini-Hochberg
  rejection sets grow with alpha, so a unit gets the highest level it passes).

``bin`` is independent of ``alpha``; with ``alpha=0.05`` ``significant`` is
exactly ``abs(bin) >= 2``.

A constant series (e.g. all zeros) has no spatial variation: esda returns NaN
z-scores (0/0), which we report as z = 0, p = 1, bin 0, not significant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from esda import G_Local, fdr as esda_fdr
from libpysal.weights import WSP, W, fill_diagonal
from scipy import stats

__all__ = [
    "BIN_LEVELS",
    "gi_star_weights",
    "gi_star_scores",
    "significance_cutoff",
    "is_significant",
    "hot_spot_bins",
    "local_gi_star",
    "gi_star_frame",
]

#: (|bin|, alpha) pairs for Esri's Gi_Bin: 99 %, 95 %, 90 % confidence.
BIN_LEVELS: tuple[tuple[int, float], ...] = ((3, 0.01), (2, 0.05), (1, 0.10))


def gi_star_weights(w: W) -> W:
    """Binary copy of ``w`` with a self-weight of 1 on the diagonal (Gi*).

    The original (untransformed) weights of ``w`` are used even if the caller
    has row-standardised it; ``w`` itself is never modified.
    """
    original = w.transformations.get("O", w.weights)
    base = W(dict(w.neighbors), dict(original), id_order=list(w.id_order), silence_warnings=True)
    return fill_diagonal(base, 1.0)


def gi_star_scores(
    y: np.ndarray, w_star: W, *, permutations: int = 0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and two-sided p-values for ``y`` (in ``w_star.id_order``).

    ``w_star`` must already carry the self-weights (:func:`gi_star_weights`);
    esda sets its transform to "B" (a no-op for binary weights), so the same
    object can be reused across time slices.
    """
    y = np.asarray(y, dtype=float)
    if y.shape != (w_star.n,):
        raise ValueError(f"Gi*: {y.shape[0]} values for {w_star.n} units")
    if not np.isfinite(y).all():
        raise ValueError("Gi*: values must be finite (no NaN/inf)")
    if np.ptp(y) == 0:  # constant: no spatial pattern; esda would give 0/0
        return np.zeros(y.size), np.ones(y.size)
    if y.sum() == 0:
        raise ValueError("Gi*: values sum to zero; Getis-Ord G is undefined")
    if permutations:
        # esda's conditional randomisation zeroes the diagonal of ``w.sparse``
        # in place (esda 2.9 crand.py), which would turn the caller's Gi*
        # weights into Gi weights for every later call: give it a copy.
        w_star = WSP(w_star.sparse.copy(), id_order=list(w_star.id_order)).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        # G_Local cannot pass ``alternative`` to crand; we convert the
        # "directed" (folded) p-value to two-sided ourselves below.
        warnings.filterwarnings("ignore", message="The alternative hypothesis", category=DeprecationWarning)
        g = G_Local(
            y,
            w_star,
            transform="B",  # see "Row standardisation" in the module docstring
            star=True,
            permutations=permutations,
            seed=seed,
            n_jobs=1,
            keep_simulations=False,
        )
    z = np.asarray(g.Zs, dtype=float)
    if permutations:
        p = np.minimum(1.0, 2.0 * np.asarray(g.p_sim, dtype=float))
    else:
        p = 2.0 * stats.norm.sf(np.abs(z))
    bad = ~np.isfinite(z)  # a unit whose neighbourhood is every unit has zero variance (0/0)
    z[bad] = 0.0
    p[bad] = 1.0
    return z, p


def significance_cutoff(p: np.ndarray, alpha: float, fdr: bool) -> float:
    """p-value cut-off: ``esda.fdr(p, alpha)`` with FDR, else ``alpha``."""
    return float(esda_fdr(np.asarray(p, dtype=float), alpha)) if fdr else float(alpha)


def is_significant(p: np.ndarray, cutoff: float) -> np.ndarray:
    """``p < cutoff`` (strict; see the module docstring)."""
    return np.asarray(p, dtype=float) < cutoff


def hot_spot_bins(z: np.ndarray, p: np.ndarray, *, fdr: bool) -> np.ndarray:
    """Esri Gi_Bin (-3..3) from z and two-sided p; see the module docstring."""
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    level = np.zeros(p.size, dtype=int)
    # loosest level first so stricter levels overwrite it
    for lvl, a in sorted(BIN_LEVELS, key=lambda t: -t[1]):
        level[is_significant(p, significance_cutoff(p, a, fdr))] = lvl
    return (np.sign(z).astype(int) * level).astype(int)


def _aligned_values(values: pd.Series, w: W) -> np.ndarray:
    index = values.index.astype(str)
    if index.has_duplicates:
        raise ValueError("local_gi_star: duplicate unit ids in values")
    ids = [str(i) for i in w.id_order]
    s = pd.Series(np.asarray(values, dtype=float), index=index)
    missing = sorted(set(ids) - set(index))
    extra = sorted(set(index) - set(ids))
    if missing or extra:
        raise ValueError(
            f"local_gi_star: values and weights disagree on unit ids "
            f"(missing values for {missing[:10]}, not in weights {extra[:10]})"
        )
    return s.reindex(ids).to_numpy()


def local_gi_star(
    values: pd.Series,
    w: W,
    *,
    permutations: int = 0,
    seed: int | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
) -> pd.DataFrame:
    """Local Getis-Ord Gi* (Getis & Ord 1992; Ord & Getis 1995) per unit.

    Parameters
    ----------
    values : Series indexed by unit id (same ids as ``w``; order free).
    w : binary libpysal W (e.g. from :func:`~geo_dash.analytics.build_weights`).
    permutations : 0 for analytical (normal) inference, else the number of
        conditional permutations (esda, seeded with ``seed``).
    alpha : significance level for ``significant``.
    fdr : Benjamini-Hochberg cut-off via :func:`esda.fdr` (default) or plain ``alpha``.

    Returns
    -------
    DataFrame in ``w.id_order`` with columns ``unit_id, value, z, p`` (two-sided),
    ``p_fdr_cut`` (the cut-off used), ``significant`` (bool) and ``bin`` (-3..3).
    See the module docstring for how bins are derived with and without FDR.
    """
    y = _aligned_values(values, w)
    z, p = gi_star_scores(y, gi_star_weights(w), permutations=permutations, seed=seed)
    return gi_star_frame([str(i) for i in w.id_order], y, z, p, alpha=alpha, fdr=fdr)


def gi_star_frame(
    ids: list[str], y: np.ndarray, z: np.ndarray, p: np.ndarray, *, alpha: float, fdr: bool
) -> pd.DataFrame:
    """Assemble the result frame (significance and bins over these units only)."""
    cut = significance_cutoff(p, alpha, fdr)
    return pd.DataFrame(
        {
            "unit_id": ids,
            "value": y,
            "z": z,
            "p": p,
            "p_fdr_cut": cut,
            "significant": is_significant(p, cut),
            "bin": hot_spot_bins(z, p, fdr=fdr),
        }
    )
