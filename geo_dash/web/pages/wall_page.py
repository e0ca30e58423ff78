"""The map wall (``/wall``): a briefing-room kiosk — dark, large, no controls needed.

Opened with a read-only wall link (``/wall?token=…``) bound to its scope, or by any logged-in user.
It plays a playlist (``walls/*.yaml``, see ``walls/README.md`` and :mod:`geo_dash.web.walls`):
``playlist=NAME`` (default: ``walls/default.yaml``).  URL parameters override the playlist:
``views`` (comma list of overview, hotspots, mass, overdue, land, ``layer:<layer id>``), ``rotate``
(seconds per view, every view), ``refresh`` (seconds between data refreshes), ``province``,
``scheme``, ``lang``.  A province outside the viewer's area is never shown (the first province of
the area is).

The geometry is drawn once; rotation and refresh change colours, the side panel and (for a layer of
points/polygons) that layer's features only.  Each view stays for its own number of seconds: the
callback that shows a view sets the rotation timer to that view's duration.
"""

from __future__ import annotations

import math
from datetime import date
from urllib.parse import parse_qs

import dash_leaflet as dl
import flask
import shapely
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update

from geo_dash.analytics import read as analytics
from geo_dash.analytics.cube import INDICATORS as CUBE_INDICATORS
from geo_dash.analytics.refresh import HOT_CATEGORIES
from geo_dash.boundaries import read
from geo_dash.cases.read import synthetic_present
from geo_dash.config import Settings
from geo_dash.layers import data as layer_data
from geo_dash.layers import registry
from geo_dash.layers.classify import classify_numeric, fmt_number
from geo_dash.security.context import active_scope, current_user
from geo_dash.web import validate as valid
from geo_dash.web import walls
from geo_dash.web.i18n import t

EMPTY = {"type": "FeatureCollection", "features": []}
STATE_KEYS = ("playlist", "views", "rotate", "refresh", "province", "scheme", "lang")
NO_DATA = "#3b4a5a"       # the wall's "no data" fill (wall.js uses the same)
OUTSIDE = "#0d1b2a"       # communes outside the viewer's area: the background


def parse_state(query) -> dict:
    """The wall's URL parameters, as plain bounded strings (checked again by walls.resolve)."""
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    q = {k: str(v)[:500] for k, v in query.items() if k in STATE_KEYS}
    return {
        "playlist": q.get("playlist", "")[:64] or None,
        "views": q.get("views") or None,
        "rotate": q.get("rotate") or None,
        "refresh": q.get("refresh") or None,
        "province": valid.province(q.get("province")),
        "scheme": q.get("scheme") if q.get("scheme") in valid.SCHEMES else None,
        "lang": valid.lang(q.get("lang")),
    }


def _layer_ids() -> set[str]:
    user = current_user.get()
    return {layer.id for layer in registry.list_layers(user.role if user else None)}


def _walls_dir():
    try:
        return flask.current_app.config.get("GEO_DASH_WALLS_DIR")
    except RuntimeError:  # outside a request (unit use): the environment's folder
        return None


def _plan(state: dict, directory=None) -> tuple[dict | None, str | None]:
    """(plan, None) or (None, message for the wall)."""
    lang = state.get("lang", "vi")
    try:
        playlists = walls.load_playlists(directory if directory is not None else _walls_dir())
    except walls.WallConfigError as exc:
        return None, t("wall.playlist.broken", lang, error=str(exc))
    plan = walls.resolve({k: v for k, v in state.items() if v is not None}, playlists, _layer_ids())
    if plan["error"]:
        return None, t("wall.playlist.unknown", lang, name=plan["playlist"], known=", ".join(plan["known"]) or "—")
    return plan, None


def _label_points(geo: dict) -> dict[str, list[float]]:
    """Where a commune's number goes on the map: its representative point (sent once, with the page)."""
    points = {}
    for f in geo["communes"]["features"]:
        try:
            pt = shapely.geometry.shape(f["geometry"]).representative_point()
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException):
            continue
        points[f["properties"]["code"]] = [round(pt.y, 5), round(pt.x, 5)]
    return points


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    plan, problem = _plan(state, settings.walls_dir)
    if problem:
        return html.Div(className="gd-wall", children=[html.Div(problem, id="wall-error", className="gd-wall-error",
                                                               role="alert")])
    scheme = plan["scheme"]
    provinces = read.list_provinces(engine, scheme, active_scope())
    codes = [p["code"] for p in provinces]
    province = plan["province"] if plan["province"] in codes else (codes[0] if codes else None)
    if province is None:
        return html.Div(t("wall.no_area", lang), className="gd-wall")
    name = next(p["name"] for p in provinces if p["code"] == province)
    geo = read.province_geojson(engine, scheme, province, active_scope())
    base = [dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution)] if settings.tile_url else []
    title = plan["title"]["en" if lang == "en" else "vi"]
    return html.Div(className="gd-wall", children=[
        dcc.Store(id="wall-state", data={**state, "province": province, "scheme": scheme}),
        dcc.Store(id="wall-geo", data={"points": _label_points(geo), "bounds": geo["bounds"], "outside": any(
            f["properties"].get("in_scope") is False for f in geo["communes"]["features"]),
            "kpi_unit": _kpi_unit(geo, province)}),
        dcc.Interval(id="wall-rotate", interval=plan["views"][0]["seconds"] * 1000),
        dcc.Interval(id="wall-refresh", interval=plan["refresh"] * 1000),
        dcc.Interval(id="wall-tick", interval=1000),
        html.Header(className="gd-wall-head", children=[
            html.Div(className="gd-wall-titles", children=[
                html.Div(className="gd-wall-title-row", children=[
                    html.H1(name),
                    html.Div(t("wall.demo", lang), className="gd-wall-demo", id="wall-demo")
                    if synthetic_present(engine) else None]),
                html.Div(id="wall-view-title", className="gd-wall-view")]),
            html.Div([html.Div(id="wall-clock", className="gd-wall-clock"),
                      html.Div(id="wall-asof", className="gd-wall-asof"),
                      html.Div([html.Span(title, id="wall-playlist", className="gd-wall-playlist"),
                                html.Span(id="wall-step", className="gd-wall-step")])], className="gd-wall-time"),
        ]),
        html.Div(id="wall-behind", className="gd-wall-behind", role="status"),
        html.Div(className="gd-wall-body", children=[
            dl.Map(className="gd-wall-map", bounds=geo["bounds"], boundsOptions={"padding": [12, 12]}, zoomSnap=0.1,
                   trackViewport=False, zoomControl=False, attributionControl=False, zoomAnimation=False,
                   dragging=False, scrollWheelZoom=False, doubleClickZoom=False, boxZoom=False, keyboard=False,
                   touchZoom=False,
                   children=base + [
                       dl.GeoJSON(id="wall-communes", data=geo["communes"], style={"variable": "geoDash.wallCommune"},
                                  hideout={}, interactive=False),
                       dl.GeoJSON(data=geo["districts"] or EMPTY, style={"variable": "geoDash.wallDistrict"},
                                  interactive=False),
                       dl.GeoJSON(id="wall-features", data=EMPTY, interactive=False,
                                  pointToLayer={"variable": "geoDash.wallFeaturePoint"},
                                  style={"variable": "geoDash.wallFeatureStyle"}),
                       dl.LayerGroup(id="wall-numbers"),
                   ]),
            html.Aside(id="wall-side", className="gd-wall-side"),
        ]),
        html.Div(id="wall-legend", className="gd-wall-legend"),
    ])


# ---------------------------------------------------------------------- the side panel of cube views
def _kpi_unit(geo: dict, province: str) -> dict:
    """Whose KPIs the tiles show: the province, or the one district a wall's area is (else the province's,
    which a smaller area does not see: the tiles then show "—")."""
    communes = [f["properties"] for f in geo["communes"]["features"]]
    inside = [c for c in communes if c.get("in_scope") is not False]
    parents = {(c.get("parent"), c.get("parent_name")) for c in inside}
    if len(inside) < len(communes) and len(parents) == 1 and geo.get("districts"):
        code, name = parents.pop()
        if code and name:
            return {"level": "district", "code": code, "name": name}
    return {"level": "province", "code": province, "name": None}


def _tiles(engine, scheme, province, lang, unit=None) -> html.Div:
    unit = unit if isinstance(unit, dict) and unit.get("level") == "district" and valid.code(unit.get("code"), (3,)) \
        else {"level": "province", "code": province}
    kpi = analytics.kpis(engine, active_scope(), scheme, unit["level"], unit["code"], "12m") or {}

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


def _hotspots(engine, scheme, province, lang, n=6) -> tuple[html.Div, list[str]]:
    """The list of hot spots to watch, and their communes' codes in the list's order."""
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
    return (html.Div([html.H2(t("wall.top_hotspots", lang)),
                      html.Ol(items or [html.Li(t("wall.no_hotspots", lang))], className="gd-wall-hs")]),
            [str(c) for c in top["commune_code"]] if len(top) else [])


def _latlon(v) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         and math.isfinite(x) for x in v))


def place_labels(anchors: list[list[float]], bounds) -> list[list[float]]:
    """Where each number goes: on its commune, or pushed aside (with a leader line) when it would
    cover an earlier one.  Sizes are in vh: the map box is 76vh high and ~98vh wide (wall.css), the
    province fitted in it; a number is 4.6vh across (on a 16:9 screen; less on a
    narrower one, where the map box is narrower too — wall.css's --gd-wall-u)."""
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(_latlon(b) for b in bounds)):
        return [list(a) for a in anchors]
    (south, west), (north, east) = bounds
    coslat = max(math.cos(math.radians((south + north) / 2)), 0.1)
    lon_span, lat_span = max(east - west, 1e-6), max(north - south, 1e-6) / coslat
    per_deg = min(98 / lon_span, 76 / lat_span)          # vh per degree of longitude
    step = 5.4 / per_deg                                 # a number's width, with a gap, in degrees
    placed: list[list[float]] = []

    def free(lat, lon) -> bool:
        return all(((lon - q[1]) ** 2 + ((lat - q[0]) / coslat) ** 2) ** 0.5 >= step for q in placed)

    for lat, lon in anchors:
        spot = [lat, lon]
        if not free(lat, lon):
            for ring in (1, 1.6, 2.2, 3):
                found = next(([lat + ring * step * coslat * math.sin(a), lon + ring * step * math.cos(a)]
                              for a in (math.radians(d) for d in (0, 180, 45, 135, 315, 225, 90, 270))
                              if free(lat + ring * step * coslat * math.sin(a), lon + ring * step * math.cos(a))),
                             None)
                if found:
                    spot = found
                    break
        placed.append(spot)
    return placed


def _numbers(codes: list[str], where) -> list:
    """The list's numbers on the map, at each commune (leader lines where they had to move aside)."""
    where = where if isinstance(where, dict) else {}
    points = where.get("points") if isinstance(where.get("points"), dict) else {}
    listed = [(i, points[c]) for i, c in enumerate(codes, start=1) if _latlon(points.get(c))]
    spots = place_labels([p for _, p in listed], where.get("bounds"))
    out = []
    for (i, anchor), spot in zip(listed, spots):
        if spot != anchor:
            out.append(dl.Polyline(positions=[anchor, spot], color="#ffd166", weight=3, interactive=False))
            out.append(dl.CircleMarker(center=anchor, radius=4, color="#ffd166", fillColor="#ffd166",
                                       fillOpacity=1, interactive=False))
        out.append(dl.CircleMarker(center=spot, radius=1, opacity=0, fillOpacity=0, interactive=False, children=[
            dl.Tooltip(str(i), permanent=True, direction="center", className="gd-wall-num")]))
    return out


def _mm(d: date) -> str:
    return f"{d.month:02d}/{d.year}"


def _swatch(color: str, line: bool = False, round_: bool = False) -> html.Span:
    return html.Span(className="gd-wall-swatch" + (" gd-wall-swatch-hot" if line else "")
                     + (" gd-wall-swatch-round" if round_ else ""), style={} if line else {"background": color})


def _cube_view(engine, scheme, province, view: dict, lang: str, points):
    """An indicator of the analytics cube over 12 months (stocks: at the last month)."""
    default, title_key, outlines = walls.CUBE_VIEWS[view["view"]]
    indicator = view.get("indicator") or default
    if view.get("title"):
        title = view["title"]["en" if lang == "en" else "vi"]
    elif indicator != default:
        short = t("wall.view.overview.short", lang) if view["view"] == "overview" else t(title_key, lang)
        title = t("wall.view.indicator", lang, view=short, indicator=t(f"indicator.{indicator}", lang))
    else:
        title = t(title_key, lang)
    hotspots, codes = _hotspots(engine, scheme, province, lang)
    unit = points.get("kpi_unit") if isinstance(points, dict) else None
    whose = unit.get("name") if isinstance(unit, dict) and isinstance(unit.get("name"), str) else None
    caption = t("wall.kpi.period", lang) + (f" · {whose[:80]}" if whose else "")
    side = [html.Div(caption, className="gd-wall-kpi-period"),
            _tiles(engine, scheme, province, lang, unit), hotspots]
    numbers = _numbers(codes, points)
    months = analytics.available_months(engine, scheme, province)
    wanted = view.get("month")
    if wanted:
        months = [m for m in months if m.isoformat()[:7] <= wanted]
    if not months:
        return ({}, EMPTY, numbers, side, title,
                [html.Span(t("map.no_analytics", lang), className="gd-wall-legend-title")])
    last = months[-1]
    first = months[-12] if len(months) >= 12 else months[0]
    values = analytics.cube_values(engine, active_scope(), scheme=scheme, province_code=province,
                                   months=(first, last), indicator=indicator)
    classes = classify_numeric(values["value"], "quantiles", k=5, palette="YlOrRd")
    colors = {c: col for c, col, k in zip(values["commune_code"], classes.color_of(), classes.class_of) if k >= 0}
    hot = {}
    if outlines:
        ehsa = analytics.ehsa_categories(engine, active_scope(), scheme, province)
        hot = {c: True for c, cat in zip(ehsa["commune_code"], ehsa["category"]) if cat in HOT_CATEGORIES}
    stock = bool(CUBE_INDICATORS.get(indicator))
    period = t("wall.period.stock", lang, month=_mm(last)) if stock else f"{_mm(first)} – {_mm(last)}"
    labels = classes.labels_vi if lang == "vi" else classes.labels_en
    no_data = int((classes.class_of < 0).sum()) if len(values) else 0
    head = [html.Span([t(f"indicator.{indicator}", lang), html.Span(" · " + period, className="gd-wall-period")],
                      className="gd-wall-legend-title")]
    if outlines:
        head.append(html.Span([_swatch("", line=True), t("wall.legend.hotspot", lang)],
                              className="gd-wall-legend-item", id="wall-legend-hot"))
    items = [html.Span([_swatch(c), lbl], className="gd-wall-legend-item") for c, lbl in zip(classes.colors, labels)]
    if no_data:
        items.append(html.Span([_swatch(NO_DATA), f"{t('map.no_data', lang)} ({no_data})"],
                               className="gd-wall-legend-item"))
    if isinstance(points, dict) and points.get("outside") is True:
        items.append(html.Span([_swatch(OUTSIDE), t("wall.legend.outside", lang)], className="gd-wall-legend-item"))
    legend = [html.Div(head, className="gd-wall-legend-row"), html.Div(items, className="gd-wall-legend-row")]
    hideout = {"colors": colors, "hot": hot}
    return hideout, EMPTY, numbers, side, title, legend


# ---------------------------------------------------------------------- layer views
def _as_points(collection: dict) -> dict:
    """Every feature as one point (a polygon's representative point): a project or zone of a few
    hectares is a speck at a province's scale, a marker is seen from across the room."""
    features = []
    for f in collection["features"]:
        try:
            point = shapely.geometry.shape(f["geometry"]).representative_point()
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException):
            continue
        features.append({**f, "geometry": {"type": "Point", "coordinates": [round(point.x, 5), round(point.y, 5)]}})
    return {"type": "FeatureCollection", "features": features}


def _period_text(period: dict | None) -> str:
    if not period or not period.get("end"):
        return ""
    start, end = date.fromisoformat(period["start"][:10]), date.fromisoformat(period["end"][:10])
    return _mm(end) if (start.year, start.month) == (end.year, end.month) else f"{_mm(start)} – {_mm(end)}"


def _layer_view(engine, scheme, province, view: dict, lang: str, where):
    """A registry layer (layers/*.yaml) with its own classes, and a big legend in the side panel."""
    layer = registry.get_layer(view["layer"])
    values = layer_data.layer_values(engine, layer, scheme, province, period=view.get("month"), lang=lang)
    legend = layer_data.layer_legend(layer, values, lang)
    if view.get("title"):
        title = view["title"]["en" if lang == "en" else "vi"]
    elif layer.group == "context":
        title = t("wall.view.context", lang, title=legend["title"])
    else:
        title = legend["title"]
    if layer.geometry == "features":
        features = _as_points(layer_data.layer_features(engine, layer, scheme, province, lang))
        hideout = {"colors": {}, "dim": True}
        count_key = "wall.count.features"
    else:
        features = EMPTY
        hideout = {"colors": {c: col for c, col, k in zip(values["code"], values["color"], values["class_index"])
                              if k >= 0},
                   "level": layer.geometry}
        count_key = f"wall.count.{layer.geometry}"
    point = layer.geometry == "features"  # drawn as round markers
    rows = [html.Li([_swatch(c["color"], round_=point), html.Span(c["label"], className="gd-wall-big-label"),
                     html.Span(t(count_key, lang, n=fmt_number(c["count"], lang, 0)), className="gd-wall-big-count")])
            for c in legend["classes"]]
    if layer.geometry != "features" and legend["no_data_count"]:
        rows.append(html.Li([_swatch(NO_DATA), html.Span(legend["no_data_label"], className="gd-wall-big-label"),
                             html.Span(t(count_key, lang, n=fmt_number(legend["no_data_count"], lang, 0)),
                                       className="gd-wall-big-count")]))
    if isinstance(where, dict) and where.get("outside") is True:
        rows.append(html.Li([_swatch(OUTSIDE),
                             html.Span(t("wall.legend.outside", lang), className="gd-wall-big-label")]))
    heading = layer.primary.title.get(lang)  # the header names the layer; this, what the colours are
    unit = legend.get("unit") if legend.get("unit") and legend["unit"].lower() not in heading.lower() else None
    sub = " · ".join(s for s in (unit, _period_text(legend.get("period"))) if s)
    side = [html.Div(className="gd-wall-big", id="wall-big-legend", children=[
        html.H2(heading),
        html.Div(sub, className="gd-wall-big-sub") if sub else None,
        html.Ul(rows, className="gd-wall-big-classes"),
        html.P(legend["note"], className="gd-wall-big-note") if legend.get("note") else None,
        html.Div(legend["demo_warning"], className="gd-wall-big-demo") if legend.get("demo_warning") else None,
    ])]
    prov = legend["provenance"]
    source = " · ".join(str(s) for s in (prov.get("source"), prov.get("date"), prov.get("licence")) if s)
    bottom = [html.Span(f"{t('map.provenance', lang)}: {source or '—'}", className="gd-wall-legend-source")]
    return hideout, features, [], side, title, bottom


def _as_of(engine, scheme: str, lang: str) -> tuple[str, str]:
    """"Data as of" the latest analysis, and, when cases were imported or edited after it, the line
    saying the map does not show them yet ("" otherwise): a room must not take a stale map for today's."""
    run = analytics.latest_run(engine, scheme)
    as_of = t("map.as_of", lang, date=run["as_of"].strftime("%d/%m/%Y") if run else "—")
    when = analytics.behind_since(engine, run)
    return as_of, t("wall.behind_cases", lang, time=when) if when else ""


# ---------------------------------------------------------------------- callbacks
def register_callbacks(app, engine) -> None:
    app.clientside_callback(ClientsideFunction("geoDashWall", "clock"), Output("wall-clock", "children"),
                            Input("wall-tick", "n_intervals"))

    @app.callback(
        Output("wall-communes", "hideout"), Output("wall-features", "data"), Output("wall-numbers", "children"),
        Output("wall-side", "children"),
        Output("wall-view-title", "children"), Output("wall-asof", "children"), Output("wall-legend", "children"),
        Output("wall-rotate", "interval"), Output("wall-step", "children"), Output("wall-behind", "children"),
        Input("wall-rotate", "n_intervals"), Input("wall-refresh", "n_intervals"), State("wall-state", "data"),
        State("wall-geo", "data"),
    )
    def show_view(n_rotate, _n_refresh, state, points):
        """The view for this step of the rotation (a refresh redraws the same view with fresh data)."""
        if not isinstance(state, dict):
            return (no_update,) * 10
        state = parse_state({k: v for k, v in state.items() if isinstance(v, (str, int)) and not isinstance(v, bool)})
        lang = state["lang"]
        plan, problem = _plan(state)
        if problem:
            return ({}, EMPTY, [], html.Div(problem, className="gd-wall-error", role="alert"), "", "", None,
                    no_update, "", "")
        scheme, province = plan["scheme"], valid.province(plan["province"])
        if province not in {p["code"] for p in read.list_provinces(engine, scheme, active_scope())}:
            return (no_update,) * 10
        views = plan["views"]
        index = (n_rotate if isinstance(n_rotate, int) and n_rotate >= 0 else 0) % len(views)
        view = views[index]
        if view["view"] == "layer":
            hideout, features, numbers, side, title, legend = _layer_view(engine, scheme, province, view, lang, points)
        else:
            hideout, features, numbers, side, title, legend = _cube_view(engine, scheme, province, view, lang, points)
        # the data-as-of lines change with a refresh (or a new page), not with the rotation
        asof, behind = (no_update, no_update) if ctx.triggered_id == "wall-rotate" else _as_of(engine, scheme, lang)
        step = f" · {index + 1}/{len(views)}"
        return hideout, features, numbers, side, title, asof, legend, view["seconds"] * 1000, step, behind
