"""Snapshots and their files (PDF briefing, offline HTML map, GeoPackage, XLSX, manifest).

Exports only read: the analytics, boundaries and layers read functions with the snapshot's scope
(:mod:`geo_dash.exports.snapshot`); they never recompute a statistic.
"""
