"""Benchmark: the case importer vs. a plain PostgreSQL COPY of the same rows (the physical floor).

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--bulk auto|on|off] [--out benchmarks/results]

Starts its own throwaway PostGIS cluster (nothing else is touched), loads the bundled
boundaries, writes a CSV of N synthetic cases spread over all communes of Vietnam with
realistic skew (geo_dash.demo.generate_cases_national) in the form offices keep them
(Vietnamese headers, dd/mm/yyyy dates, labels), then measures:

* ``import``: geo_dash.cases.importer.import_file — read, validate and place every row,
  upsert with history, one transaction (the real path; what `geo-dash cases import` does);
* ``copy``: COPY of the same rows, already typed, into a bare table (no validation, no index);
* ``copy_indexed``: COPY of the imported cases, as stored (placed), into a table with
  ``grievance_case``'s indexes and CHECK constraints — the cost of the rows' indexes alone, which
  the bare COPY does not pay (no foreign keys, no history).

The importer's time is also split by its steps (``import_steps_s``: read and parse, stage, place,
history, insert, status history, commit — the names of ``import_file``'s ``on_step`` calls).

Writes ``import.json`` and ``import.md`` with rows/s, the ratio, CPU count and versions.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo_dash.boundaries.load import load_bundle  # noqa: E402
from geo_dash.cases.importer import import_file  # noqa: E402
from geo_dash.cases.vocab import label  # noqa: E402
from geo_dash.db.cluster import ManagedCluster  # noqa: E402
from geo_dash.db.migrate import upgrade  # noqa: E402
from geo_dash.demo.generator import generate_cases_national, load_bundled_units  # noqa: E402

HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Vượt cấp", "Trạng thái",
          "Ngày giải quyết", "Hạn giải quyết", "Cấp giải quyết", "Mã xã", "Kinh độ", "Vĩ độ"]


def _d(v) -> str:
    return "" if v is None or v != v else v.strftime("%d/%m/%Y")


def write_csv(cases, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for r in cases.itertuples(index=False):
            w.writerow([
                r.external_ref, _d(r.received_date), label("kind", r.kind), label("category", r.category),
                r.people_count, "x" if r.is_over_level else "", label("status", r.status), _d(r.resolved_date),
                _d(r.deadline_date), label("handling_level", r.handling_level) if r.handling_level else "",
                r.commune_code, "" if r.lon != r.lon else f"{r.lon:.6f}", "" if r.lat != r.lat else f"{r.lat:.6f}",
            ])


def copy_floor(engine, cases) -> float:
    """COPY the same rows, already typed, into a bare table: the physical floor."""
    with engine.begin() as conn:
        conn.execute(text("""CREATE TABLE bench_floor (external_ref text, received_date date, kind text,
            category text, people_count int, is_over_level bool, status text, resolved_date date,
            deadline_date date, handling_level text, commune_code text, lon float8, lat float8)"""))
    rows = [(r.external_ref, r.received_date, r.kind, r.category, int(r.people_count), bool(r.is_over_level),
             r.status, r.resolved_date, r.deadline_date, r.handling_level, r.commune_code,
             None if r.lon != r.lon else r.lon, None if r.lat != r.lat else r.lat)
            for r in cases.itertuples(index=False)]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY bench_floor FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - t0


def copy_indexed_floor(engine) -> float:
    """COPY the imported cases, as stored, into a table like ``grievance_case`` with its indexes and
    CHECK constraints (no foreign keys, no history): what the rows cost to write once placed."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_floor_case (LIKE grievance_case INCLUDING DEFAULTS "
                          "INCLUDING CONSTRAINTS INCLUDING INDEXES)"))
    buf = bytearray()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY (SELECT * FROM grievance_case) TO STDOUT") as copy:
            for block in copy:
                buf += block
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy("COPY bench_floor_case FROM STDIN") as copy:
            copy.write(bytes(buf))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--bulk", choices=("auto", "on", "off"), default="auto",
                    help="the importer's bulk load: by its size rule (auto, as `cases import` does), always, never")
    args = ap.parse_args(argv)
    bulk = {"auto": None, "on": True, "off": False}[args.bulk]

    home = Path(tempfile.mkdtemp(prefix="geo_dash_bench_", dir="/tmp"))
    home.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = ManagedCluster(home=home, port=port)
    try:
        cluster.start()
        engine = create_engine(cluster.url())
        upgrade(engine)
        load_bundle(engine)
        cases = generate_cases_national(load_bundled_units(), n_cases=args.rows, seed=args.seed)
        cases = cases[cases["received_date"] <= dt.date(2025, 6, 30)]
        csv_path = home / "cases.csv"
        t0 = time.perf_counter()
        write_csv(cases, csv_path)
        print(f"wrote {len(cases):,} rows in {time.perf_counter() - t0:.1f} s", flush=True)

        t0 = time.perf_counter()
        marks: list[tuple[str, float]] = [("start", t0)]
        report = import_file(engine, csv_path, source="bench", as_of=dt.date(2025, 7, 1), bulk=bulk,
                             on_step=lambda name: marks.append((name, time.perf_counter())))
        t_import = time.perf_counter() - t0
        marks.append(("committed", t0 + t_import))
        # where the importer's time goes: each step's time since the previous one
        steps = {name: round(t - marks[i][1], 3) for i, (name, t) in enumerate(marks[1:])}
        print("steps:", steps, flush=True)
        print(f"import: {t_import:.1f} s, accepted {report.accepted:,}, rejected {report.rejected:,}", flush=True)
        t_copy = copy_floor(engine, cases)
        print(f"COPY floor: {t_copy:.1f} s", flush=True)
        t_copy_indexed = copy_indexed_floor(engine)
        print(f"COPY into grievance_case's indexes: {t_copy_indexed:.1f} s", flush=True)
        n = len(cases)
        result = {
            "benchmark": "case import vs COPY",
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            # other work on the machine slows every figure (not only the import): the 1-minute load at the end
            "load_average_1m": round(os.getloadavg()[0], 2),
            "postgresql": engine.connect().execute(text("SHOW server_version")).scalar(),
            "rows": n, "bulk": args.bulk, "accepted": report.accepted, "rejected": report.rejected,
            "import_s": round(t_import, 2), "import_rows_per_s": round(n / t_import),
            "copy_s": round(t_copy, 2), "copy_rows_per_s": round(n / t_copy),
            "ratio_import_to_copy": round(t_import / t_copy, 2),
            "import_steps_s": steps,
            "copy_indexed_s": round(t_copy_indexed, 2),
            "ratio_import_to_copy_indexed": round(t_import / t_copy_indexed, 2),
            "targets": {"import_1m_under_s": 120, "ratio_to_copy_at_most": 3},
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "import.json").write_text(json.dumps(result, indent=2))
        (args.out / "import.md").write_text(
            "| rows | import s | rows/s | COPY s | rows/s | import / COPY | COPY with grievance_case's indexes s | "
            "import / that |\n|---|---|---|---|---|---|---|---|\n"
            f"| {n:,} | {t_import:.1f} | {n / t_import:,.0f} | {t_copy:.1f} | {n / t_copy:,.0f} | "
            f"{t_import / t_copy:.2f} | {t_copy_indexed:.1f} | {t_import / t_copy_indexed:.2f} |\n\n"
            f"Importer steps (s): {steps}; bulk load: {args.bulk}\n\n"
            f"{result['cpu_count']} CPUs (load average {result['load_average_1m']} at the end), "
            f"PostgreSQL {result['postgresql']}, {result['date']}\n")
        print(json.dumps(result, indent=2))
        engine.dispose()
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
