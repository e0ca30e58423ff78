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


def test_a_district_snapshot_and_the_warning_when_cases_changed_after_the_analytics(
        monkeypatch, snap_url, engine, tmp_path):
    fresh = _create(monkeypatch, snap_url, tmp_path / "a")
    assert fresh.exit_code == 0, fresh.output
    made = json.loads(fresh.stdout)
    assert [m["scope"] for m in made] == [f"legacy:{DISTRICT}"] and fresh.stderr == ""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT scope_key FROM snapshot WHERE id = :i"),
                            {"i": made[0]["id"]}).scalar_one() == f"legacy:{DISTRICT}"
    with case_edited_after_the_analysis(engine) as finished:
        behind = _create(monkeypatch, snap_url, tmp_path / "b")
    assert behind.exit_code == 0, behind.output
    assert json.loads(behind.stdout)[0]["scope"] == f"legacy:{DISTRICT}"  # still made, and JSON on stdout
    assert f"sau lần phân tích lúc {finished:%H:%M %d/%m/%Y}" in behind.stderr
    assert "the snapshot will not include them" in behind.stderr
