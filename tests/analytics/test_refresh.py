"""refresh(): the demo clusters, alerts, KPIs, scope of the read functions, incremental = full, failure, priority."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from geo_dash.analytics import handling_kpis
from geo_dash.analytics.kpis import open_at
from geo_dash.analytics import read
from geo_dash.analytics.refresh import HOT_CATEGORIES, RefreshParams, kpi_periods, refresh
from geo_dash.cases import store
from geo_dash.demo.generator import demo_clusters, generate_cases, load_bundled_units
from geo_dash.demo.load import load_demo
from geo_dash.security.scope import ALL, Scope
from tests.conftest import _create_db, _drop_db

AS_OF = date(2025, 6, 30)
EMERGING = {"new hot spot", "consecutive hot spot", "intensifying hot spot"}
DIMINISHING = {"diminishing hot spot", "historical hot spot"}


@pytest.fixture(scope="module")
def units():
    return load_bundled_units()


@pytest.fixture(scope="module")
def clusters(units):
    return {c["kind"]: c for c in demo_clusters(units) if c["kind"] != "historical"}


@pytest.fixture(scope="module")
def demo_engine(cluster, template_db):
    """Demo data (seed 2025) refreshed as of 2025-06-30: legacy first, then the 2025 scheme in a second run."""
    name = f"analytics_demo_{uuid.uuid4().hex[:8]}"
    engine = create_engine(_create_db(cluster, name, template=template_db))
    load_demo(engine, seed=2025)
    refresh(engine, scheme="legacy", as_of=AS_OF)
    refresh(engine, scheme="2025", as_of=AS_OF)
    yield engine
    engine.dispose()
    _drop_db(cluster, name)


def _ehsa(engine, scheme, codes) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT commune_code, category FROM ehsa_result WHERE scheme = :s "
                                      "AND commune_code = ANY(:c)"), {"s": scheme, "c": list(codes)}).all())


# --------------------------------------------------------------------------- demo data
def test_emerging_cluster_is_new_consecutive_or_intensifying(demo_engine, clusters):
    got = _ehsa(demo_engine, "legacy", clusters["emerging"]["commune_codes"])
    assert set(got) == set(clusters["emerging"]["commune_codes"])
    assert set(got.values()) <= EMERGING, got


def test_diminishing_cluster_is_diminishing_or_historical(demo_engine, clusters):
    """Issue #5: "the diminishing one as diminishing or historical" (Esri categories, 24 months, FDR).

    The demo's project cluster is still hot in 2025 but has declined since mid-2023 (see
    docs/demo-data.md): diminishing = hot in >= 90 % of the months including the last, with a
    significant decreasing trend; historical = >= 90 % hot but not the last month.
    """
    codes = clusters["diminishing"]["commune_codes"]
    got = _ehsa(demo_engine, "legacy", codes)
    assert set(got) == set(codes)
    assert set(got.values()) <= DIMINISHING, got


def test_alerts_fire_for_the_emerging_cluster(demo_engine, clusters):
    codes = clusters["emerging"]["commune_codes"]
    found = read.alerts(demo_engine, ALL, scheme="legacy", province_code=clusters["emerging"]["province_code"])
    mine = found[found["commune_code"].isin(codes)]
    assert set(mine["commune_code"]) == set(codes)  # every commune of the cluster has an alert
    assert {"mass_petitions_30d", "monthly_spike"} <= set(mine["rule_id"])
    assert (mine["as_of"] == AS_OF).all()
    assert mine["message_vi"].str.contains("Xã/phường").all()


def _cases_frame(engine, scheme) -> pd.DataFrame:
    """The cases as the KPIs see them, read independently of the refresh code."""
    commune, district, province = (("commune_legacy", "u.parent_code", "province_legacy") if scheme == "legacy"
                                   else ("commune_2025", "NULL", "province_2025"))
    with engine.connect() as conn:
        df = pd.read_sql(text(f"""
            SELECT c.{commune} AS commune_code, {district} AS district_code, c.{province} AS province_code,
                   c.received_date, c.resolved_date, c.deadline_date, c.status, c.is_mass,
                   cardinality(c.dialogue_dates) AS dialogue_count
            FROM grievance_case c LEFT JOIN admin_unit u ON u.scheme = 'legacy' AND u.code = c.commune_legacy
            WHERE c.{commune} IS NOT NULL"""), conn)
    return df


@pytest.mark.parametrize("scheme", ["legacy", "2025"])
def test_kpi_result_equals_handling_kpis(demo_engine, scheme):
    cases = _cases_frame(demo_engine, scheme)
    with demo_engine.connect() as conn:
        stored = pd.read_sql(text("SELECT * FROM kpi_result WHERE scheme = :s"), conn, params={"s": scheme})
    levels = {"commune": "commune_code", "province": "province_code"}
    if scheme == "legacy":
        levels["district"] = "district_code"
    assert set(stored["level"]) == set(levels) and set(stored["period_kind"]) == {"month", "12m", "ytd"}
    cols = ["received", "resolved", "resolved_on_time", "resolved_on_time_pct", "median_days_to_resolve",
            "backlog", "overdue", "mass_petitions", "dialogues"]
    for kind, (start, end) in kpi_periods(AS_OF).items():
        for level, col in levels.items():
            want = handling_kpis(cases, start=start, end=end, by=col, as_of=AS_OF).set_index(col)[cols]
            got = stored[(stored.level == level) & (stored.period_kind == kind)].set_index("unit_code")[cols]
            got = got.reindex(want.index)
            pd.testing.assert_frame_equal(got.astype(float), want.astype(float), check_names=False)
    ytd = stored[(stored.period_kind == "ytd")].iloc[0]
    assert (ytd["period_start"], ytd["period_end"]) == (date(2025, 1, 1), AS_OF)
    assert set(ytd["targets"]) == {"resolved_on_time_pct"}


def test_cube_backlog_and_overdue_equal_open_at(demo_engine):
    cases = _cases_frame(demo_engine, "legacy")
    for col in ("received_date", "resolved_date", "deadline_date"):
        cases[col] = pd.to_datetime(cases[col])
    with demo_engine.connect() as conn:
        cube = pd.read_sql(text("SELECT commune_code, month, backlog, overdue FROM cube_month "
                                "WHERE scheme = 'legacy' AND month IN ('2023-02-01', '2025-06-01')"), conn)
    for month, snapshot in ((date(2023, 2, 1), date(2023, 2, 28)), (date(2025, 6, 1), AS_OF)):
        is_open = open_at(cases, snapshot)
        overdue = is_open & (cases["deadline_date"] < pd.Timestamp(snapshot))
        got = cube[cube.month == month].set_index("commune_code")
        want_open = cases[is_open].groupby("commune_code").size().reindex(got.index, fill_value=0)
        want_over = cases[overdue].groupby("commune_code").size().reindex(got.index, fill_value=0)
        assert got["backlog"].to_numpy() == pytest.approx(want_open.to_numpy())
        assert got["overdue"].to_numpy() == pytest.approx(want_over.to_numpy())


def test_runs_and_months(demo_engine):
    run = read.latest_run(demo_engine)
    assert run["as_of"] == AS_OF and run["data_version"].startswith("import:") and run["finished_at"]
    assert read.latest_run(demo_engine, "legacy")["scheme"] == "legacy"
    months = read.available_months(demo_engine, "legacy")
    assert months[0] == date(2020, 1, 1) and months[-1] == date(2025, 6, 1) and len(months) == 66
    with demo_engine.connect() as conn:  # the second run (2025) did not touch the legacy results
        runs = conn.execute(text("SELECT scheme, array_agg(DISTINCT run_id) FROM ehsa_result GROUP BY 1")).all()
    assert len({tuple(r[1]) for r in runs}) == 2


# --------------------------------------------------------------------------- scope
def _communes_of_district(engine, district):
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' "
                                     "AND parent_code = :d"), {"d": district}).scalars())


def test_read_functions_respect_a_legacy_district_scope(demo_engine, clusters):
    c = clusters["emerging"]
    district, province = c["district_code"], c["province_code"]
    mine = _communes_of_district(demo_engine, district)
    scope = Scope(legacy_districts=frozenset({district}))

    values = read.cube_values(demo_engine, scope, scheme="legacy", province_code=province)
    assert set(values["commune_code"]) == mine
    everything = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province)
    assert len(everything) > len(values)
    assert set(read.ehsa_categories(demo_engine, scope, "legacy", province)["commune_code"]) == mine
    top = read.top_hotspots(demo_engine, scope, "legacy", province, n=50)
    assert set(top["commune_code"]) <= mine and set(c["commune_codes"]) <= set(top["commune_code"])
    found = read.alerts(demo_engine, scope)
    assert len(found) and set(found["commune_code"]) <= mine  # no alert outside the district
    assert read.alerts(demo_engine, Scope(legacy_districts=frozenset({"000"}))).empty

    inside, outside = sorted(mine)[0], sorted(set(everything["commune_code"]) - mine)[0]
    assert not read.commune_series(demo_engine, scope, "legacy", inside).empty
    assert read.commune_series(demo_engine, scope, "legacy", outside).empty
    assert read.kpis(demo_engine, scope, "legacy", "district", district, "12m")["unit_code"] == district
    assert read.kpis(demo_engine, scope, "legacy", "province", province, "12m") is None
    assert read.kpis(demo_engine, ALL, "legacy", "province", province, "12m")["received"] > 0
    outside_case_commune = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province,
                                            indicator="n_new", months=(date(2020, 1, 1), AS_OF))
    busy_outside = outside_case_commune[~outside_case_commune.commune_code.isin(mine)
                                        & (outside_case_commune.value > 0)]
    code = busy_outside["commune_code"].iloc[0]
    assert read.kpis(demo_engine, ALL, "legacy", "commune", code, "12m") is not None
    assert read.kpis(demo_engine, scope, "legacy", "commune", code, "12m") is None


def test_scope_across_schemes_uses_crosswalk_containment(demo_engine, clusters):
    c = clusters["emerging"]
    district = c["district_code"]
    mine = _communes_of_district(demo_engine, district)
    with demo_engine.connect() as conn:
        xw = pd.read_sql(text("SELECT legacy_code, new_code FROM crosswalk WHERE weight > 0"), conn)
        province_2025 = conn.execute(text("SELECT province_code FROM admin_unit WHERE scheme = '2025' AND code = "
                                          "(SELECT new_code FROM crosswalk WHERE legacy_code = :c LIMIT 1)"),
                                     {"c": sorted(mine)[0]}).scalar()
    # 2025 communes whose every legacy source lies in the district
    sources = xw.groupby("new_code")["legacy_code"].apply(set)
    contained = {n for n, s in sources.items() if s <= mine}
    scope = Scope(legacy_districts=frozenset({district}))
    got = set(read.cube_values(demo_engine, scope, scheme="2025", province_code=province_2025)["commune_code"])
    assert got and got == contained & set(
        read.cube_values(demo_engine, ALL, scheme="2025", province_code=province_2025)["commune_code"])
    # and back: a 2025-commune scope sees the legacy communes all of whose targets it holds
    chosen = sorted(got)[:2]
    targets = xw.groupby("legacy_code")["new_code"].apply(set)
    want = {l for l, t in targets.items() if t <= set(chosen)}
    scope_2025 = Scope(communes_2025=frozenset(chosen))
    legacy_seen = set(read.cube_values(demo_engine, scope_2025, scheme="legacy", province_code=c["province_code"])
                      ["commune_code"])
    assert legacy_seen == want
    assert read.cube_values(demo_engine, Scope(), scheme="legacy", province_code=c["province_code"]).empty


def test_cube_values_ranges_and_filters(demo_engine, clusters):
    province, district = clusters["emerging"]["province_code"], clusters["emerging"]["district_code"]
    months = (date(2025, 1, 1), date(2025, 6, 1))
    total = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province, months=months,
                             indicator="n_new")
    monthly = [read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province, month=date(2025, m, 1),
                                indicator="n_new").set_index("commune_code")["value"] for m in range(1, 7)]
    assert total.set_index("commune_code")["value"].to_numpy() == pytest.approx(sum(monthly).to_numpy())
    stock = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province, months=months,
                             indicator="backlog")
    june = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province, indicator="backlog")
    assert stock["value"].tolist() == june["value"].tolist()  # stocks take the last month; default = latest
    filtered = read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province,
                                filters={"district_code": district})
    assert set(filtered["commune_code"]) == _communes_of_district(demo_engine, district)
    with pytest.raises(ValueError):
        read.cube_values(demo_engine, ALL, scheme="legacy", province_code=province, indicator="nope; DROP")


# --------------------------------------------------------------------------- small province fixtures
def _write(engine, cases: pd.DataFrame) -> None:
    with engine.begin() as conn:
        store.write_cases(conn, store.records_frame(cases.to_dict("records")), import_id=None, actor="test")


@pytest.fixture(scope="module")
def ninh_thuan_cases(units):
    """Synthetic cases of one small province (Ninh Thuận, 58) for 01/2023-06/2024."""
    return generate_cases(units, seed=7, start=date(2023, 1, 1), end=date(2024, 6, 30), provinces=("58",))


def _snapshot(engine) -> dict[str, pd.DataFrame]:
    tables = {"cube_month": "scheme, province_code, commune_code, month",
              "gi_star_result": "scheme, province_code, commune_code, month",
              "ehsa_result": "scheme, province_code, commune_code",
              "alert": "scheme, rule_id, commune_code, period",
              "kpi_result": "scheme, province_code, level, unit_code, period_kind"}
    out = {}
    with engine.connect() as conn:
        for table, order in tables.items():
            df = pd.read_sql(text(f"SELECT * FROM {table} ORDER BY {order}"), conn)
            out[table] = df.drop(columns=[c for c in ("run_id", "as_of", "id") if c in df.columns])
    return out


def test_incremental_refresh_equals_full_refresh(scratch_engine, ninh_thuan_cases):
    cases = ninh_thuan_cases
    early = cases[pd.to_datetime(cases["received_date"]) <= "2024-04-30"]
    _write(scratch_engine, early)
    first = refresh(scratch_engine, as_of=date(2024, 4, 30))
    assert first.modes == {"legacy": "full", "2025": "full"}
    _write(scratch_engine, cases.drop(early.index))  # May and June arrive
    inc = refresh(scratch_engine, from_month=date(2024, 5, 1), as_of=date(2024, 6, 30))
    # April (the previous run's last month) is recomputed too
    assert inc.modes == {"legacy": "from 2024-04", "2025": "from 2024-04"}, inc.notes
    assert inc.rows["legacy.cube"] < first.rows["legacy.cube"] / 3
    incremental = _snapshot(scratch_engine)
    full = refresh(scratch_engine, as_of=date(2024, 6, 30))
    assert full.modes == {"legacy": "full", "2025": "full"}
    for table, df in _snapshot(scratch_engine).items():
        pd.testing.assert_frame_equal(incremental[table], df, check_exact=False, rtol=1e-9, obj=table)
    # changed parameters: an incremental request falls back to a full refresh, and says why
    other = refresh(scratch_engine, scheme="legacy", from_month=date(2024, 6, 1), as_of=date(2024, 6, 30),
                    params=RefreshParams(value_column="n_new"))
    assert other.modes == {"legacy": "full"} and "changed" in other.notes[0]


def test_full_refresh_follows_the_data_range(scratch_engine, ninh_thuan_cases):
    _write(scratch_engine, ninh_thuan_cases)
    refresh(scratch_engine, scheme="legacy", as_of=date(2024, 6, 30))
    with scratch_engine.begin() as conn:  # the first quarter of 2023 is withdrawn from the data
        conn.execute(text("DELETE FROM grievance_case WHERE received_date < '2023-04-01'"))
    refresh(scratch_engine, scheme="legacy", as_of=date(2024, 6, 30))
    with scratch_engine.connect() as conn:
        for table in ("cube_month", "gi_star_result"):
            months = conn.execute(text(f"SELECT min(month), max(month) FROM {table}")).one()
            assert tuple(months) == (date(2023, 4, 1), date(2024, 6, 1)), table


def test_failed_refresh_leaves_previous_results(scratch_engine, ninh_thuan_cases):
    _write(scratch_engine, ninh_thuan_cases)
    good = refresh(scratch_engine, as_of=date(2024, 6, 30))
    before = _snapshot(scratch_engine)
    extra = ninh_thuan_cases.head(50).assign(external_ref=lambda d: d["external_ref"] + "-X")
    _write(scratch_engine, extra)

    def boom(step):
        if step == "legacy:cube":
            raise RuntimeError("injected failure after the cube step")

    with pytest.raises(RuntimeError, match="injected"):
        refresh(scratch_engine, as_of=date(2024, 6, 30), on_step=boom)
    after = _snapshot(scratch_engine)
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)
    assert read.latest_run(scratch_engine)["id"] == good.run_id
    with scratch_engine.connect() as conn:
        status, error = conn.execute(text("SELECT status, error FROM analytics_run ORDER BY id DESC LIMIT 1")).one()
    assert status == "failed" and "injected" in error


def test_priority_flag_marks_sensitive_hotspots_without_changing_statistics(scratch_engine, ninh_thuan_cases):
    cases = ninh_thuan_cases
    code = cases["commune_code"].value_counts().index[0]
    quiet = sorted(set(cases["commune_code"]) - {code})[0]
    mass = cases[cases["commune_code"] == code].head(2).assign(
        external_ref=lambda d: d["external_ref"] + "-M", received_date=[date(2024, 6, 10), date(2024, 6, 20)],
        is_mass=True, people_count=20, status="tiep_nhan", resolved_date=None,
        deadline_date=[date(2024, 7, 10), date(2024, 7, 20)])
    _write(scratch_engine, pd.concat([cases, mass]))
    refresh(scratch_engine, scheme="legacy", as_of=date(2024, 6, 30))
    before = _snapshot(scratch_engine)
    with scratch_engine.begin() as conn:
        conn.execute(text("""INSERT INTO sensitive_area (scheme, unit_code, province_code, em_region)
                             VALUES ('legacy', :a, '58', true), ('legacy', :b, '58', true)"""), {"a": code, "b": quiet})
    refresh(scratch_engine, scheme="legacy", as_of=date(2024, 6, 30))
    after = _snapshot(scratch_engine)
    ehsa, alerts = after["ehsa_result"].set_index("commune_code"), after["alert"]
    assert "mass_petitions_30d" in set(alerts.loc[alerts.commune_code == code, "rule_id"])
    assert alerts.loc[alerts.commune_code == code, "priority_dialogue"].all()
    assert not alerts.loc[~alerts.commune_code.isin([code, quiet]), "priority_dialogue"].any()
    assert ehsa.loc[code, "priority_dialogue"]  # an alerted commune in a sensitive area
    quiet_hot = ehsa.loc[quiet, "category"] in HOT_CATEGORIES or quiet in set(alerts.commune_code)
    assert ehsa.loc[quiet, "priority_dialogue"] == quiet_hot  # sensitive but no hotspot: no flag (unless hot)
    assert ehsa.drop(columns="priority_dialogue").equals(
        before["ehsa_result"].set_index("commune_code").drop(columns="priority_dialogue"))
    pd.testing.assert_frame_equal(after["gi_star_result"], before["gi_star_result"])
    assert (ehsa["priority_dialogue"].sum() >= 1) and not before["ehsa_result"]["priority_dialogue"].any()


def test_cli_refresh_and_status(scratch_engine, ninh_thuan_cases, monkeypatch):
    import json

    from click.testing import CliRunner

    from geo_dash.cli_analytics import analytics
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", scratch_engine.url.render_as_string(hide_password=False))
    engine_mod._engine.cache_clear()
    empty = CliRunner().invoke(analytics, ["status"])
    assert empty.exit_code == 0 and "no analytics run yet" in empty.output
    _write(scratch_engine, ninh_thuan_cases)
    out = CliRunner().invoke(analytics, ["refresh", "--scheme", "legacy", "--as-of", "2024-06-30"])
    assert out.exit_code == 0, out.output
    assert "30/06/2024" in out.output and "legacy: full" in out.output
    inc = CliRunner().invoke(analytics, ["refresh", "--scheme", "legacy", "--from", "2024-06", "--json"])
    assert inc.exit_code == 0, inc.output
    assert json.loads(inc.output)["modes"] == {"legacy": "from 2024-06"}  # as_of defaults to 2024-06-30
    status = CliRunner().invoke(analytics, ["status", "--json"])
    info = json.loads(status.output)
    assert info["run"]["as_of"] == "2024-06-30" and info["months"]["legacy"][2] == 18
    assert CliRunner().invoke(analytics, ["refresh", "--from", "2024-13"]).exit_code == 2
