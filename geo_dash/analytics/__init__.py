"""Statistics core of geo_dash: weights, Gi*, emerging hot spots, rules, KPIs.

Pure computation on DataFrames / libpysal weights; no database or file I/O
except :func:`load_rules`, which reads a YAML rule file.
"""

from .ehsa import (
    CATEGORIES,
    CATEGORY_VI,
    EmergingPattern,
    MannKendallTrend,
    classify_emerging_pattern,
    emerging_hotspots,
    space_time_gi_star,
)
from .gistar import hot_spot_bins, local_gi_star
from .kpis import handling_kpis
from .rules import evaluate_rules, load_rules
from .weights import build_weights

__all__ = [
    "CATEGORIES",
    "CATEGORY_VI",
    "EmergingPattern",
    "MannKendallTrend",
    "build_weights",
    "classify_emerging_pattern",
    "emerging_hotspots",
    "evaluate_rules",
    "handling_kpis",
    "hot_spot_bins",
    "load_rules",
    "local_gi_star",
    "space_time_gi_star",
]
