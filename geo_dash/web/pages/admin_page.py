"""The admin page (``/admin``): users and their areas, wall links, and the audit log.

Every action checks the role here *and* is admitted by row-level security in the database
only for an admin's transaction (migration 0006).
"""

from __future__ import annotations

import csv
import io
import json

import dash_ag_grid as dag
import dash_mantine_components as dmc
from dash import Input, Output, State, dcc, html, no_update

from geo_dash.config import Settings
from geo_dash.security.audit import audit, read_log
from geo_dash.security.context import current_user
from geo_dash.security.passwords import WeakPassword
from geo_dash.security.users import ROLES, UserError, add_user, create_wall_token, list_users, set_disabled
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t


def parse_state(query) -> dict:
    return {"lang": valid.lang((query or {}).get("lang") if isinstance(query, dict) else None)}


def _is_admin() -> bool:
    user = current_user.get()
    return bool(user and user.is_admin)


def _user_rows(engine) -> list[dict]:
    return [{**u, "last_login_at": u["last_login_at"].strftime("%d/%m/%Y %H:%M") if u["last_login_at"] else "",
             "locked_until": u["locked_until"].strftime("%d/%m/%Y %H:%M") if u["locked_until"] else "",
             "disabled": "✔" if u["disabled"] else ""}
            for u in list_users(engine)]


def _audit_rows(engine) -> list[dict]:
    return [{"at": r["at"].strftime("%d/%m/%Y %H:%M:%S"), "actor": r["actor"], "action": r["action"],
             "target": r["target"], "details": json.dumps(r["details"], ensure_ascii=False), "ip": r["ip"]}
            for r in read_log(engine)]


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    if not _is_admin():
        return html.Div(dmc.Alert(t("admin.forbidden", lang), color="red"), style={"padding": "1rem"})
    col = lambda f, **kw: {"field": f, "headerName": t(f"admin.col.{f}", lang), **kw}  # noqa: E731
    return html.Div(className="gd-admin", style={"padding": "1rem", "overflow": "auto"}, children=[
        dcc.Store(id="admin-lang", data=lang),
        html.H2(t("admin.users", lang)),
        dag.AgGrid(id="admin-users", rowData=_user_rows(engine),
                   columnDefs=[col("username"), col("role"), col("scope", flex=1), col("disabled"),
                               col("last_login_at"), col("locked_until")],
                   dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                     "enableClickSelection": True}},
                   style={"height": "260px"}, className="ag-theme-alpine"),
        dmc.Group([
            dmc.Button(t("admin.toggle", lang), id="admin-toggle", variant="light"),
            dmc.Button(t("admin.wall_link", lang), id="admin-token", variant="light"),
        ], mt="xs"),
        html.Div(id="admin-action-result", role="status", style={"marginTop": ".5rem"}),
        html.H2(t("admin.add", lang), style={"marginTop": "1rem"}),
        dmc.Group([
            dmc.TextInput(id="admin-new-username", label=t("admin.col.username", lang), w=180),
            dmc.Select(id="admin-new-role", label=t("admin.col.role", lang), value="officer",
                       data=[{"value": r, "label": t(f"role.{r}", lang)} for r in ROLES], w=150),
            dmc.TextInput(id="admin-new-scope", label=t("admin.col.scope", lang), w=260,
                          placeholder="legacy:464 | 2025:19363,19366 | all"),
            dmc.PasswordInput(id="admin-new-password", label=t("login.password", lang), w=220),
            dmc.Button(t("admin.add_button", lang), id="admin-add"),
        ], align="flex-end"),
        html.H2(t("admin.audit", lang), style={"marginTop": "1rem"}),
        dmc.Button(t("admin.export", lang), id="admin-export", variant="light", mb="xs"),
        dcc.Download(id="admin-download"),
        dag.AgGrid(id="admin-audit", rowData=_audit_rows(engine),
                   columnDefs=[col("at"), col("actor"), col("action"), col("target"), col("details", flex=1),
                               col("ip")],
                   style={"height": "320px"}, className="ag-theme-alpine"),
    ])


def register_callbacks(app, engine) -> None:
    @app.callback(
        Output("admin-action-result", "children"), Output("admin-users", "rowData"),
        Input("admin-toggle", "n_clicks"), Input("admin-token", "n_clicks"), Input("admin-add", "n_clicks"),
        State("admin-users", "selectedRows"), State("admin-new-username", "value"), State("admin-new-role", "value"),
        State("admin-new-scope", "value"), State("admin-new-password", "value"), State("admin-lang", "data"),
        prevent_initial_call=True,
    )
    def act(_toggle, _token, _add, selected, username, role, scope, password, lang):
        from dash import ctx

        lang = valid.lang(lang)
        if not _is_admin():
            return dmc.Alert(t("admin.forbidden", lang), color="red"), no_update
        target = selected[0].get("username") if isinstance(selected, list) and selected and isinstance(selected[0], dict) else None
        try:
            if ctx.triggered_id == "admin-add":
                if not all(isinstance(v, str) and v for v in (username, role, scope, password)):
                    raise UserError(t("admin.fill_all", lang))
                add_user(engine, username.strip().lower(), role, scope, password=password)
                audit(engine, "user.add", target=username, details={"role": role, "scope": scope})
                message = dmc.Alert(t("admin.added", lang), color="green")
            elif target is None:
                raise UserError(t("admin.pick_user", lang))
            elif ctx.triggered_id == "admin-toggle":
                row = next(u for u in list_users(engine) if u["username"] == target)
                set_disabled(engine, target, not row["disabled"])
                audit(engine, "user.enable" if row["disabled"] else "user.disable", target=target)
                message = dmc.Alert(t("admin.toggled", lang), color="green")
            else:
                token = create_wall_token(engine, target)
                audit(engine, "wall_token.create", target=target)
                message = dmc.Alert([t("admin.token_once", lang), dmc.Code(f"/wall?token={token}", block=True)],
                                    color="blue")
        except (UserError, WeakPassword, ValueError) as exc:
            return dmc.Alert(str(exc), color="red"), no_update
        return message, _user_rows(engine)

    @app.callback(Output("admin-download", "data"), Input("admin-export", "n_clicks"), prevent_initial_call=True)
    def export(_n):
        if not _is_admin():
            return no_update
        rows = read_log(engine, limit=1_000_000)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["at", "actor", "action", "target", "scope", "details", "ip"])
        for r in rows:
            w.writerow([r["at"].isoformat(), r["actor"], r["action"], r["target"],
                        json.dumps(r["scope"], ensure_ascii=False), json.dumps(r["details"], ensure_ascii=False), r["ip"]])
        audit(engine, "audit.export", details={"rows": len(rows)})
        return {"content": "\ufeff" + buf.getvalue(), "filename": "nhat_ky_kiem_toan.csv", "type": "text/csv"}
