"""Spatial weights for administrative units (communes, districts, provinces).

Contiguity follows the "queen" criterion (two polygons are neighbours when
they share at least one boundary point), as implemented by
:class:`libpysal.weights.Queen` (Rey & Anselin 2007, *PySAL: A Python Library
of Spatial Analytical Methods*).  Units without any contiguous neighbour
("islands": offshore communes such as Lý Sơn or Cồn Cỏ, or polygons with
topology gaps) would otherwise drop out of every local statistic, so each
island is joined to its ``k`` nearest units by centroid distance
(:class:`libpysal.weights.KNN`), symmetrically, so that the island also counts
in its mainland neighbours' neighbourhoods.

Centroids are taken in a metric CRS: lon/lat input is reprojected to
EPSG:3405 (VN-2000 / UTM zone 48N) first, because centroids and distances in
degrees are distorted.

The returned :class:`~libpysal.weights.W` is binary and untransformed; Gi*
applies the self-weight and row standardisation itself (see ``gistar``).
"""

from __future__ import annotations

import geopandas as gpd
from libpysal.weights import KNN, W, Queen

#: VN-2000 / UTM zone 48N, the metric CRS used for centroids of lon/lat input.
METRIC_CRS = "EPSG:3405"

__all__ = ["METRIC_CRS", "build_weights", "queen_contiguity", "attach_islands_knn"]


def _unit_ids(gdf: gpd.GeoDataFrame, id_col: str) -> list[str]:
    if id_col not in gdf.columns:
        raise ValueError(f"build_weights: id column {id_col!r} not in the frame")
    ids = gdf[id_col].astype(str).tolist()
    seen: set[str] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})
    if dupes:
        raise ValueError(f"build_weights: duplicate unit ids in {id_col!r}: {dupes[:10]}")
    return ids


def _metric_centroids(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Centroids in a metric CRS (lon/lat is reprojected to EPSG:3405)."""
    if gdf.crs is None:
        raise ValueError("build_weights: the GeoDataFrame has no CRS; set EPSG:4326 or a metric CRS")
    metric = gdf.to_crs(METRIC_CRS) if gdf.crs.is_geographic else gdf
    return gpd.GeoDataFrame(geometry=metric.geometry.centroid, crs=metric.crs)


def queen_contiguity(gdf: gpd.GeoDataFrame, ids: list[str]) -> W:
    """Binary queen-contiguity weights with ``ids`` as the W ids."""
    return Queen.from_dataframe(gdf, ids=ids, silence_warnings=True)


def attach_islands_knn(w: W, centroids: gpd.GeoDataFrame, ids: list[str], k: int) -> W:
    """Join every island of ``w`` to its ``k`` nearest units, both ways.

    ``centroids`` must be in a metric CRS and in the order of ``ids``.
    Returns a new binary W; ``w`` is not modified.
    """
    islands = set(w.islands)
    if not islands or k <= 0:
        return w
    k = min(k, len(ids) - 1)
    knn = KNN.from_dataframe(centroids, k=k, ids=ids, silence_warnings=True)
    neighbors = {i: set(w.neighbors[i]) for i in ids}
    for island in islands:
        for j in map(str, knn.neighbors[island]):
            neighbors[island].add(j)
            neighbors[j].add(island)
    return W(
        {i: sorted(neighbors[i]) for i in ids},
        id_order=ids,
        silence_warnings=True,
    )


def build_weights(gdf: gpd.GeoDataFrame, id_col: str = "unit_id", k_islands: int = 1) -> W:
    """Queen contiguity over polygons, islands joined to their k nearest units.

    Parameters
    ----------
    gdf : GeoDataFrame of (multi)polygons with a CRS (EPSG:4326 or metric).
    id_col : column whose values (as strings, e.g. ``"19363"``) become the W ids.
    k_islands : number of nearest units (by centroid, in EPSG:3405 for lon/lat
        input) joined to each unit that has no contiguous neighbour; the link is
        added in both directions so the W stays symmetric.  ``0`` keeps islands.

    Returns
    -------
    libpysal.weights.W
        Binary (transform ``"O"``), ids in ``gdf`` row order.
    """
    ids = _unit_ids(gdf, id_col)
    w = queen_contiguity(gdf, ids)
    if not w.islands or k_islands <= 0 or len(ids) < 2:
        return w
    return attach_islands_knn(w, _metric_centroids(gdf), ids, k_islands)
