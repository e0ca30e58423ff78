"""The class breaks a run stores for the maps equal the live computation over the same cube."""

import pytest
from sqlalchemy import create_engine

from geo_dash.analytics import read
from geo_dash.analytics.cube import MAP_INDICATORS, N_QUANTILES
from geo_dash.security.scope import ALL, Scope


@pytest.fixture(scope="module")
def engine(analytics_url):
    e = create_engine(analytics_url)
    yield e
    e.dispose()


@pytest.mark.parametrize("indicator", ["intensity", "n_mass", "overdue"])
@pytest.mark.parametrize("province", ["49", "45", None])
def test_stored_quantiles_equal_the_live_ones(engine, indicator, province):
    run = read.latest_run(engine, "legacy")
    stored = read.stored_quantiles(engine, run["id"], "legacy", indicator, province)
    live = read.indicator_quantiles(engine, ALL, scheme="legacy", province_code=province, indicator=indicator)
    assert stored is not None and len(stored) == len(live) == N_QUANTILES
    assert stored == pytest.approx(live, abs=1e-5)
    assert stored == sorted(stored)


def test_every_map_indicator_is_stored_and_an_unknown_province_is_none(engine):
    run = read.latest_run(engine, "legacy")
    for indicator in MAP_INDICATORS:
        assert read.stored_quantiles(engine, run["id"], "legacy", indicator, "49") is not None
    assert read.stored_quantiles(engine, run["id"], "legacy", "intensity", "99") is None
    assert read.stored_quantiles(engine, run["id"], "2025", "intensity", "49") is None  # a legacy-only run


def test_a_narrower_scope_computes_its_own(engine):
    """Stored quantiles cover every commune: a district's map does not use them (their breaks would
    describe communes the district officer may not see)."""
    district = Scope(legacy_districts=frozenset({"464"}))
    own = read.indicator_quantiles(engine, district, scheme="legacy", province_code="45", indicator="intensity")
    run = read.latest_run(engine, "legacy")
    whole = read.stored_quantiles(engine, run["id"], "legacy", "intensity", "45")
    assert own != whole
