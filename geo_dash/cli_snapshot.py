"""``geo-dash snapshot …``: freeze a month's hotspot briefing, list the snapshots.

Attached to the main command with ``main.add_command(snapshot)``.  Thin: parses arguments and
calls :mod:`geo_dash.exports.snapshot`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click


def _engine():
    from geo_dash.db import get_engine

    return get_engine()


def _month(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from exc


def _default_out() -> Path:
    from geo_dash.config import Settings

    return Path(Settings.from_env().home) / "snapshots"


def _provinces(engine, scheme: str, scope) -> list[str]:
    """Provinces the scope reaches that have analytics on the scheme."""
    from geo_dash.analytics.read import available_months
    from geo_dash.boundaries.read import list_provinces

    return [p["code"] for p in list_provinces(engine, scheme, scope) if available_months(engine, scheme, p["code"])]


@click.group("snapshot")
def snapshot() -> None:
    """Bản chụp số liệu hằng tháng (monthly hotspot snapshots): PDF, HTML map, GeoPackage, XLSX."""


@snapshot.command("create")
@click.option("--month", required=True, callback=_month, metavar="YYYY-MM", help="The month to freeze.")
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), default="legacy", show_default=True)
@click.option("--scope", "scope_spec", default="all", show_default=True,
              help="all | legacy:45 (province) | legacy:464 (district) | 2025:44 | 2025:19363,19366 (communes).")
@click.option("--per-district", is_flag=True,
              help="Also one snapshot per district (legacy) or per group of 2025 communes users serve.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the files (default: $GEO_DASH_HOME/snapshots).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def snapshot_create(month, scheme, scope_spec, per_district, out_dir, as_json) -> None:
    """Freeze the month's analytics for a scope (every province with data for 'all') and write the files."""
    from geo_dash.exports.snapshot import (SnapshotError, create_for_province_and_districts, create_snapshot,
                                           scope_from_key)

    try:
        scope = scope_from_key(scope_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from exc
    engine = _engine()
    out_dir = out_dir or _default_out()
    _warn_if_behind(engine, scheme)
    results = []
    try:
        for province in _provinces(engine, scheme, scope):
            if per_district:
                results += create_for_province_and_districts(engine, month=month, scheme=scheme, province_code=province,
                                                             out_dir=out_dir, scope=scope)
            else:
                results.append(create_snapshot(engine, month=month, scheme=scheme, scope=scope, out_dir=out_dir,
                                               province_code=province))
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    if not results:
        raise click.ClickException("không có tỉnh nào có số liệu phân tích trong phạm vi này "
                                   "(no province with analytics in this scope)")
    _report(results, as_json)


def _warn_if_behind(engine, scheme: str) -> None:
    """A snapshot freezes the analytics, not the cases: say so (on stderr) when cases changed after them."""
    from geo_dash.analytics.read import behind_since, latest_run

    if when := behind_since(engine, latest_run(engine, scheme)):
        click.echo(f"Cảnh báo: có vụ việc nhập hoặc sửa sau lần phân tích lúc {when}; "
                   "bản chụp sẽ không gồm chúng — chạy “geo-dash analytics refresh” trước "
                   "(warning: cases changed after the analytics; the snapshot will not include them)", err=True)


def _report(results, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([{"id": r.id, "version": r.version, "month": r.month.isoformat(), "scheme": r.scheme,
                                "scope": r.scope_key, "label": r.scope_label, "directory": str(r.directory),
                                "content_hash": r.content_hash, "pdf_pages": r.pdf_pages, "seconds": r.seconds,
                                "same_as_previous": bool(r.diff and r.diff["same_content"])} for r in results],
                              ensure_ascii=False, indent=2))
        return
    from geo_dash.exports.manifest import diff_summary_vi

    for r in results:
        click.echo(f"#{r.id} {r.month:%m/%Y} {r.scope_label} ({r.scope_key}) phiên bản {r.version}: "
                   f"{r.directory}  [{r.seconds.get('total', 0):.1f} s]")
        click.echo(f"    {diff_summary_vi(r.diff)}")


@snapshot.command("list")
@click.option("--month", callback=_month, metavar="YYYY-MM", help="Only this month.")
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def snapshot_list(month, scheme, as_json) -> None:
    """The snapshots, newest month first."""
    from geo_dash.exports.snapshot import list_snapshots

    rows = list_snapshots(_engine(), month=month, scheme=scheme)
    if as_json:
        click.echo(json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()
                                if k != "diff"} for r in rows], ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo("Chưa có bản chụp nào (no snapshots).")
    for r in rows:
        click.echo(f"#{r['id']:<5} {r['month']:%m/%Y}  {r['scheme']:<6} v{r['version']:<3} {r['scope_label']} "
                   f"({r['scope_key']})  {r['created_at']:%d/%m/%Y %H:%M}  {r['directory']}"
                   + ("  [minh họa]" if r["is_demo"] else ""))


@snapshot.command("verify")
@click.argument("snapshot_id", type=int)
def snapshot_verify(snapshot_id: int) -> None:
    """Re-check a snapshot: its frozen rows against its content hash, its files against their SHA-256."""
    from geo_dash.exports.snapshot import verify_snapshot

    problems = verify_snapshot(_engine(), snapshot_id)
    for p in problems:
        click.echo(f"  ✗ {p}")
    if problems:
        raise SystemExit(1)
    click.echo(f"Bản chụp #{snapshot_id} nguyên vẹn (intact).")
