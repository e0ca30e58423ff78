"""The cases page (``/cases``): a commune's case list, and the form to add or edit a case."""

from __future__ import annotations

from urllib.parse import parse_qs

import dash_ag_grid as dag
import dash_mantine_components as dmc
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update

from geo_dash.boundaries import read as boundaries
from geo_dash.cases import read
from geo_dash.cases.entry import save_case
from geo_dash.cases.vocab import CATEGORIES, KINDS, LEVELS, STATUSES, label
from geo_dash.config import Settings
from geo_dash.security.context import active_scope, current_user
from geo_dash.web import validate as valid
from geo_dash.web.pages import case_import_view
from geo_dash.web.i18n import t

DEFAULT_PROVINCE = {"legacy": "45", "2025": "44"}
def current_scope():
    """The scope of the request's user (empty without a user)."""
    return active_scope()


def _actor() -> str:
    user = current_user.get()
    return user.username if user else "?"


def parse_state(query: dict | str | None) -> dict:
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    scheme = valid.scheme(query.get("scheme"))
    return {
        "scheme": scheme,
        "province": valid.province(query.get("province")) or DEFAULT_PROVINCE[scheme],
        "commune": valid.commune(query.get("commune")),
        "case": valid.row_id(query.get("case")),
        "lang": valid.lang(query.get("lang")),
    }


def _options(terms, lang):
    return [{"value": term.code, "label": term.label_vi if lang == "vi" else term.label_en} for term in terms]


def _date_input(fid: str, lang: str, **kw):
    return dmc.TextInput(id={"form": fid}, label=t(f"field.{fid}", lang), placeholder=t("date.hint", lang), **kw)


def form(lang: str) -> html.Div:
    f = {"form": None}
    return html.Div([
        html.H2(id="form-title", children=t("cases.new", lang)),
        dmc.Text(t("cases.no_personal", lang), size="sm", c="dimmed", mb="xs"),
        dcc.Store(id="form-case-id"),
        html.Div(className="gd-form-grid", children=[
            dmc.TextInput(id={"form": "external_ref"}, label=t("field.external_ref", lang), required=True),
            _date_input("received_date", lang, required=True),
            dmc.Select(id={"form": "kind"}, label=t("field.kind", lang), data=_options(KINDS, lang), required=True),
            dmc.Select(id={"form": "category"}, label=t("field.category", lang), data=_options(CATEGORIES, lang),
                       required=True),
            dmc.NumberInput(id={"form": "people_count"}, label=t("field.people_count", lang), min=1, allowDecimal=False),
            dmc.Select(id={"form": "status"}, label=t("field.status", lang), data=_options(STATUSES, lang),
                       value="tiep_nhan"),
            _date_input("resolved_date", lang),
            _date_input("deadline_date", lang, description="trống = tính theo luật" if lang == "vi" else "blank = by law"),
            dmc.TextInput(id={"form": "dialogue_dates"}, label=t("field.dialogue_dates", lang),
                          placeholder="dd/mm/yyyy; dd/mm/yyyy"),
            dmc.Select(id={"form": "handling_level"}, label=t("field.handling_level", lang), data=_options(LEVELS, lang),
                       clearable=True),
            dmc.TextInput(id={"form": "project_name"}, label=t("field.project_name", lang)),
            dmc.Group([
                dmc.Checkbox(id={"form": "is_over_level"}, label=t("field.is_over_level", lang)),
                dmc.Checkbox(id={"form": "is_complex"}, label=t("field.is_complex", lang)),
            ], mt="lg"),
            dmc.NumberInput(id={"form": "lon"}, label=t("field.lon", lang), decimalScale=6, min=102, max=110),
            dmc.NumberInput(id={"form": "lat"}, label=t("field.lat", lang), decimalScale=6, min=8, max=24),
        ]),
        dmc.Textarea(id={"form": "summary"}, label=t("field.summary", lang), autosize=True, minRows=2, mt="xs"),
        dmc.Group([
            dmc.Button(t("cases.save", lang), id="form-save", mt="sm"),
            dmc.Button(t("cases.new", lang), id="form-new", variant="subtle", mt="sm"),
        ]),
        html.Div(id="form-result", role="status", style={"marginTop": "0.5rem"}),
        html.H2(t("cases.history", lang), style={"marginTop": "1rem"}),
        html.Div(id="form-history", className="gd-history"),
    ])


FORM_IDS = ("external_ref", "received_date", "kind", "category", "people_count", "status", "resolved_date",
            "deadline_date", "dialogue_dates", "handling_level", "project_name", "is_over_level", "is_complex",
            "lon", "lat", "summary")


def _grid_columns(lang: str) -> list[dict]:
    def col(field, **kw):
        return {"field": field, "headerName": t(f"field.{field}", lang), **kw}

    return [
        col("external_ref", pinned="left", minWidth=130),
        col("received_date", minWidth=120),
        col("kind"), col("category", minWidth=220), col("people_count", type="numericColumn", maxWidth=110),
        col("is_mass", maxWidth=120), col("is_over_level", maxWidth=120), col("status", minWidth=150),
        col("deadline_date"), col("resolved_date"), col("overdue", maxWidth=110), col("n_dialogues", maxWidth=110),
        col("project_name"), col("channel"), col("source"),
    ]


def _place_of_case(engine, scope, state: dict) -> dict:
    """A link to a case without its commune (``/cases?case=ID``) opens on the case's own commune, so the
    list shows it and Save knows where it is; on the 2025 scheme if it has no legacy commune."""
    if state.get("case") is None or state.get("commune"):
        return state
    case = read.get_case(engine, scope, state["case"])
    if case is None:  # not there, or outside the user's area: the form stays empty
        return state
    scheme = state["scheme"] if case.get(f"commune_{state['scheme']}") else "2025"
    return {**state, "scheme": scheme, "province": case[f"province_{scheme}"], "commune": case[f"commune_{scheme}"]}


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    scope = current_scope()
    state = _place_of_case(engine, scope, state)
    provinces = boundaries.list_provinces(engine, state["scheme"], scope)
    codes = [p["code"] for p in provinces]
    if state["province"] not in codes:  # open on the user's own area
        state = {**state, "province": codes[0] if codes else None, "commune": None}
    communes = read.communes_for_select(engine, state["scheme"], state["province"], scope) if state["province"] else []
    if state["commune"] not in {c["value"] for c in communes}:  # another area's commune: ask for one of theirs
        state = {**state, "commune": None}
    return html.Div(className="gd-cases", children=[
        dcc.Location(id="cases-url", refresh=False),
        dcc.Store(id="cases-lang", data=lang),
        dcc.Store(id="cases-open", data=state.get("case")),  # a case to open in the form (links from the map)
        dcc.Store(id="cases-search"),  # the list's part of the URL; the open case is added in the page
        html.Div([
            html.H2(t("cases.title", lang)),
            dmc.Group([
                dmc.SegmentedControl(id="cases-scheme", value=state["scheme"],
                                     data=[{"value": "legacy", "label": t("scheme.legacy", lang)},
                                           {"value": "2025", "label": t("scheme.2025", lang)}]),
                dmc.Select(id="cases-province", label=t("map.province", lang), value=state["province"],
                           data=[{"value": p["code"], "label": p["name"]} for p in provinces], searchable=True,
                           allowDeselect=False, filter={"function": "foldFilter"}, w=240),
                dmc.Select(id="cases-commune", label=t("cases.commune", lang), value=state["commune"], data=communes,
                           searchable=True, filter={"function": "foldFilter"}, w=340,
                           placeholder=t("cases.pick_commune", lang),
                           nothingFoundMessage=t("map.nothing_found", lang)),
            ], align="flex-end"),
            html.Div(id="cases-count", className="gd-counts", style={"marginTop": "0.5rem"}),
            dag.AgGrid(id="cases-grid", columnDefs=_grid_columns(lang), rowData=[],
                       defaultColDef={"sortable": True, "filter": True, "resizable": True},
                       dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}, "animateRows": False,
                                        "localeText": {"noRowsToShow": t("cases.none", lang)}},
                       style={"height": "60vh"}, className="ag-theme-alpine"),
        ] + ([case_import_view.section(lang)] if _may_edit() else [])),
        html.Div(form(lang)),
    ])


def _may_edit() -> bool:
    user = current_user.get()
    return bool(user and user.can_edit)


def _fmt_date(v) -> str:
    return "" if v is None or v != v else v.strftime("%d/%m/%Y")


def _rows_for_grid(df, lang) -> list[dict]:
    yes, no = t("yes", lang), t("no", lang)
    out = []
    for r in df.to_dict("records"):
        out.append({
            **r,
            "received_date": _fmt_date(r["received_date"]), "deadline_date": _fmt_date(r["deadline_date"]),
            "resolved_date": _fmt_date(r["resolved_date"]),
            "kind": label("kind", r["kind"], lang), "category": label("category", r["category"], lang),
            "status": label("status", r["status"], lang),
            "is_mass": yes if r["is_mass"] else no, "is_over_level": yes if r["is_over_level"] else no,
            "overdue": yes if r["overdue"] else "",
            "people_count": None if r["people_count"] != r["people_count"] else r["people_count"],
        })
    return out


def _field_name(field: str, lang: str) -> str:
    try:
        return t(f"field.{field}", lang)
    except KeyError:
        return field


def _show(field: str, value, lang: str) -> str:
    """A history value as a person reads it: labels for codes, dd/mm/yyyy for dates, — for nothing."""
    if value is None or value == []:
        return "—"
    if field in ("kind", "category", "status", "handling_level"):
        try:
            return label(field, value, lang)
        except KeyError:
            return str(value)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    if isinstance(value, list):
        return ", ".join(_show(field, v, lang) for v in value)
    return str(value)


def register_callbacks(app, engine) -> None:
    case_import_view.register(app, engine)

    @app.callback(
        Output("cases-province", "data"), Output("cases-province", "value"),
        Input("cases-scheme", "value"), State("cases-province", "value"),
        prevent_initial_call=True,
    )
    def scheme_changed(scheme, province):
        scheme, province = valid.scheme(scheme), valid.province(province)
        other = "2025" if scheme == "legacy" else "legacy"
        provinces = boundaries.list_provinces(engine, scheme, current_scope())
        options = [{"value": p["code"], "label": p["name"]} for p in provinces]
        target = boundaries.counterpart_province(engine, province, other, scheme)
        codes = [o["value"] for o in options]
        return options, target if target in codes else (codes[0] if codes else None)

    @app.callback(
        Output("cases-commune", "data"), Output("cases-commune", "value"),
        Input("cases-province", "value"), State("cases-scheme", "value"), State("cases-commune", "value"),
        prevent_initial_call=True,
    )
    def province_changed(province, scheme, commune):
        province, scheme, commune = valid.province(province), valid.scheme(scheme), valid.commune(commune)
        options = read.communes_for_select(engine, scheme, province, current_scope()) if province else []
        keep = commune if any(o["value"] == commune for o in options) else None
        return options, keep

    @app.callback(
        Output("cases-grid", "rowData"), Output("cases-count", "children"), Output("cases-search", "data"),
        Input("cases-commune", "value"), Input("form-result", "children"), Input("import-result", "children"),
        State("cases-scheme", "value"), State("cases-province", "value"), State("cases-lang", "data"),
    )
    def show_cases(commune, _saved, _imported, scheme, province, lang):
        commune, scheme, province, lang = valid.commune(commune), valid.scheme(scheme), valid.province(province), valid.lang(lang)
        search = f"?scheme={scheme}&province={province}&lang={lang}" + (f"&commune={commune}" if commune else "")
        if not commune:
            return [], t("cases.pick_commune", lang), search
        df = read.list_cases(engine, current_scope(), scheme=scheme, commune_code=commune)
        return _rows_for_grid(df, lang), t("cases.count", lang, n=len(df)), search

    # the URL: the list's view and the case open in the form (so it can be bookmarked and shared)
    app.clientside_callback(
        ClientsideFunction("geoDashCases", "url"),
        Output("cases-url", "search"), Input("cases-search", "data"), Input("form-case-id", "data"),
    )

    @app.callback(
        Output({"form": ALL}, "value"), Output("form-case-id", "data"), Output("form-title", "children"),
        Output("form-history", "children"),
        Input("cases-grid", "selectedRows"), Input("form-new", "n_clicks"), Input("cases-open", "data"),
        State({"form": ALL}, "id"), State("cases-lang", "data"),
    )
    def load_case(selected, _new, opened, ids, lang):
        lang = valid.lang(lang)
        ids = [i for i in ids or [] if isinstance(i, dict) and i.get("form") in FORM_IDS]
        if ctx.triggered_id is None and valid.row_id(opened) is None:  # page load without ?case=
            return [no_update] * len(ids), no_update, no_update, no_update
        opening = ctx.triggered_id in (None, "cases-open")
        case_id = valid.row_id(opened) if opening else valid.selected_id(selected)
        if ctx.triggered_id == "form-new" or case_id is None:
            values = {"status": "tiep_nhan"}
            return [values.get(i["form"]) for i in ids], None, t("cases.new", lang), []
        case = read.get_case(engine, current_scope(), case_id)
        if case is None:
            return [no_update] * len(ids), None, t("cases.new", lang), []
        values = {k: case.get(k) for k in FORM_IDS}
        for k in ("received_date", "resolved_date", "deadline_date"):
            values[k] = _fmt_date(case.get(k)) if case.get(k) else ""
        values["dialogue_dates"] = "; ".join(_fmt_date(d) for d in case.get("dialogue_dates") or [])
        values["is_over_level"] = bool(case.get("is_over_level"))
        values["is_complex"] = bool(case.get("is_complex"))
        history = read.case_history(engine, current_scope(), case["id"])
        items = [html.Li(f"{h['changed_at']:%d/%m/%Y %H:%M} — {h['changed_by'] or ''} — "
                         + t(f"history.{h['action']}", lang)
                         + (": " + "; ".join(f"{_field_name(k, lang)}: {_show(k, v[0], lang)} → {_show(k, v[1], lang)}"
                                             for k, v in h["changes"].items()) if h["changes"] else ""))
                 for h in history]
        return ([values.get(i["form"]) for i in ids], {"id": case["id"], "source": case["source"]},
                f"{t('cases.edit', lang)} {case['external_ref']}", html.Ul(items))

    @app.callback(
        Output("form-result", "children"),
        Input("form-save", "n_clicks"),
        State({"form": ALL}, "value"), State({"form": ALL}, "id"), State("form-case-id", "data"),
        State("cases-commune", "value"), State("cases-scheme", "value"), State("cases-lang", "data"),
        prevent_initial_call=True,
    )
    def save(_n, values, ids, editing, commune, scheme, lang):
        commune, scheme, lang = valid.commune(commune), valid.scheme(scheme), valid.lang(lang)
        data = {i["form"]: v for i, v in zip(ids or [], values or [])
                if isinstance(i, dict) and i.get("form") in FORM_IDS and (v is None or isinstance(v, (str, int, float, bool)))}
        if not commune:
            return dmc.Alert(t("cases.pick_commune", lang), color="red", title=t("cases.not_saved", lang))
        names = read.unit_names(engine, scheme, commune) or {}
        data.update(commune_code=commune, province=names.get("province"), district=names.get("district"),
                    commune=names.get("name"))
        if isinstance(editing, dict) and isinstance(editing.get("source"), str):
            data["source"] = editing["source"][:100]
        user = current_user.get()
        if user is None or not user.can_edit:
            return dmc.Alert(t("cases.readonly", lang), color="red", title=t("cases.not_saved", lang))
        result = save_case(engine, current_scope(), data, actor=_actor())
        if not result.ok:
            return dmc.Alert([html.Div(e) for e in result.errors], color="red", title=t("cases.not_saved", lang))
        return dmc.Alert(t(f"cases.saved.{result.action}", lang), color="green")
