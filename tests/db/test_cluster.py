"""The managed cluster: the same code path as `geo-dash db start|stop|status`."""

import shutil
import tempfile
from pathlib import Path

import psycopg

from geo_dash.db.cluster import ManagedCluster
from tests.conftest import _free_port


def test_start_stop_status_are_idempotent():
    home = Path(tempfile.mkdtemp(prefix="geo_dash_lifecycle_", dir="/tmp"))
    home.chmod(0o755)
    c = ManagedCluster(home=home, port=_free_port())
    try:
        assert c.status()["running"] is False
        assert c.start() is True
        assert c.start() is False  # already running: nothing to do
        st = c.status()
        assert st["running"] is True and st["initialised"] is True
        with psycopg.connect(host=str(c.socket_dir), port=c.port, user="postgres", dbname="geo_dash") as conn:
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        assert tuple(int(x) for x in version.split(".")[:2]) >= (3, 3)
        assert c.stop() is True
        assert c.stop() is False
        assert c.status()["running"] is False
        assert c.start() is True  # restart keeps the data directory
    finally:
        c.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_socket_only_by_default(cluster):
    """No TCP listener unless configured: the server is reached through its private socket."""
    with psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user="postgres", dbname="postgres") as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
        wal = conn.execute("SHOW max_wal_size").fetchone()[0]
    assert listen == ""
    assert wal == "4GB"  # set at creation for large imports (PostgreSQL's default is 1GB)
    assert oct(cluster.socket_dir.stat().st_mode & 0o777) == "0o700"
