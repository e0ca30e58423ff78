"""A PostGIS cluster that geo_dash runs itself (the default, embedded set-up).

The cluster lives in ``<home>/pgdata``; its Unix socket in ``<home>/run`` (mode
0700, so only its owner - and root - can connect).  By default it does not
listen on TCP at all; ``listen`` may name the loopback address.  PostgreSQL
refuses to run as root, so when geo_dash runs as root the server runs as the
unprivileged ``postgres`` system user (``runuser``), which owns the data
directory.  ``start``/``stop`` are idempotent.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from geo_dash.config import Settings

DB_NAME = "geo_dash"
SUPERUSER = "postgres"


class ClusterError(RuntimeError):
    """The managed cluster could not be set up or started; the message says why."""


def find_bindir(configured: str | None = None) -> Path:
    """Directory holding initdb/pg_ctl: configured, else the newest installed PostgreSQL."""
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ClusterError(
        "PostgreSQL không được cài đặt (PostgreSQL is not installed): "
        "apt-get install postgresql-15 postgresql-15-postgis-3, or set GEO_DASH_DATABASE_URL."
    )


@dataclass
class ManagedCluster:
    home: Path
    port: int = 54329
    listen: str = ""
    bindir: Path | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> "ManagedCluster":
        return cls(home=Path(s.home), port=s.pg_port, listen=s.pg_listen,
                   bindir=Path(s.pg_bindir) if s.pg_bindir else None)

    # --- paths ---------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        return self.home / "postgresql.log"

    def url(self, dbname: str = DB_NAME) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    # --- running as the right user ---------------------------------------------------------------
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        bindir = self.bindir or find_bindir()
        cmd = [str(bindir / args[0]), *args[1:]]
        if self._as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise ClusterError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for d in (self.data_dir, self.socket_dir):
            d.mkdir(exist_ok=True)
            d.chmod(0o700)
        self.log_file.touch(exist_ok=True)
        if self._as_root():
            try:
                pg = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ClusterError("no 'postgres' system user: install the postgresql package") from exc
            self.home.chmod(0o755)
            for p in (self.data_dir, self.socket_dir, self.log_file):
                os.chown(p, pg.pw_uid, pg.pw_gid)
            # every parent must be traversable by the server's user
            for parent in self.home.resolve().parents:
                if not os.stat(parent).st_mode & 0o001:
                    raise ClusterError(
                        f"{parent} is not traversable by the 'postgres' user; choose another GEO_DASH_HOME"
                    )

    # --- lifecycle ---------------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True if it was created."""
        self._prepare_dirs()
        if self.is_initialised():
            return False
        self._run(["initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER,
                   "-E", "UTF8", "--locale=C.UTF-8"])
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write(f"unix_socket_permissions = 0700\nlisten_addresses = '{self.listen}'\n")
            # a 1,000,000-case import writes ~1.7 GB of WAL: with the default 1 GB a checkpoint came
            # every ~20 s in the middle of it (a soft limit; ALTER SYSTEM can change it)
            conf.write("max_wal_size = '4GB'\n")
        return True

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run(["pg_ctl", "-D", str(self.data_dir), "status"], check=False).returncode == 0

    def start(self) -> bool:
        """Initialise if needed and start; create the database with PostGIS. True if it was started now."""
        self.init()
        started = False
        if not self.is_running():
            opts = f"-p {self.port} -k {self.socket_dir} -c listen_addresses='{self.listen}'"
            self._run(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                       "-o", opts, "start"])
            started = True
        self.ensure_database()
        return started

    def stop(self) -> bool:
        """Stop if running. True if it was stopped now."""
        if not self.is_running():
            return False
        self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return True

    def status(self) -> dict:
        return {
            "data_dir": str(self.data_dir),
            "initialised": self.is_initialised(),
            "running": self.is_running(),
            "port": self.port,
            "socket_dir": str(self.socket_dir),
            "listen": self.listen or "(socket only)",
            "url": self.url(),
        }

    def ensure_database(self, dbname: str = DB_NAME) -> None:
        import psycopg

        conninfo = dict(host=str(self.socket_dir), port=self.port, user=SUPERUSER, autocommit=True)
        with psycopg.connect(dbname="postgres", **conninfo) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE template0 ENCODING \'UTF8\'')
        with psycopg.connect(dbname=dbname, **conninfo) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
