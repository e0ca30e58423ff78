"""The snapshot tests' database: demo cases, demo layers, both schemes refreshed (built once per session)."""

import pytest
from sqlalchemy import create_engine

from tests.exports import snapshot_db_url


@pytest.fixture(scope="session")
def snap_url(cluster, template_db):
    return snapshot_db_url(cluster, template_db)


@pytest.fixture(scope="module")
def engine(snap_url):
    e = create_engine(snap_url)
    yield e
    e.dispose()
