"""The map page (``/``): the choropleth of an indicator by commune, month by month.

* Geometry goes to the browser once per province and scheme (``show_province``); a change of
  indicator or month sends only colours and labels in the layer's ``hideout`` (``restyle``).
* The URL carries the whole view (scheme, province, indicator, month, language).
* Click a commune: its panel — KPIs, 24-month trend, EHSA category and explanation, alerts, link to
  its cases.  Play animates the months.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode

import dash_leaflet as dl
import dash_mantine_components as dmc
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update

from geo_dash.analytics import read as analytics
from geo_dash.boundaries import read
from geo_dash.cases.read import data_quality
from geo_dash.config import Settings
from geo_dash.layers.classify import NO_DATA_COLOR, classify_numeric, fmt_number
from geo_dash.layers import data as layer_data
from geo_dash.layers import registry
from geo_dash.layers.sensitivity import sensitive_areas
from geo_dash.security.context import active_scope, current_user
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t

DEFAULT_PROVINCE = {"legacy": "45", "2025": "44"}  # Quảng Trị
INDICATORS = ("intensity", "n_new", "new_per_10k", "n_land", "n_mass", "n_over_level", "backlog", "overdue")
HOT = {"new hot spot", "consecutive hot spot", "intensifying hot spot", "persistent hot spot",
       "diminishing hot spot", "sporadic hot spot", "oscillating hot spot"}
EMPTY = {"type": "FeatureCollection", "features": []}


def _month(value) -> date | None:
    if isinstance(value, str) and len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit():
        y, m = int(value[:4]), int(value[5:])
        if 1990 <= y <= 2100 and 1 <= m <= 12:
            return date(y, m, 1)
    return None


def parse_state(query: dict | str | None) -> dict:
    """The view state from the URL's query (a dict of parameters or a query string)."""
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    q = {k: str(v) for k, v in query.items()}
    scheme = valid.scheme(q.get("scheme"))
    return {
        "scheme": scheme,
        "province": valid.province(q.get("province")) or DEFAULT_PROVINCE[scheme],
        "indicator": q.get("indicator") if q.get("indicator") in INDICATORS else "intensity",
        "month": q.get("month") if _month(q.get("month")) else None,
        "layer": q.get("layer") if q.get("layer") in _layer_ids() else "",
        "sensitive": q.get("sensitive") == "1",
        "lang": valid.lang(q.get("lang")),
    }


def _layer_ids(role: str | None = None) -> set[str]:
    return {layer.id for layer in registry.list_layers(role)}


def _layer_options(lang: str) -> list[dict]:
    user = current_user.get()
    layers = registry.list_layers(user.role if user else None)
    return [{"value": "", "label": t("map.layer.cube", lang)}] + [
        {"value": layer.id, "label": layer.summary(lang)["title"]} for layer in layers if layer.id != "sensitive_areas"]


def _fmt_month(d: date) -> str:
    return f"{d.month:02d}/{d.year}"


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    provinces = read.list_provinces(engine, state["scheme"], active_scope())
    codes = [p["code"] for p in provinces]
    if state["province"] not in codes:  # open on the user's own area
        state = {**state, "province": codes[0] if codes else None}
    base = [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution)] if settings.tile_url else []
    return html.Div(className="gd-page-map", children=[
        dcc.Location(id="map-url", refresh=False),
        dcc.Store(id="lang", data=lang),
        dcc.Store(id="map-months", data=[]),
        dcc.Store(id="map-selected"),
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
                data=[{"value": p["code"], "label": p["name"]} for p in provinces], w=260, size="md",
                allowDeselect=False, filter={"function": "foldFilter"}, nothingFoundMessage=t("map.nothing_found", lang),
            ),
            dmc.Select(
                id="indicator", label=t("map.indicator", lang), value=state["indicator"], size="md", w=280,
                data=[{"value": i, "label": t(f"indicator.{i}", lang)} for i in INDICATORS], allowDeselect=False,
            ),
            dmc.Select(
                id="layer", label=t("map.layer", lang), value=state["layer"], size="md", w=260,
                data=_layer_options(lang), allowDeselect=False,
            ),
            dmc.Switch(id="sensitive", label=t("map.sensitive", lang), checked=state["sensitive"], size="md", mt="lg"),
            dmc.Switch(id="compare", label=t("map.compare", lang), checked=False, size="md", mt="lg"),
            dmc.Select(id="compare-month", label=t("map.compare_month", lang), data=[], w=150, size="md",
                       allowDeselect=False, style={"display": "none"}),
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
            html.Div(id="counts", className="gd-counts"),
        ]),
        html.Main(className="gd-main", children=[
            dl.Map(id="map", className="gd-map", center=[16.0, 106.0], zoom=6, zoomSnap=0.25, zoomAnimation=False,
                   children=base + [
                       dl.GeoJSON(id="communes", style={"variable": "geoDash.communeStyle"},
                                  onEachFeature={"variable": "geoDash.communeTooltip"},
                                  hideout={"selected": None}),
                       dl.GeoJSON(id="districts", style={"variable": "geoDash.districtStyle"}, interactive=False),
                       dl.GeoJSON(id="layer-features", data=EMPTY, pointToLayer={"variable": "geoDash.featurePoint"},
                                  style={"variable": "geoDash.featureStyle"},
                                  onEachFeature={"variable": "geoDash.featureTooltip"}),
                   ]),
            html.Div(id="legend", className="gd-legend"),
            html.Aside(id="commune-panel", className="gd-panel", **{"aria-live": "polite"}),
            html.Div(id="compare-pane", className="gd-compare", style={"display": "none"}),
        ]),
        html.Footer(id="map-footer", className="gd-footer"),
    ])


def _legend(classes, indicator: str, no_data: int, month_text: str, run: dict | None, lang: str) -> list:
    labels = classes.labels_vi if lang == "vi" else classes.labels_en
    rows = [html.Div([html.Span(className="gd-swatch-box", style={"background": c}), lbl])
            for c, lbl in zip(classes.colors, labels)]
    rows.append(html.Div([html.Span(className="gd-swatch-box", style={"background": NO_DATA_COLOR}),
                          f"{t('map.no_data', lang)} ({no_data})"]))
    rows.append(html.Div([html.Span(className="gd-swatch-line gd-hot-line"), t("map.hotspot", lang)]))
    as_of = run["as_of"].strftime("%d/%m/%Y") if run and run.get("as_of") else "—"
    return [html.Strong(t(f"indicator.{indicator}", lang)), html.Div(month_text, className="gd-legend-period"),
            *rows, html.Div(t("map.as_of", lang, date=as_of), className="gd-legend-note"),
            html.Div(t("map.method", lang), className="gd-legend-note")]


def _panel(engine, scheme: str, code: str, province: str, lang: str) -> list:
    scope = active_scope()
    names = [f for f in read.province_geojson(engine, scheme, province, scope)["communes"]["features"]
             if f["properties"]["code"] == code]
    if not names or not names[0]["properties"].get("in_scope", True):
        return [html.P(t("panel.outside", lang))]
    props = names[0]["properties"]
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
    fig.update_layout(height=220, margin={"l": 30, "r": 30, "t": 10, "b": 30}, legend={"orientation": "h", "y": -0.25},
                      yaxis2={"overlaying": "y", "side": "right", "showgrid": False}, bargap=0.2,
                      xaxis={"tickformat": "%m/%Y"})
    category = ehsa.iloc[0] if len(ehsa) else None
    return [
        html.H2(props["name"] + (f" — {props['parent_name']}" if props.get("parent_name") else ""), id="panel-title"),
        html.Div(t("panel.period12", lang), className="gd-panel-note"),
        tiles,
        html.H3(t("panel.trend", lang)),
        dcc.Graph(figure=fig, config={"displayModeBar": False, "staticPlot": False}, id="panel-trend"),
        html.H3(t("panel.ehsa", lang)),
        html.Div([html.Strong(category["category_vi"] if lang == "vi" else category["category"]),
                  html.P(category["explanation_vi"])] if category is not None else t("map.no_data", lang),
                 id="panel-ehsa"),
        html.H3(t("panel.context", lang)),
        _context(engine, scheme, code, lang),
        html.H3(t("panel.alerts", lang)),
        html.Ul([html.Li(a["message_vi"] if lang == "vi" else a["message_en"]) for _, a in alerts.iterrows()]
                or [html.Li(t("panel.no_alerts", lang))], id="panel-alerts"),
        dcc.Link(t("panel.cases", lang), href=f"/cases?{urlencode({'scheme': scheme, 'province': province, 'commune': code, 'lang': lang})}",
                 id="panel-cases-link"),
    ]


def _classes(values, indicator: str, bins: list[float] | None = None):
    if bins:
        return classify_numeric(values["value"], "user_defined", bins=bins, palette="YlOrRd")
    return classify_numeric(values["value"], "quantiles" if indicator != "intensity" else "fisher_jenks", k=5,
                            palette="YlOrRd")


def _layer_view(engine, layer_id, scheme, province, month, selected, flagged, lang, indicator, month_text):
    """A registry layer instead of the cube: the layer's own classes, legend and provenance."""
    layer = registry.get_layer(layer_id)
    values = layer_data.layer_values(engine, layer, scheme, province,
                                     period=month if layer.time.mode != "static" else None, lang=lang)
    legend = layer_data.layer_legend(layer, values, lang)
    features = EMPTY
    if layer.geometry == "features":
        features = layer_data.layer_features(engine, layer, scheme, province, lang)
        hideout = {"selected": valid.commune(selected), "sensitive": flagged}
    else:
        hideout = {"colors": dict(zip(values["code"], values["color"])),
                   "values": dict(zip(values["code"], values["label"])), "sensitive": flagged,
                   "selected": valid.commune(selected), "indicator": legend["title"]}
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
    search = "?" + urlencode({"scheme": scheme, "province": province, "indicator": indicator, "layer": layer_id,
                              **({"month": month_text} if month_text else {}), "lang": lang,
                              **({"sensitive": "1"} if flagged else {})})
    return hideout, legend_children, _fmt_month(month) if month else "", search, t("map.source", lang), features


def _context(engine, scheme: str, code: str, lang: str) -> html.Div:
    """NTM level, ethnic-minority region, religious establishments, nearby key projects (context, not score)."""
    user = current_user.get()
    ctx = layer_data.unit_context(engine, scheme, code, lang, role=user.role if user else None)
    items = [html.Li([html.Span(f"{item['title']}: "), html.Strong(item["label"])]) for item in ctx["layers"]]
    items += [html.Li(f"{t('panel.project', lang)}: {p['name']} — {fmt_number(p['distance_km'], lang, 1)} km"
                      + (f", {fmt_number(p['clearance_progress_pct'], lang, 0)}% GPMB" if p.get("clearance_progress_pct") is not None else ""))
              for p in ctx["projects"]]
    return html.Ul(items or [html.Li(t("map.no_data", lang))], id="panel-context")


def register_callbacks(app, engine) -> None:
    @app.callback(
        Output("province", "data"), Output("province", "value"),
        Input("scheme", "value"), State("province", "value"),
        prevent_initial_call=True,
    )
    def switch_scheme(scheme, province):
        scheme, province = valid.scheme(scheme), valid.province(province)
        other = "2025" if scheme == "legacy" else "legacy"
        options = [{"value": p["code"], "label": p["name"]} for p in read.list_provinces(engine, scheme, active_scope())]
        value = read.counterpart_province(engine, province, other, scheme) if province else None
        codes = [o["value"] for o in options]
        return options, value if value in codes else (codes[0] if codes else None)

    @app.callback(
        Output("communes", "data"), Output("districts", "data"), Output("map", "viewport"),
        Output("counts", "children"), Output("map-months", "data"),
        Output("month-slider", "max"), Output("month-slider", "value"), Output("month-slider", "marks"),
        Input("province", "value"), State("scheme", "value"), State("lang", "data"), State("map-url", "search"),
    )
    def show_province(province, scheme, lang, search):
        """Geometry: once per province and scheme."""
        province, scheme, lang = valid.province(province), valid.scheme(scheme), valid.lang(lang)
        if not province or province not in {p["code"] for p in read.list_provinces(engine, scheme, active_scope())}:
            return (no_update,) * 8
        geo = read.province_geojson(engine, scheme, province, active_scope())
        n_communes = len(geo["communes"]["features"])
        if scheme == "legacy":
            counts = t("map.counts.legacy", lang, districts=len(geo["districts"]["features"]), communes=n_communes)
        else:
            counts = t("map.counts.2025", lang, communes=n_communes)
        months = [m.isoformat()[:7] for m in analytics.available_months(engine, scheme, province)]
        wanted = parse_state(search or "").get("month")
        index = months.index(wanted) if wanted in months else max(len(months) - 1, 0)
        marks = {i: m[:4] for i, m in enumerate(months) if m.endswith("-01")}
        viewport = {"bounds": geo["bounds"]} if geo["bounds"] else no_update
        return (geo["communes"], geo["districts"] or EMPTY, viewport, counts, months,
                max(len(months) - 1, 0), index, marks)

    @app.callback(
        Output("communes", "hideout"), Output("legend", "children"), Output("month-label", "children"),
        Output("map-url", "search"), Output("map-footer", "children"),
        Output("layer-features", "data"),
        Input("indicator", "value"), Input("month-slider", "value"), Input("map-months", "data"),
        Input("map-selected", "data"), Input("layer", "value"), Input("sensitive", "checked"),
        State("province", "value"), State("scheme", "value"), State("lang", "data"),
    )
    def restyle(indicator, index, months, selected, layer_id, sensitive, province, scheme, lang):
        """Values and colours only — never the communes' geometry."""
        province, scheme, lang = valid.province(province), valid.scheme(scheme), valid.lang(lang)
        user = current_user.get()
        layer_id = layer_id if isinstance(layer_id, str) and layer_id in _layer_ids(user.role if user else None) else ""
        sensitive = sensitive is True
        indicator = indicator if indicator in INDICATORS else "intensity"
        months = [m for m in (months or []) if _month(m)]
        if not province:
            return {"selected": None}, [], "", no_update, t("map.source", lang), EMPTY
        if not months and not layer_id:  # boundaries only, no analytics yet: the view is still in the URL
            search = "?" + urlencode({"scheme": scheme, "province": province, "lang": lang})
            return ({"selected": None}, [html.Div(t("map.no_analytics", lang))], "", search, t("map.source", lang),
                    EMPTY)
        index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
        month = _month(months[index]) if months else None
        scope = active_scope()
        flagged = {}
        if sensitive:
            areas = sensitive_areas(engine, scheme, province)
            flagged = {c: True for c, s_ in zip(areas["code"], areas["is_sensitive"]) if s_}
        if layer_id:
            return _layer_view(engine, layer_id, scheme, province, month, selected, flagged, lang, indicator,
                               months[index] if months else None)
        values = analytics.cube_values(engine, scope, scheme=scheme, province_code=province, month=month,
                                       indicator=indicator)
        classes = _classes(values, indicator)
        colors = dict(zip(values["commune_code"], classes.color_of()))
        labels = {c: fmt_number(v, lang, 1) for c, v in zip(values["commune_code"], values["value"]) if v == v}
        ehsa = analytics.ehsa_categories(engine, scope, scheme, province)
        hot = {c: True for c, cat in zip(ehsa["commune_code"], ehsa["category"]) if cat in HOT}
        ehsa_labels = dict(zip(ehsa["commune_code"], ehsa["category_vi"] if lang == "vi" else ehsa["category"]))
        hideout = {"colors": colors, "values": labels, "ehsa": ehsa_labels, "hot": hot, "sensitive": flagged,
                   "selected": valid.commune(selected), "indicator": t(f"indicator.{indicator}", lang)}
        no_data = int((classes.class_of < 0).sum()) if len(values) else 0
        run = analytics.latest_run(engine, scheme)
        search = "?" + urlencode({"scheme": scheme, "province": province, "indicator": indicator,
                                  "month": months[index], "lang": lang, **({"sensitive": "1"} if sensitive else {})})
        quality = data_quality(engine, scope, scheme, province)
        footer = (f"{t('map.source', lang)} · {t('map.as_of', lang, date=run['as_of'].strftime('%d/%m/%Y') if run else '—')}"
                  f" · {t('map.quality', lang, no_polygon=quality['no_polygon'], outside=quality['outside'], total=quality['total'])}")
        return (hideout, _legend(classes, indicator, no_data, _fmt_month(month), run, lang), _fmt_month(month),
                search, footer, EMPTY)

    @app.callback(
        Output("compare-pane", "style"), Output("compare-pane", "children"),
        Output("compare-month", "data"), Output("compare-month", "value"), Output("compare-month", "style"),
        Output("map", "className"), Output("map", "invalidateSize"),
        Input("compare", "checked"), State("province", "value"), State("scheme", "value"),
        State("map-months", "data"), State("month-slider", "value"),
        prevent_initial_call=True,
    )
    def toggle_compare(on, province, scheme, months, index):
        """Split view: the second map gets the geometry once, when it is opened."""
        province, scheme = valid.province(province), valid.scheme(scheme)
        months = [m for m in (months or []) if _month(m)]
        if on is not True or not province or not months:
            return {"display": "none"}, [], [], None, {"display": "none"}, "gd-map", True
        geo = read.province_geojson(engine, scheme, province, active_scope())
        pane = [  # made when opened, so Leaflet measures a visible box
            html.Div(id="compare-title", className="gd-compare-title"),
            dl.Map(id="map2", className="gd-map2", bounds=geo["bounds"], zoomSnap=0.25, zoomAnimation=False,
                   children=[dl.GeoJSON(id="communes2", data=geo["communes"], style={"variable": "geoDash.communeStyle"},
                                        onEachFeature={"variable": "geoDash.communeTooltip"}, hideout={})]),
        ]
        index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
        default = months[index - 12] if index >= 12 else months[0]  # the same month a year before
        options = [{"value": m, "label": _fmt_month(_month(m))} for m in months]
        return {"display": "flex"}, pane, options, default, {"display": "block"}, "gd-map gd-map-half", True

    @app.callback(
        Output("communes2", "hideout"), Output("compare-title", "children"),
        Input("compare-month", "value"), Input("indicator", "value"), Input("month-slider", "value"),
        State("map-months", "data"), State("province", "value"), State("scheme", "value"), State("lang", "data"),
        State("compare", "checked"),
        prevent_initial_call=True,
    )
    def restyle_compare(compare_month, indicator, index, months, province, scheme, lang, on):
        """The comparison period, on the main map's classes so colours mean the same on both."""
        province, scheme, lang = valid.province(province), valid.scheme(scheme), valid.lang(lang)
        indicator = indicator if indicator in INDICATORS else "intensity"
        months = [m for m in (months or []) if _month(m)]
        other = _month(compare_month)
        if on is not True or not province or not months or other is None:
            return no_update, no_update
        index = index if isinstance(index, int) and 0 <= index < len(months) else len(months) - 1
        scope = active_scope()
        main = analytics.cube_values(engine, scope, scheme=scheme, province_code=province,
                                     month=_month(months[index]), indicator=indicator)
        values = analytics.cube_values(engine, scope, scheme=scheme, province_code=province, month=other,
                                       indicator=indicator)
        classes = _classes(values, indicator, bins=_classes(main, indicator).bins)
        hideout = {"colors": dict(zip(values["commune_code"], classes.color_of())),
                   "values": {c: fmt_number(v, lang, 1) for c, v in zip(values["commune_code"], values["value"]) if v == v},
                   "indicator": t(f"indicator.{indicator}", lang)}
        return hideout, t("map.compare_title", lang, month=_fmt_month(other), main=_fmt_month(_month(months[index])))

    @app.callback(
        Output("map-player", "disabled"), Output("map-play", "children"),
        Input("map-play", "n_clicks"), State("map-player", "disabled"), prevent_initial_call=True,
    )
    def toggle_play(_n, disabled):
        playing = bool(disabled)  # it was stopped: start
        return (not playing), ("⏸" if playing else "▶")

    @app.callback(
        Output("month-slider", "value", allow_duplicate=True),
        Input("map-player", "n_intervals"), State("month-slider", "value"), State("month-slider", "max"),
        prevent_initial_call=True,
    )
    def step(_n, value, maximum):
        value = value if isinstance(value, int) else 0
        maximum = maximum if isinstance(maximum, int) else 0
        return 0 if value >= maximum else value + 1

    @app.callback(
        Output("commune-panel", "children"), Output("map-selected", "data"),
        Input("communes", "clickData"), State("scheme", "value"), State("province", "value"), State("lang", "data"),
        prevent_initial_call=True,
    )
    def open_panel(click, scheme, province, lang):
        scheme, province, lang = valid.scheme(scheme), valid.province(province), valid.lang(lang)
        code = valid.commune((click or {}).get("properties", {}).get("code")) if isinstance(click, dict) else None
        if not code or not province:
            return no_update, no_update
        return _panel(engine, scheme, code, province, lang), code
