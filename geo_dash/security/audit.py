"""The audit log: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE)."""

from __future__ import annotations

import json

from sqlalchemy import Connection, Engine, text

from geo_dash.security.context import current_user, scope_json

_INSERT = text("INSERT INTO audit_log (actor, action, target, scope, details, ip) "
               "VALUES (:actor, :action, :target, CAST(:scope AS jsonb), CAST(:details AS jsonb), :ip)")


def audit(db: Engine | Connection, action: str, *, target: str | None = None, details: dict | None = None,
          actor: str | None = None, ip: str | None = None) -> None:
    """Record one event. Inside a transaction, pass its connection so the record commits with it."""
    user = current_user.get()
    params = dict(
        actor=actor or (user.username if user else None), action=action, target=target,
        scope=scope_json(user.scope) if user else None,
        details=json.dumps(details or {}, ensure_ascii=False, default=str), ip=ip,
    )
    if isinstance(db, Connection):
        db.execute(_INSERT, params)
    else:
        with db.begin() as conn:
            conn.execute(_INSERT, params)


def read_log(engine: Engine, limit: int = 500) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT at, actor, action, target, scope, details, ip FROM audit_log ORDER BY id DESC LIMIT :n"),
            {"n": limit}).mappings()]
