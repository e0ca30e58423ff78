"""Hostile and broken files: each is refused or handled with a clear message, and nothing changes."""

import datetime as dt
import zipfile

import openpyxl
import pyogrio
import pytest
import shapely
import geopandas as gpd
from sqlalchemy import text

from geo_dash.boundaries.io import BoundaryFileError
from geo_dash.boundaries.load import load_file
from geo_dash.cases.importer import import_file

AS_OF = dt.date(2025, 10, 1)
HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Mã xã"]


def _count(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one()


def test_oversized_file_is_refused(scratch_engine, tmp_path):
    f = tmp_path / "big.csv"
    f.write_text(",".join(HEADER) + "\n" + "A,01/01/2024,Khiếu nại,Khác,19741\n" * 2000, encoding="utf-8")
    rep = import_file(scratch_engine, f, as_of=AS_OF, max_bytes=10_000)
    assert rep.status == "refused" and "file too large" in rep.reason
    assert _count(scratch_engine) == 0


def test_zip_bomb_is_refused_before_reading(scratch_engine, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xa.shp", b"\0" * (300 * 1024 * 1024))
        zf.writestr("xa.shx", b"\0" * 100)
        zf.writestr("xa.dbf", b"\0" * 100)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(BoundaryFileError, match="zip bomb"):
        load_file(scratch_engine, bomb, scheme="legacy")


@pytest.mark.parametrize("name", ["../../etc/xa.shp", "/tmp/xa.shp", "C:/xa.shp"])
def test_zip_with_path_traversal_names_is_refused(scratch_engine, tmp_path, name):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(name, b"x")
    with pytest.raises(BoundaryFileError, match="unsafe path"):
        load_file(scratch_engine, z, scheme="legacy")


def test_broken_zip_is_refused(scratch_engine, tmp_path):
    z = tmp_path / "broken.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(BoundaryFileError, match="broken zip"):
        load_file(scratch_engine, z, scheme="legacy")


def test_xlsx_formulas_and_external_links_are_not_evaluated(scratch_engine, tmp_path):
    """Cells are read as values only: a formula is never run and a link never followed."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(['=HYPERLINK("http://example.invalid/x","REF-1")', "=TODAY()", "Khiếu nại", "Khác", "19741"])
    ws.append(["REF-2", "=[1]Sheet1!A1", "Khiếu nại", "Khác", "19741"])
    ws.append(["REF-3", "05/03/2024", "Khiếu nại", "Khác", "19741"])
    f = tmp_path / "formulas.xlsx"
    wb.save(f)
    rep = import_file(scratch_engine, f, as_of=AS_OF)
    assert rep.status == "committed"
    assert (rep.rows_in, rep.accepted, rep.rejected) == (3, 1, 2)
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT external_ref FROM grievance_case")).scalars().all() == ["REF-3"]


def test_text_in_an_unknown_encoding_is_refused_clearly(scratch_engine, tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes(",".join(HEADER).encode("utf-8") + b"\nA,01/01/2024,Khi\x81u n\x90i,Kh\xff\xfe,19741\n")
    rep = import_file(scratch_engine, f, as_of=AS_OF)
    # not UTF-8, and bytes Windows-1258 leaves undefined: refused, asking for "CSV UTF-8"
    assert rep.status == "refused" and "encoding" in rep.reason and "UTF-8" in rep.reason
    assert _count(scratch_engine) == 0


def test_shapefile_without_prj_and_self_intersections_are_handled(scratch_engine, tmp_path):
    """(Covered in depth by tests/boundaries/test_load_file.py; here as one hostile-input checklist.)"""
    bowtie = shapely.Polygon([(107.1, 16.7), (107.2, 16.8), (107.2, 16.7), (107.1, 16.8), (107.1, 16.7)])
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"ma_xa": ["19741"]}, geometry=[bowtie]).to_file(folder / "xa.shp")  # no CRS -> no .prj
    z = tmp_path / "xa.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    with pytest.raises(BoundaryFileError, match="unknown CRS"):
        load_file(scratch_engine, z, scheme="legacy")
    summary = load_file(scratch_engine, z, scheme="legacy", crs="EPSG:4326")
    assert len(summary.repaired) == 1
