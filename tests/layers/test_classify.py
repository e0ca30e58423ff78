"""Classification: breaks are mapclassify's for the same values; palettes are the shipped colour-blind-safe ones."""

from __future__ import annotations

import mapclassify
import numpy as np
import pytest

from geo_dash.layers.classify import (
    NO_DATA_COLOR,
    OKABE_ITO,
    PALETTE_NAMES,
    SEQUENTIAL,
    classify_categorical,
    classify_numeric,
    fmt_number,
    palette_colors,
)
from geo_dash.layers.data import classify_layer
from geo_dash.layers.registry import get_layer

pytestmark = pytest.mark.filterwarnings("ignore:Numba not installed")

MAPCLASSIFY = {
    "quantiles": lambda y, k: mapclassify.Quantiles(y, k=k),
    "equal_interval": lambda y, k: mapclassify.EqualInterval(y, k=k),
    "fisher_jenks": lambda y, k: mapclassify.FisherJenks(y, k=k),
    "maximum_breaks": lambda y, k: mapclassify.MaximumBreaks(y, k=k),
    "headtail_breaks": lambda y, k: mapclassify.HeadTailBreaks(y),
    "box_plot": lambda y, k: mapclassify.BoxPlot(y),
    "std_mean": lambda y, k: mapclassify.StdMean(y),
    "percentiles": lambda y, k: mapclassify.Percentiles(y),
}


def _values(seed: int, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.lognormal(1.5, 0.9, n), 2)  # skewed, like counts and rates per commune


@pytest.mark.parametrize("scheme", sorted(MAPCLASSIFY))
@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("seed", [1, 2])
def test_breaks_equal_mapclassify(scheme, k, seed):
    y = _values(seed)
    got = classify_numeric(y, scheme, k, "YlOrRd")
    want = MAPCLASSIFY[scheme](y, k)
    np.testing.assert_allclose(got.bins, want.bins)
    np.testing.assert_array_equal(got.class_of, want.yb)
    assert got.counts == [int(c) for c in want.counts]
    assert len(got.colors) == len(want.bins)


def test_user_defined_breaks_equal_mapclassify():
    y = _values(3)
    got = classify_numeric(y, "user_defined", palette="Blues", bins=[2, 5, 10])
    want = mapclassify.UserDefined(y, bins=[2, 5, 10])
    np.testing.assert_allclose(got.bins, want.bins)
    np.testing.assert_array_equal(got.class_of, want.yb)


def test_missing_values_are_no_data_and_do_not_move_the_breaks():
    y = _values(4, 100)
    with_gaps = np.concatenate([y, [np.nan, np.nan]]).astype(object)
    with_gaps[-1] = None
    got = classify_numeric(with_gaps, "quantiles", 5, "YlOrRd")
    np.testing.assert_allclose(got.bins, mapclassify.Quantiles(y, k=5).bins)
    assert list(got.class_of[-2:]) == [-1, -1]
    assert got.color_of()[-1] == NO_DATA_COLOR


def test_degenerate_inputs():
    assert classify_numeric([], "quantiles", 5).colors == []
    one = classify_numeric([3, 3, 3], "fisher_jenks", 5, "YlOrRd")
    assert one.bins == [3.0] and list(one.class_of) == [0, 0, 0] and one.labels_vi == ["3"]
    few = classify_numeric([0, 0, 0, 1, 2], "fisher_jenks", 5, "YlOrRd")
    assert len(few.bins) == 3  # no more classes than distinct values
    np.testing.assert_allclose(few.bins, mapclassify.FisherJenks(np.array([0, 0, 0, 1, 2.0]), k=3).bins)


def test_integer_labels_do_not_overlap():
    got = classify_numeric([0, 1, 2, 3, 5, 8, 13, 21], "user_defined", palette="YlOrRd", bins=[2, 8, 21])
    assert got.labels_vi == ["0 – 2", "3 – 8", "9 – 21"]


def test_numbers_read_as_people_write_them():
    assert fmt_number(1234.5, "vi") == "1.234,5"
    assert fmt_number(1234.5, "en") == "1,234.5"
    assert fmt_number(10000, "vi") == "10.000"
    assert fmt_number(float("nan")) == "—"


def test_palettes_are_the_shipped_colour_blind_safe_ones():
    assert palette_colors("YlOrRd", 5) == ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]  # ColorBrewer
    assert palette_colors("viridis", 3) == ["#440154", "#1f968b", "#fde725"]
    assert palette_colors("okabe_ito", 3) == OKABE_ITO[:3]
    for name in SEQUENTIAL:
        for k in range(2, 10):
            cols = palette_colors(name, k)
            assert len(cols) == k == len(set(cols)), (name, k)
    assert set(PALETTE_NAMES) >= {"YlOrRd", "Blues", "viridis", "okabe_ito"}
    with pytest.raises(KeyError):
        palette_colors("jet", 5)


def test_categorical_classes_keep_declared_order_and_colours():
    layer = get_layer("ethnic_minority_region")
    cl = classify_layer(layer, ["III", "I", None, "ngoai", "III"])
    assert cl.values == ["III", "II", "I", "ngoai"]
    assert cl.colors[0] == "#54278f"
    assert list(cl.class_of) == [0, 2, -1, 3, 0]
    assert cl.counts == [2, 0, 1, 1]
    assert cl.labels_en[0] == "Region III"


def test_an_undeclared_category_is_shown_as_other_not_dropped():
    cats = [{"value": "a", "label": {"vi": "A", "en": "A"}}]
    cl = classify_categorical(["a", "zz"], cats, "okabe_ito")
    assert cl.values == ["a", "__other__"] and list(cl.class_of) == [0, 1] and cl.labels_en[-1] == "Other"


def test_a_layer_classifies_with_its_declared_scheme():
    layer = get_layer("religious_areas")  # user_defined bins [2, 5, 9, 19], Purples
    y = _values(9).round()
    cl = classify_layer(layer, y)
    want = mapclassify.UserDefined(y, bins=[2, 5, 9, 19])
    np.testing.assert_allclose(cl.bins, want.bins)
    np.testing.assert_array_equal(cl.class_of, want.yb)
    assert cl.colors == palette_colors("Purples", len(want.bins))
    assert cl.labels_vi[:4] == ["0 – 2", "3 – 5", "6 – 9", "10 – 19"]
    counts = get_layer("land_clearance_complaints")  # headtail_breaks
    z = np.concatenate([np.zeros(500), np.random.default_rng(5).poisson(1.5, 100)])
    np.testing.assert_allclose(classify_layer(counts, z).bins, mapclassify.HeadTailBreaks(z).bins)
