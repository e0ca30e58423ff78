"""Reading boundary files of any CRS, and cleaning their geometry.

Accepted: GeoJSON, GeoPackage, a zipped Shapefile (``.zip`` holding ``.shp``,
``.shx``, ``.dbf`` and ideally ``.prj``), and anything else GDAL reads.  The CRS
comes from the file (a ``.prj``, the GeoPackage's SRS, GeoJSON = EPSG:4326), or
from an explicit ``crs`` which overrides it.  Everything is reprojected to
EPSG:4326 and checked to lie in Vietnam.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from pyogrio.errors import DataSourceError, DataLayerError

from geo_dash.boundaries.crs import parse_crs

# Vietnam including the Paracel (Hoàng Sa) and Spratly (Trường Sa) islands, in lon/lat.
VIETNAM_BBOX = (101.0, 6.0, 118.0, 24.0)


class BoundaryFileError(ValueError):
    """A boundary file that cannot be used. ``problems`` lists the details (one per line)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or []
        super().__init__(message + ("".join(f"\n  - {p}" for p in self.problems[:50])
                                    + (f"\n  … (+{len(self.problems) - 50})" if len(self.problems) > 50 else "")))


@dataclass
class CleanReport:
    repaired: list[str] = field(default_factory=list)   # "feature 12: Self-intersection[...]"
    source_crs: str = ""


MAX_ZIP_MEMBERS = 1000
MAX_UNZIPPED_BYTES = 2 * 1024**3      # 2 GiB in all
MAX_ZIP_RATIO = 200                   # uncompressed / compressed, per member


def check_zip(path: Path) -> list[str]:
    """Refuse zip bombs and path tricks before GDAL reads anything. Returns the member names."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise BoundaryFileError(f"tệp zip hỏng (broken zip file): {exc}") from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise BoundaryFileError(f"tệp zip có quá nhiều tệp (too many files in zip: {len(infos)})")
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in Path(name.replace("\\", "/")).parts or ":" in name:
            raise BoundaryFileError(f"tệp zip có đường dẫn không an toàn (unsafe path in zip): {name}")
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 10 * 1024**2:
            raise BoundaryFileError(f"tệp zip bất thường, nghi là “bom zip” (suspicious compression ratio, zip bomb?): {name}")
    if total > MAX_UNZIPPED_BYTES:
        raise BoundaryFileError("tệp zip giải nén quá lớn (zip expands to more than 2 GiB)")
    return [i.filename for i in infos]


def _gdal_path(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        names = check_zip(path)
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps:
            others = [n for n in names if n.lower().endswith((".gpkg", ".geojson", ".json"))]
            if len(others) == 1:
                return f"/vsizip/{path}/{others[0]}"
            raise BoundaryFileError(f"tệp zip không chứa Shapefile (no .shp in {path.name})")
        if len(shps) > 1:
            raise BoundaryFileError(f"tệp zip chứa nhiều Shapefile (several .shp in {path.name}): {', '.join(shps)}")
        return f"/vsizip/{path}/{shps[0]}"
    return str(path)


def read_boundary_file(path: str | Path, crs: str | None = None, layer: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Read a boundary file and return it in EPSG:4326 with the name of its source CRS."""
    path = Path(path)
    if not path.exists():
        raise BoundaryFileError(f"không tìm thấy tệp (file not found): {path}")
    src = _gdal_path(path)
    try:
        gdf = pyogrio.read_dataframe(src, layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        raise BoundaryFileError(f"không đọc được tệp (cannot read {path.name}): {exc}") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        raise BoundaryFileError(f"tệp không có hình học (no geometry in {path.name})")
    if crs:
        try:
            target = parse_crs(crs)
        except ValueError as exc:
            raise BoundaryFileError(str(exc)) from exc
        gdf = gdf.set_crs(target, allow_override=True)
    elif gdf.crs is None:
        raise BoundaryFileError(
            f"không xác định được hệ tọa độ (unknown CRS) of {path.name}: the file has no .prj/CRS. "
            "Give one with --crs, e.g. --crs EPSG:3405 (VN-2000 UTM 48N), --crs vn2000:45 (the province's TM-3 zone) "
            "or --crs EPSG:4326."
        )
    source_crs = gdf.crs.name or gdf.crs.to_string()
    gdf = gdf.to_crs(4326)
    xmin, ymin, xmax, ymax = VIETNAM_BBOX
    valid = gdf.geometry.notna() & ~gdf.geometry.is_empty
    outside = valid & ~gdf.geometry.intersects(shapely.box(xmin, ymin, xmax, ymax))
    if outside.any():
        raise BoundaryFileError(
            f"sau khi chuyển hệ tọa độ, {int(outside.sum())} đối tượng nằm ngoài Việt Nam "
            f"({int(outside.sum())} features lie outside Vietnam after reprojection from {source_crs}: wrong CRS?). "
            "Check the file's .prj or give the right one with --crs.",
        )
    return gdf, source_crs


def polygonal(geom):
    """The polygonal part of a geometry as a MultiPolygon (None when there is none)."""
    if geom is None or geom.is_empty:
        return None
    polys, stack = [], [geom]
    while stack:
        g = stack.pop()
        if g.geom_type == "Polygon" and not g.is_empty:
            polys.append(g)
        elif hasattr(g, "geoms"):
            stack.extend(g.geoms)
    return shapely.MultiPolygon(polys) if polys else None


def clean_geometries(gdf: gpd.GeoDataFrame, labels: list[str] | None = None) -> tuple[gpd.GeoDataFrame, CleanReport]:
    """Make every geometry a valid MultiPolygon, reporting what was repaired.

    Raises BoundaryFileError listing features that have no usable polygon
    (empty, points or lines only, or nothing left after repair).
    """
    labels = labels or [f"feature {i + 1}" for i in range(len(gdf))]
    report, problems, out = CleanReport(), [], []
    for label, geom in zip(labels, gdf.geometry):
        if geom is None or geom.is_empty:
            problems.append(f"{label}: không có hình học (no geometry)")
            out.append(None)
            continue
        if not shapely.is_valid(geom):
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom, method="structure")
            report.repaired.append(f"{label}: {reason}")
        poly = polygonal(geom)
        if poly is None or poly.area == 0:
            problems.append(f"{label}: không phải vùng (not a polygon: {geom.geom_type})")
        out.append(poly)
    if problems:
        raise BoundaryFileError("hình học không dùng được (unusable geometry)", problems)
    return gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=out, crs=gdf.crs), report
