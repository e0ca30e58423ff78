"""Coordinate reference systems, VN-2000 included.

Files from provincial Departments of Agriculture and Environment are usually in
VN-2000: either the 6° UTM zones (EPSG:3405 zone 48N, EPSG:3406 zone 49N) or the
provincial 3° transverse Mercator zones (TM-3, scale factor 0.9999) whose central
meridians are set per province by Circular 973/2001/TT-TCĐC.  The TM-3 zones are
not in the EPSG registry, so they are built here as projected CRSs on the
VN-2000 geographic CRS (EPSG:4756); PROJ then applies the same datum shift to
WGS 84 as for EPSG:3405 (the seven parameters of Decision 05/2007/QĐ-BTNMT).

``parse_crs`` accepts anything pyproj accepts (``EPSG:3405``, WKT, PROJ strings)
plus two shortcuts:

* ``vn2000:<legacy province code>`` - the province's TM-3 zone, e.g. ``vn2000:45`` (Quảng Trị, 106°15');
* ``vn2000-tm3:<central meridian in degrees>`` - any TM-3 zone, e.g. ``vn2000-tm3:106.25``.
"""

from __future__ import annotations

from pyproj import CRS
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.exceptions import CRSError

VN2000_GEOGRAPHIC = 4756

# Central meridians (degrees) of the provincial TM-3 zones, by legacy province code
# (Circular 973/2001/TT-TCĐC, appendix).  Check a file's .prj when in doubt: a
# wrong meridian shifts everything by kilometres and the loader refuses features
# that land outside Vietnam, but not ones that land in the wrong district.
TM3_CENTRAL_MERIDIANS: dict[str, float] = {
    "01": 105.00,  # Hà Nội
    "24": 107.00,  # Bắc Giang
    "22": 107.75,  # Quảng Ninh
    "31": 105.75,  # Hải Phòng
    "38": 105.00,  # Thanh Hóa
    "40": 104.75,  # Nghệ An
    "42": 105.50,  # Hà Tĩnh
    "44": 106.00,  # Quảng Bình
    "45": 106.25,  # Quảng Trị
    "46": 107.00,  # Thừa Thiên Huế
    "48": 107.75,  # Đà Nẵng
    "49": 107.75,  # Quảng Nam
    "51": 108.00,  # Quảng Ngãi
    "52": 108.25,  # Bình Định
    "54": 108.50,  # Phú Yên
    "56": 108.25,  # Khánh Hòa
    "58": 108.25,  # Ninh Thuận
    "60": 108.50,  # Bình Thuận
    "62": 107.50,  # Kon Tum
    "64": 108.50,  # Gia Lai
    "66": 108.50,  # Đắk Lắk
    "68": 107.75,  # Lâm Đồng
    "75": 107.75,  # Đồng Nai
    "77": 107.75,  # Bà Rịa - Vũng Tàu
    "79": 105.75,  # TP Hồ Chí Minh
}


def vn2000_tm3(central_meridian: float) -> CRS:
    """The VN-2000 TM-3 zone with the given central meridian (k = 0.9999, false easting 500 km)."""
    conversion = TransverseMercatorConversion(
        latitude_natural_origin=0,
        longitude_natural_origin=central_meridian,
        false_easting=500000,
        false_northing=0,
        scale_factor_natural_origin=0.9999,
    )
    return CRS(ProjectedCRS(conversion=conversion, geodetic_crs=CRS.from_epsg(VN2000_GEOGRAPHIC),
                            name=f"VN-2000 / TM-3 {central_meridian:g}"))


def parse_crs(text: str) -> CRS:
    """A CRS from user input; raises ValueError with a readable message."""
    value = text.strip()
    low = value.lower()
    try:
        if low.startswith("vn2000-tm3:"):
            return vn2000_tm3(float(value.split(":", 1)[1]))
        if low.startswith("vn2000:"):
            code = value.split(":", 1)[1].strip().zfill(2)
            if code not in TM3_CENTRAL_MERIDIANS:
                raise ValueError(
                    f"không biết kinh tuyến trục VN-2000 của tỉnh {code} (no TM-3 meridian known for province {code}); "
                    "use vn2000-tm3:<meridian>, e.g. vn2000-tm3:106.25"
                )
            return vn2000_tm3(TM3_CENTRAL_MERIDIANS[code])
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise ValueError(f"hệ tọa độ không hợp lệ (invalid CRS) {text!r}: {exc}") from exc
