import socket
from datetime import date

import pandas as pd
import pytest

from geo_dash.cases.places import (
    SCHEME_2025,
    SCHEME_LEGACY,
    MergedInto,
    PlaceError,
    PlaceResolver,
    Resolution,
    find_merged_commune,
    normalize_code,
    split_free_text,
    units_from_vietnamadminunits,
)

BEFORE = date(2024, 5, 1)  # legacy scheme in force
AFTER = date(2025, 8, 1)  # 2025 scheme in force

# Real GSO codes, checked against vietnamadminunits' tables.
QUANG_TRI_LEGACY = "45"
QUANG_TRI_2025 = "44"
HAI_LANG, VINH_LINH, GIO_LINH = "470", "464", "466"
HAI_KHE, VINH_THAI, TRUNG_GIANG = "19741", "19369", "19498"
HO_XA_LEGACY = "19363"  # Thị trấn Hồ Xá (legacy) — the same digits are Xã Vĩnh Linh in 2025
VINH_LINH_2025 = "19363"


@pytest.fixture(scope="module")
def units():
    return units_from_vietnamadminunits()


@pytest.fixture(scope="module")
def resolver(units):
    return PlaceResolver(units)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during place resolution")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --------------------------------------------------------------------------- units table


def test_units_table_has_the_admin_unit_shape(units):
    assert list(units.columns) == ["scheme", "level", "code", "name", "parent_code", "province_code", "valid_to"]
    counts = units.groupby(["scheme", "level"]).size().to_dict()
    assert counts[(SCHEME_LEGACY, "province")] == 63
    assert counts[(SCHEME_2025, "province")] == 34
    assert counts[(SCHEME_2025, "commune")] == 3321
    assert (SCHEME_2025, "district") not in counts
    assert set(units.loc[units.scheme == SCHEME_LEGACY, "valid_to"]) == {date(2025, 6, 30)}
    assert units.loc[units.scheme == SCHEME_2025, "valid_to"].isna().all()


def test_units_table_holds_the_real_quang_tri_codes(units):
    def row(scheme, level, code):
        found = units[(units.scheme == scheme) & (units.level == level) & (units.code == code)]
        assert len(found) == 1, (scheme, level, code)
        return found.iloc[0]

    assert row(SCHEME_LEGACY, "province", QUANG_TRI_LEGACY)["name"] == "Tỉnh Quảng Trị"
    assert row(SCHEME_2025, "province", QUANG_TRI_2025)["name"] == "Tỉnh Quảng Trị"
    for district, name in [(HAI_LANG, "Huyện Hải Lăng"), (VINH_LINH, "Huyện Vĩnh Linh"), (GIO_LINH, "Huyện Gio Linh")]:
        r = row(SCHEME_LEGACY, "district", district)
        assert (r["name"], r["parent_code"]) == (name, QUANG_TRI_LEGACY)
    for commune, name, district in [
        (HAI_KHE, "Xã Hải Khê", HAI_LANG),
        (VINH_THAI, "Xã Vĩnh Thái", VINH_LINH),
        (TRUNG_GIANG, "Xã Trung Giang", GIO_LINH),
    ]:
        r = row(SCHEME_LEGACY, "commune", commune)
        assert (r["name"], r["parent_code"], r["province_code"]) == (name, district, QUANG_TRI_LEGACY)
    assert row(SCHEME_2025, "commune", VINH_LINH_2025)["name"] == "Xã Vĩnh Linh"
    assert row(SCHEME_LEGACY, "commune", HO_XA_LEGACY)["name"] == "Thị trấn Hồ Xá"


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    "value,expected",
    [("19741", "19741"), (19741, "19741"), (19741.0, "19741"), ("19741.0", "19741"), ("1936", "01936"), (" 4 ", "00004")],
)
def test_normalize_code(value, expected):
    assert normalize_code(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "123456", "19 74a", None])
def test_normalize_code_rejects_non_codes(value):
    with pytest.raises(ValueError):
        normalize_code(value)


@pytest.mark.parametrize("code", [HAI_KHE, int(HAI_KHE), float(HAI_KHE), f"{HAI_KHE}.0"])
def test_resolve_by_code(resolver, code):
    resolution = resolver.resolve(commune_code=code, received_date=BEFORE)
    assert resolution == Resolution(HAI_KHE, SCHEME_LEGACY, "Xã Hải Khê (Huyện Hải Lăng, Tỉnh Quảng Trị)")


def test_short_codes_are_zero_padded(resolver):
    legacy = resolver.resolve(commune_code="4", received_date=BEFORE)
    assert (legacy.code, legacy.scheme) == ("00004", SCHEME_LEGACY)
    assert legacy.label.startswith("Phường Trúc Bạch")
    new = resolver.resolve(commune_code=4.0, received_date=AFTER)
    assert (new.code, new.scheme) == ("00004", SCHEME_2025)
    assert new.label.startswith("Phường Ba Đình")


def test_shared_code_only_a_code_follows_the_received_date(resolver):
    before = resolver.resolve(commune_code=HO_XA_LEGACY, received_date=BEFORE)
    after = resolver.resolve(commune_code=HO_XA_LEGACY, received_date=AFTER)
    assert (before.code, before.scheme) == (HO_XA_LEGACY, SCHEME_LEGACY)
    assert before.label.startswith("Thị trấn Hồ Xá")
    assert (after.code, after.scheme) == (VINH_LINH_2025, SCHEME_2025)
    assert after.label.startswith("Xã Vĩnh Linh")
    assert resolver.resolve(commune_code=HO_XA_LEGACY, received_date=date(2025, 6, 30)).scheme == SCHEME_LEGACY
    assert resolver.resolve(commune_code=HO_XA_LEGACY, received_date=date(2025, 7, 1)).scheme == SCHEME_2025


def test_cutover_comes_from_valid_to(units):
    shifted = units.copy()
    shifted.loc[shifted.scheme == SCHEME_LEGACY, "valid_to"] = date(2024, 12, 31)
    resolver = PlaceResolver(shifted)
    assert resolver.cutover == date(2025, 1, 1)
    assert resolver.resolve(commune_code=HO_XA_LEGACY, received_date=date(2025, 2, 1)).scheme == SCHEME_2025


def test_shared_code_names_choose_the_scheme(resolver):
    # 2025 name with a pre-2025 date: the name wins over the date
    r = resolver.resolve(commune_code=HO_XA_LEGACY, commune="Xã Vĩnh Linh", received_date=BEFORE)
    assert (r.code, r.scheme) == (VINH_LINH_2025, SCHEME_2025)
    # legacy name with a post-2025 date
    r = resolver.resolve(commune_code=HO_XA_LEGACY, commune="Hồ Xá", received_date=AFTER)
    assert (r.code, r.scheme) == (HO_XA_LEGACY, SCHEME_LEGACY)
    # a district name only exists in the legacy scheme
    r = resolver.resolve(commune_code=HO_XA_LEGACY, district="Vĩnh Linh", received_date=AFTER)
    assert r.scheme == SCHEME_LEGACY
    # free text works as names too
    r = resolver.resolve(commune_code=HO_XA_LEGACY, free_text="Xã Vĩnh Linh, tỉnh Quảng Trị", received_date=BEFORE)
    assert r.scheme == SCHEME_2025


def test_code_and_names_that_disagree_are_refused(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(commune_code=HAI_KHE, commune="Vĩnh Thái", received_date=BEFORE)
    error = info.value
    assert "không khớp" in error.message and "disagree" in error.message
    assert any(c.startswith("Xã Hải Khê (Huyện Hải Lăng") for c in error.candidates)


def test_unknown_code(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(commune_code="99999")
    assert "99999" in info.value.message and "not found" in info.value.message


def test_district_code_given_as_commune_code_gets_a_hint(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(commune_code=HAI_LANG)
    assert "Huyện Hải Lăng" in info.value.message
    assert "not a commune code" in info.value.message


def test_invalid_code_text(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(commune_code="HK-01")
    assert "5 digits" in info.value.message


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "province,district,commune",
    [
        ("Quảng Trị", "Hải Lăng", "Hải Khê"),
        ("Tỉnh Quảng Trị", "Huyện Hải Lăng", "Xã Hải Khê"),
        ("quang tri", "HAI LANG", "hai khe"),
        ("45", "Hải Lăng", "Hải Khê"),
        (None, "Hải Lăng", "Hải Khê"),
        ("Quảng Trị", None, "Hải Khê"),
    ],
)
def test_legacy_names(resolver, province, district, commune):
    r = resolver.resolve(province=province, district=district, commune=commune, received_date=BEFORE)
    assert (r.code, r.scheme) == (HAI_KHE, SCHEME_LEGACY)


def test_legacy_names_of_the_three_quang_tri_communes(resolver):
    expected = {("Vĩnh Linh", "Vĩnh Thái"): VINH_THAI, ("Gio Linh", "Trung Giang"): TRUNG_GIANG}
    for (district, commune), code in expected.items():
        r = resolver.resolve(province="Quảng Trị", district=district, commune=commune, received_date=BEFORE)
        assert (r.code, r.scheme) == (code, SCHEME_LEGACY)


def test_legacy_only_commune_is_found_even_after_the_cutover(resolver):
    r = resolver.resolve(province="Quảng Trị", commune="Hải Khê", received_date=AFTER)
    assert (r.code, r.scheme) == (HAI_KHE, SCHEME_LEGACY)


def test_2025_names(resolver):
    r = resolver.resolve(province="Quảng Trị", commune="Vĩnh Linh", received_date=AFTER)
    assert (r.code, r.scheme) == (VINH_LINH_2025, SCHEME_2025)
    assert r.label == "Xã Vĩnh Linh (Tỉnh Quảng Trị)"
    # no legacy commune has that name, so the 2025 unit is found for an older date too
    assert resolver.resolve(province="Quảng Trị", commune="Vĩnh Linh", received_date=BEFORE).scheme == SCHEME_2025


def test_province_synonyms(resolver):
    a = resolver.resolve(province="Thừa Thiên Huế", commune="Phường Phú Hội", received_date=BEFORE)
    b = resolver.resolve(province="Huế", commune="Phường Phú Hội", received_date=BEFORE)
    assert a == b and a.scheme == SCHEME_LEGACY


def test_ambiguous_name_lists_the_candidates(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", commune="Phường 1", received_date=BEFORE)
    error = info.value
    assert "trùng" in error.message and "ambiguous" in error.message
    assert error.candidates == [
        "Phường 1 (Thành phố Đông Hà, Tỉnh Quảng Trị) [legacy 19333]",
        "Phường 1 (Thị xã Quảng Trị, Tỉnh Quảng Trị) [legacy 19357]",
    ]


def test_ambiguity_is_resolved_by_the_district(resolver):
    r = resolver.resolve(province="Quảng Trị", district="Đông Hà", commune="Phường 01", received_date=BEFORE)
    assert (r.code, r.scheme) == ("19333", SCHEME_LEGACY)


@pytest.mark.parametrize(
    "commune,code",
    [
        # same name key, told apart by the unit type (Thị trấn vs Xã), Lào Cai/Lai Châu
        ("Thị trấn Mường Tè", "03433"),
        ("Xã Mường Tè", "03445"),
        # same name key, told apart by the accents (Sa Pa vs Sa Pả)
        ("Phường Sa Pa", "03001"),
        ("Sa Pả", "03002"),
    ],
)
def test_same_key_is_narrowed_by_type_then_accents(resolver, commune, code):
    district = "Mường Tè" if "Mường" in commune else "Sa Pa"
    province = "Lai Châu" if "Mường" in commune else "Lào Cai"
    r = resolver.resolve(province=province, district=district, commune=commune, received_date=BEFORE)
    assert r.code == code


def test_same_key_without_type_or_accents_stays_ambiguous(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Lai Châu", district="Mường Tè", commune="Muong Te", received_date=BEFORE)
    assert [c.split(" (")[0] for c in info.value.candidates] == ["Thị trấn Mường Tè", "Xã Mường Tè"]


def test_unknown_name_suggests_the_closest_names_in_the_parent(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", district="Hải Lăng", commune="Hải Khêe", received_date=BEFORE)
    error = info.value
    assert "Không tìm thấy" in error.message and "not found" in error.message
    assert error.candidates[0] == "Xã Hải Khê (Huyện Hải Lăng, Tỉnh Quảng Trị) [legacy 19741]"
    assert all("Huyện Hải Lăng" in c for c in error.candidates)


def test_commune_in_another_district_is_pointed_out(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", district="Vĩnh Linh", commune="Hải Khê", received_date=BEFORE)
    assert "không thuộc Huyện Vĩnh Linh" in info.value.message
    assert info.value.candidates == ["Xã Hải Khê (Huyện Hải Lăng, Tỉnh Quảng Trị) [legacy 19741]"]


def test_unknown_province_and_district(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trịi", commune="Hải Khê")
    assert "tỉnh" in info.value.message and "province not found" in info.value.message
    assert any("Quảng Trị" in c for c in info.value.candidates)
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", district="Hải Lănggg", commune="Hải Khê")
    assert "district not found" in info.value.message
    assert any("Huyện Hải Lăng" in c for c in info.value.candidates)


def test_missing_place(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve()
    assert "Thiếu địa bàn" in info.value.message
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", district="Hải Lăng")
    assert "commune missing" in info.value.message


# --------------------------------------------------------------------------- merged communes


def test_find_merged_commune_reads_vietnamadminunits_aliases():
    found = find_merged_commune("Xã Cam An", province_code="45")
    assert found == [
        MergedInto(
            old_name="Xã Cam An",
            code="19603",
            name="Xã Thanh An",
            district="Huyện Cam Lộ",
            province="Tỉnh Quảng Trị",
            district_code="468",
            province_code="45",
        )
    ]
    assert find_merged_commune("cam an", district_code="468")[0].code == "19603"
    assert find_merged_commune("Cam An", district_code="470") == []
    assert find_merged_commune("Hải Khê", province_code="45") == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"province": "Quảng Trị", "district": "Cam Lộ", "commune": "Cam An"},
        {"province": "Quảng Trị", "commune": "Xã Cam An"},
        {"free_text": "Xã Cam An, huyện Cam Lộ, tỉnh Quảng Trị"},
    ],
)
def test_merged_commune_is_refused_with_what_it_became(resolver, kwargs):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(received_date=BEFORE, **kwargs)
    error = info.value
    assert "không còn tồn tại" in error.message and "no longer exists" in error.message
    assert "Xã Thanh An (Huyện Cam Lộ)" in error.message and "19603" in error.message
    assert error.candidates == ["Xã Thanh An (Huyện Cam Lộ, Tỉnh Quảng Trị) [legacy 19603]"]


def test_merged_lookup_is_pluggable_and_only_asked_when_the_parent_was_found(units):
    calls = []

    def lookup(name, *, province_code=None, district_code=None):
        calls.append((name, province_code, district_code))
        return [MergedInto(name, HAI_KHE, "Xã Hải Khê", "Huyện Hải Lăng", "Tỉnh Quảng Trị", HAI_LANG, "45")]

    resolver = PlaceResolver(units, merged_lookup=lookup, use_parser_fallback=False)
    with pytest.raises(PlaceError) as info:
        resolver.resolve(province="Quảng Trị", district="Hải Lăng", commune="Làng Cũ", received_date=BEFORE)
    assert calls == [("Làng Cũ", "45", HAI_LANG)]
    assert "mã 19741" in info.value.message
    calls.clear()
    with pytest.raises(PlaceError) as info:
        resolver.resolve(district="Huyện Không Có", commune="Làng Cũ", received_date=BEFORE)
    assert calls == []
    assert "district not found" in info.value.message


# --------------------------------------------------------------------------- free text


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị", {"commune": "Xã Hải Khê", "district": "huyện Hải Lăng", "province": "tỉnh Quảng Trị"}),
        ("Tỉnh Quảng Trị; Huyện Hải Lăng; Xã Hải Khê", {"province": "Tỉnh Quảng Trị", "district": "Huyện Hải Lăng", "commune": "Xã Hải Khê"}),
        ("Hải Khê, Hải Lăng, Quảng Trị", {"province": "Quảng Trị", "district": "Hải Lăng", "commune": "Hải Khê"}),
        ("Phường Đông Hà, tỉnh Quảng Trị", {"commune": "Phường Đông Hà", "province": "tỉnh Quảng Trị"}),
        ("Thôn 3, xã Trung Giang, Gio Linh, Quảng Trị, Việt Nam", {"commune": "xã Trung Giang", "province": "Quảng Trị", "district": "Gio Linh"}),
    ],
)
def test_split_free_text(text, expected):
    assert split_free_text(text) == expected


@pytest.mark.parametrize(
    "text,code",
    [
        ("Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị", HAI_KHE),
        ("Tỉnh Quảng Trị, Huyện Hải Lăng, Xã Hải Khê", HAI_KHE),
        ("hai khe, hai lang, quang tri", HAI_KHE),
        ("Xã Vĩnh Thái, huyện Vĩnh Linh, tỉnh Quảng Trị", VINH_THAI),
        ("Thôn 3, xã Trung Giang, huyện Gio Linh, Quảng Trị, Việt Nam", TRUNG_GIANG),
        ("Phường 1, Thành phố Đông Hà, Quảng Trị", "19333"),
        ("Tổ 5, Phường 1, Đông Hà, Quảng Trị", "19333"),  # numbered hamlet part ignored
        ("12 Lê Lợi, Phường 1, Đông Hà, Quảng Trị", "19333"),  # house number ignored
        ("Thôn Đông, xã Trung Giang, Gio Linh, Quảng Trị", TRUNG_GIANG),
        # districts whose names begin with hamlet/street words are not skipped
        ("Xã Phù Linh, Sóc Sơn, Hà Nội", "00400"),
        ("Xã Đồng Lương, Lang Chánh, Thanh Hóa", "15058"),
    ],
)
def test_free_text_legacy(resolver, text, code):
    r = resolver.resolve(free_text=text, received_date=BEFORE)
    assert (r.code, r.scheme) == (code, SCHEME_LEGACY)


def test_free_text_two_part_2025_form(resolver):
    r = resolver.resolve(free_text="Xã Vĩnh Linh, tỉnh Quảng Trị", received_date=AFTER)
    assert (r.code, r.scheme) == (VINH_LINH_2025, SCHEME_2025)


def test_free_text_fills_in_from_name_columns(resolver):
    r = resolver.resolve(province="Quảng Trị", free_text="Xã Hải Khê, Hải Lăng", received_date=BEFORE)
    assert r.code == HAI_KHE


def test_free_text_without_commune(resolver):
    with pytest.raises(PlaceError) as info:
        resolver.resolve(free_text="Tỉnh Quảng Trị", received_date=BEFORE)
    assert "no commune" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Xã Vĩnh Thái, Vynh Linh, Quang Tri",  # y/i spelling of the district
        "Vinh Thai, Vynh Linh",  # province inferred by the parser from a unique district
        "xã Vĩnh Thái huyện Vĩnh Linh tỉnh Quảng Trị",  # no separators at all
    ],
)
def test_offline_parser_fallback(resolver, no_network, text):
    r = resolver.resolve(free_text=text, received_date=BEFORE)
    assert (r.code, r.scheme) == (VINH_THAI, SCHEME_LEGACY)


def test_parser_fallback_never_accepts_a_different_commune(resolver, no_network):
    # the 2025 parser would happily answer "Xã Hải Lăng" (the district part): refused
    with pytest.raises(PlaceError) as info:
        resolver.resolve(free_text="Xã Hai Khee, Hai Lang, Quang Tri", received_date=BEFORE)
    assert info.value.candidates[0].startswith("Xã Hải Khê")


def test_parser_fallback_can_be_disabled(units):
    resolver = PlaceResolver(units, use_parser_fallback=False)
    with pytest.raises(PlaceError):
        resolver.resolve(free_text="Xã Vĩnh Thái, Vynh Linh, Quang Tri", received_date=BEFORE)


def test_resolver_runs_offline_end_to_end(units, no_network):
    resolver = PlaceResolver(units)
    assert resolver.resolve(free_text="Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị").code == HAI_KHE


# --------------------------------------------------------------------------- database-shaped input


def test_units_with_integer_codes_and_missing_values():
    units = pd.DataFrame(
        [
            {"scheme": "legacy", "level": "province", "code": 45, "name": "Tỉnh Quảng Trị", "parent_code": None, "province_code": 45, "valid_to": date(2025, 6, 30)},
            {"scheme": "legacy", "level": "district", "code": 470.0, "name": "Huyện Hải Lăng", "parent_code": 45.0, "province_code": 45.0, "valid_to": date(2025, 6, 30)},
            {"scheme": "legacy", "level": "commune", "code": 19741, "name": "Xã Hải Khê", "parent_code": 470, "province_code": 45, "valid_to": date(2025, 6, 30)},
            {"scheme": "legacy", "level": "commune", "code": 4, "name": "Phường Trúc Bạch", "parent_code": 1, "province_code": 1, "valid_to": date(2025, 6, 30)},
            {"scheme": "2025", "level": "province", "code": 44, "name": "Tỉnh Quảng Trị", "parent_code": float("nan"), "province_code": 44, "valid_to": None},
        ]
    )
    resolver = PlaceResolver(units, merged_lookup=None)
    assert resolver.resolve(province="Quảng Trị", district="Hải Lăng", commune="Hải Khê").code == "19741"
    assert resolver.resolve(commune_code="19741").code == "19741"
    assert resolver.resolve(commune_code="00004").code == "00004"


def test_units_table_must_have_the_columns():
    with pytest.raises(ValueError):
        PlaceResolver(pd.DataFrame({"code": ["1"]}))
