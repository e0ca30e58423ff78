"""Database: engine, models, migrations and the managed local PostGIS cluster."""

from geo_dash.db.engine import database_url, get_app_engine, get_engine

__all__ = ["database_url", "get_app_engine", "get_engine"]
