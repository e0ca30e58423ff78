"""The reports page: the download route checks the user's scope and the file's hash, and audits;
the list shows only snapshots within the user's scope; officers snapshot their own area."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from geo_dash.config import Settings
from geo_dash.exports import snapshot as sn
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import Scope
from geo_dash.web.pages import reports_page
from tests.exports import DISTRICT, MONTH, OTHER_DISTRICT, PROVINCE
from tests.conftest import case_edited_after_the_analysis
from tests.security.conftest import BASE, Client


@pytest.fixture(scope="module")
def snaps(engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    province = sn.create_snapshot(engine, month=MONTH, scope=Scope(legacy_provinces=frozenset({PROVINCE})),
                                  out_dir=out, actor="leader_qt")
    district = sn.create_snapshot(engine, month=MONTH, scope=Scope(legacy_districts=frozenset({DISTRICT})),
                                  out_dir=out, actor="officer_vl")
    return {"province": province, "district": district}


@pytest.fixture
def app(snap_url, tmp_path):
    from geo_dash.db import engine as engine_mod
    from geo_dash.db.engine import get_app_engine
    from geo_dash.web.app import create_app

    application = create_app(database_url=snap_url, settings=Settings(database_url=snap_url, home=tmp_path))
    if "reports_file" not in application.server.view_functions:  # until app.py registers the page itself
        reports_page.register_callbacks(application, get_app_engine(snap_url))
    application.server.config["GEO_DASH_SNAPSHOT_DIR"] = str(tmp_path / "snapshots")
    yield application
    engine_mod._app_engine.cache_clear()


def _audit(engine, action: str, actor: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT actor, action, target, details FROM audit_log WHERE action = :a AND actor = :u ORDER BY id"),
            {"a": action, "u": actor}).mappings()]


def test_an_officer_downloads_their_district_snapshot_and_it_is_audited(app, snaps, engine):
    client = Client(app, "officer_vl")
    snap = snaps["district"]
    for kind in ("pdf", "html", "gpkg", "xlsx", "manifest"):
        resp = client.get(f"/reports/file/{snap.id}/{kind}")
        assert resp.status_code == 200, (kind, resp.status_code)
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert hashlib.sha256(resp.data).hexdigest() == hashlib.sha256(snap.files[kind].read_bytes()).hexdigest()
    targets = [a["target"] for a in _audit(engine, "snapshot.download", "officer_vl")]
    assert f"snapshot:{snap.id}/pdf" in targets and f"snapshot:{snap.id}/xlsx" in targets


def test_snapshots_outside_the_users_scope_are_not_served(app, snaps):
    vl, hl, leader = Client(app, "officer_vl"), Client(app, "officer_hl"), Client(app, "leader_qt")
    assert vl.get(f"/reports/file/{snaps['province'].id}/pdf").status_code == 404
    assert hl.get(f"/reports/file/{snaps['district'].id}/pdf").status_code == 404
    assert hl.get(f"/reports/file/{snaps['district'].id}/gpkg").status_code == 404
    for snap in snaps.values():
        assert leader.get(f"/reports/file/{snap.id}/pdf").status_code == 200
    assert leader.get(f"/reports/file/{snaps['province'].id}/secrets").status_code == 404
    assert leader.get("/reports/file/999999/pdf").status_code == 404
    anonymous = Client(app).get(f"/reports/file/{snaps['district'].id}/pdf")
    assert anonymous.status_code in (302, 401) and b"%PDF" not in anonymous.data


def test_an_altered_file_is_refused(app, engine, tmp_path):
    snap = sn.create_snapshot(engine, month=MONTH, scope=Scope(legacy_districts=frozenset({OTHER_DISTRICT})),
                              out_dir=tmp_path, actor="officer_hl")
    with open(snap.files["xlsx"], "ab") as f:
        f.write(b"tampered")
    resp = Client(app, "officer_hl").get(f"/reports/file/{snap.id}/xlsx")
    assert resp.status_code == 409 and "SHA-256" in resp.get_json()["error"]
    assert _audit(engine, "snapshot.download_refused", "officer_hl")


def _render(app, url: str, username: str, role: str, scope: Scope, state: dict | None = None):
    from geo_dash.db.engine import get_app_engine

    user = User(id=0, username=username, role=role, scope=scope)
    token = current_user.set(user)
    try:
        with app.server.test_request_context("/reports"):
            return reports_page.layout(get_app_engine(url), Settings(database_url=url),
                                       {**reports_page.parse_state({}), **(state or {})})
    finally:
        current_user.reset(token)


def _ids(component) -> set[str]:
    out = set()

    def walk(c):
        cid = getattr(c, "id", None)
        if isinstance(cid, str):
            out.add(cid)
        children = getattr(c, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children]:
            if child is not None and not isinstance(child, (str, int, float)):
                walk(child)

    walk(component)
    return out


def test_the_list_shows_only_snapshots_within_the_users_scope(app, snaps, snap_url):
    vl = _ids(_render(app, snap_url, "officer_vl", "officer", Scope(legacy_districts=frozenset({DISTRICT}))))
    hl = _ids(_render(app, snap_url, "officer_hl", "officer", Scope(legacy_districts=frozenset({OTHER_DISTRICT}))))
    qt = _ids(_render(app, snap_url, "leader_qt", "leader", Scope(legacy_provinces=frozenset({PROVINCE}))))
    row = "snapshot-row-{}".format
    assert row(snaps["district"].id) in vl and row(snaps["province"].id) not in vl
    assert row(snaps["district"].id) not in hl and row(snaps["province"].id) not in hl
    assert {row(snaps["district"].id), row(snaps["province"].id)} <= qt
    assert "reports-create" in vl and "reports-create" in qt
    wall = _ids(_render(app, snap_url, "wall_qt", "wall", Scope(legacy_provinces=frozenset({PROVINCE}))))
    assert "reports-create" not in wall


def test_an_officer_makes_their_own_snapshot_with_the_button(app, engine):
    client = Client(app, "officer_vl")
    output = "..reports-result.children...reports-list.children.."
    resp = client.callback(output, {"reports-create.n_clicks": 1},
                           {"reports-scheme.value": "legacy", "reports-province.value": PROVINCE,
                            "reports-per-district.checked": True, "reports-lang.data": "vi"})
    assert resp.status_code == 200, resp.data[:300]
    assert b"reports-made" in resp.data
    with engine.connect() as conn:
        made = conn.execute(text("SELECT scope_key, created_by FROM snapshot ORDER BY id DESC LIMIT 1")).one()
    assert tuple(made) == (f"legacy:{DISTRICT}", "officer_vl")  # their district, not the province
    assert _audit(engine, "snapshot.create", "officer_vl")


def test_a_wall_token_cannot_download(app, snaps, engine):
    from geo_dash.security.users import create_wall_token

    token = create_wall_token(engine, "wall_qt")
    http = app.server.test_client()
    http.get(f"/wall?token={token}", base_url=BASE)
    resp = http.get(f"/reports/file/{snaps['province'].id}/pdf", base_url=BASE)
    assert resp.status_code == 403


def test_the_form_warns_when_cases_changed_after_the_analytics(app, engine, snap_url):
    """A snapshot freezes the analytics, not the cases: the form says so when they are behind."""
    leader = ("leader_qt", "leader", Scope(legacy_provinces=frozenset({PROVINCE})))
    assert "reports-behind" not in _ids(_render(app, snap_url, *leader))
    with case_edited_after_the_analysis(engine) as finished:
        form = _render(app, snap_url, *leader)
        assert "reports-behind" in _ids(form)
        assert f"sau lần phân tích lúc {finished:%H:%M %d/%m/%Y}" in str(form)
        assert "reports-create" in _ids(form)  # a warning, not a refusal
    assert "reports-behind" not in _ids(_render(app, snap_url, *leader))
