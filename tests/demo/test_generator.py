"""The seeded demo-data generator: reproducibility, schema, legal rules, calibration and clusters."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pymannkendall
import pytest
import shapely

from geo_dash.demo import generator
from geo_dash.demo import (
    CATEGORIES,
    COLUMNS,
    DEMO_END,
    DEMO_PROVINCES,
    DEMO_START,
    KINDS,
    LAND_CATEGORIES,
    LEVELS,
    OPEN_STATUSES,
    STATUSES,
    DemoDataError,
    demo_clusters,
    generate_cases,
    generate_cases_national,
    load_bundled_units,
    mountainous_district_codes,
)
from geo_dash.text import fold

EXPECTED_COLUMNS = [
    "external_ref", "source", "received_date", "kind", "category", "people_count", "is_mass",
    "is_over_level", "status", "handling_level", "is_complex", "deadline_date", "resolved_date",
    "dialogue_dates", "project_name", "summary", "commune_code", "scheme", "lon", "lat", "is_synthetic",
]
# Documented bands (docs/demo-data.md): Quảng Trị 3,551 petitions in 2008–2012 = 710.2 a year.
QT_YEAR_BAND = (570, 850)  # every full year 2020–2024: 710 ± 20 %
QT_MEAN_BAND = (640, 780)  # mean over the 5.5 years: 710 ± 10 %
LAND_BAND = (0.55, 0.65)
MASS_BAND = (0.05, 0.08)
OVER_LEVEL_BAND = (0.035, 0.065)
ON_TIME_MIN = 0.92


@pytest.fixture(scope="module")
def units():
    return load_bundled_units()


@pytest.fixture(scope="module")
def cases(units):
    return generate_cases(units)


@pytest.fixture(scope="module")
def clusters(units):
    return {c["name"]: c for c in demo_clusters(units)}


@pytest.fixture(scope="module")
def info(units, cases):
    """Per-case province, district and month, from the bundled units."""
    u = units.set_index("code")
    month = pd.PeriodIndex(pd.to_datetime(cases["received_date"]), freq="M")
    return pd.DataFrame(
        {
            "province": cases["commune_code"].map(u["province_code"]).to_numpy(),
            "district": cases["commune_code"].map(u["parent_code"]).to_numpy(),
            "year": [d.year for d in cases["received_date"]],
            "month": month,
        },
        index=cases.index,
    )


def _cluster(clusters, kind):
    found = [c for c in clusters.values() if c["kind"] == kind]
    assert found, kind
    return found


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_identical_rows(units, cases):
    pd.testing.assert_frame_equal(generate_cases(units), cases)
    pd.testing.assert_frame_equal(generate_cases(units, seed=7), generate_cases(units, seed=7))


def test_different_seed_different_rows(units, cases):
    other = generate_cases(units, seed=2026)
    assert len(other) != len(cases) or not other.equals(cases)
    # not just a permutation: the (commune, date, category) multisets differ
    key = ["commune_code", "received_date", "category"]
    a = cases[key].astype(str).value_counts()
    b = other[key].astype(str).value_counts()
    assert not a.sort_index().equals(b.sort_index())


def test_each_cluster_has_its_own_random_stream(units, cases, clusters, monkeypatch):
    """Changing one cluster's shape changes its own rows only: every other row is drawn identically."""
    (dim,) = _cluster(clusters, "diminishing")
    monkeypatch.setattr(generator, "DIMINISHING_EXCESS_PEAK", 5.0)
    monkeypatch.setattr(generator, "DIMINISHING_EXCESS_END", 1.0)
    other = generate_cases(units)
    dim_cases = cases["commune_code"].isin(dim["commune_codes"])
    dim_other = other["commune_code"].isin(dim["commune_codes"])
    assert dim_other.sum() < 0.6 * dim_cases.sum()  # the change took effect
    # same rows everywhere else; references are numbered per province, so Bắc Giang's shift
    keep = [c for c in cases.columns if c != "external_ref"]
    pd.testing.assert_frame_equal(cases.loc[~dim_cases, keep].reset_index(drop=True),
                                  other.loc[~dim_other, keep].reset_index(drop=True))
    # the baseline cases of the cluster's communes (no project) are unchanged too
    base = cases[dim_cases & cases["project_name"].isna()].reset_index(drop=True)
    base_other = other[dim_other & other["project_name"].isna()].reset_index(drop=True)
    pd.testing.assert_frame_equal(base[keep], base_other[keep])
    outside_bg = ~cases["external_ref"].str.startswith("DEMO-24-")
    pd.testing.assert_frame_equal(cases[outside_bg].reset_index(drop=True),
                                  other[~other["external_ref"].str.startswith("DEMO-24-")].reset_index(drop=True))


def test_generation_is_fast(units):
    t = time.perf_counter()
    generate_cases(units, seed=11)
    assert time.perf_counter() - t < 5.0


# --------------------------------------------------------------------------- schema and values


def test_columns_types_and_value_sets(cases):
    assert list(cases.columns) == EXPECTED_COLUMNS == list(COLUMNS)
    assert len(cases) > 10_000
    assert set(cases["source"]) == {"demo-synthetic"}
    assert set(cases["scheme"]) == {"legacy"}
    assert cases["is_synthetic"].dtype == bool and cases["is_synthetic"].all()
    assert set(cases["kind"]) == set(KINDS) == {"khieu_nai", "to_cao", "kien_nghi_phan_anh"}
    assert set(cases["category"]) == set(CATEGORIES) == {
        "dat_dai_thu_hoi", "dat_dai_tranh_chap", "moi_truong", "tai_nguyen_khoang_san",
        "che_do_chinh_sach", "can_bo_cong_chuc", "khac",
    }
    assert set(cases["status"]) == set(STATUSES) == {
        "tiep_nhan", "dang_giai_quyet", "da_giai_quyet", "khong_thu_ly", "rut_don",
    }
    assert set(cases["handling_level"]) == set(LEVELS) == {"xa", "huyen", "tinh", "trung_uong"}
    for col in ("is_mass", "is_over_level", "is_complex", "is_synthetic"):
        assert cases[col].dtype == bool, col
    assert cases["people_count"].dtype == np.int64 and (cases["people_count"] >= 1).all()
    assert cases["lon"].dtype == np.float64 and cases["lat"].dtype == np.float64
    for col in ("received_date", "deadline_date"):
        assert all(type(d) is date for d in cases[col]), col
    assert all(d is None or type(d) is date for d in cases["resolved_date"])
    assert all(isinstance(v, list) and all(type(d) is date for d in v) for v in cases["dialogue_dates"])
    assert all(v is None for v in cases["summary"])
    assert all(v is None or (isinstance(v, str) and v.endswith("(demo)")) for v in cases["project_name"])
    assert cases["received_date"].min() >= DEMO_START and cases["received_date"].max() <= DEMO_END
    assert all(isinstance(c, str) and len(c) == 5 and c.isdigit() for c in cases["commune_code"])


def test_codes_match_the_case_vocabulary(cases):
    vocab = pytest.importorskip("geo_dash.cases.vocab")
    assert set(KINDS) == {t.code for t in vocab.KINDS}
    assert set(CATEGORIES) == {t.code for t in vocab.CATEGORIES}
    assert set(STATUSES) == {t.code for t in vocab.STATUSES}
    assert set(LEVELS) == {t.code for t in vocab.LEVELS}
    assert set(OPEN_STATUSES) == set(vocab.OPEN_STATUSES)


def test_no_personal_data_columns(cases):
    personal = ("name", "ten", "ho", "cccd", "cmnd", "id", "phone", "dien", "email", "address", "dia",
                "birth", "sinh", "gender", "gioi", "nguoi", "person", "petitioner", "officer")
    for col in set(cases.columns) - {"project_name"}:  # a project's name, never a person's
        words = fold(col).replace("_", " ").split()
        assert not set(words) & set(personal), col
    # the only free-text fields are empty or the (fictional) project names
    assert cases["summary"].isna().all()


def test_every_commune_is_a_legacy_commune_of_the_five_provinces(units, cases):
    valid = set(units.loc[units["province_code"].isin(DEMO_PROVINCES), "code"])
    assert set(cases["commune_code"]) <= valid
    # every province gets cases
    prov = cases["commune_code"].map(units.set_index("code")["province_code"])
    assert set(prov) == set(DEMO_PROVINCES)


def test_external_ref_unique_and_formatted(units, cases, info):
    assert cases["external_ref"].is_unique
    parts = cases["external_ref"].str.extract(r"^DEMO-(\d{2})-(\d{6})$")
    assert parts.notna().all().all()
    assert (parts[0].to_numpy() == info["province"].to_numpy()).all()


def test_dates_are_consistent(cases):
    closed = cases["resolved_date"].notna()
    assert not cases.loc[closed, "status"].isin(OPEN_STATUSES).any()
    assert cases.loc[~closed, "status"].isin(OPEN_STATUSES).all()
    r = cases.loc[closed]
    assert (r["resolved_date"] >= r["received_date"]).all()
    assert (r["resolved_date"] <= DEMO_END).all()
    for rec, res, dl in zip(cases["received_date"], cases["resolved_date"], cases["dialogue_dates"]):
        upper = res or DEMO_END
        assert dl == sorted(set(dl))
        assert all(rec < d <= upper for d in dl)


def test_is_mass_is_five_people_or_more(cases):
    assert (cases["is_mass"] == (cases["people_count"] >= 5)).all()


def test_deadline_rule_per_row(units, cases):
    mountain = set(mountainous_district_codes(units))
    district = cases["commune_code"].map(units.set_index("code")["parent_code"])
    days = np.where(cases["is_complex"], 45, 30) + np.where(district.isin(mountain), 15, 0)
    expected = [r + pd.Timedelta(days=int(d)).to_pytimedelta() for r, d in zip(cases["received_date"], days)]
    assert list(cases["deadline_date"]) == expected
    assert district.isin(mountain).any() and (~district.isin(mountain)).any()
    assert cases["is_complex"].any() and (~cases["is_complex"]).any()


def test_mountainous_districts_resolved_by_name(units):
    codes = mountainous_district_codes(units)
    assert len(codes) == 15
    names = {fold(n) for n in codes.values()}
    for n in ("huyen huong hoa", "huyen da krong", "huyen nam tra my", "huyen bac ai", "huyen luc ngan"):
        assert n in names
    districts = units.drop_duplicates("parent_code").set_index("parent_code")["district_name"]
    for code, name in codes.items():
        assert districts[code] == name


def test_unknown_names_fail_loudly(units):
    renamed = units.copy()
    renamed.loc[renamed["parent_code"] == "465", "district_name"] = "Huyện Không Có"
    with pytest.raises(DemoDataError, match="Hướng Hóa"):
        mountainous_district_codes(renamed)
    without_hai_khe = units[units["code"] != "19741"]
    with pytest.raises(DemoDataError, match="Hải Khê"):
        demo_clusters(without_hai_khe)


def test_coordinates_inside_their_commune(units, cases):
    has = cases["lon"].notna()
    assert cases["lon"].notna().equals(cases["lat"].notna())
    assert 0.25 < has.mean() < 0.35
    geom = units.set_index("code").geometry
    pts = cases.loc[has]
    inside = shapely.contains_xy(geom.loc[pts["commune_code"]].to_numpy(), pts["lon"].to_numpy(), pts["lat"].to_numpy())
    assert inside.all()


# --------------------------------------------------------------------------- calibration


def test_quang_tri_yearly_total_in_band(cases, info):
    qt = info[info["province"] == "45"]
    per_year = qt.groupby("year").size()
    for year in range(2020, 2025):
        assert QT_YEAR_BAND[0] <= per_year[year] <= QT_YEAR_BAND[1], (year, per_year[year])
    assert QT_MEAN_BAND[0] <= len(qt) / 5.5 <= QT_MEAN_BAND[1]


def test_other_provinces_scale_with_population(units, info):
    pop = units.groupby("province_code")["population"].sum()
    per_head = info.groupby("province").size() / pop.loc[list(DEMO_PROVINCES)]
    # same order per head (mountainous districts a little lower): within a factor 1.5 of Quảng Trị
    assert (per_head / per_head["45"]).between(1 / 1.5, 1.5).all()
    assert (info.groupby("province").size() > 2_000).all()


def test_land_share_in_band(cases, info):
    qt = cases[info["province"] == "45"]
    assert LAND_BAND[0] <= qt["category"].isin(LAND_CATEGORIES).mean() <= LAND_BAND[1]
    assert LAND_BAND[0] <= cases["category"].isin(LAND_CATEGORIES).mean() <= LAND_BAND[1]


def test_on_time_share_of_resolved_cases(cases, info):
    res = cases[(cases["status"] == "da_giai_quyet") & (info["province"] == "45")]
    assert (res["resolved_date"] <= res["deadline_date"]).mean() >= ON_TIME_MIN
    res_all = cases[cases["status"] == "da_giai_quyet"]
    assert (res_all["resolved_date"] <= res_all["deadline_date"]).mean() >= ON_TIME_MIN
    assert (res_all["resolved_date"] > res_all["deadline_date"]).any()  # some are late


def test_mass_and_over_level_shares(cases):
    assert MASS_BAND[0] <= cases["is_mass"].mean() <= MASS_BAND[1]
    land = cases["category"].isin(LAND_CATEGORIES)
    assert cases.loc[land, "is_mass"].mean() > 1.5 * cases.loc[~land, "is_mass"].mean()
    assert OVER_LEVEL_BAND[0] <= cases["is_over_level"].mean() <= OVER_LEVEL_BAND[1]


def test_statuses_old_resolved_recent_open_some_overdue(cases):
    old = cases["received_date"] < date(2024, 1, 1)
    assert cases.loc[old, "status"].isin(["da_giai_quyet", "khong_thu_ly", "rut_don"]).mean() > 0.995
    assert (cases.loc[old, "status"] == "da_giai_quyet").mean() > 0.8
    recent = cases["received_date"] >= date(2025, 5, 1)
    assert cases.loc[recent, "status"].isin(OPEN_STATUSES).mean() > 0.3
    assert set(cases.loc[recent, "status"]) >= {"tiep_nhan", "dang_giai_quyet"}
    overdue = cases["status"].isin(OPEN_STATUSES) & (cases["deadline_date"] < DEMO_END)
    assert overdue.sum() >= 5


def test_dialogues_for_land_and_mass_cases(cases):
    has = cases["dialogue_dates"].str.len() > 0
    land = cases["category"].isin(LAND_CATEGORIES)
    assert has[land].mean() > 0.2
    assert has[cases["is_mass"]].mean() > 0.5
    assert has[~land & ~cases["is_mass"]].mean() < 0.05
    assert not has[cases["status"] == "khong_thu_ly"].any()


# --------------------------------------------------------------------------- clusters


def test_cluster_metadata(clusters):
    kinds = {c["kind"] for c in clusters.values()}
    assert kinds == {"historical", "emerging", "diminishing"}
    for c in clusters.values():
        assert c["name"] and c["description_vi"] and c["commune_codes"]
        assert len(c["commune_codes"]) == len(c["commune_names"])


def test_historical_places_resolved_including_absorbed_communes(units, clusters):
    names = units.set_index("code")["name"]
    hist = _cluster(clusters, "historical")
    by_place = {c["name"].split(" (")[0].split(" → ")[0]: c for c in hist}
    assert set(by_place) == {"Vĩnh Hòa", "Vĩnh Thái", "Trung Giang", "Hải Khê", "Cam An", "Gio Châu"}
    for place in ("Vĩnh Hòa", "Vĩnh Thái", "Trung Giang", "Hải Khê"):
        c = by_place[place]
        assert fold(names[c["commune_codes"][0]]) == "xa " + fold(place)
        assert c["former_names"] == [None]
    # Cam An and Gio Châu no longer exist: their absorbing communes (vietnamadminunits' wardAlias)
    qt = units[units["province_code"] == "45"]
    assert not qt["name"].map(fold).isin(["xa cam an", "xa gio chau"]).any()
    cam_an, gio_chau = by_place["Cam An"], by_place["Gio Châu"]
    assert cam_an["former_names"] == ["Cam An"] and gio_chau["former_names"] == ["Gio Châu"]
    assert fold(names[cam_an["commune_codes"][0]]) == "xa thanh an"
    assert fold(names[gio_chau["commune_codes"][0]]) == "thi tran gio linh"
    district = units.set_index("code")["parent_code"]
    assert district[cam_an["commune_codes"][0]] == cam_an["district_code"]
    assert fold(cam_an["district_name"]) == "huyen cam lo" and fold(gio_chau["district_name"]) == "huyen gio linh"


def test_historical_clusters_well_above_district_median(units, cases, clusters):
    counts = cases["commune_code"].value_counts()
    u = units[units["province_code"] == "45"].set_index("code")
    per_head = counts.reindex(u.index, fill_value=0) / u["population"]
    for c in _cluster(clusters, "historical"):
        code = c["commune_codes"][0]
        district = per_head[u["parent_code"] == c["district_code"]]
        assert per_head[code] > 2.0 * district.median(), (c["name"], per_head[code] / district.median())


def test_historical_clusters_persist_and_fade_slowly(units, cases, clusters):
    codes = [c["commune_codes"][0] for c in _cluster(clusters, "historical")]
    qt_codes = set(units.loc[units["province_code"] == "45", "code"])
    pop = units.set_index("code")["population"]
    first = cases["received_date"] < date(2021, 1, 1)
    last = cases["received_date"] >= date(2024, 7, 1)
    in_cl = cases["commune_code"].isin(codes)
    rest = cases["commune_code"].isin(qt_codes - set(codes))
    pop_cl, pop_rest = pop[codes].sum(), pop[list(qt_codes - set(codes))].sum()
    ratio_first = ((in_cl & first).sum() / pop_cl) / ((rest & first).sum() / pop_rest)
    ratio_last = ((in_cl & last).sum() / pop_cl) / ((rest & last).sum() / pop_rest)
    assert ratio_first > 3.0
    assert 1.8 < ratio_last < ratio_first


def test_emerging_cluster_rises_in_last_months(cases, info, clusters):
    (c,) = _cluster(clusters, "emerging")
    assert c["province_code"] in ("45", "49") and 2 <= len(c["commune_codes"]) <= 4
    assert c["project_name"].startswith("Dự án Khu công nghiệp") and c["project_name"].endswith("(demo)")
    sel = cases["commune_code"].isin(c["commune_codes"]) & (cases["category"] == "dat_dai_thu_hoi")
    monthly = info.loc[sel, "month"].value_counts().reindex(
        pd.period_range("2020-01", "2025-06", freq="M"), fill_value=0
    )
    last6 = monthly.iloc[-6:].sum()
    baseline6 = monthly.iloc[:-12].mean() * 6
    assert last6 > 5 * baseline6, (last6, baseline6)
    recent = cases[sel & (cases["received_date"] >= date(2025, 1, 1))]
    assert (recent["project_name"] == c["project_name"]).mean() > 0.6
    assert recent["is_mass"].sum() >= 5


def test_diminishing_cluster_stays_hot_while_declining(units, cases, info, clusters):
    """Rising to a peak in mid-2023, then declining over the last 24 months (EHSA's window), still hot."""
    (c,) = _cluster(clusters, "diminishing")
    assert c["project_name"].startswith("Dự án Khu đô thị") and c["project_name"].endswith("(demo)")
    sel = cases["commune_code"].isin(c["commune_codes"])
    monthly = info.loc[sel, "month"].value_counts().reindex(
        pd.period_range("2020-01", "2025-06", freq="M"), fill_value=0
    )
    window = monthly.iloc[-24:]  # 07/2023–06/2025
    prev12, last12 = window.iloc[:12].sum(), window.iloc[12:].sum()
    assert last12 < 0.8 * prev12, (prev12, last12)
    trend = pymannkendall.original_test(window.to_numpy())
    assert trend.trend == "decreasing" and trend.p < 0.01, trend
    assert monthly.iloc[30:42].sum() > monthly.iloc[:12].sum()  # 07/2022–06/2023 above 2020: it rose first
    # still hot: in the last 12 months every commune has > 3 x its district's median cases per head
    u = units.set_index("code")
    district = u.index[u["parent_code"] == c["district_code"]]
    recent = cases.loc[cases["received_date"] >= date(2024, 7, 1), "commune_code"].value_counts()
    per_head = recent.reindex(district, fill_value=0) / u.loc[district, "population"]
    for code in c["commune_codes"]:
        assert per_head[code] > 3.0 * per_head.median(), (code, per_head[code] / per_head.median())
    excess = cases[sel & (cases["received_date"] >= date(2024, 7, 1))]
    assert (excess["project_name"] == c["project_name"]).mean() > 0.8


def test_cluster_communes_are_neighbours(units, clusters):
    geom = units.set_index("code").geometry
    for c in _cluster(clusters, "emerging") + _cluster(clusters, "diminishing"):
        codes = c["commune_codes"]
        assert len(set(units.set_index("code").loc[codes, "parent_code"])) == 1
        for code in codes:
            others = [o for o in codes if o != code]
            assert any(geom[code].buffer(1e-4).intersects(geom[o]) for o in others), (c["name"], code)


def test_hot_clusters_have_more_overdue_open_cases(cases, clusters):
    recent = cases["received_date"] >= date(2025, 1, 1)
    overdue = cases["status"].isin(OPEN_STATUSES) & (cases["deadline_date"] < DEMO_END)
    (c,) = _cluster(clusters, "emerging")
    hot = cases["commune_code"].isin(c["commune_codes"])
    assert overdue[recent & hot].mean() > 3 * overdue[recent & ~hot].mean()


# --------------------------------------------------------------------------- national benchmark generator


def test_national_million_rows_fast_valid_and_skewed(units):
    t = time.perf_counter()
    nat = generate_cases_national(units, 1_000_000, seed=3)
    elapsed = time.perf_counter() - t
    assert elapsed < 30.0
    assert len(nat) == 1_000_000
    assert list(nat.columns) == EXPECTED_COLUMNS
    assert nat["external_ref"].is_unique
    assert set(nat["commune_code"]) <= set(units["code"])
    counts = nat["commune_code"].value_counts().reindex(units["code"], fill_value=0).sort_values(ascending=False)
    top = counts.iloc[: len(counts) // 10].sum() / counts.sum()
    assert top > 0.25, top
    assert (counts > 0).mean() > 0.95  # spread over (nearly) all communes
    assert (nat["is_mass"] == (nat["people_count"] >= 5)).all()
    closed = nat["resolved_date"].notna()
    assert (nat.loc[closed, "resolved_date"] >= nat.loc[closed, "received_date"]).all()


def test_national_reproducible(units):
    a = generate_cases_national(units, 20_000, seed=5)
    pd.testing.assert_frame_equal(a, generate_cases_national(units, 20_000, seed=5))
    assert not a.equals(generate_cases_national(units, 20_000, seed=6))
