"""The real app (in process) on the analytics database, shared by a module's tests."""

from __future__ import annotations

import pytest

from geo_dash.config import Settings


@pytest.fixture(scope="module")
def app(analytics_url, tmp_path_factory):
    from geo_dash.db import engine as engine_mod
    from geo_dash.web.app import create_app

    application = create_app(database_url=analytics_url,
                             settings=Settings(database_url=analytics_url, home=tmp_path_factory.mktemp("home")))
    yield application
    engine_mod._app_engine.cache_clear()
