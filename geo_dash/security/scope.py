"""Scope: the one place that decides which admin units a user may see.

A scope is a set of admin units — a province, a legacy district, or a list of
2025 communes (since July 2025 "district staff" serve groups of communes).
Every data path that reads or writes cases filters through
:func:`case_filter_sql`; nothing else filters by user.  PostgreSQL enforces the
same rule a second time with row-level security (migration 0005; since 0010
the policy reads the scope once per query), from the scope the app sets on each transaction
(:mod:`geo_dash.security.context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    """Admin units a user may see. ``everything`` = no restriction (national admin)."""

    everything: bool = False
    legacy_provinces: frozenset[str] = field(default_factory=frozenset)
    legacy_districts: frozenset[str] = field(default_factory=frozenset)
    provinces_2025: frozenset[str] = field(default_factory=frozenset)
    communes_2025: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.legacy_provinces or self.legacy_districts
                    or self.provinces_2025 or self.communes_2025)


ALL = Scope(everything=True)
NOTHING = Scope()


def case_filter_sql(scope: Scope, alias: str = "c") -> tuple[str, dict]:
    """A SQL condition (and its parameters) restricting ``grievance_case`` rows to ``scope``."""
    if scope.everything:
        return "TRUE", {}
    parts, params = [], {}
    if scope.legacy_provinces:
        parts.append(f"{alias}.province_legacy = ANY(:scope_lp)")
        params["scope_lp"] = sorted(scope.legacy_provinces)
    if scope.legacy_districts:
        parts.append(f"{alias}.district_legacy = ANY(:scope_ld)")
        params["scope_ld"] = sorted(scope.legacy_districts)
    if scope.provinces_2025:
        parts.append(f"{alias}.province_2025 = ANY(:scope_np)")
        params["scope_np"] = sorted(scope.provinces_2025)
    if scope.communes_2025:
        parts.append(f"{alias}.commune_2025 = ANY(:scope_nc)")
        params["scope_nc"] = sorted(scope.communes_2025)
    return ("(" + " OR ".join(parts) + ")") if parts else "FALSE", params


KINDS = ("all", "legacy_province", "legacy_district", "province_2025", "commune_2025")


def scope_from_rows(rows) -> Scope:
    """A Scope from ``user_scope`` rows (kind, code)."""
    sets: dict[str, set[str]] = {k: set() for k in KINDS}
    for kind, code in rows:
        sets[kind].add(code)
    if sets["all"]:
        return ALL
    return Scope(
        legacy_provinces=frozenset(sets["legacy_province"]), legacy_districts=frozenset(sets["legacy_district"]),
        provinces_2025=frozenset(sets["province_2025"]), communes_2025=frozenset(sets["commune_2025"]),
    )


def parse_scope_spec(spec: str) -> list[tuple[str, str]]:
    """``"all"``, ``"legacy:45"`` (province), ``"legacy:464"`` (district), ``"2025:44"``, ``"2025:19363,19366"``.

    Several parts are separated by ``;``. Returns (kind, code) rows; ValueError on anything else.
    """
    rows: list[tuple[str, str]] = []
    for part in (p.strip() for p in spec.split(";") if p.strip()):
        if part == "all":
            rows.append(("all", ""))
            continue
        scheme, _, codes = part.partition(":")
        for code in (c.strip() for c in codes.split(",") if c.strip()):
            if not code.isdigit():
                raise ValueError(f"not a code: {code!r}")
            if scheme == "legacy" and len(code) == 2:
                rows.append(("legacy_province", code))
            elif scheme == "legacy" and len(code) == 3:
                rows.append(("legacy_district", code))
            elif scheme == "2025" and len(code) == 2:
                rows.append(("province_2025", code))
            elif scheme == "2025" and len(code) == 5:
                rows.append(("commune_2025", code))
            else:
                raise ValueError(f"unknown scope part {part!r}: use legacy:<province|district>, 2025:<province|communes>")
    if not rows:
        raise ValueError("empty scope")
    return rows


def describe(scope: Scope) -> str:
    if scope.everything:
        return "toàn quốc (all)"
    parts = []
    for label, codes in (("tỉnh (cũ)", scope.legacy_provinces), ("huyện", scope.legacy_districts),
                         ("tỉnh", scope.provinces_2025), ("xã", scope.communes_2025)):
        if codes:
            parts.append(f"{label} {', '.join(sorted(codes))}")
    return "; ".join(parts) or "không có (none)"


def communes_in_scope_sql(scope: Scope, scheme: str) -> tuple[str, dict]:
    """``SELECT code …`` of the communes of ``scheme`` inside ``scope``, with its parameters.

    The scope's units may be of either scheme; the crosswalk carries them across:
    a legacy district's scope on the 2025 map is the 2025 communes its communes became, and a
    group of 2025 communes on the legacy map is the legacy communes that became them.
    """
    if scope.everything:
        return ("SELECT code FROM admin_unit WHERE scheme = :sc_scheme AND level = 'commune'", {"sc_scheme": scheme})
    params = {
        "sc_scheme": scheme, "sc_lp": sorted(scope.legacy_provinces), "sc_ld": sorted(scope.legacy_districts),
        "sc_np": sorted(scope.provinces_2025), "sc_nc": sorted(scope.communes_2025),
    }
    legacy = """SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                  AND (province_code = ANY(:sc_lp) OR parent_code = ANY(:sc_ld))"""
    new = """SELECT code FROM admin_unit WHERE scheme = '2025' AND level = 'commune'
               AND (province_code = ANY(:sc_np) OR code = ANY(:sc_nc))"""
    if scheme == "legacy":
        sql = f"""{legacy} UNION SELECT legacy_code FROM crosswalk WHERE new_code IN ({new})"""
    else:
        sql = f"""{new} UNION SELECT new_code FROM crosswalk WHERE legacy_code IN ({legacy})"""
    return sql, params
