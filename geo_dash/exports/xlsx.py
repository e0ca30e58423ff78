"""The snapshot's XLSX workbook (openpyxl): KPIs, hotspots, alerts, per-commune indicators, NTM, and
an information sheet — Vietnamese headers, number formats, frozen header rows, filters.

The bytes are deterministic: the document properties carry the analytics' as-of date and the zip
entries a fixed timestamp, so the same frozen content gives the same file.  Nothing in the workbook
depends on the snapshot's id, version or creation time.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from geo_dash.exports import manifest as mf

SHEETS = (  # (sheet title, frozen table)
    ("Chỉ tiêu KPI", "kpis"),
    ("Điểm nóng", "hotspots"),
    ("Cảnh báo", "alerts"),
    ("Chỉ số theo xã", "communes"),
    ("Nông thôn mới", "ntm"),
)
INFO_SHEET = "Thông tin"
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_WIDE = {"ehsa_explanation_vi": 60, "explanation_vi": 60, "message_vi": 70, "message_en": 50, "figures": 40,
         "targets": 40, "sensitive_reasons": 30}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DISPLAY = {"level": mf.LEVEL_VI, "severity": mf.SEVERITY_VI}


def _cell_value(col: mf.Column, value, table: str, month: dt.date):
    if value is None:
        return None
    if col.kind == "bool":
        return "Có" if value else "Không"
    if col.kind == "json":
        return mf.dumps(value)
    if col.kind == "date":
        return dt.date.fromisoformat(value)
    if col.name == "period_kind":
        return mf.period_vi(value, month)
    if table == "ntm" and col.name == "level":
        return mf.NTM_LEVEL_VI.get(value, value)
    if col.name in _DISPLAY:
        return _DISPLAY[col.name].get(value, value)
    if col.kind in ("float", "int") and col.scale != 1.0:
        return value * col.scale
    return value


def _table_sheet(ws, table: str, rows: list[dict], month: dt.date) -> None:
    cols = mf.TABLES[table]
    ws.append([c.vi for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in rows:
        ws.append([_cell_value(c, r[c.name], table, month) for c in cols])
    for i, c in enumerate(cols, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = _WIDE.get(c.name, max(10, min(28, len(c.vi) + 2)))
        fmt = "dd/mm/yyyy" if c.kind == "date" else c.fmt
        if fmt or c.name in _WIDE:
            for cell in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                if fmt:
                    cell[0].number_format = fmt
                if c.name in _WIDE:
                    cell[0].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 45
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(rows) + 1}"


def info_rows(data: mf.SnapshotData, content_hash: str) -> list[tuple[str, str]]:
    m = data.meta
    rows = [
        ("Bản chụp số liệu", f"Bản tin điểm nóng khiếu nại, tố cáo {mf.month_vi(m['month'])}"),
        ("Phạm vi", m["scope_label"]),
        ("Mã phạm vi", m["scope_key"]),
        ("Địa giới hành chính", mf.SCHEME_VI[m["scheme"]]),
        ("Số liệu tính đến", f"{m['as_of']:%d/%m/%Y}"),
        ("Lần chạy phân tích", f"#{m['run']['id']}"),
        ("Phiên bản dữ liệu vụ việc", m["run"].get("data_version") or "—"),
        ("Mã kiểm tra nội dung (SHA-256)", content_hash),
        ("Dữ liệu minh họa", "CÓ — " + " ".join(m["demo_notes"]) if m["is_demo"] else "Không"),
        ("Ghi chú", "Không chứa họ tên, giấy tờ, địa chỉ của người dân, không chứa nội dung vụ việc."),
    ]
    return rows


def _info_sheet(ws, data: mf.SnapshotData, content_hash: str) -> None:
    for label, value in info_rows(data, content_hash):
        ws.append([label, value])
    for cell in ws["A"]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 110
    for cell in ws["B"]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _fixed_zip(path: Path) -> None:
    """Rewrite the zip with fixed entry timestamps (openpyxl stamps the current time)."""
    with zipfile.ZipFile(path) as src:
        entries = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, content)


def write_xlsx(data: mf.SnapshotData, path: Path, info: dict | None = None) -> dict:
    """Write the workbook; returns {"sheets": [...], "rows": {table: n}}."""
    tables = mf.canonical_tables(data.tables, sort=False)
    content_hash = (info or {}).get("content_hash") or mf.content_hash(data.tables)
    wb = Workbook()
    stamp = dt.datetime.combine(data.meta["as_of"], dt.time())
    wb.properties.creator = "geo_dash"
    wb.properties.lastModifiedBy = "geo_dash"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.title = f"Bản tin điểm nóng {mf.month_vi(data.meta['month'])} — {data.meta['scope_label']}"
    first = True
    for title, table in SHEETS:
        ws = wb.active if first else wb.create_sheet()
        ws.title = title
        first = False
        _table_sheet(ws, table, tables[table], data.meta["month"])
    _info_sheet(wb.create_sheet(INFO_SHEET), data, content_hash)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()  # not wb.save(): that stamps the current time as "modified"
    _fixed_zip(path)
    return {"sheets": [s for s, _ in SHEETS] + [INFO_SHEET], "rows": {t: len(tables[t]) for _, t in SHEETS}}
