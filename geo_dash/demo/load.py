"""Loading the synthetic demo cases into the database (``geo-dash demo load``).

The rows go through the same writer as real imports (:func:`geo_dash.cases.store.write_cases`),
with the dataset ``demo-synthetic``, ``is_synthetic = true`` and an import record, so the app
can show its "demo data" banner and everything can be removed again with :func:`remove_demo`.
"""

from __future__ import annotations

import getpass
import json
from datetime import date

from sqlalchemy import Engine, text

from geo_dash.cases import store
from geo_dash.demo.generator import SOURCE as DEMO_SOURCE, generate_cases, load_bundled_units


def demo_present(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM grievance_case WHERE source = :s)"),
                                 {"s": DEMO_SOURCE}).scalar())


def load_demo(engine: Engine, *, seed: int = 2025, start: date | None = None, end: date | None = None,
              actor: str | None = None) -> dict:
    """Generate and write the demo cases (idempotent for the same seed: re-running changes nothing)."""
    units = load_bundled_units()
    kwargs = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    cases = generate_cases(units, seed=seed, **kwargs)
    cases["channel"] = None
    actor = actor or getpass.getuser()
    with engine.begin() as conn:
        import_id = conn.execute(
            text("INSERT INTO case_import (file_name, imported_by, source, status) "
                 "VALUES (:f, :by, :s, 'committed') RETURNING id"),
            dict(f=f"demo:seed={seed}", by=actor, s=DEMO_SOURCE),
        ).scalar_one()
        counts = store.write_cases(conn, store.records_frame(cases.to_dict("records")), import_id=import_id, actor=actor)
        n = len(cases)
        conn.execute(
            text("""UPDATE case_import SET rows_in = :n, accepted = :n, created = :c, updated = :u, unchanged = :x,
                        report = CAST(:r AS jsonb) WHERE id = :id"""),
            dict(n=n, c=counts.created, u=counts.updated, x=counts.unchanged, id=import_id,
                 r=json.dumps({"synthetic": True, "seed": seed})),
        )
    return {"import_id": import_id, "rows": n, "created": counts.created, "updated": counts.updated,
            "unchanged": counts.unchanged}


def remove_demo(engine: Engine) -> int:
    """Delete every synthetic case (and, by cascade, its history)."""
    with engine.begin() as conn:
        return conn.execute(text("DELETE FROM grievance_case WHERE is_synthetic")).rowcount
