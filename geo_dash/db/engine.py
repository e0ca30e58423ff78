"""The SQLAlchemy engine: from GEO_DASH_DATABASE_URL, or the managed cluster."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine

from geo_dash.config import Settings


def database_url(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    from geo_dash.db.cluster import ManagedCluster

    return ManagedCluster.from_settings(settings).url()


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str | None = None) -> Engine:
    return _engine(url or database_url())
