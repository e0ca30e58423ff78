"""Benchmark the analytics refresh (cube, Gi*, EHSA, alerts, KPIs) on the demo data.

    .venv/bin/python benchmarks/bench_refresh.py [--repeats 3] [--national 0] [--out benchmarks/results]

Starts its own throwaway PostGIS cluster (nothing else is touched), loads the bundled boundaries and
the demo cases (seed 2025: five provinces, 01/2020-06/2025), then measures — without asserting:

* ``full_refresh``: ``refresh()`` of both schemes, as of 2025-06-30, twice (the first run builds the
  spatial weights, the second finds them cached), and of the legacy scheme alone;
* ``one_month_after_import``: 10,000 more cases received in June 2025 are written with the case
  writer (one transaction, as an import does), then ``refresh(from_month=2025-06)``; the cube step
  of one month is the figure with a target (< 5 s), the whole incremental refresh is reported too;
* ``ehsa_one_province``: ``emerging_hotspots`` on the real legacy cube of Quảng Nam (233 communes with a polygon)
  x 36 months, analytical inference, FDR (target < 1 s); weights built outside the timed section;
* ``national_cube`` (only with ``--national N``): N synthetic cases over all of Vietnam, then the
  cube step alone (``build_cube``, both schemes, rolled back): a full build, then June 2025 again
  as an incremental build; then the whole ``refresh()``, full and from 2025-06.

Writes ``refresh.json`` with the timings, the CPU count and the PostgreSQL version.
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

import pandas as pd
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_dash.analytics import emerging_hotspots  # noqa: E402
from geo_dash.analytics.cube import (  # noqa: E402
    add_months, build_cube, cube_first_month, cube_provinces, load_intensity,
)
from geo_dash.analytics.refresh import province_weights, refresh  # noqa: E402
from geo_dash.boundaries.load import load_bundle  # noqa: E402
from geo_dash.cases import store  # noqa: E402
from geo_dash.db.cluster import ManagedCluster  # noqa: E402
from geo_dash.db.migrate import upgrade  # noqa: E402
from geo_dash.demo.generator import generate_cases, generate_cases_national, load_bundled_units  # noqa: E402
from geo_dash.demo.load import load_demo  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
EHSA_PROVINCE = "49"  # Quảng Nam, legacy: 233 communes with a polygon
EHSA_MONTHS = 36


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_cases(engine, cases: pd.DataFrame) -> float:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        store.write_cases(conn, store.records_frame(cases.to_dict("records")), import_id=None, actor="bench")
    return time.perf_counter() - t0


def june_cases(units, n: int) -> pd.DataFrame:
    """``n`` synthetic cases received in June 2025 in the five demo provinces (resampled, new references)."""
    base = generate_cases(units, seed=99, start=dt.date(2025, 6, 1), end=AS_OF)
    out = base.sample(n, replace=True, random_state=1).reset_index(drop=True)
    out["external_ref"] = [f"BENCH-{i:06d}" for i in range(n)]
    out["source"] = "bench-refresh"
    return out


def full_refresh(engine, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = refresh(engine, as_of=AS_OF)
        runs.append({"wall_s": round(time.perf_counter() - t0, 3), "steps_s": report.seconds, "rows": report.rows})
    t0 = time.perf_counter()
    legacy = refresh(engine, scheme="legacy", as_of=AS_OF)
    return {
        "what": "refresh(), both schemes, 5 demo provinces, as of 2025-06-30 (run 1 builds the weights)",
        "runs": runs,
        "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
        "legacy_only_wall_s": round(time.perf_counter() - t0, 3),
        "legacy_only_steps_s": legacy.seconds,
    }


def one_month_after_import(engine, units, n: int) -> dict:
    cases = june_cases(units, n)
    t_write = write_cases(engine, cases)
    t0 = time.perf_counter()
    report = refresh(engine, from_month=dt.date(2025, 6, 1), as_of=AS_OF)
    wall = time.perf_counter() - t0
    cube_s = {s: report.seconds[f"{s}.cube"] for s in report.modes}
    return {
        "what": f"{n:,} cases received in 06/2025 written (one transaction), then refresh(from_month=2025-06)",
        "cases_written": n, "write_s": round(t_write, 3), "modes": report.modes,
        "cube_step_s": cube_s, "cube_step_total_s": round(sum(cube_s.values()), 3),
        "refresh_wall_s": round(wall, 3), "steps_s": report.seconds,
        "target_s": 5.0, "meets_target": sum(cube_s.values()) < 5.0,
    }


def ehsa_one_province(engine, repeats: int) -> dict:
    with engine.connect() as conn:
        w = province_weights(conn, "legacy", EHSA_PROVINCE)
        cube = pd.read_sql(text("""
            SELECT commune_code AS unit_id, month, intensity AS value FROM cube_month
            WHERE scheme = 'legacy' AND province_code = :p AND month > :a"""), conn,
            params={"p": EHSA_PROVINCE, "a": add_months(AS_OF, -EHSA_MONTHS)})
    ids = {str(i) for i in w.id_order}
    cube = cube[cube["unit_id"].isin(ids)]
    cube["period"] = pd.PeriodIndex(pd.to_datetime(cube.pop("month")), freq="M")
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = emerging_hotspots(cube, w)
        runs.append(time.perf_counter() - t0)
    median = statistics.median(runs)
    return {
        "what": "emerging_hotspots on the legacy cube of Quảng Nam (real queen weights), analytical, FDR",
        "units": w.n, "periods": cube["period"].nunique(), "runs_s": [round(r, 3) for r in runs],
        "median_s": round(median, 3), "target_s": 1.0, "meets_target": median < 1.0,
        "categories": result["category"].value_counts().to_dict(),
    }


def national_cube(engine, units, n: int) -> dict:
    cases = generate_cases_national(units, n_cases=n, seed=2025)
    cases = cases[cases["received_date"] <= AS_OF]
    t_write = write_cases(engine, cases)
    cfg = load_intensity()
    out = {"what": f"{len(cases):,} national cases (plus the demo), cube step only: full, then one month",
           "cases": int(len(cases)), "write_s": round(t_write, 1)}
    with engine.connect() as conn:
        trans = conn.begin()
        run_id = conn.execute(text("INSERT INTO analytics_run (status, as_of) VALUES ('running', :a) RETURNING id"),
                              {"a": AS_OF}).scalar()
        for scheme in ("legacy", "2025"):
            t0 = time.perf_counter()
            provinces = cube_provinces(conn, scheme, AS_OF)
            first = cube_first_month(conn, scheme, AS_OF)
            rows = build_cube(conn, scheme=scheme, provinces=provinces, first_month=first,
                              last_month=dt.date(2025, 6, 1), as_of=AS_OF, run_id=run_id, intensity=cfg)
            full_s = time.perf_counter() - t0
            t0 = time.perf_counter()  # then one month again, incrementally (stocks carried from May)
            month_rows = build_cube(conn, scheme=scheme, provinces=provinces, first_month=first,
                                    last_month=dt.date(2025, 6, 1), as_of=AS_OF, run_id=run_id, intensity=cfg,
                                    from_month=dt.date(2025, 6, 1))
            out[scheme] = {"rows": rows, "provinces": len(provinces), "full_s": round(full_s, 2),
                           "one_month_rows": month_rows, "one_month_s": round(time.perf_counter() - t0, 2)}
        trans.rollback()
    t0 = time.perf_counter()
    full = refresh(engine, as_of=AS_OF)
    out["refresh_full"] = {"wall_s": round(time.perf_counter() - t0, 1), "steps_s": full.seconds}
    t0 = time.perf_counter()
    inc = refresh(engine, from_month=dt.date(2025, 6, 1), as_of=AS_OF)
    out["refresh_one_month"] = {"wall_s": round(time.perf_counter() - t0, 1), "modes": inc.modes,
                                "steps_s": inc.seconds}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", type=int, default=10_000, help="cases imported before the one-month refresh")
    ap.add_argument("--national", type=int, default=0, help="also time the cube on N national cases (e.g. 1000000)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="geo_dash_bench_refresh_", dir="/tmp"))
    home.chmod(0o755)
    cluster = ManagedCluster(home=home, port=_free_port())
    try:
        cluster.start()
        engine = create_engine(cluster.url())
        upgrade(engine)
        load_bundle(engine)
        units = load_bundled_units()
        demo = load_demo(engine, seed=2025)
        print(f"demo: {demo['rows']:,} cases", flush=True)
        result = {
            "benchmark": "analytics refresh",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "postgresql": engine.connect().execute(text("SHOW server_version")).scalar(),
            "demo_cases": demo["rows"],
        }
        result["full_refresh"] = full_refresh(engine, args.repeats)
        print("full refresh:", result["full_refresh"]["median_wall_s"], "s", flush=True)
        result["one_month_after_import"] = one_month_after_import(engine, units, args.cases)
        print("one month after import:", result["one_month_after_import"]["cube_step_total_s"], "s (cube)", flush=True)
        result["ehsa_one_province"] = ehsa_one_province(engine, args.repeats)
        print("EHSA one province:", result["ehsa_one_province"]["median_s"], "s", flush=True)
        if args.national:
            result["national_cube"] = national_cube(engine, units, args.national)
            print("national cube:", result["national_cube"], flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "refresh.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
