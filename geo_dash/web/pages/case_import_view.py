"""Importing a case file from the cases page: the file offices keep, uploaded by the user who may edit.

The upload goes through exactly what ``geo-dash cases import`` does (:func:`importer.import_file`: one
transaction, one import record, rows in = accepted + rejected, a rejects file), as the app's role
and with the user's scope: rows outside the user's area are rejected with their reason, and the
database's row-level security checks every written row again.  The uploaded file is deleted after
the import (its name and SHA-256 stay in the import record); the rejects file is kept and can be
downloaded, by its importer (or a national admin), from ``/cases/rejects/<import id>``.
The import template is served at ``/cases/template.xlsx``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import shutil
import tempfile
from pathlib import Path

import dash_mantine_components as dmc
import flask
from dash import Input, Output, State, dcc, html, no_update
from sqlalchemy import text

from geo_dash.cases.importer import ImportReport, import_file
from geo_dash.security.audit import audit
from geo_dash.security.context import current_user
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t

SUFFIXES = (".csv", ".xlsx", ".xlsm")
SHOWN_REJECTS = 10


def max_upload_bytes() -> int:
    """The largest file the app takes: the request limit (``GEO_DASH_MAX_UPLOAD_MB``, set in
    :mod:`geo_dash.web.auth`) less the third that base64 adds to a file sent in a callback."""
    return int(flask.current_app.config["MAX_CONTENT_LENGTH"]) * 3 // 4


def import_dir() -> Path:
    return Path(flask.current_app.config["GEO_DASH_IMPORT_DIR"])


def safe_file_name(name: object) -> str | None:
    """The uploaded file's own name (no folder), with an accepted suffix; None if it has none."""
    if not isinstance(name, str):
        return None
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base)[:120]
    if not base or base.startswith(".") or Path(base).suffix.lower() not in SUFFIXES:
        return None
    return base


def section(lang: str) -> html.Div:
    """The import block of the cases page (shown to users who may edit cases)."""
    limit_mb = max_upload_bytes() // (1024 * 1024)
    return html.Div(className="gd-import", children=[
        html.H2(t("import.title", lang), style={"marginTop": "1.5rem"}),
        dmc.Text(t("import.hint", lang, mb=limit_mb), size="sm", c="dimmed"),
        html.A(t("import.template", lang), href="/cases/template.xlsx", download="mau_nhap_vu_viec.xlsx",
               className="gd-link"),
        dmc.TextInput(id="import-source", label=t("import.source", lang), description=t("import.source_hint", lang),
                      mt="xs", w=340),
        dcc.Loading(type="dot", children=[
            dcc.Upload(id="import-upload", accept=",".join(SUFFIXES), multiple=False,
                       className="gd-upload", children=html.Div([
                           html.Strong(t("import.choose", lang)), html.Span(" " + t("import.or_drop", lang))])),
            html.Div(id="import-result", role="status", style={"marginTop": "0.5rem"}),
        ]),
    ])


def _report_view(report: ImportReport, lang: str) -> dmc.Alert:
    if report.status == "refused":
        return dmc.Alert(report.reason, color="red", title=t("import.refused", lang, name=report.file_name))
    lines = [
        html.Div(t("import.rows", lang, rows=report.rows_in, accepted=report.accepted, rejected=report.rejected)
                 + (t("import.blank", lang, n=report.blank_rows) if report.blank_rows else "")),
        html.Div(t("import.written", lang, created=report.created, updated=report.updated,
                   unchanged=report.unchanged, id=report.import_id)),
    ]
    if report.ignored_columns:
        lines.append(html.Div(t("import.ignored", lang, columns=", ".join(report.ignored_columns))))
    if report.rejects:
        items = [html.Li(t("import.reject_row", lang, row=r["row"]) + " " + " | ".join(r["reasons"]))
                 for r in report.rejects[:SHOWN_REJECTS]]
        if len(report.rejects) > SHOWN_REJECTS:
            items.append(html.Li(t("import.more", lang, n=len(report.rejects) - SHOWN_REJECTS)))
        lines += [html.Ul(items, className="gd-rejects"),
                  html.A(t("import.rejects_file", lang), href=f"/cases/rejects/{report.import_id}",
                         id="import-rejects-link", className="gd-link")]
    if report.created or report.updated:
        lines.append(html.Div(t("import.analytics", lang), className="gd-note"))
    return dmc.Alert(lines, color="yellow" if report.rejected else "green",
                     title=t("import.done", lang, name=report.file_name))


def _rejects_file(engine):
    """The rejects file of an import: to its importer, or to a national admin (the import record's
    row-level security decides which records the user sees), never outside the import folder."""

    def view(import_id: int):
        user = current_user.get()
        if user is None or user.via_token:
            flask.abort(403)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT file_name, rejects_file FROM case_import WHERE id = :i"),
                               {"i": import_id}).first()
        if row is None or not row.rejects_file:
            flask.abort(404)
        path = Path(row.rejects_file).resolve()
        if not path.is_file() or import_dir().resolve() not in path.parents:
            flask.abort(404)
        audit(engine, "cases.rejects_download", target=f"import:{import_id}", details={"file": path.name},
              ip=flask.request.remote_addr)
        return flask.send_file(path, mimetype="text/csv", as_attachment=True, download_name=path.name, max_age=0)

    return view


def _template():
    from geo_dash.cases.template import write_template

    user = current_user.get()
    if user is None or user.via_token:
        flask.abort(403)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(Path(tmp) / "mau_nhap_vu_viec.xlsx")
        data = path.read_bytes()
    return flask.Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          headers={"Content-Disposition": "attachment; filename=mau_nhap_vu_viec.xlsx"})


def register(app, engine) -> None:
    app.server.add_url_rule("/cases/rejects/<int:import_id>", "case_rejects", _rejects_file(engine), methods=["GET"])
    app.server.add_url_rule("/cases/template.xlsx", "case_template", _template, methods=["GET"])

    @app.callback(
        Output("import-result", "children"), Output("import-upload", "contents"),
        Input("import-upload", "contents"), State("import-upload", "filename"), State("import-source", "value"),
        State("cases-lang", "data"),
        prevent_initial_call=True,
    )
    def upload(contents, filename, source, lang):
        lang = valid.lang(lang)
        if not contents:
            return no_update, no_update
        user = current_user.get()
        if user is None or not user.can_edit:
            return dmc.Alert(t("cases.readonly", lang), color="red", title=t("import.not_done", lang)), None
        name = safe_file_name(filename)
        if name is None:
            return dmc.Alert(t("import.bad_name", lang), color="red", title=t("import.not_done", lang)), None
        try:
            data = base64.b64decode(str(contents).partition(",")[2], validate=True)
        except (binascii.Error, ValueError):
            return dmc.Alert(t("import.unreadable", lang), color="red", title=t("import.not_done", lang)), None
        source = source.strip()[:100] if isinstance(source, str) and source.strip() else None
        folder = import_dir() / secrets.token_hex(8)  # one folder per upload: names never collide
        folder.mkdir(parents=True, mode=0o700)
        path = folder / name
        try:
            path.write_bytes(data)
            report = import_file(engine, path, source=source, actor=user.username, scope=user.scope,
                                 rejects_path=folder / f"{path.stem}.rejects.csv", max_bytes=max_upload_bytes())
        finally:
            path.unlink(missing_ok=True)  # the upload itself is not kept (its SHA-256 is in the record)
            if not any(folder.iterdir()):
                shutil.rmtree(folder, ignore_errors=True)
        return _report_view(report, lang), None
