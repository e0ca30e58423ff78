"""How cost grows with the number of cases: ``run_all.py`` at several sizes, one table.

    .venv/bin/python benchmarks/cost_curve.py --cases 100000 1000000 5000000
    .venv/bin/python benchmarks/cost_curve.py --summarise-only        # re-read the runs already made

Each size runs the whole benchmark (its own throwaway cluster) into ``benchmarks/results/scale/<N>/``;
then ``curve.json`` and ``curve.md`` in ``benchmarks/results/scale/`` put the figures of every size side
by side, with the growth factor between consecutive sizes (and the growth of N itself), so "linear",
"flat" and "worse than linear" can be read off directly.  Runs are sequential: two at once on this
machine would measure each other.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "scale"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _get(d: dict, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


# (label, path into results.json, unit)
ROWS = [
    ("cases imported", ("import", "rows"), "rows"),
    ("import (real importer)", ("import", "import_s"), "s"),
    ("plain COPY of the same rows", ("import", "copy_s"), "s"),
    ("importer ÷ COPY", ("import", "ratio_import_to_copy"), "×"),
    ("analytics refresh (legacy, full)", ("refresh", "wall_s"), "s"),
    ("filter change, province: server p95", ("filter_change", "province", "ms", "p95"), "ms"),
    ("filter change, province: bytes", ("filter_change", "province", "bytes", "median"), "B"),
    ("filter change, national: server p95", ("filter_change", "national", "ms", "p95"), "ms"),
    ("repaint in the browser, province (median)", ("repaint", "province", "ms", "median"), "ms"),
    ("repaint in the browser, national (median)", ("repaint", "national", "ms", "median"), "ms"),
    ("repaint, province: naive ÷ geo_dash (median of pairs)", ("baseline_folium", "province", "paired", "speedup", "median"), "×"),
    ("repaint, national: naive ÷ geo_dash", ("ratios", "national", "repaint_speedup_median"), "×"),
    ("first paint, province (median)", ("first_paint", "province", "ms", "median"), "ms"),
    ("first paint, national (median)", ("first_paint", "national", "ms", "median"), "ms"),
    ("EHSA, one province", ("ehsa", "province", "median_s"), "s"),
    ("EHSA, national", ("ehsa", "national", "median_s"), "s"),
    ("50 users: p95", ("load", "ms", "p95"), "ms"),
]


def summarise(sizes: list[int]) -> dict:
    runs = {}
    for n in sizes:
        path = OUT / str(n) / "results.json"
        if path.is_file():
            runs[n] = json.loads(path.read_text())
    table = []
    for label, path, unit in ROWS:
        values = {n: _get(r, *path) for n, r in runs.items()}
        table.append({"what": label, "unit": unit, "values": values})
    return {"sizes": sorted(runs), "dates": {n: r.get("date") for n, r in runs.items()}, "rows": table}


def markdown(curve: dict) -> str:
    sizes = curve["sizes"]
    head = "| what | " + " | ".join(f"{n:,} cases" for n in sizes) + " | growth per step |"
    lines = ["# How cost grows with the number of cases", "",
             "Each column is one full `run_all.py` on this machine (2 CPUs), its own cluster, the same seed. "
             "*Growth per step* = the figure at a size ÷ the figure at the previous size (N grows by "
             + ", ".join(f"{b / a:g}×" for a, b in zip(sizes, sizes[1:])) + ").", "", head,
             "|---|" + "---|" * (len(sizes) + 1)]
    for row in curve["rows"]:
        vals = [row["values"].get(n) for n in sizes]
        if all(v is None for v in vals):
            continue
        cells = [("—" if v is None else f"{v:,}") + ("" if v is None else f" {row['unit']}") for v in vals]
        steps = [f"{b / a:.2f}×" if a and b else "—" for a, b in zip(vals, vals[1:])]
        lines.append(f"| {row['what']} | " + " | ".join(cells) + f" | {', '.join(steps) or '—'} |")
    lines += ["", "Dates: " + ", ".join(f"{n:,}: {d}" for n, d in curve["dates"].items()), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--users", type=int, default=50, help="concurrent users at each size (0 = skip)")
    ap.add_argument("--summarise-only", action="store_true")
    args = ap.parse_args(argv)
    if not args.summarise_only:
        import run_all

        for n in args.cases:
            print(f"=== {n:,} cases ===", flush=True)
            run_all.main(["--cases", str(n), "--out", str(OUT / str(n)), "--users", str(args.users)])
    sizes = sorted({*args.cases, *(int(p.name) for p in OUT.glob("*") if p.name.isdigit())})
    curve = summarise(sizes)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "curve.json").write_text(json.dumps(curve, indent=2, ensure_ascii=False, default=str) + "\n")
    (OUT / "curve.md").write_text(markdown(curve))
    print(markdown(curve))
    return 0


if __name__ == "__main__":
    sys.exit(main())
