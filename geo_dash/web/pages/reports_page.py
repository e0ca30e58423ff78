"""The reports page (``/reports``): monthly snapshots by month and scope, their files, and a button
to make one.

* A user sees only the snapshots whose scope lies within their own (``gd_scope_contains``, also
  enforced by row-level security on ``snapshot``).
* Files are served by ``/reports/file/<id>/<kind>`` (registered here on the Flask server): it
  checks the request's user and scope, re-checks the file's SHA-256 against the snapshot, audits
  the download and sends the file as an attachment.
* Leaders and admins snapshot a province they cover (optionally one per district as well);
  officers snapshot their own scope within a province.  Wall displays never reach this page.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs

import dash_mantine_components as dmc
import flask
from dash import Input, Output, State, dcc, html, no_update

from geo_dash.analytics import read as analytics
from geo_dash.boundaries import read as boundaries
from geo_dash.config import Settings
from geo_dash.exports.snapshot import (FILE_KINDS, SnapshotError, covers_province, create_for_province_and_districts,
                                       create_snapshot, list_snapshots, snapshot_file)
from geo_dash.security.audit import audit
from geo_dash.security.context import current_user
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t

MIMETYPES = {"pdf": "application/pdf", "html": "text/html", "gpkg": "application/geopackage+sqlite3",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "manifest": "application/json"}
CREATOR_ROLES = ("admin", "leader", "officer")
_TH = {"textAlign": "left", "padding": "4px 8px", "borderBottom": "2px solid #7f0000", "verticalAlign": "bottom"}
_TD = {"padding": "4px 8px", "borderBottom": "1px solid #ddd", "verticalAlign": "top"}
_DEMO = {"color": "#e8590c", "fontWeight": "bold"}

# Page strings (Vietnamese first); shared ones come from geo_dash.web.i18n.
MESSAGES = {
    "title": {"vi": "Báo cáo — bản chụp số liệu hằng tháng", "en": "Reports — monthly snapshots"},
    "intro": {"vi": "Mỗi bản chụp đóng băng số liệu, điểm nóng, cảnh báo và chỉ tiêu của một tháng cho một địa bàn; "
                    "không thay đổi sau khi lập. Lập lại cùng tháng tạo phiên bản mới và ghi rõ điểm khác.",
              "en": "Each snapshot freezes a month's figures, hot spots, alerts and KPIs for an area; it never "
                    "changes. Making the same month again adds a version and records what differs."},
    "create": {"vi": "Lập bản chụp", "en": "Make a snapshot"},
    "per_district": {"vi": "Kèm một bản cho mỗi huyện", "en": "Also one per district"},
    "month_fixed": {"vi": "Tháng {month} (số liệu phân tích đến {date})", "en": "Month {month} (analytics as of {date})"},
    "no_run": {"vi": "Chưa có số liệu phân tích để lập bản chụp.", "en": "No analytics to snapshot yet."},
    "behind": {"vi": "Có vụ việc nhập hoặc sửa sau lần phân tích lúc {time}: bản chụp sẽ không gồm các vụ việc đó. "
                     "Nên chạy “geo-dash analytics refresh” trước khi lập bản chụp.",
               "en": "Cases were imported or edited after the analysis of {time}: a snapshot will not include them. "
                     "Run “geo-dash analytics refresh” before making one."},
    "made": {"vi": "Đã lập {n} bản chụp.", "en": "{n} snapshot(s) made."},
    "working": {"vi": "Đang lập bản chụp…", "en": "Making the snapshot…"},
    "cannot": {"vi": "Tài khoản của bạn không được lập bản chụp.", "en": "Your account may not make snapshots."},
    "none": {"vi": "Chưa có bản chụp nào trong địa bàn của bạn.", "en": "No snapshots in your area yet."},
    "col.month": {"vi": "Tháng", "en": "Month"},
    "col.scope": {"vi": "Địa bàn", "en": "Area"},
    "col.scheme": {"vi": "Địa giới", "en": "Units"},
    "col.version": {"vi": "Phiên bản", "en": "Version"},
    "col.created": {"vi": "Lập lúc", "en": "Made"},
    "col.as_of": {"vi": "Số liệu đến", "en": "Data as of"},
    "col.files": {"vi": "Tệp", "en": "Files"},
    "col.diff": {"vi": "So với phiên bản trước", "en": "Versus the previous version"},
    "demo": {"vi": "minh họa", "en": "demo"},
    "file.pdf": {"vi": "Bản tin PDF", "en": "PDF briefing"},
    "file.html": {"vi": "Bản đồ HTML", "en": "HTML map"},
    "file.gpkg": {"vi": "GeoPackage", "en": "GeoPackage"},
    "file.xlsx": {"vi": "Bảng tính XLSX", "en": "XLSX workbook"},
    "file.manifest": {"vi": "manifest", "en": "manifest"},
}


def tr(key: str, lang: str, **kw) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return t(key, lang, **kw)
    text = entry.get(lang) or entry["vi"]
    return text.format(**kw) if kw else text


def parse_state(query) -> dict:
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    return {"lang": valid.lang(query.get("lang")), "scheme": valid.scheme(query.get("scheme")),
            "province": valid.province(query.get("province"))}


def _user():
    return current_user.get()


def can_create(user) -> bool:
    return bool(user and not user.via_token and user.role in CREATOR_ROLES)


def may_split(user, scheme: str, province: str | None) -> bool:
    """Leaders and admins who cover the whole province may add one snapshot per district."""
    return bool(user and user.role in ("admin", "leader") and province
                and covers_province(user.scope, scheme, province))


def snapshot_dir(settings: Settings | None = None) -> Path:
    """Where the app writes snapshots: the server's GEO_DASH_SNAPSHOT_DIR, else $GEO_DASH_HOME/snapshots."""
    configured = flask.current_app.config.get("GEO_DASH_SNAPSHOT_DIR") if flask.has_app_context() else None
    if configured:
        return Path(configured)
    if os.environ.get("GEO_DASH_SNAPSHOT_DIR"):
        return Path(os.environ["GEO_DASH_SNAPSHOT_DIR"])
    return Path((settings or Settings.from_env()).home) / "snapshots"


def _files(snap: dict, lang: str) -> list:
    links = []
    for kind in FILE_KINDS:
        if kind in (snap.get("files") or {}):
            if links:
                links.append(" · ")
            links.append(html.A(tr(f"file.{kind}", lang), href=f"/reports/file/{snap['id']}/{kind}",
                                className="gd-report-file", **{"data-kind": kind}))
    return links


def _diff_text(snap: dict) -> str:
    from geo_dash.exports.manifest import diff_summary_vi

    return diff_summary_vi(snap.get("diff"))


def snapshot_table(engine, lang: str):
    user = _user()
    if user is None:
        return html.P(tr("none", lang))
    rows = list_snapshots(engine, scope=user.scope)
    if not rows:
        return html.P(tr("none", lang), id="reports-empty")
    head = html.Thead(html.Tr([html.Th(tr(f"col.{c}", lang), style=_TH) for c in
                               ("month", "scope", "scheme", "version", "created", "as_of", "files", "diff")]))
    body = html.Tbody([html.Tr([
        html.Td(f"{s['month']:%m/%Y}", style=_TD),
        html.Td([s["scope_label"], html.Span(f" ({tr('demo', lang)})", className="gd-demo-tag", style=_DEMO)
                 if s["is_demo"] else None], style=_TD),
        html.Td(t(f"scheme.{s['scheme']}", lang), style=_TD),
        html.Td(str(s["version"]), style=_TD),
        html.Td(f"{s['created_at']:%d/%m/%Y %H:%M}", style=_TD),
        html.Td(f"{s['as_of']:%d/%m/%Y}", style=_TD),
        html.Td(_files(s, lang), style=_TD),
        html.Td(_diff_text(s), className="gd-report-diff", style={**_TD, "fontSize": "0.85em"}),
    ], id=f"snapshot-row-{s['id']}") for s in rows])
    return html.Table([head, body], className="gd-report-table", id="reports-table",
                      style={"borderCollapse": "collapse", "width": "100%"})


def _create_form(engine, state: dict, lang: str):
    user = _user()
    if not can_create(user):
        return html.P(tr("cannot", lang), className="gd-panel-note")
    scheme = state["scheme"]
    provinces = boundaries.list_provinces(engine, scheme, user.scope)
    codes = [p["code"] for p in provinces]
    province = state["province"] if state["province"] in codes else (codes[0] if codes else None)
    run = analytics.latest_run(engine, scheme)
    behind = analytics.behind_since(engine, run)  # a snapshot freezes the analytics, not the cases
    month_note = (tr("month_fixed", lang, month=f"{run['as_of']:%m/%Y}", date=f"{run['as_of']:%d/%m/%Y}")
                  if run and run.get("as_of") else tr("no_run", lang))
    return html.Div([
        dmc.Group([
            dmc.SegmentedControl(id="reports-scheme", value=scheme,
                                 data=[{"value": "legacy", "label": t("scheme.legacy", lang)},
                                       {"value": "2025", "label": t("scheme.2025", lang)}]),
            dmc.Select(id="reports-province", label=t("map.province", lang), value=province, searchable=True,
                       data=[{"value": p["code"], "label": p["name"]} for p in provinces], w=260,
                       allowDeselect=False, filter={"function": "foldFilter"}),
            dmc.Checkbox(id="reports-per-district", label=tr("per_district", lang),
                         disabled=not may_split(user, scheme, province)),
            dmc.Button(tr("create", lang), id="reports-create", disabled=run is None),
        ], align="flex-end"),
        html.Div(month_note, id="reports-month", className="gd-panel-note", style={"marginTop": ".3rem"}),
        html.Div(tr("behind", lang, time=behind), id="reports-behind", className="gd-behind", role="status")
        if behind else None,
    ])


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    if flask.has_app_context():
        flask.current_app.config.setdefault("GEO_DASH_SNAPSHOT_DIR", str(Path(settings.home) / "snapshots"))
    return html.Div(className="gd-reports", style={"padding": "1rem", "overflow": "auto"}, children=[
        dcc.Store(id="reports-lang", data=lang),
        html.H2(tr("title", lang)),
        html.P(tr("intro", lang), className="gd-panel-note"),
        _create_form(engine, state, lang),
        dcc.Loading(html.Div(id="reports-result", role="status", style={"marginTop": ".5rem"})),
        html.Div(snapshot_table(engine, lang), id="reports-list", style={"marginTop": "1rem"}),
    ])


def make_snapshots(engine, user, *, scheme: str, province: str, per_district: bool, out_dir: Path) -> list:
    """The snapshots a button press makes for ``user`` (their scope, restricted to the province)."""
    run = analytics.latest_run(engine, scheme)
    if run is None or run.get("as_of") is None:
        raise SnapshotError(tr("no_run", "vi"))
    if per_district and may_split(user, scheme, province):
        return create_for_province_and_districts(engine, month=run["as_of"], scheme=scheme, province_code=province,
                                                 out_dir=out_dir, actor=user.username, scope=user.scope)
    return [create_snapshot(engine, month=run["as_of"], scheme=scheme, scope=user.scope, province_code=province,
                            out_dir=out_dir, actor=user.username)]


def _download(engine):
    def view(snapshot_id: int, kind: str):
        user = _user()
        if user is None or user.via_token:
            flask.abort(403)
        if kind not in FILE_KINDS:
            flask.abort(404)
        try:
            found = snapshot_file(engine, snapshot_id, kind, user.scope)
        except SnapshotError as exc:
            audit(engine, "snapshot.download_refused", target=f"snapshot:{snapshot_id}/{kind}",
                  details={"reason": str(exc)}, ip=flask.request.remote_addr)
            return flask.jsonify({"error": str(exc)}), 409
        if found is None:
            flask.abort(404)
        path, name = found
        audit(engine, "snapshot.download", target=f"snapshot:{snapshot_id}/{kind}", details={"file": name},
              ip=flask.request.remote_addr)
        return flask.send_file(path, mimetype=MIMETYPES[kind], as_attachment=True, download_name=name, max_age=0)

    return view


def register_callbacks(app, engine) -> None:
    app.server.add_url_rule("/reports/file/<int:snapshot_id>/<kind>", "reports_file", _download(engine),
                            methods=["GET"])

    @app.callback(
        Output("reports-province", "data"), Output("reports-province", "value"),
        Input("reports-scheme", "value"), State("reports-province", "value"),
        prevent_initial_call=True,
    )
    def switch_scheme(scheme, province):
        user = _user()
        if not can_create(user):
            return no_update, no_update
        scheme = valid.scheme(scheme)
        options = [{"value": p["code"], "label": p["name"]}
                   for p in boundaries.list_provinces(engine, scheme, user.scope)]
        codes = [o["value"] for o in options]
        province = valid.province(province)
        return options, province if province in codes else (codes[0] if codes else None)

    @app.callback(
        Output("reports-per-district", "disabled"),
        Input("reports-province", "value"), Input("reports-scheme", "value"),
    )
    def split_allowed(province, scheme):
        return not may_split(_user(), valid.scheme(scheme), valid.province(province))

    @app.callback(
        Output("reports-result", "children"), Output("reports-list", "children"),
        Input("reports-create", "n_clicks"),
        State("reports-scheme", "value"), State("reports-province", "value"), State("reports-per-district", "checked"),
        State("reports-lang", "data"),
        prevent_initial_call=True,
    )
    def create(_n, scheme, province, per_district, lang):
        lang, scheme, province = valid.lang(lang), valid.scheme(scheme), valid.province(province)
        user = _user()
        if not can_create(user):
            return dmc.Alert(tr("cannot", lang), color="red"), no_update
        if province is None or province not in {p["code"] for p in boundaries.list_provinces(engine, scheme, user.scope)}:
            return dmc.Alert(t("panel.outside", lang), color="red"), no_update
        try:
            made = make_snapshots(engine, user, scheme=scheme, province=province, per_district=per_district is True,
                                  out_dir=snapshot_dir())
        except SnapshotError as exc:
            return dmc.Alert(str(exc), color="red"), no_update
        return (dmc.Alert(tr("made", lang, n=len(made)), color="green", id="reports-made"),
                snapshot_table(engine, lang))
