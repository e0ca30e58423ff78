"""Map layers as data: the registry of ``layers/*.yaml``, their values, legends, imports and demo values.

* :mod:`~geo_dash.layers.registry` — load and validate the YAML files (``list_layers``, ``get_layer``).
* :mod:`~geo_dash.layers.data` — read functions for the map: ``layer_values``, ``layer_legend``,
  ``layer_features``, ``unit_context``, ``ntm_progress``.
* :mod:`~geo_dash.layers.classify` — mapclassify schemes and colour-blind-safe palettes.
* :mod:`~geo_dash.layers.imports` — ``import_layer`` (CSV/XLSX/GIS, per-row errors, one transaction).
* :mod:`~geo_dash.layers.demo` — seeded demo values, every one flagged demo.
* :mod:`~geo_dash.layers.sensitivity` — the derived sensitive-area flags.

Ethnicity and religion are context layers: they raise the priority of dialogue
and are never an input to any hotspot score.
"""

from geo_dash.layers.registry import Layer, LayerConfigError, get_layer, list_layers, load_registry

__all__ = ["Layer", "LayerConfigError", "get_layer", "list_layers", "load_registry"]
