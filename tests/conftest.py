"""Shared fixtures: a real PostGIS cluster started by geo_dash itself, in a throwaway directory.

The session starts one managed cluster (the same code as ``geo-dash db start``),
creates a database with the schema and the bundled boundaries of all Vietnam,
and uses it as a template: tests that write get their own copy.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from geo_dash.db.cluster import ManagedCluster

TEST_OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
CHROMIUM = os.environ.get("GEO_DASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cluster():
    home = Path(tempfile.mkdtemp(prefix="geo_dash_test_", dir="/tmp"))
    home.chmod(0o755)
    c = ManagedCluster(home=home, port=_free_port())
    c.start()
    yield c
    c.stop()
    shutil.rmtree(home, ignore_errors=True)


def _create_db(cluster: ManagedCluster, name: str, template: str | None = None) -> str:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        tmpl = f' TEMPLATE "{template}"' if template else " TEMPLATE template0"
        conn.execute(text(f'CREATE DATABASE "{name}"{tmpl}'))
    admin.dispose()
    return cluster.url(name)


@contextmanager
def case_edited_after_the_analysis(engine, where: str = "TRUE"):
    """One case (the first matching ``where``) changed after the latest analysis run, as an edit
    changes it (its ``updated_at`` moves on), and put back as it was afterwards; yields the run's
    ``finished_at``.  For shared databases: the cases are those the run saw again on exit."""
    with engine.begin() as conn:
        case_id, before = conn.execute(text(
            f"SELECT id, updated_at FROM grievance_case WHERE {where} ORDER BY id LIMIT 1")).one()
        finished = conn.execute(text(
            "SELECT finished_at FROM analytics_run WHERE status = 'ok' ORDER BY id DESC LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE grievance_case SET updated_at = now() + interval '1 second' WHERE id = :i"),
                     {"i": case_id})
    try:
        yield finished
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE grievance_case SET updated_at = :t WHERE id = :i"), {"t": before, "i": case_id})


def _drop_db(cluster: ManagedCluster, name: str) -> None:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_db(cluster):
    """URL of a brand-new empty database (PostGIS not yet installed in it)."""
    name = f"empty_{uuid.uuid4().hex[:8]}"
    url = _create_db(cluster, name)
    yield url
    _drop_db(cluster, name)


TEMPLATE_DB = "geo_dash_template"


@pytest.fixture(scope="session")
def template_db(cluster) -> str:
    """A database with the schema and the bundled boundaries; nobody stays connected, so it can be copied."""
    from geo_dash.boundaries.load import load_bundle
    from geo_dash.db.migrate import upgrade

    url = _create_db(cluster, TEMPLATE_DB)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    load_bundle(engine)
    add_test_users(engine)
    engine.dispose()
    return TEMPLATE_DB


PASSWORD = "Mat-khau-thu-nghiem-1"
# username: (role, scope) — two officers of neighbouring districts of Quảng Trị, a leader of the
# province, a national admin, an officer serving a group of 2025 communes, and a wall display.
TEST_USERS = {
    "admin": ("admin", "all"),
    "leader_qt": ("leader", "legacy:45"),
    "officer_vl": ("officer", "legacy:464"),       # huyện Vĩnh Linh
    "officer_hl": ("officer", "legacy:470"),       # huyện Hải Lăng
    "officer_2025": ("officer", "2025:19363,19366"),
    "wall_qt": ("wall", "legacy:45"),
}


def add_test_users(engine) -> None:
    from geo_dash.security.users import add_user

    for name, (role, scope) in TEST_USERS.items():
        add_user(engine, name, role, scope, password=None if role == "wall" else PASSWORD)


@pytest.fixture(scope="session")
def loaded_url(cluster, template_db):
    """URL of the session's shared database (boundaries loaded). Read-only for tests."""
    return _create_db(cluster, "geo_dash_loaded", template=template_db)


@pytest.fixture(scope="session")
def analytics_url(cluster, template_db):
    """A session database with the demo cases and the legacy-scheme analytics refreshed (read-only)."""
    import datetime as dt

    from geo_dash.analytics.refresh import refresh
    from geo_dash.demo.load import load_demo
    from geo_dash.layers.sensitivity import refresh_sensitivity

    url = _create_db(cluster, "geo_dash_analytics", template=template_db)
    engine = create_engine(url)
    load_demo(engine, seed=2025)
    refresh(engine, scheme="legacy", as_of=dt.date(2025, 6, 30))
    # the sensitive-area flags the map overlays (border communes; no context layer loaded here)
    refresh_sensitivity(engine, schemes=("legacy",))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def loaded_engine(loaded_url):
    engine = create_engine(loaded_url)
    yield engine
    engine.dispose()


@pytest.fixture
def scratch_engine(cluster, template_db):
    """A private copy of the loaded database, for tests that write."""
    from geo_dash.db import engine as engine_mod

    name = f"scratch_{uuid.uuid4().hex[:8]}"
    url = _create_db(cluster, name, template=template_db)
    engine = create_engine(url)
    yield engine
    engine.dispose()
    engine_mod._engine.cache_clear()
    _drop_db(cluster, name)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) for the whole session, driven by Playwright."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def test_output() -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    return TEST_OUTPUT
