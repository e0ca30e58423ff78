"""Backups with pg_dump / pg_restore (custom format), for the managed cluster or any PostGIS."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from geo_dash.db.cluster import find_bindir


class BackupError(RuntimeError):
    pass


def _conn_args(url: str) -> tuple[list[str], dict]:
    u = make_url(url)
    args = ["--dbname", u.database or "geo_dash"]
    host = u.query.get("host") or u.host
    if host:
        args += ["--host", str(host)]
    port = u.query.get("port") or u.port
    if port:
        args += ["--port", str(port)]
    if u.username:
        args += ["--username", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def _tool(name: str) -> str:
    return str(find_bindir() / name)


def backup(url: str, target: Path) -> Path:
    """Write a full, consistent dump of the database (schema + data) to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    args, env = _conn_args(url)
    proc = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
    return target


def _ensure_app_role(url: str) -> None:
    from sqlalchemy import create_engine, text

    from geo_dash.db.engine import APP_ROLE

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"""DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                    CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
                END IF; END $$"""))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        engine.dispose()


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with a dump made by :func:`backup` (one transaction)."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"không thấy tệp sao lưu (no backup file): {source}")
    _ensure_app_role(url)  # roles live outside a dump: a fresh server needs the app's role first
    args, env = _conn_args(url)
    proc = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           "--exit-on-error", *args, str(source)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")
