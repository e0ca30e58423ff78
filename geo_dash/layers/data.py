"""Read functions of the layers: values keyed by unit code, legends, feature GeoJSON, NTM progress.

What the map (and the exports) call — the web has no SQL of its own:

* :func:`layer_values` — one row per unit of the scope (every commune of the
  province, with or without data), the value drawn, its label, class and colour.
  No geometry: the map draws the scope's polygons once and restyles them.
* :func:`layer_legend` — the legend of those values: classes with labels and
  colours, the "no data" count, and provenance (source, date, licence, demo).
* :func:`layer_features` — GeoJSON of a points/polygons layer (key projects,
  industrial zones) in the scope.
* :func:`ntm_progress` — share of communes at each NTM level per province or
  district, against the targets in ``ntm_target``.

Every demo value is flagged: ``is_demo`` per row, "(minh họa)"/"(demo)" in its
label, and ``provenance.is_demo`` plus a warning in the legend.

Ethnicity and religion layers are context: they raise the priority of dialogue
and are never an input to a hotspot score.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from geo_dash.layers.classify import (
    NO_DATA_COLOR,
    Classes,
    classify_categorical,
    classify_numeric,
    fmt_number,
)
from geo_dash.layers.registry import NUMERIC_TYPES, Layer, get_layer
from geo_dash.text import fold

COORD_DIGITS = 5
DEMO_TAG = {"vi": "minh họa", "en": "demo"}
DEMO_WARNING = {
    "vi": "DỮ LIỆU MINH HỌA — không phải số liệu thật; nạp dữ liệu thật bằng geo-dash layers import",
    "en": "DEMO DATA — not real figures; load the real data with geo-dash layers import",
}
NTM_LEVELS = ("dat_chuan", "nang_cao", "kieu_mau")
NTM_RANK = {"chua_dat": 0, "dat_chuan": 1, "nang_cao": 2, "kieu_mau": 3}


class LayerDataError(ValueError):
    pass


# ---------------------------------------------------------------------- helpers
def parse_month(period: Any) -> dt.date | None:
    """The first day of the month of ``period`` (a date, 'YYYY-MM' or 'YYYY-MM-DD'); None stays None."""
    if period is None or period == "":
        return None
    if isinstance(period, dt.datetime):
        period = period.date()
    if isinstance(period, dt.date):
        return period.replace(day=1)
    s = str(period).strip()
    try:
        if len(s) == 7:
            return dt.date(int(s[:4]), int(s[5:7]), 1)
        return dt.date.fromisoformat(s[:10]).replace(day=1)
    except ValueError as exc:
        raise LayerDataError(f"kỳ không hợp lệ (invalid period) {period!r}: use YYYY-MM") from exc


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + (d.month - 1) + n
    return dt.date(m // 12, m % 12 + 1, 1)


def month_end(d: dt.date) -> dt.date:
    return add_months(d, 1) - dt.timedelta(days=1)


_SCOPE = """
    SELECT u.code, u.name, p.name AS parent_name, u.population, u.unit_type
    FROM admin_unit u
    LEFT JOIN admin_unit p ON p.scheme = u.scheme AND p.code = u.parent_code AND p.level <> u.level
    WHERE u.scheme = :scheme AND u.level = :level
      AND (CAST(:province AS text) IS NULL OR u.province_code = CAST(:province AS text))
    ORDER BY u.code
"""
_SCOPE_CODES = """SELECT code FROM admin_unit WHERE scheme = :scheme AND level = :level
                  AND (CAST(:province AS text) IS NULL OR province_code = CAST(:province AS text))"""


def _scope(conn: Connection, scheme: str, level: str, province: str | None) -> pd.DataFrame:
    rows = conn.execute(text(_SCOPE), dict(scheme=scheme, level=level, province=province)).mappings().all()
    return pd.DataFrame(rows, columns=["code", "name", "parent_name", "population", "unit_type"])


def _check_scheme(scheme: str) -> None:
    if scheme not in ("legacy", "2025"):
        raise LayerDataError(f"scheme must be 'legacy' or '2025', not {scheme!r}")


def _field_value(spec, num, txt):
    if spec.type in ("number", "percent"):
        return num
    if spec.type in ("integer", "year"):
        return None if num is None or (isinstance(num, float) and math.isnan(num)) else int(num)
    return txt


# ---------------------------------------------------------------------- readers per source kind
def _read_layer_value(conn: Connection, layer: Layer, scheme: str, province: str | None,
                      as_of: dt.date | None, codes: list[str] | None = None) -> pd.DataFrame:
    """Latest value (as of ``as_of``) of every field per unit, pivoted: code, <fields…>, is_demo, import_ids."""
    fields = [f.name for f in layer.fields]
    where_units = "v.unit_code = ANY(:codes)" if codes is not None else f"v.unit_code IN ({_SCOPE_CODES})"
    rows = conn.execute(text(f"""
        SELECT DISTINCT ON (v.unit_code, v.field)
               v.unit_code AS code, v.field, v.value_num, v.value_text, v.is_demo, v.import_id
        FROM layer_value v
        WHERE v.layer_id = :layer AND v.scheme = :scheme AND v.field = ANY(:fields)
          AND {where_units}
          AND (v.period IS NULL OR CAST(:as_of AS date) IS NULL OR v.period <= CAST(:as_of AS date))
        ORDER BY v.unit_code, v.field, v.period DESC NULLS LAST
    """), dict(layer=layer.id, scheme=scheme, fields=fields, level=layer.geometry, province=province,
               as_of=as_of, codes=codes)).all()
    out: dict[str, dict] = {}
    for code, field, num, txt, demo, imp in rows:
        rec = out.setdefault(code, {"code": code, "is_demo": False, "import_ids": set()})
        rec[field] = _field_value(layer.field(field), num, txt)
        rec["is_demo"] = rec["is_demo"] or bool(demo)
        if imp is not None:
            rec["import_ids"].add(imp)
    df = pd.DataFrame(list(out.values()), columns=["code", *fields, "is_demo", "import_ids"])
    return df


def _read_table(conn: Connection, layer: Layer, scheme: str, province: str | None,
                start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """A table/view with one column per field (identifiers validated by the registry)."""
    src = layer.source
    params: dict[str, Any] = dict(scheme=scheme, level=layer.geometry, province=province)
    where = [f"t.{src.scheme_field} = :scheme", f"t.{src.unit_field} IN ({_SCOPE_CODES})"]
    for i, (col, values) in enumerate(src.filter.items()):
        where.append(f"t.{col} = ANY(:f{i})")
        params[f"f{i}"] = list(values)
    demo = f"bool_or(t.{src.demo_field})" if src.demo_field else "false"
    if layer.time.mode == "monthly":
        where.append(f"t.{src.period_field} BETWEEN :start AND :end")
        params.update(start=start, end=end)
        aggs = ", ".join(f"{f.aggregate if f.aggregate != 'mean' else 'avg'}(t.{f.name}) AS {f.name}"
                         for f in layer.fields)
        sql = (f"SELECT t.{src.unit_field} AS code, {aggs}, {demo} AS is_demo FROM {src.table} t "
               f"WHERE {' AND '.join(where)} GROUP BY 1")
    else:
        cols = ", ".join(f"t.{f.name}" for f in layer.fields)
        demo_col = f"t.{src.demo_field}" if src.demo_field else "false"
        order = ""
        distinct = ""
        if src.period_field:
            where.append(f"(CAST(:end AS date) IS NULL OR t.{src.period_field} <= CAST(:end AS date))")
            params["end"] = end
            distinct = f"DISTINCT ON (t.{src.unit_field})"
            order = f" ORDER BY t.{src.unit_field}, t.{src.period_field} DESC"
        sql = (f"SELECT {distinct} t.{src.unit_field} AS code, {cols}, {demo_col} AS is_demo FROM {src.table} t "
               f"WHERE {' AND '.join(where)}{order}")
    rows = conn.execute(text(sql), params).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=["code", *[f.name for f in layer.fields], "is_demo"])
    for f in layer.fields:
        if f.type == "boolean":
            df[f.name] = df[f.name].map(lambda v: None if v is None else ("true" if v else "false"))
        elif f.type in NUMERIC_TYPES:
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce")
    df["import_ids"] = [set() for _ in range(len(df))]
    return df


def _latest_month(conn: Connection, layer: Layer, scheme: str) -> dt.date | None:
    src = layer.source
    return conn.execute(text(f"SELECT max(t.{src.period_field}) FROM {src.table} t WHERE t.{src.scheme_field} = :s"),
                        {"s": scheme}).scalar_one_or_none()


def layer_periods(engine: Engine, layer: str | Layer, scheme: str, *, directory=None) -> list[str]:
    """Months ('YYYY-MM') with data of a monthly layer, oldest first ([] for a static layer)."""
    layer = get_layer(layer, directory)
    if layer.time.mode != "monthly":
        return []
    src = layer.source
    where, params = [f"t.{src.scheme_field} = :s"], {"s": scheme}
    for i, (col, values) in enumerate(src.filter.items()):
        where.append(f"t.{col} = ANY(:f{i})")
        params[f"f{i}"] = list(values)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT DISTINCT date_trunc('month', t.{src.period_field})::date FROM {src.table} t "
                                 f"WHERE {' AND '.join(where)} ORDER BY 1"), params).scalars().all()
    return [d.strftime("%Y-%m") for d in rows if d is not None]


# ---------------------------------------------------------------------- classification & labels
def classify_layer(layer: Layer, values) -> Classes:
    """Classes of ``values`` as the layer declares them (mapclassify or categorical)."""
    values = list(values)
    if layer.is_categorical:
        cats = [c.model_dump() for c in layer.primary.categories]
        return classify_categorical(values, cats, layer.palette)
    c = layer.classification
    return classify_numeric(values, c.method, c.k, layer.palette, bins=c.bins)  # whole numbers get integer labels


def _value_label(layer: Layer, row: dict, measure: str | None, lang: str) -> str:
    primary = layer.primary
    v = row.get("value")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return layer.legend.no_data.get(lang)
    if layer.is_categorical:
        for c in primary.categories:
            if c.value == str(v):
                return c.label.get(lang)
        return str(v)
    unit = f" {primary.unit.get(lang)}" if primary.unit else ""
    if measure:
        count = row.get("count")
        rate = row.get("rate")
        per = fmt_number(layer.rate_per, lang)
        people = "dân" if lang == "vi" else "people"
        rate_s = "—" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else fmt_number(round(rate, 2), lang, 2)
        return f"{fmt_number(count, lang)}{unit} · {rate_s}/{per} {people}"
    return f"{fmt_number(v, lang)}{unit.strip() if unit.strip() == '%' else unit}"


def _format_field(layer: Layer, name: str, v, lang: str) -> str:
    spec = layer.field(name)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if spec.categories:
        for c in spec.categories:
            if c.value == str(v):
                return c.label.get(lang)
    if spec.type == "boolean":
        return ("có" if lang == "vi" else "yes") if str(v) in ("true", "True") else ("không" if lang == "vi" else "no")
    if spec.type == "year":
        return str(int(v))
    if spec.type in NUMERIC_TYPES:
        unit = spec.unit.get(lang) if spec.unit else ""
        return f"{fmt_number(v, lang)}{unit}" if unit == "%" else f"{fmt_number(v, lang)}{' ' + unit if unit else ''}"
    return str(v)


def _tooltip(layer: Layer, rec: dict, label: str, lang: str) -> str:
    """The layer's ``tooltip`` fields as one line: "Xã A — Huyện B: Khu vực III · Tỷ lệ người DTTS: 85%"."""
    head = str(rec.get("name") or "")
    if "parent_name" in layer.tooltip and rec.get("parent_name"):
        head += f" — {rec['parent_name']}"
    parts = []
    for f in layer.tooltip:
        if f in ("name", "parent_name", "code"):
            continue
        if f == "label":
            parts.append(label)
        elif f in ("count", "rate", "population", "value", "is_demo"):
            v = rec.get(f)
            parts.append(f"{f}: {fmt_number(v, lang) if isinstance(v, (int, float)) else v}")
        else:
            parts.append(f"{layer.field(f).title.get(lang)}: {_format_field(layer, f, rec.get(f), lang)}")
    return head + (": " + " · ".join(parts) if parts else "")


def _imports(conn: Connection, ids: set[int]) -> list[dict]:
    if not ids:
        return []
    rows = conn.execute(text("""SELECT id, imported_at, file_name, source, source_date, licence, is_demo
                                FROM layer_import WHERE id = ANY(:ids) ORDER BY imported_at"""),
                        {"ids": sorted(ids)}).mappings().all()
    return [{"id": r["id"], "imported_at": r["imported_at"].isoformat(timespec="seconds"), "file": r["file_name"],
             "source": r["source"], "source_date": r["source_date"], "licence": r["licence"],
             "is_demo": r["is_demo"]} for r in rows]


# ---------------------------------------------------------------------- public read functions
def layer_values(engine: Engine, layer: str | Layer, scheme: str, province_code: str | None = None,
                 period=None, *, measure: str | None = None, window: int | None = None, lang: str = "vi",
                 directory=None) -> pd.DataFrame:
    """Values of a layer for every unit of the scope, keyed by unit code (no geometry).

    Columns: ``code``, ``name``, ``parent_name``, ``population``, ``value`` (what
    is drawn: the layer's value field, or its count/rate per ``rate_per`` people
    for a layer with ``measures``), ``label`` (the value for people, in ``lang``;
    demo values end with "(minh họa)"/"(demo)"), ``tooltip`` (the YAML's
    tooltip fields on one line), ``class_index`` (-1 = no data),
    ``color`` (hex), ``is_demo``, then one column per field of the layer (and
    ``count``, ``rate`` for layers with measures).  For a features layer the
    rows are the features in the scope and ``code`` is the feature id.

    ``period``: a month (date or 'YYYY-MM'); for a monthly layer the values
    are summed over ``window`` months ending with it (default: the layer's
    window, ending with the latest month that has data); for a static layer,
    the latest value dated on or before the end of that month (undated values
    always count).  ``province_code`` None = the whole scheme.

    ``df.attrs`` carries what the legend needs: layer id, scheme, measure,
    period window and the imports the values came from.
    """
    layer = get_layer(layer, directory)
    _check_scheme(scheme)
    if layer.geometry == "features":
        return _feature_values(engine, layer, scheme, province_code, lang)
    if measure is not None and measure not in layer.measures:
        raise LayerDataError(f"layer {layer.id!r} has no measure {measure!r} (measures: {layer.measures or 'none'})")
    measure = measure or layer.default_measure()
    month = parse_month(period)
    start = end = None
    with engine.connect() as conn:
        units = _scope(conn, scheme, layer.geometry, province_code)
        if layer.time.mode == "monthly":
            w = int(window or layer.time.window)
            if not 1 <= w <= layer.time.max_window:
                raise LayerDataError(f"window must be 1..{layer.time.max_window} months, not {w}")
            end_month = month or _latest_month(conn, layer, scheme) or dt.date.today().replace(day=1)
            end_month = end_month.replace(day=1)
            start, end = add_months(end_month, -(w - 1)), month_end(end_month)
            raw = _read_table(conn, layer, scheme, province_code, start, end)
        else:
            end = month_end(month) if month else None
            if layer.source.kind == "layer_value":
                raw = _read_layer_value(conn, layer, scheme, province_code, end)
            else:
                raw = _read_table(conn, layer, scheme, province_code, None, end)
        import_ids = set().union(*raw["import_ids"]) if len(raw) else set()
        imports = _imports(conn, import_ids)
    df = units.merge(raw.drop(columns=["import_ids"]), on="code", how="left")
    df["is_demo"] = df["is_demo"].astype("boolean").fillna(False).astype(bool)
    if layer.source.missing == "zero":
        for f in layer.fields:
            if f.type in NUMERIC_TYPES:
                df[f.name] = pd.to_numeric(df[f.name], errors="coerce").fillna(0)
    primary = layer.primary
    if measure:
        df["count"] = pd.to_numeric(df[primary.name], errors="coerce")
        pop = pd.to_numeric(df["population"], errors="coerce")
        df["rate"] = np.where(pop > 0, df["count"] / pop * layer.rate_per, np.nan)
        df["value"] = df["rate"] if measure == "rate" else df["count"]
    else:
        df["value"] = df[primary.name]
    if not layer.is_categorical:
        df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    else:
        df["value"] = df["value"].astype(object).where(df["value"].notna(), None)
    classes = classify_layer(layer, df["value"])
    df["class_index"] = classes.class_of
    df["color"] = classes.color_of()
    records = df.to_dict("records")
    tag = f" ({DEMO_TAG[lang if lang in DEMO_TAG else 'vi']})"
    df["label"] = [_value_label(layer, r, measure, lang) + (tag if r["is_demo"] else "") for r in records]
    df["tooltip"] = [_tooltip(layer, r, label, lang) for r, label in zip(records, df["label"])]
    cols = ["code", "name", "parent_name", "population", "value", "label", "tooltip", "class_index", "color",
            "is_demo"]
    extra = [f.name for f in layer.fields] + (["count", "rate"] if measure else [])
    df = df[cols + [c for c in extra if c not in cols]].drop(columns=["unit_type"], errors="ignore")
    df.attrs.update(layer_id=layer.id, scheme=scheme, province_code=province_code, measure=measure, lang=lang,
                    period_start=start.isoformat() if start else None,
                    period_end=end.isoformat() if end else None,
                    window=(int(window or layer.time.window) if layer.time.mode == "monthly" else None),
                    imports=imports)
    return df


def layer_legend(layer: str | Layer, values: pd.DataFrame, lang: str = "vi", *, directory=None) -> dict:
    """The legend of :func:`layer_values`' result.

    ``{layer_id, title, title_vi, title_en, unit, kind ('numeric'|'categorical'),
    measure, classes: [{label, label_vi, label_en, color, count, lower, upper | value}],
    no_data_count, no_data_label, no_data_color, period: {start, end, window} | None,
    note, demo_warning (None unless some value is demo),
    provenance: {source, date, licence, url, is_demo, demo_count, imports: [...]}}``.
    The classes are recomputed from ``values['value']`` exactly as layer_values did.
    """
    layer = get_layer(layer, directory)
    measure = values.attrs.get("measure")
    classes = classify_layer(layer, values["value"] if len(values) else [])
    title = layer.legend.title or layer.title
    classes_out = []
    for i, color in enumerate(classes.colors):
        item = {"label": classes.labels_en[i] if lang == "en" else classes.labels_vi[i],
                "label_vi": classes.labels_vi[i], "label_en": classes.labels_en[i], "color": color,
                "count": classes.counts[i] if i < len(classes.counts) else 0}
        if classes.kind == "numeric":
            item.update(lower=classes.lower[i], upper=classes.bins[i])
        else:
            item["value"] = classes.values[i]
        classes_out.append(item)
    demo_count = int(values["is_demo"].sum()) if "is_demo" in values and len(values) else 0
    imports = values.attrs.get("imports") or []
    prov = layer.provenance
    source, date, licence = prov.source.get(lang), prov.date, prov.licence
    real_imports = [i for i in imports if not i["is_demo"]]
    if real_imports:
        last = real_imports[-1]
        source = last["source"] or source
        date = last["source_date"] or last["imported_at"][:10]
        licence = last["licence"] or licence
    if measure == "rate":
        per = fmt_number(layer.rate_per, lang)
        unit = f"/{per} dân" if lang == "vi" else f"per {per} people"
    else:
        unit = (layer.legend.unit or layer.primary.unit).get(lang) if (layer.legend.unit or layer.primary.unit) else None
    period = None
    if values.attrs.get("period_end") and layer.time.mode == "monthly":
        period = {"start": values.attrs.get("period_start"), "end": values.attrs.get("period_end"),
                  "window": values.attrs.get("window")}
    no_data = int((values["class_index"] < 0).sum()) if "class_index" in values and len(values) else 0
    return {
        "layer_id": layer.id,
        "title": title.get(lang), "title_vi": title.vi, "title_en": title.en,
        "unit": unit, "kind": classes.kind, "measure": measure,
        "classes": classes_out,
        "no_data_count": no_data, "no_data_label": layer.legend.no_data.get(lang), "no_data_color": NO_DATA_COLOR,
        "period": period,
        "note": layer.legend.note.get(lang) if layer.legend.note else None,
        "demo_warning": DEMO_WARNING.get(lang, DEMO_WARNING["vi"]) if demo_count else None,
        "provenance": {"source": source, "date": date, "licence": licence, "url": prov.url,
                       "is_demo": demo_count > 0, "demo_count": demo_count, "imports": imports},
    }


# ---------------------------------------------------------------------- features
def _features_sql(layer: Layer, with_geom: bool) -> str:
    src = layer.source
    cols = ", ".join(f"t.{f.name}" for f in layer.fields)
    demo = f"t.{src.demo_field}" if src.demo_field else "false"
    geom = f", ST_AsGeoJSON(t.{src.geometry_field}, {COORD_DIGITS}) AS geojson" if with_geom else ""
    return f"""
        SELECT t.{src.id_field}::text AS code, t.{src.name_field} AS name, {cols}, {demo} AS is_demo,
               t.import_id{geom}
        FROM {src.table} t
        WHERE (CAST(:layer_filter AS text) IS NULL OR t.layer_id = CAST(:layer_filter AS text))
          AND (CAST(:province AS text) IS NULL OR EXISTS (
                SELECT 1 FROM admin_unit p WHERE p.scheme = :scheme AND p.level = 'province'
                  AND p.code = CAST(:province AS text) AND ST_Intersects(p.geom, t.{src.geometry_field})))
        ORDER BY t.{src.id_field}
    """


def _has_layer_column(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text("SELECT 1 FROM information_schema.columns WHERE table_name = :t "
                                  "AND column_name = 'layer_id'"), {"t": table}).first())


def _read_features(engine: Engine, layer: Layer, scheme: str, province: str | None, with_geom: bool):
    with engine.connect() as conn:
        layer_filter = layer.id if _has_layer_column(conn, layer.source.table) else None
        rows = conn.execute(text(_features_sql(layer, with_geom)),
                            dict(scheme=scheme, province=province, layer_filter=layer_filter)).mappings().all()
        ids = {r["import_id"] for r in rows if r["import_id"] is not None}
        imports = _imports(conn, ids)
    return [dict(r) for r in rows], imports


def _feature_frame(layer: Layer, rows: list[dict], imports, scheme, province, lang) -> pd.DataFrame:
    cols = ["code", "name", *[f.name for f in layer.fields], "is_demo"]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols)
    for f in layer.fields:
        if f.type == "date":
            df[f.name] = df[f.name].map(lambda d: d.isoformat() if isinstance(d, (dt.date, dt.datetime)) else d)
        elif f.type in NUMERIC_TYPES:
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce")
    df["is_demo"] = df["is_demo"].fillna(False).astype(bool)
    df["value"] = df[layer.value] if layer.is_categorical else pd.to_numeric(df[layer.value], errors="coerce")
    if layer.is_categorical:
        df["value"] = df["value"].astype(object).where(df["value"].notna(), None)
    classes = classify_layer(layer, df["value"])
    df["class_index"] = classes.class_of
    df["color"] = classes.color_of()
    tag = f" ({DEMO_TAG[lang if lang in DEMO_TAG else 'vi']})"
    df["label"] = [_value_label(layer, r, None, lang) + (tag if r["is_demo"] else "") for r in df.to_dict("records")]
    df["parent_name"] = None
    df["population"] = None
    df["tooltip"] = [_tooltip(layer, r, r["label"], lang) for r in df.to_dict("records")]
    out = df[["code", "name", "parent_name", "population", "value", "label", "tooltip", "class_index", "color",
              "is_demo",
              *[f.name for f in layer.fields if f.name not in ("value",)]]]
    out.attrs.update(layer_id=layer.id, scheme=scheme, province_code=province, measure=None, lang=lang,
                     period_start=None, period_end=None, window=None, imports=imports)
    return out


def _feature_values(engine, layer, scheme, province, lang) -> pd.DataFrame:
    rows, imports = _read_features(engine, layer, scheme, province, with_geom=False)
    return _feature_frame(layer, rows, imports, scheme, province, lang)


def _jsonable(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def layer_features(engine: Engine, layer: str | Layer, scheme: str, province_code: str | None = None,
                   lang: str = "vi", *, directory=None) -> dict:
    """GeoJSON FeatureCollection of a features layer in the scope (the province's outline in ``scheme``).

    Each feature: ``id`` = the ``code`` of :func:`layer_values`; properties =
    the layer's fields, ``name``, ``label``, ``tooltip``, ``color``,
    ``class_index`` and ``is_demo``.  Use ``layer_legend`` on
    ``layer_values(...)`` for the legend.
    """
    layer = get_layer(layer, directory)
    if layer.geometry != "features":
        raise LayerDataError(f"layer {layer.id!r} is drawn on admin units; use layer_values + the boundary GeoJSON")
    _check_scheme(scheme)
    rows, imports = _read_features(engine, layer, scheme, province_code, with_geom=True)
    frame = _feature_frame(layer, rows, imports, scheme, province_code, lang)
    features = []
    for r, rec in zip(rows, frame.to_dict("records")):
        props = {k: _jsonable(v) for k, v in rec.items() if k not in ("parent_name", "population")}
        features.append({"type": "Feature", "id": rec["code"], "geometry": json.loads(r["geojson"]),
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------- per-unit context (commune panel)
def unit_context(engine: Engine, scheme: str, unit_code: str, lang: str = "vi", *, role: str | None = None,
                 project_km: float = 5.0, directory=None) -> dict:
    """Context facts of one unit: each context layer's label for it, and key projects within ``project_km``.

    ``{"layers": [{layer_id, title, label, is_demo, fields}], "projects": [{name, distance_km, label, is_demo}]}``.
    """
    from geo_dash.layers.registry import list_layers

    out: dict[str, list] = {"layers": [], "projects": []}
    with engine.connect() as conn:
        for layer in list_layers(role, directory):
            if layer.group != "context" or layer.source.kind != "layer_value":
                continue
            raw = _read_layer_value(conn, layer, scheme, None, None, codes=[unit_code])
            if raw.empty:
                continue
            rec = raw.iloc[0].to_dict()
            rec["value"] = rec.get(layer.value)
            label = _value_label(layer, rec, None, lang) + (f" ({DEMO_TAG.get(lang, 'demo')})" if rec["is_demo"] else "")
            out["layers"].append({"layer_id": layer.id, "title": layer.title.get(lang), "label": label,
                                  "is_demo": bool(rec["is_demo"]),
                                  "fields": {f.name: _jsonable(rec.get(f.name)) for f in layer.fields}})
        try:
            projects = conn.execute(text("""
                SELECT k.name, k.clearance_status, k.clearance_progress_pct, k.is_demo,
                       ST_Distance(geography(k.geom), geography(u.geom)) / 1000 AS km
                FROM key_project k JOIN admin_unit u ON u.scheme = :s AND u.code = :c
                WHERE u.geom IS NOT NULL AND ST_DWithin(geography(k.geom), geography(u.geom), :m)
                ORDER BY km, k.name"""), dict(s=scheme, c=unit_code, m=project_km * 1000)).mappings().all()
        except Exception:  # noqa: BLE001 - no key_project table yet
            projects = []
    for p in projects:
        out["projects"].append({"name": p["name"], "distance_km": round(float(p["km"]), 2),
                                "clearance_status": p["clearance_status"],
                                "clearance_progress_pct": _jsonable(p["clearance_progress_pct"]),
                                "is_demo": bool(p["is_demo"])})
    return out


# ---------------------------------------------------------------------- NTM progress
def is_rural_commune(unit_type: str | None, name: str | None) -> bool:
    """A xã (NTM applies to rural communes, not to wards or towns)."""
    if unit_type:
        return fold(unit_type) == "xa"
    return fold(name or "").startswith("xa ")


def ntm_progress(engine: Engine, scheme: str, province_code: str, *, by: str = "province",
                 target_year: int | None = None, layer_id: str = "ntm_status") -> pd.DataFrame:
    """Share of rural communes (xã) at or above each NTM level, per province or (legacy) district.

    Levels are cumulative: a "nâng cao" commune also counts as "đạt chuẩn", a
    "kiểu mẫu" one as both (Phú Yên's 80 % / 15 % / 5 % targets read that way).
    The denominator is every xã of the unit in ``admin_unit`` (wards and towns
    are not subject to NTM); a xã with no NTM value counts as not achieved and
    is reported in ``no_data``.  Targets come from ``ntm_target`` (for
    ``target_year``, else the latest year set for the unit).

    Columns: unit_code, unit_name, level, communes, achieved, share, target,
    target_year, gap (share - target), no_data, is_demo.
    """
    _check_scheme(scheme)
    if by not in ("province", "district"):
        raise LayerDataError("by must be 'province' or 'district'")
    if by == "district" and scheme == "2025":
        raise LayerDataError("the 2025 scheme has no districts")
    with engine.connect() as conn:
        units = conn.execute(text("""
            SELECT c.code, c.name, c.unit_type, c.parent_code, c.province_code
            FROM admin_unit c WHERE c.scheme = :s AND c.level = 'commune' AND c.province_code = :p
        """), dict(s=scheme, p=province_code)).mappings().all()
        names = dict(conn.execute(text("SELECT code, name FROM admin_unit WHERE scheme = :s AND province_code = :p "
                                       "AND level IN ('province', 'district')"),
                                  dict(s=scheme, p=province_code)).all())
        vals = conn.execute(text("""
            SELECT DISTINCT ON (unit_code) unit_code, value_text, is_demo FROM layer_value
            WHERE layer_id = :l AND scheme = :s AND field = 'level'
              AND unit_code IN (SELECT code FROM admin_unit WHERE scheme = :s AND province_code = :p AND level = 'commune')
            ORDER BY unit_code, period DESC NULLS LAST"""), dict(l=layer_id, s=scheme, p=province_code)).all()
        targets = conn.execute(text("""
            SELECT unit_code, year, level, target_share FROM ntm_target
            WHERE scheme = :s AND (unit_code = :p OR unit_code IN (
                SELECT code FROM admin_unit WHERE scheme = :s AND level = 'district' AND province_code = :p))"""),
                               dict(s=scheme, p=province_code)).all()
    level_of = {c: (t, d) for c, t, d in vals}
    rows = []
    groups: dict[str, list] = {}
    for u in units:
        if not is_rural_commune(u["unit_type"], u["name"]):
            continue
        key = u["province_code"] if by == "province" else u["parent_code"]
        groups.setdefault(key, []).append(u["code"])
    tmap: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for code, year, level, share in targets:
        tmap.setdefault((code, level), []).append((year, share))
    for key in sorted(groups):
        codes = groups[key]
        n = len(codes)
        ranks = [NTM_RANK.get(level_of[c][0], 0) if c in level_of else None for c in codes]
        no_data = sum(r is None for r in ranks)
        demo = any(level_of[c][1] for c in codes if c in level_of)
        for level in NTM_LEVELS:
            achieved = sum(1 for r in ranks if r is not None and r >= NTM_RANK[level])
            cands = tmap.get((key, level), [])
            if target_year is not None:
                cands = [c for c in cands if c[0] == target_year]
            tyear, target = (max(cands) if cands else (None, None))
            share = achieved / n if n else float("nan")
            rows.append(dict(unit_code=key, unit_name=names.get(key), level=level, communes=n, achieved=achieved,
                             share=share, target=target, target_year=tyear,
                             gap=(share - target) if target is not None else None, no_data=no_data, is_demo=demo))
    return pd.DataFrame(rows, columns=["unit_code", "unit_name", "level", "communes", "achieved", "share", "target",
                                       "target_year", "gap", "no_data", "is_demo"])


def set_ntm_target(engine: Engine, scheme: str, unit_code: str, year: int, level: str, share: float,
                   source: str | None = None) -> None:
    """Set (or replace) a province's or district's NTM target: ``share`` (0..1) of xã at or above ``level``."""
    if level not in NTM_LEVELS:
        raise LayerDataError(f"level must be one of {', '.join(NTM_LEVELS)}")
    if not 0 <= share <= 1:
        raise LayerDataError("share must be between 0 and 1 (e.g. 0.8 for 80 %)")
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO ntm_target (scheme, unit_code, year, level, target_share, source, is_seed)
            VALUES (:s, :u, :y, :l, :t, :src, false)
            ON CONFLICT ON CONSTRAINT uq_ntm_target DO UPDATE
              SET target_share = EXCLUDED.target_share, source = EXCLUDED.source, is_seed = false"""),
                     dict(s=scheme, u=unit_code, y=year, l=level, t=share, src=source))
