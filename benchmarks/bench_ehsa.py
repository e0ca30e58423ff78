"""Benchmark Emerging Hot Spot Analysis on synthetic grids.

Sizes: 10,000 units x 36 months (target < 20 s) and 300 units x 36 months
(target < 1 s), analytical Gi* inference, FDR on, no time lag.  Each size is
run 3 times; min and median wall-clock seconds are written with the CPU count
and library versions to ``benchmarks/results/ehsa.json``.

The weights (queen contiguity on a regular grid) are built once per size,
outside the timed section: ``emerging_hotspots`` is what is measured.

    .venv/bin/python benchmarks/bench_ehsa.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from libpysal.weights import lat2W

from geo_dash.analytics import emerging_hotspots

RESULTS = Path(__file__).parent / "results" / "ehsa.json"
SIZES = [  # (rows, cols, target seconds)
    (100, 100, 20.0),
    (15, 20, 1.0),
]
N_PERIODS = 36


def synthetic_cube(rows: int, cols: int, n_periods: int, seed: int = 0) -> pd.DataFrame:
    """Poisson counts with a hot region that grows over time and a cold corner."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(rows * cols), cols)
    centre = np.hypot(r - rows / 2, c - cols / 2)
    periods = pd.period_range("2022-01", periods=n_periods, freq="M")
    ids = [f"id{i}" for i in range(rows * cols)]
    frames = []
    for t, period in enumerate(periods):
        hot = centre < 2 + t * min(rows, cols) / (4 * n_periods)
        cold = (r < rows / 5) & (c < cols / 5)
        rate = 2.0 + 6.0 * hot - 1.5 * cold
        frames.append(pd.DataFrame({"unit_id": ids, "period": period, "value": rng.poisson(rate)}))
    return pd.concat(frames, ignore_index=True)


def bench_size(rows: int, cols: int, target: float, repeats: int) -> dict:
    w = lat2W(rows, cols, rook=False, id_type="string")
    cube = synthetic_cube(rows, cols, N_PERIODS)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = emerging_hotspots(cube, w)
        runs.append(time.perf_counter() - t0)
    median = statistics.median(runs)
    return {
        "units": rows * cols,
        "periods": N_PERIODS,
        "grid": f"{rows}x{cols} queen",
        "inference": "analytical, fdr=True, time_lag=0",
        "runs_s": [round(x, 3) for x in runs],
        "min_s": round(min(runs), 3),
        "median_s": round(median, 3),
        "target_s": target,
        "meets_target": median < target,
        "categories": result["category"].value_counts().to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    for rows, cols, target in SIZES:
        res = bench_size(rows, cols, target, args.repeats)
        print(f"{res['units']:>6} units x {N_PERIODS}: min {res['min_s']:.3f} s, median {res['median_s']:.3f} s "
              f"(target < {target:g} s: {'ok' if res['meets_target'] else 'MISSED'})")
        results.append(res)
    report = {
        "benchmark": "emerging_hotspots",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": {pkg: version(pkg) for pkg in ("esda", "libpysal", "pymannkendall", "numpy", "pandas", "scipy")},
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
