"""Resolve the place of a case to one commune of the legacy or the 2025 scheme.

:class:`PlaceResolver` works on a table of administrative units (the
database's ``admin_unit`` table, or :func:`units_from_vietnamadminunits` in
tests) with the columns ``scheme`` ('legacy' | '2025'), ``level``
('province' | 'district' | 'commune'), ``code``, ``name``, ``parent_code``,
``province_code`` and ``valid_to``.  It never touches the network.

Forms accepted by :meth:`PlaceResolver.resolve`, in order of precedence:

1. **GSO commune code** (``commune_code``): digits, zero-padded to 5
   (``"1936"`` → ``"01936"``, ``19363.0`` → ``"19363"``).  The legacy and 2025
   schemes reuse the same digits for different communes (``19363`` is Thị trấn
   Hồ Xá in the legacy scheme and Xã Vĩnh Linh in the 2025 scheme).  When the
   code exists in both schemes and the row also has names, the names choose;
   a code whose names disagree with every unit carrying it is refused.  With
   only a code, the legacy scheme is used for matters received before the
   cut-over (the day after the legacy units' ``valid_to``, i.e. 2025-07-01)
   and the 2025 scheme from then on.
2. **Names** (``province`` / ``district`` / ``commune``), compared with
   :func:`geo_dash.text.name_key` (no diacritics, no unit-type word).  A
   district means the legacy form (province → district → commune); without a
   district both forms are tried, the scheme in force on the received date
   first, and the other only when the first has no match.  Equal keys are
   narrowed by the unit type ("Thị trấn" vs "Xã") and then by the exact
   accented spelling (Ba Tơ vs Ba Tô).  Several matches → :class:`PlaceError`
   listing them; none → :class:`PlaceError` with the closest names in that
   parent (difflib).  The province may be given by name or code.
3. **Free text** (``free_text``, e.g. "Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng
   Trị" or "Phường X, tỉnh Y"): split on commas/semicolons; parts are
   classified by their type word in any order, unprefixed parts by position
   (province last, then district, then commune); hamlet/street parts ("Thôn",
   "Khu phố", "Số"…) are ignored.  Then resolved as names.  As a last resort
   the offline parser of vietnamadminunits (``parse_address`` — local JSON
   dictionaries only; never ``convert_address*`` nor the geocoding helpers in
   ``parser/utils.py``) is asked, and its answer is only accepted when the
   commune it finds is spelled like the commune part of the text (ignoring
   spaces, diacritics and i/y) and agrees with the district part, if any.

Communes that no longer exist: when a commune name is not found but is a
predecessor merged 2019–2025 into a legacy commune of the same province or
district (vietnamadminunits' ``wardAlias``; asked only when the province or
district given was found), the row is refused with a message
naming the commune it became and its code (decision: refuse with the
suggestion — a person confirms the mapping — rather than map silently).

``valid_to`` is used only to derive the cut-over date: legacy units stay
acceptable after 2025-06-30 (people keep using the old names; the cube maps
legacy facts to 2025 units through the crosswalk).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Callable, Iterable

import pandas as pd

from geo_dash.text import UNIT_TYPE_PREFIXES, fold, name_key

__all__ = [
    "SCHEME_LEGACY",
    "SCHEME_2025",
    "SCHEME_2025_START",
    "Resolution",
    "PlaceError",
    "MergedInto",
    "PlaceResolver",
    "find_merged_commune",
    "normalize_code",
    "split_free_text",
    "units_from_vietnamadminunits",
]

SCHEME_LEGACY = "legacy"
SCHEME_2025 = "2025"
SCHEMES = (SCHEME_LEGACY, SCHEME_2025)
SCHEME_2025_START = date(2025, 7, 1)
LEGACY_VALID_TO = date(2025, 6, 30)

# Canonical unit types (folded) for prefixes written in abbreviated form.
_TYPE_CANON = {
    "tp.": "thanh pho",
    "tp": "thanh pho",
    "tx.": "thi xa",
    "tx": "thi xa",
    "tt.": "thi tran",
    "tt": "thi tran",
    "h.": "huyen",
    "q.": "quan",
    "p.": "phuong",
    "x.": "xa",
}
_PROVINCE_TYPES = {"tinh"}
_DISTRICT_TYPES = {"huyen", "quan", "thi xa"}
_COMMUNE_TYPES = {"xa", "phuong", "thi tran", "dac khu"}
# Below-commune parts of a free-text address (hamlets, streets, house numbers).  Words
# that also begin real unit names (Bản Lầu, Sóc Sơn, Dương Kinh, Ngô Quyền, Tô Múa…)
# only count when a number follows ("Tổ 5", "Số 12"); a leading number is a house number.
_SUB_COMMUNE = re.compile(
    r"^(?:(?:thon|ap|khom|hem|ngach|kp|khu pho|to dan pho|so nha|khu dan cu|kdc)\b"
    r"|(?:xom|kiet|ban|buon|plei|soc|khu|to|so|duong|ngo|cum)\s*\d"
    r"|\d)"
)
_COUNTRY = {"viet nam", "vietnam", "vn", "nuoc chxhcn viet nam"}
# Equivalent province names (name_key form): short forms, and Thừa Thiên Huế,
# which became "Thành phố Huế" in January 2025 (so sources disagree).
_PROVINCE_SYNONYMS = (
    {"ho chi minh", "hcm", "tphcm", "tp hcm", "sai gon"},
    {"ha noi", "hn"},
    {"hue", "thua thien hue"},
    {"ba ria vung tau", "brvt", "br vt"},
    {"dak lak", "dac lac"},
    {"dak nong", "dac nong"},
)


@dataclass(frozen=True)
class Resolution:
    """The commune a case is placed in: GSO ``code`` within ``scheme``."""

    code: str
    scheme: str
    label: str = ""


class PlaceError(ValueError):
    """The place cannot be resolved; ``message`` is Vietnamese (English)."""

    def __init__(self, message: str, candidates: Iterable[str] = ()):
        self.message = message
        self.candidates = list(candidates)
        text = message
        if self.candidates:
            text += " Gợi ý (candidates): " + "; ".join(self.candidates)
        super().__init__(text)


@dataclass(frozen=True)
class MergedInto:
    """A former commune (``old_name``) merged into the legacy commune ``code``."""

    old_name: str
    code: str
    name: str
    district: str
    province: str
    district_code: str
    province_code: str


@dataclass(frozen=True)
class _Unit:
    scheme: str
    level: str
    code: str
    name: str
    parent_code: str | None
    province_code: str | None
    key: str
    accent: str
    type: str


# --------------------------------------------------------------------------- helpers


def _clean(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def normalize_code(value: object, width: int = 5) -> str:
    """GSO code as a zero-padded digit string; ValueError when not a code.

    >>> normalize_code(19363.0), normalize_code("1936"), normalize_code(" 04 ", 2)
    ('19363', '01936', '04')
    """
    text = _clean(value)
    if text is None:
        raise ValueError("empty code")
    text = re.sub(r"\.0+$", "", text.replace(" ", ""))
    if not text.isdigit() or len(text) > width:
        raise ValueError(f"not a {width}-digit code: {value!r}")
    return text.zfill(width)


def _try_code(value: str | None, width: int) -> str | None:
    if value is None:
        return None
    try:
        return normalize_code(value, width)
    except ValueError:
        return value


def _split_type(name: str) -> tuple[str, str]:
    """(canonical folded type prefix or "", remaining original text)."""
    words = name.split()
    folded = fold(name)
    for prefix in UNIT_TYPE_PREFIXES:
        if prefix.endswith("."):
            if folded.startswith(prefix):
                rest = name.strip()[len(prefix):].strip()
                return _TYPE_CANON.get(prefix, prefix), rest
            continue
        if folded.startswith(prefix + " "):
            n = len(prefix.split())
            return _TYPE_CANON.get(prefix, prefix), " ".join(words[n:])
    return "", name.strip()


def _accent_key(name: str) -> str:
    _, rest = _split_type(name)
    rest = unicodedata.normalize("NFC", rest).lower()
    rest = re.sub(r"[^\w\s]", " ", rest)
    rest = " ".join(rest.split())
    return str(int(rest)) if rest.isdigit() else rest


def _loose_key(name: str) -> str:
    return name_key(name).replace(" ", "").replace("y", "i")


def _has_diacritics(text: str) -> bool:
    decomposed = unicodedata.normalize("NFD", text)
    return any(unicodedata.category(c) == "Mn" for c in decomposed) or "đ" in text.lower()


def _unit_type(name: str) -> str:
    return _split_type(name)[0]


# --------------------------------------------------------------------------- merged communes


@lru_cache(maxsize=1)
def _merged_index() -> dict[str, tuple[dict, ...]]:
    from vietnamadminunits.database import query  # local SQLite file only

    rows = query(
        "SELECT ward, wardCode, district, districtCode, province, provinceCode, wardAlias "
        "FROM admin_units_legacy WHERE wardAlias IS NOT NULL"
    )
    index: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        for alias in json.loads(row["wardAlias"]):
            index[alias].append(row)
    return {k: tuple(v) for k, v in index.items()}


def find_merged_commune(
    name: str, *, province_code: str | None = None, district_code: str | None = None
) -> list[MergedInto]:
    """Legacy communes that absorbed a former commune called ``name`` (2019–2025 mergers).

    Looked up in vietnamadminunits' ``admin_units_legacy.wardAlias`` (offline);
    optionally restricted to a legacy province and/or district code.

    >>> [m.name for m in find_merged_commune("Xã Cam An", province_code="45")]
    ['Xã Thanh An']
    """
    key = name_key(name).replace(" ", "")
    if not key:
        return []
    found = []
    for row in _merged_index().get(key, ()):
        if province_code and row["provinceCode"] != province_code:
            continue
        if district_code and row["districtCode"] != district_code:
            continue
        found.append(
            MergedInto(
                old_name=name,
                code=row["wardCode"],
                name=row["ward"],
                district=row["district"],
                province=row["province"],
                district_code=row["districtCode"],
                province_code=row["provinceCode"],
            )
        )
    return found


# --------------------------------------------------------------------------- free text


def split_free_text(text: str, is_province: Callable[[str], bool] = lambda _: True) -> dict[str, str]:
    """Split "Xã X, huyện Y, tỉnh Z" into {'commune', 'district', 'province'} parts.

    Parts with a type word are placed by it, in any order; the others by
    position (province last, then district, then commune).  ``is_province``
    decides whether an unprefixed last part is a province name.

    >>> split_free_text("Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị")
    {'commune': 'Xã Hải Khê', 'district': 'huyện Hải Lăng', 'province': 'tỉnh Quảng Trị'}
    >>> split_free_text("Tỉnh Quảng Trị; Phường Đông Hà")
    {'province': 'Tỉnh Quảng Trị', 'commune': 'Phường Đông Hà'}
    """
    parts = [p.strip(" .-–\t") for p in re.split(r"[,;\n]+", text)]
    parts = [p for p in parts if p and fold(p) not in _COUNTRY]
    roles: dict[str, str] = {}
    loose: list[str] = []
    for part in parts:
        kind = _unit_type(part)
        if kind in _PROVINCE_TYPES and "province" not in roles:
            roles["province"] = part
        elif kind in _DISTRICT_TYPES and "district" not in roles:
            roles["district"] = part
        elif kind in _COMMUNE_TYPES and "commune" not in roles:
            roles["commune"] = part
        elif not kind and _SUB_COMMUNE.match(fold(part)):
            continue
        else:
            loose.append(part)
    if "province" not in roles and loose and is_province(loose[-1]):
        roles["province"] = loose.pop()
    if "commune" not in roles and "district" not in roles and len(loose) >= 2:
        roles["district"] = loose.pop()
        roles["commune"] = loose.pop()
    elif "commune" not in roles and loose:
        roles["commune"] = loose.pop()
    elif "district" not in roles and "commune" in roles and loose:
        roles["district"] = loose.pop()
    return roles


# --------------------------------------------------------------------------- resolver


class _SchemeIndex:
    def __init__(self) -> None:
        self.provinces: dict[str, _Unit] = {}
        self.districts: dict[str, _Unit] = {}
        self.communes: dict[str, _Unit] = {}
        self.districts_by_province: dict[str, list[_Unit]] = defaultdict(list)
        self.communes_by_parent: dict[str, list[_Unit]] = defaultdict(list)
        self.communes_by_province: dict[str, list[_Unit]] = defaultdict(list)


class PlaceResolver:
    """Resolve case places against a units table (see the module docstring)."""

    def __init__(
        self,
        units: pd.DataFrame,
        *,
        merged_lookup: Callable[..., list[MergedInto]] | None = find_merged_commune,
        use_parser_fallback: bool = True,
        cutover: date | None = None,
    ):
        missing = {"scheme", "level", "code", "name", "parent_code", "province_code"} - set(units.columns)
        if missing:
            raise ValueError(f"units table lacks columns: {sorted(missing)}")
        self._idx = {scheme: _SchemeIndex() for scheme in SCHEMES}
        widths = {"province": 2, "district": 3, "commune": 5}
        for rec in units.to_dict("records"):
            scheme, level = str(rec["scheme"]), str(rec["level"])
            if scheme not in self._idx or level not in widths:
                continue
            name = _clean(rec["name"])
            code = _clean(rec["code"])
            if not name or not code:
                continue
            code = _try_code(code, widths[level])
            parent = _clean(rec.get("parent_code"))
            prov = _clean(rec.get("province_code"))
            parent_level = "district" if (scheme == SCHEME_LEGACY and level == "commune") else "province"
            parent = _try_code(parent, widths[parent_level])
            prov = _try_code(prov, 2)
            if level == "province":
                prov = code
            unit = _Unit(scheme, level, code, name, parent, prov, name_key(name), _accent_key(name), _unit_type(name))
            idx = self._idx[scheme]
            if level == "province":
                idx.provinces[code] = unit
            elif level == "district":
                idx.districts[code] = unit
                idx.districts_by_province[prov or ""].append(unit)
            else:
                idx.communes[code] = unit
                idx.communes_by_parent[parent or ""].append(unit)
                idx.communes_by_province[prov or ""].append(unit)
        if cutover is None:
            cutover = SCHEME_2025_START
            if "valid_to" in units.columns:
                legacy_ends = pd.to_datetime(
                    units.loc[units["scheme"] == SCHEME_LEGACY, "valid_to"], errors="coerce"
                ).dropna()
                if len(legacy_ends):
                    cutover = (legacy_ends.max() + pd.Timedelta(days=1)).date()
        self.cutover = cutover
        self._memo: dict[tuple, Resolution | PlaceError] = {}
        self._merged_lookup = merged_lookup
        self._use_parser = use_parser_fallback

    # ------------------------------------------------------------------ public

    def resolve(
        self,
        commune_code: object = None,
        province: object = None,
        district: object = None,
        commune: object = None,
        free_text: object = None,
        received_date: date | None = None,
    ) -> Resolution:
        """Resolve one place; raises :class:`PlaceError` (message + candidates).

        Answers are memoised: a file repeats the same few thousand places, and the
        received date matters only for which scheme is tried first.
        """
        era = None if received_date is None else received_date >= self.cutover
        key = (commune_code, province, district, commune, free_text, era)
        try:
            hit = self._memo.get(key)
        except TypeError:  # unhashable cell value: no memo
            return self._resolve_uncached(commune_code, province, district, commune, free_text, received_date)
        if hit is None:
            try:
                hit = self._resolve_uncached(commune_code, province, district, commune, free_text, received_date)
            except PlaceError as exc:
                hit = exc
            if len(self._memo) < 200_000:
                self._memo[key] = hit
        if isinstance(hit, PlaceError):
            raise hit
        return hit

    def _resolve_uncached(self, commune_code, province, district, commune, free_text, received_date) -> Resolution:
        code, province, district = _clean(commune_code), _clean(province), _clean(district)
        commune, free_text = _clean(commune), _clean(free_text)
        if code is not None:
            return self._resolve_code(code, province, district, commune, free_text, received_date)
        if commune is not None:
            return self._resolve_names(province, district, commune, received_date)
        if free_text is not None:
            return self._resolve_free_text(free_text, province, district, received_date)
        if province or district:
            raise PlaceError(
                "Thiếu xã/phường: chỉ có tỉnh/huyện, cần mã xã hoặc tên xã "
                "(commune missing: a province/district alone is not enough; give a commune code or name)."
            )
        raise PlaceError(
            "Thiếu địa bàn: cần Mã xã, hoặc Tỉnh/Huyện/Xã, hoặc Địa bàn "
            "(no place: give a commune code, province/district/commune names, or a place text)."
        )

    def label(self, scheme: str, code: str) -> str:
        unit = self._idx[scheme].communes.get(code)
        return self._label(unit) if unit else code

    # ------------------------------------------------------------------ labels

    def _parents(self, unit: _Unit) -> list[_Unit]:
        idx = self._idx[unit.scheme]
        chain = []
        if unit.level == "commune" and unit.scheme == SCHEME_LEGACY and unit.parent_code in idx.districts:
            chain.append(idx.districts[unit.parent_code])
        if unit.level != "province" and unit.province_code in idx.provinces:
            chain.append(idx.provinces[unit.province_code])
        return chain

    def _label(self, unit: _Unit, with_code: bool = True) -> str:
        parents = ", ".join(p.name for p in self._parents(unit))
        text = f"{unit.name} ({parents})" if parents else unit.name
        if with_code:
            text += f" [{unit.scheme} {unit.code}]"
        return text

    # ------------------------------------------------------------------ matching

    @staticmethod
    def _match(pool: Iterable[_Unit], query: str) -> list[_Unit]:
        key = name_key(query)
        if not key:
            return []
        found = [u for u in pool if u.key == key]
        if len(found) > 1:
            wanted_type = _unit_type(query)
            if wanted_type:
                narrowed = [u for u in found if u.type == wanted_type]
                if narrowed:
                    found = narrowed
        if len(found) > 1 and _has_diacritics(query):
            accent = _accent_key(query)
            narrowed = [u for u in found if u.accent == accent]
            if narrowed:
                found = narrowed
        return found

    def _match_province(self, scheme: str, query: str) -> list[_Unit]:
        provinces = self._idx[scheme].provinces
        text = query.strip()
        if re.fullmatch(r"\d{1,2}(\.0+)?", text):
            code = normalize_code(text, 2)
            return [provinces[code]] if code in provinces else []
        found = self._match(provinces.values(), text)
        if not found:
            keys = {name_key(text), fold(text)}
            for group in _PROVINCE_SYNONYMS:
                if keys & group:
                    found = [u for u in provinces.values() if u.key in group]
                    break
        return found

    def _is_province_name(self, text: str) -> bool:
        return any(self._match_province(s, text) for s in SCHEMES)

    def _scheme_order(self, received_date: date | None) -> tuple[str, ...]:
        if received_date is not None and received_date >= self.cutover:
            return (SCHEME_2025, SCHEME_LEGACY)
        return (SCHEME_LEGACY, SCHEME_2025)

    def _close(self, pool: list[_Unit], query: str, n: int = 5) -> list[str]:
        keys: dict[str, list[_Unit]] = defaultdict(list)
        for unit in pool:
            keys[unit.key].append(unit)
        close = difflib.get_close_matches(name_key(query), list(keys), n=n, cutoff=0.6)
        return [self._label(u) for k in close for u in keys[k]][:n]

    # ------------------------------------------------------------------ by names

    def _resolve_names(
        self, province: str | None, district: str | None, commune: str, received_date: date | None
    ) -> Resolution:
        schemes = (SCHEME_LEGACY,) if district else self._scheme_order(received_date)
        first_miss: tuple[str, str, list[_Unit], str] | None = None  # (what, query, pool, where)
        legacy_province: _Unit | None = None
        legacy_district: _Unit | None = None
        for scheme in schemes:
            idx = self._idx[scheme]
            prov: _Unit | None = None
            if province:
                provs = self._match_province(scheme, province)
                if not provs:
                    first_miss = first_miss or ("province", province, [], "")
                    continue
                prov = provs[0]
                if scheme == SCHEME_LEGACY:
                    legacy_province = prov
            dist: _Unit | None = None
            if district:
                pool = idx.districts_by_province.get(prov.code, []) if prov else list(idx.districts.values())
                dists = self._match(pool, district)
                if len(dists) > 1:
                    raise PlaceError(
                        f"Tên huyện “{district}” trùng nhiều nơi — thêm tên tỉnh "
                        f"(district name matches several districts — add the province).",
                        [self._label(d) for d in dists[:10]],
                    )
                if not dists:
                    where = f" trong {prov.name}" if prov else ""
                    first_miss = first_miss or ("district", district, pool, where)
                    continue
                dist = dists[0]
                legacy_district = dist
                pool = idx.communes_by_parent.get(dist.code, [])
                dist_prov = idx.provinces.get(dist.province_code or "")
                where = f"{dist.name}, {dist_prov.name}" if dist_prov else dist.name
            elif prov:
                pool = idx.communes_by_province.get(prov.code, [])
                where = prov.name
            else:
                pool = list(idx.communes.values())
                where = ""
            found = self._match(pool, commune)
            if len(found) == 1:
                unit = found[0]
                return Resolution(unit.code, unit.scheme, self._label(unit, with_code=False))
            if len(found) > 1:
                scope = f" trong {where}" if where else ""
                raise PlaceError(
                    f"Tên xã “{commune}” trùng nhiều đơn vị{scope} — ghi thêm huyện hoặc dùng mã xã "
                    f"(commune name is ambiguous — add the district or use the commune code).",
                    [self._label(u) for u in found[:10]],
                )
            if first_miss is None:
                first_miss = ("commune", commune, pool, where)
            if dist is not None and prov is not None:
                # Present elsewhere in the province?  Say so instead of "unknown".
                elsewhere = self._match(idx.communes_by_province.get(prov.code, []), commune)
                if elsewhere:
                    raise PlaceError(
                        f"Xã “{commune}” không thuộc {dist.name}; có trong {prov.name} ở huyện khác "
                        f"(commune is not in that district but exists elsewhere in the province).",
                        [self._label(u) for u in elsewhere[:10]],
                    )
        # Not found anywhere: a former commune merged before 2025?  Only asked when the
        # most specific parent given was found (a nationwide guess would mislead).
        parent_found = legacy_district is not None or (legacy_province is not None and not district)
        if self._merged_lookup is not None and parent_found:
            merged = self._merged_lookup(
                commune,
                province_code=legacy_province.code if legacy_province else None,
                district_code=legacy_district.code if legacy_district else None,
            )
            merged = [m for m in merged if m.code in self._idx[SCHEME_LEGACY].communes]
            if merged:
                targets = "; ".join(f"{m.name} ({m.district}) — mã {m.code}" for m in merged[:5])
                named = f"“{commune}”" if _unit_type(commune) else f"Xã “{commune}”"
                raise PlaceError(
                    f"{named} không còn tồn tại; đã sáp nhập vào {targets} "
                    f"(no longer exists; merged into {targets} — use that code).",
                    [f"{m.name} ({m.district}, {m.province}) [legacy {m.code}]" for m in merged[:5]],
                )
        assert first_miss is not None
        what, query, pool, where = first_miss
        if what == "province":
            all_provinces = [u for s in SCHEMES for u in self._idx[s].provinces.values()]
            raise PlaceError(
                f"Không tìm thấy tỉnh “{query}” (province not found).",
                self._close(all_provinces, query),
            )
        if what == "district":
            raise PlaceError(
                f"Không tìm thấy huyện “{query}”{where} (district not found).", self._close(pool, query)
            )
        scope = f" trong {where}" if where else ""
        raise PlaceError(
            f"Không tìm thấy xã “{query}”{scope} (commune not found{' in ' + where if where else ''}).",
            self._close(pool, query),
        )

    # ------------------------------------------------------------------ free text

    def _resolve_free_text(
        self, text: str, province: str | None, district: str | None, received_date: date | None
    ) -> Resolution:
        roles = split_free_text(text, self._is_province_name)
        province = province or roles.get("province")
        district = district or roles.get("district")
        commune = roles.get("commune")
        if not commune:
            raise PlaceError(
                f"Địa bàn “{text}” không có tên xã/phường (place text has no commune)."
            )
        try:
            return self._resolve_names(province, district, commune, received_date)
        except PlaceError as error:
            if not self._use_parser or "không còn tồn tại" in error.message or "trùng" in error.message:
                raise
            fallback = self._parser_fallback(text, commune, district, received_date)
            if fallback is None:
                raise
            return fallback

    def _parser_fallback(
        self, text: str, commune: str, district: str | None, received_date: date | None
    ) -> Resolution | None:
        """Ask vietnamadminunits' offline parser (``parse_address``, local JSON only).

        Its answer is accepted only when the commune it finds is spelled like
        the commune part of the text (ignoring spaces, diacritics and i/y) — or
        begins/ends a text without separators — and, when the text names a
        district, the district agrees too (and the 2025 scheme is not tried).
        """
        from vietnamadminunits import ParseMode, parse_address

        wanted = _loose_key(commune)
        unsplit = len([p for p in re.split(r"[,;\n]+", text) if p.strip()]) == 1
        for scheme in self._scheme_order(received_date):
            if scheme == SCHEME_2025 and district:
                continue
            mode = ParseMode.LEGACY if scheme == SCHEME_LEGACY else ParseMode.FROM_2025
            try:
                parsed = parse_address(text, mode=mode, keep_street=False)
            except Exception:  # the parser is best effort; never let it fail a whole import
                continue
            code = getattr(parsed, "ward_code", None)
            unit = self._idx[scheme].communes.get(str(code)) if code else None
            if unit is None:
                continue
            name = _loose_key(unit.name)
            if name != wanted and not (unsplit and (wanted.startswith(name) or wanted.endswith(name))):
                continue
            if district and scheme == SCHEME_LEGACY:
                parent = self._idx[scheme].districts.get(unit.parent_code or "")
                if parent is None or _loose_key(parent.name) != _loose_key(district):
                    continue
            return Resolution(unit.code, unit.scheme, self._label(unit, with_code=False))
        return None

    # ------------------------------------------------------------------ by code

    def _resolve_code(
        self,
        raw: str,
        province: str | None,
        district: str | None,
        commune: str | None,
        free_text: str | None,
        received_date: date | None,
    ) -> Resolution:
        try:
            code = normalize_code(raw)
        except ValueError:
            raise PlaceError(
                f"Mã xã “{raw}” không hợp lệ: cần tối đa 5 chữ số (commune code must be up to 5 digits)."
            ) from None
        hits = [self._idx[s].communes[code] for s in SCHEMES if code in self._idx[s].communes]
        if not hits:
            hint = ""
            digits = re.sub(r"\.0+$", "", raw.strip())
            if len(digits) <= 3:
                as_district = [self._idx[SCHEME_LEGACY].districts.get(digits.zfill(3))]
                as_province = [self._idx[s].provinces.get(digits.zfill(2)) for s in SCHEMES] if len(digits) <= 2 else []
                named = [u.name for u in as_district + as_province if u]
                if named:
                    hint = f" “{raw}” là mã của {', '.join(named)}, không phải mã xã (that is not a commune code)."
            raise PlaceError(
                f"Mã xã “{code}” không có trong danh mục đơn vị hành chính (commune code not found in "
                f"the legacy or 2025 list).{hint}"
            )
        if any((province, district, commune, free_text)):
            agreeing = [u for u in hits if self._names_agree(u, province, district, commune, free_text)]
            if not agreeing:
                given = ", ".join(x for x in (commune, district, province, free_text) if x)
                raise PlaceError(
                    f"Mã xã {code} không khớp với tên “{given}” (commune code and names disagree).",
                    [self._label(u) for u in hits],
                )
            hits = agreeing
        if len(hits) == 1:
            unit = hits[0]
        else:
            preferred = self._scheme_order(received_date)[0]
            unit = next(u for u in hits if u.scheme == preferred)
        return Resolution(unit.code, unit.scheme, self._label(unit, with_code=False))

    def _names_agree(
        self,
        unit: _Unit,
        province: str | None,
        district: str | None,
        commune: str | None,
        free_text: str | None,
    ) -> bool:
        if free_text:
            roles = split_free_text(free_text, self._is_province_name)
            province = province or roles.get("province")
            district = district or roles.get("district")
            commune = commune or roles.get("commune")
        idx = self._idx[unit.scheme]
        if commune and name_key(commune) != unit.key:
            return False
        if district:
            if unit.scheme != SCHEME_LEGACY:
                return False
            parent = idx.districts.get(unit.parent_code or "")
            if parent is None or parent not in self._match([parent], district):
                return False
        if province:
            provs = self._match_province(unit.scheme, province)
            if not any(p.code == unit.province_code for p in provs):
                return False
        return True


# --------------------------------------------------------------------------- test/demo units


def units_from_vietnamadminunits() -> pd.DataFrame:
    """Units table (legacy + 2025) in the shape of the database's ``admin_unit`` table.

    Built from vietnamadminunits' bundled SQLite (offline).  Legacy units get
    ``valid_to`` = 2025-06-30; 2025 units None.  Legacy island districts
    without communes (Cồn Cỏ, Bạch Long Vĩ, Hoàng Sa…) appear as districts only.
    """
    from vietnamadminunits.database import query

    legacy = query(
        "SELECT province, provinceCode, district, districtCode, ward, wardCode FROM admin_units_legacy"
    )
    new = query("SELECT province, provinceCode, ward, wardCode FROM admin_units")
    rows: list[dict] = []
    seen: set[tuple[str, str, str]] = set()

    def add(scheme: str, level: str, code: str, name: str, parent: str | None, prov: str, valid_to):
        if not code or (scheme, level, code) in seen:
            return
        seen.add((scheme, level, code))
        rows.append(
            {
                "scheme": scheme,
                "level": level,
                "code": code,
                "name": name,
                "parent_code": parent,
                "province_code": prov,
                "valid_to": valid_to,
            }
        )

    for r in legacy:
        add(SCHEME_LEGACY, "province", r["provinceCode"], r["province"], None, r["provinceCode"], LEGACY_VALID_TO)
        add(SCHEME_LEGACY, "district", r["districtCode"], r["district"], r["provinceCode"], r["provinceCode"], LEGACY_VALID_TO)
        if r["wardCode"]:
            add(SCHEME_LEGACY, "commune", r["wardCode"], r["ward"], r["districtCode"], r["provinceCode"], LEGACY_VALID_TO)
    for r in new:
        add(SCHEME_2025, "province", r["provinceCode"], r["province"], None, r["provinceCode"], None)
        add(SCHEME_2025, "commune", r["wardCode"], r["ward"], r["provinceCode"], r["provinceCode"], None)
    return pd.DataFrame(rows, columns=["scheme", "level", "code", "name", "parent_code", "province_code", "valid_to"])
