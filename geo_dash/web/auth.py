"""Logins, sessions, CSRF, security headers and the request guard (Flask side of the Dash app).

* Every page, callback and download needs a logged-in user; static bundles, ``/login`` and
  ``/healthz`` do not.  A wall display may instead present its revocable token
  (``/wall?token=…``), which gives it its wall user's scope, read-only.
* Sessions: a signed, HttpOnly, SameSite cookie (Secure unless ``GEO_DASH_COOKIE_SECURE=0``);
  30 minutes idle and 12 hours absolute timeout; logging out, a password change or disabling
  the user ends every session of that user (``session_epoch``).
* CSRF: every state-changing request must carry the session's token — Dash's renderer sends
  it from the ``_csrf_token`` cookie as ``X-CSRFToken``; HTML forms send it as a field.
* Login throttling: per account (see :mod:`geo_dash.security.users`) and per client address.
* Security headers with a Content-Security-Policy that the Dash app works with (no inline
  script but Dash's one renderer line, allowed by its hash; no remote origin at all).
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import html
import os
import secrets
import tempfile
import time
from pathlib import Path

import flask
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from geo_dash.config import Settings
from geo_dash.security import users as user_store
from geo_dash.security.audit import audit
from geo_dash.security.context import current_user
from geo_dash.web.i18n import t

PUBLIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico", "/healthz", "/login", "/static/")
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
CSRF_COOKIE = "_csrf_token"
IP_WINDOW_S = 300
IP_MAX_FAILURES = 20

_RENDERER_JS = "var renderer = new DashRenderer();"


def _sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def content_security_policy(settings: Settings, script_hashes: list[str] | None = None) -> str:
    img = "'self' data: blob:"
    if settings.tile_url:
        from urllib.parse import urlparse

        u = urlparse(settings.tile_url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        img += f" {u.scheme}://{u.netloc}"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'report-sample' " + " ".join(script_hashes or [f"'sha256-{_sha256_b64(_RENDERER_JS)}'"]),
        "style-src 'self' 'unsafe-inline'",       # Mantine and Leaflet set inline styles
        f"img-src {img}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def secret_key(settings: Settings) -> bytes:
    """GEO_DASH_SECRET_KEY, else a random key kept in GEO_DASH_HOME (so sessions survive restarts)."""
    env = os.environ.get("GEO_DASH_SECRET_KEY")
    if env:
        return env.encode()
    path = Path(settings.home) / "secret_key"
    try:
        if path.exists():
            return path.read_bytes()
        path.parent.mkdir(parents=True, exist_ok=True)
        # gunicorn's workers start together: each writes a complete candidate, one link() wins and
        # everybody reads the winner (a plain write let two workers sign sessions with different keys)
        fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fchmod(fd, 0o600)
            os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
        return path.read_bytes()
    except OSError:
        return secrets.token_bytes(32)  # read-only deployment: sessions end with the process


class _IpThrottle:
    """Failed logins per client address within a sliding window."""

    def __init__(self) -> None:
        self.failures: dict[str, collections.deque] = collections.defaultdict(collections.deque)

    def blocked(self, ip: str) -> bool:
        q = self.failures[ip]
        while q and q[0] < time.monotonic() - IP_WINDOW_S:
            q.popleft()
        return len(q) >= IP_MAX_FAILURES

    def fail(self, ip: str) -> None:
        self.failures[ip].append(time.monotonic())


LOGIN_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="/assets/geo_dash.css"></head>
<body class="gd-login-body"><main class="gd-login">
<h1>{title}</h1><p class="gd-login-sub">{subtitle}</p>
{error}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label for="username">{user_label}</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{pw_label}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{submit}</button></form>
<p class="gd-login-note">{note}</p></main></body></html>"""


def _client_ip() -> str:
    return flask.request.remote_addr or "?"


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def install(app, app_engine: Engine, settings: Settings) -> None:
    """Wire authentication into the Dash app's Flask server."""
    server: flask.Flask = app.server
    server.secret_key = secret_key(settings)
    secure = os.environ.get("GEO_DASH_COOKIE_SECURE", "1") != "0"
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_SECURE=secure, SESSION_COOKIE_NAME="geo_dash_session",
                         MAX_CONTENT_LENGTH=int(os.environ.get("GEO_DASH_MAX_UPLOAD_MB", "50")) * 1024 * 1024)
    throttle = _IpThrottle()
    csp_cache: dict[str, str] = {}

    def csp() -> str:
        """Dash's own inline scripts (the renderer line, the pages' title callback) are allowed by hash."""
        hashes = app.csp_hashes()
        key = " ".join(hashes)
        if key not in csp_cache:
            csp_cache.clear()
            csp_cache[key] = content_security_policy(settings, hashes)
        return csp_cache[key]

    def lang() -> str:
        return "en" if flask.request.args.get("lang") == "en" else "vi"

    def login_page(error: str | None = None, status: int = 200):
        sess = flask.session
        sess.setdefault("csrf", secrets.token_urlsafe(24))
        lg = lang()
        body = LOGIN_PAGE.format(
            lang=lg, title=html.escape(t("app.title", lg)), subtitle=html.escape(t("login.title", lg)),
            error=f'<p class="gd-login-error" role="alert">{html.escape(error)}</p>' if error else "",
            csrf=html.escape(sess["csrf"]), next=html.escape(_safe_next(flask.request.values.get("next"))),
            user_label=html.escape(t("login.username", lg)), pw_label=html.escape(t("login.password", lg)),
            submit=html.escape(t("login.submit", lg)), note=html.escape(t("login.note", lg)),
        )
        resp = flask.make_response(body, status)
        resp.set_cookie(CSRF_COOKIE, sess["csrf"], secure=secure, httponly=False, samesite="Strict")
        return resp

    @server.route("/login", methods=["GET", "POST"])
    def login():
        if flask.request.method == "GET":
            return login_page()
        sess = flask.session
        if not secrets.compare_digest(str(flask.request.form.get("csrf_token", "")), str(sess.get("csrf", "-"))):
            return login_page(t("login.expired", lang()), 400)
        ip = _client_ip()
        username = (flask.request.form.get("username") or "").strip().lower()[:64]
        password = flask.request.form.get("password") or ""
        if throttle.blocked(ip):
            audit(app_engine, "login.blocked", actor=username, ip=ip)
            return login_page(t("login.throttled", lang()), 429)
        result = user_store.authenticate(app_engine, username, password)
        if result.user is None:
            throttle.fail(ip)
            audit(app_engine, "login.failure", actor=username, details={"reason": result.reason}, ip=ip)
            key = "login.locked" if result.reason == "locked" else "login.failed"
            return login_page(t(key, lang()), 401 if result.reason != "locked" else 429)
        sess.clear()
        now = time.time()
        sess.update(uid=result.user.id, epoch=user_store.session_epoch(app_engine, result.user.id),
                    csrf=secrets.token_urlsafe(24), started=now, seen=now)
        token = current_user.set(result.user)
        try:
            audit(app_engine, "login.success", ip=ip)
        finally:
            current_user.reset(token)
        resp = flask.redirect(_safe_next(flask.request.form.get("next")))
        resp.set_cookie(CSRF_COOKIE, sess["csrf"], secure=secure, httponly=False, samesite="Strict")
        return resp

    @server.route("/logout", methods=["POST"])
    def logout():
        user = current_user.get()
        if user is not None:
            audit(app_engine, "logout", ip=_client_ip())
        flask.session.clear()
        resp = flask.redirect("/login")
        resp.delete_cookie(CSRF_COOKIE)
        return resp

    def _session_user():
        sess = flask.session
        uid = sess.get("uid")
        if uid is None:
            return None
        now = time.time()
        if now - sess.get("seen", 0) > IDLE_TIMEOUT.total_seconds() or \
                now - sess.get("started", 0) > ABSOLUTE_TIMEOUT.total_seconds():
            sess.clear()
            return None
        user = user_store.load_user(app_engine, int(uid), epoch=sess.get("epoch"))
        if user is None:
            sess.clear()
            return None
        sess["seen"] = now
        return user

    @server.before_request
    def guard():
        path = flask.request.path
        current_user.set(None)
        if path.startswith(PUBLIC_PREFIXES):
            return None
        user = None
        if path.startswith("/wall") and flask.request.args.get("token"):
            user = user_store.user_for_token(app_engine, flask.request.args["token"])
            if user is not None:
                flask.session.update(wall_token=flask.request.args["token"])
        if user is None and flask.session.get("wall_token"):
            user = user_store.user_for_token(app_engine, flask.session["wall_token"])
        if user is None:
            user = _session_user()
        if user is None:
            if path.startswith("/_dash") or flask.request.method != "GET":
                return flask.jsonify({"error": "login required"}), 401
            return flask.redirect(f"/login?next={flask.request.full_path.rstrip('?')}")
        if flask.request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = flask.request.headers.get("X-CSRFToken") or flask.request.form.get("csrf_token") or ""
            expected = flask.session.get("csrf") or ""
            if not expected or not secrets.compare_digest(str(sent), str(expected)):
                if not user.via_token:
                    return flask.jsonify({"error": "CSRF token missing or wrong"}), 403
        if user.via_token and not (path.startswith("/wall") or path.startswith("/_dash")):
            return flask.jsonify({"error": "a wall token opens the wall only"}), 403
        current_user.set(user)
        flask.g.user = user
        return None

    @server.teardown_request
    def forget_user(_exc=None):
        """The user belongs to one request only (worker threads are reused between requests)."""
        current_user.set(None)

    @server.after_request
    def security_headers(resp):
        resp.headers["Content-Security-Policy"] = csp()
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "geolocation=(), camera=(), microphone=()"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if secure:
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if flask.request.path.startswith(("/_dash-update-component", "/_dash-layout", "/login")):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @server.errorhandler(OperationalError)
    def database_down(_exc):
        """PostgreSQL is unreachable: say so plainly, retry by itself every 10 s, no trace."""
        lg = lang()
        body = (f'<!doctype html><html lang="{lg}"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">'
                f'<title>geo_dash</title><link rel="stylesheet" href="/assets/geo_dash.css"></head>'
                f'<body class="gd-login-body"><main class="gd-login"><h1>{html.escape(t("app.title", lg))}</h1>'
                f'<p class="gd-login-error" role="alert" id="db-unavailable">{html.escape(t("error.db", lg))}</p>'
                f'</main></body></html>')
        if flask.request.path.startswith("/_dash"):
            return flask.jsonify({"error": t("error.db", "vi") + " / " + t("error.db", "en")}), 503
        return flask.make_response(body, 503)

    @server.errorhandler(500)
    def internal_error(_exc):
        return flask.jsonify({"error": t("error.internal", "vi") + " / " + t("error.internal", "en")}), 500
