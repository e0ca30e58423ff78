"""Browser tests: a real geo-dash server (subprocess) and headless Debian Chromium via Playwright.

Every request the page makes is recorded; a request to any host other than the
test server's loopback address fails the test (closed networks).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port  # noqa: F401 (re-exported)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def start_server(database_url: str, extra_env: dict | None = None):
    port = _free_port()
    env = {**os.environ, "GEO_DASH_DATABASE_URL": database_url, **(extra_env or {})}
    # the server's log goes to a file: a pipe nobody reads fills up (64 KB of request lines) and the
    # server then blocks on its next log write
    log = tempfile.NamedTemporaryFile(prefix=f"geo_dash_serve_{port}_", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo_dash.cli", "serve", "--no-setup", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    log.close()
    proc.log_path = Path(log.name)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"geo-dash serve exited: {Path(log.name).read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("geo-dash serve did not become healthy in 60 s")


@contextlib.contextmanager
def served(database_url: str, extra_env: dict | None = None):
    """A geo-dash server for the duration of the block."""
    proc, base = start_server(database_url, extra_env)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def server(loaded_url):
    with served(loaded_url) as base:
        yield base


@pytest.fixture(scope="session")
def analytics_server(analytics_url):
    """A server on the demo data with analytics refreshed (legacy scheme)."""
    with served(analytics_url) as base:
        yield base


@pytest.fixture
def scratch_server(scratch_engine):
    """A server on a private, writable copy of the database (for tests that save)."""
    with served(scratch_engine.url.render_as_string(hide_password=False)) as base:
        yield base


def login(page, base: str, username: str = "admin", password: str | None = None) -> None:
    """Log in through the real form."""
    from tests.conftest import PASSWORD

    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15000)


class OutsideRequests(list):
    """Requests to hosts other than loopback (they are aborted and recorded)."""


@contextlib.contextmanager
def guarded_page(browser, size=(1400, 900), *, any_error_fails: bool = False):
    """A page that may reach only this machine (other hosts are aborted and fail the test) and must
    keep its Content-Security-Policy; with ``any_error_fails`` every uncaught page error fails too."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="vi-VN")
    outside = OutsideRequests()
    errors: list[str] = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOCAL_HOSTS:
            outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.outside_requests = outside
    pg.page_errors = errors
    try:
        yield pg
    finally:
        context.close()
    assert list(outside) == [], f"the page requested hosts outside the machine: {list(outside)[:5]}"
    csp = [e for e in errors if "Content Security Policy" in e]
    assert csp == [], f"the page broke its Content-Security-Policy: {csp[:3]}"
    if any_error_fails:
        assert errors == [], f"errors in the page: {errors[:3]}"


@pytest.fixture
def page(browser):
    with guarded_page(browser) as pg:
        yield pg