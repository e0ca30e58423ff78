"""The current request's user and scope, and how they reach PostgreSQL.

The web layer sets :data:`current_user` per request.  :func:`install_scope_hook` makes
every transaction the app's engine opens start with::

    SELECT set_config('geo_dash.scope', '<scope json>', true),   -- i.e. SET LOCAL
           set_config('geo_dash.user', '<username>', true)

so the row-level-security policies see the same scope the application filters by.
No user → an empty scope → the database shows no case.
"""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass, field

from sqlalchemy import Engine, event

from geo_dash.security.scope import NOTHING, Scope


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    scope: Scope = field(default=NOTHING)
    display_name: str | None = None
    via_token: bool = False

    @property
    def can_edit(self) -> bool:
        return self.role in ("admin", "officer") and not self.via_token

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and not self.via_token


current_user: contextvars.ContextVar[User | None] = contextvars.ContextVar("geo_dash_user", default=None)


def scope_json(scope: Scope) -> str:
    if scope.everything:
        return json.dumps({"all": True})
    return json.dumps({
        "legacy_province": sorted(scope.legacy_provinces), "legacy_district": sorted(scope.legacy_districts),
        "province_2025": sorted(scope.provinces_2025), "commune_2025": sorted(scope.communes_2025),
    })


def active_scope() -> Scope:
    user = current_user.get()
    return user.scope if user else NOTHING


def install_scope_hook(engine: Engine, *, set_role: str | None = None) -> None:
    """Set the scope (and optionally the non-owner role) at the start of every transaction, and turn
    JIT off for it.  PostgreSQL decides to compile a query by the planner's cost, and PostGIS functions
    are costed high: the map's data-quality count (point in commune, geography distance) was compiled
    with inlining and optimisation for ≈ 1 s, to run for ≈ 0.1 s (one province, 27,000 cases).  Pages
    want answers in milliseconds; the batch work (imports, the cube) turns JIT off itself.  All of it
    transaction-scoped, in the same round trip: safe behind PgBouncer's transaction pooling."""

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        user = current_user.get()
        if set_role:
            conn.exec_driver_sql(f'SET LOCAL ROLE "{set_role}"')
        conn.exec_driver_sql(
            "SELECT set_config('geo_dash.scope', %s, true), set_config('geo_dash.user', %s, true), "
            "set_config('geo_dash.role', %s, true), set_config('jit', 'off', true)",
            (scope_json(user.scope) if user else scope_json(NOTHING), user.username if user else "",
             ("wall" if user.via_token else user.role) if user else ""),
        )
