"""Fixtures for access-control tests: the real Flask/Dash app (in process) on a private database
with demo data, logged-in clients, and a helper to call any Dash callback with any payload."""

from __future__ import annotations

import contextlib
import json

import pytest
from sqlalchemy import text

from geo_dash.config import Settings
from geo_dash.demo.load import load_demo
from tests.conftest import PASSWORD

BASE = "https://localhost"  # session cookies are Secure


@pytest.fixture
def demo_engine(scratch_engine):
    load_demo(scratch_engine, seed=2025)
    return scratch_engine


@contextlib.contextmanager
def app_on(engine, home):
    """The real app (in process) on ``engine``'s database, its files under ``home``."""
    from geo_dash.db import engine as engine_mod
    from geo_dash.web.app import create_app

    url = engine.url.render_as_string(hide_password=False)
    try:
        yield create_app(database_url=url, settings=Settings(database_url=url, home=home))
    finally:
        engine_mod._app_engine.cache_clear()


@pytest.fixture
def app(demo_engine, tmp_path):
    with app_on(demo_engine, tmp_path) as application:
        yield application


class Client:
    """A logged-in (or anonymous) HTTP client of the app, with the CSRF header Dash sends."""

    def __init__(self, app, username: str | None = None):
        self.app = app
        self.http = app.server.test_client()
        self.csrf = None
        if username:
            self.login(username)

    def login(self, username: str, password: str = PASSWORD):
        self.http.get("/login", base_url=BASE)
        csrf = self.http.get_cookie("_csrf_token").value
        resp = self.http.post("/login", base_url=BASE, data={"username": username, "password": password,
                                                             "csrf_token": csrf, "next": "/"})
        cookie = self.http.get_cookie("_csrf_token")
        self.csrf = cookie.value if cookie else None
        return resp

    def get(self, path, **kw):
        return self.http.get(path, base_url=BASE, **kw)

    def callback(self, output: str, inputs: dict, state: dict | None = None, *, csrf: bool = True,
                 changed: list[str] | None = None):
        """POST a Dash callback. ``inputs``/``state``: {"id.prop": value}; pattern ids as JSON strings."""
        spec = self.app.callback_map[output]

        def items(defs, values):
            out = []
            for d in defs:
                key = f"{d['id']}.{d['property']}"
                value = (values or {}).get(key)
                cid = json.loads(d["id"]) if d["id"].startswith("{") else d["id"]
                if isinstance(cid, dict) and '["ALL"]' in d["id"]:  # ALL wildcard: a list of entries
                    out.append(value if isinstance(value, list) else [])
                else:
                    out.append({"id": cid, "property": d["property"], "value": value})
            return out

        outputs = []
        for part in output.strip(".").split("..."):
            cid, _, prop = part.rpartition(".")
            outputs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
        body = {
            "output": output,
            "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": items(spec["inputs"], inputs),
            "state": items(spec["state"], state),
            "changedPropIds": changed or [f"{d['id']}.{d['property']}" for d in spec["inputs"]],
        }
        headers = {"X-CSRFToken": self.csrf} if csrf and self.csrf else {}
        return self.http.post("/_dash-update-component", base_url=BASE, json=body, headers=headers)


@pytest.fixture
def client_for(app):
    def make(username: str | None = None) -> Client:
        return Client(app, username)

    return make


def district_cases(engine, district: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT id, external_ref, commune_legacy FROM grievance_case WHERE district_legacy = :d"),
            {"d": district}).mappings()]
