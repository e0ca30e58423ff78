"""The space-time cube against hand counts on a small fixture written with the real case writer.

Fixture: six cases in one legacy commune L that the crosswalk splits over two (or more) 2025
communes, plus one case filed directly on a 2025 commune; as_of = 2024-03-31 (cube months
2024-01..2024-03).  Every expected number below is counted by hand from the case list.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

from geo_dash.analytics.cube import (
    CATEGORY_COLUMNS,
    COMPONENTS,
    IntensityConfig,
    add_months,
    load_intensity,
)
from geo_dash.analytics.refresh import refresh
from geo_dash.cases import store

AS_OF = date(2024, 3, 31)
JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


def _case(ref, received, category, status, deadline, resolved=None, *, scheme="legacy", commune, mass=False,
          over=False, dialogues=(), lon=None, lat=None):
    return {
        "source": "test-cube", "external_ref": ref, "channel": None, "received_date": received,
        "kind": "khieu_nai", "category": category, "people_count": 12 if mass else 1, "is_mass": mass,
        "is_over_level": over, "is_complex": False, "handling_level": "huyen", "status": status,
        "deadline_date": deadline, "resolved_date": resolved, "dialogue_dates": list(dialogues),
        "project_name": None, "summary": None, "scheme": scheme, "commune_code": commune,
        "lon": lon, "lat": lat, "is_synthetic": False,
    }


def _split_commune(conn):
    """A legacy commune split by the crosswalk over >= 2 communes of one 2025 province (first by code)."""
    row = conn.execute(text("""
        SELECT x.legacy_code FROM crosswalk x
        JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = x.legacy_code AND l.geom IS NOT NULL
        JOIN admin_unit n ON n.scheme = '2025' AND n.code = x.new_code
        WHERE x.weight > 0 GROUP BY x.legacy_code
        HAVING count(*) >= 2 AND count(DISTINCT n.province_code) = 1 ORDER BY x.legacy_code LIMIT 1""")).one()
    legacy = row.legacy_code
    weights = dict(conn.execute(text(
        "SELECT new_code, weight FROM crosswalk WHERE legacy_code = :l AND weight > 0"), {"l": legacy}).all())
    t_point = max(weights, key=weights.get)
    lon, lat = conn.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (
            SELECT ST_PointOnSurface(ST_Intersection(l.geom, n.geom)) AS p FROM admin_unit l, admin_unit n
            WHERE l.scheme = 'legacy' AND l.code = :l AND n.scheme = '2025' AND n.code = :n) x"""),
        {"l": legacy, "n": t_point}).one()
    t_other = sorted(set(weights) - {t_point})[0]
    return legacy, weights, t_point, t_other, (lon, lat)


@pytest.fixture
def fixture_db(scratch_engine):
    with scratch_engine.begin() as conn:
        legacy, weights, t_point, t_other, (lon, lat) = _split_commune(conn)
        cases = [
            # c1: land acquisition, mass + over level, open; deadline 09/02 -> overdue from February; 1 dialogue in Feb
            _case("c1", date(2024, 1, 10), "dat_dai_thu_hoi", "dang_giai_quyet", date(2024, 2, 9), commune=legacy,
                  mass=True, over=True, dialogues=[date(2024, 2, 15)]),
            # c2: environment, resolved 05/02 on time (deadline 19/02): open at the end of January only
            _case("c2", date(2024, 1, 20), "moi_truong", "da_giai_quyet", date(2024, 2, 19), date(2024, 2, 5),
                  commune=legacy),
            # c3: other, not accepted, closed 08/03 (deadline 04/04 -> "on time"): never open, resolved in March
            _case("c3", date(2024, 3, 5), "khac", "khong_thu_ly", date(2024, 4, 4), date(2024, 3, 8), commune=legacy),
            # c4: land dispute WITH A POINT inside t_point; open, deadline 31/03 is not < 31/03 -> never overdue
            _case("c4", date(2024, 2, 1), "dat_dai_tranh_chap", "tiep_nhan", date(2024, 3, 31), commune=legacy,
                  lon=lon, lat=lat),
            # c5: social policy, deadline 29/02 (month end), resolved late 15/03: open at end of Feb, not overdue then
            _case("c5", date(2024, 2, 10), "che_do_chinh_sach", "da_giai_quyet", date(2024, 2, 29), date(2024, 3, 15),
                  commune=legacy),
            # c6: filed on the 2025 commune t_other: never on the legacy cube
            _case("c6", date(2024, 3, 10), "moi_truong", "tiep_nhan", date(2024, 4, 9), scheme="2025",
                  commune=t_other, mass=True),
        ]
        store.write_cases(conn, store.records_frame(cases), import_id=None, actor="test")
        placed = dict(conn.execute(text("SELECT external_ref, commune_2025 FROM grievance_case")).all())
    assert placed["c4"] == t_point  # the writer put the point case in the 2025 commune containing its point
    refresh(scratch_engine, as_of=AS_OF)
    return {"engine": scratch_engine, "legacy": legacy, "weights": weights, "t_point": t_point, "t_other": t_other}


# Hand count for L on the legacy scheme, by month.  Components not listed are 0.
LEGACY_L = {
    JAN: {"n_new": 2, "new_dat_dai_thu_hoi": 1, "new_moi_truong": 1, "n_mass": 1, "n_over_level": 1, "n_land": 1,
          "backlog": 2, "overdue": 0},
    FEB: {"n_new": 2, "new_dat_dai_tranh_chap": 1, "new_che_do_chinh_sach": 1, "n_land": 1,
          "backlog": 3, "overdue": 1, "resolved": 1, "resolved_on_time": 1, "dialogues": 1},
    MAR: {"n_new": 1, "new_khac": 1, "backlog": 2, "overdue": 1, "resolved": 2, "resolved_on_time": 1},
}
# The same without c4 (the point case): what is split by the crosswalk weights on the 2025 scheme.
NO_POINT_L = {
    JAN: LEGACY_L[JAN],
    FEB: {**LEGACY_L[FEB], "n_new": 1, "new_dat_dai_tranh_chap": 0, "n_land": 0, "backlog": 2},
    MAR: {**LEGACY_L[MAR], "backlog": 1},
}
POINT_CASE = {FEB: {"n_new": 1, "new_dat_dai_tranh_chap": 1, "n_land": 1, "backlog": 1},
              MAR: {"backlog": 1}}
DIRECT_2025 = {MAR: {"n_new": 1, "new_moi_truong": 1, "n_mass": 1, "backlog": 1}}


def _cube(engine, scheme, commune):
    with engine.connect() as conn:
        df = pd.read_sql(text("SELECT * FROM cube_month WHERE scheme = :s AND commune_code = :c ORDER BY month"),
                         conn, params={"s": scheme, "c": commune})
    return df.set_index("month")


def _expected(month, *parts):
    """Sum of weight x hand counts over ``parts`` = [(weight, table), ...]."""
    return {c: sum(w * t.get(month, {}).get(c, 0) for w, t in parts) for c in COMPONENTS}


def test_legacy_cube_equals_hand_count(fixture_db):
    cube = _cube(fixture_db["engine"], "legacy", fixture_db["legacy"])
    assert list(cube.index) == [JAN, FEB, MAR]
    for month in (JAN, FEB, MAR):
        expected = _expected(month, (1, LEGACY_L))
        assert cube.loc[month, list(COMPONENTS)].to_dict() == pytest.approx(expected), month
    assert cube["as_of"].unique().tolist() == [AS_OF]


def test_2025_cube_splits_legacy_cases_by_crosswalk_weights(fixture_db):
    weights, t_point, t_other = fixture_db["weights"], fixture_db["t_point"], fixture_db["t_other"]
    for target, w in weights.items():
        cube = _cube(fixture_db["engine"], "2025", target)
        for month in (JAN, FEB, MAR):
            parts = [(w, NO_POINT_L)]
            if target == t_point:
                parts.append((1, POINT_CASE))  # a case with a point counts 1 in its own 2025 commune
            if target == t_other:
                parts.append((1, DIRECT_2025))  # a case filed on a 2025 commune counts 1 there
            got = cube.loc[month, list(COMPONENTS)].to_dict()
            assert got == pytest.approx(_expected(month, *parts)), (target, month)
        # January holds only no-point legacy cases, one of them a mass petition: the split is the weight
        assert cube.loc[JAN, "n_mass"] == pytest.approx(w)
    with fixture_db["engine"].connect() as conn:
        total = conn.execute(text("SELECT sum(n_new) FROM cube_month WHERE scheme = '2025'")).scalar()
    assert total == pytest.approx(6)  # fractions add up to whole cases


def test_2025_cases_are_not_on_the_legacy_cube(fixture_db):
    with fixture_db["engine"].connect() as conn:
        legacy_total = conn.execute(text("SELECT sum(n_new) FROM cube_month WHERE scheme = 'legacy'")).scalar()
    assert legacy_total == 5


@pytest.mark.parametrize("scheme", ["legacy", "2025"])
def test_no_gaps_every_commune_every_month(fixture_db, scheme):
    with fixture_db["engine"].connect() as conn:
        provinces = conn.execute(text(
            "SELECT array_agg(DISTINCT province_code) FROM cube_month WHERE scheme = :s"), {"s": scheme}).scalar()
        n_communes = conn.execute(text("""SELECT count(*) FROM admin_unit
            WHERE scheme = :s AND level = 'commune' AND province_code = ANY(:p)"""),
            {"s": scheme, "p": provinces}).scalar()
        rows, distinct, months = conn.execute(text("""
            SELECT count(*), count(DISTINCT (commune_code, month)), array_agg(DISTINCT month ORDER BY month)
            FROM cube_month WHERE scheme = :s"""), {"s": scheme}).one()
        zeros = conn.execute(text(f"""SELECT count(*) FROM cube_month WHERE scheme = :s
            AND n_new = 0 AND backlog = 0 AND intensity = 0 AND {" AND ".join(f"{c} = 0" for c in COMPONENTS)}"""),
            {"s": scheme}).scalar()
    assert len(provinces) == 1  # only the province(s) with cases are in the cube
    assert months == [JAN, FEB, MAR]
    assert rows == distinct == n_communes * 3
    assert zeros >= rows - 3 * (len(fixture_db["weights"]) + 1)  # every other commune-month is an explicit zero


def test_intensity_follows_the_documented_formula(fixture_db):
    cfg = load_intensity()
    assert dict(cfg.weights) == {"n_new": 1.0, "n_mass": 2.0, "n_over_level": 1.5, "overdue": 0.5}
    with fixture_db["engine"].connect() as conn:
        df = pd.read_sql(text("SELECT * FROM cube_month"), conn)
    count = sum(w * df[c] for c, w in cfg.weights.items())
    assert df["intensity_count"].to_numpy() == pytest.approx(count.to_numpy())
    known = df["population"] > 0
    rate = count[known] * 10_000 / df.loc[known, "population"]
    assert df.loc[known, "intensity"].to_numpy() == pytest.approx(rate.to_numpy())
    assert not df.loc[known, "population_imputed"].any()
    per_10k = df.loc[known, "n_new"] * 1e4 / df.loc[known, "population"]
    assert df.loc[known, "new_per_10k"].to_numpy() == pytest.approx(per_10k.to_numpy())
    assert df.loc[~known, "new_per_10k"].isna().all()
    # January in L: 1*2 new + 2*1 mass + 1.5*1 over level + 0.5*0 overdue = 5.5
    row = df[(df.scheme == "legacy") & (df.commune_code == fixture_db["legacy"]) & (df.month == JAN)].iloc[0]
    assert row["intensity_count"] == pytest.approx(5.5)


def test_imputed_population_uses_the_province_median(scratch_engine):
    with scratch_engine.begin() as conn:
        code, province = conn.execute(text("""SELECT code, province_code FROM admin_unit
            WHERE scheme = 'legacy' AND level = 'commune' AND (population IS NULL OR population = 0)
            ORDER BY code LIMIT 1""")).one()
        median = conn.execute(text("""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY population)
            FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' AND province_code = :p AND population > 0"""),
            {"p": province}).scalar()
        store.write_cases(conn, store.records_frame([
            _case("x1", date(2024, 1, 10), "khac", "tiep_nhan", date(2024, 2, 9), commune=code)]),
            import_id=None, actor="test")
    refresh(scratch_engine, scheme="legacy", as_of=date(2024, 1, 31))
    row = _cube(scratch_engine, "legacy", code).iloc[0]
    assert row["population_imputed"] and pd.isna(row["new_per_10k"])
    assert row["intensity"] == pytest.approx(1 * 10_000 / median)


def test_intensity_config_is_validated(tmp_path):
    bad = tmp_path / "i.yaml"
    bad.write_text("intensity:\n  weights:\n    n_nope: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="n_nope"):
        load_intensity(bad)
    with pytest.raises(ValueError, match="per_people"):
        IntensityConfig(per_people=0)
    assert set(CATEGORY_COLUMNS) <= set(COMPONENTS)
    assert IntensityConfig().formula().startswith("(1·n_new + 2·n_mass")


def test_add_months():
    assert add_months(date(2024, 1, 31), -1) == date(2023, 12, 1)
    assert add_months(date(2024, 11, 5), 2) == date(2025, 1, 1)
