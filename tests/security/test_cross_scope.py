"""Cross-scope probes: two officers of neighbouring districts (Vĩnh Linh 464, Hải Lăng 470) try every
route and callback with the other district's ids, taken from the database; nothing may leak."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.security.conftest import district_cases

GRID = "..cases-grid.rowData...cases-count.children...cases-search.data.."
FORM = '..{"form":["ALL"]}.value...form-case-id.data...form-title.children...form-history.children..'
SAVE = "form-result.children"
MAP = ("..communes.data...districts.data...map-bounds.data...counts.children...map-months.data...month-slider.max"
       "...month-slider.value...month-slider.marks...district.data...district.style...drill-init.data"
       "..")
COMMUNES = "..cases-commune.data...cases-commune.value.."
RESTYLE = ("..communes-style.data...legend.children...month-label.children...map-view.data...layer-features.data..")
SERIES = "communes-series.data"
POINTS = "..case-points.data...case-points.cluster...points-note.children.."
STATE = {"cases-scheme.value": "legacy", "cases-province.value": "45", "cases-lang.data": "vi"}
FORM_IDS = ["external_ref", "received_date", "kind", "category", "people_count", "status", "resolved_date",
            "deadline_date", "dialogue_dates", "handling_level", "project_name", "is_over_level", "is_complex",
            "lon", "lat", "summary"]


def _form_state(values: dict) -> dict:
    ids = [{"id": {"form": f}, "property": "id", "value": {"form": f}} for f in FORM_IDS]
    vals = [{"id": {"form": f}, "property": "value", "value": values.get(f)} for f in FORM_IDS]
    return {'{"form":["ALL"]}.value': vals, '{"form":["ALL"]}.id': ids}


@pytest.fixture
def probes(demo_engine):
    vl, hl = district_cases(demo_engine, "464"), district_cases(demo_engine, "470")
    assert vl and hl
    return {"own": vl, "other": hl, "other_refs": {c["external_ref"] for c in hl},
            "other_communes": sorted({c["commune_legacy"] for c in hl})}


def _leaks(body: str, refs: set[str]) -> list[str]:
    return [r for r in refs if r in body]


def test_case_list_callback_with_the_other_districts_communes(client_for, probes):
    officer = client_for("officer_vl")
    for commune in probes["other_communes"]:
        resp = officer.callback(GRID, {"cases-commune.value": commune}, STATE)
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert json.loads(body)["response"]["cases-grid"]["rowData"] == []
        assert _leaks(body, probes["other_refs"]) == []
    # the same officer does see their own district
    own = probes["own"][0]["commune_legacy"]
    rows = json.loads(officer.callback(GRID, {"cases-commune.value": own}, STATE).get_data())["response"]
    assert rows["cases-grid"]["rowData"]


def test_case_form_callback_with_the_other_districts_case_ids(client_for, probes):
    officer = client_for("officer_vl")
    for case in probes["other"][:25]:
        resp = officer.callback(FORM, {"cases-grid.selectedRows": [{"id": case["id"]}], "form-new.n_clicks": None},
                                {'{"form":["ALL"]}.id': [{"id": {"form": f}, "property": "id", "value": {"form": f}}
                                                         for f in FORM_IDS], "cases-lang.data": "vi"})
        body = resp.get_data(as_text=True)
        assert resp.status_code in (200, 204)
        assert case["external_ref"] not in body


def test_saving_into_the_other_district_is_refused(client_for, probes, demo_engine):
    officer = client_for("officer_vl")
    target = probes["other"][0]
    with demo_engine.connect() as conn:
        before = conn.execute(text("SELECT status FROM grievance_case WHERE id = :i"), {"i": target["id"]}).scalar_one()
    # a tampered payload: the other district's commune, and an existing case of theirs by reference
    state = {**_form_state({"external_ref": target["external_ref"], "received_date": "01/02/2024", "kind": "khieu_nai",
                            "category": "khac", "status": "rut_don"}),
             "form-case-id.data": {"id": target["id"], "source": "demo-synthetic"},
             "cases-commune.value": target["commune_legacy"], **STATE}
    resp = officer.callback(SAVE, {"form-save.n_clicks": 1}, state)
    body = json.dumps(json.loads(resp.get_data()), ensure_ascii=False)
    assert "ngoài địa bàn" in body or "Không có quyền" in body
    with demo_engine.connect() as conn:
        after = conn.execute(text("SELECT status FROM grievance_case WHERE id = :i"), {"i": target["id"]}).scalar_one()
    assert after == before


def test_commune_picker_lists_only_the_officers_own_communes(client_for, demo_engine):
    officer = client_for("officer_vl")
    resp = officer.callback(COMMUNES, {"cases-province.value": "45"},
                            {"cases-scheme.value": "legacy", "cases-commune.value": None})
    options = json.loads(resp.get_data())["response"]["cases-commune"]["data"]
    with demo_engine.connect() as conn:
        own = set(conn.execute(text("SELECT code FROM admin_unit WHERE scheme = 'legacy' AND parent_code = '464'")).scalars())
    assert {o["value"] for o in options} == own


def test_tampered_urls_open_on_the_own_area(client_for, probes):
    officer = client_for("officer_vl")
    for url in (f"/cases?scheme=legacy&province=45&commune={probes['other_communes'][0]}",
                "/?scheme=legacy&province=01", "/cases?scheme=2025&province=79"):
        page = officer.get(url)
        assert page.status_code == 200
        assert _leaks(page.get_data(as_text=True), probes["other_refs"]) == []
    layout = officer.get("/_dash-layout").get_data(as_text=True)
    assert _leaks(layout, probes["other_refs"]) == []


def test_map_of_another_province_is_not_served(client_for):
    officer = client_for("officer_vl")
    resp = officer.callback(MAP, {"province.value": "01"}, {"scheme.value": "legacy", "lang.data": "vi",
                                                             "map-url.search": ""})
    assert resp.status_code in (200, 204)
    assert "Ba Đình" not in resp.get_data(as_text=True)


def _drill_key(client) -> str:
    return next(k for k in client.app.callback_map if "commune-panel.children" in k and "map-crumbs" in k)


def test_drilling_into_the_other_districts_commune_shows_no_figures(client_for, probes):
    officer = client_for("officer_vl")
    key = _drill_key(officer)
    state = {"scheme.value": "legacy", "province.value": "45", "lang.data": "vi", "map-bounds.data": None}
    for commune in probes["other_communes"][:3]:
        resp = officer.callback(key, {"communes.clickData": {"properties": {"code": commune}}, "district.value": ""},
                                state, changed=["communes.clickData"])
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        panel = json.dumps(json.loads(body)["response"]["commune-panel"]["children"], ensure_ascii=False)
        assert "ngoài địa bàn" in panel and "gd-kpi" not in panel and "panel-cases" not in panel
        assert _leaks(body, probes["other_refs"]) == []
    own = probes["own"][0]["commune_legacy"]
    resp = officer.callback(key, {"communes.clickData": {"properties": {"code": own}}, "district.value": ""},
                            state, changed=["communes.clickData"])
    panel = json.dumps(json.loads(resp.get_data())["response"]["commune-panel"]["children"], ensure_ascii=False)
    assert "gd-kpi" in panel and "panel-cases" in panel  # the officer's own commune: figures and case list


def test_case_points_hold_only_the_officers_own_cases(client_for, probes):
    officer = client_for("officer_vl")
    resp = officer.callback(POINTS, {"points.checked": True, "month-slider.value": 0,
                                     "map-months.data": ["2025-06"], "range.value": "12"},
                            {"province.value": "45", "scheme.value": "legacy", "lang.data": "vi"})
    features = json.loads(resp.get_data())["response"]["case-points"]["data"]["features"]
    own_ids = {c["id"] for c in probes["own"]}
    other_ids = {c["id"] for c in probes["other"]}
    ids = {f["properties"]["id"] for f in features}
    assert ids and ids <= own_ids and not ids & other_ids
    assert all(set(f["properties"]) <= {"id", "commune", "category", "kind", "status", "received", "mass",
                                        "over_level", "label", "cluster"} for f in features)  # nothing about people


def test_the_2025_commune_group_scope(client_for, demo_engine):
    """An officer serving a group of 2025 communes sees the legacy cases that reached them, no others."""
    officer = client_for("officer_2025")
    with demo_engine.connect() as conn:
        inside = conn.execute(text("SELECT commune_legacy FROM grievance_case WHERE commune_2025 IN ('19363', '19366') "
                                   "LIMIT 1")).scalar()
        outside = conn.execute(text("SELECT commune_legacy, external_ref FROM grievance_case "
                                    "WHERE commune_2025 NOT IN ('19363', '19366') AND province_legacy = '45' LIMIT 1")).one()
    seen = json.loads(officer.callback(GRID, {"cases-commune.value": inside}, STATE).get_data())["response"]
    assert seen["cases-grid"]["rowData"]
    body = officer.callback(GRID, {"cases-commune.value": outside.commune_legacy}, STATE).get_data(as_text=True)
    assert outside.external_ref not in body


HOSTILE = st.one_of(
    st.sampled_from(["' OR 1=1 --", "19741'; DROP TABLE grievance_case; --", "%", "../../etc/passwd", "\x00",
                     "<script>alert(1)</script>", "١٩٧٤١", "9" * 5000]),
    st.text(max_size=200), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans(),
    st.lists(st.text(max_size=10), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commune=HOSTILE, scheme=HOSTILE, province=HOSTILE, case_id=HOSTILE)
def test_fuzzed_callback_inputs_never_fail_or_leak(client_for, probes, commune, scheme, province, case_id):
    officer = client_for("officer_vl")
    for resp in (
        officer.callback(GRID, {"cases-commune.value": commune},
                         {"cases-scheme.value": scheme, "cases-province.value": province, "cases-lang.data": "vi"}),
        officer.callback(FORM, {"cases-grid.selectedRows": [{"id": case_id}], "form-new.n_clicks": None},
                         {'{"form":["ALL"]}.id': [], "cases-lang.data": scheme}),
        officer.callback(COMMUNES, {"cases-province.value": province},
                         {"cases-scheme.value": scheme, "cases-commune.value": commune}),
        officer.callback(MAP, {"province.value": province}, {"scheme.value": scheme, "lang.data": commune,
                                                             "map-url.search": case_id}),
        officer.callback(RESTYLE, {"indicator.value": commune, "month-slider.value": case_id,
                                   "map-months.data": [scheme, "2025-01"], "range.value": case_id,
                                   "f-category.value": commune, "f-kind.value": [scheme], "f-status.value": province,
                                   "f-mass.checked": case_id, "f-sonly.checked": True,
                                   "layer.value": scheme, "sensitive.checked": case_id},
                         {"province.value": province, "scheme.value": scheme, "lang.data": "vi"}),
        officer.callback(POINTS, {"points.checked": True, "month-slider.value": case_id,
                                  "map-months.data": ["2025-01"], "range.value": "12", "f-category.value": commune},
                         {"province.value": province, "scheme.value": scheme, "lang.data": "vi"}),
        officer.callback(SERIES, {"series-request.data": {"g": f"{scheme}:{province}", "ind": commune}},
                         {"province.value": province, "scheme.value": scheme, "lang.data": case_id,
                          "map-months.data": [case_id, "2025-01"]}),
    ):
        assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
        assert _leaks(resp.get_data(as_text=True), probes["other_refs"]) == []
