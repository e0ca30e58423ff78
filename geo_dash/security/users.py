"""Users, their roles and scopes, login checks with throttling, and wall tokens.

Administrative functions (add, disable, set password, scope, tokens) run with the owner's
engine (the CLI, the admin page); :func:`authenticate` and :func:`user_for_token` run with
the app's engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, text

from geo_dash.security.context import User
from geo_dash.security.passwords import hash_password, verify_password
from geo_dash.security.scope import parse_scope_spec, scope_from_rows

ROLES = ("admin", "leader", "officer", "wall")
MAX_FAILURES = 5                       # failed logins in a row before a lock
LOCK_MINUTES = 15


class UserError(ValueError):
    pass


@dataclass
class LoginResult:
    user: User | None
    reason: str | None = None          # "bad_credentials" | "locked" | "disabled"


def _scope_rows(conn, user_id: int):
    return conn.execute(text("SELECT kind, code FROM user_scope WHERE user_id = :u"), {"u": user_id}).all()


def load_user(engine: Engine, user_id: int, epoch: int | None = None) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, username, role, display_name, disabled, session_epoch FROM app_user "
                                "WHERE id = :id"), {"id": user_id}).mappings().first()
        if row is None or row["disabled"] or (epoch is not None and epoch != row["session_epoch"]):
            return None
        scope = scope_from_rows(_scope_rows(conn, user_id))
    return User(id=row["id"], username=row["username"], role=row["role"], scope=scope,
                display_name=row["display_name"])


def add_user(engine: Engine, username: str, role: str, scope_spec: str, password: str | None = None,
             display_name: str | None = None) -> int:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    rows = parse_scope_spec(scope_spec)
    if role != "admin" and ("all", "") in rows and role == "officer":
        pass  # a national officer is allowed, if unusual
    pw_hash = hash_password(password) if password else None
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}).first():
            raise UserError(f"user {username!r} exists")
        uid = conn.execute(text("INSERT INTO app_user (username, role, display_name, password_hash) "
                                "VALUES (:u, :r, :d, :h) RETURNING id"),
                           dict(u=username, r=role, d=display_name, h=pw_hash)).scalar_one()
        _check_codes(conn, rows)
        conn.execute(text("INSERT INTO user_scope (user_id, kind, code) VALUES (:u, :k, :c)"),
                     [dict(u=uid, k=k, c=c) for k, c in rows])
    return uid


def _check_codes(conn, rows) -> None:
    for kind, code in rows:
        if kind == "all":
            continue
        scheme = "legacy" if kind.startswith("legacy") else "2025"
        level = "district" if kind == "legacy_district" else "commune" if kind == "commune_2025" else "province"
        ok = conn.execute(text("SELECT 1 FROM admin_unit WHERE scheme = :s AND level = :l AND code = :c"),
                          dict(s=scheme, l=level, c=code)).first()
        if not ok:
            raise UserError(f"no {scheme} {level} with code {code}")


def set_password(engine: Engine, username: str, password: str) -> None:
    with engine.begin() as conn:
        n = conn.execute(text("UPDATE app_user SET password_hash = :h, failed_logins = 0, locked_until = NULL, "
                              "session_epoch = session_epoch + 1 WHERE username = :u"),
                         dict(h=hash_password(password), u=username)).rowcount
    if not n:
        raise UserError(f"no user {username!r}")


def set_disabled(engine: Engine, username: str, disabled: bool = True) -> None:
    with engine.begin() as conn:
        n = conn.execute(text("UPDATE app_user SET disabled = :d, session_epoch = session_epoch + 1 WHERE username = :u"),
                         dict(d=disabled, u=username)).rowcount
        if disabled:
            conn.execute(text("UPDATE wall_token SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                              "(SELECT id FROM app_user WHERE username = :u)"), {"u": username})
    if not n:
        raise UserError(f"no user {username!r}")


def list_users(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        users = conn.execute(text("SELECT id, username, role, display_name, disabled, last_login_at, locked_until "
                                  "FROM app_user ORDER BY username")).mappings().all()
        out = []
        for u in users:
            rows = _scope_rows(conn, u["id"])
            out.append({**u, "scope": "; ".join(f"{k}:{c}" if c else k for k, c in rows)})
    return out


def authenticate(engine: Engine, username: str, password: str, *, now: dt.datetime | None = None) -> LoginResult:
    """Check a login; counts failures and locks the account for a while after too many."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT id, password_hash, disabled, failed_logins, locked_until, session_epoch "
                                "FROM app_user WHERE username = :u"), {"u": username}).mappings().first()
        if row is None:
            verify_password(None, password)
            return LoginResult(None, "bad_credentials")
        if row["locked_until"] and row["locked_until"] > now:
            return LoginResult(None, "locked")
        if not verify_password(row["password_hash"], password):
            failures = row["failed_logins"] + 1
            locked = now + dt.timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
            conn.execute(text("SELECT gd_record_login(:id, :f, :l, false)"),
                         dict(f=0 if locked else failures, l=locked, id=row["id"]))
            return LoginResult(None, "locked" if locked else "bad_credentials")
        if row["disabled"]:
            return LoginResult(None, "disabled")
        conn.execute(text("SELECT gd_record_login(:id, 0, NULL, true)"), dict(id=row["id"]))
    user = load_user(engine, row["id"])
    return LoginResult(user)


def session_epoch(engine: Engine, user_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT session_epoch FROM app_user WHERE id = :id"), {"id": user_id}).scalar_one()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_wall_token(engine: Engine, username: str, label: str | None = None) -> str:
    """A long random token for a wall display bound to the user's scope. Shown once; store only its hash."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE username = :u AND role = 'wall' AND NOT disabled"),
                           {"u": username}).scalar()
        if uid is None:
            raise UserError(f"{username!r} is not an active wall user (role 'wall')")
        conn.execute(text("INSERT INTO wall_token (user_id, token_hash, label) VALUES (:u, :h, :l)"),
                     dict(u=uid, h=_token_hash(token), l=label))
    return token


def revoke_wall_tokens(engine: Engine, username: str) -> int:
    with engine.begin() as conn:
        return conn.execute(text("UPDATE wall_token SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                                 "(SELECT id FROM app_user WHERE username = :u)"), {"u": username}).rowcount


def user_for_token(engine: Engine, token: str) -> User | None:
    if not token or len(token) < 20:
        return None
    with engine.connect() as conn:
        uid = conn.execute(text("""SELECT t.user_id FROM wall_token t JOIN app_user u ON u.id = t.user_id
                                   WHERE t.token_hash = :h AND t.revoked_at IS NULL AND NOT u.disabled
                                     AND u.role = 'wall'"""), {"h": _token_hash(token)}).scalar()
    if uid is None:
        return None
    user = load_user(engine, uid)
    return None if user is None else User(id=user.id, username=user.username, role="wall", scope=user.scope,
                                           display_name=user.display_name, via_token=True)
