"""Tests of the monthly snapshots (geo_dash.exports).

The snapshot tests write (snapshots are rows), so they use a database of their own: a copy of the
session template with the demo cases, the demo context layers (sensitive areas, NTM) and the
analytics of both schemes as of 2025-06-30.  :func:`snapshot_db_url` builds it once per test session
and is shared by the modules of this package (each wraps it in a session fixture).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text

AS_OF = dt.date(2025, 6, 30)
MONTH = dt.date(2025, 6, 1)
PROVINCE = "45"        # Quảng Trị (TEST_USERS' province)
DISTRICT = "464"       # huyện Vĩnh Linh (officer_vl)
OTHER_DISTRICT = "470"  # huyện Hải Lăng (officer_hl)
_STATE: dict[str, str] = {}


def snapshot_db_url(cluster, template_db: str) -> str:
    """URL of the session's snapshot database (built on first use)."""
    if "url" not in _STATE:
        from geo_dash.analytics.refresh import refresh
        from geo_dash.demo.load import load_demo
        from geo_dash.layers.demo import load_demo as load_layer_demo
        from tests.conftest import _create_db

        url = _create_db(cluster, "geo_dash_snapshots", template=template_db)
        engine = create_engine(url)
        load_demo(engine, seed=2025)
        load_layer_demo(engine)
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("ANALYZE"))  # fresh tables without statistics make the cube build ~50x slower
        refresh(engine, as_of=AS_OF)  # both schemes
        engine.dispose()
        _STATE["url"] = url
    return _STATE["url"]


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run(args + [str(path), "-"], check=True, capture_output=True, text=True).stdout


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))
