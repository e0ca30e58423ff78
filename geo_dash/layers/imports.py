"""Import of context data into a layer: ``geo-dash layers import LAYER FILE``.

Files
    * Per-unit layers (``source.kind: layer_value``): CSV (UTF-8 with or
      without BOM, UTF-16 with BOM, or Windows-1258; delimiter , ; tab |) or
      XLSX (first sheet unless ``sheet``), header in the first row — or a GIS
      file whose attribute table holds the same columns.  Each row is keyed
      by the commune's GSO code (``Mã xã``, ``ma_xa``, ``commune_code``, …) or
      by its name within the province (``Tên xã``/``Xã`` + ``Huyện`` for the
      legacy scheme, + ``Tỉnh``, or ``province=``), matched diacritic-,
      case- and prefix-insensitively by :func:`geo_dash.boundaries.match.match_units`.
      The value columns are the layer's fields, recognised by their name,
      Vietnamese or English title or an alias of ``layers/<id>.yaml``.
    * Feature layers (``source.kind: features``): GeoJSON, GeoPackage, zipped
      Shapefile in any CRS (VN-2000 included; read by
      :func:`geo_dash.boundaries.io.read_boundary_file`, ``crs`` overrides), or
      CSV/XLSX with longitude/latitude columns (``Kinh độ``/``Vĩ độ``).
      A file whose features land outside Vietnam is refused (wrong CRS).

Guarantees (as the cases import)
    * Per-row errors, all of a row's problems at once, in Vietnamese with
      English in parentheses: unknown commune (with close names), a commune
      given twice (the later row names the first), a value out of range or
      not in the layer's categories, a missing required value, no usable
      geometry.  Invalid polygons are repaired (``make_valid``) and every
      repair is reported.
    * Nothing lost: ``rows_in = accepted + rejected`` (blank rows are counted
      apart); the rejects can be written back out with the original columns
      plus an error column (:func:`write_rejects`) and re-imported when fixed.
    * One transaction: the values, the removal of the demo values they
      replace, the 2025 values carried across the crosswalk and the
      ``layer_import`` record commit together or not at all.  A refused file
      (unreadable, no key column, wrong CRS, or any reject with ``strict``)
      changes no data and is recorded as ``refused`` with its reason.
    * Provenance: file name, SHA-256, who, when, source, source date,
      licence, source CRS and the full report are kept in ``layer_import``;
      every value row points at its import.

Semantics
    A row replaces that unit's values of the layer for the period (``period``,
    default static).  A real import removes the layer's *demo* values in the
    provinces it covers, so a province never mixes demo and real values.
    ``replace=True`` first removes every value of the layer in the scheme.
    Values imported on the legacy scheme are carried to the 2025 communes
    through the crosswalk with each field's ``crosswalk`` rule (marked
    ``derived = 'crosswalk'``); values imported directly on the 2025 scheme win.

Ethnicity and religion values are context: they raise the priority of
dialogue and are never an input to a hotspot score.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo_dash.boundaries.io import VIETNAM_BBOX, BoundaryFileError, polygonal, read_boundary_file
from geo_dash.boundaries.match import CODE_FIELDS, NAME_FIELDS, PARENT_FIELDS, match_units, normalise_code
from geo_dash.layers.registry import FieldSpec, Layer, get_layer
from geo_dash.text import fold, name_key
from geo_dash.files import sha256_file as _sha256

TABULAR = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
PROVINCE_FIELDS = ["ten_tinh", "tentinh", "tinh", "tinh_thanh_pho", "tinh_tp", "province", "province_name", "ma_tinh"]
LON_FIELDS = ["kinh_do", "kinhdo", "lon", "lng", "long", "longitude", "x"]
LAT_FIELDS = ["vi_do", "vido", "lat", "latitude", "y"]
FEATURE_NAME_FIELDS = ["ten", "ten_du_an", "ten_cong_trinh", "ten_kcn", "ten_ccn", "ten_khu", "du_an", "name", "project"]
FEATURE_REF_FIELDS = ["ma", "ma_du_an", "ma_so", "ma_kcn", "ma_ccn", "so_hieu", "ref", "code", "id"]
BLANKS = {"", "-", "—", "n/a", "na", "null", "none"}
REASON_HEADER = "Lỗi (errors)"


class LayerImportError(ValueError):
    """A file refused as a whole (nothing changed). ``problems`` lists details; ``import_id`` the record."""

    def __init__(self, message: str, problems: list[str] | None = None, import_id: int | None = None):
        self.problems = problems or []
        self.import_id = import_id
        more = "".join(f"\n  - {p}" for p in self.problems[:50])
        if len(self.problems) > 50:
            more += f"\n  … (+{len(self.problems) - 50})"
        super().__init__(message + more)


@dataclass
class RowReject:
    row: int                    # row number in the file (header = 1) or feature number
    label: str                  # "dòng 5 (row 5)" / "đối tượng 3 (feature 3)"
    reasons: list[str]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    import_id: int
    layer_id: str
    file: str
    scheme: str | None
    status: str = "committed"
    rows_in: int = 0
    accepted: int = 0
    rejected: int = 0
    blank_rows: int = 0
    rejects: list[RowReject] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    source_crs: str | None = None
    written: int = 0            # value rows or features written
    removed_demo: int = 0
    derived_2025: int = 0

    def report(self) -> dict:
        d = asdict(self)
        d["rejects"] = [{"row": r.row, "label": r.label, "reasons": r.reasons, "values": r.values} for r in self.rejects]
        return d


# ---------------------------------------------------------------------- reading
def _key(header: object) -> str:
    """Header key: folded, bracketed text dropped, punctuation to '_' ("Tỷ lệ DTTS (%)" -> "ty_le_dtts")."""
    s = re.sub(r"\(.*?\)|\[.*?\]", " ", fold(header))
    return re.sub(r"[^0-9a-z]+", "_", s).strip("_")


def _cell(v: object) -> Any:
    if v is None:
        return ""
    try:
        if pd.isna(v):  # NaN, NaT, pd.NA from a GIS attribute table
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v
    return unicodedata.normalize("NFC", str(v)).strip()


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return unicodedata.normalize("NFC", data.decode("cp1258"))


def read_table(path: Path, sheet: str | None = None) -> tuple[list[str], list[tuple[int, dict]]]:
    """Columns and rows (source row number, {column: cell}) of a CSV/XLSX file; header in row 1."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
            raise LayerImportError(f"không đọc được tệp Excel (cannot read {path.name}): {exc}") from exc
        try:
            if sheet and sheet not in wb.sheetnames:
                raise LayerImportError(f"không có trang tính (no sheet) {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
            ws = wb[sheet] if sheet else wb.worksheets[0]
            grid = [[_cell(c) for c in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    else:
        textdata = _decode(path.read_bytes())
        first = textdata.splitlines()[0] if textdata else ""
        delim = max([",", ";", "\t", "|"], key=lambda d: first.count(d))
        grid = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(textdata), delimiter=delim)]
    if not grid or not any(str(c) for c in grid[0]):
        raise LayerImportError(f"tệp không có dòng tiêu đề (no header row in row 1 of {path.name})")
    header = [str(c) if c != "" else f"cot_{i + 1}" for i, c in enumerate(grid[0])]
    rows = []
    for i, r in enumerate(grid[1:], start=2):
        r = list(r) + [""] * (len(header) - len(r))
        rows.append((i, dict(zip(header, r[: len(header)]))))
    return header, rows




# ---------------------------------------------------------------------- values
def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip().lower() in BLANKS)


def _number(s: str) -> float:
    s = str(s).strip().replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".")
    return float(s)


def _cat_key(s: object) -> str:
    return re.sub(r"[^0-9a-z]+", " ", fold(s)).strip()


def _parse_date(v: object) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
    if m:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", s)
    if m:  # day first, always
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    if re.fullmatch(r"\d{5}(\.0)?", s):  # an Excel serial number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(s)))
    raise ValueError(s)


def parse_value(spec: FieldSpec, raw: object, column: str) -> tuple[Any, str | None]:
    """(value, None) or (None, reason).  Blank gives (None, None) unless the field is required."""
    col = f"cột {column!r} (column {column!r})"
    if _blank(raw):
        return None, (f"{col}: thiếu giá trị bắt buộc (required value missing)" if spec.required else None)
    s = raw if isinstance(raw, (dt.date, dt.datetime)) else str(raw).strip()
    try:
        if spec.type in ("number", "percent", "integer", "year"):
            txt = str(s).rstrip("%").strip() if spec.type == "percent" else str(s)
            v = _number(txt)
            if np.isnan(v) or np.isinf(v):
                raise ValueError
            lo, hi = spec.min, spec.max
            if spec.type == "percent":
                lo, hi = (0 if lo is None else lo), (100 if hi is None else hi)
            if spec.type in ("integer", "year"):
                if not float(v).is_integer():
                    return None, f"{col}: {s!r} không phải số nguyên (not a whole number)"
                v = int(v)
            if spec.type == "year":
                lo, hi = (1900 if lo is None else lo), (2100 if hi is None else hi)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                rng = f"{'' if lo is None else lo:g}–{'' if hi is None else hi:g}" if lo is not None and hi is not None \
                    else (f"≥ {lo:g}" if lo is not None else f"≤ {hi:g}")
                return None, f"{col}: {s!r} ngoài khoảng {rng} (out of range {rng})"
            return v, None
        if spec.type in ("category",):
            key = _cat_key(s)
            for c in spec.categories:
                keys = {_cat_key(c.value), _cat_key(c.label.vi), _cat_key(c.label.en), *(_cat_key(a) for a in c.aliases)}
                if key in keys:
                    return c.value, None
            allowed = ", ".join(f"{c.label.vi} ({c.value})" for c in spec.categories)
            return None, f"{col}: {s!r} không thuộc danh mục (not one of): {allowed}"
        if spec.type == "boolean":
            key = _cat_key(s)
            if key in ("co", "x", "1", "true", "yes", "dung", "c", "y"):
                return "true", None
            if key in ("khong", "0", "false", "no", "sai", "k", "n"):
                return "false", None
            return None, f"{col}: {s!r} không phải có/không (not yes/no)"
        if spec.type == "date":
            return _parse_date(s), None
        return str(s), None
    except (ValueError, OverflowError):
        kind = {"date": "ngày dd/mm/yyyy (a date)", "year": "năm (a year)"}.get(spec.type, "số (a number)")
        return None, f"{col}: {s!r} không phải {kind}"


EXTRA_CODE = {"commune": ["ma_xa_phuong", "ma_phuong_xa", "ma_xa_phuong_thi_tran", "ma_don_vi_hanh_chinh", "ma_dvhc_xa"]}
EXTRA_NAME = {"commune": ["xa_phuong", "phuong_xa", "xa_phuong_thi_tran", "ten_xa_phuong", "ten_phuong_xa",
                          "ten_don_vi", "ten_dvhc"]}


def _find(columns, candidates) -> str | None:
    """The first column whose header key (see _key) is one of ``candidates`` (in their order)."""
    keyed: dict[str, str] = {}
    for c in columns:
        keyed.setdefault(_key(c), c)
    for cand in candidates:
        if cand in keyed:
            return keyed[cand]
    return None


def _field_columns(layer: Layer, columns: list[str], taken: set[str]) -> dict[str, str]:
    """field name -> file column, by name, titles or aliases (header keys)."""
    keyed = {}
    for c in columns:
        if c not in taken:
            keyed.setdefault(_key(c), c)
    out = {}
    for f in layer.fields:
        for cand in [f.name, f.title.vi, f.title.en, *f.aliases]:
            col = keyed.get(_key(cand))
            if col and col not in out.values():
                out[f.name] = col
                break
    return out


# ---------------------------------------------------------------------- the database side
def _units(conn: Connection, scheme: str) -> pd.DataFrame:
    return pd.read_sql(text("SELECT code, name, level, parent_code, province_code FROM admin_unit WHERE scheme = :s"),
                       conn, params={"s": scheme})


def _new_import(conn: Connection, layer: Layer, file: Path, sha: str | None, scheme: str | None, *, status: str,
                reason: str | None = None, source=None, source_date=None, licence=None, source_crs=None,
                is_demo=False, imported_by=None, rows_in=0, accepted=0, rejected=0, report=None) -> int:
    return conn.execute(text("""
        INSERT INTO layer_import (imported_by, layer_id, file_name, sha256, scheme, source, source_date, licence,
                                  source_crs, is_demo, status, reason, rows_in, accepted, rejected, report)
        VALUES (:by, :layer, :file, :sha, :scheme, :source, :sdate, :licence, :crs, :demo, :status, :reason,
                :rows_in, :accepted, :rejected, CAST(:report AS jsonb)) RETURNING id"""),
        dict(by=imported_by or getpass.getuser(), layer=layer.id, file=file.name if isinstance(file, Path) else str(file),
             sha=sha, scheme=scheme, source=source, sdate=source_date, licence=licence, crs=source_crs, demo=is_demo,
             status=status, reason=reason, rows_in=rows_in, accepted=accepted, rejected=rejected,
             report=json.dumps(report, default=str, ensure_ascii=False) if report is not None else None),
    ).scalar_one()


def _refuse(engine: Engine, layer: Layer, file: Path, scheme: str | None, message: str, problems=None,
            counts: tuple[int, int, int] = (0, 0, 0), **prov) -> LayerImportError:
    try:
        sha = _sha256(file) if file.exists() and file.is_file() else None
    except OSError:
        sha = None
    with engine.begin() as conn:
        iid = _new_import(conn, layer, file, sha, scheme, status="refused", reason=message,
                          rows_in=counts[0], accepted=counts[1], rejected=counts[2],
                          report={"problems": problems or []}, **prov)
    return LayerImportError(message, problems, import_id=iid)


def carry_to_2025(conn: Connection, layer: Layer, legacy_codes: list[str] | None = None,
                  import_id: int | None = None) -> int:
    """Carry the layer's legacy values to the 2025 communes through the crosswalk; returns rows written.

    Each field with a ``crosswalk`` rule: ``sum`` = Σ weight·value (weight = the
    legacy commune's area share in the new one); ``mean`` = population-weighted
    mean; ``min``/``max`` = lowest/highest (category rank, or number);
    ``dominant`` = the category with the largest weight·population.  Only legacy
    communes that have a value contribute.  Rows are ``derived = 'crosswalk'``,
    demo when any contributing value is demo, and never overwrite a value
    imported directly on the 2025 scheme.
    """
    fields = {f.name: f for f in layer.fields if f.crosswalk}
    if not fields:
        return 0
    if legacy_codes is None:
        legacy_codes = conn.execute(text("SELECT DISTINCT unit_code FROM layer_value WHERE layer_id = :l AND scheme = 'legacy'"),
                                    {"l": layer.id}).scalars().all()
    new_codes = conn.execute(text("SELECT DISTINCT new_code FROM crosswalk WHERE legacy_code = ANY(:c)"),
                             {"c": list(legacy_codes)}).scalars().all()
    if not new_codes:
        return 0
    parts = pd.DataFrame(conn.execute(text("""
        SELECT c.legacy_code, c.new_code, c.weight, l.population
        FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
        WHERE c.new_code = ANY(:n) AND c.weight > 0"""), {"n": list(new_codes)}).all(),
                         columns=["legacy_code", "new_code", "weight", "population"])
    vals = pd.DataFrame(conn.execute(text("""
        SELECT unit_code AS legacy_code, field, period, value_num, value_text, is_demo FROM layer_value
        WHERE layer_id = :l AND scheme = 'legacy' AND field = ANY(:f) AND unit_code = ANY(:c)"""),
        dict(l=layer.id, f=list(fields), c=parts["legacy_code"].unique().tolist())).all(),
                        columns=["legacy_code", "field", "period", "value_num", "value_text", "is_demo"])
    conn.execute(text("DELETE FROM layer_value WHERE layer_id = :l AND scheme = '2025' AND derived = 'crosswalk' "
                      "AND unit_code = ANY(:n)"), dict(l=layer.id, n=list(new_codes)))
    if vals.empty:
        return 0
    m = vals.merge(parts, on="legacy_code")
    m["pop_w"] = m["weight"] * pd.to_numeric(m["population"], errors="coerce").fillna(1).clip(lower=1)
    m["period_key"] = m["period"].astype(object).where(m["period"].notna(), None)
    rows = []
    for (new, fname, period), g in m.groupby(["new_code", "field", m["period"].astype(str)], dropna=False):
        spec = fields[fname]
        rule = spec.crosswalk
        num = txt = None
        if spec.type == "category" or spec.type == "boolean" or spec.type == "text":
            g = g[g["value_text"].notna()]
            if g.empty:
                continue
            if rule == "dominant":
                txt = g.groupby("value_text")["pop_w"].sum().idxmax()
            else:
                rank = {c.value: (c.rank if c.rank is not None else i) for i, c in enumerate(spec.categories or [])}
                ranked = sorted(g["value_text"].unique(), key=lambda v: rank.get(v, -1))
                txt = ranked[0] if rule == "min" else ranked[-1]
        else:
            g = g[g["value_num"].notna()]
            if g.empty:
                continue
            v = g["value_num"].astype(float)
            if rule == "sum":
                num = float((v * g["weight"]).sum())
                if spec.type in ("integer", "year"):
                    num = float(round(num))
            elif rule == "mean":
                num = float((v * g["pop_w"]).sum() / g["pop_w"].sum())
                num = round(num, 2)
            elif rule == "min":
                num = float(v.min())
            elif rule == "max":
                num = float(v.max())
            else:  # dominant on a number: the value of the largest part
                num = float(g.loc[g["pop_w"].idxmax(), "value_num"])
        per = g["period_key"].iloc[0]
        rows.append(dict(l=layer.id, f=fname, c=new, p=per if per is not None and not pd.isna(per) else None,
                         n=num, t=txt, d=bool(g["is_demo"].any()), i=import_id))
    if rows:
        conn.execute(text("""
            INSERT INTO layer_value (layer_id, field, scheme, unit_code, period, value_num, value_text, is_demo,
                                     derived, import_id)
            VALUES (:l, :f, '2025', :c, :p, :n, :t, :d, 'crosswalk', :i)
            ON CONFLICT ON CONSTRAINT uq_layer_value DO NOTHING"""), rows)
    return len(rows)


# ---------------------------------------------------------------------- per-unit layers
class _UnitResolver:
    """Row -> GSO code, by code column or by name within province (boundaries.match.match_units)."""

    def __init__(self, units: pd.DataFrame, *, scheme: str, level: str, columns: list[str], code_field=None,
                 name_field=None, parent_field=None, province_field=None, province=None):
        self.units, self.scheme, self.level = units, scheme, level
        self.known = set(units.loc[units["level"] == level, "code"])
        self.code_col = code_field or (None if name_field else _find(columns, CODE_FIELDS[level]
                                                                         + EXTRA_CODE.get(level, [])))
        self.name_col = None if self.code_col else (name_field or _find(columns, NAME_FIELDS[level]
                                                                        + EXTRA_NAME.get(level, [])))
        self.parent_col = parent_field or _find(columns, PARENT_FIELDS.get((scheme, level), []))
        self.province_col = province_field or _find(columns, PROVINCE_FIELDS)
        if self.parent_col == self.province_col and scheme == "2025":
            self.parent_col = None  # for 2025 communes the province is the parent: resolved below
        self.province = province
        for col, what in ((code_field, "code"), (name_field, "name"), (parent_field, "parent"),
                          (province_field, "province")):
            if col and col not in columns:
                raise LayerImportError(f"không có cột (no column) {col!r} ({what}); columns: {', '.join(columns)}")
        if province and province not in set(units.loc[units["level"] == "province", "code"]):
            raise LayerImportError(f"mã tỉnh {province!r} không có trong danh mục {scheme} (province code not in the list)")
        if not self.code_col and not self.name_col:
            raise LayerImportError(
                "không tìm thấy cột mã xã hoặc tên xã (no commune code or name column); columns: "
                f"{', '.join(columns)}. Use a column 'Mã xã' (GSO code) or 'Tên xã' with 'Huyện'/'Tỉnh', "
                "or name them with --code-field / --name-field.")
        if self.name_col and not (self.province or self.province_col or self.parent_col):
            raise LayerImportError(
                "khớp theo tên cần tỉnh (matching by name needs the province): add a column 'Tỉnh' (or 'Huyện' "
                "for the legacy scheme), or give --province CODE.")
        provs = units[units["level"] == "province"]
        self.province_by_key = {name_key(n): c for n, c in zip(provs["name"], provs["code"])}
        self.by_province = {p: g for p, g in units.groupby("province_code")}
        self.cache: dict[tuple, tuple[str | None, list[str]]] = {}

    def key_columns(self) -> set[str]:
        return {c for c in (self.code_col, self.name_col, self.parent_col, self.province_col) if c}

    def _province_of(self, raw) -> str | None:
        if _blank(raw):
            return None
        s = str(raw).strip()
        if s.isdigit():
            c = s.zfill(2)
            return c if c in self.by_province else None
        return self.province_by_key.get(name_key(s))

    def resolve(self, row: dict) -> tuple[str | None, list[str]]:
        if self.code_col:
            raw = row.get(self.code_col)
            if _blank(raw):
                return None, [f"thiếu mã xã (no commune code) in column {self.code_col!r}"]
            code = normalise_code(raw, self.level)
            if code is None or code not in self.known:
                return None, [f"mã {raw!r} không có trong danh mục {self.scheme} (code not in the {self.scheme} list)"]
            return code, []
        name = row.get(self.name_col)
        if _blank(name):
            return None, [f"thiếu tên đơn vị (no unit name) in column {self.name_col!r}"]
        prov = self.province
        if not prov and self.province_col:
            prov = self._province_of(row.get(self.province_col))
            if prov is None and not _blank(row.get(self.province_col)):
                return None, [f"không tìm thấy tỉnh {row.get(self.province_col)!r} (unknown province)"]
        parent = row.get(self.parent_col) if self.parent_col else None
        key = (prov, name_key(name), None if _blank(parent) else name_key(parent))
        if key in self.cache:
            return self.cache[key]
        units = self.by_province.get(prov, self.units.iloc[0:0]) if prov else self.units
        df = pd.DataFrame([{"__name": str(name), **({"__parent": str(parent)} if not _blank(parent) else {})}])
        try:
            code = match_units(df, units, level=self.level, scheme=self.scheme, name_field="__name",
                               parent_field="__parent" if "__parent" in df else None, province_code=prov)
            out = (code.iloc[0], [])
        except BoundaryFileError as exc:
            out = (None, [re.sub(r"^dòng 1 \(row 1\): ", "", p) for p in exc.problems] or [str(exc)])
        self.cache[key] = out
        return out


def _import_values(engine: Engine, layer: Layer, path: Path, *, scheme: str, crs, gis_layer, sheet, code_field,
                   name_field, parent_field, province_field, province, period, strict, replace, prov: dict,
                   imported_by) -> ImportResult:
    source_crs = None
    if path.suffix.lower() in TABULAR:
        columns, rows = read_table(path, sheet)
    else:
        try:
            gdf, source_crs = read_boundary_file(path, crs=crs, layer=gis_layer)
        except BoundaryFileError as exc:
            raise _refuse(engine, layer, path, scheme, str(exc), exc.problems, **prov) from exc
        attrs = gdf.drop(columns=gdf.geometry.name)
        columns = [str(c) for c in attrs.columns]
        rows = [(i + 1, {c: _cell(v) for c, v in zip(columns, rec)}) for i, rec in enumerate(attrs.itertuples(index=False))]
    with engine.connect() as conn:
        units = _units(conn, scheme)
    if units.empty:
        raise _refuse(engine, layer, path, scheme, "chưa có danh mục đơn vị hành chính (no admin units): run "
                      "`geo-dash boundaries load` first", **prov)
    try:
        resolver = _UnitResolver(units, scheme=scheme, level=layer.geometry, columns=columns, code_field=code_field,
                                 name_field=name_field, parent_field=parent_field, province_field=province_field,
                                 province=province)
    except LayerImportError as exc:
        raise _refuse(engine, layer, path, scheme, str(exc), **prov) from exc
    fcols = _field_columns(layer, columns, resolver.key_columns())
    missing = [f.name for f in layer.fields if f.required and f.name not in fcols]
    if not fcols or missing:
        want = missing or [f.name for f in layer.fields]
        hints = "; ".join(f"{layer.field(n).title.vi} ({n})" for n in want)
        raise _refuse(engine, layer, path, scheme, f"thiếu cột giá trị (missing value columns): {hints}; "
                      f"columns in the file: {', '.join(columns)}", **prov)
    tabular = path.suffix.lower() in TABULAR
    res = ImportResult(import_id=0, layer_id=layer.id, file=str(path), scheme=scheme, source_crs=source_crs)
    accepted: list[tuple[str, dict]] = []
    seen: dict[str, str] = {}
    for rownum, row in rows:
        if all(_blank(v) for v in row.values()):
            res.blank_rows += 1
            continue
        label = f"dòng {rownum} (row {rownum})" if tabular else f"đối tượng {rownum} (feature {rownum})"
        code, reasons = resolver.resolve(row)
        values = {}
        for fname, col in fcols.items():
            v, err = parse_value(layer.field(fname), row.get(col), col)
            if err:
                reasons.append(err)
            elif v is not None:
                values[fname] = v
        if not values and not reasons:
            reasons.append("không có giá trị nào (no values in the row)")
        if code and code in seen:
            reasons.append(f"đơn vị {code} đã có ở {seen[code]} (duplicate: this unit is already in {seen[code]})")
        elif code and not reasons:
            seen[code] = label
        if reasons:
            res.rejects.append(RowReject(rownum, label, reasons, {k: str(v) for k, v in row.items()}))
        else:
            accepted.append((code, values))
    res.rows_in = len(accepted) + len(res.rejects)
    res.accepted, res.rejected = len(accepted), len(res.rejects)
    if strict and res.rejects:
        raise _refuse(engine, layer, path, scheme, f"{res.rejected} dòng bị từ chối, chế độ nghiêm ngặt: không nạp gì "
                      f"(strict: {res.rejected} rows rejected, nothing imported)",
                      [f"{r.label}: {'; '.join(r.reasons)}" for r in res.rejects],
                      counts=(res.rows_in, 0, res.rows_in), **prov)
    codes = [c for c, _ in accepted]
    with engine.begin() as conn:
        iid = _new_import(conn, layer, path, _sha256(path), scheme, status="committed", source_crs=source_crs,
                          imported_by=imported_by, rows_in=res.rows_in, accepted=res.accepted,
                          rejected=res.rejected, **prov)
        res.import_id = iid
        provinces = sorted(units.loc[units["code"].isin(codes) & (units["level"] == layer.geometry),
                                     "province_code"].unique())
        if replace:
            res.removed_demo = conn.execute(text("DELETE FROM layer_value WHERE layer_id = :l AND scheme = :s"),
                                            dict(l=layer.id, s=scheme)).rowcount
            if scheme == "legacy":  # what was carried from the old legacy values goes with them
                conn.execute(text("DELETE FROM layer_value WHERE layer_id = :l AND scheme = '2025' "
                                  "AND derived = 'crosswalk'"), dict(l=layer.id))
        else:
            res.removed_demo = conn.execute(text("""
                DELETE FROM layer_value WHERE layer_id = :l AND scheme = :s AND is_demo AND unit_code IN (
                    SELECT code FROM admin_unit WHERE scheme = :s AND level = :lv AND province_code = ANY(:p))"""),
                dict(l=layer.id, s=scheme, lv=layer.geometry, p=provinces)).rowcount
        conn.execute(text("""DELETE FROM layer_value WHERE layer_id = :l AND scheme = :s AND unit_code = ANY(:c)
                             AND period IS NOT DISTINCT FROM CAST(:p AS date)"""),
                     dict(l=layer.id, s=scheme, c=codes, p=period))
        vrows = []
        for code, values in accepted:
            for fname, v in values.items():
                spec = layer.field(fname)
                num = float(v) if spec.type in ("number", "percent", "integer", "year") else None
                txt = None if num is not None else (v.isoformat() if isinstance(v, dt.date) else str(v))
                vrows.append(dict(l=layer.id, f=fname, s=scheme, c=code, p=period, n=num, t=txt, i=iid))
        if vrows:
            conn.execute(text("""
                INSERT INTO layer_value (layer_id, field, scheme, unit_code, period, value_num, value_text, is_demo,
                                         derived, import_id)
                VALUES (:l, :f, :s, :c, CAST(:p AS date), :n, :t, false, NULL, :i)"""), vrows)
        res.written = len(vrows)
        if scheme == "legacy" and layer.geometry == "commune" and codes:
            affected = conn.execute(text("""SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                                            AND province_code = ANY(:p)"""), {"p": provinces}).scalars().all()
            res.derived_2025 = carry_to_2025(conn, layer, list(set(affected) | set(codes)), iid)
        conn.execute(text("UPDATE layer_import SET report = CAST(:r AS jsonb) WHERE id = :i"),
                     dict(r=json.dumps(res.report(), default=str, ensure_ascii=False), i=iid))
    return res


# ---------------------------------------------------------------------- feature layers
def clean_feature_geometry(geom, label: str) -> tuple[Any, str | None, str | None]:
    """(geometry, repair note, reason refused): points and polygons only; invalid ones repaired."""
    if geom is None or geom.is_empty:
        return None, None, "không có hình học (no geometry)"
    note = None
    if not shapely.is_valid(geom):
        note = f"{label}: {shapely.is_valid_reason(geom)}"
        geom = shapely.make_valid(geom, method="structure")
    poly = polygonal(geom)
    if poly is not None and poly.area > 0:
        return (poly.geoms[0] if len(poly.geoms) == 1 else poly), note, None
    if geom.geom_type in ("Point", "MultiPoint"):
        return geom, note, None
    return None, note, f"không phải điểm hay vùng (not a point or polygon: {geom.geom_type})"


def _table_columns(conn: Connection, table: str) -> set[str]:
    return set(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                            {"t": table}).scalars().all())


def _points_from_table(engine, layer, path, columns, rows, crs, prov) -> tuple[gpd.GeoDataFrame, str]:
    lon_col, lat_col = _find(columns, LON_FIELDS), _find(columns, LAT_FIELDS)
    if not lon_col or not lat_col:
        raise _refuse(engine, layer, path, None, "lớp điểm/vùng cần tệp GIS hoặc cột Kinh độ/Vĩ độ "
                      "(a features layer needs a GIS file, or longitude/latitude columns)", **prov)
    xs, ys = [], []
    for _, r in rows:
        try:
            xs.append(_number(r.get(lon_col)))
            ys.append(_number(r.get(lat_col)))
        except (TypeError, ValueError):
            xs.append(np.nan)
            ys.append(np.nan)
    geoms = [shapely.Point(x, y) if not (np.isnan(x) or np.isnan(y)) else None for x, y in zip(xs, ys)]
    from geo_dash.boundaries.crs import parse_crs

    try:
        src = parse_crs(crs) if crs else "EPSG:4326"
    except ValueError as exc:
        raise _refuse(engine, layer, path, None, str(exc), **prov) from exc
    gdf = gpd.GeoDataFrame(pd.DataFrame([r for _, r in rows], columns=columns), geometry=geoms, crs=src)
    source_crs = gdf.crs.name or str(crs)
    return gdf.to_crs(4326), source_crs


def _import_features(engine: Engine, layer: Layer, path: Path, *, crs, gis_layer, sheet, strict, replace,
                     prov: dict, imported_by, scheme) -> ImportResult:
    src = layer.source
    if path.suffix.lower() in TABULAR:
        columns, rows = read_table(path, sheet)
        gdf, source_crs = _points_from_table(engine, layer, path, columns, rows, crs, prov)
        rownums = [n for n, _ in rows]
        label_of = lambda n: f"dòng {n} (row {n})"  # noqa: E731
        xmin, ymin, xmax, ymax = VIETNAM_BBOX
        ok = gdf.geometry.notna()
        outside = ok & ~gdf.geometry.intersects(shapely.box(xmin, ymin, xmax, ymax))
        if outside.any():
            raise _refuse(engine, layer, path, None,
                          f"{int(outside.sum())} điểm nằm ngoài Việt Nam ({int(outside.sum())} points lie outside "
                          f"Vietnam: wrong CRS or swapped longitude/latitude?)", **prov)
    else:
        try:
            gdf, source_crs = read_boundary_file(path, crs=crs, layer=gis_layer)
        except BoundaryFileError as exc:
            raise _refuse(engine, layer, path, None, str(exc), exc.problems, **prov) from exc
        columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        rownums = list(range(1, len(gdf) + 1))
        label_of = lambda n: f"đối tượng {n} (feature {n})"  # noqa: E731
    with engine.connect() as conn:
        table_cols = _table_columns(conn, src.table)
    needed = {src.name_field, src.geometry_field, *[f.name for f in layer.fields]}
    if not needed <= table_cols:
        raise _refuse(engine, layer, path, None, f"bảng {src.table} thiếu cột (table lacks columns): "
                      f"{', '.join(sorted(needed - table_cols))}", **prov)
    name_col = _find(columns, FEATURE_NAME_FIELDS)
    ref_col = _find(columns, FEATURE_REF_FIELDS)
    fcols = _field_columns(layer, columns, {c for c in (name_col, ref_col) if c})
    if not name_col:
        raise _refuse(engine, layer, path, None, f"không có cột tên (no name column: Tên, Tên dự án, name…); "
                      f"columns: {', '.join(columns)}", **prov)
    missing = [f.name for f in layer.fields if f.required and f.name not in fcols]
    if missing:
        raise _refuse(engine, layer, path, None, "thiếu cột bắt buộc (missing required columns): " + "; ".join(
            f"{layer.field(n).title.vi} ({n})" for n in missing) + f"; columns: {', '.join(columns)}", **prov)
    res = ImportResult(import_id=0, layer_id=layer.id, file=str(path), scheme=None, source_crs=source_crs)
    accepted, seen = [], {}
    attrs = gdf.drop(columns=gdf.geometry.name)
    for n, (_, arow), geom in zip(rownums, attrs.iterrows(), gdf.geometry.values):
        row = {c: _cell(arow[c]) for c in columns if c in arow.index}
        if all(_blank(v) for v in row.values()) and (geom is None or geom.is_empty):
            res.blank_rows += 1
            continue
        label = label_of(n)
        reasons = []
        g, note, why = clean_feature_geometry(geom, label)
        if note:
            res.repaired.append(note)
        if why:
            reasons.append(why)
        name = row.get(name_col)
        if _blank(name):
            reasons.append(f"thiếu tên (no name) in column {name_col!r}")
        ref = None if not ref_col or _blank(row.get(ref_col)) else str(row.get(ref_col)).strip()
        values = {}
        for fname, col in fcols.items():
            v, err = parse_value(layer.field(fname), row.get(col), col)
            if err:
                reasons.append(err)
            elif v is not None:
                values[fname] = v
        if ref and ref in seen:
            reasons.append(f"mã {ref!r} đã có ở {seen[ref]} (duplicate reference: already in {seen[ref]})")
        elif ref and not reasons:
            seen[ref] = label
        if reasons:
            res.rejects.append(RowReject(n, label, reasons, {k: str(v) for k, v in row.items()}))
        else:
            accepted.append(dict(name=str(name).strip(), ref=ref, geom=g, values=values))
    res.rows_in = len(accepted) + len(res.rejects)
    res.accepted, res.rejected = len(accepted), len(res.rejects)
    if strict and res.rejects:
        raise _refuse(engine, layer, path, None, f"{res.rejected} đối tượng bị từ chối, chế độ nghiêm ngặt: không nạp gì "
                      f"(strict: {res.rejected} features rejected, nothing imported)",
                      [f"{r.label}: {'; '.join(r.reasons)}" for r in res.rejects],
                      counts=(res.rows_in, 0, res.rows_in), **prov)
    has_layer = "layer_id" in table_cols
    has_ref = "external_ref" in table_cols
    lid = "layer_id = :l" if has_layer else "true"
    with engine.begin() as conn:
        iid = _new_import(conn, layer, path, _sha256(path), None, status="committed", source_crs=source_crs,
                          imported_by=imported_by, rows_in=res.rows_in, accepted=res.accepted,
                          rejected=res.rejected, **prov)
        res.import_id = iid
        if replace:
            res.removed_demo = conn.execute(text(f"DELETE FROM {src.table} WHERE {lid}"), {"l": layer.id}).rowcount
        else:
            res.removed_demo = conn.execute(text(f"DELETE FROM {src.table} WHERE {lid} AND {src.demo_field or 'false'}"),
                                            {"l": layer.id}).rowcount
            refs = [a["ref"] for a in accepted if a["ref"]]
            if refs and has_ref:
                conn.execute(text(f"DELETE FROM {src.table} WHERE {lid} AND external_ref = ANY(:r)"),
                             {"l": layer.id, "r": refs})
        fnames = [f.name for f in layer.fields]
        cols = [src.name_field, *fnames, src.geometry_field, "import_id"] + (["layer_id"] if has_layer else []) \
            + (["external_ref"] if has_ref else [])
        vals = [":name", *[f":v_{f}" for f in fnames], "ST_SetSRID(ST_GeomFromWKB(:geom), 4326)", ":iid"] \
            + ([":l"] if has_layer else []) + ([":ref"] if has_ref else [])
        if src.demo_field:
            cols.append(src.demo_field)
            vals.append("false")
        sql = text(f"INSERT INTO {src.table} ({', '.join(cols)}) VALUES ({', '.join(vals)})")
        params = []
        for a in accepted:
            p = {"name": a["name"], "geom": shapely.to_wkb(a["geom"]), "iid": iid, "l": layer.id, "ref": a["ref"]}
            for f in fnames:
                v = a["values"].get(f)
                spec = layer.field(f)
                if spec.type == "boolean" and v is not None:
                    v = v == "true"
                p[f"v_{f}"] = v
            params.append(p)
        if params:
            conn.execute(sql, params)
        res.written = len(params)
        conn.execute(text("UPDATE layer_import SET report = CAST(:r AS jsonb) WHERE id = :i"),
                     dict(r=json.dumps(res.report(), default=str, ensure_ascii=False), i=iid))
    return res


# ---------------------------------------------------------------------- entry point
def import_layer(engine: Engine, layer_id: str | Layer, file: str | Path, *, scheme: str = "legacy",
                 crs: str | None = None, province: str | None = None, code_field: str | None = None,
                 name_field: str | None = None, parent_field: str | None = None, province_field: str | None = None,
                 period: str | dt.date | None = None, sheet: str | None = None, gis_layer: str | None = None,
                 source: str | None = None, source_date: str | None = None, licence: str | None = None,
                 imported_by: str | None = None, strict: bool = False, replace: bool = False,
                 directory=None) -> ImportResult:
    """Import ``file`` into layer ``layer_id`` (see the module docstring for formats and guarantees).

    Returns an :class:`ImportResult` (accepted and rejected rows with reasons).
    Raises :class:`LayerImportError` when the file is refused as a whole; the
    refusal is recorded in ``layer_import`` and no data changes.
    """
    layer = get_layer(layer_id, directory)
    path = Path(file)
    prov = dict(source=source, source_date=source_date, licence=licence)
    if scheme not in ("legacy", "2025"):
        raise LayerImportError(f"scheme must be 'legacy' or '2025', not {scheme!r}")
    if layer.source.kind == "table":
        raise LayerImportError(f"lớp {layer.id!r} được tính từ bảng {layer.source.table} (derived from a table): "
                               "it is not imported")
    if not path.is_file():
        raise LayerImportError(f"không tìm thấy tệp (file not found): {path}")
    if path.suffix.lower() == ".xls":
        raise _refuse(engine, layer, path, scheme, "tệp .xls cũ không được hỗ trợ: lưu lại thành .xlsx "
                      "(old .xls is not supported: save as .xlsx)", **prov)
    if period is not None and not isinstance(period, dt.date):
        try:
            s = str(period)
            period = dt.date(int(s[:4]), int(s[5:7]) if len(s) >= 7 else 1, int(s[8:10]) if len(s) >= 10 else 1)
        except ValueError as exc:
            raise LayerImportError(f"kỳ không hợp lệ (invalid period) {period!r}: YYYY, YYYY-MM or YYYY-MM-DD") from exc
    try:
        if layer.source.kind == "features":
            return _import_features(engine, layer, path, crs=crs, gis_layer=gis_layer, sheet=sheet, strict=strict,
                                    replace=replace, prov=prov, imported_by=imported_by, scheme=scheme)
        return _import_values(engine, layer, path, scheme=scheme, crs=crs, gis_layer=gis_layer, sheet=sheet,
                              code_field=code_field, name_field=name_field, parent_field=parent_field,
                              province_field=province_field, province=province, period=period, strict=strict,
                              replace=replace, prov=prov, imported_by=imported_by)
    except LayerImportError as exc:
        if exc.import_id is None and path.is_file():
            raise _refuse(engine, layer, path, scheme, str(exc), exc.problems, imported_by=imported_by,
                          **prov) from exc
        raise


def write_rejects(result: ImportResult, path: str | Path) -> Path:
    """The rejected rows with their original columns plus 'Lỗi (errors)', re-importable after fixing."""
    path = Path(path)
    cols: list[str] = []
    for r in result.rejects:
        for c in r.values:
            if c not in cols:
                cols.append(c)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols + [REASON_HEADER])
        for r in result.rejects:
            w.writerow([r.values.get(c, "") for c in cols] + [f"{r.label}: " + "; ".join(r.reasons)])
    return path
