"""The layer registry: every map layer is a YAML file in ``layers/``, loaded and validated here.

Adding a layer is a YAML file plus its data, never a Python change.  The
directory is ``layers/`` of the project, or ``GEO_DASH_LAYERS_DIR`` when set
(a test or a deployment may point it elsewhere).  The schema is documented
field by field in ``layers/README.md``; :class:`Layer` is its single source.

A file that does not validate raises :class:`LayerConfigError` whose message
names the file and the field (``layers/x.yaml: field 'classification.k': …``),
so start-up fails loudly rather than drawing a wrong map.

Ethnicity and religion layers are context: they raise the priority of dialogue
in sensitive areas and are never an input to a hotspot score.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geo_dash.config import LAYERS_DIR
from geo_dash.layers.classify import MAX_CLASSES, PALETTE_NAMES, SCHEMES

IDENT = r"^[a-z][a-z0-9_]{0,62}$"
HEX = r"^#[0-9a-fA-F]{6}$"
Ident = Annotated[str, Field(pattern=IDENT)]
HexColor = Annotated[str, Field(pattern=HEX)]

FIELD_TYPES = ("number", "integer", "percent", "year", "category", "text", "date", "boolean")
NUMERIC_TYPES = ("number", "integer", "percent", "year")
BUILTIN_FIELDS = ("code", "name", "parent_name", "value", "label", "count", "rate", "population", "is_demo")


class LayerConfigError(ValueError):
    """A layer file that cannot be used; the message names the file and the field."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text in Vietnamese and English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Category(_Model):
    value: str = Field(min_length=1)
    label: Text
    color: HexColor | None = None
    aliases: list[str] = []
    rank: int | None = None     # ordering for min/max (default: position in the list)

    @field_validator("value", mode="before")
    @classmethod
    def _str(cls, v):
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class FieldSpec(_Model):
    """A value a layer holds per unit (or per feature)."""

    name: Ident
    type: Literal["number", "integer", "percent", "year", "category", "text", "date", "boolean"]
    title: Text
    unit: Text | None = None
    required: bool = False
    aliases: list[str] = []          # accepted column headers on import (besides name and titles)
    categories: list[Category] | None = None
    min: float | None = None
    max: float | None = None
    aggregate: Literal["sum", "mean", "min", "max"] = "sum"       # over a time window (table sources)
    crosswalk: Literal["sum", "mean", "min", "max", "dominant"] | None = None  # legacy -> 2025 carry

    @model_validator(mode="after")
    def _check(self):
        if self.type == "category" and not self.categories:
            raise ValueError("a 'category' field needs 'categories'")
        if self.type not in ("category", "boolean") and self.categories:
            raise ValueError("'categories' only for a field of type 'category' or 'boolean'")
        if self.type == "boolean" and self.categories and {c.value for c in self.categories} - {"true", "false"}:
            raise ValueError("the categories of a boolean field are 'true' and 'false'")
        if self.categories:
            values = [c.value for c in self.categories]
            dup = {v for v in values if values.count(v) > 1}
            if dup:
                raise ValueError(f"duplicate category values: {', '.join(sorted(dup))}")
        if self.crosswalk in ("sum", "mean") and self.type not in NUMERIC_TYPES:
            raise ValueError(f"crosswalk '{self.crosswalk}' needs a numeric field, not {self.type!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self


class Source(_Model):
    """Where a layer's values come from.

    * ``layer_value`` — the generic per-unit store filled by ``geo-dash layers import`` (one row per field).
    * ``table`` — any table or view with one column per field, keyed by unit (``unit_field``) and scheme.
    * ``features`` — a table of points/polygons (``geom``), e.g. key projects.
    """

    kind: Literal["layer_value", "table", "features"]
    table: Ident = "layer_value"
    unit_field: Ident = "unit_code"
    scheme_field: Ident = "scheme"
    period_field: Ident | None = None
    demo_field: Ident | None = "is_demo"
    id_field: Ident = "id"
    name_field: Ident = "name"
    geometry_field: Ident = "geom"
    filter: dict[Ident, list[str | int | bool]] = {}
    missing: Literal["no_data", "zero"] = "no_data"

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "layer_value" and self.table != "layer_value":
            raise ValueError("a 'layer_value' source reads the table layer_value; omit 'table'")
        if self.kind != "layer_value" and self.table == "layer_value":
            raise ValueError(f"a '{self.kind}' source needs 'table' (a table or view name)")
        if self.kind == "layer_value" and self.filter:
            raise ValueError("'filter' is for 'table' sources")
        return self


class Time(_Model):
    mode: Literal["static", "monthly"] = "static"
    window: int = Field(1, ge=1, le=120)       # months summed for a monthly layer (default window)
    max_window: int = Field(24, ge=1, le=120)


class Classification(_Model):
    method: Literal["categorical", "quantiles", "equal_interval", "fisher_jenks", "headtail_breaks",
                    "maximum_breaks", "box_plot", "std_mean", "percentiles",
                    "pretty_breaks", "user_defined"]
    k: int = Field(5, ge=2, le=MAX_CLASSES)
    bins: list[float] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.method == "user_defined":
            if not self.bins or len(self.bins) > MAX_CLASSES - 1:
                raise ValueError(f"'user_defined' needs 'bins' (1..{MAX_CLASSES - 1} upper bounds; values above "
                                 "the last one form one more class)")
            if any(b >= a for a, b in zip(self.bins[1:], self.bins)):
                raise ValueError("'bins' must increase")
        elif self.bins is not None:
            raise ValueError("'bins' only with method 'user_defined'")
        assert self.method == "categorical" or self.method in SCHEMES
        return self


class Legend(_Model):
    title: Text | None = None
    unit: Text | None = None
    note: Text | None = None
    no_data: Text = Text(vi="Không có dữ liệu", en="No data")


class Provenance(_Model):
    source: Text
    date: str = Field(min_length=4)        # 2009, 2024-06, 2024-06-30, or "cập nhật hằng ngày"
    licence: str = Field(min_length=1)
    url: str | None = None
    demo: bool = False                      # the values shipped with geo_dash are demo values
    import_path: Text | None = None         # how to load the real data

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v):
        return str(v) if v is not None else v


class Sensitivity(_Model):
    """Rules of the derived sensitive-area overlay (see geo_dash.layers.sensitivity).

    Ethnicity and religion only raise the priority of dialogue; they are never
    inputs to a hotspot score.
    """

    em_layer: Ident = "ethnic_minority_region"
    em_field: Ident = "region"
    em_region_classes: list[str] = ["III"]
    religious_layer: Ident = "religious_areas"
    religious_establishments_field: Ident = "establishments"
    religious_followers_field: Ident = "followers_pct"
    religious_min_establishments: float | None = Field(10, ge=0)
    religious_min_followers_pct: float | None = Field(50, ge=0, le=100)
    project_layer: Ident = "key_projects"
    project_table: Ident = "key_project"
    project_buffer_km: float = Field(3, ge=0, le=100)
    project_statuses: list[str] = ["dang_thuc_hien"]
    border: bool = True
    border_tolerance_m: float = Field(150, ge=0, le=5000)


class Layer(_Model):
    """One map layer, as declared by its YAML file (see layers/README.md)."""

    id: Ident
    title: Text
    description: Text
    group: Literal["grievance", "context", "overlay"] = "context"
    geometry: Literal["commune", "district", "province", "features"]
    source: Source
    fields: list[FieldSpec] = Field(min_length=1)
    value: Ident
    measures: list[Literal["count", "rate"]] = []
    rate_per: int = Field(10000, ge=1)
    time: Time = Time()
    classification: Classification
    palette: str | list[HexColor] = "YlOrRd"
    legend: Legend = Legend()
    tooltip: list[Ident] = ["name", "label"]
    popup: list[Ident] = []
    visible: bool = False
    roles: list[Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_]*)$")]] = ["*"]
    order: int = 100
    provenance: Provenance
    sensitivity: Sensitivity | None = None
    path: str | None = Field(None, exclude=True)

    @field_validator("palette")
    @classmethod
    def _palette(cls, v):
        if isinstance(v, str) and v not in PALETTE_NAMES:
            raise ValueError(f"unknown palette {v!r}; colour-blind-safe palettes: {', '.join(PALETTE_NAMES)} "
                             "(or a list of hex colours)")
        if isinstance(v, list) and not v:
            raise ValueError("an empty list of colours")
        return v

    @model_validator(mode="after")
    def _check(self):
        names = [f.name for f in self.fields]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"field 'fields': duplicate names {', '.join(sorted(dup))}")
        if self.value not in names:
            raise ValueError(f"field 'value': {self.value!r} is not one of the layer's fields ({', '.join(names)})")
        primary = self.field(self.value)
        if self.classification.method == "categorical":
            if primary.type == "boolean" and not primary.categories:
                raise ValueError(f"field 'fields': the boolean value field {self.value!r} needs 'categories' "
                                 "('true' and 'false', with labels and colours) to be drawn")
            if primary.type not in ("category", "boolean"):
                raise ValueError(f"field 'classification.method': 'categorical' needs a category field, "
                                 f"and {self.value!r} is {primary.type!r}")
        elif primary.type not in NUMERIC_TYPES:
            raise ValueError(f"field 'classification.method': {self.classification.method!r} needs a numeric value "
                             f"field, and {self.value!r} is {primary.type!r}")
        if (self.geometry == "features") != (self.source.kind == "features"):
            raise ValueError("field 'geometry': 'features' goes with a source of kind 'features' (and only with it)")
        if self.time.mode == "monthly":
            if self.source.kind != "table" or not self.source.period_field:
                raise ValueError("field 'time.mode': 'monthly' needs a 'table' source with 'period_field'")
            if self.time.window > self.time.max_window:
                raise ValueError("field 'time.window': larger than 'time.max_window'")
        if self.measures:
            if primary.type not in ("number", "integer"):
                raise ValueError("field 'measures': counts and rates need a number/integer value field")
            if self.geometry == "features":
                raise ValueError("field 'measures': not for a features layer")
        known = set(names) | set(BUILTIN_FIELDS)
        for key in ("tooltip", "popup"):
            bad = [f for f in getattr(self, key) if f not in known]
            if bad:
                raise ValueError(f"field '{key}': unknown field(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
        return self

    # ------------------------------------------------------------------ helpers
    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def primary(self) -> FieldSpec:
        return self.field(self.value)

    @property
    def is_categorical(self) -> bool:
        return self.classification.method == "categorical"

    def default_measure(self) -> str | None:
        return self.measures[0] if self.measures else None

    def visible_to(self, role: str | None) -> bool:
        return role is None or "*" in self.roles or role in self.roles

    def summary(self, lang: str = "vi") -> dict:
        """What a layer list in the UI needs (no data, no SQL)."""
        return {
            "id": self.id, "title": self.title.get(lang), "title_vi": self.title.vi, "title_en": self.title.en,
            "description": self.description.get(lang), "group": self.group, "geometry": self.geometry,
            "time": self.time.mode, "window": self.time.window, "measures": list(self.measures),
            "visible": self.visible, "order": self.order, "is_demo_source": self.provenance.demo,
        }


# ---------------------------------------------------------------------- loading
def layers_dir(directory: str | Path | None = None) -> Path:
    if directory is not None:
        return Path(directory)
    env = os.environ.get("GEO_DASH_LAYERS_DIR")
    return Path(env) if env else LAYERS_DIR


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[constrained-str]", "constrained-str") or str(part).startswith(("function-", "list[")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _pydantic_problems(exc: ValidationError, raw: dict | None = None) -> list[str]:
    errors = []
    for err in exc.errors():
        errors.append((tuple(err.get("loc", ())), _loc(tuple(err.get("loc", ()))), err))
    problems = []
    for raw_loc, loc, err in errors:
        # a union (palette: name or list of colours) reports every branch: keep the deeper, more precise one
        if err.get("type") in ("string_type", "list_type") and any(
                other != loc and other.startswith(loc) for _, other, _ in errors):
            continue
        msg = re.sub(r"^(Value error|Assertion failed), ", "", err.get("msg", ""))
        where = ""
        if raw and len(raw_loc) >= 2 and raw_loc[0] == "fields" and isinstance(raw_loc[1], int):
            try:
                where = f" [{raw['fields'][raw_loc[1]]['name']}]"
            except (KeyError, IndexError, TypeError):
                where = ""
        if msg.startswith("field '"):          # a model-level check that names its field itself
            problems.append(msg if not loc else f"field '{loc}.{msg[7:]}")
            continue
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (not in the layer schema; see layers/README.md)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        problems.append(f"field '{loc or '(top level)'}'{where}: {msg}")
    return problems


def load_layer_file(path: str | Path) -> Layer:
    """Read and validate one layer file; raises LayerConfigError naming the file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LayerConfigError(path, [f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LayerConfigError(path, [f"cannot read the file: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise LayerConfigError(path, ["field '(top level)': the file must be a mapping of fields (id: …, title: …)"])
    try:
        layer = Layer.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        raise LayerConfigError(path, _pydantic_problems(exc, raw)) from exc
    if layer.id != path.stem:
        raise LayerConfigError(path, [f"field 'id': {layer.id!r} must equal the file name {path.stem!r}"])
    return layer


def _signature(directory: Path) -> tuple:
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


@lru_cache(maxsize=16)
def _load(directory: str, signature: tuple) -> dict[str, Layer]:
    layers: dict[str, Layer] = {}
    errors: list[LayerConfigError] = []
    for file, _, _ in signature:
        try:
            layer = load_layer_file(file)
        except LayerConfigError as exc:
            errors.append(exc)
            continue
        if layer.id in layers:
            errors.append(LayerConfigError(file, [f"field 'id': {layer.id!r} is also the id of {layers[layer.id].path}"]))
            continue
        layers[layer.id] = layer
    if errors:
        first = errors[0]
        err = LayerConfigError(first.path, first.problems)
        err.args = ("\n".join(str(e) for e in errors),)
        err.all = errors  # type: ignore[attr-defined]
        raise err
    return layers


def load_registry(directory: str | Path | None = None) -> dict[str, Layer]:
    """All layers of the directory by id; re-read when a file changes. Raises LayerConfigError."""
    d = layers_dir(directory)
    if not d.is_dir():
        raise LayerConfigError(d, ["the layers directory does not exist"])
    return dict(_load(str(d.resolve()), _signature(d)))


def list_layers(role: str | None = None, directory: str | Path | None = None, group: str | None = None) -> list[Layer]:
    """The layers a role may see (all when ``role`` is None), by ``order`` then id."""
    layers = [l for l in load_registry(directory).values() if l.visible_to(role) and (group is None or l.group == group)]
    return sorted(layers, key=lambda l: (l.order, l.id))


def get_layer(layer: str | Layer, directory: str | Path | None = None) -> Layer:
    if isinstance(layer, Layer):
        return layer
    layers = load_registry(directory)
    if layer not in layers:
        raise KeyError(f"không có lớp (no layer) {layer!r}; known: {', '.join(sorted(layers))}")
    return layers[layer]


def validate_directory(directory: str | Path | None = None) -> list[Layer]:
    """Validate every file (all problems reported at once); returns the layers."""
    return list_layers(directory=directory)


def check_against_database(engine, layers: list[Layer] | None = None) -> list[str]:
    """Problems a layer's source has in the database (missing table/view or column)."""
    from sqlalchemy import inspect

    insp = inspect(engine)
    tables = set(insp.get_table_names()) | set(insp.get_view_names())
    problems = []
    for layer in layers if layers is not None else list_layers():
        src = layer.source
        if src.table not in tables:
            problems.append(f"{layer.path}: field 'source.table': {src.table!r} is not a table or view in the database")
            continue
        if src.kind == "layer_value":
            continue
        cols = {c["name"] for c in insp.get_columns(src.table)}
        wanted: dict[str, str] = {f"fields[{f.name}]": f.name for f in layer.fields}
        if src.kind == "table":
            wanted.update({"source.unit_field": src.unit_field, "source.scheme_field": src.scheme_field})
            if src.period_field:
                wanted["source.period_field"] = src.period_field
            wanted.update({f"source.filter.{k}": k for k in src.filter})
        else:
            wanted.update({"source.id_field": src.id_field, "source.name_field": src.name_field,
                           "source.geometry_field": src.geometry_field})
        if src.demo_field:
            wanted["source.demo_field"] = src.demo_field
        for where, col in wanted.items():
            if col not in cols:
                problems.append(f"{layer.path}: field '{where}': no column {col!r} in {src.table}")
    return problems


def as_dict(layer: Layer) -> dict[str, Any]:
    return layer.model_dump(mode="json", exclude_none=True)
