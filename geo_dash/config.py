"""Configuration from the environment, in one place.

| variable | meaning | default |
|---|---|---|
| ``GEO_DASH_DATABASE_URL`` | an existing PostGIS (>= 3.3) to use | unset: geo_dash manages its own cluster |
| ``GEO_DASH_HOME`` | where the managed cluster, its socket and logs live | ``/var/lib/geo_dash`` as root, else ``~/.local/share/geo_dash`` |
| ``GEO_DASH_PG_PORT`` | port number of the managed cluster (its socket name) | ``54329`` |
| ``GEO_DASH_PG_LISTEN`` | TCP address of the managed cluster (``127.0.0.1`` or empty for socket only) | empty |
| ``GEO_DASH_PG_BINDIR`` | directory of ``initdb``/``pg_ctl`` | newest ``/usr/lib/postgresql/*/bin`` |
| ``GEO_DASH_TILE_URL`` | an XYZ tile URL for a base map (a local tile server on closed networks) | unset: no base map |
| ``GEO_DASH_TILE_ATTRIBUTION`` | attribution text for that base map | empty |
| ``GEO_DASH_CLUSTER_ABOVE`` | the map clusters case points above this many | ``2000`` |
| ``GEO_DASH_WALLS_DIR`` | folder of the wall playlists (``*.yaml``, see ``walls/README.md``) | ``walls/`` of the project |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES_DIR = PROJECT_ROOT / "data" / "boundaries"
LAYERS_DIR = PROJECT_ROOT / "layers"
WALLS_DIR = PROJECT_ROOT / "walls"


def _default_home() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/geo_dash")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "geo_dash"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    home: Path = field(default_factory=_default_home)
    pg_port: int = 54329
    pg_listen: str = ""
    pg_bindir: str | None = None
    tile_url: str | None = None
    tile_attribution: str = ""
    cluster_above: int = 2000
    walls_dir: Path = WALLS_DIR

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("GEO_DASH_DATABASE_URL") or None,
            home=Path(env["GEO_DASH_HOME"]) if env.get("GEO_DASH_HOME") else _default_home(),
            pg_port=int(env.get("GEO_DASH_PG_PORT") or 54329),
            pg_listen=env.get("GEO_DASH_PG_LISTEN", ""),
            pg_bindir=env.get("GEO_DASH_PG_BINDIR") or None,
            tile_url=env.get("GEO_DASH_TILE_URL") or None,
            tile_attribution=env.get("GEO_DASH_TILE_ATTRIBUTION", ""),
            cluster_above=int(env.get("GEO_DASH_CLUSTER_ABOVE") or 2000),
            walls_dir=Path(env["GEO_DASH_WALLS_DIR"]) if env.get("GEO_DASH_WALLS_DIR") else WALLS_DIR,
        )
