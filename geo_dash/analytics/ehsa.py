"""Emerging Hot Spot Analysis (EHSA): Gi* per period + Mann-Kendall trend.

References
----------
* Esri, "How Emerging Hot Spot Analysis works" (ArcGIS Pro, Space Time Pattern
  Mining toolbox) -- the category definitions implemented below.
* Parry, J. (R package ``sfdep``), ``emerging_hotspot_analysis()`` and
  ``classify_hotspot()`` -- second reference for the categories and the
  time-lagged neighbourhood.
* Getis & Ord (1992); Ord & Getis (1995) -- Gi* (see :mod:`.gistar`).
* Mann (1945); Kendall (1975) -- monotonic trend test, via
  :func:`pymannkendall.original_test`.

Pipeline
--------
1. For every period t, Gi* z, two-sided p and significance (FDR per period when
   ``fdr=True``) with :mod:`.gistar` (esda ``G_Local``, star, row-standardised).
2. Mann-Kendall on each unit's Gi* z-series: ``trend_tau`` = Kendall's tau,
   ``trend_p`` = two-sided p; the trend is significant when ``trend_p < alpha``.
3. Each unit's (z, significant) series and trend are classified into Esri's
   categories by :func:`classify_emerging_pattern`.

Decisions where Esri's wording is ambiguous (each is commented at its rule and
tested in ``tests/analytics/test_ehsa.py``); "hot" = significant with z > 0,
cold mirrored:

* 90 % rule: denominator = all n periods including the final one; inclusive
  (9/10 and 18/20 qualify, 8/10 and 17/20 do not); integer arithmetic.
* The final period picks the family first, so the categories are exclusive:
  final hot -> intensifying/persistent/diminishing (>= 90 %), else
  oscillating (any cold before), else new, consecutive, sporadic.
* "New": no significant bin of either sign before the final one; a first hot
  spot after an earlier cold spot is "oscillating".
* "Consecutive": a final run of >= 2 hot bins with nothing significant (hot
  or cold) before it; a run of 1 is "new"; earlier cold bins -> oscillating.
* "Persistent" needs a hot final bin (like intensifying/diminishing); >= 90 %
  hot with a non-significant final bin is "historical".
* "Historical": final bin not significant at all (sfdep requires z < 0); a
  significant cold final bin after >= 90 % hot is "oscillating cold spot".
* "Sporadic" (ArcGIS Pro wording): the final bin must be hot; on-and-off hot
  spots that are not significant now are "no pattern" (unless historical).
* Trend counts when the Mann-Kendall p < alpha (strict); for cold spots
  "intensifying" means z decreasing (tau < 0).

Time lag (Esri "Neighborhood Time Step", sfdep ``k``)
----------------------------------------------------
With ``time_lag=k`` the space-time neighbourhood of bin (i, t) is
{(j, t-s) : j in N(i) ∪ {i}, s = 0..k}: the spatial neighbours and the unit
itself, now and in the k previous periods, all with weight 1 (row
standardisation does not change Gi* z, see :mod:`.gistar`).  It is implemented by stacking the slices t, t-1, ..., t-k
into one "slab" of (k+1)·n bins, building the space-time W over the slab and
running the same Gi* on it; only the n bins of slice t are kept.  Periods
earlier than k use the slices that exist (t, ..., 0).  The global mean and
variance that Gi* compares against are therefore those of the slab -- this is
Esri's Global Window = "Neighborhood time step" (with k = 0 it is
"Individual time step"); sfdep instead uses the entire cube.  FDR is applied
to the n focal p-values of each period.  With permutations, period t uses
``seed + t`` so periods do not share one random stream.

Validation
----------
``cube`` must have one row per (unit_id, period) for every unit of ``w`` and
every period: duplicates, missing rows (gaps), missing values, units unknown
to ``w`` and units of ``w`` without rows raise ``ValueError``.  For
``Period`` and datetime periods a whole missing period is detected too
(``Period``: the full range min..max must be present; datetimes: evenly
spaced according to :func:`pandas.infer_freq`).  For other period types
(ints, strings) only per-unit completeness can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymannkendall
import scipy.sparse as sp
from libpysal.weights import WSP, W
from scipy.stats import norm

from .gistar import gi_star_scores, gi_star_weights, hot_spot_bins, is_significant, significance_cutoff

__all__ = [
    "CATEGORIES",
    "CATEGORY_VI",
    "MannKendallTrend",
    "EmergingPattern",
    "classify_emerging_pattern",
    "space_time_weights",
    "space_time_gi_star",
    "emerging_hotspots",
]

NO_PATTERN = "no pattern"
_KINDS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
#: All category names, English, as returned in ``category``.
CATEGORIES: tuple[str, ...] = (NO_PATTERN,) + tuple(
    f"{kind} {spot} spot" for spot in ("hot", "cold") for kind in _KINDS
)

_KIND_VI = {
    "new": "mới",
    "consecutive": "liên tiếp",
    "intensifying": "gia tăng",
    "persistent": "dai dẳng",
    "diminishing": "suy giảm",
    "sporadic": "rải rác",
    "oscillating": "dao động",
    "historical": "lịch sử",
}
_SPOT_VI = {"hot": "điểm nóng", "cold": "điểm lạnh"}
#: English category -> Vietnamese label (``category_vi``).
CATEGORY_VI: dict[str, str] = {NO_PATTERN: "không có xu hướng"} | {
    f"{kind} {spot} spot": f"{_SPOT_VI[spot]} {_KIND_VI[kind]}" for spot in ("hot", "cold") for kind in _KINDS
}


# --------------------------------------------------------------------------
# Mann-Kendall trend
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MannKendallTrend:
    """Mann-Kendall monotonic trend test (Mann 1945; Kendall 1975).

    Thin wrapper over :func:`pymannkendall.original_test`: ``tau`` is its
    ``Tau`` and ``p`` its two-sided ``p``.  ``direction`` is +1 / -1 for a
    significant (``p < alpha``) increasing / decreasing trend, else 0.
    """

    tau: float
    p: float
    direction: int

    @classmethod
    def test(cls, series: np.ndarray, alpha: float = 0.05) -> MannKendallTrend:
        res = pymannkendall.original_test(np.asarray(series, dtype=float), alpha=alpha)
        tau, p = float(res.Tau), float(res.p)
        direction = int(np.sign(tau)) if p < alpha else 0
        return cls(tau=tau, p=p, direction=direction)

    @classmethod
    def test_columns(cls, series: np.ndarray, alpha: float = 0.05, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """``(tau, p)`` of :meth:`test` for every column of ``series`` (periods × units) at once.

        The same arithmetic as ``pymannkendall.original_test`` (score S, variance with the tie
        correction, continuity-corrected z, two-sided normal p), over whole arrays: at 10,000 units
        the library's per-call overhead was three quarters of EHSA's time.  The tests hold it equal
        to the library, value for value.  A column with a missing value goes to :meth:`test` (the
        library skips missing values)."""
        x = np.asarray(series, dtype=float)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError("Mann-Kendall: need a (periods, units) array with at least 2 periods")
        n, m = x.shape
        tau, p = np.empty(m), np.empty(m)
        for lo in range(0, m, chunk):
            block = x[:, lo:lo + chunk]
            gaps = np.isnan(block).any(axis=0)
            score = np.zeros(block.shape[1])
            for k in range(n - 1):  # S = sum over k < j of sign(x_j - x_k)
                later = block[k + 1:]
                score += (later > block[k]).sum(axis=0) - (later < block[k]).sum(axis=0)
            # tie correction: sum over groups of equal values of t(t-1)(2t+5) = sum over the values
            # of (t-1)(2t+5), t being how many values of the column equal that one
            ties = (block[:, None, :] == block[None, :, :]).sum(axis=1)
            var_s = (n * (n - 1) * (2 * n + 5) - ((ties - 1) * (2 * ties + 5)).sum(axis=0)) / 18
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(score > 0, (score - 1) / np.sqrt(var_s),
                             np.where(score < 0, (score + 1) / np.sqrt(var_s), 0.0))
            tau[lo:lo + chunk] = score / (.5 * n * (n - 1))
            p[lo:lo + chunk] = 2 * (1 - norm.cdf(np.abs(z)))
            for j in np.flatnonzero(gaps):
                one = cls.test(block[:, j], alpha=alpha)
                tau[lo + j], p[lo + j] = one.tau, one.p
        return tau, p


# --------------------------------------------------------------------------
# Classification (Esri "How Emerging Hot Spot Analysis works")
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class EmergingPattern:
    """Classification of one unit's Gi* series."""

    category: str
    n_periods: int
    n_hot: int
    n_cold: int
    final_run: int  # length of the uninterrupted run of same-type significant bins ending at the final period


def _at_least_90_percent(count: int, n: int) -> bool:
    # DECISION (90 % rule): the denominator is ALL n time-step intervals,
    # including the final one, and the final one counts in the numerator when
    # it is significant.  "At least 90 %" is inclusive: 9 of 10, 18 of 20 qualify;
    # 8 of 10, 17 of 20 do not.  Integer arithmetic, no float round-off.
    return 10 * count >= 9 * n


def _final_run_length(flags: np.ndarray) -> int:
    """Length of the run of True values ending at the last element."""
    if not flags[-1]:
        return 0
    false_at = np.flatnonzero(~flags)
    return int(flags.size - (false_at[-1] + 1)) if false_at.size else int(flags.size)


def _classify_final_significant(spot: str, own: np.ndarray, other: np.ndarray, trend: int) -> str:
    """Category of a unit whose final bin is a significant ``spot`` ("hot"/"cold").

    ``own`` flags significant bins of that type, ``other`` of the opposite type,
    ``trend`` is +1 when the *intensity* of this spot type is significantly
    increasing (z up for hot, z down for cold), -1 when decreasing, 0 otherwise.
    """
    n, n_own = own.size, int(own.sum())
    if _at_least_90_percent(n_own, n):
        # Intensifying / diminishing: >= 90 % including the final step, with a
        # significant Mann-Kendall trend in the Gi* z-scores.  Persistent: >= 90 %
        # with no significant trend.
        # DECISION: persistent also requires the final bin to be significant
        # (we are in that branch); >= 90 % with a non-significant final bin is
        # "historical" (Esri: "the most recent time period is not hot").
        if trend > 0:
            return f"intensifying {spot} spot"
        if trend < 0:
            return f"diminishing {spot} spot"
        return f"persistent {spot} spot"
    if other.any():
        # Oscillating: significant at the final step, a history of at least one
        # significant bin of the opposite type, < 90 % of bins of this type.
        # DECISION: this wins over "new"/"consecutive": a unit that was a cold
        # spot and is now for the first time a hot spot is oscillating, i.e.
        # "has never been a significant hot spot before" in "new" is read as
        # "has never been significant (hot or cold) before" (as sfdep does).
        return f"oscillating {spot} spot"
    if n_own == 1:
        # New: significant only at the final step, never significant before.
        return f"new {spot} spot"
    run = _final_run_length(own)
    if run == n_own:
        # Consecutive: one uninterrupted run of significant bins ending at the
        # final step, nothing significant before it, < 90 % of bins.
        # DECISION: the run must have at least 2 bins (Esri: "at least two");
        # a run of 1 is "new" (handled above, n_own == 1).
        return f"consecutive {spot} spot"
    # Sporadic: significant at the final step (ArcGIS Pro wording; the older
    # ArcMap wording and sfdep do not require this), on-again/off-again before,
    # < 90 % of bins, never the opposite type.
    # DECISION: follow ArcGIS Pro -- a unit that was on-and-off hot but is not
    # significant at the final step is "no pattern" (unless >= 90 %: historical).
    return f"sporadic {spot} spot"


def classify_emerging_pattern(
    z: np.ndarray, significant: np.ndarray, trend_tau: float, trend_p: float, *, alpha: float = 0.05
) -> EmergingPattern:
    """Esri emerging hot/cold spot category of one unit.

    Parameters
    ----------
    z : Gi* z-scores in period order (sign: hot > 0, cold < 0).
    significant : per-period significance (FDR or not, decided by the caller).
    trend_tau, trend_p : Mann-Kendall on ``z``; the trend counts when ``trend_p < alpha``.

    Rules (hot; cold mirrored with z < 0, and "intensifying" = z decreasing):
    the final bin decides the family first, so categories are mutually exclusive:

    * final bin hot: >= 90 % hot -> intensifying / diminishing / persistent by
      trend; else any cold bin -> oscillating; else only the final bin -> new;
      else one final run -> consecutive; else sporadic;
    * final bin not significant: >= 90 % hot -> historical hot, >= 90 % cold ->
      historical cold, else no pattern.
    """
    z = np.asarray(z, dtype=float)
    sig = np.asarray(significant, dtype=bool)
    if z.ndim != 1 or z.shape != sig.shape or z.size < 2:
        raise ValueError("classify_emerging_pattern: need equal-length 1-d series of >= 2 periods")
    hot, cold = sig & (z > 0), sig & (z < 0)
    n, n_hot, n_cold = z.size, int(hot.sum()), int(cold.sum())
    z_trend = int(np.sign(trend_tau)) if trend_p < alpha else 0

    if hot[-1]:
        category = _classify_final_significant("hot", hot, cold, z_trend)
        run = _final_run_length(hot)
    elif cold[-1]:
        # DECISION: a final cold bin after >= 90 % hot bins is "oscillating cold
        # spot" (current state first), not "historical hot spot": historical
        # hot is reserved for a final bin that is not significant at all.
        category = _classify_final_significant("cold", cold, hot, -z_trend)
        run = _final_run_length(cold)
    else:
        run = 0
        # Historical: the most recent period is not significant, but >= 90 % of
        # all periods (the final included in the denominator) were.  Needs n >= 10.
        # DECISION: "not hot" = final bin not significant (sfdep requires z < 0).
        if _at_least_90_percent(n_hot, n):
            category = "historical hot spot"
        elif _at_least_90_percent(n_cold, n):
            category = "historical cold spot"
        else:
            category = NO_PATTERN
    return EmergingPattern(category=category, n_periods=n, n_hot=n_hot, n_cold=n_cold, final_run=run)


# --------------------------------------------------------------------------
# Vietnamese explanation
# --------------------------------------------------------------------------
def _vi_number(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def explain_vi(pattern: EmergingPattern, tau: float, period_word: str = "kỳ") -> str:
    """One plain Vietnamese sentence explaining ``pattern`` to a non-statistician."""
    u, n = period_word, pattern.n_periods
    t = f"tau={_vi_number(tau)}"
    cat = pattern.category
    if cat == NO_PATTERN:
        if pattern.n_hot == pattern.n_cold == 0:
            return f"Chưa từng là điểm nóng hay điểm lạnh có ý nghĩa thống kê trong {n} {u} qua."
        return (
            f"Không có xu hướng rõ ràng: {pattern.n_hot}/{n} {u} là điểm nóng, "
            f"{pattern.n_cold}/{n} {u} là điểm lạnh, {u} gần nhất không có ý nghĩa thống kê."
        )
    kind, spot = cat.split(" ")[0], cat.split(" ")[1]
    name = _SPOT_VI[spot]
    other = _SPOT_VI["cold" if spot == "hot" else "hot"]
    n_own = pattern.n_hot if spot == "hot" else pattern.n_cold
    n_other = pattern.n_cold if spot == "hot" else pattern.n_hot
    intensity = "cường độ" if spot == "hot" else "mức lạnh"
    recent = f"{u} gần nhất"
    sentences = {
        "new": f"Lần đầu trở thành {name} có ý nghĩa thống kê ở {recent}; "
        f"{n - 1} {u} trước đó chưa từng có ý nghĩa.",
        "consecutive": f"Là {name} có ý nghĩa {pattern.final_run} {u} liên tiếp gần đây; "
        f"trước đó chưa từng là {name}.",
        "intensifying": f"Là {name} có ý nghĩa {n_own}/{n} {u}, kể cả {recent}, {intensity} tăng ({t}).",
        "persistent": f"Là {name} có ý nghĩa {n_own}/{n} {u}, {intensity} không thay đổi rõ rệt ({t}).",
        "diminishing": f"Là {name} có ý nghĩa {n_own}/{n} {u}, kể cả {recent}, "
        f"nhưng {intensity} giảm ({t}).",
        "sporadic": f"Là {name} ở {recent}, trước đó lúc có lúc không ({n_own}/{n} {u}); "
        f"chưa từng là {other}.",
        "oscillating": f"Là {name} ở {recent} nhưng từng là {other} {n_other} {u} "
        f"({n_own}/{n} {u} là {name}).",
        "historical": f"Từng là {name} có ý nghĩa {n_own}/{n} {u} nhưng {recent} không còn là {name}.",
    }
    return sentences[kind]


def _inferred_freq(periods: pd.Index) -> str | None:
    """``pandas.infer_freq`` as a string (None when irregular), across pandas versions."""
    index = pd.DatetimeIndex(periods)
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            freq = pd.infer_freq(index)
    except KeyError:  # pandas < 3.1 has no such option (OptionError is a KeyError)
        freq = pd.infer_freq(index)
    if freq is None:
        return None
    return freq if isinstance(freq, str) else freq.freqstr


def _period_word(periods: pd.Index) -> str:
    """'tháng' / 'quý' / 'năm' / 'tuần' / 'ngày' from the period frequency, else 'kỳ'."""
    freq = None
    if isinstance(periods.dtype, pd.PeriodDtype):
        freq = periods.dtype.freq.freqstr
    elif pd.api.types.is_datetime64_any_dtype(periods) and len(periods) >= 3:
        freq = _inferred_freq(periods)
    if not freq:
        return "kỳ"
    head = freq.split("-")[0].upper().rstrip("SE")
    words = {"M": "tháng", "Q": "quý", "Y": "năm", "A": "năm", "W": "tuần", "D": "ngày"}
    return words.get(head, "kỳ")


# --------------------------------------------------------------------------
# Cube validation and space-time Gi*
# --------------------------------------------------------------------------
def _check_time_axis(periods: pd.Index) -> None:
    if isinstance(periods.dtype, pd.PeriodDtype):
        full = pd.period_range(periods.min(), periods.max(), freq=periods.dtype.freq)
        missing = full.difference(periods)
        if len(missing):
            raise ValueError(f"cube has gaps: no rows at all for period(s) {[str(p) for p in missing[:10]]}")
    elif pd.api.types.is_datetime64_any_dtype(periods) and len(periods) >= 3:
        if _inferred_freq(periods) is None:
            raise ValueError(
                "cube has gaps: periods are not evenly spaced "
                f"({[str(p.date()) for p in periods[:12]]}...); a whole period may be missing"
            )


def cube_matrix(cube: pd.DataFrame, ids: list[str]) -> tuple[pd.Index, np.ndarray]:
    """Validate ``cube`` and return (sorted periods, values array of shape (T, n) in ``ids`` order)."""
    missing_cols = {"unit_id", "period", "value"} - set(cube.columns)
    if missing_cols:
        raise ValueError(f"cube is missing column(s) {sorted(missing_cols)}")
    df = cube[["unit_id", "period", "value"]].copy()
    df["unit_id"] = df["unit_id"].astype(str)
    if df["value"].isna().any():
        bad = df.loc[df["value"].isna(), ["unit_id", "period"]].head(5).to_dict("records")
        raise ValueError(f"cube has missing values (NaN) at {bad}")
    dup = df.duplicated(["unit_id", "period"], keep=False)
    if dup.any():
        bad = df.loc[dup, ["unit_id", "period"]].drop_duplicates().head(5).to_dict("records")
        raise ValueError(f"cube has duplicate (unit_id, period) rows: {bad}")
    known = set(ids)
    unknown = sorted(set(df["unit_id"]) - known)
    if unknown:
        raise ValueError(f"cube has unit_id(s) not in the weights: {unknown[:10]}")
    absent = sorted(known - set(df["unit_id"]))
    if absent:
        raise ValueError(f"cube has no rows for unit(s) in the weights: {absent[:10]}")
    periods = pd.Index(df["period"].unique()).sort_values()
    if len(periods) < 2:
        raise ValueError("cube needs at least 2 periods for a trend")
    _check_time_axis(periods)
    wide = df.pivot(index="period", columns="unit_id", values="value").reindex(index=periods, columns=ids)
    if wide.isna().any().any():
        holes = wide.isna().stack()
        holes = holes[holes].index[:5].tolist()
        raise ValueError(f"cube has gaps: missing (period, unit_id) rows {[(str(p), u) for p, u in holes]}")
    return periods, wide.to_numpy(dtype=float)


def space_time_weights(w: W, n_slices: int) -> W:
    """Gi* weights over a slab of ``n_slices`` stacked slices [t, t-1, ..., t-n_slices+1].

    Bins are ordered slice by slice (slice t first), units in ``w.id_order``.
    Rows of slice t link unit i to (j, t-s) for every j in N(i) ∪ {i} and
    s = 0..n_slices-1, weight 1 (self included: Gi*).  Rows of the lagged
    slices only get their own spatial star neighbourhood; their statistics are
    not used.  ``n_slices == 1`` gives the plain spatial Gi* weights.
    """
    star = gi_star_weights(w)
    if n_slices == 1:
        return star
    a = star.sparse.tocsr()  # binary with unit diagonal (transform "O")
    n = a.shape[0]
    top = sp.hstack([a] * n_slices)
    lagged = sp.hstack([sp.csr_matrix((n * (n_slices - 1), n)), sp.block_diag([a] * (n_slices - 1))])
    slab = sp.vstack([top, lagged]).tocsr()
    ids = [str(i) for i in star.id_order] + [
        f"{i}@t-{s}" for s in range(1, n_slices) for i in star.id_order
    ]
    return WSP(slab, id_order=ids).to_W(silence_warnings=True)


def _gi_star_slices(
    y: np.ndarray, w: W, *, time_lag: int, alpha: float, fdr: bool, permutations: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """z, p, cut-off, significant, bin for every (period, unit); arrays of shape (T, n)."""
    n_periods, n = y.shape
    slabs: dict[int, W] = {}
    z = np.empty_like(y)
    p = np.empty_like(y)
    cut = np.empty(n_periods)
    for t in range(n_periods):
        n_slices = min(time_lag, t) + 1
        if n_slices not in slabs:
            slabs[n_slices] = space_time_weights(w, n_slices)
        slab_values = y[t - n_slices + 1 : t + 1][::-1].ravel()  # slice t first, then t-1, ...
        period_seed = None if seed is None else seed + t
        zt, pt = gi_star_scores(slab_values, slabs[n_slices], permutations=permutations, seed=period_seed)
        z[t], p[t] = zt[:n], pt[:n]
        cut[t] = significance_cutoff(p[t], alpha, fdr)
    sig = is_significant(p, cut[:, None])
    bins = np.vstack([hot_spot_bins(z[t], p[t], fdr=fdr) for t in range(n_periods)])
    return z, p, cut, sig, bins


def space_time_gi_star(
    cube: pd.DataFrame,
    w: W,
    *,
    alpha: float = 0.05,
    permutations: int = 0,
    fdr: bool = True,
    time_lag: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Gi* for every (unit, period) bin of ``cube`` (long format).

    Columns ``unit_id, period, value, z, p, p_fdr_cut, significant, bin``;
    same inference and neighbourhood as :func:`emerging_hotspots`.
    """
    ids = [str(i) for i in w.id_order]
    periods, y = cube_matrix(cube, ids)
    z, p, cut, sig, bins = _gi_star_slices(
        y, w, time_lag=_check_lag(time_lag), alpha=alpha, fdr=fdr, permutations=permutations, seed=seed
    )
    n_periods, n = y.shape
    return pd.DataFrame(
        {
            "unit_id": np.tile(ids, n_periods),
            "period": np.repeat(periods.to_numpy(), n),
            "value": y.ravel(),
            "z": z.ravel(),
            "p": p.ravel(),
            "p_fdr_cut": np.repeat(cut, n),
            "significant": sig.ravel(),
            "bin": bins.ravel(),
        }
    )


def _check_lag(time_lag: int) -> int:
    if int(time_lag) != time_lag or time_lag < 0:
        raise ValueError(f"time_lag must be a non-negative integer, got {time_lag!r}")
    return int(time_lag)


def emerging_hotspots(
    cube: pd.DataFrame,
    w: W,
    *,
    alpha: float = 0.05,
    permutations: int = 0,
    fdr: bool = True,
    time_lag: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Emerging Hot Spot Analysis (Esri categories) for every unit of ``w``.

    Parameters
    ----------
    cube : DataFrame with ``unit_id, period, value``, one row per unit and
        period, no gaps (see the module docstring for validation).
    w : binary libpysal W over the same unit ids (e.g. ``build_weights``).
    alpha : significance level for the Gi* bins (after FDR) and the trend.
    permutations : 0 = analytical Gi* inference, else conditional permutations.
    fdr : Benjamini-Hochberg per period (:func:`esda.fdr`).
    time_lag : k previous periods in the space-time neighbourhood.
    seed : permutation seed (period t uses ``seed + t``).

    Returns
    -------
    DataFrame, one row per unit in ``w.id_order``: ``unit_id, category,
    category_vi, explanation_vi, trend_tau, trend_p, n_periods, n_hot, n_cold,
    final_run, last_z, last_p, last_bin``.
    """
    ids = [str(i) for i in w.id_order]
    periods, y = cube_matrix(cube, ids)
    z, p, _cut, sig, bins = _gi_star_slices(
        y, w, time_lag=_check_lag(time_lag), alpha=alpha, fdr=fdr, permutations=permutations, seed=seed
    )
    word = _period_word(periods)
    taus, ps = MannKendallTrend.test_columns(z, alpha=alpha)
    rows = []
    for i, unit in enumerate(ids):
        tau, trend_p = float(taus[i]), float(ps[i])
        pattern = classify_emerging_pattern(z[:, i], sig[:, i], tau, trend_p, alpha=alpha)
        rows.append(
            {
                "unit_id": unit,
                "category": pattern.category,
                "category_vi": CATEGORY_VI[pattern.category],
                "explanation_vi": explain_vi(pattern, tau, word),
                "trend_tau": tau,
                "trend_p": trend_p,
                "n_periods": pattern.n_periods,
                "n_hot": pattern.n_hot,
                "n_cold": pattern.n_cold,
                "final_run": pattern.final_run,
                "last_z": z[-1, i],
                "last_p": p[-1, i],
                "last_bin": int(bins[-1, i]),
            }
        )
    return pd.DataFrame(rows)
