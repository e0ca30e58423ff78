"""The frame around every page: header with navigation and language, the demo-data banner."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_mantine_components as dmc
import flask
from dash import Input, Output, dcc, html

from geo_dash.cases.read import synthetic_present
from geo_dash.security.context import current_user
from geo_dash.web.i18n import t

NAV = (("/", "nav.map"), ("/alerts", "nav.alerts"), ("/cases", "nav.cases"), ("/reports", "nav.reports"),
       ("/admin", "nav.admin"))


def lang_of(search: str | None) -> str:
    q = parse_qs((search or "").lstrip("?"))
    return "en" if q.get("lang", ["vi"])[0] == "en" else "vi"


def layout(page_container) -> html.Div:
    return html.Div(className="gd-shell", children=[
        dcc.Location(id="shell-url", refresh=False),
        html.Header(id="shell-header", className="gd-header"),
        html.Div(id="shell-banner"),
        html.Div(id="shell-error", role="alert"),
        html.Div(page_container, className="gd-page"),
    ])


def _user_box(lang: str) -> list:
    user = current_user.get()
    if user is None:
        return []
    if user.via_token:
        return [html.Span(user.display_name or user.username, className="gd-user")]
    csrf = flask.session.get("csrf", "")
    return [
        html.Span(f"{user.display_name or user.username} · {t('role.' + user.role, lang)}", className="gd-user",
                  id="shell-user"),
        html.Form(action="/logout", method="post", className="gd-logout", children=[
            dcc.Input(type="hidden", name="csrf_token", value=csrf),
            html.Button(t("nav.logout", lang), type="submit", id="logout-button"),
        ]),
    ]


def header(pathname: str, search: str) -> list:
    lang = lang_of(search)
    user = current_user.get()
    query = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}
    other = {**query, "lang": "en" if lang == "vi" else "vi"}
    nav = [
        dcc.Link(t(key, lang), href=f"{path}?{urlencode({'lang': lang})}",
                 className="gd-nav-link" + (" gd-nav-active" if pathname == path else ""))
        for path, key in NAV
        if key != "nav.admin" or (user is not None and user.is_admin)
    ]
    return [
        html.H1(t("app.title", lang)),
        html.Nav(nav, className="gd-nav", **{"aria-label": "main"}),
        html.A(t("lang.switch", lang), href=f"{pathname}?{urlencode(other)}", className="gd-lang", id="lang-link"),
        *_user_box(lang),
    ]


def register_callbacks(app, engine) -> None:
    @app.callback(
        Output("shell-header", "children"),
        Output("shell-banner", "children"),
        Input("shell-url", "pathname"),
        Input("shell-url", "search"),
    )
    def frame(pathname, search):
        lang = lang_of(search)
        banner = None
        try:
            if synthetic_present(engine):
                banner = dmc.Alert(t("demo.banner", lang), color="orange", variant="filled", radius=0,
                                   className="gd-demo-banner", id="demo-banner")
        except Exception:  # the page itself reports a missing database
            banner = None
        if (pathname or "").startswith("/wall"):
            return [], banner  # the wall is full screen: no navigation
        return header(pathname or "/", search or ""), banner
