"""NTM progress per province and district equals values computed by hand on fixture data."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geo_dash.db.migrate import upgrade
from geo_dash.layers.data import LayerDataError, ntm_progress, set_ntm_target
from geo_dash.layers.imports import import_layer

# Phú Yên (legacy 54) has 106 communes of which 82 are xã; Sông Hinh district (561) has 10 xã
# and the town Hai Riêng (22207).  Counts from data/boundaries (2025 code list).
PHU_YEN_XA = 82
SONG_HINH_XA = 10
SONG_HINH = [  # (code, level, year): 4 not yet, 3 standard, 2 advanced, 1 model
    ("22210", "chua_dat", ""), ("22213", "chua_dat", ""), ("22216", "chua_dat", ""), ("22219", "chua_dat", ""),
    ("22222", "dat_chuan", "2016"), ("22225", "dat_chuan", "2019"), ("22228", "dat_chuan", "2020"),
    ("22231", "nang_cao", "2023"), ("22234", "nang_cao", "2024"),
    ("22237", "kieu_mau", "2024"),
    ("22207", "kieu_mau", "2022"),  # Thị trấn Hai Riêng: a town, not subject to NTM — must not count
]
TUY_AN = [("22117", "dat_chuan", "2018"), ("22120", "dat_chuan", "2021")]  # two xã of Tuy An (559)


@pytest.fixture(autouse=True)
def _template_free(loaded_engine):
    loaded_engine.dispose()


@pytest.fixture
def ntm_db(scratch_engine, tmp_path):
    upgrade(scratch_engine)
    path = tmp_path / "ntm.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Mã xã", "Mức NTM", "Năm đạt"])
        w.writerows(SONG_HINH + TUY_AN)
    res = import_layer(scratch_engine, "ntm_status", path)
    assert (res.accepted, res.rejected) == (13, 0)
    return scratch_engine


def test_fixture_counts_are_what_the_hand_computation_assumes(ntm_db):
    with ntm_db.connect() as conn:
        rows = conn.execute(text("SELECT code, name, unit_type, parent_code FROM admin_unit WHERE scheme = 'legacy' "
                                 "AND level = 'commune' AND province_code = '54'")).all()
    from geo_dash.layers.data import is_rural_commune

    xa = [r for r in rows if is_rural_commune(r.unit_type, r.name)]
    assert len(rows) == 106 and len(xa) == PHU_YEN_XA
    assert sum(r.parent_code == "561" for r in xa) == SONG_HINH_XA
    assert {r.code for r in rows if r.code in ("22117", "22120")} == {"22117", "22120"}
    assert {r.parent_code for r in rows if r.code in ("22117", "22120")} == {"559"}


def test_province_progress_against_the_seeded_targets(ntm_db):
    df = ntm_progress(ntm_db, "legacy", "54").set_index("level")
    assert list(df.index) == ["dat_chuan", "nang_cao", "kieu_mau"]
    assert (df["communes"] == PHU_YEN_XA).all()
    # at or above each level: standard 3 + 2 + 1 (Sông Hinh) + 2 (Tuy An) = 8; advanced 2 + 1 = 3; model 1
    assert df.loc["dat_chuan", "achieved"] == 8 and df.loc["nang_cao", "achieved"] == 3
    assert df.loc["kieu_mau", "achieved"] == 1
    assert df.loc["dat_chuan", "share"] == pytest.approx(8 / 82)      # 9.76 %
    assert df.loc["nang_cao", "share"] == pytest.approx(3 / 82)       # 3.66 %
    assert df.loc["kieu_mau", "share"] == pytest.approx(1 / 82)       # 1.22 %
    # Phú Yên 2025: 80 % standard, 15 % advanced, 5 % model (seeded by the migration)
    assert df["target"].tolist() == [0.80, 0.15, 0.05] and (df["target_year"] == 2025).all()
    assert df.loc["dat_chuan", "gap"] == pytest.approx(8 / 82 - 0.80)  # -70.24 points
    assert (df["no_data"] == PHU_YEN_XA - 12).all()                    # 70 xã without a value
    assert not df["is_demo"].any()
    assert df["unit_name"].iloc[0] == "Tỉnh Phú Yên"


def test_district_progress_and_district_targets(ntm_db):
    set_ntm_target(ntm_db, "legacy", "561", 2025, "dat_chuan", 0.5, source="test")
    df = ntm_progress(ntm_db, "legacy", "54", by="district")
    sh = df[df["unit_code"] == "561"].set_index("level")
    assert (sh["communes"] == SONG_HINH_XA).all() and (sh["no_data"] == 0).all()
    assert sh["achieved"].tolist() == [6, 3, 1]
    assert sh["share"].tolist() == pytest.approx([0.6, 0.3, 0.1])
    assert sh.loc["dat_chuan", "target"] == 0.5 and sh.loc["dat_chuan", "gap"] == pytest.approx(0.1)
    assert sh.loc["nang_cao", "target"] is None or sh["target"].isna()["nang_cao"]
    tuy_an = df[df["unit_code"] == "559"].set_index("level")
    assert tuy_an.loc["dat_chuan", "achieved"] == 2 and tuy_an.loc["dat_chuan", "communes"] == 14
    assert set(df["unit_code"]) == {"555", "557", "558", "559", "560", "561", "562", "563", "564"}


def test_targets_are_validated_and_replaceable(ntm_db):
    with pytest.raises(LayerDataError):
        set_ntm_target(ntm_db, "legacy", "54", 2025, "dat_chuan", 80)  # a share, not a percentage
    with pytest.raises(LayerDataError):
        set_ntm_target(ntm_db, "legacy", "54", 2025, "tot", 0.8)
    set_ntm_target(ntm_db, "legacy", "54", 2030, "dat_chuan", 0.9)
    df = ntm_progress(ntm_db, "legacy", "54").set_index("level")
    assert df.loc["dat_chuan", "target"] == 0.9 and df.loc["dat_chuan", "target_year"] == 2030  # the latest year
    df = ntm_progress(ntm_db, "legacy", "54", target_year=2025).set_index("level")
    assert df.loc["dat_chuan", "target"] == 0.8
    with pytest.raises(LayerDataError, match="no districts"):
        ntm_progress(ntm_db, "2025", "66", by="district")


def test_cli_ntm(ntm_db, monkeypatch):
    from geo_dash.cli_layers import layers
    from geo_dash.db import engine as engine_mod

    monkeypatch.setenv("GEO_DASH_DATABASE_URL", ntm_db.url.render_as_string(hide_password=False))
    engine_mod._engine.cache_clear()
    out = CliRunner().invoke(layers, ["ntm", "54"])
    assert out.exit_code == 0, out.output
    assert "8/82" in out.output and "80% (2025)" in out.output
    engine_mod._engine.cache_clear()
