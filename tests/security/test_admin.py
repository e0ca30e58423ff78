"""User administration in the app: admins only, in the app and in the database."""

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from geo_dash.db.engine import get_app_engine
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import ALL

ACT = "..admin-action-result.children...admin-users.rowData.."


def _add(client, username):
    return client.callback(ACT, {"admin-toggle.n_clicks": None, "admin-token.n_clicks": None, "admin-add.n_clicks": 1},
                           {"admin-users.selectedRows": None, "admin-new-username.value": username,
                            "admin-new-role.value": "officer", "admin-new-scope.value": "legacy:466",
                            "admin-new-password.value": "Mat-khau-moi-1234", "admin-lang.data": "vi"},
                           changed=["admin-add.n_clicks"])


def _exists(engine, username):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM app_user WHERE username = :u"), {"u": username}).scalar_one() == 1


def test_only_admins_add_users(client_for, demo_engine):
    resp = _add(client_for("officer_vl"), "sneaky")
    assert "Chỉ quản trị viên" in json.dumps(json.loads(resp.get_data()), ensure_ascii=False)
    assert not _exists(demo_engine, "sneaky")
    assert client_for("officer_vl").get("/admin").status_code == 200  # the page says no, and shows nothing
    resp = _add(client_for("admin"), "can_bo_moi")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "Đã thêm" in json.dumps(json.loads(resp.get_data()), ensure_ascii=False), resp.get_data(as_text=True)
    assert _exists(demo_engine, "can_bo_moi")
    with demo_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'user.add' AND target = 'can_bo_moi' "
                                 "AND actor = 'admin'")).scalar_one() == 1


def test_the_database_refuses_user_changes_from_a_non_admin_transaction(demo_engine):
    engine = get_app_engine(demo_engine.url.render_as_string(hide_password=False))
    token = current_user.set(User(id=0, username="x", role="leader", scope=ALL))
    try:
        with pytest.raises(ProgrammingError, match="row-level security"):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO app_user (username, role) VALUES ('intruder', 'admin')"))
        with engine.begin() as conn:
            n = conn.execute(text("UPDATE app_user SET role = 'admin' WHERE username = 'officer_vl'")).rowcount
        assert n == 0
    finally:
        current_user.reset(token)


def test_audit_log_export(client_for):
    admin = client_for("admin")
    resp = admin.callback("admin-download.data", {"admin-export.n_clicks": 1})
    data = json.loads(resp.get_data())["response"]["admin-download"]["data"]
    assert data["filename"].endswith(".csv")
    lines = data["content"].lstrip("\ufeff").splitlines()
    assert lines[0] == "at,actor,action,target,scope,details,ip"
    assert any("login.success" in line for line in lines)
    denied = client_for("leader_qt").callback("admin-download.data", {"admin-export.n_clicks": 1})
    assert b"login.success" not in denied.get_data()
