"""The bundled boundaries, loaded into the real PostGIS: counts, validity, nesting, crosswalk."""

import pytest
from sqlalchemy import text

# Expected counts from data/boundaries/SOURCES.md (vietnamadminunits official lists).
LEGACY = {  # province code: (name, districts, communes)
    "24": ("Tỉnh Bắc Giang", 10, 192),
    "45": ("Tỉnh Quảng Trị", 10, 119),
    "49": ("Tỉnh Quảng Nam", 17, 233),
    "54": ("Tỉnh Phú Yên", 9, 106),
    "58": ("Tỉnh Ninh Thuận", 7, 62),
}
NEW_2025 = {  # the 2025 provinces the five became part of
    "24": ("Tỉnh Bắc Ninh", 99),
    "44": ("Tỉnh Quảng Trị", 78),
    "48": ("Thành phố Đà Nẵng", 94),
    "66": ("Tỉnh Đắk Lắk", 102),
    "56": ("Tỉnh Khánh Hòa", 65),
}
FOCUS = tuple(LEGACY)


def _count(conn, scheme, level, province=None):
    sql = "SELECT count(*) FROM admin_unit WHERE scheme = :s AND level = :l"
    if province:
        sql += " AND province_code = :p"
    return conn.execute(text(sql), dict(s=scheme, l=level, p=province)).scalar_one()


def test_national_counts(loaded_engine):
    with loaded_engine.connect() as conn:
        assert _count(conn, "legacy", "province") == 63
        assert _count(conn, "legacy", "district") == 696
        assert _count(conn, "legacy", "commune") == 10035
        assert _count(conn, "2025", "province") == 34
        assert _count(conn, "2025", "commune") == 3321
        assert _count(conn, "2025", "district") == 0


@pytest.mark.parametrize("code", FOCUS)
def test_legacy_counts_per_focus_province(loaded_engine, code):
    name, districts, communes = LEGACY[code]
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM admin_unit WHERE scheme='legacy' AND level='province' AND code=:c"),
                            {"c": code}).scalar_one() == name
        assert _count(conn, "legacy", "district", code) == districts
        assert _count(conn, "legacy", "commune", code) == communes
        # every commune of the focus provinces has a polygon
        with_geom = conn.execute(text("SELECT count(*) FROM admin_unit WHERE scheme='legacy' AND level='commune' "
                                      "AND province_code=:c AND geom IS NOT NULL"), {"c": code}).scalar_one()
        assert with_geom == communes


@pytest.mark.parametrize("code", tuple(NEW_2025))
def test_2025_counts(loaded_engine, code):
    name, communes = NEW_2025[code]
    with loaded_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM admin_unit WHERE scheme='2025' AND level='province' AND code=:c"),
                            {"c": code}).scalar_one() == name
        assert _count(conn, "2025", "commune", code) == communes


def test_validity_dates_follow_the_reform(loaded_engine):
    with loaded_engine.connect() as conn:
        rows = conn.execute(text("SELECT scheme, min(valid_from), max(valid_from), min(valid_to), max(valid_to) "
                                 "FROM admin_unit GROUP BY scheme ORDER BY scheme")).all()
    by = {r[0]: r[1:] for r in rows}
    assert str(by["2025"][0]) == "2025-07-01" and by["2025"][2] is None
    assert str(by["legacy"][2]) == str(by["legacy"][3]) == "2025-06-30"


def test_every_geometry_valid_multipolygon_4326(loaded_engine):
    with loaded_engine.connect() as conn:
        bad = conn.execute(text("""
            SELECT count(*) FROM admin_unit
            WHERE geom IS NOT NULL AND (NOT ST_IsValid(geom) OR ST_SRID(geom) <> 4326
                  OR GeometryType(geom) <> 'MULTIPOLYGON'
                  OR (geom_display IS NOT NULL AND NOT ST_IsValid(geom_display)))
        """)).scalar_one()
        missing_display = conn.execute(text(
            "SELECT count(*) FROM admin_unit WHERE geom IS NOT NULL AND geom_display IS NULL")).scalar_one()
    assert bad == 0
    assert missing_display == 0


@pytest.mark.parametrize("code", FOCUS)
def test_every_commune_inside_its_district_and_province(loaded_engine, code):
    """Districts and provinces are dissolved from communes: nesting holds up to float noise."""
    with loaded_engine.connect() as conn:
        outside = conn.execute(text("""
            SELECT c.code, ST_Area(ST_Difference(c.geom, d.geom)) / ST_Area(c.geom) AS share
            FROM admin_unit c JOIN admin_unit d ON d.scheme = 'legacy' AND d.code = c.parent_code
            WHERE c.scheme = 'legacy' AND c.level = 'commune' AND c.province_code = :p
              AND ST_Area(ST_Difference(c.geom, d.geom)) / ST_Area(c.geom) > 0.001
        """), {"p": code}).all()
        in_province = conn.execute(text("""
            SELECT count(*) FROM admin_unit c JOIN admin_unit p ON p.scheme = 'legacy' AND p.code = c.province_code
            WHERE c.scheme = 'legacy' AND c.level = 'district' AND c.province_code = :p
              AND ST_Area(ST_Difference(c.geom, p.geom)) / ST_Area(c.geom) <= 0.001
        """), {"p": code}).scalar_one()
    assert outside == []
    assert in_province == LEGACY[code][1]


@pytest.mark.parametrize("scheme,code", [("legacy", c) for c in FOCUS] + [("2025", c) for c in NEW_2025])
def test_no_two_communes_overlap_more_than_a_sliver(loaded_engine, scheme, code):
    with loaded_engine.connect() as conn:
        overlaps = conn.execute(text("""
            SELECT a.code, b.code, ST_Area(geography(ST_Intersection(a.geom, b.geom))) AS m2
            FROM admin_unit a JOIN admin_unit b
              ON b.scheme = a.scheme AND b.level = 'commune' AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
            WHERE a.scheme = :s AND a.level = 'commune' AND a.province_code = :p
              AND ST_Area(geography(ST_Intersection(a.geom, b.geom))) > 1000
        """), {"s": scheme, "p": code}).all()
    assert overlaps == [], f"overlaps above 1,000 m²: {overlaps[:5]}"


def test_display_geometry_keeps_neighbours_without_gaps_or_overlaps(loaded_engine):
    """Coverage simplification: neighbours in the display geometry do not overlap either."""
    with loaded_engine.connect() as conn:
        overlaps = conn.execute(text("""
            SELECT count(*) FROM admin_unit a JOIN admin_unit b
              ON b.scheme = a.scheme AND b.level = 'commune' AND a.code < b.code
             AND ST_Intersects(a.geom_display, b.geom_display)
            WHERE a.scheme = '2025' AND a.level = 'commune' AND a.province_code = '44'
              AND ST_Area(geography(ST_Intersection(a.geom_display, b.geom_display))) > 1000
        """)).scalar_one()
        vertices = conn.execute(text("""SELECT sum(ST_NPoints(geom)), sum(ST_NPoints(geom_display)) FROM admin_unit
                                        WHERE scheme = '2025' AND level = 'commune'""")).one()
    assert overlaps == 0
    assert vertices[1] < vertices[0]  # it does simplify


def test_crosswalk_covers_focus_provinces_and_weights_sum_to_one(loaded_engine):
    with loaded_engine.connect() as conn:
        unmapped = conn.execute(text("""
            SELECT l.code FROM admin_unit l LEFT JOIN crosswalk c ON c.legacy_code = l.code
            WHERE l.scheme = 'legacy' AND l.level = 'commune' AND l.province_code = ANY(:p) AND c.legacy_code IS NULL
        """), {"p": list(FOCUS)}).all()
        bad_sums = conn.execute(text("""
            SELECT legacy_code, sum(weight) FROM crosswalk GROUP BY legacy_code HAVING abs(sum(weight) - 1) > 1e-9
        """)).all()
        targets_exist = conn.execute(text("""
            SELECT count(*) FROM crosswalk c LEFT JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
            WHERE n.code IS NULL""")).scalar_one()
        split = conn.execute(text("""SELECT method, count(*) FROM crosswalk WHERE split GROUP BY method""")).all()
    assert unmapped == []
    assert bad_sums == []
    assert targets_exist == 0
    assert dict(split).get("area", 0) > 0


def test_split_commune_weights_are_area_shares(loaded_engine):
    """For a split legacy commune the weights equal the shares of its area in each new commune."""
    with loaded_engine.connect() as conn:
        legacy_code = conn.execute(text("""
            SELECT c.legacy_code FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
            WHERE c.split AND c.method = 'area' AND l.province_code = ANY(:p) ORDER BY c.legacy_code LIMIT 1
        """), {"p": list(FOCUS)}).scalar_one()
        rows = conn.execute(text("""
            SELECT c.new_code, c.weight, ST_Area(geography(ST_Intersection(l.geom, n.geom))) AS a
            FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
            JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code WHERE c.legacy_code = :c
        """), {"c": legacy_code}).all()
    total = sum(r.a for r in rows)
    assert len(rows) >= 2
    for r in rows:
        assert r.weight == pytest.approx(r.a / total, abs=1e-9)


def test_population_is_carried_to_2025_communes(loaded_engine):
    with loaded_engine.connect() as conn:
        legacy, new = conn.execute(text("""
            SELECT (SELECT sum(population) FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'),
                   (SELECT sum(population) FROM admin_unit WHERE scheme = '2025' AND level = 'commune')
        """)).one()
    # the crosswalk moves people between units; it neither creates nor loses them (rounding aside)
    assert abs(new - legacy) / legacy < 0.001
