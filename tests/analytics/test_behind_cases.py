"""Whether the analytics are behind the cases (migration 0011, ``read.cases_changed_since``): a run is
current until a case is imported, created, edited or removed, and current again after a refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from geo_dash.analytics import read
from geo_dash.analytics.refresh import refresh
from geo_dash.cases import store
from geo_dash.cases.importer import import_file
from geo_dash.demo.generator import generate_cases, load_bundled_units
from geo_dash.db.engine import get_app_engine
from geo_dash.security.context import User, current_user
from geo_dash.security.scope import Scope
from tests.conftest import case_edited_after_the_analysis

AS_OF = dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def cases():
    """Synthetic cases of Ninh Thuận (58), 01/2023-06/2024."""
    return generate_cases(load_bundled_units(), seed=11, start=dt.date(2023, 1, 1), end=AS_OF, provinces=("58",))


def _write(engine, frame) -> None:
    with engine.begin() as conn:
        store.write_cases(conn, store.records_frame(frame.to_dict("records")), import_id=None, actor="test")


def _fresh_run(engine) -> dict:
    refresh(engine, scheme="legacy", as_of=AS_OF)
    run = read.latest_run(engine, "legacy")
    assert read.cases_changed_since(engine, run) is False
    return run


def test_an_edit_a_removal_and_a_refresh(scratch_engine, cases):
    _write(scratch_engine, cases)
    run = _fresh_run(scratch_engine)
    with case_edited_after_the_analysis(scratch_engine) as finished:
        assert read.cases_changed_since(scratch_engine, run) is True
        assert read.behind_since(scratch_engine, run) == f"{finished:%H:%M %d/%m/%Y}"
    # the same cases as the run saw again
    assert read.cases_changed_since(scratch_engine, run) is False and read.behind_since(scratch_engine, run) is None
    with scratch_engine.begin() as conn:  # one case fewer, the latest change untouched
        conn.execute(text("""DELETE FROM grievance_case WHERE id = (
            SELECT id FROM grievance_case ORDER BY updated_at, id LIMIT 1)"""))
    assert read.cases_changed_since(scratch_engine, run) is True
    assert read.cases_changed_since(scratch_engine, _fresh_run(scratch_engine)) is False


def test_imports_that_change_cases_and_those_that_do_not(scratch_engine, cases, tmp_path):
    _write(scratch_engine, cases.head(2000))
    run = _fresh_run(scratch_engine)
    refused = tmp_path / "khong_dung.csv"
    refused.write_text("not,a,case,file\n1,2,3,4\n", encoding="utf-8")
    assert import_file(scratch_engine, refused, source="t").status == "refused"
    assert read.cases_changed_since(scratch_engine, run) is False  # a refused file changed nothing

    with scratch_engine.connect() as conn:
        code = conn.execute(text("SELECT commune_legacy FROM grievance_case LIMIT 1")).scalar_one()
    good = tmp_path / "so_tiep_dan.csv"
    good.write_text("Mã hồ sơ,Ngày tiếp nhận,Loại đơn,Lĩnh vực,Mã xã\n"
                    f"MOI-1,03/06/2024,Khiếu nại,Đất đai - thu hồi,{code}\n", encoding="utf-8")
    report = import_file(scratch_engine, good, source="so_tiep_dan", as_of=AS_OF)
    assert report.status == "committed" and report.created == 1, report
    assert read.cases_changed_since(scratch_engine, run) is True
    run = _fresh_run(scratch_engine)
    again = import_file(scratch_engine, good, source="so_tiep_dan", as_of=AS_OF)
    assert again.unchanged == 1
    assert read.cases_changed_since(scratch_engine, run) is False  # nothing new in it


def test_the_apps_role_learns_of_changes_outside_its_area(scratch_engine, cases):
    """The run covers every case: an officer's map is behind when a case elsewhere changed too, and
    the officer learns only that (one boolean), nothing of the case."""
    _write(scratch_engine, cases)
    run = _fresh_run(scratch_engine)
    with scratch_engine.connect() as conn:
        district = conn.execute(text("SELECT min(district_legacy) FROM grievance_case")).scalar_one()
    app = get_app_engine(scratch_engine.url.render_as_string(hide_password=False))
    token = current_user.set(User(id=0, username="probe", role="officer",
                                  scope=Scope(legacy_districts=frozenset({district}))))
    try:
        assert read.cases_changed_since(app, run) is False
        with case_edited_after_the_analysis(scratch_engine, f"district_legacy <> '{district}'"):
            assert read.cases_changed_since(app, run) is True
            with app.connect() as conn:  # the officer still reads only the district's cases
                role, seen = conn.execute(text(
                    "SELECT current_user, array_agg(DISTINCT district_legacy) FROM grievance_case")).one()
            assert role == "geo_dash_app" and seen == [district]
    finally:
        current_user.reset(token)
        app.dispose()


def test_no_run_no_answer(scratch_engine):
    assert read.cases_changed_since(scratch_engine, None) is None
    assert read.cases_changed_since(scratch_engine, {"id": 987654}) is None


def test_cli_status_says_when_cases_changed_since_the_run(scratch_engine, cases, monkeypatch):
    import json

    from click.testing import CliRunner

    from geo_dash.cli_analytics import analytics
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", scratch_engine.url.render_as_string(hide_password=False))
    engine_mod._engine.cache_clear()
    _write(scratch_engine, cases.head(500))
    _fresh_run(scratch_engine)
    current = CliRunner().invoke(analytics, ["status"])
    assert current.exit_code == 0 and "run refresh again" not in current.output
    assert json.loads(CliRunner().invoke(analytics, ["status", "--json"]).output)["cases_changed_since_run"] is False
    _write(scratch_engine, cases.iloc[500:510])  # ten more cases
    stale = CliRunner().invoke(analytics, ["status"])
    assert stale.exit_code == 0 and "cases were imported or edited since this run: run refresh again" in stale.output
    assert json.loads(CliRunner().invoke(analytics, ["status", "--json"]).output)["cases_changed_since_run"] is True
    engine_mod._engine.cache_clear()
