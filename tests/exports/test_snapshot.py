"""Snapshots: frozen, versioned, reproducible, scoped and immutable."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import openpyxl
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo_dash.analytics import read as analytics
from geo_dash.analytics.refresh import HOT_CATEGORIES
from geo_dash.exports import manifest as mf
from geo_dash.exports import snapshot as sn
from geo_dash.security.context import scope_json
from geo_dash.security.scope import ALL, Scope
from tests.exports import DISTRICT, MONTH, OTHER_DISTRICT, PROVINCE

PROVINCE_SCOPE = Scope(legacy_provinces=frozenset({PROVINCE}))


@pytest.fixture(scope="module")
def twice(engine, tmp_path_factory):
    """The province's snapshot made twice from the same data."""
    out = tmp_path_factory.mktemp("snapshots")
    first = sn.create_snapshot(engine, month="2025-06", scope=PROVINCE_SCOPE, out_dir=out, actor="test")
    second = sn.create_snapshot(engine, month=MONTH, scope=ALL, province_code=PROVINCE, out_dir=out, actor="test")
    return first, second


def gpkg_content(path) -> dict:
    """Every layer read back with pyogrio: attributes and geometry (WKB), in file order."""
    out = {}
    for name, _geom_type in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        out[name] = (df.drop(columns="geometry").to_json(orient="split", date_format="iso"),
                     [None if g is None else g.wkb_hex for g in df.geometry])
    return out


def xlsx_content(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_indicators_classes_and_hot_categories_are_the_maps():
    import numpy as np

    from geo_dash.web.pages import map_page

    assert sn.INDICATORS == map_page.INDICATORS
    assert set(HOT_CATEGORIES) == map_page.HOT
    values = np.random.default_rng(1).gamma(1.2, 3.0, 120).round(1)
    for indicator in ("intensity", "n_new"):
        ours = sn.map_classes(indicator, values)
        theirs = map_page.indicator_classes(pd.Series(values), indicator)  # the map's rule without fixed breaks
        assert ours.colors == theirs.colors and ours.labels_vi == theirs.labels_vi
        assert list(ours.class_of) == list(theirs.class_of)


def test_the_same_data_twice_gives_identical_content(twice, engine):
    first, second = twice
    assert (first.version, second.version) == (first.version, first.version + 1)
    assert first.scope_key == second.scope_key == "legacy:45"
    assert first.content_hash == second.content_hash
    # the stored hash is the hash of the frozen rows read back
    for r in (first, second):
        assert mf.content_hash(sn.frozen_tables(engine, r.id)) == r.content_hash
        assert sn.verify_snapshot(engine, r.id) == []
        assert mf.verify_directory(r.directory) == []
    assert sn.frozen_tables(engine, first.id) == sn.frozen_tables(engine, second.id)
    assert second.diff["same_content"] is True and second.diff["tables"] == {}
    assert second.diff["previous"] == {"id": first.id, "version": first.version, "content_hash": first.content_hash}
    # the GeoPackage and the workbook read back are the same (and so are their bytes)
    assert gpkg_content(first.files["gpkg"]) == gpkg_content(second.files["gpkg"])
    assert xlsx_content(first.files["xlsx"]) == xlsx_content(second.files["xlsx"])
    for kind in ("gpkg", "xlsx"):
        assert first.files[kind].read_bytes() == second.files[kind].read_bytes(), kind
    with zipfile.ZipFile(first.files["xlsx"]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_snapshot_freezes_what_the_read_functions_return(twice, engine):
    snap, _ = twice
    rows = sn.frozen_tables(engine, snap.id)
    communes = {r["commune_code"]: r for r in rows["communes"]}
    values = analytics.cube_values(engine, PROVINCE_SCOPE, scheme="legacy", province_code=PROVINCE, month=MONTH,
                                   indicator="intensity")
    assert set(communes) == set(values["commune_code"])
    for code, v in zip(values["commune_code"], values["value"]):
        assert communes[code]["intensity"] == pytest.approx(v)
    ehsa = analytics.ehsa_categories(engine, PROVINCE_SCOPE, "legacy", PROVINCE)
    assert {c: communes[c]["ehsa_category"] for c in ehsa["commune_code"]} == dict(zip(ehsa["commune_code"],
                                                                                        ehsa["category"]))
    top = analytics.top_hotspots(engine, PROVINCE_SCOPE, "legacy", PROVINCE, n=1000)
    assert [h["commune_code"] for h in rows["hotspots"]] == list(top["commune_code"])
    kpi = analytics.kpis(engine, PROVINCE_SCOPE, "legacy", "province", PROVINCE, "12m")
    frozen = next(k for k in rows["kpis"] if (k["level"], k["period_kind"]) == ("province", "12m"))
    assert frozen["received"] == kpi["received"] and frozen["resolved_on_time_pct"] == kpi["resolved_on_time_pct"]
    alerts = analytics.alerts(engine, PROVINCE_SCOPE, "legacy", PROVINCE)
    assert len(rows["alerts"]) == len(alerts)
    assert all("case" not in key for a in rows["alerts"] for key in a["figures"])  # no case ids
    snap_row = sn.get_snapshot(engine, snap.id)
    run = analytics.latest_run(engine, "legacy")
    assert snap_row["run_id"] == run["id"] and snap_row["data_version"] == run["data_version"]
    assert snap_row["params"]["analytics"]["intensity_formula"]
    assert snap_row["is_demo"] is True


def test_only_the_analytics_month_can_be_frozen(engine, tmp_path):
    with pytest.raises(sn.SnapshotError, match="06/2025"):
        sn.create_snapshot(engine, month="2025-05", scope=PROVINCE_SCOPE, out_dir=tmp_path, actor="test")
    assert not any(tmp_path.iterdir())


def test_a_scope_without_units_of_the_scheme_is_refused(engine, tmp_path):
    with pytest.raises(sn.SnapshotError):
        sn.create_snapshot(engine, month=MONTH, scope=Scope(communes_2025=frozenset({"19363"})),
                           province_code=PROVINCE, out_dir=tmp_path, actor="test")
    with pytest.raises(sn.SnapshotError, match="tỉnh"):
        sn.create_snapshot(engine, month=MONTH, scope=ALL, out_dir=tmp_path, actor="test")


def test_province_and_district_snapshots_in_one_call(engine, tmp_path):
    results = sn.create_for_province_and_districts(engine, month=MONTH, province_code=PROVINCE, out_dir=tmp_path,
                                                   actor="test")
    with engine.connect() as conn:
        districts = set(conn.execute(text("""
            SELECT DISTINCT parent_code FROM admin_unit
            WHERE scheme = 'legacy' AND level = 'commune' AND province_code = :p AND geom IS NOT NULL"""),
            {"p": PROVINCE}).scalars())
    assert [r.scope_key for r in results] == ["legacy:45"] + [f"legacy:{d}" for d in sorted(districts)]
    assert all(len({p.parent for p in r.files.values()}) == 1 for r in results)
    # a district officer's scope makes only that district's snapshot
    own = sn.create_for_province_and_districts(engine, month=MONTH, province_code=PROVINCE, out_dir=tmp_path,
                                               actor="test", scope=Scope(legacy_districts=frozenset({DISTRICT})))
    assert [r.scope_key for r in own] == [f"legacy:{DISTRICT}"]


def test_a_group_of_2025_communes_gets_its_own_snapshot(engine, tmp_path):
    """2025 scheme: the province and each group of communes that users serve (officer_2025: 19363, 19366)."""
    results = sn.create_for_province_and_districts(engine, month=MONTH, scheme="2025", province_code="44",
                                                   out_dir=tmp_path, actor="test")
    keys = [r.scope_key for r in results]
    assert keys[0] == "2025:44" and "2025:19363,19366" in keys
    group = results[keys.index("2025:19363,19366")]
    rows = sn.frozen_tables(engine, group.id)
    assert {c["commune_code"] for c in rows["communes"]} == {"19363", "19366"}
    assert all(c["district_code"] is None for c in rows["communes"])
    communes12 = [k for k in rows["kpis"] if (k["level"], k["period_kind"]) == ("commune", "12m")]
    group12 = [k for k in rows["kpis"] if (k["level"], k["period_kind"]) == ("group", "12m")]
    assert communes12 and len(group12) == 1
    assert group12[0]["received"] == sum(k["received"] for k in communes12)
    assert group12[0]["median_days_to_resolve"] is None  # a median cannot be summed
    assert rows["ntm"] == []  # no province-wide figures for a group
    assert group.pdf_pages >= 8 and sn.verify_snapshot(engine, group.id) == []


def test_snapshot_rows_cannot_be_updated_or_deleted(twice, engine):
    snap, _ = twice
    statements = [
        "UPDATE snapshot SET scope_label = 'x' WHERE id = :id",
        "DELETE FROM snapshot WHERE id = :id",
        "UPDATE snapshot_commune SET intensity = 0 WHERE snapshot_id = :id",
        "DELETE FROM snapshot_commune WHERE snapshot_id = :id",
        "DELETE FROM snapshot_kpi WHERE snapshot_id = :id",
        "UPDATE snapshot_alert SET message_vi = 'x' WHERE snapshot_id = :id",
        "DELETE FROM snapshot_hotspot WHERE snapshot_id = :id",
        "DELETE FROM snapshot_ntm WHERE snapshot_id = :id",
        "TRUNCATE snapshot_commune",
    ]
    for sql in statements:  # the owner: refused by the trigger
        with pytest.raises(DBAPIError, match="immutable"):
            with engine.begin() as conn:
                conn.execute(text(sql), {"id": snap.id})
    for sql in statements[:4]:  # the app's role: no such privilege at all
        with pytest.raises(DBAPIError, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL ROLE geo_dash_app"))
                conn.execute(text(sql), {"id": snap.id})
    assert mf.content_hash(sn.frozen_tables(engine, snap.id)) == snap.content_hash


def _as_app(engine, scope: Scope, username: str, role: str, sql: str, params: dict | None = None):
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL ROLE geo_dash_app"))
        conn.execute(text("SELECT set_config('geo_dash.scope', :s, true), set_config('geo_dash.user', :u, true), "
                          "set_config('geo_dash.role', :r, true)"), {"s": scope_json(scope), "u": username, "r": role})
        return conn.execute(text(sql), params or {}).all()


def test_row_level_security_shows_snapshots_within_the_users_scope(twice, engine, tmp_path):
    province, _ = twice
    district = sn.create_snapshot(engine, month=MONTH, scope=Scope(legacy_districts=frozenset({DISTRICT})),
                                  out_dir=tmp_path, actor="test")
    vl = Scope(legacy_districts=frozenset({DISTRICT}))
    hl = Scope(legacy_districts=frozenset({OTHER_DISTRICT}))
    seen_vl = {r[0] for r in _as_app(engine, vl, "officer_vl", "officer", "SELECT id FROM snapshot")}
    seen_hl = {r[0] for r in _as_app(engine, hl, "officer_hl", "officer", "SELECT id FROM snapshot")}
    seen_qt = {r[0] for r in _as_app(engine, PROVINCE_SCOPE, "leader_qt", "leader", "SELECT id FROM snapshot")}
    assert district.id in seen_vl and province.id not in seen_vl
    assert district.id not in seen_hl and province.id not in seen_hl
    assert {district.id, province.id} <= seen_qt
    rows = _as_app(engine, vl, "officer_vl", "officer", "SELECT DISTINCT snapshot_id FROM snapshot_commune")
    assert {r[0] for r in rows} == seen_vl
    # the Python filter is the same rule
    assert {s["id"] for s in sn.list_snapshots(engine, scope=vl)} == seen_vl
    assert sn.get_snapshot(engine, province.id, scope=vl) is None
    # nobody inserts a snapshot wider than their scope, or under another name
    insert = """INSERT INTO snapshot (month, scheme, province_code, scope_key, scope, scope_label, version, created_by,
                                      as_of, run_id, params, content_hash, files, directory)
                VALUES ('2025-06-01', 'legacy', '45', 'legacy:45', CAST(:scope AS jsonb), 'x', 99, :by, '2025-06-30',
                        1, '{}', 'x', '{}', '/tmp')"""
    with pytest.raises(DBAPIError, match="row-level security"):
        _as_app(engine, vl, "officer_vl", "officer", insert, {"scope": scope_json(PROVINCE_SCOPE), "by": "officer_vl"})
    with pytest.raises(DBAPIError, match="row-level security"):
        _as_app(engine, PROVINCE_SCOPE, "leader_qt", "leader", insert, {"scope": scope_json(PROVINCE_SCOPE),
                                                                         "by": "someone_else"})
    with pytest.raises(DBAPIError, match="row-level security"):
        _as_app(engine, PROVINCE_SCOPE, "wall_qt", "wall", insert, {"scope": scope_json(PROVINCE_SCOPE),
                                                                     "by": "wall_qt"})


def test_an_officer_makes_their_snapshot_through_the_apps_role(snap_url, tmp_path):
    """The web path: the app's non-owner role with the officer's scope (row-level security applies)."""
    from geo_dash.db.engine import _app_engine
    from geo_dash.security.context import User, current_user

    app_engine = _app_engine(snap_url, "geo_dash_app")
    user = User(id=0, username="officer_vl", role="officer", scope=Scope(legacy_districts=frozenset({DISTRICT})))
    token = current_user.set(user)
    try:
        result = sn.create_snapshot(app_engine, month=MONTH, scope=user.scope, province_code=PROVINCE,
                                    out_dir=tmp_path, actor=user.username)
        listed = sn.list_snapshots(app_engine, scope=user.scope)
    finally:
        current_user.reset(token)
    assert result.scope_key == f"legacy:{DISTRICT}"
    assert result.id in {s["id"] for s in listed}
    assert all(s["scope_key"] == f"legacy:{DISTRICT}" for s in listed)


def test_diff_lists_what_changed():
    old = {"communes": pd.DataFrame([{"commune_code": "1", "intensity": 1.0}, {"commune_code": "2", "intensity": 2.0}])}
    new = {"communes": pd.DataFrame([{"commune_code": "1", "intensity": 1.5}, {"commune_code": "3", "intensity": 0.0}])}
    old_rows, new_rows = mf.canonical_tables(old), mf.canonical_tables(new)
    prev = {"id": 7, "version": 1, "content_hash": mf.content_hash(old), "data_version": "a", "params": {"x": 1},
            "as_of": dt.date(2025, 6, 30), "run_id": 1, "is_demo": True}
    meta = {"data_version": "b", "params": {"x": 2}, "as_of": dt.date(2025, 6, 30), "run_id": 2, "is_demo": True}
    diff = mf.diff_snapshots(prev, old_rows, meta, new_rows, mf.content_hash(new))
    d = diff["tables"]["communes"]
    assert (d["added"], d["removed"], d["changed"]) == (1, 1, 1)
    assert d["changes"] == [{"key": "1", "fields": {"intensity": [1.0, 1.5]}}]
    assert diff["meta"] == {"run_id": [1, 2], "data_version": ["a", "b"], "params": ["x"]}
    assert diff["same_content"] is False
    assert "1 thay đổi" in mf.diff_summary_vi(diff)
    json.dumps(diff)  # storable as jsonb


def test_scope_keys_round_trip():
    for key in ("legacy:45", "legacy:464", "legacy:464,470", "2025:44", "2025:19363,19366"):
        assert sn.scope_key(sn.scope_from_key(key)) == key
    assert sn.scope_key(ALL) == "all"
