"""The SQLAlchemy engine: from GEO_DASH_DATABASE_URL, or the managed cluster."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine, event

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
    event.listen(engine, "connect", _no_jit)
    return engine


def _no_jit(dbapi_connection, _record) -> None:
    """No JIT for the app's queries.  PostgreSQL decides to compile by the planner's cost, and PostGIS
    functions are costed high: the map's data-quality count (point in commune, geography distance) is
    compiled with inlining and optimisation for ≈ 1 s, to run a query of ≈ 0.1 s (one province, 27,000
    cases).  Pages want answers in milliseconds; the batch work (imports, the cube) turns it off itself."""
    with dbapi_connection.cursor() as cur:
        cur.execute("SET jit = off")
    dbapi_connection.commit()


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
