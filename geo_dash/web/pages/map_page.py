"""The map page (``/``): pick a scheme and a province, see its communes (and districts)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_leaflet as dl
import dash_mantine_components as dmc
from dash import Input, Output, State, dcc, html, no_update

from geo_dash.boundaries import read
from geo_dash.config import Settings
from geo_dash.security.context import active_scope
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t

DEFAULT_PROVINCE = {"legacy": "45", "2025": "44"}  # Quảng Trị
VIETNAM_BOUNDS = [[8.2, 102.1], [23.4, 109.5]]


def parse_state(query: dict | str | None) -> dict:
    """The view state from the URL's query (a dict of parameters or a query string)."""
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    q = {k: str(v) for k, v in query.items()}
    scheme = valid.scheme(q.get("scheme"))
    province = valid.province(q.get("province")) or DEFAULT_PROVINCE[scheme]
    lang = valid.lang(q.get("lang"))
    return {"scheme": scheme, "province": province, "lang": lang}


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    provinces = read.list_provinces(engine, state["scheme"], active_scope())
    codes = [p["code"] for p in provinces]
    if state["province"] not in codes:  # open on the user's own area
        state = {**state, "province": codes[0] if codes else None}
    base = []
    if settings.tile_url:
        base = [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution)]
    return html.Div(className="gd-page-map", children=[
        dcc.Location(id="map-url", refresh=False),
        dcc.Store(id="lang", data=lang),
        html.Div(className="gd-controls", children=[
            dmc.SegmentedControl(
                id="scheme", value=state["scheme"], size="md",
                data=[{"value": "legacy", "label": t("scheme.legacy", lang)},
                      {"value": "2025", "label": t("scheme.2025", lang)}],
                **{"aria-label": t("map.scheme", lang)},
            ),
            dmc.Select(
                id="province", label=t("map.province", lang), value=state["province"], searchable=True,
                data=[{"value": p["code"], "label": p["name"]} for p in provinces], w=320, size="md",
                allowDeselect=False, filter={"function": "foldFilter"},
                nothingFoundMessage=t("map.nothing_found", lang),
            ),
            html.Div(id="counts", className="gd-counts"),
        ]),
        html.Main(className="gd-main", children=[
            dl.Map(id="map", className="gd-map", center=[16.0, 106.0], zoom=6, zoomSnap=0.25, zoomAnimation=False,
                   children=base + [
                       dl.GeoJSON(id="communes", style={"variable": "geoDash.communeStyle"}, hideout={"selected": None},
                                  ),
                       dl.GeoJSON(id="districts", style={"variable": "geoDash.districtStyle"}, interactive=False),
                   ]),
            html.Div(className="gd-legend", children=[
                html.Div([html.Span(className="gd-swatch", style={"borderTop": "1px solid #4d5b6b"}),
                          t("map.legend.communes", lang)]),
                html.Div(id="legend-districts", children=[
                    html.Span(className="gd-swatch", style={"borderTop": "3px solid #1b2a3a"}),
                    t("map.legend.districts", lang)]),
                html.Div(t("map.hover", lang), style={"marginTop": "4px", "color": "#555"}),
                html.Div(t("map.nobase", lang) if not settings.tile_url else "", style={"color": "#555"}),
            ]),
        ]),
        html.Footer(t("map.source", lang), className="gd-footer"),
    ])


def register_callbacks(app, engine) -> None:
    @app.callback(
        Output("province", "data"),
        Output("province", "value"),
        Input("scheme", "value"),
        State("province", "value"),
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
        Output("communes", "data"),
        Output("districts", "data"),
        Output("map", "viewport"),
        Output("counts", "children"),
        Output("legend-districts", "style"),
        Output("map-url", "search"),
        Input("province", "value"),
        State("scheme", "value"),
        State("lang", "data"),
    )
    def show_province(province, scheme, lang):
        province, scheme, lang = valid.province(province), valid.scheme(scheme), valid.lang(lang)
        if not province:
            return no_update, no_update, no_update, no_update, no_update, no_update
        if province not in {p["code"] for p in read.list_provinces(engine, scheme, active_scope())}:
            return no_update, no_update, no_update, no_update, no_update, no_update
        geo = read.province_geojson(engine, scheme, province, active_scope())
        n_communes = len(geo["communes"]["features"])
        if scheme == "legacy":
            counts = t("map.counts.legacy", lang, districts=len(geo["districts"]["features"]), communes=n_communes)
        else:
            counts = t("map.counts.2025", lang, communes=n_communes)
        empty = {"type": "FeatureCollection", "features": []}
        viewport = {"bounds": geo["bounds"]} if geo["bounds"] else no_update
        search = "?" + urlencode({"scheme": scheme, "province": province, "lang": lang})
        return (geo["communes"], geo["districts"] or empty, viewport, counts,
                {"display": "block" if scheme == "legacy" else "none"}, search)
