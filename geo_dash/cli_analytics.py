"""``geo-dash analytics …``: recompute the cube and the hotspot analytics, show the last run.

Attached to the main command with ``main.add_command(analytics)``.  Thin: parses arguments and
calls :mod:`geo_dash.analytics.refresh` / :mod:`geo_dash.analytics.read`.
"""

from __future__ import annotations

import json
from datetime import date, datetime

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


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


@click.group("analytics")
def analytics() -> None:
    """Phân tích điểm nóng (hotspot analytics): space-time cube, Gi*, EHSA, alerts, KPIs."""


@analytics.command("refresh")
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), help="Only this scheme (default: both).")
@click.option("--from", "from_month", callback=_month, metavar="YYYY-MM",
              help="Rebuild the cube and Gi* only from this month on (falls back to a full refresh when needed).")
@click.option("--as-of", "as_of", callback=_day, metavar="YYYY-MM-DD",
              help="Date the results describe (default: end of the last complete month of data).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
def analytics_refresh(scheme, from_month, as_of, as_json) -> None:
    """Recompute the cube and every analytics result, in one transaction."""
    from geo_dash.analytics.refresh import refresh

    try:
        report = refresh(_engine(), scheme=scheme, from_month=from_month, as_of=as_of,
                         on_step=None if as_json else (lambda name: click.echo(f"  ✓ {name}", err=True)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"Lần chạy (run) #{report.run_id}: số liệu đến ngày (as of) {report.as_of:%d/%m/%Y}; "
               f"{report.data_version}")
    for s, mode in report.modes.items():
        rows = {k.split(".", 1)[1]: v for k, v in report.rows.items() if k.startswith(f"{s}.")}
        click.echo(f"  {s}: {mode}; " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    for note in report.notes:
        click.echo(f"  ! {note}")
    click.echo(f"  {report.seconds.get('total', 0):.1f} s")


@analytics.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def analytics_status(as_json) -> None:
    """The last successful run (as of, finished, data version) and the cube's months."""
    from geo_dash.analytics.read import available_months, cases_changed_since, latest_run

    engine = _engine()
    run = latest_run(engine)
    months = {s: available_months(engine, s) for s in ("legacy", "2025")}
    changed = cases_changed_since(engine, run)
    info = {
        "run": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items()} if run else None,
        "cases_changed_since_run": changed,
        "months": {s: ([m[0].isoformat(), m[-1].isoformat(), len(m)] if m else None) for s, m in months.items()},
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    if run is None:
        click.echo("Chưa có lần chạy phân tích nào (no analytics run yet): geo-dash analytics refresh")
        return
    click.echo(f"Lần chạy (run) #{run['id']} — số liệu đến (as of) {run['as_of']:%d/%m/%Y}, "
               f"xong lúc (finished) {run['finished_at']:%Y-%m-%d %H:%M}; {run['data_version']}")
    if changed:
        click.echo("  Có vụ việc nhập hoặc sửa sau lần chạy này: bản đồ chưa gồm chúng — chạy lại refresh "
                   "(cases were imported or edited since this run: run refresh again)")
    for s, m in months.items():
        click.echo(f"  {s}: " + (f"{m[0]:%m/%Y} – {m[-1]:%m/%Y} ({len(m)} tháng)" if m else "—"))
