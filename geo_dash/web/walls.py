"""Wall playlists: what the map wall (``/wall``) shows, in which order, for how long.

A playlist is a YAML file in ``walls/`` of the project, or in ``GEO_DASH_WALLS_DIR`` when set
(``Settings.walls_dir``); its file name is its name (``walls/giao_ban.yaml`` → ``/wall?playlist=giao_ban``).
The format is documented in ``walls/README.md``; :class:`Playlist` is its single source::

    title: {vi: Giao ban sáng, en: Morning briefing}
    scheme: legacy            # optional (default legacy)
    province: "45"            # optional; a wall token's area wins
    refresh_minutes: 5        # optional (default 5): data refresh, without reloading the page
    views:
      - {view: overview, seconds: 30}
      - {view: layer, layer: ntm_status, seconds: 20}

Files are validated at start-up (:func:`validate_directory`, called by ``create_app``): a file that
does not validate raises :class:`WallConfigError`, whose message names the file and the field
(``walls/x.yaml: field 'views[3].layer': …``), like the layer registry does.  Playlists are re-read
when a file (or a layer file) changes.

:func:`resolve` turns a playlist and the wall's URL parameters into the list of views to play.
Precedence, first wins: the wall token's area (a province outside it is never shown) → URL
parameters (``province``, ``scheme``, ``views``, ``rotate``, ``refresh``) → the playlist →
built-in defaults.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from geo_dash.analytics.cube import INDICATORS as CUBE_INDICATORS
from geo_dash.config import Settings
from geo_dash.layers import registry
from geo_dash.web.i18n import MESSAGES

# The wall's views drawn from the analytics cube: view -> (default indicator, title key, hot-spot outlines)
CUBE_VIEWS: dict[str, tuple[str, str, bool]] = {
    "overview": ("intensity", "wall.view.overview", False),
    "hotspots": ("intensity", "wall.view.hotspots", True),
    "mass": ("n_mass", "wall.view.mass", True),
    "overdue": ("overdue", "wall.view.overdue", True),
    "land": ("n_land", "wall.view.land", True),
}
VIEW_KINDS = (*CUBE_VIEWS, "layer")
# indicators a view may name: those of the cube that have a label in the message catalogue
INDICATORS = tuple(k.split(".", 1)[1] for k in MESSAGES if k.startswith("indicator.")
                   and k.split(".", 1)[1] in CUBE_INDICATORS)
MIN_SECONDS, MAX_SECONDS = 5, 3600
MIN_REFRESH_MINUTES, MAX_REFRESH_MINUTES = 0.5, 60
DEFAULT_SECONDS = 20           # a view of the built-in playlist or of a URL's ``views``
DEFAULT_REFRESH_MINUTES = 5
DEFAULT_PLAYLIST = "default"    # played by /wall when no playlist is named (if the file exists)
NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MONTH = r"^(19[9]\d|20\d\d|2100)-(0[1-9]|1[0-2])$"


class WallConfigError(ValueError):
    """A playlist file that cannot be used; the message names the file and the field."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text in Vietnamese and English."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class View(_Model):
    """One step of the rotation."""

    view: str
    seconds: Annotated[int, Field(strict=True)]
    layer: str | None = None            # layer views: a registry id (layers/*.yaml)
    indicator: str | None = None        # cube views: the indicator drawn instead of the view's own
    month: str | None = None            # 'YYYY-MM': the last month shown (default: the latest with data)
    title: Text | None = None           # the heading shown (default: the view's or the layer's title)

    @field_validator("view")
    @classmethod
    def _view(cls, v):
        if v not in VIEW_KINDS:
            raise ValueError(f"unknown view {v!r}; views: {', '.join(VIEW_KINDS)}")
        return v

    @field_validator("seconds")
    @classmethod
    def _seconds(cls, v):
        if not MIN_SECONDS <= v <= MAX_SECONDS:
            raise ValueError(f"a view is shown {MIN_SECONDS} to {MAX_SECONDS} seconds, not {v}")
        return v

    @field_validator("layer")
    @classmethod
    def _layer(cls, v, info: ValidationInfo):
        known = (info.context or {}).get("layers")
        if v is not None and known is not None and v not in known:
            raise ValueError(f"unknown layer {v!r}; layers (layers/*.yaml): {', '.join(sorted(known))}")
        return v

    @field_validator("indicator")
    @classmethod
    def _indicator(cls, v):
        if v is not None and v not in INDICATORS:
            raise ValueError(f"unknown indicator {v!r}; indicators: {', '.join(INDICATORS)}")
        return v

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, v):
        if v is not None and not (isinstance(v, str) and re.match(MONTH, v)):
            raise ValueError(f"a month is written 'YYYY-MM' in quotes (\"2025-06\"), not {v!r}")
        return v

    @model_validator(mode="after")
    def _check(self):
        if self.view == "layer" and not self.layer:
            raise ValueError("field 'layer': a 'layer' view names its layer (layer: <id of a layers/*.yaml>)")
        if self.view != "layer" and self.layer:
            raise ValueError(f"field 'layer': only for view 'layer' (this view is {self.view!r})")
        if self.view == "layer" and self.indicator:
            raise ValueError("field 'indicator': a 'layer' view draws its layer's own value")
        return self

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")


class Playlist(_Model):
    """One wall playlist, as declared by its YAML file (see walls/README.md)."""

    title: Text
    scheme: str = "legacy"
    province: str | None = None
    refresh_minutes: float = DEFAULT_REFRESH_MINUTES
    views: list[View] = Field(min_length=1)
    name: str | None = Field(None, exclude=True)
    path: str | None = Field(None, exclude=True)

    @field_validator("scheme", mode="before")
    @classmethod
    def _scheme(cls, v):
        v = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
        if v not in ("legacy", "2025"):
            raise ValueError(f"scheme is 'legacy' (before 01/07/2025) or \"2025\", not {v!r}")
        return v

    @field_validator("province", mode="before")
    @classmethod
    def _province(cls, v):
        if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 100:
            v = f"{v:02d}"  # province: 45 — YAML reads a number
        if v is not None and not (isinstance(v, str) and re.fullmatch(r"\d{2}", v)):
            raise ValueError(f"a province is its 2-digit GSO code in quotes (\"45\"), not {v!r}")
        return v

    @field_validator("refresh_minutes", mode="before")
    @classmethod
    def _refresh(cls, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"refresh_minutes is a number of minutes, not {v!r}")
        if not MIN_REFRESH_MINUTES <= v <= MAX_REFRESH_MINUTES:
            raise ValueError(f"refresh_minutes is {MIN_REFRESH_MINUTES} to {MAX_REFRESH_MINUTES}, not {v}")
        return v


BUILTIN = Playlist(  # played when no playlist is named and walls/default.yaml does not exist
    title=Text(vi="Màn hình giao ban", en="Briefing wall"),
    views=[View(view=v, seconds=DEFAULT_SECONDS) for v in ("overview", "hotspots", "mass", "overdue")],
    name=None,
)


# ---------------------------------------------------------------------- loading
def walls_dir(directory: str | Path | None = None) -> Path:
    return Path(directory) if directory is not None else Path(Settings.from_env().walls_dir)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "constrained-")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = _loc(tuple(err.get("loc", ())))
        msg = re.sub(r"^(Value error|Assertion failed), ", "", err.get("msg", ""))
        if msg.startswith("field '"):          # a model-level check that names its field itself
            problems.append(msg if not loc else f"field '{loc}.{msg[7:]}")
            continue
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (not in the playlist format; see walls/README.md)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        elif err.get("type") in ("dict_type", "model_type") and loc.endswith("title"):
            msg = "a text in Vietnamese and English: {vi: …, en: …}"
        elif err.get("type") == "int_type" and loc.endswith("seconds"):
            msg = f"a whole number of seconds, not {err.get('input')!r}"
        problems.append(f"field '{loc or '(top level)'}': {msg}")
    return problems


def load_playlist_file(path: str | Path, layer_ids: set[str] | None = None) -> Playlist:
    """Read and validate one playlist; raises WallConfigError naming the file and the field.

    ``layer_ids``: the registry's layer ids (default: read the registry).
    """
    path = Path(path)
    if layer_ids is None:
        layer_ids = set(registry.load_registry())
    if not re.match(NAME, path.stem):
        raise WallConfigError(path, [f"file name {path.stem!r}: lower-case letters, digits, '_' and '-' only "
                                     "(it is the name in /wall?playlist=NAME)"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise WallConfigError(path, [f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WallConfigError(path, [f"cannot read the file: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise WallConfigError(path, ["field '(top level)': the file must be a mapping of fields "
                                     "(title: …, views: …)"])
    try:
        return Playlist.model_validate({**raw, "name": path.stem, "path": str(path)}, context={"layers": layer_ids})
    except ValidationError as exc:
        raise WallConfigError(path, _problems(exc)) from exc


def _signature(directory: Path) -> tuple:
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


@lru_cache(maxsize=16)
def _load(signature: tuple, layer_ids: frozenset[str]) -> dict[str, Playlist]:
    playlists: dict[str, Playlist] = {}
    errors: list[WallConfigError] = []
    for file, _, _ in signature:
        try:
            playlist = load_playlist_file(file, set(layer_ids))
        except WallConfigError as exc:
            errors.append(exc)
            continue
        if playlist.name in playlists:
            errors.append(WallConfigError(file, [f"file name: the playlist {playlist.name!r} is also "
                                                 f"{playlists[playlist.name].path}"]))
            continue
        playlists[playlist.name] = playlist
    if errors:
        err = WallConfigError(errors[0].path, [p for e in errors for p in e.problems])
        err.args = ("\n".join(str(e) for e in errors),)
        err.all = errors  # type: ignore[attr-defined]
        raise err
    return playlists


def load_playlists(directory: str | Path | None = None) -> dict[str, Playlist]:
    """Every playlist of the folder by name; re-read when a file changes. Raises WallConfigError.

    A folder that does not exist holds no playlist (the wall then plays its built-in views).
    """
    d = walls_dir(directory)
    if not d.is_dir():
        return {}
    return dict(_load(_signature(d), frozenset(registry.load_registry())))


def validate_directory(directory: str | Path | None = None) -> list[Playlist]:
    """Validate every playlist (all problems reported at once); returns them. For start-up."""
    return list(load_playlists(directory).values())


# ---------------------------------------------------------------------- what to play
def _int(value: Any, lo: int, hi: int) -> int | None:
    try:
        v = int(str(value))
    except (TypeError, ValueError):
        return None
    return min(max(v, lo), hi)


def url_views(text: str | None, layer_ids: set[str]) -> list[View]:
    """``views=overview,hotspots,layer:ntm_status`` → views (unknown names are ignored)."""
    out = []
    for token in (text or "").split(","):
        token = token.strip()
        if token in CUBE_VIEWS:
            out.append(View(view=token, seconds=DEFAULT_SECONDS))
        elif token.startswith("layer:") and token[6:] in layer_ids:
            out.append(View(view="layer", layer=token[6:], seconds=DEFAULT_SECONDS))
    return out


def resolve(query: dict, playlists: dict[str, Playlist], layer_ids: set[str]) -> dict:
    """The wall's plan from its URL parameters and playlists.

    ``query``: the URL's parameters (strings).  ``layer_ids``: the layers the viewer may see (a
    playlist's view of another layer is skipped).  Returns ``{playlist, title, scheme, province,
    views: [View as dict], refresh (seconds), error}``; ``error`` (with no views) when the URL names
    a playlist that does not exist.
    """
    name = query.get("playlist")
    if name:
        if name not in playlists:
            return {"playlist": name, "error": "unknown", "known": sorted(playlists), "views": []}
        playlist = playlists[name]
    else:
        playlist = playlists.get(DEFAULT_PLAYLIST, BUILTIN)
    views = url_views(query.get("views"), layer_ids) or [
        v for v in playlist.views if v.view != "layer" or v.layer in layer_ids]
    rotate = _int(query.get("rotate"), MIN_SECONDS, 600)
    if rotate is not None:
        views = [v.model_copy(update={"seconds": rotate}) for v in views]
    if not views:  # every view of the playlist is a layer this viewer may not see
        views = [View(view="overview", seconds=rotate or DEFAULT_SECONDS)]
    refresh = _int(query.get("refresh"), 30, 3600)
    scheme = query.get("scheme") if query.get("scheme") in ("legacy", "2025") else playlist.scheme
    province = query.get("province") if re.fullmatch(r"\d{2}", query.get("province") or "") else playlist.province
    return {
        "playlist": playlist.name, "title": playlist.title.model_dump(), "scheme": scheme, "province": province,
        "views": [v.as_dict() for v in views],
        "refresh": refresh if refresh is not None else round(playlist.refresh_minutes * 60),
        "error": None,
    }
