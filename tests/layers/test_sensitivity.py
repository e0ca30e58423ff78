"""The sensitive-area flags: border communes, EM region III, religious thresholds, projects under clearance."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from geo_dash.db.migrate import upgrade
from geo_dash.layers import data
from geo_dash.layers.registry import Sensitivity, get_layer
from geo_dash.layers.sensitivity import (
    border_communes,
    compute_sensitivity,
    refresh_sensitivity,
    sensitive_areas,
    sensitivity_config,
)

# the 25 legacy provinces on the land border with China, Laos or Cambodia
BORDER_PROVINCES = {"02", "04", "10", "11", "12", "14", "20", "22", "38", "40", "42", "44", "45", "46", "49", "62",
                    "64", "66", "67", "70", "72", "80", "87", "89", "91"}
LAO_BAO, A_VAO = "19432", "19585"          # Hướng Hóa / Đa Krông, on the Lao border
HAI_KHE, VINH_THAI = "19741", "19369"      # coastal communes of Hải Lăng / Vĩnh Linh
DONG_HA_WARD = "19333"                     # Phường 1 of Đông Hà city, far from any border


@pytest.fixture(autouse=True)
def _template_free(loaded_engine):
    loaded_engine.dispose()


@pytest.fixture
def db(scratch_engine):
    upgrade(scratch_engine)
    return scratch_engine


def test_border_communes_are_those_of_the_25_border_provinces_and_not_the_coast(loaded_engine):
    border = border_communes(loaded_engine, "legacy")
    with loaded_engine.connect() as conn:
        prov = dict(conn.execute(text("SELECT code, province_code FROM admin_unit WHERE scheme = 'legacy' "
                                      "AND level = 'commune'")).all())
    assert {prov[c] for c in border} == BORDER_PROVINCES
    qt = border_communes(loaded_engine, "legacy", "45")
    assert {LAO_BAO, A_VAO} <= qt and not {HAI_KHE, VINH_THAI, DONG_HA_WARD} & qt
    for inland_or_coastal in ("24", "54", "58", "01", "48"):  # Bắc Giang, Phú Yên, Ninh Thuận, Hà Nội, Đà Nẵng
        assert border_communes(loaded_engine, "legacy", inland_or_coastal) == set()
    qn = border_communes(loaded_engine, "legacy", "49")
    with loaded_engine.connect() as conn:
        districts = set(conn.execute(text("SELECT DISTINCT d.name FROM admin_unit u JOIN admin_unit d "
                                          "ON d.scheme = 'legacy' AND d.code = u.parent_code "
                                          "WHERE u.scheme = 'legacy' AND u.code = ANY(:c)"), {"c": list(qn)}).scalars())
    assert districts == {"Huyện Tây Giang", "Huyện Nam Giang"}  # Quảng Nam's two districts on the Lao border
    loaded_engine.dispose()


def test_border_communes_in_the_2025_scheme(loaded_engine):
    with loaded_engine.connect() as conn:
        lao_bao_2025 = conn.execute(text("SELECT new_code FROM crosswalk WHERE legacy_code = :c"),
                                    {"c": LAO_BAO}).scalar_one()
        hai_khe_2025 = conn.execute(text("SELECT new_code FROM crosswalk WHERE legacy_code = :c"),
                                    {"c": HAI_KHE}).scalar_one()
    b = border_communes(loaded_engine, "2025", "44")
    assert lao_bao_2025 in b and hai_khe_2025 not in b
    assert border_communes(loaded_engine, "2025", "56") == set()  # Khánh Hòa (incl. Ninh Thuận): coast only
    loaded_engine.dispose()


def _put(db, layer, field, code, num=None, txt=None, demo=False):
    with db.begin() as conn:
        conn.execute(text("""INSERT INTO layer_value (layer_id, field, scheme, unit_code, value_num, value_text, is_demo)
                             VALUES (:l, :f, 'legacy', :c, :n, :t, :d)"""),
                     dict(l=layer, f=field, c=code, n=num, t=txt, d=demo))


def _point_in(db, code):
    with db.connect() as conn:
        wkt = conn.execute(text("SELECT ST_AsText(ST_PointOnSurface(geom)) FROM admin_unit WHERE scheme = 'legacy' "
                                "AND code = :c"), {"c": code}).scalar_one()
    return shapely.from_wkt(wkt)


def test_each_flag_and_its_threshold(db):
    _put(db, "ethnic_minority_region", "region", HAI_KHE, txt="III", demo=True)
    _put(db, "ethnic_minority_region", "region", DONG_HA_WARD, txt="II")
    _put(db, "religious_areas", "establishments", "19684", num=12)          # Hải An: 12 establishments
    _put(db, "religious_areas", "followers_pct", "19687", num=55)           # Hải Bình: 55 % followers
    _put(db, "religious_areas", "establishments", "19693", num=9)           # Hải Quy: below both thresholds
    _put(db, "religious_areas", "followers_pct", "19693", num=49.9)
    p = _point_in(db, "19699")                                              # Hải Hưng
    with db.begin() as conn:
        for name, status in (("Dự án A", "dang_thuc_hien"), ("Dự án B", "hoan_thanh")):
            conn.execute(text("INSERT INTO key_project (name, clearance_status, geom) "
                              "VALUES (:n, :s, ST_SetSRID(ST_GeomFromText(:g), 4326))"),
                         dict(n=name, s=status, g=p.wkt))
    df = compute_sensitivity(db, "legacy", "45").set_index("code")
    assert df.loc[HAI_KHE, "em_region"] and df.loc[HAI_KHE, "is_demo"]
    assert not df.loc[DONG_HA_WARD, "em_region"]                             # region II is not region III
    assert df.loc["19684", "religious"] and df.loc["19687", "religious"] and not df.loc["19693", "religious"]
    assert df.loc["19699", "near_project"]
    assert {r["flag"]: r["detail"] for r in df.loc["19699", "reasons"]}["near_project"] == "Dự án A (0 km)"
    # neighbours within 3 km of the project are flagged too, communes far away are not
    assert df["near_project"].sum() >= 2 and not df.loc[LAO_BAO, "near_project"]
    assert df.loc[LAO_BAO, "border"] and df.loc[LAO_BAO, "is_sensitive"]
    assert not df.loc[DONG_HA_WARD, "is_sensitive"]
    assert df["is_sensitive"].equals(df[["em_region", "religious", "near_project", "border"]].any(axis=1))
    # configurable: region II counts, stricter religious thresholds, no project buffer, no border
    cfg = Sensitivity(em_region_classes=["II", "III"], religious_min_establishments=20,
                      religious_min_followers_pct=None, project_buffer_km=0, border=False)
    df2 = compute_sensitivity(db, "legacy", "45", cfg).set_index("code")
    assert df2.loc[DONG_HA_WARD, "em_region"]
    assert not df2.loc["19684", "religious"] and not df2.loc["19687", "religious"]
    assert df2["near_project"].sum() == 1 and not df2["border"].any()


def test_refresh_stores_the_flags_the_map_layer_reads(db):
    _put(db, "ethnic_minority_region", "region", HAI_KHE, txt="III", demo=True)
    counts = refresh_sensitivity(db, schemes=("legacy",))
    stored = sensitive_areas(db, "legacy", "45").set_index("code")
    assert counts["legacy"] == int(sensitive_areas(db, "legacy")["is_sensitive"].sum())
    assert stored.loc[HAI_KHE, "em_region"] and stored.loc[HAI_KHE, "is_demo"]
    assert stored.loc[LAO_BAO, "border"]
    vals = data.layer_values(db, "sensitive_areas", "legacy", "45").set_index("code")
    assert vals.loc[HAI_KHE, "value"] == "true" and vals.loc[HAI_KHE, "color"] == "#000000"
    assert vals.loc[DONG_HA_WARD, "value"] == "false"
    assert vals.loc[HAI_KHE, "label"] == "Địa bàn nhạy cảm (minh họa)"
    legend = data.layer_legend("sensitive_areas", vals.reset_index())
    assert [c["value"] for c in legend["classes"]] == ["true", "false"]


def test_the_rules_come_from_the_overlay_yaml_and_never_feed_a_score():
    cfg = sensitivity_config()
    assert cfg == get_layer("sensitive_areas").sensitivity
    assert cfg.em_region_classes == ["III"] and cfg.project_buffer_km == 3
    import geo_dash.layers.sensitivity as mod

    assert "never inputs to any hotspot score" in mod.__doc__.replace("**", "")


def test_cli_demo_and_sensitivity(db, monkeypatch):
    from click.testing import CliRunner

    from geo_dash.cli_layers import layers
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", db.url.render_as_string(hide_password=False))
    engine_mod._engine.cache_clear()
    out = CliRunner().invoke(layers, ["demo", "--no-sensitivity"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("DỮ LIỆU MINH HỌA") and "key_projects: 25" in out.output
    assert sensitive_areas(db, "legacy").empty
    out = CliRunner().invoke(layers, ["sensitivity", "--scheme", "legacy"])
    assert out.exit_code == 0, out.output
    stored = sensitive_areas(db, "legacy", "45").set_index("code")
    assert stored["em_region"].any() and stored["near_project"].any() and stored.loc[LAO_BAO, "border"]
    assert stored.loc[stored["em_region"], "is_demo"].all()
    listed = CliRunner().invoke(layers, ["list", "--json", "--lang", "en"])
    assert listed.exit_code == 0 and '"id": "sensitive_areas"' in listed.output
    engine_mod._engine.cache_clear()
