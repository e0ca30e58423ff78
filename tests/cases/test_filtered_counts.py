"""The map's case filters count cases per commune exactly as the cube does (one placement rule)."""

from datetime import date

import pytest
from sqlalchemy import create_engine

from geo_dash.analytics import read as analytics
from geo_dash.cases.read import case_points, filtered_counts
from geo_dash.security.scope import ALL, Scope


@pytest.fixture(scope="module")
def engine(analytics_url):
    e = create_engine(analytics_url)
    yield e
    e.dispose()


def _as_dict(df):
    return {c: round(v, 6) for c, v in zip(df["commune_code"], df["value"])}


@pytest.mark.parametrize("filters,indicator", [(None, "n_new"), ({"mass": True}, "n_mass"),
                                               ({"over_level": True}, "n_over_level"),
                                               ({"category": ["moi_truong"]}, "new_moi_truong")])
@pytest.mark.parametrize("months", [(date(2025, 6, 1), date(2025, 6, 1)), (date(2024, 7, 1), date(2025, 6, 1))])
def test_counts_equal_the_cube(engine, filters, indicator, months):
    got = filtered_counts(engine, ALL, scheme="legacy", province_code="49", first=months[0], last=months[1],
                          filters=filters)
    cube = analytics.cube_values(engine, ALL, scheme="legacy", province_code="49", months=months, indicator=indicator)
    assert _as_dict(got) == _as_dict(cube)
    assert got["value"].sum() > 0


def test_a_district_officer_counts_only_the_own_district(engine):
    scope = Scope(legacy_districts=frozenset({"464"}))
    got = filtered_counts(engine, scope, scheme="legacy", province_code="45", first=date(2024, 7, 1),
                          last=date(2025, 6, 1))
    whole = _as_dict(filtered_counts(engine, ALL, scheme="legacy", province_code="45", first=date(2024, 7, 1),
                                     last=date(2025, 6, 1)))
    assert 0 < len(got) < len(whole)
    assert all(whole[c] == v for c, v in _as_dict(got).items())  # own communes: the same figures, nothing else
    points = case_points(engine, scope, scheme="legacy", province_code="45", first=date(2024, 7, 1),
                         last=date(2025, 6, 1))
    assert points["features"] and {f["properties"]["commune"] for f in points["features"]} <= set(got["commune_code"])
