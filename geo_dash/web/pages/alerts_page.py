"""The alerts page (``/alerts``): the latest run's early-warning alerts in the user's area,
priority dialogue and severity first, each linking to its commune."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash_ag_grid as dag
import dash_mantine_components as dmc
from dash import Input, Output, State, html

from geo_dash.analytics import read as analytics
from geo_dash.boundaries import read as boundaries
from geo_dash.config import Settings
from geo_dash.security.context import active_scope
from geo_dash.web import validate as valid
from geo_dash.web.i18n import t


def parse_state(query) -> dict:
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    scheme = valid.scheme(query.get("scheme"))
    return {"scheme": scheme, "province": valid.province(query.get("province")), "lang": valid.lang(query.get("lang"))}


def _rows(engine, scheme: str, province: str | None, lang: str) -> list[dict]:
    df = analytics.alerts(engine, active_scope(), scheme, province)
    rows = []
    for r in df.to_dict("records"):
        rows.append({
            "priority": "⚑ " + t("wall.priority", lang) if r["priority_dialogue"] else "",
            "severity": t(f"alerts.severity.{r['severity']}", lang),
            # opens the map on the commune: zoomed, outlined, its panel open
            "commune": f"[{r['name']}](/?{urlencode({'scheme': scheme, 'province': r['province_code'], **({'district': r['district_code']} if r.get('district_code') and scheme == 'legacy' else {}), 'commune': r['commune_code'], 'lang': lang})})",
            "cases": f"[{t('nav.cases', lang)}](/cases?{urlencode({'scheme': scheme, 'province': r['province_code'], 'commune': r['commune_code'], 'lang': lang})})",
            "rule": r["rule_id"],
            # the rules speak of the commune by code; people read its name
            "message": (r["message_vi"] if lang == "vi" else r["message_en"])
            .replace(f"Xã/phường {r['commune_code']}", r["name"] or r["commune_code"])
            .replace(f"Commune {r['commune_code']}", r["name"] or r["commune_code"]),
            "as_of": r["as_of"].strftime("%d/%m/%Y") if r["as_of"] is not None else "",
        })
    return rows


def layout(engine, settings: Settings, state: dict) -> html.Div:
    lang = state["lang"]
    provinces = boundaries.list_provinces(engine, state["scheme"], active_scope())
    col = lambda f, **kw: {"field": f, "headerName": t(f"alerts.col.{f}", lang), **kw}  # noqa: E731
    return html.Div(style={"padding": "1rem", "overflow": "auto"}, children=[
        html.H2(t("alerts.title", lang)),
        dmc.Group([
            dmc.SegmentedControl(id="alerts-scheme", value=state["scheme"],
                                 data=[{"value": "legacy", "label": t("scheme.legacy", lang)},
                                       {"value": "2025", "label": t("scheme.2025", lang)}]),
            dmc.Select(id="alerts-province", label=t("map.province", lang), value=state["province"], clearable=True,
                       data=[{"value": p["code"], "label": p["name"]} for p in provinces], searchable=True,
                       filter={"function": "foldFilter"}, w=280, placeholder=t("alerts.all_provinces", lang)),
        ], align="flex-end"),
        html.Div(id="alerts-count", className="gd-counts", style={"marginTop": ".5rem"}),
        dag.AgGrid(id="alerts-grid", rowData=_rows(engine, state["scheme"], state["province"], lang),
                   columnDefs=[col("priority", maxWidth=190), col("severity", maxWidth=130),
                               col("commune", cellRenderer="markdown", minWidth=180),
                               col("message", flex=1, wrapText=True, autoHeight=True), col("rule", maxWidth=200),
                               col("as_of", maxWidth=130), col("cases", cellRenderer="markdown", maxWidth=120)],
                   defaultColDef={"sortable": True, "filter": True, "resizable": True},
                   dashGridOptions={"localeText": {"noRowsToShow": t("alerts.none", lang)}},
                   style={"height": "70vh"}, className="ag-theme-alpine"),
        html.Div(id="alerts-lang", **{"data-lang": lang}),
    ])


def register_callbacks(app, engine) -> None:
    @app.callback(
        Output("alerts-grid", "rowData"), Output("alerts-count", "children"),
        Input("alerts-scheme", "value"), Input("alerts-province", "value"), State("alerts-lang", "data-lang"),
    )
    def show(scheme, province, lang):
        scheme, province, lang = valid.scheme(scheme), valid.province(province), valid.lang(lang)
        rows = _rows(engine, scheme, province, lang)
        return rows, t("alerts.count", lang, n=len(rows))
