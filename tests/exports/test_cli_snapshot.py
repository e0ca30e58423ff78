"""``geo-dash snapshot create`` from the command line: the snapshot of a district, and the warning (on
stderr, so that ``--json`` stays parseable) when cases changed after the analytics it freezes."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from geo_dash.cli_snapshot import snapshot
from tests.conftest import case_edited_after_the_analysis
from tests.exports import DISTRICT, MONTH


def _create(monkeypatch, url, out) -> object:
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", url)
    engine_mod._engine.cache_clear()
    try:
        return CliRunner().invoke(snapshot, ["create", "--month", f"{MONTH:%Y-%m}", "--scope", f"legacy:{DISTRICT}",
                                             "--out", str(out), "--json"])
    finally:
        engine_mod._engine.cache_clear()


def test_no_warning_while_the_analytics_are_current(engine, capsys):
    from geo_dash.cli_snapshot import _warn_if_behind

    _warn_if_behind(engine, "legacy")
    assert capsys.readouterr().err == ""


def test_a_district_snapshot_made_with_a_warning_when_cases_changed_after_the_analytics(
        monkeypatch, snap_url, engine, tmp_path):
    with case_edited_after_the_analysis(engine) as finished:
        behind = _create(monkeypatch, snap_url, tmp_path)
    assert behind.exit_code == 0, behind.output
    made = json.loads(behind.stdout)  # still made, and the JSON alone on stdout
    assert [m["scope"] for m in made] == [f"legacy:{DISTRICT}"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT scope_key FROM snapshot WHERE id = :i"),
                            {"i": made[0]["id"]}).scalar_one() == f"legacy:{DISTRICT}"
    assert f"sau lần phân tích lúc {finished:%H:%M %d/%m/%Y}" in behind.stderr
    assert "the snapshot will not include them" in behind.stderr
