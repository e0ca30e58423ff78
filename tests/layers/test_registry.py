"""The layer registry: shipped YAML files validate, broken ones fail naming file and field,
a new YAML file is a new layer, and every shipped layer returns data for the bundled provinces."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from geo_dash.config import LAYERS_DIR
from geo_dash.db.migrate import upgrade
from geo_dash.layers import data
from geo_dash.layers.registry import (
    LayerConfigError,
    check_against_database,
    get_layer,
    list_layers,
    load_layer_file,
    load_registry,
)
from tests.conftest import _create_db, _drop_db

SHIPPED = sorted(LAYERS_DIR.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _template_free(loaded_engine):
    """The session's loaded_engine keeps pooled connections to the template database, and PostgreSQL
    refuses to copy a template that has sessions: close them before a scratch copy is made."""
    loaded_engine.dispose()
PROVINCES = {"24": "Bắc Giang", "45": "Quảng Trị", "49": "Quảng Nam", "54": "Phú Yên", "58": "Ninh Thuận"}
EXPECTED = {"land_clearance_complaints", "mass_petitions", "ethnic_minority_region", "religious_areas",
            "ntm_status", "key_projects", "industrial_zones", "sensitive_areas"}


# ---------------------------------------------------------------------- validation
def test_the_shipped_layers_are_all_there():
    assert {p.stem for p in SHIPPED} == EXPECTED
    assert {l.id for l in list_layers()} == EXPECTED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_yaml_validates(path):
    layer = load_layer_file(path)
    assert layer.id == path.stem
    assert layer.title.vi and layer.title.en and layer.description.vi and layer.description.en
    assert layer.provenance.source.vi and layer.provenance.licence and layer.provenance.date


def test_ethnicity_and_religion_layers_say_they_are_never_score_inputs():
    for lid in ("ethnic_minority_region", "religious_areas", "sensitive_areas"):
        layer = get_layer(lid)
        assert "không bao giờ" in layer.description.vi or "không phải để tính điểm" in layer.description.vi
        assert "never" in layer.description.en


def test_context_layers_without_open_data_declare_demo_and_the_import_path():
    for lid in ("ethnic_minority_region", "religious_areas", "ntm_status", "key_projects", "industrial_zones"):
        layer = get_layer(lid)
        assert layer.provenance.demo is True
        assert f"geo-dash layers import {lid}" in layer.provenance.import_path.vi


def test_shipped_sources_exist_in_the_migrated_database(loaded_engine):
    assert check_against_database(loaded_engine, list_layers()) == []


def _copy_layer(tmp_path: Path, lid: str, edit) -> Path:
    raw = yaml.safe_load((LAYERS_DIR / f"{lid}.yaml").read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / f"{lid}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _set(path: str, value):
    def edit(raw):
        *parents, last = path.split(".")
        node = raw
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return edit


_DELETE = object()


@pytest.mark.parametrize("lid, edit, field, words", [
    ("religious_areas", _set("classification.k", 42), "classification.k", "less than or equal to 9"),
    ("religious_areas", _set("classification.method", "natural_breaks"), "classification.method", "Input should be"),
    ("religious_areas", _set("palette", "rainbow"), "palette", "colour-blind-safe"),
    ("religious_areas", _set("palette", ["#ff0000", "red"]), "palette[1]", "pattern"),
    ("religious_areas", _set("value", "churches"), "value", "not one of the layer's fields"),
    ("religious_areas", _set("provenance", _DELETE), "provenance", "required field is missing"),
    ("religious_areas", _set("colour", "blue"), "colour", "unknown field"),
    ("religious_areas", _set("fields.0.type", "float"), "fields[0].type", "Input should be"),
    ("religious_areas", _set("tooltip", ["name", "churches"]), "tooltip", "unknown field(s) churches"),
    ("ethnic_minority_region", _set("classification.method", "quantiles"), "classification.method",
     "needs a numeric value field"),
    ("ethnic_minority_region", _set("fields.0.categories.0.color", "purple"), "fields[0].categories[0].color",
     "pattern"),
    ("ethnic_minority_region", _set("title.en", ""), "title.en", "at least 1 character"),
    ("land_clearance_complaints", _set("source.period_field", _DELETE), "time.mode", "'monthly' needs"),
    ("land_clearance_complaints", _set("source.table", "cases; DROP TABLE admin_unit"), "source.table", "pattern"),
    ("key_projects", _set("geometry", "commune"), "geometry", "'features' goes with"),
    ("ntm_status", _set("id", "ntm"), "id", "must equal the file name"),
])
def test_a_broken_layer_fails_naming_the_file_and_the_field(tmp_path, lid, edit, field, words):
    path = _copy_layer(tmp_path, lid, edit)
    with pytest.raises(LayerConfigError) as err:
        load_layer_file(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: field '{field}'"), msg
    assert words in msg


def test_yaml_syntax_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntitle: {vi: a, en: b\nvalue: x\n", encoding="utf-8")
    with pytest.raises(LayerConfigError, match=rf"^{path}: YAML syntax error at line \d+"):
        load_layer_file(path)


def test_a_broken_file_in_the_directory_fails_the_whole_registry(tmp_path):
    for p in SHIPPED:
        shutil.copy(p, tmp_path / p.name)
    _copy_layer(tmp_path, "ntm_status", _set("classification.k", 1))
    with pytest.raises(LayerConfigError) as err:
        load_registry(tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'ntm_status.yaml'}: field 'classification.k'")


def test_cli_validate_reports_file_and_field(tmp_path):
    from geo_dash.cli_layers import layers

    ok = CliRunner().invoke(layers, ["validate"])
    assert ok.exit_code == 0 and "8 lớp hợp lệ" in ok.output
    _copy_layer(tmp_path, "religious_areas", _set("palette", "jet"))
    bad = CliRunner().invoke(layers, ["validate", "--dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert f"{tmp_path / 'religious_areas.yaml'}: field 'palette'" in bad.output


# ---------------------------------------------------------------------- a new layer is a YAML file plus data
NEW_LAYER = """
id: health_stations
title: {vi: Trạm y tế, en: Health stations}
description: {vi: Số trạm y tế của xã, en: Health stations per commune}
geometry: commune
source: {kind: layer_value}
fields:
  - name: stations
    type: integer
    title: {vi: Số trạm, en: Stations}
    aliases: [so_tram]
value: stations
classification: {method: equal_interval, k: 3}
palette: Blues
roles: [leader]
provenance:
  source: {vi: Sở Y tế, en: Department of Health}
  date: "2024"
  licence: test
"""


def test_a_new_yaml_file_is_a_new_layer_with_no_python_change(tmp_path, scratch_engine, monkeypatch):
    from geo_dash.layers.imports import import_layer

    for p in SHIPPED:
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "health_stations.yaml").write_text(NEW_LAYER, encoding="utf-8")
    monkeypatch.setenv("GEO_DASH_LAYERS_DIR", str(tmp_path))
    assert "health_stations" in {l.id for l in list_layers()}
    assert "health_stations" in {l.id for l in list_layers(role="leader")}
    assert "health_stations" not in {l.id for l in list_layers(role="wall")}
    assert "ethnic_minority_region" in {l.id for l in list_layers(role="wall")}  # roles: ["*"]

    upgrade(scratch_engine)
    csv = tmp_path / "tram.csv"
    csv.write_text("ma_xa,so_tram\n19741,1\n19684,2\n19687,5\n", encoding="utf-8")
    res = import_layer(scratch_engine, "health_stations", csv)
    assert (res.accepted, res.rejected) == (3, 0)
    vals = data.layer_values(scratch_engine, "health_stations", "legacy", "45")
    got = vals.set_index("code").loc[["19741", "19684", "19687"], "value"].tolist()
    assert got == [1, 2, 5]
    legend = data.layer_legend("health_stations", vals)
    assert legend["title_vi"] == "Trạm y tế" and legend["no_data_count"] == len(vals) - 3
    assert legend["provenance"]["is_demo"] is False


def test_layer_summary_is_what_a_layer_list_needs():
    s = get_layer("mass_petitions").summary("en")
    assert s == {**s, "id": "mass_petitions", "title": "Mass petitions", "group": "grievance", "time": "monthly",
                 "measures": ["count", "rate"], "geometry": "commune"}


# ---------------------------------------------------------------------- every shipped layer has data after `demo`
@pytest.fixture(scope="module")
def demo_engine(cluster, template_db):
    """A private copy of the template database with the demo context values and a few synthetic cases."""
    from geo_dash.layers.demo import load_demo

    name = f"layers_demo_{uuid.uuid4().hex[:8]}"
    url = _create_db(cluster, name, template=template_db)
    engine = create_engine(url)
    upgrade(engine)
    load_demo(engine)
    _insert_cases(engine)
    yield engine
    engine.dispose()
    _drop_db(cluster, name)


CASES = [  # (legacy commune, received, category, is_mass)
    ("19741", "2025-03-04", "dat_dai_thu_hoi", False),    # Hải Khê, Quảng Trị
    ("19741", "2025-03-20", "dat_dai_thu_hoi", True),
    ("19741", "2025-02-11", "dat_dai_thu_hoi", False),    # previous month
    ("19432", "2025-03-05", "moi_truong", True),          # Lao Bảo: not land
    ("22210", "2025-03-06", "dat_dai_thu_hoi", False),    # Ea Lâm, Phú Yên
    ("22210", "2025-03-07", "dat_dai_tranh_chap", False),  # a dispute, not clearance
]


def _insert_cases(engine):
    with engine.begin() as conn:
        for i, (code, received, cat, mass) in enumerate(CASES):
            new, prov_new, prov_old = conn.execute(text("""
                SELECT c.new_code, n.province_code, l.province_code FROM crosswalk c
                JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
                JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
                WHERE c.legacy_code = :c ORDER BY c.is_default DESC LIMIT 1"""), {"c": code}).one()
            conn.execute(text("""
                INSERT INTO grievance_case (source, external_ref, received_date, kind, category, people_count, is_mass,
                    status, deadline_date, unit_scheme, unit_code, commune_legacy, commune_2025, province_2025,
                    province_legacy, is_synthetic)
                VALUES ('test', :ref, :d, 'khieu_nai', :cat, :n, :m, 'tiep_nhan', :d, 'legacy', :c, :c, :new,
                        :pn, :po, true)"""),
                dict(ref=f"T-{i}", d=dt.date.fromisoformat(received), cat=cat, n=6 if mass else 1, m=mass, c=code,
                     new=new, pn=prov_new, po=prov_old))


CONTEXT_LAYERS = ["ethnic_minority_region", "religious_areas", "ntm_status", "key_projects", "industrial_zones",
                  "sensitive_areas"]


@pytest.mark.parametrize("lid", CONTEXT_LAYERS)
@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_each_context_layer_returns_flagged_demo_data_for_the_bundled_provinces(demo_engine, lid, province):
    vals = data.layer_values(demo_engine, lid, "legacy", province)
    legend = data.layer_legend(lid, vals)
    with_data = vals[vals["class_index"] >= 0]
    assert len(with_data) > 0, f"{lid} has no data in {PROVINCES[province]}"
    assert set(vals.columns) >= {"code", "value", "label", "color", "class_index", "is_demo"}
    assert vals["color"].str.match(r"^#[0-9a-fA-F]{6}$").all()
    if lid != "sensitive_areas":
        # every value is demo, in the data, in its label and in the legend
        assert with_data["is_demo"].all()
        assert with_data["label"].str.endswith("(minh họa)").all()
        assert legend["provenance"]["is_demo"] is True and legend["demo_warning"].startswith("DỮ LIỆU MINH HỌA")
        assert any(i["is_demo"] for i in legend["provenance"]["imports"])
    assert legend["classes"] and all({"label", "color"} <= set(c) for c in legend["classes"])
    if vals.attrs["layer_id"] not in ("key_projects", "industrial_zones"):
        assert legend["no_data_count"] == int((vals["class_index"] < 0).sum())
        units = demo_engine.connect().execute(text(
            "SELECT count(*) FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' AND province_code = :p"),
            {"p": province}).scalar_one()
        assert len(vals) == units  # every commune of the scope, with or without data


@pytest.mark.parametrize("lid", ["ethnic_minority_region", "religious_areas", "ntm_status"])
def test_demo_values_reach_the_2025_communes_through_the_crosswalk(demo_engine, lid):
    vals = data.layer_values(demo_engine, lid, "2025", "44")  # Quảng Trị 2025 = Quảng Bình + Quảng Trị
    got = vals[vals["class_index"] >= 0]
    assert len(got) > 20 and got["is_demo"].all()
    assert data.layer_legend(lid, vals)["no_data_count"] > 0  # the former Quảng Bình has no demo values


def test_em_regions_follow_the_mountainous_districts(demo_engine):
    vals = data.layer_values(demo_engine, "ethnic_minority_region", "legacy", "45")
    with demo_engine.connect() as conn:
        district = dict(conn.execute(text("SELECT u.code, d.name FROM admin_unit u JOIN admin_unit d "
                                          "ON d.scheme = 'legacy' AND d.code = u.parent_code "
                                          "WHERE u.scheme = 'legacy' AND u.province_code = '45' "
                                          "AND u.level = 'commune'")).all())
    vals["district"] = vals["code"].map(district)
    mountain = vals["district"].isin(["Huyện Hướng Hóa", "Huyện Đa Krông"])
    assert set(vals.loc[vals["value"] == "III", "district"]) <= {"Huyện Hướng Hóa", "Huyện Đa Krông"}
    assert (vals.loc[mountain, "value"] == "III").sum() >= 10
    assert (vals.loc[vals["district"] == "Thành phố Đông Hà", "value"] == "ngoai").all()
    assert vals.loc[mountain, "em_share"].mean() > 40 > vals.loc[~mountain, "em_share"].mean()


def test_demo_is_reproducible(demo_engine):
    from geo_dash.layers.demo import demo_values

    with demo_engine.connect() as conn:
        a, b = demo_values(conn, seed=7), demo_values(conn, seed=7)
        c = demo_values(conn, seed=8)
    assert a == b and a != c


def test_demo_fails_loudly_when_a_mountainous_district_is_missing(scratch_engine):
    from geo_dash.layers.demo import DemoError, load_demo

    upgrade(scratch_engine)
    with scratch_engine.begin() as conn:
        conn.execute(text("UPDATE admin_unit SET name = 'Huyện Khác', name_key = 'khac' "
                          "WHERE scheme = 'legacy' AND code = '467'"))  # Đa Krông
    with pytest.raises(DemoError, match="Đa Krông"):
        load_demo(scratch_engine)
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM layer_value")).scalar_one() == 0


def test_grievance_layers_count_cases_by_commune_and_month(demo_engine):
    vals = data.layer_values(demo_engine, "land_clearance_complaints", "legacy", "45", "2025-03", measure="count")
    hai_khe = vals.set_index("code").loc["19741"]
    assert hai_khe["value"] == 2 and hai_khe["is_demo"]  # synthetic cases are flagged like demo values
    assert vals.set_index("code").loc["19432", "value"] == 0  # environment case is not land clearance
    default = data.layer_values(demo_engine, "land_clearance_complaints", "legacy", "45", "2025-03")
    assert default.attrs["measure"] == "count"           # the first of the YAML's measures
    rate = data.layer_values(demo_engine, "land_clearance_complaints", "legacy", "45", "2025-03", measure="rate")
    r = rate.set_index("code").loc["19741"]
    assert r["population"] > 0 and r["value"] == pytest.approx(2 / r["population"] * 10000)
    assert data.layer_legend("land_clearance_complaints", rate)["unit"] == "/10.000 dân"
    two = data.layer_values(demo_engine, "land_clearance_complaints", "legacy", "45", "2025-03", window=2,
                            measure="count")
    assert two.set_index("code").loc["19741", "value"] == 3
    legend = data.layer_legend("land_clearance_complaints", two)
    assert legend["period"] == {"start": "2025-02-01", "end": "2025-03-31", "window": 2}
    mass = data.layer_values(demo_engine, "mass_petitions", "legacy", "45", "2025-03", measure="count")
    assert mass.set_index("code").loc[["19741", "19432"], "value"].tolist() == [1, 1]
    assert mass.set_index("code").loc["19741", "n_people"] == 6
    py = data.layer_values(demo_engine, "land_clearance_complaints", "2025", None, "2025-03", measure="count")
    assert py["value"].sum() == 3  # both schemes see the same cases
    assert data.layer_periods(demo_engine, "mass_petitions", "legacy") == ["2025-03"]


def test_labels_tooltips_and_english(demo_engine):
    vi = data.layer_values(demo_engine, "ethnic_minority_region", "legacy", "45").set_index("code")
    en = data.layer_values(demo_engine, "ethnic_minority_region", "legacy", "45", lang="en").set_index("code")
    region = vi.loc["19741", "value"]
    label_en = {"III": "Region III", "II": "Region II", "I": "Region I", "ngoai": "Outside the EM & mountainous area"}
    assert en.loc["19741", "label"] == f"{label_en[region]} (demo)"
    assert vi.loc["19741", "tooltip"].startswith("Xã Hải Khê — Huyện Hải Lăng: ")
    assert "Tỷ lệ người DTTS: " in vi.loc["19741", "tooltip"] and vi.loc["19741", "tooltip"].endswith("%")
    legend = data.layer_legend("ethnic_minority_region", en.reset_index(), "en")
    assert legend["title"] == "Ethnic-minority and mountainous areas"
    assert legend["demo_warning"].startswith("DEMO DATA")
    assert [c["label"] for c in legend["classes"]][:3] == ["Region III", "Region II", "Region I"]


def test_features_layers_give_geojson_and_values_with_the_same_ids(demo_engine):
    fc = data.layer_features(demo_engine, "industrial_zones", "legacy", "54")
    vals = data.layer_values(demo_engine, "industrial_zones", "legacy", "54")
    assert len(fc["features"]) == len(vals) == 2  # two demo zones per province
    assert [f["id"] for f in fc["features"]] == vals["code"].tolist()
    props = fc["features"][0]["properties"]
    assert props["is_demo"] is True and props["name"].endswith("(minh họa)") and props["color"].startswith("#")
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    assert data.layer_features(demo_engine, "key_projects", "2025", "44")["features"]  # Quảng Trị 2025 holds 45's
    with pytest.raises(data.LayerDataError):
        data.layer_features(demo_engine, "ntm_status", "legacy", "54")


def test_unit_context_lists_the_context_facts_of_a_commune(demo_engine):
    ctx = data.unit_context(demo_engine, "legacy", "19432")  # Lao Bảo
    ids = [l["layer_id"] for l in ctx["layers"]]
    assert ids == ["ethnic_minority_region", "religious_areas"]  # a town: no NTM value
    assert all(l["is_demo"] and l["label"].endswith("(minh họa)") for l in ctx["layers"])
    assert ctx["layers"][0]["fields"]["region"] in ("I", "II")
    far = data.unit_context(demo_engine, "legacy", "19432", project_km=500)
    assert far["projects"] and far["projects"] == sorted(far["projects"], key=lambda p: p["distance_km"])
