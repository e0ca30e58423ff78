"""The users command (passwords from stdin, never argv), backups, and the app through a database outage."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from geo_dash.cli import main
from geo_dash.db.cluster import ManagedCluster
from geo_dash.security.users import authenticate
from tests.conftest import _free_port


def _run(engine, *args, input=None):
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, list(args), input=input, env={"GEO_DASH_DATABASE_URL": url},
                              catch_exceptions=False)


def test_users_add_list_disable_token(scratch_engine):
    from geo_dash.db import engine as engine_mod

    engine_mod._engine.cache_clear()
    r = _run(scratch_engine, "users", "add", "can_bo_gl", "--role", "officer", "--scope", "legacy:466",
             input="Mat-khau-can-bo-9\nMat-khau-can-bo-9\n")
    assert r.exit_code == 0, r.output
    assert "Mat-khau" not in r.output
    assert authenticate(scratch_engine, "can_bo_gl", "Mat-khau-can-bo-9").user.scope.legacy_districts == {"466"}
    listed = _run(scratch_engine, "users", "list").output
    assert "can_bo_gl" in listed and "legacy_district:466" in listed
    weak = _run(scratch_engine, "users", "add", "weak_user", "--role", "officer", "--scope", "legacy:466", input="abc\n")
    assert weak.exit_code != 0 and "10" in weak.output
    bad_scope = _run(scratch_engine, "users", "add", "x_user", "--role", "officer", "--scope", "legacy:999",
                     input="Mat-khau-can-bo-9\n")
    assert bad_scope.exit_code != 0 and "999" in bad_scope.output
    assert _run(scratch_engine, "users", "disable", "can_bo_gl").exit_code == 0
    assert authenticate(scratch_engine, "can_bo_gl", "Mat-khau-can-bo-9").user is None
    token = _run(scratch_engine, "users", "token", "wall_qt", "--label", "phòng họp").output.strip()
    assert token.startswith("/wall?token=") and len(token) > 50
    with scratch_engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM wall_token")).scalars().all()
        actions = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
    assert token.split("=", 1)[1] not in stored  # only its hash is kept
    assert {"user.add", "user.disable", "wall_token.create"} <= set(actions)


def test_backup_and_restore_round_trip(scratch_engine, tmp_path):
    with scratch_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (action, actor) VALUES ('before-backup', 'test')"))
    dump = tmp_path / "geo_dash.dump"
    assert _run(scratch_engine, "backup", str(dump)).exit_code == 0
    assert dump.stat().st_size > 1_000_000
    with scratch_engine.begin() as conn:
        conn.execute(text("DELETE FROM crosswalk"))
        conn.execute(text("INSERT INTO audit_log (action, actor) VALUES ('after-backup', 'test')"))
    scratch_engine.dispose()
    r = _run(scratch_engine, "restore", str(dump), "--yes")
    assert r.exit_code == 0, r.output
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM crosswalk")).scalar_one() == 10597
        actions = conn.execute(text("SELECT action FROM audit_log WHERE actor = 'test'")).scalars().all()
        units = conn.execute(text("SELECT count(*) FROM admin_unit")).scalar_one()
    assert actions == ["before-backup"] and units == 63 + 696 + 10035 + 34 + 3321


def test_app_survives_a_database_outage_and_recovers(template_db, cluster):
    """Stop PostgreSQL under a running app: a clear notice, no crash; start it: back by itself."""
    home = Path(tempfile.mkdtemp(prefix="geo_dash_fault_", dir="/tmp"))
    home.chmod(0o755)
    own = ManagedCluster(home=home, port=_free_port())
    proc = None
    try:
        own.start()
        dump = home / "t.dump"
        subprocess.run([sys.executable, "-m", "geo_dash.cli", "backup", str(dump)], check=True,
                       env={**os.environ, "GEO_DASH_DATABASE_URL": cluster.url(template_db)})
        subprocess.run([sys.executable, "-m", "geo_dash.cli", "restore", str(dump), "--yes"], check=True,
                       env={**os.environ, "GEO_DASH_DATABASE_URL": own.url()})
        from tests.browser.conftest import start_server

        proc, base = start_server(own.url(), {"GEO_DASH_COOKIE_SECURE": "0", "GEO_DASH_HOME": str(home)})

        def get(path):
            try:
                with urllib.request.urlopen(base + path, timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        assert get("/healthz")[0] == 200
        # a logged-in user (plain-http test server, so the cookie is not marked Secure here)
        import http.cookiejar
        import re as _re

        from tests.conftest import PASSWORD

        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_form = browser.open(base + "/login", timeout=10).read().decode()
        csrf = _re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
        browser.open(base + "/login", data=urllib.parse.urlencode(
            {"username": "admin", "password": PASSWORD, "csrf_token": csrf, "next": "/"}).encode(), timeout=10)
        assert browser.open(base + "/", timeout=10).status == 200

        own.stop()
        status, body = get("/healthz")
        assert status == 503 and "database unavailable" in body
        try:
            browser.open(base + "/", timeout=10)
            raise AssertionError("expected 503 while the database is down")
        except urllib.error.HTTPError as e:
            page = e.read().decode()
            assert e.code == 503 and 'id="db-unavailable"' in page and "Không kết nối được cơ sở dữ liệu" in page
            assert "Traceback" not in page
        assert proc.poll() is None  # no crash
        own.start()
        deadline = time.time() + 30
        while get("/healthz")[0] != 200 and time.time() < deadline:
            time.sleep(0.5)
        assert get("/healthz")[0] == 200
        assert browser.open(base + "/", timeout=10).status == 200  # the same session carries on
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        own.stop()
        shutil.rmtree(home, ignore_errors=True)
