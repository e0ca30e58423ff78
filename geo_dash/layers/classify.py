"""Classification of layer values into coloured classes, and the palettes.

Numeric values are classified with :mod:`mapclassify` (the breaks are exactly
mapclassify's for the same values and parameters); categorical values take the
colours their layer declares, or the palette's colours in declaration order.

Palettes are shipped in code (the map runs on a closed network): ColorBrewer
sequential schemes (© Cynthia Brewer, Apache-2.0; the per-class lists of
colorbrewer2.org), viridis (CC0) and the Okabe–Ito qualitative palette.  All
of them are colour-blind safe, which is why the registry only accepts these
names (or an explicit list of hex colours for a layer that knows better).

Schemes whose breaks depend on random restarts or samples (``natural_breaks``,
``max_p``, the ``*_sampled`` ones) are deliberately not offered: a map whose
colours change between two requests for the same data cannot be trusted in a
briefing.  ``jenks_caspall`` is not offered either: it never returns on data
with many ties (counts per commune).  ``fisher_jenks`` is exact but O(n²)
without numba (≈0.3 s for a province's 600 communes, minutes for the whole
country): the shipped layers use ``headtail_breaks`` (heavy-tailed counts
and rates) or ``user_defined`` breaks instead.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import mapclassify
import numpy as np
import pandas as pd

NO_DATA_COLOR = "#d9d9d9"
OTHER_COLOR = "#969696"

# ColorBrewer 2.0 sequential/diverging schemes, colour-blind safe, 3..9 classes (colorbrewer2.org).
_BREWER = {
    "YlOrRd": {
        3: ["#ffeda0", "#feb24c", "#f03b20"],
        4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
        5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
        6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
        7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
        8: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
        9: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"],
    },
    "Blues": {
        3: ["#deebf7", "#9ecae1", "#3182bd"],
        4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
        5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
        6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
        7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
        8: ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
        9: ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"],
    },
    "Purples": {
        3: ["#efedf5", "#bcbddc", "#756bb1"],
        4: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
        5: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
        6: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
        7: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
        8: ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
        9: ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"],
    },
    "Greens": {
        3: ["#e5f5e0", "#a1d99b", "#31a354"],
        4: ["#edf8e9", "#bae4b3", "#74c476", "#238b45"],
        5: ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
        6: ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],
        7: ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"],
        8: ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#005a32"],
        9: ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"],
    },
    "Oranges": {
        3: ["#fee6ce", "#fdae6b", "#e6550d"],
        4: ["#feedde", "#fdbe85", "#fd8d3c", "#d94701"],
        5: ["#feedde", "#fdbe85", "#fd8d3c", "#e6550d", "#a63603"],
        6: ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],
        7: ["#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"],
        8: ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"],
        9: ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704"],
    },
    "YlGnBu": {
        3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
        4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
        5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
        6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
        7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
        8: ["#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
        9: ["#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"],
    },
    "PuOr": {  # diverging
        3: ["#f1a340", "#f7f7f7", "#998ec3"],
        4: ["#e66101", "#fdb863", "#b2abd2", "#5e3c99"],
        5: ["#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99"],
        6: ["#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788"],
        7: ["#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788"],
        8: ["#b35806", "#e08214", "#fdb863", "#fee0b6", "#d8daeb", "#b2abd2", "#8073ac", "#542788"],
        9: ["#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d8daeb", "#b2abd2", "#8073ac", "#542788"],
    },
}
# viridis (matplotlib, CC0), evenly sampled: dark = low.  viridis_r: light = low.
_VIRIDIS = {
    3: ["#440154", "#1f968b", "#fde725"],
    4: ["#440154", "#33638d", "#3cbb75", "#fde725"],
    5: ["#440154", "#39568c", "#1f968b", "#55c667", "#fde725"],
    6: ["#440154", "#404788", "#287d8e", "#20a387", "#73d055", "#fde725"],
    7: ["#440154", "#453781", "#33638d", "#1f968b", "#3cbb75", "#95d840", "#fde725"],
    8: ["#440154", "#453781", "#39568c", "#287d8e", "#20a387", "#55c667", "#95d840", "#fde725"],
    9: ["#440154", "#482677", "#39568c", "#2d708e", "#1f968b", "#29af7f", "#55c667", "#b8de29", "#fde725"],
}
# Okabe & Ito (2008), "Color Universal Design": distinguishable under all common colour-vision deficiencies.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]

SEQUENTIAL = {**_BREWER, "viridis": _VIRIDIS, "viridis_r": {k: v[::-1] for k, v in _VIRIDIS.items()}}
QUALITATIVE = {"okabe_ito": OKABE_ITO}
PALETTE_NAMES = tuple(SEQUENTIAL) + tuple(QUALITATIVE)
MAX_CLASSES = 9

# registry name -> mapclassify.classify scheme name (deterministic schemes only)
SCHEMES = {
    "quantiles": "quantiles",
    "equal_interval": "equalinterval",
    "fisher_jenks": "fisherjenks",
    "headtail_breaks": "headtailbreaks",
    "maximum_breaks": "maximumbreaks",
    "box_plot": "boxplot",
    "std_mean": "stdmean",
    "percentiles": "percentiles",
    "pretty_breaks": "prettybreaks",
    "user_defined": "userdefined",
}
SCHEMES_WITH_K = {"quantiles", "equal_interval", "fisher_jenks", "maximum_breaks", "pretty_breaks"}


def palette_colors(palette: str | list[str], k: int) -> list[str]:
    """``k`` colours of a palette (a shipped name or an explicit list of hex colours)."""
    if k <= 0:
        return []
    if isinstance(palette, (list, tuple)):
        colors = list(palette)
        if len(colors) >= k:
            idx = np.round(np.linspace(0, len(colors) - 1, k)).astype(int)
            return [colors[i] for i in idx]
        return [colors[i % len(colors)] for i in range(k)]
    if palette in QUALITATIVE:
        colors = QUALITATIVE[palette]
        return [colors[i % len(colors)] for i in range(k)]
    if palette not in SEQUENTIAL:
        raise KeyError(f"unknown palette {palette!r}; known: {', '.join(PALETTE_NAMES)}")
    table = SEQUENTIAL[palette]
    if k == 1:
        return [table[3][1]]
    if k == 2:
        return [table[3][0], table[3][2]]
    if k <= MAX_CLASSES:
        return list(table[k])
    # more classes than ColorBrewer defines: repeat the darkest (the registry caps k at 9)
    return list(table[MAX_CLASSES]) + [table[MAX_CLASSES][-1]] * (k - MAX_CLASSES)


def fmt_number(x: float | int | None, lang: str = "vi", digits: int = 1) -> str:
    """A number for people: Vietnamese ``1.234,5`` or English ``1,234.5``; integers without decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if float(x).is_integer():
        s = f"{int(round(x)):,}"
    else:
        s = f"{x:,.{digits}f}".rstrip("0").rstrip(".")
    if lang == "vi":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s


@dataclass
class Classes:
    """The outcome of a classification: one entry per class, and the class of every value."""

    kind: str                      # "numeric" | "categorical"
    colors: list[str]
    labels_vi: list[str]
    labels_en: list[str]
    counts: list[int]
    bins: list[float] = field(default_factory=list)        # upper bounds (numeric)
    lower: list[float] = field(default_factory=list)       # lower bounds (numeric)
    values: list[str] = field(default_factory=list)        # category values (categorical)
    class_of: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))  # -1 = no data
    scheme: str | None = None

    def color_of(self) -> list[str]:
        return [self.colors[i] if i >= 0 else NO_DATA_COLOR for i in self.class_of]


def classify_numeric(values, scheme: str = "quantiles", k: int = 5, palette: str | list[str] = "YlOrRd",
                     bins: list[float] | None = None, *, integer: bool | None = None) -> Classes:
    """Classify numbers with mapclassify; NaN/None are 'no data' (class -1).

    The breaks are those of ``mapclassify.classify(y, scheme, k=k)`` on the
    non-missing values.  With fewer distinct values than ``k`` the number of
    classes is reduced to the number of distinct values (mapclassify would
    warn and return duplicate breaks); with one distinct value there is one class.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown classification scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    arr = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(arr)
    y = arr[present]
    class_of = np.full(len(arr), -1, dtype=int)
    if integer is None:
        integer = bool(len(y)) and bool(np.all(np.mod(y, 1) == 0))
    if len(y) == 0:
        return Classes("numeric", [], [], [], [], class_of=class_of, scheme=scheme)
    n_unique = len(np.unique(y))
    if scheme != "user_defined" and n_unique == 1:
        ub, yb = [float(y[0])], np.zeros(len(y), dtype=int)
        lower = [float(y[0])]
    else:
        kw: dict = {}
        if scheme in SCHEMES_WITH_K:
            kw["k"] = int(min(k, n_unique))
        if scheme == "user_defined":
            kw["bins"] = list(bins or [])
            if kw["bins"] and y.max() > kw["bins"][-1]:
                kw["bins"] = kw["bins"] + [float(y.max())]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mc = mapclassify.classify(y, SCHEMES[scheme], **kw)
        ub = [float(b) for b in mc.bins]
        yb = np.asarray(mc.yb, dtype=int)
        lower = [float(y.min())] + ub[:-1]
    class_of[present] = yb
    counts = [int((yb == i).sum()) for i in range(len(ub))]
    colors = palette_colors(palette, len(ub))
    labels_vi = [_range_label(lo, hi, i, integer, "vi") for i, (lo, hi) in enumerate(zip(lower, ub))]
    labels_en = [_range_label(lo, hi, i, integer, "en") for i, (lo, hi) in enumerate(zip(lower, ub))]
    return Classes("numeric", colors, labels_vi, labels_en, counts, bins=ub, lower=lower, class_of=class_of,
                   scheme=scheme)


def _range_label(lo: float, hi: float, i: int, integer: bool, lang: str) -> str:
    """Classes are (lower, upper] (the first one [min, upper]): for whole numbers a class after the
    first starts at the next integer above the previous break."""
    if integer:
        a = math.ceil(lo) if i == 0 else math.floor(lo) + 1
        b = math.floor(hi)
        if a >= b:
            return fmt_number(b, lang)
        return f"{fmt_number(a, lang)} – {fmt_number(b, lang)}"
    a, b = fmt_number(round(lo, 1), lang), fmt_number(round(hi, 1), lang)
    return b if a == b else f"{a} – {b}"


def classify_categorical(values, categories: list[dict], palette: str | list[str] = "okabe_ito") -> Classes:
    """Categorical classes in the declared order.

    ``categories``: dicts with ``value``, ``label`` ({vi, en}) and optionally
    ``color`` (else the palette's colour at the category's position).  A value
    not declared falls in a trailing grey "other" class (there is none unless
    such a value occurs); None/NaN is no data.
    """
    colors = palette_colors(palette, len(categories))
    cats = [str(c["value"]) for c in categories]
    index = {v: i for i, v in enumerate(cats)}
    out_colors = [c.get("color") or colors[i] for i, c in enumerate(categories)]
    labels_vi = [c["label"]["vi"] for c in categories]
    labels_en = [c["label"]["en"] for c in categories]
    class_of, other = [], False
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            class_of.append(-1)
        elif str(v) in index:
            class_of.append(index[str(v)])
        else:
            class_of.append(len(cats))
            other = True
    if other:
        cats = cats + ["__other__"]
        out_colors = out_colors + [OTHER_COLOR]
        labels_vi, labels_en = labels_vi + ["Khác"], labels_en + ["Other"]
    class_arr = np.asarray(class_of, dtype=int)
    counts = [int((class_arr == i).sum()) for i in range(len(cats))]
    return Classes("categorical", out_colors, labels_vi, labels_en, counts, values=cats, class_of=class_arr,
                   scheme="categorical")


def thinned(values, n: int = 101) -> np.ndarray:
    """At most ``n`` evenly spaced quantiles of ``values`` (NaN dropped): what natural breaks are computed
    on, so a province's or the country's classes take milliseconds (Fisher-Jenks is O(k·n²))."""
    y = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").dropna().to_numpy(dtype=float)
    if len(y) <= n:
        return y
    return np.quantile(y, np.linspace(0, 1, n))


def indicator_classes(values, indicator: str, bins: list[float] | None = None) -> Classes:
    """The map's classes of a grievance indicator (the map page and the snapshots use this one rule).

    ``bins`` given (e.g. fixed over every month): those breaks.  Otherwise five classes of these values —
    natural breaks (Fisher-Jenks on at most 101 of their quantiles) for the intensity and for counts of
    filtered cases (``indicator="filtered"``: mostly zeros, where quintiles collapse), quintiles for the
    other indicators.  Palette YlOrRd.
    """
    if not bins:
        y = thinned(values)
        if len(y) and indicator in ("intensity", "filtered"):
            bins = classify_numeric(y, "fisher_jenks", k=5).bins
        else:
            return classify_numeric(values, "quantiles", k=5, palette="YlOrRd")
    return classify_numeric(values, "user_defined", bins=bins, palette="YlOrRd")
