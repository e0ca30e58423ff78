"""The map wall (``/wall``): a briefing-room kiosk — dark, large, no controls needed.

Opened with a read-only wall link (``/wall?token=…``) bound to its scope, or by any logged-in user.
URL parameters: ``views`` (comma list of overview, hotspots, mass, overdue, land), ``rotate`` (seconds
per view, default 20), ``refresh`` (seconds between data refreshes, default 300), ``province``, ``scheme``.
The geometry is drawn once; rotation and refresh change colours and the side panel only.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update

from geo_dash.analytics import read as analytics
from geo_dash.boundaries import read
from geo_dash.cases.read import synthetic_present
from geo_dash.config import Settings
from geo_dash.layers.classify import classify_numeric, fmt_number
from geo_dash.security.context import active_scope
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t
from geo_dash.web.pages.map_page import HOT

VIEWS = {  # view -> (indicator on the map, title key)
    "overview": ("intensity", "wall.view.overview"),
    "hotspots": ("intensity", "wall.view.hotspots"),
    "mass": ("n_mass", "wall.view.mass"),
    "overdue": ("overdue", "wall.view.overdue"),
    "land": ("n_land", "wall.view.land"),
}
DEFAULT_VIEWS = ("overview", "hotspots", "mass", "overdue")


def _int(value, default: int, lo: int, hi: int) -> int:
    try:
        v = int(str(value))
    except (TypeError, ValueError):
        return default
    return min(max(v, lo), hi)


def parse_state(query) -> dict:
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    q = {k: str(v) for k, v in query.items()}
    views = [v for v in q.get("views", "").split(",") if v in VIEWS] or list(DEFAULT_VIEWS)
    scheme = valid.scheme(q.get("scheme"))
    return {"scheme": scheme, "province": valid.province(q.get("province")), "views": views,
            "rotate": _int(q.get("rotate"), 20, 5, 600), "refresh": _int(q.get("refresh"), 300, 30, 3600),
            "lang": valid.lang(q.get("lang"))}


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    provinces = read.list_provinces(engine, state["scheme"], active_scope())
    codes = [p["code"] for p in provinces]
    province = state["province"] if state["province"] in codes else (codes[0] if codes else None)
    if province is None:
        return html.Div(t("wall.no_area", lang), className="gd-wall")
    name = next(p["name"] for p in provinces if p["code"] == province)
    geo = read.province_geojson(engine, state["scheme"], province, active_scope())
    base = [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution)] if settings.tile_url else []
    return html.Div(className="gd-wall", children=[
        dcc.Store(id="wall-state", data={**state, "province": province}),
        dcc.Interval(id="wall-rotate", interval=state["rotate"] * 1000),
        dcc.Interval(id="wall-refresh", interval=state["refresh"] * 1000),
        dcc.Interval(id="wall-tick", interval=1000),
        html.Header(className="gd-wall-head", children=[
            html.Div([html.H1(name), html.Div(id="wall-view-title", className="gd-wall-view")]),
            html.Div(t("wall.demo", lang), className="gd-wall-demo", id="wall-demo") if synthetic_present(engine) else None,
            html.Div([html.Div(id="wall-clock", className="gd-wall-clock"),
                      html.Div(id="wall-asof", className="gd-wall-asof")], className="gd-wall-time"),
        ]),
        html.Div(className="gd-wall-body", children=[
            dl.Map(className="gd-wall-map", bounds=geo["bounds"], zoomControl=False, attributionControl=False,
                   zoomAnimation=False, dragging=False, scrollWheelZoom=False, doubleClickZoom=False,
                   children=base + [
                       dl.GeoJSON(id="wall-communes", data=geo["communes"], style={"variable": "geoDash.wallStyle"},
                                  hideout={}),
                       dl.GeoJSON(data=geo["districts"] or {"type": "FeatureCollection", "features": []},
                                  style={"variable": "geoDash.wallDistrictStyle"}, interactive=False),
                   ]),
            html.Aside(id="wall-side", className="gd-wall-side"),
        ]),
        html.Div(id="wall-legend", className="gd-wall-legend"),
    ])


def _tiles(engine, scheme, province, lang) -> html.Div:
    kpi = analytics.kpis(engine, active_scope(), scheme, "province", province, "12m") or {}

    def tile(key, value, warn=False):
        return html.Div([html.Div(value, className="gd-wall-kpi-value" + (" gd-warn" if warn else "")),
                         html.Div(t(key, lang), className="gd-wall-kpi-label")], className="gd-wall-kpi")

    on_time = kpi.get("resolved_on_time_pct")
    return html.Div(className="gd-wall-kpis", children=[
        tile("kpi.received", fmt_number(kpi.get("received"), lang, 0)),
        tile("kpi.on_time", "—" if on_time is None or on_time != on_time else f"{fmt_number(on_time, lang, 0)}%",
             warn=bool(on_time == on_time and on_time is not None and on_time < 100)),
        tile("kpi.overdue", fmt_number(kpi.get("overdue"), lang, 0), warn=bool(kpi.get("overdue"))),
        tile("kpi.mass", fmt_number(kpi.get("mass_petitions"), lang, 0)),
    ])


def _hotspots(engine, scheme, province, lang, n=6) -> html.Div:
    top = analytics.top_hotspots(engine, active_scope(), scheme, province, n=n)
    def what(r) -> str:
        if r["category"] == "no pattern" and r.get("n_alerts"):
            return t("wall.alerts", lang, n=int(r["n_alerts"]))
        return r["category_vi"] if lang == "vi" else r["category"]

    items = [html.Li([html.Span(r["name"], className="gd-wall-hs-name"),
                      html.Span(what(r), className="gd-wall-hs-cat"),
                      html.Span(" ⚑ " + t("wall.priority", lang), className="gd-wall-priority")
                      if r.get("priority_dialogue") else None])
             for _, r in top.iterrows()]
    return html.Div([html.H2(t("wall.top_hotspots", lang)),
                     html.Ol(items or [html.Li(t("wall.no_hotspots", lang))], className="gd-wall-hs")])


def register_callbacks(app, engine) -> None:
    app.clientside_callback(ClientsideFunction("geoDashWall", "clock"), Output("wall-clock", "children"),
                            Input("wall-tick", "n_intervals"))

    @app.callback(
        Output("wall-communes", "hideout"), Output("wall-side", "children"), Output("wall-view-title", "children"),
        Output("wall-asof", "children"), Output("wall-legend", "children"),
        Input("wall-rotate", "n_intervals"), Input("wall-refresh", "n_intervals"), State("wall-state", "data"),
    )
    def show_view(n_rotate, _n_refresh, state):
        if not isinstance(state, dict):
            return (no_update,) * 5
        state = {**parse_state({k: v for k, v in state.items() if k != "views"}),
                 "views": [v for v in state.get("views", []) if v in VIEWS] or list(DEFAULT_VIEWS),
                 "province": valid.province(state.get("province"))}
        lang, scheme, province = state["lang"], state["scheme"], state["province"]
        if province not in {p["code"] for p in read.list_provinces(engine, scheme, active_scope())}:
            return (no_update,) * 5
        view = state["views"][(n_rotate or 0) % len(state["views"])]
        indicator, title = VIEWS[view]
        months = analytics.available_months(engine, scheme, province)
        if not months:
            return {}, t("map.no_analytics", lang), t(title, lang), "", None
        first = months[-12] if len(months) >= 12 else months[0]
        values = analytics.cube_values(engine, active_scope(), scheme=scheme, province_code=province,
                                       months=(first, months[-1]), indicator=indicator)
        classes = classify_numeric(values["value"], "quantiles", k=5, palette="YlOrRd")
        ehsa = analytics.ehsa_categories(engine, active_scope(), scheme, province)
        hot = {c: True for c, cat in zip(ehsa["commune_code"], ehsa["category"]) if cat in HOT} if view != "overview" else {}
        hideout = {"colors": dict(zip(values["commune_code"], classes.color_of())), "hot": hot}
        side = [_tiles(engine, scheme, province, lang), _hotspots(engine, scheme, province, lang)]
        run = analytics.latest_run(engine, scheme)
        asof = t("map.as_of", lang, date=run["as_of"].strftime("%d/%m/%Y") if run else "—")
        labels = classes.labels_vi if lang == "vi" else classes.labels_en
        legend = [html.Span(t(f"indicator.{indicator}", lang) + " · 12 " + ("tháng" if lang == "vi" else "months"),
                            className="gd-wall-legend-title")] + [
            html.Span([html.Span(className="gd-swatch-box", style={"background": c}), lbl], className="gd-wall-legend-item")
            for c, lbl in zip(classes.colors, labels)]
        return hideout, side, t(title, lang), asof, legend
