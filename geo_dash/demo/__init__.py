"""Synthetic demo data: seeded grievance cases for the dashboard's demo and benchmarks.

All rows are **synthetic** (``is_synthetic`` = True, ``source`` = "demo-synthetic"),
calibrated on published aggregates; see ``docs/demo-data.md``.

* :func:`generate_cases` — five demo provinces (Quảng Trị, Quảng Nam, Phú Yên,
  Ninh Thuận, Bắc Giang), monthly Jan 2020 – Jun 2025, on the legacy communes,
  with historical, emerging and diminishing clusters.
* :func:`generate_cases_national` — N cases (default 1,000,000) over all
  communes, for benchmarks.
* :func:`demo_clusters` — where the clusters are (resolved by name in the data).
* :func:`mountainous_district_codes` — the mountainous districts (remote-area deadline).
* :func:`load_bundled_units` — the bundled legacy communes with district and province names.
"""

from geo_dash.demo.generator import (
    CATEGORIES,
    COLUMNS,
    DEMO_END,
    DEMO_PROVINCES,
    DEMO_START,
    DIMINISHING_CLUSTER,
    EMERGING_CLUSTER,
    HISTORICAL_PLACES,
    KINDS,
    LAND_CATEGORIES,
    LEVELS,
    MOUNTAINOUS_DISTRICTS,
    OPEN_STATUSES,
    QT_PETITIONS_PER_YEAR,
    SOURCE,
    STATUSES,
    DemoDataError,
    demo_clusters,
    generate_cases,
    generate_cases_national,
    load_bundled_units,
    mountainous_district_codes,
)

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DEMO_END",
    "DEMO_PROVINCES",
    "DEMO_START",
    "DIMINISHING_CLUSTER",
    "EMERGING_CLUSTER",
    "HISTORICAL_PLACES",
    "KINDS",
    "LAND_CATEGORIES",
    "LEVELS",
    "MOUNTAINOUS_DISTRICTS",
    "OPEN_STATUSES",
    "QT_PETITIONS_PER_YEAR",
    "SOURCE",
    "STATUSES",
    "DemoDataError",
    "demo_clusters",
    "generate_cases",
    "generate_cases_national",
    "load_bundled_units",
    "mountainous_district_codes",
]
