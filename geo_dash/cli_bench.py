"""``geo-dash bench``: every benchmark in one run (``benchmarks/run_all.py``), results in ``--out``.

Attached to the main command with ``main.add_command(bench)``.  Thin: imports the runner from the
repository's ``benchmarks/`` folder (it is not part of the installed package) and calls its ``main``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _runner():
    path = BENCHMARKS / "run_all.py"
    if not path.is_file():
        raise click.ClickException(
            f"{path} not found: `geo-dash bench` needs a clone of the geo_dash repository (the benchmarks/ "
            "folder is not part of the installed package). Run it from the repository's .venv.")
    if str(BENCHMARKS) not in sys.path:  # run_all imports bench_import, bench_refresh and load_test beside it
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("geo_dash_bench_run_all", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@click.command("bench")
@click.option("--cases", type=click.IntRange(min=1000), default=1_000_000, show_default=True,
              help="Synthetic cases generated over all communes of Vietnam.")
@click.option("--scope", type=click.Choice(["province", "national", "both"]), default="both", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where results.json and results.md go (default: benchmarks/results).")
@click.option("--quick", is_flag=True, help="Fewer repetitions (trial runs).")
@click.option("--users", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also N concurrent users for --seconds (0 = skip).")
@click.option("--seconds", type=click.IntRange(min=1), default=60, show_default=True)
def bench(cases: int, scope: str, out: Path | None, quick: bool, users: int, seconds: int) -> None:
    """Đo hiệu năng (benchmarks): importer vs COPY, filter change vs a folium baseline, first paint, EHSA.

    Runs in its own throwaway PostGIS cluster under /tmp; your database is not touched.
    """
    argv = ["--cases", str(cases), "--scope", scope, "--users", str(users), "--seconds", str(seconds)]
    if out is not None:
        argv += ["--out", str(out)]
    if quick:
        argv.append("--quick")
    code = _runner().main(argv)
    if code:
        raise SystemExit(code)
