"""The snapshot's PDF briefing (reportlab platypus), A4 landscape, in Vietnamese.

Sections, each from a new page: cover (scope, month, data as of, headline KPIs, demo warning) →
choropleth map (legend, scale bar, north arrow, inset locator; the map page's classification) →
KPIs against targets → emerging hotspots with their EHSA category and the change since the
previous month → sensitive-area hotspots flagged for priority dialogue → alerts → NTM progress →
methods and provenance.  Long tables are ``LongTable``s that repeat their header row on every
page they continue on; nothing is cut off.

The text font is DejaVu Sans, embedded from matplotlib's own copy (``mpl-data/fonts/ttf``), which
has every Vietnamese glyph; the map image is drawn with matplotlib and geopandas.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.lines import Line2D
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (BaseDocTemplate, Frame, Image, LongTable, PageBreak, PageTemplate, Paragraph,
                                Spacer, TableStyle)

from geo_dash.exports import manifest as mf
from geo_dash.layers.classify import NO_DATA_COLOR, fmt_number
from geo_dash.web.i18n import t

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
PAGE = landscape(A4)
MARGIN = 14 * mm
HOT_EDGE = "#67000d"
ORANGE = colors.HexColor("#e8590c")
SECTIONS = ("cover", "map", "kpis", "hotspots", "sensitive", "alerts", "ntm", "methods")
TOP_ON_MAP = 10


# ---------------------------------------------------------------------- fonts and styles
def register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=9.6),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=9.6,
                               textColor=colors.white),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=6,
                             textColor=colors.HexColor("#7f0000")),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=6,
                             spaceAfter=4),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=24, leading=30,
                                alignment=TA_CENTER, textColor=colors.HexColor("#7f0000")),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=15, leading=20, alignment=TA_CENTER),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
        "demo": ParagraphStyle("demo", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14,
                               textColor=colors.white, backColor=ORANGE, borderPadding=6, alignment=TA_CENTER),
    }


def _p(text_: str | None, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape("—" if text_ is None else str(text_)), style)


def _num(x, digits: int = 0) -> str:
    return fmt_number(None if x is None else float(x), "vi", digits) if x is not None else "—"


def _pct(x, digits: int = 1) -> str:
    return "—" if x is None else f"{fmt_number(round(float(x), digits), 'vi', digits)}%"


def _change(x) -> str:
    if x is None:
        return "—"
    if abs(x) < 1e-9:
        return "0"
    return ("▲ +" if x > 0 else "▼ −") + fmt_number(round(abs(x), 2), "vi", 2)


# ---------------------------------------------------------------------- the map image
def _nice_length(km: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200):
        if step >= km:
            return step
    return 500.0


def _scale_bar(ax, bounds) -> None:
    x0, y0, x1, y1 = bounds
    lat = (y0 + y1) / 2
    km_per_deg = 111.32 * math.cos(math.radians(lat))
    length_km = _nice_length((x1 - x0) * km_per_deg / 5)
    deg = length_km / km_per_deg
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.012
    for i in range(2):
        ax.add_patch(Rectangle((bx + i * deg / 2, by), deg / 2, h, facecolor="black" if i == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=6))
    for frac, label in ((0, "0"), (0.5, fmt_number(length_km / 2, "vi", 1)), (1, f"{fmt_number(length_km, 'vi', 1)} km")):
        ax.text(bx + frac * deg, by + h * 1.8, label, ha="center", va="bottom", fontsize=7, zorder=6)


def _north_arrow(ax) -> None:
    """An arrow pointing north, marked B (Bắc) as on Vietnamese maps."""
    ax.annotate("B", xy=(0.955, 0.97), xytext=(0.955, 0.87), xycoords="axes fraction", ha="center", va="center",
                fontsize=11, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 10, "headlength": 10})


def _inset(fig, data: mf.SnapshotData, bounds) -> None:
    ax = fig.add_axes([0.775, 0.04, 0.2, 0.42])
    country = data.country
    if country is not None and len(country):
        country.plot(ax=ax, facecolor="#e0e0e0", edgecolor="white", linewidth=0.2)
        own = country[country["code"] == data.meta["province_code"]]
        own.plot(ax=ax, facecolor="#fc8d59", edgecolor="#7f0000", linewidth=0.4)
    x0, y0, x1, y1 = bounds
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#7f0000", linewidth=1.0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Vị trí trong cả nước", fontsize=7.5)
    for s in ax.spines.values():
        s.set_linewidth(0.5)


def _legend(fig, data: mf.SnapshotData) -> None:
    cls = data.meta["classes"]
    counts = cls.get("counts") or []
    handles = [Patch(facecolor=c, edgecolor="#999999", linewidth=0.4, label=f"{lbl} ({counts[i] if i < len(counts) else 0})")
               for i, (c, lbl) in enumerate(zip(cls["colors"], cls["labels_vi"]))]
    n_missing = int((data.tables["communes"]["intensity_class"].fillna(-1) < 0).sum())
    handles.append(Patch(facecolor=NO_DATA_COLOR, edgecolor="#999999", linewidth=0.4,
                         label=f"{t('map.no_data', 'vi')} ({n_missing})"))
    handles.append(Patch(facecolor="none", edgecolor=HOT_EDGE, linewidth=1.8, label=t("map.hotspot", "vi")))
    handles.append(Patch(facecolor="none", edgecolor="#555555", hatch="///", linewidth=0.3,
                         label="Địa bàn nhạy cảm (ưu tiên đối thoại)"))
    if data.meta["scheme"] == "legacy":
        handles.append(Line2D([], [], color="#333333", linewidth=1.0, label=t("map.legend.districts", "vi")))
    handles.append(Line2D([], [], marker="o", color="white", markerfacecolor="white", markeredgecolor="black",
                          markersize=8, label="Số thứ tự điểm nóng (bảng mục 3)"))
    title = f"{t('indicator.intensity', 'vi')}\n{mf.month_vi(data.meta['month']).capitalize()}"
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.765, 0.97), fontsize=7.5, title=title,
               title_fontsize=8, frameon=False, alignment="left")


def render_map(data: mf.SnapshotData, *, dpi: int = 170) -> bytes:
    """PNG of the scope's communes coloured as on the map, with hot spots, sensitive areas and the
    first hotspots numbered; legend, scale bar, north arrow and inset locator."""
    fig = Figure(figsize=(10.6, 6.2), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.01, 0.02, 0.74, 0.96])
    ax.set_axis_off()
    geo = data.communes_geo
    communes = data.tables["communes"].set_index("commune_code")
    if geo is not None and len(geo):
        g = geo.set_index("code").join(communes, how="left")
        g.plot(ax=ax, color=g["intensity_color"].fillna(NO_DATA_COLOR), edgecolor="white", linewidth=0.3)
        sensitive = g[g["is_sensitive"].fillna(False).astype(bool)]
        if len(sensitive):
            with matplotlib.rc_context({"hatch.linewidth": 0.5}):
                sensitive.plot(ax=ax, facecolor="none", edgecolor="#555555", hatch="///", linewidth=0)
        if data.districts_geo is not None and len(data.districts_geo):
            data.districts_geo.boundary.plot(ax=ax, color="#333333", linewidth=0.9)
        hot = g[g["ehsa_category"].isin(data.meta["hot_categories"])]
        if len(hot):
            hot.boundary.plot(ax=ax, color=HOT_EDGE, linewidth=1.8)
        _number_hotspots(ax, g, data.tables["hotspots"])
        bounds = tuple(g.total_bounds)
    else:
        ax.text(0.5, 0.5, t("map.no_data", "vi"), ha="center", va="center", transform=ax.transAxes)
        bounds = (0, 0, 1, 1)
    _scale_bar(ax, bounds)
    _north_arrow(ax)
    _legend(fig, data)
    _inset(fig, data, bounds)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _number_hotspots(ax, g, hotspots) -> None:
    for _, h in hotspots.head(TOP_ON_MAP).iterrows():
        if h["commune_code"] not in g.index or g.loc[h["commune_code"], "geometry"] is None:
            continue
        pt = g.loc[h["commune_code"], "geometry"].representative_point()
        ax.annotate(str(int(h["rank"])), (pt.x, pt.y), ha="center", va="center", fontsize=7, fontweight="bold",
                    bbox={"boxstyle": "circle,pad=0.25", "facecolor": "white", "edgecolor": "black", "linewidth": 0.6},
                    zorder=7)


# ---------------------------------------------------------------------- tables
_GRID = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#7f0000")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f5f5")]),
    ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])


def table(header: list[str], rows: list[list], widths_mm: list[float], st: dict, *, numeric: set[int] = frozenset()) -> LongTable:
    """A LongTable that repeats its header on every page it runs onto; cells wrap."""
    right = ParagraphStyle("cell_r", parent=st["cell"], alignment=2)
    data = [[_p(h, st["head"]) for h in header]]
    for r in rows:
        data.append([c if isinstance(c, Paragraph) else _p(c, right if i in numeric else st["cell"])
                     for i, c in enumerate(r)])
    tbl = LongTable(data, colWidths=[w * mm for w in widths_mm], repeatRows=1, splitByRow=1)
    tbl.setStyle(_GRID)
    return tbl


def _records(data: mf.SnapshotData, name: str) -> list[dict]:
    """A frozen table's rows in their display order, values in canonical form."""
    return mf.canonical_rows(name, data.tables[name], sort=False)


def _trend(h: dict) -> str:
    """A hotspot's EHSA category, or why it is listed when it is not a hot spot (its alerts)."""
    if h["is_hot"]:
        return h["category_vi"]
    return f"có {h['n_alerts']} cảnh báo (EHSA: {h['category_vi'] or 'chưa phân loại'})"


# ---------------------------------------------------------------------- sections
class _Section(Spacer):
    """A zero-height marker: the page a section starts on is recorded when it is laid out."""

    def __init__(self, name: str):
        super().__init__(0, 0)
        self.section = name


def _headline_kpis(data: mf.SnapshotData) -> dict[str, dict]:
    level, code = data.meta["headline"]
    out = {}
    for r in _records(data, "kpis"):
        if r["level"] == level and r["unit_code"] == code:
            out[r["period_kind"]] = r
    return out


KPI_METRICS = (("received", "Tiếp nhận (vụ việc)", 0), ("resolved", "Đã giải quyết", 0),
               ("resolved_on_time", "Giải quyết đúng hạn", 0), ("resolved_on_time_pct", "Tỷ lệ giải quyết đúng hạn", 1),
               ("median_days_to_resolve", "Số ngày giải quyết (trung vị)", 1), ("backlog", "Tồn đọng", 0),
               ("overdue", "Quá hạn", 0), ("mass_petitions", "Khiếu kiện đông người", 0), ("dialogues", "Đối thoại", 0))
COVER_METRICS = ("received", "resolved_on_time_pct", "backlog", "overdue", "mass_petitions")


def _kpi_rows(kpis: dict[str, dict], only: tuple[str, ...] | None = None) -> list[list]:
    """One row per metric: the month, 12 months, year to date, then the target and whether it is met."""
    rows = []
    year = kpis.get("12m") or kpis.get("month") or kpis.get("ytd") or {}
    targets = year.get("targets") or {}
    for key, label, digits in KPI_METRICS:
        if only and key not in only:
            continue
        cells = [label]
        for kind in mf.PERIOD_KINDS:
            v = (kpis.get(kind) or {}).get(key)
            cells.append(_pct(v) if key.endswith("_pct") else _num(v, digits))
        tgt = targets.get(key)
        if tgt:
            meets = tgt.get("meets_target")
            cells += [_pct(tgt["target"], 0) if key.endswith("_pct") else _num(tgt["target"]),
                      "—" if meets is None else ("Đạt" if meets else f"Chưa đạt ({_change_pct(tgt.get('gap'))})")]
        else:
            cells += ["", ""]
        rows.append(cells)
    return rows


def _change_pct(gap) -> str:
    return "—" if gap is None else ("+" if gap >= 0 else "−") + f"{fmt_number(round(abs(gap), 1), 'vi', 1)} điểm %"


def _cover(data: mf.SnapshotData, info: dict, st: dict) -> list:
    m = data.meta
    created = info.get("created_at")
    hot = _records(data, "hotspots")
    out = [_Section("cover"), Spacer(1, 14 * mm),
           _p("BẢN TIN TÌNH HÌNH KHIẾU NẠI, TỐ CÁO VÀ ĐIỂM NÓNG", st["title"]), Spacer(1, 5 * mm),
           _p(m["scope_label"], st["subtitle"]),
           _p(mf.month_vi(m["month"]).capitalize(), st["subtitle"]), Spacer(1, 4 * mm),
           _p(f"Số liệu tính đến ngày {m['as_of']:%d/%m/%Y} — lần chạy phân tích #{m['run']['id']}"
              + (f", hoàn tất lúc {_fmt_ts(m['run'].get('finished_at'))}" if m["run"].get("finished_at") else ""),
              st["center"]),
           _p(f"Bản chụp số {info.get('id', '—')}, phiên bản {info.get('version', '—')}"
              + (f", lập lúc {created:%d/%m/%Y %H:%M} (UTC{created:%z})" if isinstance(created, dt.datetime) else "")
              + f" — {mf.SCHEME_VI[m['scheme']]}", st["center"]),
           _p(info.get("diff_summary") or "", st["center"]), Spacer(1, 6 * mm)]
    if m["is_demo"]:
        out += [_p("DỮ LIỆU MINH HỌA — KHÔNG PHẢI SỐ LIỆU THẬT. " + " ".join(m["demo_notes"]), st["demo"]),
                Spacer(1, 6 * mm)]
    kpis = _headline_kpis(data)
    out.append(_p(f"Chỉ tiêu chính — {_headline_name(data)}", st["h2"]))
    out.append(table(["Chỉ tiêu", period_label("month", m), "12 tháng", "Từ đầu năm", "Mục tiêu", "Đánh giá (12 tháng)"],
                     _kpi_rows(kpis, COVER_METRICS),
                     [70, 35, 35, 35, 30, 60], st, numeric={1, 2, 3, 4}))
    n_hot = sum(1 for h in hot if h["is_hot"])
    n_pri = sum(1 for h in hot if h["priority_dialogue"])
    top = hot[0] if hot else None
    out += [Spacer(1, 4 * mm), _p(
        f"{n_hot} xã là điểm nóng (EHSA), {len(_records(data, 'alerts'))} cảnh báo, "
        f"{n_pri} điểm nóng tại địa bàn nhạy cảm cần ưu tiên đối thoại."
        + (f" Điểm nóng cần chú ý nhất: {top['name']}"
           + (f" ({top['district_name']})" if top.get("district_name") else "")
           + f" — {_trend(top)}." if top else " Không có điểm nóng."), st["body"])]
    return out


def period_label(kind: str, meta: dict) -> str:
    return mf.period_vi(kind, meta["month"])


def _fmt_ts(iso: str | None) -> str:
    if not iso:
        return "—"
    ts = dt.datetime.fromisoformat(iso)
    return f"{ts:%d/%m/%Y %H:%M}"


def _headline_name(data: mf.SnapshotData) -> str:
    level, code = data.meta["headline"]
    for r in _records(data, "kpis"):
        if r["level"] == level and r["unit_code"] == code:
            return r["unit_name"] or code
    return data.meta["scope_label"]


def _map_section(data: mf.SnapshotData, st: dict) -> list:
    m = data.meta
    png = render_map(data)
    width = PAGE[0] - 2 * MARGIN
    img = Image(io.BytesIO(png), width=width, height=width * 6.2 / 10.6)
    return [_Section("map"), _p(f"1. Bản đồ {t('indicator.intensity', 'vi').lower()} — {mf.month_vi(m['month'])}",
                                st["h1"]),
            img,
            _p(f"Phân lớp: Fisher-Jenks, 5 lớp, bảng màu YlOrRd (như trên bản đồ trực tuyến). Viền đỏ sẫm: "
               f"điểm nóng theo phân tích điểm nóng không–thời gian (EHSA, {_ehsa_months(data)} tháng). "
               f"Nền gạch chéo: địa bàn nhạy cảm. Số trong vòng tròn: thứ tự trong bảng điểm nóng. "
               f"{t('map.source', 'vi')}.", st["small"])]


def _ehsa_months(data: mf.SnapshotData) -> int:
    return int(((data.meta["params"].get("analytics") or {}).get("params") or {}).get("ehsa_months", 24))


def _kpi_section(data: mf.SnapshotData, st: dict) -> list:
    m = data.meta
    out = [_Section("kpis"), _p("2. Kết quả tiếp nhận, giải quyết so với mục tiêu", st["h1"]),
           _p(_headline_name(data), st["h2"]),
           table(["Chỉ tiêu", period_label("month", m), "12 tháng", "Từ đầu năm", "Mục tiêu", "Đánh giá (12 tháng)"],
                 _kpi_rows(_headline_kpis(data)), [75, 35, 35, 35, 30, 60], st, numeric={1, 2, 3, 4}),
           _p("Mục tiêu: mọi vụ việc được giải quyết trong thời hạn luật định (Luật Khiếu nại 2011, Luật Tố cáo "
              "2018). Tồn đọng, quá hạn: tại ngày số liệu.", st["small"])]
    level, code = m["headline"]
    others = [r for r in _records(data, "kpis") if r["period_kind"] == "12m" and not (r["level"] == level
                                                                                      and r["unit_code"] == code)]
    if others:
        rows = [[r["unit_name"] or r["unit_code"], _num(r["received"]), _num(r["resolved"]),
                 _pct(r["resolved_on_time_pct"]), _num(r["median_days_to_resolve"], 1), _num(r["backlog"]),
                 _num(r["overdue"]), _num(r["mass_petitions"]), _num(r["dialogues"])] for r in others]
        out += [Spacer(1, 3 * mm), _p("Theo đơn vị — 12 tháng", st["h2"]),
                table(["Đơn vị", "Tiếp nhận", "Đã giải quyết", "Đúng hạn", "Số ngày (trung vị)", "Tồn đọng",
                       "Quá hạn", "Đông người", "Đối thoại"], rows, [70, 24, 26, 24, 28, 24, 24, 24, 24], st,
                      numeric=set(range(1, 9)))]
    return out


def _hotspot_rows(records: list[dict]) -> list[list]:
    return [[str(h["rank"]), h["name"], h["district_name"], _trend(h), _num(h["intensity"], 2), _num(h["intensity_prev"], 2), _change(h["intensity_change"]),
             _num(h["n_alerts"]), "⚑ Có" if h["priority_dialogue"] else ""] for h in records]


def _hotspot_section(data: mf.SnapshotData, st: dict) -> list:
    records = _records(data, "hotspots")
    out = [_Section("hotspots"), _p("3. Điểm nóng đang nổi lên", st["h1"]),
           _p(f"Xã có xu hướng điểm nóng (EHSA) hoặc có cảnh báo, xếp theo: ưu tiên đối thoại, điểm nóng, số "
              f"cảnh báo, Gi* tháng {data.meta['month']:%m/%Y}. Thay đổi: {t('indicator.intensity', 'vi').lower()} "
              f"so với tháng {_prev(data.meta['month']):%m/%Y}.", st["small"]), Spacer(1, 2 * mm)]
    if not records:
        return out + [_p(t("wall.no_hotspots", "vi"), st["body"])]
    out.append(table(["#", "Xã, phường", "Huyện", "Xu hướng điểm nóng (EHSA)", "Tháng này", "Tháng trước",
                      "Thay đổi", "Cảnh báo", "Ưu tiên"], _hotspot_rows(records),
                     [10, 45, 42, 62, 22, 22, 24, 18, 22], st, numeric={4, 5, 6, 7}))
    explained = [h for h in records if h["is_hot"]]
    if explained:
        out += [Spacer(1, 3 * mm), _p("Giải thích xu hướng", st["h2"]),
                table(["#", "Xã, phường", "Giải thích"], [[str(h["rank"]), h["name"], h["explanation_vi"]]
                                                         for h in explained], [10, 50, 207], st)]
    return out


def _prev(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _sensitive_section(data: mf.SnapshotData, st: dict) -> list:
    communes = data.tables["communes"].set_index("commune_code")
    records = [h for h in _records(data, "hotspots") if h["priority_dialogue"]]
    out = [_Section("sensitive"), _p("4. Điểm nóng tại địa bàn nhạy cảm — ưu tiên đối thoại", st["h1"]),
           _p("Địa bàn nhạy cảm: vùng đồng bào dân tộc thiểu số khu vực III, địa bàn tôn giáo, gần dự án đang giải "
              "phóng mặt bằng, xã biên giới. Các yếu tố này chỉ nâng mức ưu tiên đối thoại, không dùng để tính "
              "điểm nóng.", st["small"]), Spacer(1, 2 * mm)]
    if not records:
        return out + [_p("Không có điểm nóng nào tại địa bàn nhạy cảm trong tháng.", st["body"])]
    rows = [[str(h["rank"]), h["name"], h["district_name"], _trend(h), _reasons(communes, h["commune_code"]), _num(h["n_alerts"]), _change(h["intensity_change"])]
            for h in records]
    return out + [table(["#", "Xã, phường", "Huyện", "Xu hướng điểm nóng", "Lý do nhạy cảm", "Cảnh báo", "Thay đổi"],
                        rows, [10, 45, 42, 60, 62, 20, 28], st, numeric={5, 6})]


def _reasons(communes, code) -> str:
    if code in communes.index:
        v = communes.loc[code, "sensitive_reasons"]
        return v if isinstance(v, str) else "—"
    return "—"


def _alert_section(data: mf.SnapshotData, st: dict) -> list:
    records = _records(data, "alerts")
    out = [_Section("alerts"), _p("5. Cảnh báo sớm", st["h1"])]
    if not records:
        return out + [_p(t("panel.no_alerts", "vi"), st["body"])]
    rows = [[str(a["seq"]), mf.SEVERITY_VI.get(a["severity"], a["severity"]), a["commune_name"] or a["commune_code"],
             a["rule_id"], a["message_vi"], "⚑ Có" if a["priority_dialogue"] else ""] for a in records]
    return out + [table(["STT", "Mức độ", "Xã, phường", "Quy tắc", "Nội dung cảnh báo", "Ưu tiên"], rows,
                        [12, 22, 45, 40, 128, 20], st)]


def _ntm_section(data: mf.SnapshotData, st: dict) -> list:
    records = _records(data, "ntm")
    out = [_Section("ntm"), _p("6. Tiến độ xây dựng nông thôn mới", st["h1"])]
    if not records:
        return out + [_p("Không có số liệu nông thôn mới cho phạm vi này.", st["body"])]
    rows = [[r["unit_name"] or r["unit_code"], mf.NTM_LEVEL_VI.get(r["level"], r["level"]), _num(r["communes"]),
             _num(r["achieved"]), _pct(None if r["share"] is None else 100 * r["share"]),
             _pct(None if r["target"] is None else 100 * r["target"], 0),
             "—" if r["gap"] is None else _change_pct(100 * r["gap"]), _num(r["no_data"])] for r in records]
    out.append(table(["Đơn vị", "Mức", "Số xã", "Số xã đạt", "Tỷ lệ", "Mục tiêu", "So với mục tiêu", "Chưa có số liệu"],
                     rows, [70, 40, 22, 24, 24, 24, 34, 28], st, numeric={2, 3, 4, 5, 6, 7}))
    if any(r["is_demo"] for r in records):
        out.append(_p("Mức nông thôn mới là giá trị minh họa (demo), không phải số liệu thật.", st["small"]))
    return out


def _methods_section(data: mf.SnapshotData, info: dict, st: dict) -> list:
    m = data.meta
    a = (m["params"].get("analytics") or {})
    p = a.get("params") or {}
    rules = a.get("rules") or []
    lines = [
        ("Cường độ khiếu kiện", f"{a.get('intensity_formula') or 'xem intensity.yaml'}."),
        ("Điểm nóng trong tháng (Gi*)",
         f"Getis-Ord Gi* trên {p.get('value_column', 'intensity')} của các xã trong tỉnh, láng giềng kiểu hậu "
         f"(queen), xã đảo nối với {p.get('k_islands', 1)} xã gần nhất; mức ý nghĩa α = {p.get('alpha', 0.05)}"
         f"{', hiệu chỉnh FDR theo từng tỉnh-tháng' if p.get('fdr', True) else ''}."),
        ("Xu hướng điểm nóng (EHSA)",
         f"Phân tích điểm nóng không–thời gian (Emerging Hot Spot Analysis) trên {p.get('ehsa_months', 24)} tháng "
         f"gần nhất: chuỗi Gi* của từng xã và kiểm định xu hướng Mann-Kendall; phân loại theo Esri."),
        ("Cảnh báo sớm", "Quy tắc: " + (", ".join(f"{r.get('id')} ({r.get('type')})" for r in rules) or "—")
         + ". Ngưỡng của từng quy tắc ghi trong tham số của bản chụp (manifest.json)."),
        ("Chỉ tiêu giải quyết", "Tiếp nhận, giải quyết trong kỳ; đúng hạn = ngày giải quyết không muộn hơn hạn "
         "giải quyết (không có hạn tính là không đúng hạn); tồn đọng, quá hạn tại ngày số liệu. Mục tiêu: "
         + ", ".join(f"{k} = {v}" for k, v in (a.get("kpi_targets") or {}).items()) + "."),
        ("Bản đồ", "Màu theo phân lớp Fisher-Jenks 5 lớp (mapclassify), bảng màu ColorBrewer YlOrRd; ranh giới "
         "hiển thị đã đơn giản hoá (shapely coverage_simplify)."),
        ("Nguồn ranh giới", t("map.source", "vi") + "."),
        ("Nguồn vụ việc", f"Cơ sở dữ liệu geo_dash; phiên bản dữ liệu: {m['run'].get('data_version') or '—'}."),
    ]
    for layer in m.get("layers") or []:
        lines.append((f"Lớp {layer['title']}", f"{layer['source']} ({layer['date']}; {layer['licence']})"
                      + (" — GIÁ TRỊ MINH HỌA" if layer["is_demo"] else "") + "."))
    lines += [
        ("Lần chạy phân tích", f"#{m['run']['id']}, số liệu tính đến {m['as_of']:%d/%m/%Y}."),
        ("Phạm vi", f"{m['scope_label']} ({m['scope_key']}); chỉ gồm các xã và vụ việc trong phạm vi này."),
        ("Kiểm tra toàn vẹn", f"Mã SHA-256 nội dung các bảng đã đóng băng: {info.get('content_hash', '—')}. "
         "Mã SHA-256 của từng tệp ghi trong manifest.json."),
        ("Dữ liệu cá nhân", "Bản tin không chứa họ tên, số giấy tờ, điện thoại, địa chỉ của người dân, không chứa "
         "nội dung tóm tắt vụ việc."),
    ]
    rows = [[_p(k, st["cell"]), _p(v, st["cell"])] for k, v in lines]
    out = [_Section("methods"), _p("7. Phương pháp, tham số và nguồn dữ liệu", st["h1"])]
    if m["is_demo"]:
        out += [_p("LƯU Ý: BẢN TIN NÀY CÓ DỮ LIỆU MINH HỌA. " + " ".join(m["demo_notes"]), st["demo"]),
                Spacer(1, 4 * mm)]
    return out + [table(["Mục", "Nội dung"], rows, [55, 212], st)]


# ---------------------------------------------------------------------- the document
class _Doc(BaseDocTemplate):
    def __init__(self, path, meta: dict, **kw):
        super().__init__(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 4 * mm,
                         bottomMargin=MARGIN, invariant=1, initialFontName=FONT, initialFontSize=9.5, **kw)
        self.meta = meta
        self.sections: dict[str, int] = {}
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._decorate)])

    def afterFlowable(self, flowable):
        name = getattr(flowable, "section", None)
        if name:
            self.sections.setdefault(name, self.page)

    def _decorate(self, canvas, doc):
        m = self.meta
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, 8 * mm, f"geo_dash · {m['scope_label']} · {mf.month_vi(m['month'])} · "
                                          f"số liệu đến {m['as_of']:%d/%m/%Y}")
        canvas.drawRightString(PAGE[0] - MARGIN, 8 * mm, f"Trang {doc.page}")
        if m["is_demo"]:
            canvas.setFillColor(ORANGE)
            canvas.rect(0, PAGE[1] - 8 * mm, PAGE[0], 8 * mm, stroke=0, fill=1)
            canvas.setFillColor(colors.white)
            canvas.setFont(FONT_BOLD, 9)
            canvas.drawCentredString(PAGE[0] / 2, PAGE[1] - 5.6 * mm, "DỮ LIỆU MINH HỌA — không phải số liệu thật")
        canvas.restoreState()


def story(data: mf.SnapshotData, info: dict) -> list:
    st = _styles()
    parts = [_cover(data, info, st), _map_section(data, st), _kpi_section(data, st), _hotspot_section(data, st),
             _sensitive_section(data, st), _alert_section(data, st), _ntm_section(data, st),
             _methods_section(data, info, st)]
    out = []
    for i, part in enumerate(parts):
        if i:
            out.append(PageBreak())
        out.extend(part)
    return out


def write_pdf(data: mf.SnapshotData, path: Path, info: dict | None = None) -> dict:
    """Write the briefing; returns {"pages": n, "sections": {name: first page}}."""
    register_fonts()
    info = info or {}
    m = data.meta
    doc = _Doc(path, m, title=f"Bản tin điểm nóng {mf.month_vi(m['month'])} — {m['scope_label']}",
               author="geo_dash", subject="Bản tin tình hình khiếu nại, tố cáo và điểm nóng", creator="geo_dash")
    doc.build(story(data, info))
    return {"pages": doc.page, "sections": dict(doc.sections)}
