"""The map page (``/``): the choropleth of an indicator by commune, month by month.

* Geometry goes to the browser once per province (or the country) and scheme (``show_province``);
  a change of indicator, month, period or filter sends one class character and one value per
  commune in the layer's ``hideout`` (``restyle``; format in :mod:`map_view`), never a coordinate.
* Filters on the cases themselves (category, kind, status, mass petitions, over-level) switch the
  map to "cases matching the filters", counted from the cases with the cube's placement rule;
  "sensitive areas only" greys out every other commune.
* Drill-down: country → province → district (legacy) → commune, with breadcrumbs; a click on a
  commune zooms to it, draws its detailed outline and opens its panel — KPIs, 24-month trend, EHSA
  category, alerts, context and its cases.
* The URL carries the whole view (see :mod:`map_view`), the map position included.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date
from urllib.parse import urlencode

import dash_ag_grid as dag
import dash_leaflet as dl
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from sqlalchemy import text

from geo_dash.analytics import read as analytics
from geo_dash.analytics.cube import add_months
from geo_dash.boundaries import read
from geo_dash.cases import read as cases_read
from geo_dash.cases.read import clean_filters
from geo_dash.cases.vocab import CATEGORIES, KINDS, STATUSES, label
from geo_dash.config import Settings
from geo_dash.layers import data as layer_data
from geo_dash.layers import registry
from geo_dash.layers.classify import NO_DATA_COLOR, fmt_number, indicator_classes
from geo_dash.layers.sensitivity import sensitive_areas
from geo_dash.security.context import active_scope, current_user, scope_json
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t
from geo_dash.web.pages.map_view import (
    DEFAULT_PROVINCE, HOT, INDICATORS, NATIONAL, RANGES, class_string, flag_string, fmt_month, month_of,
    parse_state as _parse_state, province_value, value_list, view_params,
)

EMPTY = {"type": "FeatureCollection", "features": []}
_breaks_cache: dict[tuple, list[float]] = {}
#: Up to this many communes the month-by-month series carries the values too (the tooltips'); the
#: country's ~10,000 get the classes only (360 kB instead of ~1.5 MB per indicator) and their values
#: with the server's answer to each change.
SERIES_VALUES_MAX = 2500
#: The series answers, per process: the same for every user with the same area until the next analytics
#: run (the run is in the key), and the country's takes seconds of CPU to classify 10,000 × months.
SERIES_CACHE_SIZE = 32
_series_cache: OrderedDict[tuple, dict] = OrderedDict()
_series_lock = threading.Lock()

__all__ = ["layout", "register_callbacks", "parse_state", "DEFAULT_PROVINCE", "INDICATORS"]


def parse_state(query) -> dict:
    return _parse_state(query, _layer_ids())


def _layer_ids(role: str | None = None) -> set[str]:
    return {layer.id for layer in registry.list_layers(role)}


def _layer_options(lang: str) -> list[dict]:
    user = current_user.get()
    layers = registry.list_layers(user.role if user else None)
    return [{"value": "", "label": t("map.layer.cube", lang)}] + [
        {"value": layer.id, "label": layer.summary(lang)["title"]} for layer in layers if layer.id != "sensitive_areas"]


def _national_allowed() -> bool:
    return active_scope().everything


def _province_options(engine, scheme: str, lang: str) -> list[dict]:
    options = [{"value": p["code"], "label": p["name"]} for p in read.list_provinces(engine, scheme, active_scope())]
    if _national_allowed() and options:
        options.insert(0, {"value": NATIONAL, "label": t("map.national", lang)})
    return options


def _vocab_options(terms, lang: str) -> list[dict]:
    return [{"value": term.code, "label": term.label_vi if lang == "vi" else term.label_en} for term in terms]


def _district_options(engine, scheme: str, province: str | None, lang: str) -> list[dict]:
    if scheme != "legacy" or not province or province == NATIONAL:
        return []
    return [{"value": "", "label": t("map.district.all", lang)}] + [
        {"value": d["code"], "label": d["name"]} for d in read.list_districts(engine, scheme, province, active_scope())]


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    provinces = _province_options(engine, state["scheme"], lang)
    codes = [p["value"] for p in provinces]
    if state["province"] not in codes:  # open on the user's own area
        state = {**state, "province": next((c for c in codes if c != NATIONAL), None), "district": None,
                 "commune": None}
    f = state["filters"]
    base = [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution)] if settings.tile_url else []
    district_options = _district_options(engine, state["scheme"], state["province"], lang)
    return html.Div(className="gd-page-map", children=[
        dcc.Location(id="map-url", refresh=False),
        dcc.Store(id="lang", data=lang),
        dcc.Store(id="map-months", data=[]),
        dcc.Store(id="map-selected"),
        dcc.Store(id="map-bounds"),
        dcc.Store(id="map-view", data=view_params(state)),
        dcc.Store(id="drill-init"),
        dcc.Store(id="communes-style"),
        dcc.Store(id="communes-styled"),
        dcc.Store(id="series-request"),
        dcc.Store(id="communes-series"),
        dcc.Store(id="communes-series-held"),
        dcc.Store(id="communes-fast"),
        dcc.Store(id="communes-view"),  # never written: its callback mirrors the view into the page (map.js)
        dcc.Interval(id="map-player", interval=1200, disabled=True),
        html.Div(className="gd-controls", children=[
            dmc.SegmentedControl(
                id="scheme", value=state["scheme"], size="md",
                data=[{"value": "legacy", "label": t("scheme.legacy", lang)},
                      {"value": "2025", "label": t("scheme.2025", lang)}],
                **{"aria-label": t("map.scheme", lang)},
            ),
            dmc.Select(
                id="province", label=t("map.province", lang), value=state["province"], searchable=True,
                data=provinces, w=250, size="md", allowDeselect=False, filter={"function": "foldFilter"},
                nothingFoundMessage=t("map.nothing_found", lang),
            ),
            dmc.Select(
                id="district", label=t("map.district", lang), value=state["district"] or "", searchable=True,
                data=district_options, w=220, size="md", allowDeselect=False, filter={"function": "foldFilter"},
                nothingFoundMessage=t("map.nothing_found", lang),
                style={} if district_options else {"display": "none"},
            ),
            dmc.Select(
                id="indicator", label=t("map.indicator", lang), value=state["indicator"], size="md", w=270,
                data=[{"value": i, "label": t(f"indicator.{i}", lang)} for i in INDICATORS], allowDeselect=False,
            ),
            dmc.Select(
                id="layer", label=t("map.layer", lang), value=state["layer"], size="md", w=250,
                data=_layer_options(lang), allowDeselect=False,
            ),
            dmc.Select(
                id="range", label=t("map.range", lang), value=str(state["range"]), size="md", w=160,
                data=[{"value": str(r), "label": t(f"range.{r}", lang)} for r in RANGES], allowDeselect=False,
            ),
            html.Div(className="gd-time", children=[
                html.Label(t("map.month", lang), htmlFor="month-slider", className="gd-time-label"),
                html.Div([
                    dmc.ActionIcon("▶", id="map-play", size="lg", variant="light",
                                   **{"aria-label": t("map.play", lang)}),
                    html.Div(dcc.Slider(id="month-slider", min=0, max=0, step=1, value=0, marks=None,
                                        updatemode="mouseup", tooltip={"placement": "bottom"}, allow_direct_input=False),
                             style={"flex": 1, "minWidth": "220px"}),
                    html.Span(id="month-label", className="gd-month-label"),
                ], className="gd-time-row"),
            ]),
        ]),
        html.Details(className="gd-filters", open=bool(f or state["sensitive_only"]), children=[
            html.Summary(t("map.filters", lang)),
            html.Div(className="gd-filter-row", children=[
                dmc.MultiSelect(id="f-category", label=t("filter.category", lang), value=f.get("category", []),
                                data=_vocab_options(CATEGORIES, lang), placeholder=t("filter.any", lang), w=300,
                                clearable=True, size="sm"),
                dmc.MultiSelect(id="f-kind", label=t("filter.kind", lang), value=f.get("kind", []),
                                data=_vocab_options(KINDS, lang), placeholder=t("filter.any", lang), w=240,
                                clearable=True, size="sm"),
                dmc.MultiSelect(id="f-status", label=t("filter.status", lang), value=f.get("status", []),
                                data=_vocab_options(STATUSES, lang), placeholder=t("filter.any", lang), w=260,
                                clearable=True, size="sm"),
                dmc.Switch(id="f-mass", label=t("filter.mass", lang), checked=bool(f.get("mass")), mt="lg"),
                dmc.Switch(id="f-over", label=t("filter.over_level", lang), checked=bool(f.get("over_level")), mt="lg"),
                dmc.Switch(id="f-sonly", label=t("filter.sensitive_only", lang), checked=state["sensitive_only"],
                           mt="lg"),
            ]),
        ]),
        html.Div(className="gd-toolbar", children=[
            html.Nav(id="map-crumbs", className="gd-crumbs", **{"aria-label": t("map.crumbs", lang)}),
            dmc.Select(id="commune-search", data=[], value=None, searchable=True, clearable=False, w=280, size="sm",
                       placeholder=t("map.commune_search", lang), filter={"function": "foldFilter"},
                       nothingFoundMessage=t("map.nothing_found", lang), limit=50,
                       **{"aria-label": t("map.commune_search", lang)}),
            dmc.Switch(id="sensitive", label=t("map.sensitive", lang), checked=state["sensitive"], size="sm"),
            dmc.Switch(id="points", label=t("map.points", lang), checked=state["points"], size="sm"),
            dmc.Switch(id="compare", label=t("map.compare", lang), checked=False, size="sm"),
            dmc.Select(id="compare-month", data=[], w=130, size="xs", allowDeselect=False,
                       style={"display": "none"}, **{"aria-label": t("map.compare_month", lang)}),
            html.Span(id="counts", className="gd-counts"),
            html.Span(id="points-note", className="gd-counts"),
        ]),
        html.Main(className="gd-main", children=[
            dl.Map(id="map", className="gd-map", center=[16.0, 106.0], zoom=6, zoomSnap=0.25, zoomAnimation=False,
                   trackViewport=True, children=base + [
                       dl.GeoJSON(id="communes", style={"variable": "geoDash.communeStyle"},
                                  onEachFeature={"variable": "geoDash.communeTooltip"}),
                       dl.GeoJSON(id="districts", style={"variable": "geoDash.districtStyle"}, interactive=False),
                       dl.GeoJSON(id="commune-outline", data=EMPTY, style={"variable": "geoDash.outlineStyle"},
                                  interactive=False),
                       dl.GeoJSON(id="layer-features", data=EMPTY, pointToLayer={"variable": "geoDash.featurePoint"},
                                  style={"variable": "geoDash.featureStyle"},
                                  onEachFeature={"variable": "geoDash.featureTooltip"}),
                       dl.GeoJSON(id="case-points", data=EMPTY, cluster=False, zoomToBoundsOnClick=True,
                                  superClusterOptions={"radius": 60, "maxZoom": 14},
                                  pointToLayer={"variable": "geoDash.casePoint"},
                                  clusterToLayer={"variable": "geoDash.caseCluster"},
                                  onEachFeature={"variable": "geoDash.caseTooltip"}, hideout={"lang": lang}),
                   ]),
            html.Div(id="legend", className="gd-legend"),
            html.Aside(id="commune-panel", className="gd-panel", **{"aria-live": "polite"}),
            html.Div(id="compare-pane", className="gd-compare", style={"display": "none"}),
        ]),
        html.Footer(id="map-footer", className="gd-footer"),
    ])


# --------------------------------------------------------------------------- geometry and drill-down
def _province_arg(province: str | None) -> str | None:
    """The province code the read functions take (``None`` = the whole country)."""
    return None if province == NATIONAL else province


PAGE_PROPERTIES = ("code", "tooltip", "in_scope")


def _geometry(engine, scheme: str, province: str, lang: str) -> dict:
    """Polygons once per scope: each feature carries its position ``i`` and its EHSA category."""
    scope = active_scope()
    geo = (read.national_geojson(engine, scheme, scope) if province == NATIONAL
           else read.province_geojson(engine, scheme, province, scope))
    ehsa = analytics.ehsa_categories(engine, scope, scheme, _province_arg(province))
    names = dict(zip(ehsa["commune_code"], ehsa["category_vi"] if lang == "vi" else ehsa["category"]))
    hot = set(ehsa["commune_code"][ehsa["category"].isin(HOT)])
    features, key = [], f"{scheme}:{province}"
    for i, f in enumerate(geo["communes"]["features"]):
        code = f["properties"]["code"]
        # what the page uses, no more (10,000 national features × every extra property is megabytes)
        props = {k: f["properties"][k] for k in PAGE_PROPERTIES} | {"i": i, "g": key}
        if code in names:
            props["ehsa"] = names[code]
        if code in hot:
            props["hot"] = True
        features.append({**f, "properties": props})
    return {**geo, "communes": {"type": "FeatureCollection", "features": features},
            "order": [f["properties"]["code"] for f in features]}


_order_cache: dict[tuple, tuple[float, list[str]]] = {}
ORDER_TTL_S = 60.0  # boundaries change with a new load only; a minute of staleness at most


def _order(engine, scheme: str, province: str) -> list[str]:
    """The communes in feature order (as :func:`_geometry` numbers them), cached for a minute."""
    key = (str(engine.url), scheme, province)
    hit = _order_cache.get(key)
    if hit and time.monotonic() - hit[0] < ORDER_TTL_S:
        return hit[1]
    prov = "" if province == NATIONAL else "AND province_code = :p"
    with engine.connect() as conn:
        codes = list(conn.execute(text(f"""SELECT code FROM admin_unit WHERE scheme = :s AND level = 'commune' {prov}
                                           AND geom_display IS NOT NULL ORDER BY code"""),
                                  {"s": scheme, "p": province}).scalars())
    if len(_order_cache) > 512:
        _order_cache.clear()
    _order_cache[key] = (time.monotonic(), codes)
    return codes


def _own_area(engine, scheme: str, province: str) -> dict:
    """Where a user who sees only part of the province starts: their district (legacy scheme, one
    district: it is also picked) or the bounds of their communes; ``{}`` for everyone else."""
    scope = active_scope()
    bounds = read.scope_bounds(engine, scheme, province, scope)
    if bounds is None:
        return {}
    if scheme == "legacy" and not (scope.legacy_provinces or scope.provinces_2025 or scope.communes_2025):
        here = [d for d in sorted(scope.legacy_districts)
                if (read.unit_info(engine, scheme, d) or {}).get("province_code") == province]
        if len(here) == 1:
            return {"district": here[0]}
    return {"own": bounds}


def _bounds(value) -> list | None:
    ok = (isinstance(value, list) and len(value) == 2 and all(isinstance(p, list) and len(p) == 2 for p in value)
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) for p in value for x in p))
    return value if ok else None


def _visible(engine, scheme: str, code: str) -> bool:
    where, params = analytics.scope_communes_sql(active_scope(), scheme, "u.code")
    with engine.connect() as conn:
        return bool(conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM admin_unit u WHERE u.scheme = :s AND u.code = :c "
                                      f"AND u.level = 'commune' AND {where})"), {"s": scheme, "c": code, **params}).scalar())


def _crumbs(engine, scheme: str, province: str | None, district: str | None, commune: str | None, lang: str) -> list:
    """Country › province › district › commune; every level above the current one is a button."""
    items: list[tuple[str, str]] = []
    if _national_allowed():
        items.append(("country", t("crumb.country", lang)))
    if province and province != NATIONAL:
        info = read.unit_info(engine, scheme, province)
        items.append(("province", info["name"] if info else province))
    if district:
        info = read.unit_info(engine, scheme, district)
        items.append(("district", info["name"] if info else district))
    if commune:
        info = read.unit_info(engine, scheme, commune)
        items.append(("commune", info["name"] if info else commune))
    out = []
    for n, (level, name) in enumerate(items):
        if n:
            out.append(html.Span("›", className="gd-crumb-sep", **{"aria-hidden": "true"}))
        if n == len(items) - 1:
            out.append(html.Span(name, className="gd-crumb gd-crumb-current", **{"aria-current": "location"}))
        else:
            out.append(html.Button(name, id={"type": "gd-crumb", "level": level}, className="gd-crumb", n_clicks=0))
    return out


# --------------------------------------------------------------------------- classes and legend
def _choropleth(order: list[str], values, indicator: str, bins, hidden=frozenset(), with_values: bool = True):
    """One month's (or period's) classes in feature order: ``({"k", "pal", "v"}, classes)`` — the one
    rule for the server's answer to a change and for the series the page restyles from by itself."""
    classes = indicator_classes(values["value"], indicator, bins)
    class_of = dict(zip(values["commune_code"], (int(k) for k in classes.class_of)))
    out = {"k": class_string(order, class_of, hidden), "pal": classes.colors}
    if with_values:
        out["v"] = value_list(order, dict(zip(values["commune_code"], values["value"])))
    return out, classes


def _breaks(engine, scheme: str, province: str, indicator: str, run: dict | None) -> list[float] | None:
    """Class breaks fixed over every month of the cube for this province and indicator (cached per
    analytics run): natural breaks of the pooled values' quantiles for the intensity, quintiles otherwise."""
    key = (str(engine.url), scheme, province, indicator, run["id"] if run else None, active_scope())
    if key not in _breaks_cache:
        y = None
        if run and active_scope().everything:  # the run stored them (over every commune)
            y = analytics.stored_quantiles(engine, run["id"], scheme, indicator, _province_arg(province))
        if y is None:
            y = analytics.indicator_quantiles(engine, active_scope(), scheme=scheme,
                                              province_code=_province_arg(province), indicator=indicator)
        if not y:
            return None
        bins = indicator_classes(y, indicator).bins
        if len(_breaks_cache) > 256:
            _breaks_cache.clear()
        _breaks_cache[key] = bins
    return _breaks_cache[key]


def _legend(classes, title: str, no_data: int, period: str, notes: list[str], run: dict | None, lang: str) -> list:
    labels = classes.labels_vi if lang == "vi" else classes.labels_en
    rows = [html.Div([html.Span(className="gd-swatch-box", style={"background": c}), f"{lbl} ({n})"])
            for c, lbl, n in zip(classes.colors, labels, classes.counts)]
    rows.append(html.Div([html.Span(className="gd-swatch-box", style={"background": NO_DATA_COLOR}),
                          f"{t('map.no_data', lang)} ({no_data})"]))
    rows.append(html.Div([html.Span(className="gd-swatch-line gd-hot-line"), t("map.hotspot", lang)]))
    as_of = run["as_of"].strftime("%d/%m/%Y") if run and run.get("as_of") else "—"
    return [html.Strong(title), html.Div(period, className="gd-legend-period"), *rows,
            *[html.Div(n, className="gd-legend-note") for n in notes],
            html.Div(t("map.as_of", lang, date=as_of), className="gd-legend-note"),
            html.Div(t("map.method", lang), className="gd-legend-note")]


def _filters_text(filters: dict, lang: str) -> str:
    parts = []
    for key in ("category", "kind", "status"):
        if filters.get(key):
            parts.append(f"{t(f'filter.{key}', lang)}: " + ", ".join(label(key, c, lang) for c in filters[key]))
    if filters.get("mass"):
        parts.append(t("filter.mass", lang))
    if filters.get("over_level"):
        parts.append(t("filter.over_level", lang))
    return "; ".join(parts)


def _layer_view(engine, layer_id, scheme, province, month, flagged, lang, order):
    """A registry layer instead of the cube: the layer's own classes, legend and provenance."""
    layer = registry.get_layer(layer_id)
    values = layer_data.layer_values(engine, layer, scheme, _province_arg(province),
                                     period=month if layer.time.mode != "static" else None, lang=lang)
    legend = layer_data.layer_legend(layer, values, lang)
    features = EMPTY
    hideout = {"g": f"{scheme}:{province}", "s": flag_string(order, flagged), "n": legend["title"], "lang": lang}
    if layer.geometry == "features":
        features = layer_data.layer_features(engine, layer, scheme, _province_arg(province), lang)
    else:
        palette = sorted(set(values["color"]))
        index = {c: i for i, c in enumerate(palette)}
        hideout.update(pal=palette, k=class_string(order, dict(zip(values["code"], (index[c] for c in values["color"])))),
                       v=value_list(order, dict(zip(values["code"], values["label"]))))
    rows = [html.Div([html.Span(className="gd-swatch-box", style={"background": c["color"]}), c["label"]])
            for c in legend["classes"]]
    if layer.geometry != "features":
        rows.append(html.Div([html.Span(className="gd-swatch-box", style={"background": legend["no_data_color"]}),
                              f"{legend['no_data_label']} ({legend['no_data_count']})"]))
    prov = legend["provenance"]
    note = [html.Div(legend["demo_warning"], className="gd-legend-demo")] if legend.get("demo_warning") else []
    legend_children = [html.Strong(legend["title"]), html.Div(legend.get("period") or "", className="gd-legend-period"),
                       *rows, *note,
                       html.Div(f"{t('map.provenance', lang)}: {prov.get('source') or '—'}"
                                f"{' · ' + str(prov['date']) if prov.get('date') else ''}"
                                f"{' · ' + prov['licence'] if prov.get('licence') else ''}", className="gd-legend-note")]
    return hideout, legend_children, features


# --------------------------------------------------------------------------- commune panel
def _panel(engine, scheme: str, code: str, lang: str) -> list:
    scope = active_scope()
    info = read.unit_info(engine, scheme, code)
    if info is None or info["level"] != "commune" or not _visible(engine, scheme, code):
        return [html.P(t("panel.outside", lang))]
    province = info["province_code"]
    series = analytics.commune_series(engine, scope, scheme, code, months=24)
    kpi = analytics.kpis(engine, scope, scheme, "commune", code, "12m") or {}
    ehsa = analytics.ehsa_categories(engine, scope, scheme, province)
    ehsa = ehsa[ehsa["commune_code"] == code]
    alerts = analytics.alerts(engine, scope, scheme, province)
    alerts = alerts[alerts["commune_code"] == code] if len(alerts) else alerts

    def tile(key, value):
        return html.Div([html.Div(value, className="gd-kpi-value"), html.Div(t(key, lang), className="gd-kpi-label")],
                        className="gd-kpi")

    on_time = kpi.get("resolved_on_time_pct")
    tiles = html.Div(className="gd-kpis", children=[
        tile("kpi.received", fmt_number(kpi.get("received"), lang, 0)),
        tile("kpi.on_time", "—" if on_time is None or on_time != on_time else f"{fmt_number(on_time, lang, 0)}%"),
        tile("kpi.backlog", fmt_number(kpi.get("backlog"), lang, 0)),
        tile("kpi.overdue", fmt_number(kpi.get("overdue"), lang, 0)),
        tile("kpi.mass", fmt_number(kpi.get("mass_petitions"), lang, 0)),
        tile("kpi.dialogues", fmt_number(kpi.get("dialogues"), lang, 0)),
    ])
    fig = go.Figure()
    if len(series):
        fig.add_bar(x=series["month"], y=series["n_new"], name=t("indicator.n_new", lang), marker_color="#6baed6")
        fig.add_scatter(x=series["month"], y=series["intensity"], name=t("indicator.intensity", lang),
                        mode="lines+markers", line={"color": "#cb181d"}, yaxis="y2")
        fired = alerts["period"].dropna().unique() if len(alerts) and "period" in alerts else []
        for p in fired:  # the months an alert fired, marked on the trend
            fig.add_vline(x=p, line={"color": "#7a0177", "dash": "dot", "width": 1.5})
    fig.update_layout(height=220, margin={"l": 30, "r": 30, "t": 10, "b": 30}, legend={"orientation": "h", "y": -0.25},
                      yaxis2={"overlaying": "y", "side": "right", "showgrid": False}, bargap=0.2,
                      xaxis={"tickformat": "%m/%Y"})
    category = ehsa.iloc[0] if len(ehsa) else None
    title = info["name"] + (f" — {info['district_name']}" if info.get("district_name") else "")
    return [
        html.H2(title, id="panel-title"),
        html.Div(t("panel.period12", lang), className="gd-panel-note"),
        tiles,
        html.H3(t("panel.trend", lang)),
        dcc.Graph(figure=fig, config={"displayModeBar": False, "staticPlot": False}, id="panel-trend"),
        html.H3(t("panel.ehsa", lang)),
        html.Div([html.Strong(category["category_vi"] if lang == "vi" else category["category"]),
                  html.P(category["explanation_vi"])] if category is not None else t("map.no_data", lang),
                 id="panel-ehsa"),
        html.H3(t("panel.alerts", lang)),
        html.Ul([html.Li(a["message_vi"] if lang == "vi" else a["message_en"]) for _, a in alerts.iterrows()]
                or [html.Li(t("panel.no_alerts", lang))], id="panel-alerts"),
        html.H3(t("panel.context", lang)),
        _context(engine, scheme, code, lang),
        html.H3(t("panel.case_list", lang)),
        _case_grid(engine, scheme, province, code, lang),
        dcc.Link(t("panel.cases", lang), href=f"/cases?{urlencode({'scheme': scheme, 'province': province, 'commune': code, 'lang': lang})}",
                 id="panel-cases-link"),
    ]


PANEL_CASES = 200


def _case_grid(engine, scheme: str, province: str, code: str, lang: str) -> html.Div:
    """The commune's newest cases (no summary, nothing about people), each linking to its entry form."""
    df = cases_read.list_cases(engine, active_scope(), scheme=scheme, commune_code=code, limit=PANEL_CASES)
    yes, no = t("yes", lang), t("no", lang)
    rows = []
    for r in df.to_dict("records"):
        link = "/cases?" + urlencode({"scheme": scheme, "province": province, "commune": code, "case": r["id"],
                                      "lang": lang})
        rows.append({
            "external_ref": f"[{r['external_ref']}]({link})",
            "received_date": r["received_date"].strftime("%d/%m/%Y"),
            "category": label("category", r["category"], lang), "status": label("status", r["status"], lang),
            "is_mass": yes if r["is_mass"] else no, "overdue": yes if r["overdue"] else no,
        })

    def col(field, **kw):
        return {"field": field, "headerName": t(f"field.{field}", lang), **kw}

    return html.Div([
        html.Div(t("panel.case_count", lang, n=fmt_number(len(rows), lang, 0)), className="gd-panel-note"),
        dag.AgGrid(id="panel-cases", rowData=rows, className="ag-theme-alpine",
                   columnDefs=[col("external_ref", cellRenderer="markdown", minWidth=120),
                               col("received_date", maxWidth=120), col("category", minWidth=160),
                               col("status", minWidth=120), col("is_mass", maxWidth=100), col("overdue", maxWidth=100)],
                   defaultColDef={"sortable": True, "resizable": True, "filter": True},
                   dashGridOptions={"animateRows": False, "localeText": {"noRowsToShow": t("cases.none", lang)}},
                   style={"height": "260px"}),
    ])


def _context(engine, scheme: str, code: str, lang: str) -> html.Ul:
    """NTM level, ethnic-minority region, religious establishments, nearby key projects (context, not score)."""
    user = current_user.get()
    ctx_ = layer_data.unit_context(engine, scheme, code, lang, role=user.role if user else None)
    items = [html.Li([html.Span(f"{item['title']}: "), html.Strong(item["label"])]) for item in ctx_["layers"]]
    items += [html.Li(f"{t('panel.project', lang)}: {p['name']} — {fmt_number(p['distance_km'], lang, 1)} km"
                      + (f", {fmt_number(p['clearance_progress_pct'], lang, 0)}% GPMB" if p.get("clearance_progress_pct") is not None else ""))
              for p in ctx_["projects"]]
    return html.Ul(items or [html.Li(t("map.no_data", lang))], id="panel-context")


# --------------------------------------------------------------------------- helpers for callbacks
def _period(months: list[str], index, span) -> tuple[date, date, int] | None:
    months = [m for m in (months or []) if month_of(m)]
    if not months:
        return None
    index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
    try:
        span = int(span)
    except (TypeError, ValueError):
        span = 1
    span = span if span in RANGES else 1
    last = month_of(months[index])
    return add_months(last, -(span - 1)), last, span


def _filters(category, kind, status, mass, over) -> dict:
    return clean_filters({"category": category if isinstance(category, list) else [],
                          "kind": kind if isinstance(kind, list) else [],
                          "status": status if isinstance(status, list) else [],
                          "mass": mass is True, "over_level": over is True})


def _sensitive(engine, scheme: str, province: str) -> set[str]:
    areas = sensitive_areas(engine, scheme, _province_arg(province))
    return {c for c, s_ in zip(areas["code"], areas["is_sensitive"]) if s_}


def register_callbacks(app, engine) -> None:
    cluster_above = Settings.from_env().cluster_above
    @app.callback(
        Output("province", "data"), Output("province", "value"),
        Input("scheme", "value"), State("province", "value"), State("lang", "data"),
        prevent_initial_call=True,
    )
    def switch_scheme(scheme, province, lang):
        scheme, province, lang = valid.scheme(scheme), province_value(province), valid.lang(lang)
        other = "2025" if scheme == "legacy" else "legacy"
        options = _province_options(engine, scheme, lang)
        if province == NATIONAL:
            value = NATIONAL
        else:
            value = read.counterpart_province(engine, province, other, scheme) if province else None
        codes = [o["value"] for o in options]
        return options, value if value in codes else next((c for c in codes if c != NATIONAL), None)

    @app.callback(
        Output("communes", "data"), Output("districts", "data"), Output("map-bounds", "data"),
        Output("counts", "children"), Output("map-months", "data"),
        Output("month-slider", "max"), Output("month-slider", "value"), Output("month-slider", "marks"),
        Output("district", "data"), Output("district", "style"), Output("drill-init", "data"),
        Input("province", "value"), State("scheme", "value"), State("lang", "data"), State("map-url", "search"),
    )
    def show_province(province, scheme, lang, search):
        """Geometry: once per province (or the country) and scheme."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        if not province or province not in {o["value"] for o in _province_options(engine, scheme, lang)}:
            return (no_update,) * 11
        geo = _geometry(engine, scheme, province, lang)
        n_communes = len(geo["communes"]["features"])
        if scheme == "legacy" and province != NATIONAL:
            counts = t("map.counts.legacy", lang, districts=len(geo["districts"]["features"]), communes=n_communes)
        else:
            counts = t("map.counts.2025", lang, communes=n_communes)
        months = [m.isoformat()[:7] for m in analytics.available_months(engine, scheme, _province_arg(province))]
        wanted = parse_state(search or "")
        index = months.index(wanted["month"]) if wanted["month"] in months else max(len(months) - 1, 0)
        marks = {i: m[:4] for i, m in enumerate(months) if m.endswith("-01")}
        districts = _district_options(engine, scheme, province, lang)
        same = wanted["province"] == province and wanted["scheme"] == scheme  # the URL's drill-down applies
        init = {"province": province, "district": wanted["district"] if same else None,
                "commune": wanted["commune"] if same else None, "at": wanted["at"] if same else None}
        # a saved link into a part of the province this user does not see opens on the user's own part
        if init["commune"] and not _visible(engine, scheme, init["commune"]):
            init["commune"] = None
        if init["district"] and init["district"] not in {o["value"] for o in districts}:
            init["district"] = None
        if not (init["district"] or init["commune"] or init["at"]) and province != NATIONAL:
            init.update(_own_area(engine, scheme, province))
        return (geo["communes"], geo["districts"] or EMPTY, geo["bounds"], counts, months,
                max(len(months) - 1, 0), index, marks, districts, {} if districts else {"display": "none"}, init)

    @app.callback(
        Output("map-footer", "children"),
        Input("map-bounds", "data"), State("province", "value"), State("scheme", "value"), State("lang", "data"),
    )
    def footer(_bounds, province, scheme, lang):
        """Sources, data-as-of and the data-quality note — after the map is drawn (it counts every case)."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        if not province:
            return t("map.source", lang)
        run = analytics.latest_run(engine, scheme)
        head = f"{t('map.source', lang)} · {t('map.as_of', lang, date=run['as_of'].strftime('%d/%m/%Y') if run else '—')}"
        try:
            quality = cases_read.data_quality(engine, active_scope(), scheme, _province_arg(province))
        except cases_read.CasesBusy:
            return f"{head} · {t('map.quality_busy', lang)}"
        counts = {k: fmt_number(quality[k], lang, 0) for k in ("no_polygon", "outside", "total")}  # 1.234 / 1,234
        note = f"{head} · {t('map.quality', lang, **counts)}"
        if when := analytics.behind_since(engine, run):
            return [note, html.Div(t("map.behind_cases", lang, time=when), id="map-behind", className="gd-behind")]
        return note

    @app.callback(
        Output("commune-search", "data"), Output("commune-search", "style"),
        Input("province", "value"), State("scheme", "value"),
    )
    def commune_options(province, scheme):
        """The province's communes for the picker (diacritic-insensitive search); none for the country."""
        province, scheme = province_value(province), valid.scheme(scheme)
        if not province or province == NATIONAL:
            return [], {"display": "none"}
        return cases_read.communes_for_select(engine, scheme, province, active_scope()), {}

    @app.callback(
        Output("map", "viewport"), Output("map-selected", "data"), Output("district", "value"),
        Output("commune-panel", "children"), Output("commune-outline", "data"), Output("map-crumbs", "children"),
        Output("province", "value", allow_duplicate=True), Output("commune-search", "value"),
        Input("drill-init", "data"), Input("communes", "clickData"), Input("district", "value"),
        Input({"type": "gd-crumb", "level": ALL}, "n_clicks"), Input("commune-search", "value"),
        State("map-bounds", "data"), State("scheme", "value"), State("province", "value"), State("lang", "data"),
        State("map-selected", "data"),
        prevent_initial_call=True,
    )
    def drill(init, click, district, crumbs_clicks, search, bounds, scheme, province, lang, selected):
        """Country → province → district → commune: zoom, select, breadcrumbs, panel (and the commune
        picker, the keyboard's way to a commune, shows the selection)."""
        out = _drill(init, click, district, crumbs_clicks, search, bounds, scheme, province, lang, selected)
        return (*out, out[1])

    def _drill(init, click, district, _crumbs_clicks, search, bounds, scheme, province, lang, selected):
        scheme, province, lang = valid.scheme(scheme), province_value(province), valid.lang(lang)
        district = valid.code(district, (3,)) if scheme == "legacy" else None
        trig = ctx.triggered_id
        home = {"bounds": bounds} if bounds else no_update
        if not province:
            return (no_update,) * 7

        def at_district(code):
            info = read.unit_info(engine, scheme, code) if code else None
            if not info or info["level"] != "district" or info["province_code"] != province:
                return home, None, "", [], EMPTY, _crumbs(engine, scheme, province, None, None, lang), no_update
            return ({"bounds": info["bounds"], "options": {"padding": [30, 30]}}, None, code, [], EMPTY,
                    _crumbs(engine, scheme, province, code, None, lang), no_update)

        def at_commune(code):
            info = read.unit_info(engine, scheme, code) if code else None
            if not info or info["level"] != "commune" or (province != NATIONAL and info["province_code"] != province):
                return no_update, no_update, no_update, no_update, no_update, no_update, no_update
            parent = info["parent_code"] if scheme == "legacy" else None
            shown_province = info["province_code"] if province == NATIONAL else province
            view = {"bounds": info["bounds"], "options": {"paddingTopLeft": [30, 30], "paddingBottomRight": [440, 30],
                                                          "maxZoom": 13}}  # the panel covers the right
            return (view if info["bounds"] else no_update, code, parent or "",
                    _panel(engine, scheme, code, lang), read.unit_outline(engine, scheme, code),
                    _crumbs(engine, scheme, shown_province, parent, code, lang), no_update)

        if trig == "drill-init":
            init = init if isinstance(init, dict) else {}
            commune, dist, at = valid.commune(init.get("commune")), valid.code(init.get("district"), (3,)), init.get("at")
            if commune:
                return at_commune(commune)
            if dist and scheme == "legacy":
                return at_district(dist)
            crumbs = _crumbs(engine, scheme, province, None, None, lang)
            own = _bounds(init.get("own"))
            if own:  # a user who sees part of the province: start on it
                return {"bounds": own, "options": {"padding": [30, 30]}}, None, "", [], EMPTY, crumbs, no_update
            if isinstance(at, list) and len(at) == 3:
                return {"center": at[:2], "zoom": at[2]}, None, "", [], EMPTY, crumbs, no_update
            return home, None, "", [], EMPTY, crumbs, no_update
        if trig == "communes":
            props = (click or {}).get("properties", {}) if isinstance(click, dict) else {}
            return at_commune(valid.commune(props.get("code")))
        if trig == "commune-search":
            code = valid.commune(search)
            if not code or code == selected:
                return (no_update,) * 7
            return at_commune(code)
        if trig == "district":
            if district == (read.unit_info(engine, scheme, valid.commune(selected) or "00000") or {}).get("parent_code"):
                return (no_update,) * 7  # set by a commune click: stay on the commune
            return at_district(district) if district else (
                home, None, "", [], EMPTY, _crumbs(engine, scheme, province, None, None, lang), no_update)
        if isinstance(trig, dict) and trig.get("type") == "gd-crumb":
            if not any(isinstance(n, int) and n > 0 for n in _crumbs_clicks or []):
                return (no_update,) * 7
            level = trig.get("level")
            if level == "country" and _national_allowed():
                return no_update, None, "", [], EMPTY, no_update, NATIONAL
            if level == "province":
                info = read.unit_info(engine, scheme, valid.commune(selected) or "00000")
                if province == NATIONAL and info:  # came down from the country view: go to the commune's province
                    return no_update, None, "", [], EMPTY, no_update, info["province_code"]
                return home, None, "", [], EMPTY, _crumbs(engine, scheme, province, None, None, lang), no_update
            if level == "district":
                return at_district(district)
        return (no_update,) * 7

    @app.callback(
        Output("communes-style", "data"), Output("legend", "children"), Output("month-label", "children"),
        Output("map-view", "data"), Output("layer-features", "data"),
        Input("indicator", "value"), Input("month-slider", "value"), Input("map-months", "data"),
        Input("range", "value"), Input("f-category", "value"), Input("f-kind", "value"), Input("f-status", "value"),
        Input("f-mass", "checked"), Input("f-over", "checked"), Input("f-sonly", "checked"),
        Input("layer", "value"), Input("sensitive", "checked"), Input("points", "checked"),
        State("province", "value"), State("scheme", "value"), State("lang", "data"),
    )
    def restyle(indicator, index, months, span, category, kind, status, mass, over, sonly, layer_id, sensitive,
                points, province, scheme, lang):
        """Classes and values only — never the communes' geometry."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        user = current_user.get()
        layer_id = layer_id if isinstance(layer_id, str) and layer_id in _layer_ids(user.role if user else None) else ""
        indicator = indicator if indicator in INDICATORS else "intensity"
        filters = _filters(category, kind, status, mass, over)
        period = _period(months, index, span)
        state = {"scheme": scheme, "province": province, "indicator": indicator, "layer": layer_id,
                 "sensitive": sensitive is True, "points": points is True, "filters": filters,
                 "sensitive_only": sonly is True, "range": period[2] if period else 1, "lang": lang,
                 "month": period[1].isoformat()[:7] if period else None}
        if not province:
            return {}, [], "", no_update, EMPTY
        if not period and not layer_id:  # boundaries only, no analytics yet: the view is still in the URL
            return {}, [html.Div(t("map.no_analytics", lang))], "", view_params(state), EMPTY
        first, last, span = period if period else (None, None, 1)
        order = _order(engine, scheme, province)
        scope = active_scope()
        flagged = _sensitive(engine, scheme, province) if (sensitive is True or sonly is True) else set()
        overlay = flagged if sensitive is True else set()
        if last is None:  # a registry layer on a database without analytics yet
            period_text = ""
        elif span == 1:
            period_text = fmt_month(last)
        else:
            period_text = t("map.period_range", lang, first=fmt_month(first), last=fmt_month(last))
        if layer_id:
            hideout, legend, features = _layer_view(engine, layer_id, scheme, province, last, overlay, lang, order)
            return hideout, legend, period_text, view_params(state), features
        notes = []
        run = analytics.latest_run(engine, scheme)
        if filters:
            values = cases_read.filtered_counts(engine, scope, scheme=scheme, province_code=_province_arg(province),
                                                first=first, last=last, filters=filters)
            title = t("indicator.filtered", lang)
            notes.append(t("map.filtered_note", lang, filters=_filters_text(filters, lang)))
            bins = None
        else:
            values = analytics.cube_values(engine, scope, scheme=scheme, province_code=_province_arg(province),
                                           months=(first, last), indicator=indicator)
            title = t(f"indicator.{indicator}", lang)
            bins = _breaks(engine, scheme, province, indicator, run) if span == 1 else None
            if bins:
                notes.append(t("map.pooled", lang))
        hidden = set(order) - flagged if sonly is True else set()
        if hidden:
            notes.append(t("map.sensitive_only_note", lang))
            values = values[~values["commune_code"].isin(hidden)]
        hideout, classes = _choropleth(order, values, "filtered" if filters else indicator, bins, hidden)
        hideout.update({"g": f"{scheme}:{province}", "s": flag_string(order, overlay), "n": title, "lang": lang})
        if not filters and span == 1 and not hidden and run:
            # a view the page can also draw from the month-by-month series (see `series`): say which
            # one it is, so the page checks its copy against this answer
            hideout.update({"r": run["id"], "ind": indicator, "m": last.isoformat()[:7]})
        no_data = int((classes.class_of < 0).sum())
        if scope.everything:  # communes of provinces nobody imported cases for have no cube rows: no data
            no_data += len(set(order) - set(values["commune_code"]) - hidden)
        return (hideout, _legend(classes, title, no_data, period_text, notes, run, lang), period_text,
                view_params(state), EMPTY)

    @app.callback(
        Output("communes-series", "data"),
        Input("series-request", "data"),
        State("province", "value"), State("scheme", "value"), State("lang", "data"), State("map-months", "data"),
    )
    def series(request, province, scheme, lang, months):
        """Every month of one indicator's classes (and, for a province, values) in one answer, asked for
        once per scope, indicator and analytics run by the page (``geoDashMap.apply``): then a change of
        month or indicator restyles in the page with no round trip (``geoDashMap.fast``); the server's
        own answer (``restyle``) still follows for the legend and is checked against this copy."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        if not isinstance(request, dict) or not province:
            return no_update
        indicator = request.get("ind")
        if indicator not in INDICATORS or request.get("g") != f"{scheme}:{province}":
            return no_update
        months = [m for m in (months or []) if month_of(m)]
        run = analytics.latest_run(engine, scheme)
        if not months or not run:
            return no_update
        key = (str(engine.url), scheme, province, indicator, run["id"], scope_json(active_scope()), tuple(months), lang)
        with _series_lock:
            if key in _series_cache:
                _series_cache.move_to_end(key)
                return _series_cache[key]
        out = _series(engine, scheme, province, indicator, run, months, lang)
        with _series_lock:
            _series_cache[key] = out
            while len(_series_cache) > SERIES_CACHE_SIZE:
                _series_cache.popitem(last=False)
        return out

    def _series(engine, scheme, province, indicator, run, months, lang) -> dict:
        order = _order(engine, scheme, province)
        frame = analytics.cube_series(engine, active_scope(), scheme=scheme, province_code=_province_arg(province),
                                      indicator=indicator, first=month_of(months[0]), last=month_of(months[-1]))
        bins = _breaks(engine, scheme, province, indicator, run)
        with_values = len(order) <= SERIES_VALUES_MAX
        by_month = dict(tuple(frame.groupby("month", sort=False)))
        empty = frame.iloc[0:0]
        out = {"g": f"{scheme}:{province}", "ind": indicator, "r": run["id"], "n": t(f"indicator.{indicator}", lang),
               "m": months, "k": [], "pal": [], "v": [] if with_values else None}
        for m in months:
            style, _ = _choropleth(order, by_month.get(m, empty), indicator, bins, with_values=with_values)
            out["k"].append(style["k"])
            out["pal"].append(style["pal"])
            if with_values:
                out["v"].append(style["v"])
        return out

    @app.callback(
        Output("case-points", "data"), Output("case-points", "cluster"), Output("points-note", "children"),
        Input("points", "checked"), Input("month-slider", "value"), Input("map-months", "data"), Input("range", "value"),
        Input("f-category", "value"), Input("f-kind", "value"), Input("f-status", "value"),
        Input("f-mass", "checked"), Input("f-over", "checked"),
        State("province", "value"), State("scheme", "value"), State("lang", "data"),
    )
    def case_points(on, index, months, span, category, kind, status, mass, over, province, scheme, lang):
        """Cases with coordinates for the period and filters; clustered above ~2,000 points."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        period = _period(months, index, span)
        if on is not True or not province or not period:
            return EMPTY, False, ""
        points = cases_read.case_points(engine, active_scope(), scheme=scheme, province_code=_province_arg(province),
                                        first=period[0], last=period[1],
                                        filters=_filters(category, kind, status, mass, over))
        n = len(points["features"])
        clustered = n > cluster_above
        note = (t("map.points.clustered", lang, n=fmt_number(n, lang, 0), limit=fmt_number(cluster_above, lang, 0))
                if clustered else t("map.points.count", lang, n=fmt_number(n, lang, 0)))
        if points.get("truncated"):
            note += " — " + t("map.points.truncated", lang, n=fmt_number(n, lang, 0))
        for f in points["features"]:  # labels in the page's language; codes stay out of sight
            p = f["properties"]
            p["label"] = " · ".join([p["received"], label("category", p["category"], lang), label("status", p["status"], lang)])
        return {"type": "FeatureCollection", "features": points["features"]}, clustered, note

    app.clientside_callback(
        ClientsideFunction("geoDashMap", "apply"),
        Output("communes-styled", "data"), Output("series-request", "data"),
        Input("communes-style", "data"), State("series-request", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("geoDashMap", "hold"),
        Output("communes-series-held", "data"), Input("communes-series", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("geoDashMap", "fast"),
        Output("communes-fast", "data"),
        Input("indicator", "value"), Input("month-slider", "value"),
        State("map-months", "data"), State("range", "value"), State("f-category", "value"), State("f-kind", "value"),
        State("f-status", "value"), State("f-mass", "checked"), State("f-over", "checked"),
        State("f-sonly", "checked"), State("layer", "value"),
    )

    app.clientside_callback(
        ClientsideFunction("geoDashMap", "mirror"),
        Output("communes-view", "data"),
        Input("month-slider", "value"), Input("map-months", "data"), Input("range", "value"),
        Input("f-category", "value"), Input("f-kind", "value"), Input("f-status", "value"), Input("f-mass", "checked"),
        Input("f-over", "checked"), Input("f-sonly", "checked"), Input("layer", "value"),
    )

    app.clientside_callback(
        ClientsideFunction("geoDashMap", "url"),
        Output("map-url", "search"),
        Input("map-view", "data"), Input("map-selected", "data"), Input("district", "value"),
        Input("map", "center"), Input("map", "zoom"),
    )

    @app.callback(
        Output("compare-pane", "style"), Output("compare-pane", "children"),
        Output("compare-month", "data"), Output("compare-month", "value"), Output("compare-month", "style"),
        Output("map", "className"), Output("map", "invalidateSize"),
        Input("compare", "checked"), State("province", "value"), State("scheme", "value"),
        State("map-months", "data"), State("month-slider", "value"), State("lang", "data"),
        prevent_initial_call=True,
    )
    def toggle_compare(on, province, scheme, months, index, lang):
        """Split view: the second map gets the geometry once, when it is opened."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        months = [m for m in (months or []) if month_of(m)]
        if on is not True or not province or not months:
            return {"display": "none"}, [], [], None, {"display": "none"}, "gd-map", True
        geo = _geometry(engine, scheme, province, lang)
        pane = [  # made when opened, so Leaflet measures a visible box
            html.Div(id="compare-title", className="gd-compare-title"),
            dl.Map(id="map2", className="gd-map2", bounds=geo["bounds"], zoomSnap=0.25, zoomAnimation=False,
                   children=[dl.GeoJSON(id="communes2", data=geo["communes"], style={"variable": "geoDash.communeStyle"},
                                        onEachFeature={"variable": "geoDash.compareTooltip"}, hideout={})]),
        ]
        index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
        default = months[index - 12] if index >= 12 else months[0]  # the same month a year before
        options = [{"value": m, "label": fmt_month(month_of(m))} for m in months]
        return {"display": "flex"}, pane, options, default, {"display": "block"}, "gd-map gd-map-half", True

    @app.callback(
        Output("communes2", "hideout"), Output("compare-title", "children"),
        Input("compare-month", "value"), Input("indicator", "value"), Input("month-slider", "value"),
        State("map-months", "data"), State("province", "value"), State("scheme", "value"), State("lang", "data"),
        State("compare", "checked"),
        prevent_initial_call=True,
    )
    def restyle_compare(compare_month, indicator, index, months, province, scheme, lang, on):
        """The comparison month, on the main map's classes so colours mean the same on both."""
        province, scheme, lang = province_value(province), valid.scheme(scheme), valid.lang(lang)
        indicator = indicator if indicator in INDICATORS else "intensity"
        months = [m for m in (months or []) if month_of(m)]
        other = month_of(compare_month)
        if on is not True or not province or not months or other is None:
            return no_update, no_update
        index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
        values = analytics.cube_values(engine, active_scope(), scheme=scheme, province_code=_province_arg(province),
                                       month=other, indicator=indicator)
        classes = indicator_classes(values["value"], indicator,
                                    _breaks(engine, scheme, province, indicator, analytics.latest_run(engine, scheme)))
        order = _order(engine, scheme, province)
        hideout = {"k": class_string(order, dict(zip(values["commune_code"], (int(k) for k in classes.class_of)))),
                   "pal": classes.colors, "v": value_list(order, dict(zip(values["commune_code"], values["value"]))),
                   "n": t(f"indicator.{indicator}", lang), "lang": lang}
        return hideout, t("map.compare_title", lang, month=fmt_month(other), main=fmt_month(month_of(months[index])))

    @app.callback(
        Output("map-player", "disabled"), Output("map-play", "children"),
        Input("map-play", "n_clicks"), State("map-player", "disabled"), prevent_initial_call=True,
    )
    def toggle_play(_n, disabled):
        playing = bool(disabled)  # it was stopped: start
        return (not playing), ("⏸" if playing else "▶")

    app.clientside_callback(  # playback: the next month, in the page (no round trip per step)
        ClientsideFunction("geoDashMap", "step"),
        Output("month-slider", "value", allow_duplicate=True),
        Input("map-player", "n_intervals"), State("month-slider", "value"), State("month-slider", "max"),
        prevent_initial_call=True,
    )
