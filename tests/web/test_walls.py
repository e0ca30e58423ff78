"""Wall playlists (walls/*.yaml): the shipped default, validation errors naming file and field,
start-up refusing a broken playlist, and the precedence of URL parameters over a playlist."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from geo_dash.config import WALLS_DIR, Settings
from geo_dash.layers import registry
from geo_dash.web import walls
from geo_dash.web.walls import WallConfigError, load_playlist_file, load_playlists, resolve

GOOD = """\
title: {vi: Giao ban, en: Briefing}
province: "45"
refresh_minutes: 5
views:
  - {view: overview, seconds: 30}
  - {view: layer, layer: ntm_status, seconds: 20}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path, text: str, name: str = "giao_ban.yaml") -> str:
    path = _write(tmp_path, name, text)
    with pytest.raises(WallConfigError) as info:
        load_playlist_file(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": "), message  # every line names the file
    return message


# ---------------------------------------------------------------------- the shipped playlists
def test_shipped_playlists_validate():
    playlists = load_playlists(WALLS_DIR)
    assert "default" in playlists
    assert Settings.from_env({}).walls_dir == WALLS_DIR
    assert Settings.from_env({"GEO_DASH_WALLS_DIR": "/srv/walls"}).walls_dir == Path("/srv/walls")


def test_default_playlist_is_overview_hotspots_mass_then_every_context_layer():
    default = load_playlists(WALLS_DIR)["default"]
    context = [layer.id for layer in registry.list_layers(group="context")]
    assert context, "the registry has context layers"
    assert [v.view for v in default.views[:3]] == ["overview", "hotspots", "mass"]
    assert [v.layer for v in default.views[3:]] == context  # each context layer, in the registry's order
    assert all(v.view == "layer" for v in default.views[3:])
    assert default.refresh_minutes == 5
    assert all(v.seconds >= 15 for v in default.views)  # long enough to read a legend in a meeting room


def test_every_registry_layer_can_be_a_view(tmp_path):
    ids = [layer.id for layer in registry.list_layers()]
    views = "".join(f"  - {{view: layer, layer: {i}, seconds: 5}}\n" for i in ids)
    playlist = load_playlist_file(_write(tmp_path, "all_layers.yaml", f"title: {{vi: a, en: b}}\nviews:\n{views}"))
    assert [v.layer for v in playlist.views] == ids


# ---------------------------------------------------------------------- validation names file and field
@pytest.mark.parametrize("text, field, words", [
    (GOOD.replace("ntm_status", "ntm"), "views[1].layer", ["unknown layer 'ntm'", "ntm_status"]),
    (GOOD.replace("seconds: 30", "seconds: 3"), "views[0].seconds", ["5 to 3600 seconds", "not 3"]),
    (GOOD.replace("seconds: 30", "seconds: 0"), "views[0].seconds", ["not 0"]),
    (GOOD.replace("seconds: 30", "seconds: 7200"), "views[0].seconds", ["not 7200"]),
    (GOOD.replace("seconds: 30", "seconds: '30'"), "views[0].seconds", ["whole number"]),
    (GOOD.replace("seconds: 30", "seconds: 7.5"), "views[0].seconds", ["whole number"]),
    (GOOD.replace("view: overview", "view: weather"), "views[0].view", ["unknown view 'weather'", "overview"]),
    (GOOD.replace("{view: overview, seconds: 30}", "{view: layer, seconds: 30}"), "views[0].layer",
     ["names its layer"]),
    (GOOD.replace("{view: overview, seconds: 30}", "{view: overview, layer: ntm_status, seconds: 30}"),
     "views[0].layer", ["only for view 'layer'"]),
    (GOOD.replace("{view: layer, layer: ntm_status, seconds: 20}",
                  "{view: layer, layer: ntm_status, seconds: 20, indicator: n_mass}"), "views[1].indicator",
     ["layer's own value"]),
    (GOOD.replace("{view: overview, seconds: 30}", "{view: overview, seconds: 30, indicator: people}"),
     "views[0].indicator", ["unknown indicator 'people'"]),
    (GOOD.replace("{view: overview, seconds: 30}", "{view: overview, seconds: 30, month: 2025-6}"),
     "views[0].month", ["YYYY-MM"]),
    (GOOD.replace("{view: overview, seconds: 30}", "{view: overview, seconds: 30, colour: red}"),
     "views[0].colour", ["unknown field"]),
    (GOOD.replace("title: {vi: Giao ban, en: Briefing}", "title: Giao ban"), "title", ["{vi: …, en: …}"]),
    (GOOD.replace("title: {vi: Giao ban, en: Briefing}\n", ""), "title", ["required field is missing"]),
    (GOOD.replace('province: "45"', "province: Quảng Trị"), "province", ["2-digit GSO code"]),
    (GOOD.replace("refresh_minutes: 5", "refresh_minutes: 0"), "refresh_minutes", ["0.5 to 60"]),
    (GOOD.replace("refresh_minutes: 5", "refresh_minutes: often"), "refresh_minutes", ["number of minutes"]),
    (GOOD + "scheme: 2024\n", "scheme", ["legacy"]),
    (GOOD + "colour: red\n", "colour", ["unknown field", "walls/README.md"]),
    ("title: {vi: a, en: b}\nviews: []\n", "views", []),
])
def test_a_wrong_playlist_names_file_and_field(tmp_path, text, field, words):
    message = _error(tmp_path, text)
    assert f"field '{field}'" in message, message
    for word in words:
        assert word in message, message


def test_yaml_syntax_and_file_name_errors(tmp_path):
    assert "YAML syntax error at line" in _error(tmp_path, "title: {vi: a, en: b\nviews: [\n")
    assert "the file must be a mapping" in _error(tmp_path, "- view: overview\n")
    assert "file name 'Giao Ban'" in _error(tmp_path, GOOD, name="Giao Ban.yaml")


def test_a_province_written_as_a_number_is_read_as_its_code(tmp_path):
    playlist = load_playlist_file(_write(tmp_path, "a.yaml", GOOD.replace('"45"', "45")))
    assert playlist.province == "45"
    playlist = load_playlist_file(_write(tmp_path, "b.yaml", GOOD.replace('"45"', "04")))  # YAML: octal 4
    assert playlist.province == "04"


def test_every_broken_file_is_reported_at_once(tmp_path):
    _write(tmp_path, "a.yaml", GOOD.replace("seconds: 30", "seconds: 1"))
    _write(tmp_path, "b.yaml", GOOD.replace("ntm_status", "nope"))
    _write(tmp_path, "c.yaml", GOOD)
    with pytest.raises(WallConfigError) as info:
        walls.validate_directory(tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'a.yaml'}: field 'views[0].seconds'" in message
    assert f"{tmp_path / 'b.yaml'}: field 'views[1].layer'" in message
    assert "c.yaml" not in message


def test_two_files_with_one_name_are_refused(tmp_path):
    _write(tmp_path, "giao_ban.yaml", GOOD)
    _write(tmp_path, "giao_ban.yml", GOOD)
    with pytest.raises(WallConfigError, match="also"):
        load_playlists(tmp_path)


def test_a_changed_file_is_read_again(tmp_path):
    path = _write(tmp_path, "giao_ban.yaml", GOOD)
    assert load_playlists(tmp_path)["giao_ban"].views[0].seconds == 30
    path.write_text(GOOD.replace("seconds: 30", "seconds: 45"), encoding="utf-8")
    assert load_playlists(tmp_path)["giao_ban"].views[0].seconds == 45


def test_a_missing_folder_holds_no_playlist(tmp_path):
    assert load_playlists(tmp_path / "none") == {}


def test_start_up_stops_on_a_broken_playlist(tmp_path):
    """create_app validates the playlists before it touches the database."""
    from geo_dash.web.app import create_app

    shutil.copy(WALLS_DIR / "default.yaml", tmp_path / "default.yaml")
    _write(tmp_path, "giao_ban.yaml", GOOD.replace("ntm_status", "ntm"))
    with pytest.raises(WallConfigError, match=r"giao_ban\.yaml: field 'views\[1\]\.layer': unknown layer 'ntm'"):
        create_app("postgresql+psycopg://nobody@/nowhere?host=/nonexistent", Settings(walls_dir=tmp_path))


# ---------------------------------------------------------------------- what the wall plays
LAYERS = {"ntm_status", "religious_areas", "key_projects"}


@pytest.fixture
def playlists(tmp_path):
    shutil.copy(WALLS_DIR / "default.yaml", tmp_path / "default.yaml")
    _write(tmp_path, "giao_ban.yaml", GOOD.replace("refresh_minutes: 5", "refresh_minutes: 2"))
    return load_playlists(tmp_path)


def test_no_playlist_named_plays_the_default(playlists):
    plan = resolve({}, playlists, LAYERS)
    assert plan["playlist"] == "default" and plan["error"] is None
    assert [v["view"] for v in plan["views"][:3]] == ["overview", "hotspots", "mass"]
    # layers the viewer may not see are skipped
    assert [v["layer"] for v in plan["views"][3:]] == [v.layer for v in playlists["default"].views[3:]
                                                       if v.layer in LAYERS]
    assert plan["refresh"] == 300


def test_without_a_default_file_the_built_in_views_play():
    plan = resolve({}, {}, LAYERS)
    assert [v["view"] for v in plan["views"]] == ["overview", "hotspots", "mass", "overdue"]
    assert {v["seconds"] for v in plan["views"]} == {20} and plan["refresh"] == 300


def test_the_playlist_gives_durations_province_and_refresh(playlists):
    plan = resolve({"playlist": "giao_ban"}, playlists, LAYERS)
    assert [(v["view"], v["layer"], v["seconds"]) for v in plan["views"]] == [
        ("overview", None, 30), ("layer", "ntm_status", 20)]
    assert plan["province"] == "45" and plan["scheme"] == "legacy" and plan["refresh"] == 120
    assert plan["title"] == {"vi": "Giao ban", "en": "Briefing"}


def test_url_parameters_override_the_playlist(playlists):
    plan = resolve({"playlist": "giao_ban", "rotate": "7", "refresh": "45", "province": "49", "scheme": "2025"},
                   playlists, LAYERS)
    assert [v["seconds"] for v in plan["views"]] == [7, 7]
    assert plan["refresh"] == 45 and plan["province"] == "49" and plan["scheme"] == "2025"
    plan = resolve({"playlist": "giao_ban", "views": "mass,layer:religious_areas,layer:nope,weather"},
                   playlists, LAYERS)
    assert [(v["view"], v["layer"]) for v in plan["views"]] == [("mass", None), ("layer", "religious_areas")]
    # out-of-range numbers are clamped, garbage ignored
    plan = resolve({"playlist": "giao_ban", "rotate": "1", "refresh": "x"}, playlists, LAYERS)
    assert [v["seconds"] for v in plan["views"]] == [5, 5] and plan["refresh"] == 120


def test_an_unknown_playlist_is_an_error_naming_the_known_ones(playlists):
    plan = resolve({"playlist": "../../etc/passwd"}, playlists, LAYERS)
    assert plan["error"] == "unknown" and plan["known"] == ["default", "giao_ban"] and plan["views"] == []


def test_a_playlist_of_hidden_layers_still_shows_something(tmp_path):
    _write(tmp_path, "ctx.yaml", "title: {vi: a, en: b}\nviews:\n  - {view: layer, layer: ntm_status, seconds: 9}\n")
    plan = resolve({"playlist": "ctx"}, load_playlists(tmp_path), set())
    assert [v["view"] for v in plan["views"]] == ["overview"]


def test_numbers_on_the_map_do_not_cover_each_other():
    from geo_dash.web.pages.wall_page import place_labels

    bounds = [[16.0, 106.5], [17.2, 107.4]]
    anchors = [[16.9, 107.0], [16.9, 107.0], [16.905, 107.01], [16.5, 106.8]]
    spots = place_labels(anchors, bounds)
    assert spots[0] == anchors[0] and spots[3] == anchors[3]  # alone: on its commune
    coslat = math.cos(math.radians(16.6))
    step = 5.4 / min(98 / 0.9, 76 / (1.2 / coslat))  # a number's width in degrees of longitude
    for i in range(len(spots)):
        for j in range(i):
            d = ((spots[i][1] - spots[j][1]) ** 2 + ((spots[i][0] - spots[j][0]) / coslat) ** 2) ** 0.5
            assert d >= step * 0.99
