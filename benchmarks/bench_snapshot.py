"""Benchmark one province's full monthly snapshot (frozen tables + PDF, HTML, GeoPackage, XLSX, manifest).

    .venv/bin/python benchmarks/bench_snapshot.py [--repeats 3] [--province 49 --province 45] [--out benchmarks/results]

Starts its own throwaway PostGIS cluster (nothing else is touched), loads the bundled boundaries, the
demo cases (seed 2025) and the demo context layers, refreshes the legacy-scheme analytics as of
2025-06-30, then times ``create_snapshot`` for each province (default: Quảng Nam, the largest demo
province with 233 communes, and Quảng Trị) ``--repeats`` times — the first run includes the
in-process caches (fonts, the country outline for the inset).  Target: < 15 s for one province;
measured, not asserted.  Writes ``snapshot.json`` with the timings per step, the file sizes, the
CPU count and the PostgreSQL version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_dash.analytics.refresh import refresh  # noqa: E402
from geo_dash.boundaries.load import load_bundle  # noqa: E402
from geo_dash.db.cluster import ManagedCluster  # noqa: E402
from geo_dash.db.migrate import upgrade  # noqa: E402
from geo_dash.demo.load import load_demo  # noqa: E402
from geo_dash.exports.snapshot import create_snapshot  # noqa: E402
from geo_dash.layers.demo import load_demo as load_layer_demo  # noqa: E402
from geo_dash.security.scope import Scope  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
TARGET_S = 15.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(engine, url: str) -> dict:
    t0 = time.perf_counter()
    upgrade(engine)
    load_bundle(engine)
    demo = load_demo(engine, seed=2025)
    load_layer_demo(engine)
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("ANALYZE"))
    report = refresh(engine, scheme="legacy", as_of=AS_OF)
    return {"demo_cases": demo["rows"], "prepare_s": round(time.perf_counter() - t0, 1), "run_id": report.run_id}


def one_province(engine, province: str, repeats: int, out: Path) -> dict:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = create_snapshot(engine, month=AS_OF, scope=Scope(legacy_provinces=frozenset({province})),
                            out_dir=out, actor="bench")
        wall = time.perf_counter() - t0
        runs.append({"wall_s": round(wall, 3), "steps_s": r.seconds, "version": r.version})
    sizes = {kind: p.stat().st_size for kind, p in r.files.items()}
    with engine.connect() as conn:
        communes = conn.execute(text("SELECT count(*) FROM snapshot_commune WHERE snapshot_id = :i"), {"i": r.id}).scalar()
    median = statistics.median(run["wall_s"] for run in runs)
    return {"province": province, "scope": r.scope_label, "communes": communes, "pdf_pages": r.pdf_pages,
            "runs": runs, "median_wall_s": round(median, 3), "file_bytes": sizes,
            "target_s": TARGET_S, "meets_target": median < TARGET_S}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--province", action="append", help="legacy province code (repeatable; default 49 and 45)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    provinces = args.province or ["49", "45"]

    home = Path(tempfile.mkdtemp(prefix="geo_dash_bench_snapshot_", dir="/tmp"))
    home.chmod(0o755)
    cluster = ManagedCluster(home=home, port=_free_port())
    try:
        cluster.start()
        url = cluster.url()
        engine = create_engine(url)
        prep = prepare(engine, url)
        print(f"prepared in {prep['prepare_s']} s ({prep['demo_cases']:,} demo cases)", flush=True)
        result = {
            "benchmark": "monthly snapshot of one province (frozen tables + PDF, HTML, GeoPackage, XLSX, manifest)",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "postgresql": engine.connect().execute(text("SHOW server_version")).scalar(),
            **prep, "month": AS_OF.strftime("%Y-%m"), "provinces": [],
        }
        for province in provinces:
            got = one_province(engine, province, args.repeats, home / "snapshots")
            result["provinces"].append(got)
            print(f"{got['scope']}: median {got['median_wall_s']} s ({got['communes']} communes, "
                  f"{got['pdf_pages']} PDF pages)", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "snapshot.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
