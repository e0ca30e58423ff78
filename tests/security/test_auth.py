"""Logins, sessions, CSRF, headers, tokens — through the real app's HTTP interface."""

import re

from sqlalchemy import text

from geo_dash.security.users import create_wall_token, revoke_wall_tokens, set_disabled, set_password
from tests.security.conftest import BASE


def test_nothing_without_a_login(client_for):
    anon = client_for()
    page = anon.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert anon.get("/cases?commune=19741").status_code == 302
    assert anon.get("/_dash-layout").status_code == 401
    resp = anon.callback("..cases-grid.rowData...cases-count.children...cases-search.data..",
                         {"cases-commune.value": "19741"}, {"cases-scheme.value": "legacy"})
    assert resp.status_code == 401
    assert b"DEMO-" not in resp.data
    # public: the static bundles, the login page, the health check
    assert anon.get("/login").status_code == 200
    assert anon.get("/healthz").status_code == 200


def test_login_sets_safe_cookies_and_headers(client_for):
    c = client_for()
    resp = c.login("officer_vl")
    assert resp.status_code == 302
    cookies = resp.headers.getlist("Set-Cookie")
    session = next(h for h in cookies if h.startswith("geo_dash_session="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=Lax" in session
    page = c.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "http" not in csp.replace("'self'", "")
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"


def test_wrong_passwords_lock_the_account(client_for, demo_engine):
    c = client_for()
    for _ in range(5):
        resp = c.login("officer_hl", "not-the-password")
    assert resp.status_code == 429 and "khoá" in resp.get_data(as_text=True)
    ok = client_for().login("officer_hl")  # the right password is refused while locked
    assert ok.status_code == 429
    with demo_engine.connect() as conn:
        reasons = conn.execute(text("SELECT details->>'reason' FROM audit_log WHERE actor = 'officer_hl' "
                                    "AND action = 'login.failure' ORDER BY id")).scalars().all()
    # four wrong passwords, the fifth locks, and the right password is then refused as locked
    assert reasons == ["bad_credentials"] * 4 + ["locked", "locked"]


def test_state_changing_requests_need_the_csrf_token(client_for):
    c = client_for("officer_vl")
    args = ("form-result.children", {"form-save.n_clicks": 1},
            {'{"form":["ALL"]}.value': [], '{"form":["ALL"]}.id': [], "cases-commune.value": "19363",
             "cases-scheme.value": "legacy", "cases-lang.data": "vi"})
    assert c.callback(*args, csrf=False).status_code == 403
    assert c.callback(*args).status_code == 200
    # a login form posted without its token is refused too
    other = client_for()
    other.get("/login")
    resp = other.http.post("/login", base_url=BASE, data={"username": "admin", "password": "x", "csrf_token": "bad"})
    assert resp.status_code == 400


def test_password_change_and_disabling_end_sessions(client_for, demo_engine):
    c = client_for("officer_vl")
    assert c.get("/").status_code == 200
    set_password(demo_engine, "officer_vl", "Mat-khau-moi-2026")
    assert c.get("/").status_code == 302
    c.login("officer_vl", "Mat-khau-moi-2026")
    assert c.get("/").status_code == 200
    set_disabled(demo_engine, "officer_vl")
    assert c.get("/").status_code == 302
    assert client_for().login("officer_vl", "Mat-khau-moi-2026").status_code == 401


def test_logout(client_for):
    c = client_for("leader_qt")
    assert c.get("/").status_code == 200
    resp = c.http.post("/logout", base_url=BASE, data={"csrf_token": c.csrf})
    assert resp.status_code == 302
    assert c.get("/").status_code == 302


def test_wall_token_opens_the_wall_only_and_can_be_revoked(client_for, demo_engine):
    token = create_wall_token(demo_engine, "wall_qt", "phòng họp")
    assert len(token) >= 40
    wall = client_for()
    resp = wall.get(f"/wall?token={token}")
    assert resp.status_code != 302  # authenticated (the wall page itself may come later)
    assert wall.get("/cases").status_code == 403
    assert client_for().get("/wall?token=" + "x" * 43).status_code == 302
    revoke_wall_tokens(demo_engine, "wall_qt")
    assert client_for().get(f"/wall?token={token}").status_code == 302


def test_no_stack_traces_reach_the_browser(client_for):
    c = client_for("admin")
    resp = c.callback("..cases-grid.rowData...cases-count.children...cases-search.data..",
                      {"cases-commune.value": {"not": "a code"}},
                      {"cases-scheme.value": "legacy", "cases-province.value": "45", "cases-lang.data": "vi"})
    body = resp.get_data(as_text=True)
    assert "Traceback" not in body and 'File "' not in body
    assert not re.search(r"psycopg|sqlalchemy", body, re.I)


def _key_in_fresh_home(home: str, barrier, out) -> None:
    from geo_dash.config import Settings
    from geo_dash.web.auth import secret_key

    settings = Settings(home=__import__("pathlib").Path(home))
    barrier.wait()  # every "worker" asks at the same moment, as gunicorn's do on a first start
    out.put(secret_key(settings))


def test_workers_starting_together_share_one_session_key(tmp_path, monkeypatch):
    """gunicorn starts its workers at once on a fresh GEO_DASH_HOME: they must all sign sessions with
    the same key (with a plain write, two workers kept different keys and logged users out at random)."""
    import multiprocessing

    monkeypatch.delenv("GEO_DASH_SECRET_KEY", raising=False)
    ctx = multiprocessing.get_context("fork")
    for attempt in range(5):
        home = tmp_path / f"home{attempt}"
        barrier, out = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_key_in_fresh_home, args=(str(home), barrier, out)) for _ in range(8)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(10)
        assert len(set(keys)) == 1 and len(keys[0]) == 32
        assert (home / "secret_key").read_bytes() == keys[0]
        assert oct((home / "secret_key").stat().st_mode & 0o777) == "0o600"
        assert [p.name for p in home.iterdir()] == ["secret_key"]  # no candidate left behind
