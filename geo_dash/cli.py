"""The ``geo-dash`` command.  Thin: parses arguments and calls the packages."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from geo_dash.config import Settings


def _engine():
    from geo_dash.db import get_engine

    return get_engine()


def _cluster():
    from geo_dash.db.cluster import ManagedCluster

    settings = Settings.from_env()
    if settings.database_url:
        raise click.ClickException("GEO_DASH_DATABASE_URL is set: geo_dash is not managing a cluster here.")
    return ManagedCluster.from_settings(settings)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="More log output.")
def main(verbose: bool) -> None:
    """geo_dash — bản đồ điểm nóng khiếu nại, tố cáo (grievance hotspot dashboard)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- db --------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Cơ sở dữ liệu (the database and the managed PostGIS cluster)."""


@db.command("start")
def db_start() -> None:
    """Start the managed PostGIS cluster (creating it if needed). Idempotent."""
    from geo_dash.db.cluster import ClusterError

    try:
        started = _cluster().start()
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("PostGIS đã chạy (started)" if started else "PostGIS đang chạy (already running)")


@db.command("stop")
def db_stop() -> None:
    """Stop the managed cluster. Idempotent."""
    stopped = _cluster().stop()
    click.echo("PostGIS đã dừng (stopped)" if stopped else "PostGIS không chạy (not running)")


@db.command("status")
def db_status() -> None:
    """Show whether the managed cluster runs, where, and its URL."""
    st = _cluster().status()
    click.echo(json.dumps(st, indent=2, ensure_ascii=False))
    sys.exit(0 if st["running"] else 3)


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision (Alembic). Harmless when current."""
    from geo_dash.db.migrate import upgrade

    rev = upgrade(_engine())
    click.echo(f"schema at revision {rev}")


@db.command("url")
def db_url() -> None:
    """Print the database URL geo_dash uses."""
    from geo_dash.db import database_url

    click.echo(database_url())


@main.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_cmd(target: Path) -> None:
    """Dump the whole database to TARGET (pg_dump custom format)."""
    from geo_dash.db import database_url
    from geo_dash.db.backup import BackupError, backup

    try:
        click.echo(str(backup(database_url(), target)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore_cmd(source: Path, yes: bool) -> None:
    """Replace the database's contents with a dump made by `geo-dash backup`."""
    from geo_dash.db import database_url
    from geo_dash.db.backup import BackupError, restore

    if not yes and not click.confirm("Thay toàn bộ dữ liệu bằng bản sao lưu? (replace all data with the backup?)"):
        raise click.Abort()
    try:
        restore(database_url(), source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("đã khôi phục (restored)")


# --- boundaries ----------------------------------------------------------------------------------
@main.group()
def boundaries() -> None:
    """Ranh giới hành chính (admin boundaries)."""


@boundaries.command("load")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), default="legacy", show_default=True,
              help="Scheme of the units in FILE.")
@click.option("--level", type=click.Choice(["commune", "district", "province"]), default="commune", show_default=True)
@click.option("--crs", help="CRS of FILE when it has none or a wrong one: EPSG:3405, vn2000:45, vn2000-tm3:106.25, WKT…")
@click.option("--code-field", help="Column with the GSO code.")
@click.option("--name-field", help="Column with the unit name (matched within its parent).")
@click.option("--parent-field", help="Column with the parent's name (district for legacy communes).")
@click.option("--province", help="Restrict matching to this province code.")
@click.option("--layer", help="Layer of a multi-layer file (GeoPackage).")
def boundaries_load(file, scheme, level, crs, code_field, name_field, parent_field, province, layer) -> None:
    """Load the bundled boundaries (no FILE), or replace units' geometry from FILE (any CRS)."""
    from geo_dash.boundaries.io import BoundaryFileError
    from geo_dash.boundaries.load import load_bundle, load_file

    try:
        if file is None or file.is_dir():
            summary = load_bundle(_engine(), file)
        else:
            summary = load_file(_engine(), file, scheme=scheme, level=level, crs=crs, code_field=code_field,
                                name_field=name_field, parent_field=parent_field, province=province, layer=layer)
    except BoundaryFileError as exc:
        raise click.ClickException(f"Không nạp được (not loaded; nothing changed): {exc}") from exc
    for key, n in summary.units.items():
        click.echo(f"{key}: {n} đơn vị (units), {summary.with_geometry.get(key, 0)} có hình học (with geometry)")
    if summary.crosswalk_rows:
        click.echo(f"crosswalk: {summary.crosswalk_rows} dòng (rows)")
    if summary.source_crs:
        click.echo(f"hệ tọa độ nguồn (source CRS): {summary.source_crs}")
    if summary.repaired:
        click.echo(f"đã sửa {len(summary.repaired)} hình học không hợp lệ (repaired invalid geometries):")
        for line in summary.repaired[:20]:
            click.echo(f"  - {line}")
    click.echo(f"load #{summary.load_id}")


@boundaries.command("bundle")
@click.option("--from", "source", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The reference data folder (shared/data).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def boundaries_bundle(source: Path, out: Path | None) -> None:
    """Rebuild data/boundaries from the reference data (maintainers only)."""
    from geo_dash.boundaries.bundle import build_bundle
    from geo_dash.config import BOUNDARIES_DIR

    counts = build_bundle(source, out or BOUNDARIES_DIR)
    click.echo(json.dumps(counts))


# --- cases ---------------------------------------------------------------------------------------------
@main.group()
def cases() -> None:
    """Vụ việc khiếu nại, tố cáo (grievance cases)."""


@cases.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="Dataset name (default: the file name). Re-imports upsert by source + reference.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write rejected rows (default: FILE.rejects.csv next to FILE).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), help="Import date (default today).")
@click.option("--bulk/--no-bulk", default=None,
              help="Build the case indexes once after the insert (default: when the file at least doubles the "
                   "case table, from 50,000 new cases). Faster for large loads; readers of cases wait until it commits.")
def cases_import(file: Path, source: str | None, rejects_path: Path | None, as_of, bulk: bool | None) -> None:
    """Import a CSV/XLSX file of cases (one transaction; rejected rows go to a rejects file)."""
    from tqdm import tqdm

    from geo_dash.cases.importer import import_file

    steps = ["parsed", "staged", "placed", "history", "inserted", "written", "indexed"]  # import_file's on_step names
    with tqdm(total=len(steps), desc=f"Nhập {file.name}", unit="bước", disable=None) as bar:
        def on_step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        report = import_file(_engine(), file, source=source, rejects_path=rejects_path,
                             as_of=as_of.date() if as_of else None, on_step=on_step, bulk=bulk)
    if report.status == "refused":
        raise click.ClickException(f"Tệp bị từ chối, không nhập gì (file refused, nothing imported): {report.reason}")
    click.echo(f"Dòng (rows): {report.rows_in} = {report.accepted} nhận (accepted) + {report.rejected} từ chối (rejected)"
               + (f"; {report.blank_rows} dòng trống bỏ qua (blank rows skipped)" if report.blank_rows else ""))
    click.echo(f"Mới (created) {report.created}, cập nhật (updated) {report.updated}, "
               f"không đổi (unchanged) {report.unchanged}; lần nhập (import) #{report.import_id}")
    if report.ignored_columns:
        click.echo("Bỏ qua cột dữ liệu cá nhân (ignored personal-data columns): " + ", ".join(report.ignored_columns))
    for r in report.rejects[:20]:
        click.echo(f"  dòng {r['row']}: " + " | ".join(r["reasons"]))
    if len(report.rejects) > 20:
        click.echo(f"  … +{len(report.rejects) - 20}")
    if report.rejects_file:
        click.echo(f"Các dòng bị từ chối đã ghi vào (rejected rows written to): {report.rejects_file}")


@cases.command("template")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=Path("mau_nhap_vu_viec.xlsx"))
def cases_template(path: Path) -> None:
    """Write the XLSX import template (columns, accepted values, examples)."""
    from geo_dash.cases.template import write_template

    write_template(path)
    click.echo(str(path))


# --- users ---------------------------------------------------------------------------------------------
def _read_password(confirm: bool = True) -> str:
    """From the terminal (hidden, asked twice) or one line of standard input — never from argv."""
    import getpass

    if sys.stdin.isatty():
        pw = getpass.getpass("Mật khẩu (password): ")
        if confirm and getpass.getpass("Nhập lại (again): ") != pw:
            raise click.ClickException("hai lần nhập không khớp (the two entries differ)")
        return pw
    return sys.stdin.readline().rstrip("\n")


@main.group()
def users() -> None:
    """Người dùng, vai trò và địa bàn (users, roles and their area)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "leader", "officer", "wall"]), required=True)
@click.option("--scope", "scope_spec", required=True,
              help="all | legacy:<province or district codes> | 2025:<province or commune codes>; parts joined by ';'"
                   " e.g. 'legacy:464' (huyện Vĩnh Linh) or '2025:19363,19366'.")
@click.option("--name", "display_name", help="Display name (an office, not a person, is fine).")
@click.option("--no-password", is_flag=True, help="For wall users, who log in with a token only.")
def users_add(username: str, role: str, scope_spec: str, display_name: str | None, no_password: bool) -> None:
    """Add a user; the password is read from the terminal or standard input."""
    from geo_dash.security.audit import audit
    from geo_dash.security.passwords import WeakPassword
    from geo_dash.security.users import UserError, add_user

    password = None if no_password else _read_password()
    try:
        uid = add_user(_engine(), username, role, scope_spec, password=password, display_name=display_name)
    except (UserError, WeakPassword, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    audit(_engine(), "user.add", actor="cli", target=username, details={"role": role, "scope": scope_spec})
    click.echo(f"đã tạo (created) {username} #{uid}")


@users.command("bootstrap")
def users_bootstrap() -> None:
    """First run: when there is no user at all, create 'admin' with a random password and print it once."""
    import secrets

    from sqlalchemy import text as sql_text

    from geo_dash.security.audit import audit
    from geo_dash.security.users import add_user

    with _engine().connect() as conn:
        if conn.execute(sql_text("SELECT count(*) FROM app_user")).scalar_one():
            click.echo("đã có người dùng (users exist): nothing to do")
            return
    password = secrets.token_urlsafe(12)
    add_user(_engine(), "admin", "admin", "all", password=password, display_name="Quản trị")
    audit(_engine(), "user.bootstrap", actor="cli", target="admin")
    click.echo("Tài khoản quản trị đầu tiên (first admin account) — hãy đổi mật khẩu (change it):")
    click.echo(f"  tên đăng nhập (username): admin\n  mật khẩu (password):      {password}")


@users.command("list")
def users_list() -> None:
    """List users with role, area and state."""
    from geo_dash.security.users import list_users

    for u in list_users(_engine()):
        state = "vô hiệu (disabled)" if u["disabled"] else "hoạt động (active)"
        click.echo(f"{u['username']:<20} {u['role']:<8} {u['scope']:<30} {state}")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable a user (ends their sessions and revokes their wall tokens)."""
    from geo_dash.security.audit import audit
    from geo_dash.security.users import UserError, set_disabled

    try:
        set_disabled(_engine(), username, not enable)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    audit(_engine(), "user.enable" if enable else "user.disable", actor="cli", target=username)
    click.echo("ok")


@users.command("set-password")
@click.argument("username")
def users_set_password(username: str) -> None:
    """Set a password (read from the terminal or standard input); ends the user's sessions."""
    from geo_dash.security.audit import audit
    from geo_dash.security.passwords import WeakPassword
    from geo_dash.security.users import UserError, set_password

    try:
        set_password(_engine(), username, _read_password())
    except (UserError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from exc
    audit(_engine(), "user.set_password", actor="cli", target=username)
    click.echo("ok")


@users.command("token")
@click.argument("username")
@click.option("--label", help="Where the wall is, e.g. 'phòng họp tầng 3'.")
@click.option("--revoke", is_flag=True, help="Revoke all of this wall user's tokens instead.")
def users_token(username: str, label: str | None, revoke: bool) -> None:
    """Make a wall link for a wall user (shown once), or revoke its links."""
    from geo_dash.security.audit import audit
    from geo_dash.security.users import UserError, create_wall_token, revoke_wall_tokens

    if revoke:
        n = revoke_wall_tokens(_engine(), username)
        audit(_engine(), "wall_token.revoke", actor="cli", target=username, details={"revoked": n})
        click.echo(f"đã thu hồi (revoked) {n}")
        return
    try:
        token = create_wall_token(_engine(), username, label)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    audit(_engine(), "wall_token.create", actor="cli", target=username, details={"label": label})
    click.echo(f"/wall?token={token}")


# --- demo data -------------------------------------------------------------------------------------------
@main.group()
def demo() -> None:
    """Dữ liệu minh họa (synthetic demo data, clearly marked as such)."""


@demo.command("load")
@click.option("--seed", default=2025, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when demo cases are already loaded.")
def demo_load(seed: int, if_empty: bool) -> None:
    """Load seeded synthetic cases for the five provinces (2020-01 .. 2025-06)."""
    from geo_dash.demo.load import demo_present, load_demo

    engine = _engine()
    if if_empty and demo_present(engine):
        click.echo("Dữ liệu minh họa đã có (demo data already loaded)")
        return
    summary = load_demo(engine, seed=seed)
    click.echo(f"Dữ liệu minh họa (demo): {summary['rows']} vụ việc tổng hợp; mới {summary['created']}, "
               f"cập nhật {summary['updated']}, không đổi {summary['unchanged']} (import #{summary['import_id']})")


@demo.command("remove")
def demo_remove() -> None:
    """Delete all synthetic cases."""
    from geo_dash.demo.load import remove_demo

    click.echo(f"Đã xoá {remove_demo(_engine())} vụ việc tổng hợp (synthetic cases deleted)")


# --- set-up and serving ----------------------------------------------------------------------------
@main.command("setup")
def setup_cmd() -> None:
    """Start the managed PostGIS (unless GEO_DASH_DATABASE_URL is set), migrate, load boundaries if empty."""
    from geo_dash.setup import ensure_ready

    for line in ensure_ready(Settings.from_env()):
        click.echo(line)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Dash debug mode (never in production).")
@click.option("--no-setup", is_flag=True, help="Do not start/migrate/load first.")
def serve(host: str, port: int, debug: bool, no_setup: bool) -> None:
    """Serve the dashboard (development server; use gunicorn 'geo_dash.web.wsgi:server' in production)."""
    from geo_dash.setup import ensure_ready
    from geo_dash.web.app import create_app

    if not no_setup:
        for line in ensure_ready(Settings.from_env()):
            click.echo(line)
    app = create_app()
    click.echo(f"geo_dash: http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug, dev_tools_disable_version_check=True)


def _attach_optional_groups() -> None:
    from geo_dash.cli_analytics import analytics
    from geo_dash.cli_bench import bench
    from geo_dash.cli_layers import layers
    from geo_dash.cli_snapshot import snapshot

    main.add_command(snapshot)
    main.add_command(analytics)
    main.add_command(bench)
    main.add_command(layers)


_attach_optional_groups()

if __name__ == "__main__":
    main()
