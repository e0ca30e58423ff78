"""The engines' connection settings."""

from sqlalchemy import text

from geo_dash.db import engine as engine_mod
from geo_dash.db.engine import get_app_engine


def test_the_app_runs_its_queries_without_jit(loaded_engine):
    """PostgreSQL compiles a query when the planner's cost is high, and PostGIS functions are costed
    high: a page's data-quality count was compiled for ≈ 1 s to run for ≈ 0.1 s.  Every transaction of
    the app has JIT off, whatever the server's default, and only the transaction (no session state, for
    PgBouncer's transaction pooling); the owner's engine keeps the server's default."""
    url = loaded_engine.url.render_as_string(hide_password=False)
    engine_mod._app_engine.cache_clear()
    app = get_app_engine(url)
    try:
        with app.connect() as a, app.connect() as b:  # two connections of the pool, each set
            assert a.execute(text("SHOW jit")).scalar_one() == "off"
            assert b.execute(text("SHOW jit")).scalar_one() == "off"
            b.rollback()
            assert b.execute(text("SHOW jit")).scalar_one() == "off"  # the next transaction: set again
            b.rollback()
            # transaction-scoped: outside the app's transactions the connection has the server's default
            assert b.connection.driver_connection.execute("SHOW jit").fetchone()[0] == "on"
        with loaded_engine.connect() as owner:
            assert owner.execute(text("SHOW jit")).scalar_one() == "on"
    finally:
        app.dispose()
        engine_mod._app_engine.cache_clear()
