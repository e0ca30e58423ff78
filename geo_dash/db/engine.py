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


APP_ROLE = "geo_dash_app"


@lru_cache(maxsize=8)
def _app_engine(url: str, set_role: str | None) -> Engine:
    from geo_dash.security.context import install_scope_hook

    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    install_scope_hook(engine, set_role=set_role)
    return engine


def get_app_engine(url: str | None = None) -> Engine:
    """The engine the web app uses: every transaction runs as the non-owner role ``geo_dash_app``
    with the request's scope set (row-level security applies).

    With ``GEO_DASH_APP_DATABASE_URL`` the app logs in as that role directly; otherwise it uses
    the owner's URL and ``SET LOCAL ROLE geo_dash_app`` at the start of each transaction.
    """
    import os

    direct = os.environ.get("GEO_DASH_APP_DATABASE_URL")
    if direct and url is None:
        return _app_engine(direct.replace("postgresql://", "postgresql+psycopg://", 1), None)
    return _app_engine(url or database_url(), APP_ROLE)
