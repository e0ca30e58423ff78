"""build_weights: queen contiguity + k-nearest links for islands."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo_dash.analytics import build_weights

D = 0.01  # cell size in degrees (~1 km)
LON0, LAT0 = 105.80, 21.00


def _grid_with_island() -> gpd.GeoDataFrame:
    """3x3 grid of touching cells (ids 19361..19369, row-major from the
    south-west) plus one detached island 5 cells east of the middle row."""
    xs = [LON0 + i * D for i in range(10)]  # shared edges, so cells touch exactly
    ys = [LAT0 + i * D for i in range(4)]
    rows = []
    for r in range(3):
        for c in range(3):
            rows.append({"unit_id": str(19361 + 3 * r + c), "geometry": box(xs[c], ys[r], xs[c + 1], ys[r + 1])})
    # island, level with the middle row, 5 cells east of the grid
    rows.append({"unit_id": "19999", "geometry": box(xs[8], ys[1], xs[9], ys[2])})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def test_ids_are_the_id_column_strings_and_w_is_binary_untransformed():
    w = build_weights(_grid_with_island())
    assert w.id_order == [str(19361 + i) for i in range(9)] + ["19999"]
    assert w.transform == "O"
    assert {v for ws in w.weights.values() for v in ws} == {1.0}


def test_queen_contiguity_on_the_grid():
    w = build_weights(_grid_with_island(), k_islands=0)
    # corner, edge and centre cells of a 3x3 queen grid
    assert w.cardinalities["19361"] == 3
    assert w.cardinalities["19362"] == 5
    assert set(w.neighbors["19365"]) == {str(19361 + i) for i in range(9)} - {"19365"}
    assert w.islands == ["19999"]  # k_islands=0 keeps the island


def test_island_joined_to_its_nearest_unit_symmetrically():
    w = build_weights(_grid_with_island(), k_islands=1)
    assert w.islands == []
    # nearest centroid to the island is the east cell of the middle row (19366)
    assert w.neighbors["19999"] == ["19366"]
    assert "19999" in w.neighbors["19366"]
    assert w.cardinalities["19366"] == 5 + 1
    # other units are unchanged
    assert w.cardinalities["19365"] == 8


def test_k_islands_two():
    w = build_weights(_grid_with_island(), k_islands=2)
    # the two nearest: middle-row east cell, then one of the diagonal east cells
    # (19363 and 19369 are equidistant; either is acceptable)
    nbrs = set(w.neighbors["19999"])
    assert len(nbrs) == 2 and "19366" in nbrs and nbrs <= {"19366", "19363", "19369"}
    for j in nbrs:
        assert "19999" in w.neighbors[j]


def test_nearest_neighbour_is_measured_in_metres_not_degrees():
    # Island I; A is 0.100 deg of longitude east, B 0.097 deg of latitude north.
    # In degrees B is nearer; at 21 N a degree of longitude is ~104 km and of
    # latitude ~111 km, so in metres A (~10.4 km) is nearer than B (~10.7 km).
    # B touches B2 so it is not an island itself (it would pick I otherwise).
    s = 0.002
    cells = {
        "I": (LON0 - s, LAT0 - s, LON0 + s, LAT0 + s),
        "A": (LON0 + 0.100 - s, LAT0 - s, LON0 + 0.100 + s, LAT0 + s),
        "B": (LON0 - s, LAT0 + 0.097 - s, LON0 + s, LAT0 + 0.097 + s),
        "B2": (LON0 - s, LAT0 + 0.097 + s, LON0 + s, LAT0 + 0.097 + 3 * s),
    }
    gdf = gpd.GeoDataFrame(
        [{"unit_id": k, "geometry": box(*bounds)} for k, bounds in cells.items()],
        crs="EPSG:4326",
    )
    w = build_weights(gdf, k_islands=1)
    assert "A" in w.neighbors["I"]
    assert "B" not in w.neighbors["I"]
    # the same layout already in a metric CRS gives the same answer
    w_metric = build_weights(gdf.to_crs("EPSG:3405"), k_islands=1)
    assert w_metric.neighbors["I"] == w.neighbors["I"]


def test_custom_id_column_and_integer_ids_become_strings():
    gdf = _grid_with_island().rename(columns={"unit_id": "ma_xa"})
    gdf["ma_xa"] = gdf["ma_xa"].astype(int)
    w = build_weights(gdf, id_col="ma_xa")
    assert "19365" in w.neighbors and all(isinstance(i, str) for i in w.id_order)


def test_duplicate_ids_rejected():
    gdf = _grid_with_island()
    gdf.loc[1, "unit_id"] = "19361"
    with pytest.raises(ValueError, match="duplicate unit ids"):
        build_weights(gdf)


def test_missing_crs_rejected_when_islands_need_distances():
    gdf = _grid_with_island().set_crs(None, allow_override=True)
    with pytest.raises(ValueError, match="no CRS"):
        build_weights(gdf)
