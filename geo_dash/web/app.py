"""The Dash application: one app object, pages grouped by purpose.

Everything the browser loads is served from this server (Dash's own bundles,
dash-leaflet, dash-mantine-components and ``assets/``): the app works on a
closed network.  No tile layer is used unless ``GEO_DASH_TILE_URL`` is set.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dash
import dash_mantine_components as dmc
from dash import html
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from geo_dash.config import Settings
from geo_dash.db import get_app_engine
from geo_dash.layers import registry
from geo_dash.web.i18n import t
from geo_dash.web import auth, shell, walls
from geo_dash.web.pages import admin_page, alerts_page, cases_page, map_page, reports_page, wall_page

ASSETS = Path(__file__).parent / "assets"


log = logging.getLogger(__name__)


def _callback_failed(err: Exception) -> None:
    """Any callback that still fails: log it, tell the user plainly, change nothing else."""
    log.exception("callback failed", exc_info=err)
    dash.set_props("shell-error", {"children": dmc.Alert(t("error.internal", "vi") + " / " + t("error.internal", "en"),
                                                          color="red", withCloseButton=True)})


def create_app(database_url: str | None = None, settings: Settings | None = None) -> dash.Dash:
    settings = settings or Settings.from_env()
    registry.validate_directory()  # a broken layers/*.yaml stops start-up, naming the file and the field
    walls.validate_directory(settings.walls_dir)  # likewise a broken walls/*.yaml (wall playlists)
    engine = get_app_engine(database_url)  # non-owner role, request scope set on every transaction
    app = dash.Dash(
        __name__,
        title="geo_dash — Bản đồ điểm nóng",
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,
        suppress_callback_exceptions=True,
        use_pages=True,
        pages_folder="",
        on_error=_callback_failed,
    )

    def page(module, path: str, name: str) -> None:
        """Register a page; its layout gets the URL's query parameters (the view state)."""

        def layout(**query):
            state = module.parse_state(query)
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return module.layout(engine, settings, state)
            except OperationalError:
                return html.Div(t("error.db", state.get("lang", "vi")), className="gd-error", role="alert")

        dash.register_page(f"geo_dash.{name}", path=path, name=name, layout=layout)
        module.register_callbacks(app, engine)

    app.server.config["GEO_DASH_SNAPSHOT_DIR"] = os.environ.get("GEO_DASH_SNAPSHOT_DIR") or str(
        Path(settings.home) / "snapshots")
    app.server.config["GEO_DASH_WALLS_DIR"] = str(settings.walls_dir)
    app.server.config["GEO_DASH_IMPORT_DIR"] = os.environ.get("GEO_DASH_IMPORT_DIR") or str(
        Path(settings.home) / "imports")  # case files uploaded in the app: their rejects files
    page(map_page, "/", "map")
    page(cases_page, "/cases", "cases")
    page(alerts_page, "/alerts", "alerts")
    page(reports_page, "/reports", "reports")
    page(admin_page, "/admin", "admin")
    page(wall_page, "/wall", "wall")
    app.layout = dmc.MantineProvider(shell.layout(dash.page_container))
    shell.register_callbacks(app, engine)
    auth.install(app, engine, settings)

    @app.server.route("/healthz")
    def healthz():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return {"status": "ok"}
        except OperationalError:
            return {"status": "database unavailable"}, 503

    return app
