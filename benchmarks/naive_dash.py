"""The naive baseline as users meet it: a Dash page whose callback regenerates a folium map from
geopandas on every filter change and embeds it (``html.Iframe(srcDoc=…)``) — the approach most
Dash + folium apps take.  Measured in Chromium exactly as geo_dash's map page is: from the click on
another indicator in the same Mantine select until the new map is drawn (run_all.measure_naive).

Leaflet comes from the repository's vendored copy (``/naive-static/``, cached by the browser, as a
closed-network deployment would serve it); folium's other CDN tags (jQuery, Bootstrap, icon fonts)
are dropped — a choropleth does not need them, and nothing may load from the internet.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import dash_mantine_components as dmc
from dash import Dash, Input, Output, html
from flask import send_from_directory
from werkzeug.serving import make_server

LEAFLET = Path(__file__).resolve().parent.parent / "geo_dash" / "exports" / "vendor" / "leaflet"
_LEAFLET_JS = re.compile(r'<script src="https://[^"]*leaflet@[^"]*/leaflet\.js"></script>')
_LEAFLET_CSS = re.compile(r'<link rel="stylesheet" href="https://[^"]*leaflet@[^"]*/leaflet\.css"/>')
_OTHER_JS = re.compile(r'<script src="https?://[^"]*"></script>')
_OTHER_CSS = re.compile(r'<link rel="stylesheet" href="https?://[^"]*"/>')


def localize(page: str) -> str:
    """folium's HTML with Leaflet from this server and no other outside URL."""
    page = _LEAFLET_JS.sub('<script src="/naive-static/leaflet.js"></script>', page)
    page = _LEAFLET_CSS.sub('<link rel="stylesheet" href="/naive-static/leaflet.css"/>', page)
    return _OTHER_CSS.sub("", _OTHER_JS.sub("", page))


def make_app(render, indicators: list[tuple[str, str]], first: str) -> Dash:
    """``render(indicator) -> folium HTML``; ``indicators``: (value, label) as on geo_dash's map page."""
    app = Dash(__name__, serve_locally=True, assets_folder=str(Path(__file__).parent / "_no_assets"))
    app.layout = dmc.MantineProvider(html.Div([
        dmc.Select(id="indicator", label="Chỉ tiêu", value=first, size="md", w=270, allowDeselect=False,
                   data=[{"value": v, "label": lbl} for v, lbl in indicators]),
        html.Iframe(id="folium", style={"width": "100%", "height": "780px", "border": 0}),
    ]))

    @app.callback(Output("folium", "srcDoc"), Input("indicator", "value"))
    def regenerate(indicator):
        return localize(render(indicator))

    @app.server.route("/naive-static/<path:name>")
    def leaflet(name):
        return send_from_directory(LEAFLET, name, max_age=3600)

    return app


class Served:
    """The app on a free loopback port in a thread (werkzeug, threaded), for a ``with`` block."""

    def __init__(self, app: Dash):
        self.server = make_server("127.0.0.1", 0, app.server, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return self.base

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
