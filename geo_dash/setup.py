"""Bring a deployment to a usable state: database up, schema current, boundaries loaded."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text

from geo_dash.config import Settings


def ensure_ready(settings: Settings) -> Iterator[str]:
    from geo_dash.boundaries.load import load_bundle
    from geo_dash.db import database_url, get_engine
    from geo_dash.db.migrate import upgrade

    if not settings.database_url:
        from geo_dash.db.cluster import ManagedCluster

        cluster = ManagedCluster.from_settings(settings)
        started = cluster.start()
        yield f"PostGIS {'đã khởi động' if started else 'đang chạy'} ({cluster.data_dir})"
    engine = get_engine(database_url(settings))
    yield f"schema: {upgrade(engine)}"
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM admin_unit")).scalar_one()
    if n == 0:
        summary = load_bundle(engine)
        yield "ranh giới đã nạp (boundaries loaded): " + ", ".join(f"{k} {v}" for k, v in summary.units.items())
    else:
        yield f"ranh giới: {n} đơn vị (units already loaded)"
