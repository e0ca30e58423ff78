"""Bounded load test on loopback: N logged-in users for T seconds, mixed map and case-list requests.

    .venv/bin/python benchmarks/load_test.py [--users 50] [--seconds 60] [--out benchmarks/results]

Starts its own throwaway PostGIS cluster with the boundaries and the demo data, serves the app with
gunicorn (2 workers × 16 threads — the production server), logs every virtual user in through the real
form, then each user repeats: change the map's province (a Dash callback), list a commune's cases (a
Dash callback). Only 127.0.0.1 is contacted; the loop stops by itself. Writes ``load.json`` with
p50/p95/max per request kind and the error count.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402

from geo_dash.boundaries.load import load_bundle  # noqa: E402
from geo_dash.db.cluster import ManagedCluster  # noqa: E402
from geo_dash.db.migrate import upgrade  # noqa: E402
from geo_dash.demo.load import load_demo  # noqa: E402
from geo_dash.security.users import add_user  # noqa: E402

PASSWORD = "Mat-khau-tai-thu-1"
MAP = ("..communes.data...districts.data...map-bounds.data...counts.children...map-months.data...month-slider.max"
       "...month-slider.value...month-slider.marks...district.data...district.style...drill-init.data"
       "..")
GRID = "..cases-grid.rowData...cases-count.children...cases-search.data.."
PROVINCES = ["45", "49", "54", "58", "24"]
COMMUNES = ["19741", "19369", "19396", "19498", "19603", "19495"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _payload(output, inputs, state):
    def items(pairs):
        return [{"id": i, "property": p, "value": v} for (i, p), v in pairs]

    outs = [{"id": part.rpartition(".")[0], "property": part.rpartition(".")[2]} for part in output.strip(".").split("...")]
    return {"output": output, "outputs": outs, "inputs": items(inputs), "state": items(state),
            "changedPropIds": [f"{i}.{p}" for (i, p), _ in inputs]}


class VirtualUser(threading.Thread):
    def __init__(self, base: str, username: str, until: float, results: dict, lock: threading.Lock):
        super().__init__(daemon=True)
        self.base, self.username, self.until, self.results, self.lock = base, username, until, results, lock
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _record(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.results.setdefault(kind, []).append(seconds)
            if not ok:
                self.results.setdefault("errors", []).append(kind)

    def login(self) -> None:
        page = self.http.open(self.base + "/login", timeout=30).read().decode()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"username": self.username, "password": PASSWORD, "csrf_token": csrf,
                                       "next": "/"}).encode()
        self.http.open(self.base + "/login", data=data, timeout=30).read()
        self.csrf = next(c.value for c in self.jar if c.name == "_csrf_token")

    def callback(self, kind: str, body: dict) -> None:
        req = urllib.request.Request(self.base + "/_dash-update-component", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "X-CSRFToken": self.csrf})
        t0 = time.perf_counter()
        ok = True
        try:
            with self.http.open(req, timeout=30) as r:
                r.read()
                ok = r.status == 200
        except Exception:  # noqa: BLE001 — every failure is counted, none stops the run
            ok = False
        self._record(kind, time.perf_counter() - t0, ok)

    def run(self) -> None:
        rng = random.Random(self.username)
        try:
            self.login()
        except Exception:  # noqa: BLE001
            self._record("login", 0.0, False)
            return
        while time.time() < self.until:
            self.callback("map_province", _payload(MAP, [(("province", "value"), rng.choice(PROVINCES))],
                                                   [(("scheme", "value"), "legacy"), (("lang", "data"), "vi"),
                                                    (("map-url", "search"), "")]))
            self.callback("case_list", _payload(GRID, [(("cases-commune", "value"), rng.choice(COMMUNES)),
                                                        (("form-result", "children"), None)],
                                                [(("cases-scheme", "value"), "legacy"), (("cases-province", "value"), "45"),
                                                 (("cases-lang", "data"), "vi")]))


def _summary(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * values[int(0.95 * (len(values) - 1))], 1), "max_ms": round(1000 * values[-1], 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="geo_dash_load_", dir="/tmp"))
    home.chmod(0o755)
    cluster = ManagedCluster(home=home, port=_port())
    server = None
    try:
        cluster.start()
        engine = create_engine(cluster.url())
        upgrade(engine)
        load_bundle(engine)
        load_demo(engine, seed=2025)
        for i in range(args.users):
            add_user(engine, f"tai_{i:03d}", "leader", "legacy:45", password=PASSWORD)
        engine.dispose()
        port = _port()
        env = {**os.environ, "GEO_DASH_DATABASE_URL": cluster.url(), "GEO_DASH_HOME": str(home),
               "GEO_DASH_COOKIE_SECURE": "0"}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "16",
                                   "--bind", f"127.0.0.1:{port}", "geo_dash.web.wsgi:server"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        results: dict = {}
        lock = threading.Lock()
        until = time.time() + args.seconds
        users = [VirtualUser(base, f"tai_{i:03d}", until, results, lock) for i in range(args.users)]
        for u in users:
            u.start()
        for u in users:
            u.join(args.seconds + 60)
        out = {
            "benchmark": "load: logged-in users on loopback", "users": args.users, "seconds": args.seconds,
            "server": "gunicorn 2 workers x 16 threads", "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "errors": len(results.get("errors", [])),
            "requests": {k: _summary(v) for k, v in results.items() if k != "errors"},
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "load.json").write_text(json.dumps(out, indent=2))
        print(json.dumps(out, indent=2))
        return 0 if out["errors"] == 0 else 1
    finally:
        if server:
            server.terminate()
            server.wait(20)
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
