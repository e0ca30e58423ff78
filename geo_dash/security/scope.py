"""Scope: the one place that decides which admin units a user may see.

A scope is a set of admin units — a province, a legacy district, or a list of
2025 communes (since July 2025 "district staff" serve groups of communes).
Every data path that reads or writes cases filters through
:func:`case_filter_sql`; nothing else filters by user.  (Logins, roles and the
matching row-level security in PostgreSQL come with the access-control work;
until then the app runs with :data:`ALL`.)
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
        parts.append(f"{alias}.commune_legacy IN (SELECT code FROM admin_unit WHERE scheme = 'legacy' "
                     f"AND level = 'commune' AND parent_code = ANY(:scope_ld))")
        params["scope_ld"] = sorted(scope.legacy_districts)
    if scope.provinces_2025:
        parts.append(f"{alias}.province_2025 = ANY(:scope_np)")
        params["scope_np"] = sorted(scope.provinces_2025)
    if scope.communes_2025:
        parts.append(f"{alias}.commune_2025 = ANY(:scope_nc)")
        params["scope_nc"] = sorted(scope.communes_2025)
    return ("(" + " OR ".join(parts) + ")") if parts else "FALSE", params
