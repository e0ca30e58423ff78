"""``geo-dash layers …``: the layer registry, context-data import, demo values, sensitive areas, NTM.

Attached to the main command with ``main.add_command(layers)``.  Thin: parses
arguments and calls :mod:`geo_dash.layers`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _engine():
    from geo_dash.db import get_engine

    return get_engine()


@click.group("layers")
def layers() -> None:
    """Lớp bản đồ (map layers): registry, import of context data, demo values."""


@layers.command("list")
@click.option("--role", help="Only the layers this role may see.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Another layers/ directory.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def layers_list(role, lang, directory, as_json) -> None:
    """List the layers of the registry."""
    from geo_dash.layers.registry import LayerConfigError, list_layers

    try:
        items = list_layers(role, directory)
    except LayerConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([l.summary(lang) for l in items], ensure_ascii=False, indent=2))
        return
    for l in items:
        demo = " [demo]" if l.provenance.demo else ""
        click.echo(f"{l.id:28} {l.group:9} {l.geometry:9} {l.time.mode:8} {l.title.get(lang)}{demo}")


@layers.command("validate")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Another layers/ directory.")
@click.option("--db", "check_db", is_flag=True, help="Also check that every source table/column exists in the database.")
def layers_validate(directory, check_db) -> None:
    """Validate every layers/*.yaml (exit 1 naming the file and field of each problem)."""
    from geo_dash.layers.registry import LayerConfigError, check_against_database, list_layers

    try:
        items = list_layers(directory=directory)
    except LayerConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if check_db:
        problems = check_against_database(_engine(), items)
        if problems:
            raise click.ClickException("\n".join(problems))
    click.echo(f"{len(items)} lớp hợp lệ (layers valid): {', '.join(l.id for l in items)}")


@layers.command("import")
@click.argument("layer")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), default="legacy", show_default=True,
              help="Scheme of the units in FILE.")
@click.option("--crs", help="CRS of a GIS file (or of Kinh độ/Vĩ độ columns): EPSG:3405, vn2000:45, …")
@click.option("--province", help="Province code: match names within it (when FILE has no province column).")
@click.option("--code-field", help="Column with the commune GSO code.")
@click.option("--name-field", help="Column with the commune name.")
@click.option("--parent-field", help="Column with the district name (legacy) for name matching.")
@click.option("--province-field", help="Column with the province name or code.")
@click.option("--period", help="Date the values hold from (YYYY, YYYY-MM or YYYY-MM-DD); default static.")
@click.option("--sheet", help="Sheet of an XLSX file (default: the first).")
@click.option("--gis-layer", help="Layer of a GeoPackage.")
@click.option("--source", help="Who published the data (shown in the legend).")
@click.option("--source-date", help="The data's date as published (e.g. 2024-06).")
@click.option("--licence", help="Licence or terms of use of the data.")
@click.option("--strict", is_flag=True, help="Refuse the whole file if any row is rejected.")
@click.option("--replace", is_flag=True, help="First remove every existing value of the layer (in that scheme).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rejected rows here (default: FILE.rejects.csv next to FILE when there are any).")
def layers_import(layer, file, scheme, crs, province, code_field, name_field, parent_field, province_field, period,
                  sheet, gis_layer, source, source_date, licence, strict, replace, rejects) -> None:
    """Import context data FILE into LAYER (CSV/XLSX by commune code or name, or GIS points/polygons)."""
    from geo_dash.layers.imports import LayerImportError, import_layer, write_rejects

    try:
        res = import_layer(_engine(), layer, file, scheme=scheme, crs=crs, province=province, code_field=code_field,
                           name_field=name_field, parent_field=parent_field, province_field=province_field,
                           period=period, sheet=sheet, gis_layer=gis_layer, source=source, source_date=source_date,
                           licence=licence, strict=strict, replace=replace)
    except (LayerImportError, KeyError) as exc:
        raise click.ClickException(f"Không nạp được (not imported; nothing changed): {exc}") from exc
    click.echo(f"import #{res.import_id} {res.layer_id}: {res.rows_in} dòng (rows) = {res.accepted} nhận (accepted) "
               f"+ {res.rejected} từ chối (rejected); {res.blank_rows} dòng trống (blank)")
    if res.source_crs:
        click.echo(f"hệ tọa độ nguồn (source CRS): {res.source_crs}")
    if res.removed_demo:
        click.echo(f"đã xóa {res.removed_demo} giá trị minh họa/cũ (demo or previous values removed)")
    if res.derived_2025:
        click.echo(f"{res.derived_2025} giá trị chuyển sang xã 2025 (values carried to 2025 communes)")
    for line in res.repaired[:20]:
        click.echo(f"  đã sửa (repaired): {line}")
    for r in res.rejects[:30]:
        click.echo(f"  - {r.label}: {'; '.join(r.reasons)}")
    if len(res.rejects) > 30:
        click.echo(f"  … (+{len(res.rejects) - 30})")
    if res.rejects:
        out = write_rejects(res, rejects or file.with_suffix(".rejects.csv"))
        click.echo(f"các dòng bị từ chối (rejected rows): {out}")


@layers.command("demo")
@click.option("--seed", type=int, default=None, help="Seed (default: the shipped one; same seed = same values).")
@click.option("--no-sensitivity", is_flag=True, help="Do not recompute the sensitive-area flags.")
def layers_demo(seed, no_sensitivity) -> None:
    """Load demo values (clearly flagged demo) for the context layers of the five provinces."""
    from geo_dash.layers.demo import DEFAULT_SEED, DemoError, load_demo

    try:
        summary = load_demo(_engine(), seed if seed is not None else DEFAULT_SEED, refresh_sensitive=not no_sensitivity)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("DỮ LIỆU MINH HỌA (demo values, not real):")
    for k, v in summary.items():
        click.echo(f"  {k}: {v}")


@layers.command("sensitivity")
@click.option("--scheme", type=click.Choice(["legacy", "2025", "both"]), default="both", show_default=True)
def layers_sensitivity(scheme) -> None:
    """Recompute the sensitive-area flags (rules in layers/sensitive_areas.yaml)."""
    from geo_dash.layers.sensitivity import refresh_sensitivity

    schemes = ("legacy", "2025") if scheme == "both" else (scheme,)
    for k, v in refresh_sensitivity(_engine(), schemes).items():
        click.echo(f"{k}: {v} xã nhạy cảm (sensitive communes)")


@layers.command("ntm")
@click.argument("province")
@click.option("--scheme", type=click.Choice(["legacy", "2025"]), default="legacy", show_default=True)
@click.option("--by", type=click.Choice(["province", "district"]), default="province", show_default=True)
@click.option("--year", type=int, help="Target year (default: the latest set).")
@click.option("--set-target", nargs=3, type=(int, str, float), multiple=True, metavar="YEAR LEVEL SHARE",
              help="Set a target first, e.g. --set-target 2025 dat_chuan 0.8 (repeatable).")
def layers_ntm(province, scheme, by, year, set_target) -> None:
    """NTM progress of PROVINCE (share of xã at or above each level) against its targets."""
    from geo_dash.layers.data import LayerDataError, ntm_progress, set_ntm_target

    engine = _engine()
    try:
        for y, level, share in set_target:
            set_ntm_target(engine, scheme, province, y, level, share, source="geo-dash layers ntm --set-target")
        df = ntm_progress(engine, scheme, province, by=by, target_year=year)
    except LayerDataError as exc:
        raise click.ClickException(str(exc)) from exc
    if df.empty:
        click.echo("không có xã (no rural communes)")
        return
    for r in df.itertuples(index=False):
        target = "—" if r.target is None or r.target != r.target else f"{r.target:.0%} ({r.target_year})"
        demo = " [demo]" if r.is_demo else ""
        click.echo(f"{r.unit_code} {r.unit_name or '':28} {r.level:10} {r.achieved:4}/{r.communes:<4} "
                   f"{r.share:6.1%}  chỉ tiêu (target) {target}{demo}")
