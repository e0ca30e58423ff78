"""Matching features of a user's boundary file to GSO codes.

By a code column (zero-padded to the level's width), or by the unit's name
within its parent (diacritic- and prefix-insensitive, via
:func:`geo_dash.text.name_key`).  Field names are detected from common
spellings, or given explicitly.
"""

from __future__ import annotations

import difflib

import pandas as pd

from geo_dash.boundaries.io import BoundaryFileError
from geo_dash.text import fold, name_key

CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}

CODE_FIELDS = {
    "commune": ["ma_xa", "maxa", "ma_phuong_xa", "commune_code", "ward_code", "ma_dvhc", "madvhc", "code", "ma"],
    "district": ["ma_huyen", "mahuyen", "district_code", "ma_dvhc", "madvhc", "code", "ma"],
    "province": ["ma_tinh", "matinh", "province_code", "ma_dvhc", "madvhc", "code", "ma"],
}
NAME_FIELDS = {
    "commune": ["ten_xa", "tenxa", "ten_phuong_xa", "commune_name", "ward_name", "xa", "ten", "name"],
    "district": ["ten_huyen", "tenhuyen", "district_name", "huyen", "ten", "name"],
    "province": ["ten_tinh", "tentinh", "province_name", "tinh", "ten", "name"],
}
PARENT_FIELDS = {
    ("legacy", "commune"): ["ten_huyen", "tenhuyen", "district_name", "huyen"],
    ("2025", "commune"): ["ten_tinh", "tentinh", "province_name", "tinh"],
    ("legacy", "district"): ["ten_tinh", "tentinh", "province_name", "tinh"],
}


def _find_field(columns, candidates) -> str | None:
    folded = {fold(c).replace(" ", "_"): c for c in columns}
    for cand in candidates:
        if cand in folded:
            return folded[cand]
    return None


def normalise_code(value, level: str) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    s = str(value).strip()
    if s.endswith(".0"):
        s = s[:-2]
    if not s.isdigit():
        return None
    return s.zfill(CODE_WIDTH[level])


def match_units(
    df: pd.DataFrame,
    units: pd.DataFrame,
    *,
    level: str,
    scheme: str,
    code_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    province_code: str | None = None,
) -> pd.Series:
    """GSO code of every row of ``df``; raises BoundaryFileError listing every unmatched row.

    ``units`` is the reference list (admin_unit rows of the scheme) with columns
    code, name, level, parent_code, province_code.
    """
    ref = units[(units["level"] == level)]
    if province_code:
        ref = ref[ref["province_code"] == province_code]
    labels = [f"dòng {i + 1} (row {i + 1})" for i in range(len(df))]

    code_field = code_field or (None if name_field else _find_field(df.columns, CODE_FIELDS[level]))
    if code_field:
        if code_field not in df.columns:
            raise BoundaryFileError(f"không có cột mã (no code field) {code_field!r}; columns: {', '.join(df.columns)}")
        codes = df[code_field].map(lambda v: normalise_code(v, level))
        known = set(ref["code"])
        bad = [f"{lab}: mã {v!r} không có trong danh mục {scheme} (code not in the {scheme} list)"
               for lab, v, c in zip(labels, df[code_field], codes) if c not in known]
        if bad:
            raise BoundaryFileError("có mã không khớp (unmatched codes)", bad)
        _no_duplicates(codes, labels)
        return codes.reset_index(drop=True)

    name_field = name_field or _find_field(df.columns, NAME_FIELDS[level])
    if not name_field or name_field not in df.columns:
        raise BoundaryFileError(
            f"không tìm thấy cột mã hoặc tên đơn vị (no code or name field); columns: {', '.join(map(str, df.columns))}. "
            "Name them with --code-field or --name-field."
        )
    parent_field = parent_field or _find_field(df.columns, PARENT_FIELDS.get((scheme, level), []))
    parents = units[units["code"].isin(ref["parent_code"].dropna())]
    parent_by_key = {}
    for _, p in parents.iterrows():
        parent_by_key.setdefault(name_key(p["name"]), []).append(p["code"])

    out, problems = [], []
    for lab, (_, row) in zip(labels, df.iterrows()):
        key = name_key(row[name_field])
        cands = ref[ref["name"].map(name_key) == key]
        if parent_field:  # the parent named in the file must be the unit's parent
            pcodes = parent_by_key.get(name_key(row[parent_field]), [])
            if len(cands) and not len(cands[cands["parent_code"].isin(pcodes)]):
                out.append(None)
                where = ", ".join(f"{r['name']} ({r['code']}, thuộc {r['parent_code']})" for _, r in cands.iterrows())
                problems.append(f"{lab}: {row[name_field]!r} không thuộc {row[parent_field]!r} "
                                f"(not in that parent; found: {where})")
                continue
            cands = cands[cands["parent_code"].isin(pcodes)]
        if len(cands) == 1:
            out.append(cands["code"].iloc[0])
            continue
        out.append(None)
        if len(cands) == 0:
            close = difflib.get_close_matches(key, ref["name"].map(name_key).tolist(), n=3, cutoff=0.75)
            hint = f"; gần giống (close): {', '.join(close)}" if close else ""
            problems.append(f"{lab}: không tìm thấy {row[name_field]!r} (unknown name){hint}")
        else:
            names = ", ".join(f"{r['name']} ({r['code']}, thuộc {r['parent_code']})" for _, r in cands.iterrows())
            problems.append(f"{lab}: tên {row[name_field]!r} trùng nhiều đơn vị (ambiguous): {names}")
    if problems:
        raise BoundaryFileError("có tên đơn vị không khớp (unmatched names)", problems)
    codes = pd.Series(out)
    _no_duplicates(codes, labels)
    return codes


def _no_duplicates(codes: pd.Series, labels: list[str]) -> None:
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        problems = [f"{labels[i]}: mã {c} xuất hiện nhiều lần (code appears more than once)" for i, c in dup.items()]
        raise BoundaryFileError("một đơn vị có nhiều đối tượng (several features for one unit)", problems)
