"""The snapshot's offline HTML map (folium): one file that opens from a USB stick with no network.

* No tiles (``tiles=None``) and **no remote reference at all**: the Leaflet 1.9.4 JS and CSS shipped
  in ``geo_dash/exports/vendor/leaflet`` (from the npm package, BSD-2-Clause) are inlined, their
  images as data URIs, and folium's default CDN links (jQuery, Bootstrap, …) are dropped.
* The communes' geometry is embedded once; a small control switches the choropleth between the
  month's indicators (the map page's indicators and classification), with the matching legend.
  Overlays: EHSA hot spots, sensitive areas, district outlines (legacy), alerts.
* Popups: the commune's figures of the month, the change since the previous month, its EHSA
  category, Gi*, alerts, NTM level and sensitive-area reasons.  No personal data, no case summary.
* Element ids are numbered in order instead of folium's random ones, so the same content gives
  the same file (the header shows the snapshot's id and version, which differ between versions).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from geo_dash.exports import manifest as mf
from geo_dash.layers.classify import NO_DATA_COLOR, fmt_number
from geo_dash.web.i18n import t

VENDOR = Path(__file__).parent / "vendor" / "leaflet"
HOT_EDGE = "#67000d"


def leaflet_inline() -> tuple[str, str]:
    """(css, js) of the vendored Leaflet, the CSS's images as data URIs."""
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        png = (VENDOR / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    css = re.sub(r"url\((images/[a-z0-9-]+\.png)\)", data_uri, css)
    return css, (VENDOR / "leaflet.js").read_text(encoding="utf-8")


def _classes(data: mf.SnapshotData, indicator: str):
    from geo_dash.exports.snapshot import map_classes

    return map_classes(indicator, data.tables["communes"][indicator])


def _digits(indicator: str) -> int:
    return 2 if indicator in ("intensity", "new_per_10k") else 1


def _popup_html(r: dict) -> str:
    from geo_dash.exports.snapshot import INDICATORS

    def row(label, value):
        return f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"

    rows = [row(t(f"indicator.{i}", "vi"), fmt_number(r[i], "vi", _digits(i))) for i in INDICATORS]
    change = None if r["intensity"] is None or r["intensity_prev"] is None else r["intensity"] - r["intensity_prev"]
    rows.append(row("Cường độ: thay đổi so với tháng trước",
                    "—" if change is None else ("+" if change > 0 else "") + fmt_number(round(change, 2), "vi", 2)))
    rows.append(row("Xu hướng điểm nóng (EHSA)", r["ehsa_category_vi"] or "—"))
    rows.append(row("Gi* z (tháng)", fmt_number(r["gi_z"], "vi", 2)))
    rows.append(row("Số cảnh báo", fmt_number(r["n_alerts"], "vi", 0)))
    rows.append(row("Ưu tiên đối thoại", "Có" if r["priority_dialogue"] else "Không"))
    rows.append(row("Địa bàn nhạy cảm", r["sensitive_reasons"] or ("Không" if r["is_sensitive"] is False else "—")))
    rows.append(row("Nông thôn mới", r["ntm_level"] or "—"))
    title = html.escape(r["name"] or r["commune_code"]) + (f" — {html.escape(r['district_name'])}"
                                                          if r.get("district_name") else "")
    demo = "<p class='gd-demo-note'>Lớp bối cảnh: giá trị minh họa</p>" if r["layer_is_demo"] else ""
    return f"<div class='gd-popup'><strong>{title}</strong><table>{''.join(rows)}</table>{demo}</div>"


def _feature_collection(data: mf.SnapshotData, colors: dict[str, dict[str, str]]) -> dict:
    records = {r["commune_code"]: r for r in mf.canonical_rows("communes", data.tables["communes"], sort=False)}
    features = []
    geo = data.communes_geo
    for code, geom in zip(geo["code"], geo.geometry):
        r = records.get(code)
        if r is None or geom is None:
            continue
        props = {"code": code, "name": r["name"], "popup": _popup_html(r),
                 "hot": r["ehsa_category"] in data.meta["hot_categories"], "sensitive": bool(r["is_sensitive"]),
                 **{f"c_{i}": colors[i].get(code, NO_DATA_COLOR) for i in colors}}
        features.append({"type": "Feature", "id": code, "properties": props, "geometry": geom.__geo_interface__})
    return {"type": "FeatureCollection", "features": features}


def _legend_html(data: mf.SnapshotData, indicator: str, classes) -> str:
    items = [f"<div><span class='gd-sw' style='background:{c}'></span>{html.escape(lbl)} ({n})</div>"
             for c, lbl, n in zip(classes.colors, classes.labels_vi, classes.counts)]
    missing = int((classes.class_of < 0).sum())
    items.append(f"<div><span class='gd-sw' style='background:{NO_DATA_COLOR}'></span>"
                 f"{html.escape(t('map.no_data', 'vi'))} ({missing})</div>")
    items.append(f"<div><span class='gd-sw gd-hot'></span>{html.escape(t('map.hotspot', 'vi'))}</div>")
    return (f"<strong>{html.escape(t(f'indicator.{indicator}', 'vi'))}</strong>"
            f"<div class='gd-period'>{html.escape(mf.month_vi(data.meta['month']).capitalize())}</div>{''.join(items)}")


class IndicatorSwitch(MacroElement):
    """A select control that restyles the communes layer by indicator and swaps the legend (inline JS)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var layer = {{ this.layer.get_name() }};
            var legends = {{ this.legends|tojson }};
            var labels = {{ this.labels|tojson }};
            var current = {{ this.first|tojson }};
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                this._div = L.DomUtil.create('div', 'gd-box gd-legend');
                return this._div;
            };
            legend.addTo({{ this.map.get_name() }});
            function apply(ind) {
                current = ind;
                layer.setStyle(function (f) {
                    return {fillColor: f.properties['c_' + ind], fillOpacity: 0.85, color: '#ffffff', weight: 0.6};
                });
                legend._div.innerHTML = legends[ind];
            }
            var sw = L.control({position: 'topright'});
            sw.onAdd = function () {
                var div = L.DomUtil.create('div', 'gd-box gd-switch');
                var html = '<label for="gd-indicator">Chỉ tiêu</label><select id="gd-indicator">';
                Object.keys(labels).forEach(function (k) {
                    html += '<option value="' + k + '">' + labels[k] + '</option>';
                });
                div.innerHTML = html + '</select>';
                L.DomEvent.disableClickPropagation(div);
                div.querySelector('select').addEventListener('change', function (e) { apply(e.target.value); });
                return div;
            };
            sw.addTo({{ this.map.get_name() }});
            apply(current);
        })();
        {% endmacro %}
    """)

    def __init__(self, fmap, layer, legends: dict, labels: dict, first: str):
        super().__init__()
        self._name = "IndicatorSwitch"
        self.map, self.layer, self.legends, self.labels, self.first = fmap, layer, legends, labels, first


_CSS = """
.gd-box { background: #fff; padding: 6px 9px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
          font: 13px/1.35 "DejaVu Sans", Arial, sans-serif; }
.gd-legend .gd-sw { display: inline-block; width: 14px; height: 11px; margin-right: 6px; border: 1px solid #999;
                    vertical-align: middle; }
.gd-legend .gd-hot { background: transparent; border: 2px solid #67000d; }
.gd-legend .gd-period { color: #555; margin-bottom: 3px; }
.gd-switch label { display: block; font-weight: bold; margin-bottom: 2px; }
.gd-header { position: absolute; bottom: 48px; left: 10px; z-index: 1000; max-width: 46%; }
.gd-header h1 { font-size: 16px; margin: 0 0 3px; color: #7f0000; }
.gd-header p { margin: 1px 0; }
.gd-demo { background: #e8590c; color: #fff; font-weight: bold; padding: 4px 6px; margin-top: 4px; }
.gd-popup table { border-collapse: collapse; margin-top: 4px; }
.gd-popup th { text-align: left; font-weight: normal; color: #555; padding: 1px 8px 1px 0; }
.gd-popup td { text-align: right; padding: 1px 0; }
.gd-demo-note { color: #e8590c; margin: 4px 0 0; }
.leaflet-container { background: #f4f4f0; }
.leaflet-popup-content { font-size: 12px; line-height: 1.3; margin: 8px 10px; }
"""


def _header_html(data: mf.SnapshotData, info: dict) -> str:
    m = data.meta
    demo = (f"<div class='gd-demo' title='{html.escape(' '.join(m['demo_notes']), quote=True)}'>"
            f"DỮ LIỆU MINH HỌA — không phải số liệu thật</div>" if m["is_demo"] else "")
    return (f"<div class='gd-box gd-header'><h1>Bản đồ điểm nóng khiếu nại, tố cáo — "
            f"{html.escape(mf.month_vi(m['month']))}</h1>"
            f"<p><strong>{html.escape(m['scope_label'])}</strong> · {html.escape(mf.SCHEME_VI[m['scheme']])}</p>"
            f"<p>{html.escape(t('map.as_of', 'vi', date=m['as_of'].strftime('%d/%m/%Y')))} · bản chụp số "
            f"{info.get('id', '—')}, phiên bản {info.get('version', '—')}</p>"
            f"<p style='font-size:11px;color:#555'>{html.escape(t('map.source', 'vi'))}</p>{demo}</div>")


def _overlay(fmap, features: list[dict], name: str, style: dict, show: bool = True) -> None:
    if not features:
        return
    fg = folium.FeatureGroup(name=name, show=show)
    folium.GeoJson({"type": "FeatureCollection", "features": features}, style_function=lambda _f, s=style: s,
                   interactive=False).add_to(fg)
    fg.add_to(fmap)


def _alerts_layer(fmap, data: mf.SnapshotData) -> None:
    """One marker per commune with alerts (at its representative point), popup listing them.

    A GeoJSON layer with GeoJsonPopup, not folium.Popup: the latter needs jQuery."""
    alerts = mf.canonical_rows("alerts", data.tables["alerts"], sort=False)
    if not alerts or data.communes_geo is None or not len(data.communes_geo):
        return
    points = {c: g.representative_point() for c, g in zip(data.communes_geo["code"], data.communes_geo.geometry)
              if g is not None}
    by_commune: dict[str, list[dict]] = {}
    for a in alerts:
        by_commune.setdefault(a["commune_code"], []).append(a)
    features = []
    for code, items in by_commune.items():
        if code not in points:
            continue
        title = html.escape(items[0]["commune_name"] or code)
        body = "".join(f"<li>{html.escape(mf.SEVERITY_VI.get(a['severity'], a['severity']))}: "
                       f"{html.escape(a['message_vi'])}</li>" for a in items)
        features.append({"type": "Feature", "id": f"alert-{code}", "geometry": points[code].__geo_interface__,
                         "properties": {"popup": f"<div class='gd-popup'><strong>{title}</strong><ul>{body}</ul></div>",
                                        "tooltip": f"{items[0]['commune_name'] or code}: {len(items)} cảnh báo",
                                        "severe": any(a["severity"] == "high" for a in items)}})
    fg = folium.FeatureGroup(name=f"{t('panel.alerts', 'vi')} ({len(alerts)})", show=True)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        marker=folium.CircleMarker(radius=7, weight=1, color="#000000", fill=True, fill_opacity=0.95),
        style_function=lambda f: {"fillColor": "#b10026" if f["properties"]["severe"] else "#fd8d3c",
                                  "color": "#000000", "weight": 1, "fillOpacity": 0.95},
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=440),
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
    ).add_to(fg)
    fg.add_to(fmap)


def _stable_ids(root) -> None:
    """Replace folium's random element ids by their order in the tree (same content → same file)."""
    counter = [0]

    def walk(el):
        counter[0] += 1
        el._id = f"{counter[0]:08d}"
        for child in list(el._children.values()):
            walk(child)

    walk(root)


def build_map(data: mf.SnapshotData, info: dict | None = None) -> folium.Map:
    from geo_dash.exports.snapshot import INDICATORS, MAP_INDICATOR

    info = info or {}
    bounds = data.extra.get("bounds") or [[8.0, 102.0], [23.5, 110.0]]
    if data.communes_geo is not None and len(data.communes_geo):
        x0, y0, x1, y1 = data.communes_geo.total_bounds
        bounds = [[y0, x0], [y1, x1]]
    fmap = folium.Map(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
                      zoom_start=9, tiles=None, control_scale=True, attributionControl=False, zoomSnap=0.25,
                      fadeAnimation=False)
    fmap.default_js, fmap.default_css = [], []  # nothing from a CDN: Leaflet is inlined below
    css, js = leaflet_inline()
    root = fmap.get_root()
    root.header.add_child(Element(f"<title>Bản đồ điểm nóng {mf.month_vi(data.meta['month'])} — "
                                  f"{html.escape(data.meta['scope_label'])}</title>"), name="title")
    root.header.add_child(Element(f"<style>{css}</style><style>{_CSS}</style>"), name="leaflet_css")
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js")
    classes = {i: _classes(data, i) for i in INDICATORS}
    codes = list(data.tables["communes"]["commune_code"])
    colors = {i: dict(zip(codes, c.color_of())) for i, c in classes.items()}
    fc = _feature_collection(data, colors)
    interactive = {} if not fc["features"] else {
        "tooltip": folium.GeoJsonTooltip(fields=["name"], labels=False),
        "popup": folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=440)}
    communes = folium.GeoJson(
        fc, name=t("map.legend.communes", "vi"),
        style_function=lambda f: {"fillColor": f["properties"][f"c_{MAP_INDICATOR}"], "fillOpacity": 0.85,
                                  "color": "#ffffff", "weight": 0.6},
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"}, control=False, **interactive)
    communes.add_to(fmap)
    hot = [f for f in fc["features"] if f["properties"]["hot"]]
    sensitive = [f for f in fc["features"] if f["properties"]["sensitive"]]
    _overlay(fmap, hot, t("map.hotspot", "vi"), {"fill": False, "color": HOT_EDGE, "weight": 3})
    _overlay(fmap, sensitive, "Địa bàn nhạy cảm (ưu tiên đối thoại)",
             {"fill": False, "color": "#333333", "weight": 1.5, "dashArray": "4 3"}, show=False)
    if data.districts_geo is not None and len(data.districts_geo):
        feats = [{"type": "Feature", "properties": {}, "geometry": g.__geo_interface__}
                 for g in data.districts_geo.geometry if g is not None]
        _overlay(fmap, feats, t("map.legend.districts", "vi"), {"fill": False, "color": "#333333", "weight": 1.4})
    _alerts_layer(fmap, data)
    legends = {i: _legend_html(data, i, c) for i, c in classes.items()}
    labels = {i: t(f"indicator.{i}", "vi") for i in INDICATORS}
    IndicatorSwitch(fmap, communes, legends, labels, MAP_INDICATOR).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    root.html.add_child(Element(_header_html(data, info)), name="gd_header")
    fmap.fit_bounds(bounds)
    _stable_ids(root)
    return fmap


def write_html(data: mf.SnapshotData, path: Path, info: dict | None = None) -> dict:
    """Write the self-contained map; returns {"bytes": n, "communes": features drawn}."""
    fmap = build_map(data, info)
    text = fmap.get_root().render()
    Path(path).write_text(text, encoding="utf-8")
    return {"bytes": len(text.encode("utf-8")),
            "communes": 0 if data.communes_geo is None else int(len(data.communes_geo))}
