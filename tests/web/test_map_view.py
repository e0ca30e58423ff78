"""The map page's view state (URL ⇄ state) and its compact restyle payload."""

from geo_dash.web.pages.map_view import (
    class_string, flag_string, parse_state, value_list, view_params, view_search,
)


def test_a_saved_view_round_trips_through_its_url():
    url = ("?scheme=legacy&province=45&district=466&commune=19522&indicator=n_mass&month=2025-03&range=3"
           "&layer=ntm_status&category=dat_dai_thu_hoi,moi_truong&kind=khieu_nai&status=dang_giai_quyet"
           "&mass=1&over=1&sonly=1&sensitive=1&points=1&at=16.92,107.03,12.5&lang=en")
    state = parse_state(url, {"ntm_status"})
    assert state["filters"] == {"category": ["dat_dai_thu_hoi", "moi_truong"], "kind": ["khieu_nai"],
                                "status": ["dang_giai_quyet"], "mass": True, "over_level": True}
    assert (state["district"], state["commune"], state["range"], state["at"]) == ("466", "19522", 3, [16.92, 107.03, 12.5])
    assert parse_state(view_search(state), {"ntm_status"}) == state


def test_hostile_or_unknown_values_fall_back_to_defaults():
    state = parse_state("?scheme=x&province=99999&district=1'--&commune=abc&indicator=drop&month=2025-13"
                        "&range=7&layer=nope&category=nope,khac&at=0,0,99&lang=fr", set())
    assert state["scheme"] == "legacy" and state["province"] == "45" and state["district"] is None
    assert state["commune"] is None and state["indicator"] == "intensity" and state["month"] is None
    assert state["range"] == 1 and state["layer"] == "" and state["at"] is None and state["lang"] == "vi"
    assert state["filters"] == {"category": ["khac"]}
    assert parse_state("?scheme=2025&district=466", set())["district"] is None  # no districts since 2025
    assert parse_state("?province=VN", set())["province"] == "VN"


def test_defaults_stay_out_of_the_url():
    params = view_params(parse_state("?scheme=legacy&province=45", set()))
    assert params == {"scheme": "legacy", "province": "45", "indicator": "intensity", "lang": "vi"}


def test_payload_is_one_character_and_one_value_per_feature_in_feature_order():
    order = ["19495", "19498", "19501", "19504"]
    assert class_string(order, {"19495": 0, "19501": 4, "19504": -1}, hidden={"19498"}) == "0~4-"
    assert value_list(order, {"19495": 2.0, "19498": 1.25, "19504": float("nan")}) == [2, 1.2, None, None]
    assert value_list(order[:1], {"19495": "Đạt NTM nâng cao"}) == ["Đạt NTM nâng cao"]  # layer labels as they are
    assert flag_string(order, {"19498", "19504"}) == "0101" and flag_string(order, set()) == ""
