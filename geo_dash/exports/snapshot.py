"""Monthly hotspot snapshots: freeze a month's analytics for one scope, then write its files.

:func:`create_snapshot` reads **only** through the read functions the map uses
(:mod:`geo_dash.analytics.read`, :mod:`geo_dash.boundaries.read`, :mod:`geo_dash.layers.data`), each
with the snapshot's scope, freezes what they return into the ``snapshot_*`` tables (migration 0007)
together with the analytics run, its parameters and the data version, and writes the PDF briefing,
the offline HTML map, the GeoPackage, the XLSX workbook and ``manifest.json``.

Decisions
    * **The month is the analytics run's month.**  EHSA, alerts and KPIs are stored for the latest
      run only (as of its ``as_of``), so a snapshot of month M needs the latest run of the scheme
      to be as of a day in M; otherwise :class:`SnapshotError` says which month can be frozen
      (run ``geo-dash analytics refresh --as-of …`` first).  Gi* of the month is EHSA's last period.
    * **The snapshot's scope** is the caller's scope restricted to one province and one scheme:
      a national user's snapshot of Quảng Trị is ``legacy:45``; a district officer's is
      ``legacy:464``; a group of 2025 communes keeps its communes in that province.  A scope with
      no unit of the scheme in the province (e.g. a 2025 scope on the legacy map) is refused.
      ``scope_key`` is that scope in ``geo-dash users`` spec form (``legacy:45``,
      ``2025:19363,19366``).
    * **Communes in a snapshot** are those the scope reaches with a polygon (``province_geojson``'s
      ``in_scope``) plus any commune the analytics admit without one; figures are those the
      analytics read functions return for the scope (containment rule), NaN otherwise.
    * **Headline KPIs**: the province, the district, or — for several districts or a group of
      2025 communes — the sum of their stored KPIs (on-time share recomputed from the sums, no
      median).  Province snapshots also freeze each district's KPIs (legacy).
    * **Alerts** keep the rule's figures without case ids; no case summary, no reference, no
      name of a person is read or written anywhere.
    * A snapshot is immutable; making the same month, scheme and scope again adds a version and
      stores the differences (``diff``).  Files go to ``<out>/<YYYY-MM>_<scheme>_<scope>_v<N>/``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo_dash.analytics import read as analytics
from geo_dash.analytics.cube import MAP_INDICATORS, add_months, month_start
from geo_dash.analytics.refresh import HOT_CATEGORIES
from geo_dash.boundaries import read as boundaries
from geo_dash.exports import manifest as mf
from geo_dash.layers.classify import indicator_classes
from geo_dash.security.audit import audit
from geo_dash.security.context import scope_json
from geo_dash.security.scope import ALL, Scope, parse_scope_spec, scope_from_rows

log = logging.getLogger(__name__)

# The map's indicators and classification (geo_dash/web/pages/map_page.py; tests keep them equal).
INDICATORS = MAP_INDICATORS  # the map page's list
MAP_INDICATOR = "intensity"
PREVIOUS_MONTH_INDICATORS = ("intensity", "n_new")
PERIOD_KINDS = mf.PERIOD_KINDS
KPI_COUNTS = ("received", "resolved", "resolved_on_time", "backlog", "overdue", "mass_petitions", "dialogues")
FILE_KINDS = ("pdf", "html", "gpkg", "xlsx", "manifest")
SENSITIVE_REASONS = {"em_region": "Vùng DTTS khu vực III", "religious": "Địa bàn tôn giáo",
                     "near_project": "Gần dự án đang GPMB", "border": "Xã biên giới"}


class SnapshotError(ValueError):
    """A snapshot cannot be made as asked (wrong month, scope, no analytics)."""


@dataclass
class SnapshotResult:
    id: int
    version: int
    month: dt.date
    scheme: str
    province_code: str
    scope_key: str
    scope_label: str
    directory: Path
    files: dict[str, Path]
    content_hash: str
    diff: dict | None
    pdf_pages: int
    seconds: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------- months, scopes, labels
def month_of(value) -> dt.date:
    """The first day of a month given as a date or 'YYYY-MM'."""
    if isinstance(value, dt.date):
        return month_start(value)
    try:
        return dt.datetime.strptime(str(value)[:7], "%Y-%m").date()
    except ValueError as exc:
        raise SnapshotError(f"tháng không hợp lệ (invalid month) {value!r}: use YYYY-MM") from exc


def map_classes(indicator: str, values):
    """The map page's classification of one month of an indicator (:func:`indicator_classes`)."""
    return indicator_classes(values, indicator)


def scope_key(scope: Scope) -> str:
    """A scope in ``parse_scope_spec`` form: 'all', 'legacy:45', 'legacy:464,470', '2025:19363,19366'."""
    if scope.everything:
        return "all"
    parts = []
    for scheme, codes in (("legacy", scope.legacy_provinces | scope.legacy_districts),
                          ("2025", scope.provinces_2025 | scope.communes_2025)):
        if codes:
            parts.append(f"{scheme}:{','.join(sorted(codes, key=lambda c: (len(c), c)))}")
    return ";".join(parts)


def scope_from_key(key: str) -> Scope:
    return scope_from_rows(parse_scope_spec(key))


def covers_province(scope: Scope, scheme: str, province_code: str) -> bool:
    if scope.everything:
        return True
    return province_code in (scope.legacy_provinces if scheme == "legacy" else scope.provinces_2025)


def snapshot_scope(scope: Scope, scheme: str, province_code: str, geo: dict) -> Scope:
    """The caller's scope restricted to ``province_code`` on ``scheme`` (see the module docstring)."""
    if covers_province(scope, scheme, province_code):
        return (Scope(legacy_provinces=frozenset({province_code})) if scheme == "legacy"
                else Scope(provinces_2025=frozenset({province_code})))
    if scheme == "legacy":
        districts = {f["properties"]["code"] for f in (geo.get("districts") or {}).get("features", [])}
        inside = Scope(legacy_districts=frozenset(scope.legacy_districts & districts))
    else:
        communes = {f["properties"]["code"] for f in geo["communes"]["features"]}
        inside = Scope(communes_2025=frozenset(scope.communes_2025 & communes))
    if inside.is_empty:
        raise SnapshotError(f"phạm vi {scope_key(scope) or '—'} không có đơn vị nào của tỉnh {province_code} "
                            f"theo địa giới {scheme} (the scope has no unit of this province on this scheme)")
    return inside


def only_province(engine: Engine, scheme: str, scope: Scope) -> str:
    """The one province a (non-national) scope reaches on ``scheme``."""
    provinces = boundaries.list_provinces(engine, scheme, scope)
    if scope.everything or len(provinces) != 1:
        raise SnapshotError("hãy chọn một tỉnh (choose a province): the scope reaches "
                            f"{'every province' if scope.everything else len(provinces)}")
    return provinces[0]["code"]


def _names(features) -> list[str]:
    return [f["properties"]["name"] for f in features]


def default_scope_label(scope: Scope, scheme: str, province_name: str, geo: dict) -> str:
    """'Tỉnh Quảng Trị', 'Huyện Vĩnh Linh — Tỉnh Quảng Trị', 'Xã A, Xã B — Tỉnh …'."""
    if covers_province(scope, scheme, geo.get("province_code", "")) or scope.legacy_provinces or scope.provinces_2025:
        return province_name
    if scope.legacy_districts:
        feats = [f for f in geo["districts"]["features"] if f["properties"]["code"] in scope.legacy_districts]
        names = _names(sorted(feats, key=lambda f: f["properties"]["code"]))
    else:
        feats = [f for f in geo["communes"]["features"] if f["properties"]["code"] in scope.communes_2025]
        names = _names(sorted(feats, key=lambda f: f["properties"]["code"]))
        if len(names) > 4:
            names = names[:4] + [f"và {len(names) - 4} xã khác"]
    return f"{', '.join(names)} — {province_name}"


def _slug(key: str) -> str:
    slug = key.replace(":", "-").replace(",", "_").replace(";", "+")
    if len(slug) > 48:
        slug = slug[:36] + "-" + hashlib.sha256(key.encode()).hexdigest()[:8]
    return slug


# ---------------------------------------------------------------------- collecting (read functions only)
def _run_for_month(engine: Engine, scheme: str, month: dt.date) -> dict:
    run = analytics.latest_run(engine, scheme)
    if run is None or run.get("as_of") is None:
        raise SnapshotError("chưa có số liệu phân tích: chạy “geo-dash analytics refresh” "
                            "(no analytics yet: run geo-dash analytics refresh)")
    if month_start(run["as_of"]) != month:
        raise SnapshotError(
            f"số liệu phân tích tính đến {run['as_of']:%d/%m/%Y}: chỉ lập được bản chụp tháng "
            f"{run['as_of']:%m/%Y} (the latest analytics run is as of {run['as_of']:%Y-%m-%d}; "
            f"refresh with --as-of in {month:%Y-%m} to snapshot that month)")
    return run


def _run_params(engine: Engine, run_id: int) -> dict:
    """The parameters the analytics run recorded (intensity formula, Gi*/EHSA settings, rules, targets)."""
    with engine.connect() as conn:
        params = conn.execute(text("SELECT params FROM analytics_run WHERE id = :id"), {"id": run_id}).scalar()
    params = params or {}
    keep = ("params", "intensity_formula", "kpi_targets", "rules", "signature", "as_of", "scheme")
    return {k: params.get(k) for k in keep if k in params}


def _geo_frame(features: list[dict]) -> gpd.GeoDataFrame:
    if not features:
        return gpd.GeoDataFrame({"code": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    return frame[["code", "geometry"]].sort_values("code").reset_index(drop=True)


def _communes_frame(geo: dict, admitted: set[str], names: dict[str, dict]) -> pd.DataFrame:
    """One row per commune of the snapshot: in scope with a polygon, or admitted by the analytics.
    A commune's district is its parent when that is a district (legacy scheme only)."""
    rows = {}
    for f in geo["communes"]["features"]:
        p = f["properties"]
        if p.get("in_scope"):
            district = p.get("parent") if p.get("parent_name") else None
            rows[p["code"]] = {"commune_code": p["code"], "name": p["name"], "district_code": district,
                               "district_name": p.get("parent_name"), "population": p.get("population")}
    for code in sorted(admitted - set(rows)):
        n = names.get(code, {})
        rows[code] = {"commune_code": code, "name": n.get("name"), "district_code": n.get("district_code"),
                      "district_name": n.get("district"), "population": None}
    return pd.DataFrame(sorted(rows.values(), key=lambda r: r["commune_code"]),
                        columns=["commune_code", "name", "district_code", "district_name", "population"])


def _indicator_values(engine: Engine, scope: Scope, scheme: str, province: str, month: dt.date) -> pd.DataFrame:
    """The map's indicators of the month (and two of the month before), one column each, by commune."""
    out = None
    wanted = [(i, month, i) for i in INDICATORS] + [(i, add_months(month, -1), f"{i}_prev")
                                                       for i in PREVIOUS_MONTH_INDICATORS]
    for indicator, m, column in wanted:
        v = analytics.cube_values(engine, scope, scheme=scheme, province_code=province, month=m, indicator=indicator)
        v = v.rename(columns={"value": column}).set_index("commune_code")[[column]]
        out = v if out is None else out.join(v, how="outer")
    return out if out is not None else pd.DataFrame()


def _unit_names(engine: Engine, scheme: str, codes) -> dict[str, dict]:
    from geo_dash.cases.read import unit_names

    out = {}
    for code in codes:
        row = unit_names(engine, scheme, code)
        if row:
            out[code] = {"name": row["name"], "district": row.get("district"), "district_code": None}
    return out


def _ehsa_columns(ehsa: pd.DataFrame, month: dt.date) -> pd.DataFrame:
    """EHSA category and the month's Gi* (EHSA's last period) per commune."""
    cols = ["gi_z", "gi_p", "gi_bin", "ehsa_category", "ehsa_category_vi", "ehsa_explanation_vi", "trend_tau",
            "trend_p", "priority_dialogue"]
    if ehsa.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="commune_code"))
    e = ehsa.set_index("commune_code")
    this_month = pd.to_datetime(e["window_end"]).dt.date.map(month_start) == month
    out = pd.DataFrame({
        "gi_z": e["last_z"].where(this_month), "gi_p": e["last_p"].where(this_month),
        "gi_bin": e["last_bin"].where(this_month), "ehsa_category": e["category"],
        "ehsa_category_vi": e["category_vi"], "ehsa_explanation_vi": e["explanation_vi"],
        "trend_tau": e["trend_tau"], "trend_p": e["trend_p"], "priority_dialogue": e["priority_dialogue"],
    })
    return out


def _layer_frame(engine: Engine, layer_id: str, scheme: str, province: str) -> pd.DataFrame | None:
    from geo_dash.layers.data import layer_values

    try:
        return layer_values(engine, layer_id, scheme, province).set_index("code")
    except Exception as exc:  # noqa: BLE001 - a context layer missing must not stop the briefing
        log.warning("snapshot: layer %s unavailable: %s", layer_id, exc)
        return None


def _ntm_labels() -> dict[str, str]:
    from geo_dash.layers.registry import get_layer

    try:
        cats = get_layer("ntm_status").field("level").categories or []
    except KeyError:
        return {}
    return {c.value: c.label.vi for c in cats}


def _layer_columns(engine: Engine, scheme: str, province: str, codes: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """Sensitive-area flags (with reasons) and NTM level per commune, and the layers' provenance."""
    out = pd.DataFrame(index=pd.Index(codes, name="commune_code"))
    out["is_sensitive"], out["sensitive_reasons"], out["ntm_level"] = None, None, None
    out["layer_is_demo"] = False
    provenance = []
    sens = _layer_frame(engine, "sensitive_areas", scheme, province)
    if sens is not None:
        s = sens.reindex(codes)
        out["is_sensitive"] = s["is_sensitive"].map({"true": True, "false": False})
        reasons = [("; ".join(lbl for f, lbl in SENSITIVE_REASONS.items() if r.get(f) == "true") or None)
                   for r in s.to_dict("records")]
        out["sensitive_reasons"] = reasons
        out["layer_is_demo"] |= s["is_demo"].fillna(False).astype(bool).to_numpy()
        provenance.append(_provenance("sensitive_areas", sens))
    ntm = _layer_frame(engine, "ntm_status", scheme, province)
    if ntm is not None:
        n = ntm.reindex(codes)
        labels = _ntm_labels()
        out["ntm_level"] = n["value"].map(lambda v: labels.get(v, v) if isinstance(v, str) else None)
        out["layer_is_demo"] |= n["is_demo"].fillna(False).astype(bool).to_numpy()
        provenance.append(_provenance("ntm_status", ntm))
    return out, provenance


def _provenance(layer_id: str, values: pd.DataFrame) -> dict:
    from geo_dash.layers.data import layer_legend

    legend = layer_legend(layer_id, values.reset_index())
    p = legend["provenance"]
    return {"layer": layer_id, "title": legend["title_vi"], "source": p["source"], "date": p["date"],
            "licence": p["licence"], "is_demo": bool(p["is_demo"])}


def _alerts_frame(engine: Engine, scope: Scope, scheme: str, province: str, codes: set[str]) -> pd.DataFrame:
    a = analytics.alerts(engine, scope, scheme, province)
    a = a[a["commune_code"].isin(codes)].reset_index(drop=True) if len(a) else a
    if a.empty:
        return mf.empty_frame("alerts")
    figures = a["figures"].map(lambda f: {k: v for k, v in (f or {}).items() if "case" not in k.lower()})
    return pd.DataFrame({
        "seq": np.arange(1, len(a) + 1), "commune_code": a["commune_code"], "commune_name": a["name"],
        "district_code": a["district_code"], "rule_id": a["rule_id"], "rule_type": a["rule_type"],
        "period": a["period"], "figures": figures, "message_vi": a["message_vi"], "message_en": a["message_en"],
        "severity": a["severity"], "priority_dialogue": a["priority_dialogue"].astype(bool),
    })


def _hotspots_frame(engine: Engine, scope: Scope, scheme: str, province: str, communes: pd.DataFrame) -> pd.DataFrame:
    top = analytics.top_hotspots(engine, scope, scheme, province, n=100_000)
    c = communes.set_index("commune_code")
    top = top[top["commune_code"].isin(c.index)].reset_index(drop=True)
    if top.empty:
        return mf.empty_frame("hotspots")
    cur = top["commune_code"].map(c["intensity"])
    prev = top["commune_code"].map(c["intensity_prev"])
    return pd.DataFrame({
        "rank": np.arange(1, len(top) + 1), "commune_code": top["commune_code"],
        "name": top["name"].fillna(top["commune_code"].map(c["name"])),
        "district_name": top["commune_code"].map(c["district_name"]), "category": top["category"],
        "category_vi": top["category_vi"], "explanation_vi": top["explanation_vi"], "last_z": top["last_z"],
        "n_hot": top["n_hot"], "n_alerts": top["n_alerts"], "priority_dialogue": top["priority_dialogue"].astype(bool),
        "is_hot": top["is_hot"].astype(bool), "intensity": cur, "intensity_prev": prev, "intensity_change": cur - prev,
    })


def kpi_units(scope: Scope, scheme: str, province: str, province_name: str, geo: dict,
              communes: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(level, code, name) of the units whose KPIs the snapshot freezes; the first is the headline
    unless there are several of the same level (then the headline is their sum, level 'group')."""
    districts = {f["properties"]["code"]: f["properties"]["name"] for f in (geo.get("districts") or {}).get("features", [])}
    if covers_province(scope, scheme, province):
        return [("province", province, province_name)] + [("district", c, n) for c, n in sorted(districts.items())]
    if scope.legacy_districts:
        return [("district", c, districts.get(c, c)) for c in sorted(scope.legacy_districts)]
    names = dict(zip(communes["commune_code"], communes["name"]))
    return [("commune", c, names.get(c, c)) for c in sorted(scope.communes_2025)]


def _kpi_frame(engine: Engine, scope: Scope, scheme: str, units, targets: dict) -> pd.DataFrame:
    rows = []
    for level, code, name in units:
        for kind in PERIOD_KINDS:
            k = analytics.kpis(engine, scope, scheme, level, code, kind)
            if k:
                rows.append({**{c: k.get(c) for c in mf.columns("kpis")}, "level": level, "unit_code": code,
                             "unit_name": name})
    frame = pd.DataFrame(rows, columns=mf.columns("kpis"))
    if len({u[0] for u in units}) == 1 and len(units) > 1 and not frame.empty:
        frame = pd.concat([group_kpis(frame, targets), frame], ignore_index=True)
    return frame


def group_kpis(frame: pd.DataFrame, targets: dict) -> pd.DataFrame:
    """The sum of several units' stored KPIs per period kind (on-time share from the sums, no median)."""
    rows = []
    for kind, g in frame.groupby("period_kind", sort=False):
        sums = {c: int(pd.to_numeric(g[c]).sum()) for c in KPI_COUNTS}
        pct = 100.0 * sums["resolved_on_time"] / sums["resolved"] if sums["resolved"] else None
        tgt = {m: {"target": float(t), "gap": None if pct is None else pct - float(t),
                   "meets_target": None if pct is None else pct >= float(t)}
               for m, t in targets.items() if m == "resolved_on_time_pct"}
        rows.append({"level": "group", "unit_code": "+".join(g["unit_code"]), "unit_name": "Tổng các đơn vị",
                     "period_kind": kind, "period_start": g["period_start"].min(), "period_end": g["period_end"].max(),
                     **sums, "resolved_on_time_pct": pct, "median_days_to_resolve": None, "targets": tgt})
    return pd.DataFrame(rows, columns=mf.columns("kpis"))


def _ntm_frame(engine: Engine, scope: Scope, scheme: str, province: str) -> pd.DataFrame:
    from geo_dash.layers.data import ntm_progress

    frames = []
    try:
        if covers_province(scope, scheme, province):
            frames.append(ntm_progress(engine, scheme, province, by="province"))
            if scheme == "legacy":
                frames.append(ntm_progress(engine, scheme, province, by="district"))
        elif scope.legacy_districts:
            d = ntm_progress(engine, scheme, province, by="district")
            frames.append(d[d["unit_code"].isin(scope.legacy_districts)])
    except Exception as exc:  # noqa: BLE001 - context only
        log.warning("snapshot: NTM progress unavailable: %s", exc)
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True)[mf.columns("ntm")] if frames else mf.empty_frame("ntm")


_COUNTRY: dict[tuple, gpd.GeoDataFrame] = {}


def country_outline(engine: Engine, scheme: str) -> gpd.GeoDataFrame:
    """The provinces of the scheme, simplified (~1 km), for the inset locator (public outlines).

    Cached per database, scheme and boundary load."""
    with engine.connect() as conn:
        stamp = conn.execute(text("SELECT COALESCE(max(id), 0) FROM boundary_load")).scalar()
        key = (engine.url.render_as_string(hide_password=True), scheme, stamp)
        if key not in _COUNTRY:
            rows = conn.execute(text("""
                SELECT code, ST_AsBinary(ST_SimplifyPreserveTopology(COALESCE(geom_display, geom), 0.01)) AS wkb
                FROM admin_unit WHERE scheme = :s AND level = 'province' AND geom IS NOT NULL ORDER BY code"""),
                {"s": scheme}).all()
            _COUNTRY[key] = gpd.GeoDataFrame({"code": [r.code for r in rows]},
                                             geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]), crs="EPSG:4326")
    return _COUNTRY[key].copy()


def _demo_notes(engine: Engine, communes: pd.DataFrame, ntm: pd.DataFrame) -> list[str]:
    from geo_dash.cases.read import synthetic_present

    notes = []
    if synthetic_present(engine):
        notes.append("Vụ việc trong cơ sở dữ liệu là dữ liệu tổng hợp (giả lập) của geo-dash demo load, "
                     "không phải số liệu thật.")
    if bool(communes["layer_is_demo"].any()) or (len(ntm) and bool(ntm["is_demo"].any())):
        notes.append("Lớp bối cảnh (địa bàn nhạy cảm, nông thôn mới) dùng giá trị minh họa, không phải số liệu thật.")
    return notes


def collect(engine: Engine, *, month, scheme: str, scope: Scope, province_code: str,
            scope_label: str | None = None) -> mf.SnapshotData:
    """Everything the snapshot freezes, read with ``scope`` through the map's read functions."""
    month = month_of(month)
    run = _run_for_month(engine, scheme, month)
    geo = boundaries.province_geojson(engine, scheme, province_code, scope)
    geo["province_code"] = province_code
    province_name = next((p["name"] for p in boundaries.list_provinces(engine, scheme, ALL)
                          if p["code"] == province_code), province_code)
    values = _indicator_values(engine, scope, scheme, province_code, month)
    names = _unit_names(engine, scheme, set(values.index) - {f["properties"]["code"]
                                                             for f in geo["communes"]["features"]})
    communes = _communes_frame(geo, set(values.index), names)
    codes = list(communes["commune_code"])
    communes = communes.join(values.reindex(codes), on="commune_code")
    classes = map_classes(MAP_INDICATOR, communes[MAP_INDICATOR])
    communes["intensity_class"] = classes.class_of
    communes["intensity_color"] = classes.color_of()
    ehsa = analytics.ehsa_categories(engine, scope, scheme, province_code)
    communes = communes.join(_ehsa_columns(ehsa, month).reindex(codes), on="commune_code")
    alerts = _alerts_frame(engine, scope, scheme, province_code, set(codes))
    communes["n_alerts"] = communes["commune_code"].map(alerts["commune_code"].value_counts()).fillna(0).astype(int)
    layers, provenance = _layer_columns(engine, scheme, province_code, codes)
    communes = communes.join(layers, on="commune_code")
    params = _run_params(engine, run["id"])
    targets = params.get("kpi_targets") or {"resolved_on_time_pct": 100.0}
    units = kpi_units(scope, scheme, province_code, province_name, geo, communes)
    tables = {
        "communes": communes[mf.columns("communes")],
        "hotspots": _hotspots_frame(engine, scope, scheme, province_code, communes),
        "alerts": alerts,
        "kpis": _kpi_frame(engine, scope, scheme, units, targets),
        "ntm": _ntm_frame(engine, scope, scheme, province_code),
    }
    in_scope = [f for f in geo["communes"]["features"] if f["properties"].get("in_scope")]
    district_codes = set(communes["district_code"].dropna())
    districts = [f for f in (geo.get("districts") or {}).get("features", []) if f["properties"]["code"] in district_codes]
    demo = _demo_notes(engine, tables["communes"], tables["ntm"])
    meta = {
        "month": month, "scheme": scheme, "province_code": province_code, "province_name": province_name,
        "scope_key": scope_key(scope), "scope": json.loads(scope_json(scope)),
        "scope_label": scope_label or default_scope_label(scope, scheme, province_name, geo),
        "as_of": run["as_of"],
        "run": {"id": run["id"], "as_of": run["as_of"].isoformat(), "data_version": run.get("data_version"),
                "finished_at": run["finished_at"].isoformat() if run.get("finished_at") else None},
        "params": {"analytics": params, "snapshot": snapshot_params(month)},
        "headline": _headline(units), "is_demo": bool(demo), "demo_notes": demo,
        "classes": {"colors": classes.colors, "labels_vi": classes.labels_vi, "counts": classes.counts,
                    "scheme": classes.scheme},
        "layers": provenance, "hot_categories": list(HOT_CATEGORIES),
    }
    return mf.SnapshotData(meta=meta, tables=tables, communes_geo=_geo_frame(in_scope),
                           districts_geo=_geo_frame(districts), country=country_outline(engine, scheme),
                           extra={"bounds": geo["bounds"]})


def _headline(units) -> tuple[str, str]:
    levels = {u[0] for u in units}
    if units and units[0][0] == "province":
        return ("province", units[0][1])
    if len(units) == 1:
        return (units[0][0], units[0][1])
    return ("group", "+".join(u[1] for u in units)) if len(levels) == 1 else ("none", "")


def snapshot_params(month: dt.date) -> dict:
    return {"indicators": list(INDICATORS), "map_indicator": MAP_INDICATOR,
            "classification": {"method": "fisher_jenks", "k": 5, "palette": "YlOrRd",
                               "other_indicators": "quantiles"},
            "previous_month": add_months(month, -1).strftime("%Y-%m"), "alert_figures": "without case ids",
            "format": mf.FORMAT}


# ---------------------------------------------------------------------- writing
def _write_files(data: mf.SnapshotData, directory: Path, info: dict) -> tuple[dict[str, Path], dict, dict]:
    from geo_dash.exports import gpkg, html_map, pdf, xlsx

    stem = f"{_slug(data.meta['scope_key'])}_{data.meta['month']:%Y-%m}_v{info['version']}"
    paths = {"pdf": directory / f"ban_tin_{stem}.pdf", "html": directory / f"ban_do_{stem}.html",
             "gpkg": directory / f"diem_nong_{stem}.gpkg", "xlsx": directory / f"so_lieu_{stem}.xlsx"}
    seconds, out = {}, {}
    for kind, writer in (("pdf", pdf.write_pdf), ("html", html_map.write_html), ("gpkg", gpkg.write_gpkg),
                         ("xlsx", xlsx.write_xlsx)):
        t0 = time.perf_counter()
        out[kind] = writer(data, paths[kind], info)
        seconds[kind] = round(time.perf_counter() - t0, 3)
    return paths, seconds, out


def _previous(conn: Connection, month: dt.date, scheme: str, key: str) -> dict | None:
    row = conn.execute(text("""
        SELECT id, version, content_hash, as_of, run_id, data_version, params, is_demo FROM snapshot
        WHERE month = :m AND scheme = :s AND scope_key = :k ORDER BY version DESC LIMIT 1"""),
        {"m": month, "s": scheme, "k": key}).mappings().first()
    return dict(row) if row else None


def frozen_tables(db: Engine | Connection, snapshot_id: int) -> dict[str, list[dict]]:
    """The frozen rows of a snapshot, read back, in canonical form."""
    def read(conn):
        return {name: mf.canonical_rows(name, conn.execute(
            text(f"SELECT {', '.join(mf.columns(name))} FROM {mf.DB_TABLES[name]} WHERE snapshot_id = :id"),
            {"id": snapshot_id}).mappings().all()) for name in mf.TABLES}

    if isinstance(db, Connection):
        return read(db)
    with db.connect() as conn:
        return read(conn)


def _insert_tables(conn: Connection, snapshot_id: int, rows: dict[str, list[dict]]) -> None:
    for name, table_rows in rows.items():
        if not table_rows:
            continue
        cols = mf.TABLES[name]
        values = ", ".join(f"CAST(:{c.name} AS jsonb)" if c.kind == "json" else f":{c.name}" for c in cols)
        params = [{"snapshot_id": snapshot_id, **{c.name: _db_value(c, r[c.name]) for c in cols}} for r in table_rows]
        conn.execute(text(f"INSERT INTO {mf.DB_TABLES[name]} (snapshot_id, {', '.join(c.name for c in cols)}) "
                          f"VALUES (:snapshot_id, {values})"), params)


def _db_value(col: mf.Column, v):
    if v is None:
        return None
    if col.kind == "json":
        return mf.dumps(v)
    if col.kind == "date":
        return dt.date.fromisoformat(v)
    return v


def _insert_snapshot(conn: Connection, sid: int, version: int, data: mf.SnapshotData, actor: str, content: str,
                     files: dict, directory: Path, diff: dict | None) -> None:
    m = data.meta
    conn.execute(text("""
        INSERT INTO snapshot (id, month, scheme, province_code, scope_key, scope, scope_label, version, created_by,
                              as_of, run_id, data_version, params, content_hash, files, directory, is_demo, diff)
        VALUES (:id, :month, :scheme, :province, :key, CAST(:scope AS jsonb), :label, :version, :by, :as_of, :run,
                :dv, CAST(:params AS jsonb), :hash, CAST(:files AS jsonb), :dir, :demo, CAST(:diff AS jsonb))"""),
        {"id": sid, "month": m["month"], "scheme": m["scheme"], "province": m["province_code"], "key": m["scope_key"],
         "scope": mf.dumps(m["scope"]), "label": m["scope_label"], "version": version, "by": actor,
         "as_of": m["as_of"], "run": m["run"]["id"], "dv": m["run"].get("data_version"),
         "params": mf.dumps(m["params"]), "hash": content, "files": mf.dumps(files), "dir": str(directory),
         "demo": m["is_demo"], "diff": None if diff is None else mf.dumps(diff)})


def create_snapshot(engine: Engine, *, month, scheme: str = "legacy", scope: Scope, scope_label: str | None = None,
                    out_dir, actor: str | None = None, province_code: str | None = None) -> SnapshotResult:
    """Freeze the month for the scope and write the four files and the manifest (see the module docstring).

    ``province_code``: needed when the scope reaches several provinces (a national scope).
    """
    t0 = time.perf_counter()
    month = month_of(month)
    actor = actor or _os_user()
    province_code = province_code or only_province(engine, scheme, scope)
    geo = boundaries.province_geojson(engine, scheme, province_code, scope)
    inside = snapshot_scope(scope, scheme, province_code, geo)
    data = collect(engine, month=month, scheme=scheme, scope=inside, province_code=province_code,
                   scope_label=scope_label)
    t_collect = time.perf_counter() - t0
    rows = mf.canonical_tables(data.tables)
    content = mf.content_hash(data.tables)
    key = data.meta["scope_key"]
    directory = None
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                         {"k": f"snapshot:{month}:{scheme}:{key}"})
            previous = _previous(conn, month, scheme, key)
            version = previous["version"] + 1 if previous else 1
            sid = conn.execute(text("SELECT nextval('snapshot_id_seq')")).scalar_one()
            created_at = conn.execute(text("SELECT now()")).scalar_one()
            diff = (mf.diff_snapshots(previous, frozen_tables(conn, previous["id"]),
                                      {**data.meta, "run_id": data.meta["run"]["id"],
                                       "data_version": data.meta["run"].get("data_version")}, rows, content)
                    if previous else None)
            directory = Path(out_dir) / f"{month:%Y-%m}_{scheme}_{_slug(key)}_v{version}"
            if directory.exists():
                shutil.rmtree(directory)  # left by an attempt that failed before committing
            directory.mkdir(parents=True)
            info = {"id": sid, "version": version, "created_at": created_at, "content_hash": content,
                    "diff_summary": mf.diff_summary_vi(diff)}
            paths, seconds, outputs = _write_files(data, directory, info)
            files = {kind: mf.file_entry(p) for kind, p in paths.items()}
            counts = {name: len(r) for name, r in rows.items()}
            identity = {"id": sid, "version": version, "created_at": created_at.isoformat()}
            manifest = mf.build_manifest(identity=identity, meta=data.meta, content=content, counts=counts,
                                         files=files, diff=diff)
            paths["manifest"] = mf.write_manifest(directory, manifest)
            files["manifest"] = mf.file_entry(paths["manifest"])
            _insert_snapshot(conn, sid, version, data, actor, content, files, directory, diff)
            _insert_tables(conn, sid, rows)
            audit(conn, "snapshot.create", actor=actor, target=f"snapshot:{sid}",
                  details={"month": f"{month:%Y-%m}", "scheme": scheme, "scope": key, "version": version,
                           "content_hash": content})
    except BaseException:
        if directory is not None and directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        raise
    seconds = {"collect": round(t_collect, 3), **seconds, "total": round(time.perf_counter() - t0, 3)}
    return SnapshotResult(id=sid, version=version, month=month, scheme=scheme, province_code=province_code,
                          scope_key=key, scope_label=data.meta["scope_label"], directory=directory, files=paths,
                          content_hash=content, diff=diff, pdf_pages=outputs["pdf"]["pages"], seconds=seconds)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "unknown"


def commune_groups(engine: Engine, province_code: str) -> list[Scope]:
    """Groups of 2025 communes of a province that users serve (users scoped on 2025 communes only)."""
    from geo_dash.security.users import list_users

    with engine.connect() as conn:
        in_province = set(conn.execute(text(
            "SELECT code FROM admin_unit WHERE scheme = '2025' AND level = 'commune' AND province_code = :p"),
            {"p": province_code}).scalars())
    groups = set()
    for user in list_users(engine):
        parts = [p.strip() for p in (user["scope"] or "").split(";") if p.strip()]
        codes = {p.split(":", 1)[1] for p in parts if p.startswith("commune_2025:")}
        if parts and len(codes) == len(parts) and codes <= in_province:
            groups.add(frozenset(codes))
    return [Scope(communes_2025=g) for g in sorted(groups, key=sorted)]


def create_for_province_and_districts(engine: Engine, *, month, scheme: str = "legacy", province_code: str,
                                      out_dir, actor: str | None = None, scope: Scope = ALL,
                                      groups: list[Scope] | None = None) -> list[SnapshotResult]:
    """One snapshot for the province (when ``scope`` covers it) and one per district (legacy) or per
    group of 2025 communes (``groups``, default :func:`commune_groups`) that ``scope`` reaches."""
    geo = boundaries.province_geojson(engine, scheme, province_code, scope)
    units: list[Scope] = []
    if covers_province(scope, scheme, province_code):
        units.append(scope)
    if scheme == "legacy":
        with_communes = {f["properties"].get("parent") for f in geo["communes"]["features"]}
        for f in (geo.get("districts") or {}).get("features", []):
            code = f["properties"]["code"]
            if code in with_communes and (covers_province(scope, scheme, province_code)
                                          or code in scope.legacy_districts):
                units.append(Scope(legacy_districts=frozenset({code})))
    else:
        reachable = {f["properties"]["code"] for f in geo["communes"]["features"] if f["properties"].get("in_scope")}
        for g in (groups if groups is not None else commune_groups(engine, province_code)):
            if g.communes_2025 and g.communes_2025 <= reachable:
                units.append(g)
    return [create_snapshot(engine, month=month, scheme=scheme, scope=u, out_dir=out_dir, actor=actor,
                            province_code=province_code) for u in units]


# ---------------------------------------------------------------------- reading snapshots back
_LIST_COLUMNS = """id, month, scheme, province_code, scope_key, scope, scope_label, version, created_at, created_by,
                   as_of, run_id, data_version, content_hash, files, directory, is_demo, diff"""


def list_snapshots(engine: Engine, *, scope: Scope | None = None, month=None, scheme: str | None = None,
                   limit: int = 500) -> list[dict]:
    """Snapshots (newest month first) whose scope lies within ``scope`` (None = no filter besides the
    database's row-level security)."""
    params = {"m": month_of(month) if month else None, "s": scheme, "n": int(limit),
              "user": None if scope is None else scope_json(scope)}
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT {_LIST_COLUMNS} FROM snapshot
            WHERE (CAST(:m AS date) IS NULL OR month = :m) AND (CAST(:s AS text) IS NULL OR scheme = :s)
              AND (CAST(:user AS jsonb) IS NULL OR gd_scope_contains(CAST(:user AS jsonb), scope))
            ORDER BY month DESC, province_code, scope_key, version DESC LIMIT :n"""), params).mappings().all()
    return [dict(r) for r in rows]


def get_snapshot(engine: Engine, snapshot_id: int, *, scope: Scope | None = None) -> dict | None:
    """One snapshot, or None when absent or outside ``scope``."""
    params = {"id": int(snapshot_id), "user": None if scope is None else scope_json(scope)}
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT {_LIST_COLUMNS}, params FROM snapshot WHERE id = :id
              AND (CAST(:user AS jsonb) IS NULL OR gd_scope_contains(CAST(:user AS jsonb), scope))"""),
            params).mappings().first()
    return dict(row) if row else None


def snapshot_file(engine: Engine, snapshot_id: int, kind: str, scope: Scope) -> tuple[Path, str] | None:
    """(path, file name) of one of a snapshot's files that ``scope`` may see and that still matches
    its recorded SHA-256; None when the snapshot or file is unknown or outside the scope.
    Raises :class:`SnapshotError` when the file is missing or was altered."""
    if kind not in FILE_KINDS:
        return None
    snap = get_snapshot(engine, snapshot_id, scope=scope)
    if snap is None or kind not in (snap["files"] or {}):
        return None
    entry = snap["files"][kind]
    path = Path(snap["directory"]) / entry["name"]
    if not path.is_file():
        raise SnapshotError(f"tệp {entry['name']} không còn (missing)")
    if mf.file_sha256(path) != entry["sha256"]:
        raise SnapshotError(f"tệp {entry['name']} đã bị thay đổi (does not match its SHA-256)")
    return path, entry["name"]


def verify_snapshot(engine: Engine, snapshot_id: int) -> list[str]:
    """Problems found re-checking a snapshot: its frozen rows against ``content_hash``, its files
    against their SHA-256 ([] = intact)."""
    snap = get_snapshot(engine, snapshot_id)
    if snap is None:
        return [f"snapshot {snapshot_id} not found"]
    problems = []
    rows = frozen_tables(engine, snapshot_id)
    if mf.content_hash(rows) != snap["content_hash"]:
        problems.append("frozen rows do not match content_hash")
    for kind, entry in snap["files"].items():
        path = Path(snap["directory"]) / entry["name"]
        if not path.is_file():
            problems.append(f"{kind}: {path} is missing")
        elif mf.file_sha256(path) != entry["sha256"]:
            problems.append(f"{kind}: {path} does not match its SHA-256")
    return problems
