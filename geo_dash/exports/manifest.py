"""What a snapshot is made of: the frozen tables, their canonical form and hash, the diff between
two versions, and the manifest that lets anyone check a snapshot's files.

Frozen tables
    :data:`TABLES` defines each table once — column, kind, Vietnamese header and spreadsheet
    number format — for the database (``snapshot_*`` of migration 0007), the XLSX and GeoPackage
    writers, the content hash and the diff.

Content hash
    ``sha256`` of the canonical JSON of every frozen table: rows sorted by the table's key, each
    value normalised by its column's kind (floats as Python's shortest round-trip ``repr``, NaN
    and missing as ``null``, dates ISO, JSON objects with sorted keys), ``json.dumps(...,
    sort_keys=True, ensure_ascii=False, separators=(",", ":"))``.  The same rows read back from
    the database give the same hash (:func:`canonical_rows` accepts both pandas frames and
    database rows), so the stored ``content_hash`` can be recomputed at any time.  Snapshot ids,
    versions and creation times are *not* part of the content.

Manifest
    ``manifest.json`` beside the files: the snapshot's identity, scope, month, analytics run,
    data version, parameters, content hash, row counts and each file's SHA-256 and size.
    :func:`verify_directory` recomputes the file hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from geo_dash.files import sha256_file as file_sha256  # noqa: F401 (public name)

MANIFEST_NAME = "manifest.json"
FORMAT = "geo_dash.snapshot/1"
DIFF_LIMIT = 200  # changed/added/removed entries listed per table (the counts are always complete)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str          # text | float | int | bool | date | json
    vi: str            # Vietnamese header (XLSX, PDF)
    fmt: str | None = None   # XLSX number format
    scale: float = 1.0       # multiply before writing to XLSX (percent 0..100 -> 0..1 for '0.0%')


COUNT = "#,##0"
RATE = "#,##0.0"
PCT = "0.0%"
_C = Column

TABLES: dict[str, tuple[Column, ...]] = {
    "communes": (
        _C("commune_code", "text", "Mã xã"), _C("name", "text", "Xã, phường, thị trấn"),
        _C("district_code", "text", "Mã huyện"), _C("district_name", "text", "Huyện, thị xã, thành phố"),
        _C("population", "int", "Dân số", COUNT),
        _C("intensity", "float", "Cường độ khiếu kiện (chỉ số tổng hợp)", "#,##0.00"),
        _C("n_new", "float", "Vụ việc mới", COUNT), _C("new_per_10k", "float", "Vụ việc mới / 10.000 dân", "#,##0.00"),
        _C("n_land", "float", "Vụ việc đất đai", COUNT), _C("n_mass", "float", "Khiếu kiện đông người", COUNT),
        _C("n_over_level", "float", "Đơn vượt cấp", COUNT), _C("backlog", "float", "Tồn đọng cuối tháng", COUNT),
        _C("overdue", "float", "Quá hạn cuối tháng", COUNT),
        _C("intensity_prev", "float", "Cường độ tháng trước", "#,##0.00"),
        _C("n_new_prev", "float", "Vụ việc mới tháng trước", COUNT),
        _C("intensity_class", "int", "Lớp trên bản đồ (0 = thấp nhất; −1 = không có số liệu)"),
        _C("intensity_color", "text", "Màu trên bản đồ"),
        _C("gi_z", "float", "Gi* z (tháng)", "0.00"), _C("gi_p", "float", "Gi* p (tháng)", "0.000"),
        _C("gi_bin", "int", "Gi* mức (−3…3)"),
        _C("ehsa_category", "text", "Xu hướng điểm nóng (EN)"),
        _C("ehsa_category_vi", "text", "Xu hướng điểm nóng"), _C("ehsa_explanation_vi", "text", "Giải thích"),
        _C("trend_tau", "float", "Mann-Kendall τ", "0.00"), _C("trend_p", "float", "Mann-Kendall p", "0.000"),
        _C("priority_dialogue", "bool", "Ưu tiên đối thoại"), _C("n_alerts", "int", "Số cảnh báo", COUNT),
        _C("is_sensitive", "bool", "Địa bàn nhạy cảm"), _C("sensitive_reasons", "text", "Lý do nhạy cảm"),
        _C("ntm_level", "text", "Mức nông thôn mới"), _C("layer_is_demo", "bool", "Lớp bối cảnh là dữ liệu minh họa"),
    ),
    "hotspots": (
        _C("rank", "int", "Thứ tự"), _C("commune_code", "text", "Mã xã"), _C("name", "text", "Xã, phường, thị trấn"),
        _C("district_name", "text", "Huyện, thị xã, thành phố"), _C("category", "text", "Xu hướng điểm nóng (EN)"),
        _C("category_vi", "text", "Xu hướng điểm nóng"), _C("explanation_vi", "text", "Giải thích"),
        _C("last_z", "float", "Gi* z (tháng)", "0.00"), _C("n_hot", "int", "Số tháng là điểm nóng", COUNT),
        _C("n_alerts", "int", "Số cảnh báo", COUNT), _C("priority_dialogue", "bool", "Ưu tiên đối thoại"),
        _C("is_hot", "bool", "Điểm nóng (EHSA)"),
        _C("intensity", "float", "Cường độ tháng này", "#,##0.00"),
        _C("intensity_prev", "float", "Cường độ tháng trước", "#,##0.00"),
        _C("intensity_change", "float", "Thay đổi so với tháng trước", "+#,##0.00;-#,##0.00;0"),
    ),
    "alerts": (
        _C("seq", "int", "STT"), _C("commune_code", "text", "Mã xã"), _C("commune_name", "text", "Xã, phường, thị trấn"),
        _C("district_code", "text", "Mã huyện"), _C("rule_id", "text", "Quy tắc"), _C("rule_type", "text", "Loại quy tắc"),
        _C("period", "text", "Kỳ"), _C("figures", "json", "Số liệu"), _C("message_vi", "text", "Nội dung cảnh báo"),
        _C("message_en", "text", "Nội dung (tiếng Anh)"), _C("severity", "text", "Mức độ"),
        _C("priority_dialogue", "bool", "Ưu tiên đối thoại"),
    ),
    "kpis": (
        _C("level", "text", "Cấp"), _C("unit_code", "text", "Mã đơn vị"), _C("unit_name", "text", "Đơn vị"),
        _C("period_kind", "text", "Kỳ"), _C("period_start", "date", "Từ ngày"), _C("period_end", "date", "Đến ngày"),
        _C("received", "int", "Tiếp nhận", COUNT), _C("resolved", "int", "Đã giải quyết", COUNT),
        _C("resolved_on_time", "int", "Giải quyết đúng hạn", COUNT),
        _C("resolved_on_time_pct", "float", "Tỷ lệ giải quyết đúng hạn", PCT, 0.01),
        _C("median_days_to_resolve", "float", "Số ngày giải quyết (trung vị)", "#,##0.0"),
        _C("backlog", "int", "Tồn đọng", COUNT), _C("overdue", "int", "Quá hạn", COUNT),
        _C("mass_petitions", "int", "Khiếu kiện đông người", COUNT), _C("dialogues", "int", "Đối thoại", COUNT),
        _C("targets", "json", "Chỉ tiêu"),
    ),
    "ntm": (
        _C("unit_code", "text", "Mã đơn vị"), _C("unit_name", "text", "Đơn vị"), _C("level", "text", "Mức"),
        _C("communes", "int", "Số xã", COUNT), _C("achieved", "int", "Số xã đạt", COUNT),
        _C("share", "float", "Tỷ lệ đạt", PCT), _C("target", "float", "Chỉ tiêu", PCT),
        _C("target_year", "int", "Năm chỉ tiêu"), _C("gap", "float", "Chênh lệch so với chỉ tiêu", PCT),
        _C("no_data", "int", "Xã chưa có số liệu", COUNT), _C("is_demo", "bool", "Dữ liệu minh họa"),
    ),
}
DB_TABLES = {"communes": "snapshot_commune", "hotspots": "snapshot_hotspot", "alerts": "snapshot_alert",
             "kpis": "snapshot_kpi", "ntm": "snapshot_ntm"}
KEYS = {"communes": ("commune_code",), "hotspots": ("rank",), "alerts": ("seq",),
        "kpis": ("level", "unit_code", "period_kind"), "ntm": ("unit_code", "level")}


# Vietnamese words for the codes the tables hold (PDF, XLSX, HTML)
LEVEL_VI = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "group": "Tổng"}
SEVERITY_VI = {"high": "Cao", "medium": "Trung bình", "low": "Thấp"}
NTM_LEVEL_VI = {"dat_chuan": "Đạt chuẩn NTM", "nang_cao": "NTM nâng cao", "kieu_mau": "NTM kiểu mẫu"}
PERIOD_KINDS = ("month", "12m", "ytd")
SCHEME_VI = {"legacy": "địa giới trước 01/07/2025 (3 cấp)", "2025": "địa giới từ 01/07/2025 (2 cấp)"}


def period_vi(kind: str, month: dt.date | None = None) -> str:
    if kind == "month":
        return f"Tháng {month:%m/%Y}" if month else "Tháng"
    return {"12m": "12 tháng", "ytd": "Từ đầu năm"}.get(kind, kind)


def month_vi(month: dt.date) -> str:
    return f"tháng {month:%m/%Y}"


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def empty_frame(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns(table)})


@dataclass
class SnapshotData:
    """Everything a snapshot freezes (``tables``) and what its files need besides (``meta``, geometry).

    ``meta``: month, scheme, province_code, province_name, scope_key, scope (JSON shape),
    scope_label, as_of, run (id, as_of, finished_at, data_version), params, is_demo,
    demo_notes, legend (the map's classes), layer provenance.
    ``communes_geo``: GeoDataFrame (commune_code, geometry) in EPSG:4326 of the communes in the
    scope that have a polygon; ``districts_geo``: their districts' outlines (legacy); ``country``:
    the provinces of the scheme, simplified, for the inset locator.
    """

    meta: dict
    tables: dict[str, pd.DataFrame]
    communes_geo: Any = None
    districts_geo: Any = None
    country: Any = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------- canonical form
def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def canonical_value(kind: str, v):
    """One value in its canonical (JSON-ready, comparable) form."""
    if _missing(v):
        return None
    if kind == "float":
        return float(v)
    if kind == "int":
        return int(v)
    if kind == "bool":
        return bool(v)
    if kind == "date":
        if isinstance(v, (pd.Timestamp, dt.datetime)):
            v = v.date()
        return v.isoformat() if isinstance(v, dt.date) else str(v)[:10]
    if kind == "json":
        obj = json.loads(v) if isinstance(v, str) else v
        return json.loads(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=_json_default))
    return str(v)


def canonical_rows(table: str, rows, *, sort: bool = True) -> list[dict]:
    """Rows (a DataFrame or an iterable of mappings) in canonical form, sorted by the table's key
    (``sort=False``: in the given order, for display)."""
    cols = TABLES[table]
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else [dict(r) for r in rows]
    out = [{c.name: canonical_value(c.kind, r.get(c.name)) for c in cols} for r in records]
    if not sort:
        return out
    key = KEYS[table]
    return sorted(out, key=lambda r: tuple("" if r[k] is None else (f"{r[k]:012d}" if isinstance(r[k], int) else r[k])
                                           for k in key))


def canonical_tables(tables: dict, *, sort: bool = True) -> dict[str, list[dict]]:
    return {name: canonical_rows(name, tables.get(name, empty_frame(name)), sort=sort) for name in TABLES}


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (dt.date, dt.datetime, pd.Timestamp)):
        return v.isoformat()
    if isinstance(v, Path):
        return str(v)
    return str(v)


def dumps(obj, *, indent: int | None = None) -> str:
    """JSON with sorted keys, UTF-8 text, no NaN (the form hashed and written)."""
    sep = (",", ":") if indent is None else (",", ": ")
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=sep, indent=indent,
                      default=_json_default, allow_nan=False)


def content_hash(tables: dict) -> str:
    """sha256 of the canonical JSON of the frozen tables (frames or database rows)."""
    return hashlib.sha256(dumps(canonical_tables(tables)).encode("utf-8")).hexdigest()




def file_entry(path: Path) -> dict:
    return {"name": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size}


# ---------------------------------------------------------------------- diff
def _key_of(table: str, row: dict) -> str:
    return "/".join(str(row[k]) for k in KEYS[table])


def diff_table(table: str, old: list[dict], new: list[dict]) -> dict:
    """Added, removed and changed rows (by key) of one canonical table; lists capped at DIFF_LIMIT."""
    before = {_key_of(table, r): r for r in old}
    after = {_key_of(table, r): r for r in new}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = []
    for k in sorted(set(before) & set(after)):
        fields = {c: [before[k][c], after[k][c]] for c in after[k] if before[k].get(c) != after[k][c]}
        if fields:
            changed.append({"key": k, "fields": fields})
    return {"added": len(added), "removed": len(removed), "changed": len(changed),
            "added_keys": added[:DIFF_LIMIT], "removed_keys": removed[:DIFF_LIMIT],
            "changes": changed[:DIFF_LIMIT]}


def diff_snapshots(previous: dict, old_tables: dict[str, list[dict]], new_meta: dict,
                   new_tables: dict[str, list[dict]], new_hash: str) -> dict:
    """What differs from the previous version: its identity, meta fields that changed, and each table."""
    meta = {}
    for key in ("as_of", "run_id", "data_version", "params", "is_demo"):
        a, b = json.loads(dumps(previous.get(key))), json.loads(dumps(new_meta.get(key)))
        if a != b:
            meta[key] = ([a, b] if key != "params"
                         else sorted(k for k in set(a or {}) | set(b or {}) if (a or {}).get(k) != (b or {}).get(k)))
    tables = {name: diff_table(name, old_tables.get(name, []), new_tables.get(name, [])) for name in TABLES}
    return {
        "previous": {"id": previous["id"], "version": previous["version"], "content_hash": previous["content_hash"]},
        "same_content": previous["content_hash"] == new_hash,
        "meta": meta,
        "tables": {k: v for k, v in tables.items() if v["added"] or v["removed"] or v["changed"]},
    }


def diff_summary_vi(diff: dict | None) -> str:
    """One line for people: 'Phiên bản 1: không đổi' or 'so với phiên bản 1: 3 xã thay đổi, …'."""
    if not diff:
        return "Phiên bản đầu tiên của tháng này."
    prev = diff["previous"]["version"]
    if diff["same_content"] and not diff["meta"]:
        return f"Số liệu giống hệt phiên bản {prev}."
    names = {"communes": "xã", "hotspots": "điểm nóng", "alerts": "cảnh báo", "kpis": "chỉ tiêu KPI", "ntm": "dòng NTM"}
    parts = []
    for t, d in diff["tables"].items():
        bits = [f"{d[k]} {w}" for k, w in (("changed", "thay đổi"), ("added", "thêm"), ("removed", "bớt")) if d[k]]
        parts.append(f"{names.get(t, t)}: " + ", ".join(bits))
    if "data_version" in diff["meta"]:
        parts.append("dữ liệu vụ việc đã cập nhật")
    if "params" in diff["meta"]:
        parts.append("tham số phân tích thay đổi: " + ", ".join(diff["meta"]["params"]))
    return f"So với phiên bản {prev}: " + ("; ".join(parts) if parts else "chỉ khác thông tin lần chạy") + "."


# ---------------------------------------------------------------------- manifest
def build_manifest(*, identity: dict, meta: dict, content: str, counts: dict, files: dict, diff: dict | None) -> dict:
    return {
        "format": FORMAT,
        "snapshot": identity,
        "month": meta["month"].strftime("%Y-%m"),
        "scheme": meta["scheme"],
        "province_code": meta["province_code"],
        "scope_key": meta["scope_key"],
        "scope": meta["scope"],
        "scope_label": meta["scope_label"],
        "analytics_run": meta["run"],
        "data_version": meta["run"].get("data_version"),
        "params": meta["params"],
        "is_demo": meta["is_demo"],
        "content_hash": {"algorithm": "sha256 of the canonical JSON of the frozen tables "
                                      "(geo_dash/exports/manifest.py)", "value": content},
        "rows": counts,
        "files": files,
        "diff": diff,
    }


def write_manifest(directory: Path, manifest: dict) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def verify_directory(directory: Path) -> list[str]:
    """Problems found re-hashing the files a manifest lists ([] = intact)."""
    manifest = json.loads((Path(directory) / MANIFEST_NAME).read_text(encoding="utf-8"))
    problems = []
    for kind, entry in manifest["files"].items():
        path = Path(directory) / entry["name"]
        if not path.exists():
            problems.append(f"{kind}: {entry['name']} is missing")
        elif file_sha256(path) != entry["sha256"]:
            problems.append(f"{kind}: {entry['name']} does not match its SHA-256")
    return problems
