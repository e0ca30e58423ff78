"""The writer's one-pass placement gives what the crosswalk rule says, for every kind of case.

The rule (README, store.py): the 2025 commune of a legacy case is, among the crosswalk targets of its
commune, the first that contains the case's point, else the first by (is_default, weight, code); a
2025 case is its own commune.  The expectation is computed here with the rule's plain statement
(the writer's former five-update placement) over what was written.
"""

import datetime as dt

from sqlalchemy import text

from geo_dash.cases import store

EXPECTED_2025 = """
    SELECT DISTINCT ON (g.external_ref) g.external_ref, c.new_code
    FROM grievance_case g JOIN crosswalk c ON c.legacy_code = g.unit_code
    LEFT JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
    WHERE g.unit_scheme = 'legacy' AND g.source = 'placement'
    ORDER BY g.external_ref, COALESCE(g.location IS NOT NULL AND ST_Contains(n.geom, g.location), false) DESC,
             c.is_default DESC, c.weight DESC, c.new_code
"""


def test_one_pass_placement_follows_the_crosswalk_rule(scratch_engine):
    with scratch_engine.connect() as conn:
        # points inside each target of split communes (and outside all of them), plain communes, 2025 communes
        split = conn.execute(text("""
            SELECT c.legacy_code, ST_X(p), ST_Y(p) FROM (
                SELECT c.legacy_code, ST_PointOnSurface(ST_Intersection(l.geom, n.geom)) AS p
                FROM crosswalk c JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = c.legacy_code
                JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
                WHERE c.split AND c.weight > 0.05
                ORDER BY c.legacy_code, c.new_code LIMIT 60) c
            WHERE NOT ST_IsEmpty(p)""")).all()
        plain = conn.execute(text("""SELECT legacy_code FROM crosswalk WHERE NOT split ORDER BY legacy_code
                                     LIMIT 40""")).scalars().all()
        new = conn.execute(text("""SELECT code FROM admin_unit WHERE scheme = '2025' AND level = 'commune'
                                   ORDER BY code LIMIT 20""")).scalars().all()
    base = dict(source="placement", channel=None, received_date=dt.date(2024, 4, 3), kind="khieu_nai",
                category="khac", people_count=1, is_mass=False, is_over_level=False, is_complex=False,
                handling_level=None, status="tiep_nhan", deadline_date=dt.date(2024, 5, 3), resolved_date=None,
                dialogue_dates=[], project_name=None, summary=None, is_synthetic=False)
    records = []
    for i, (code, lon, lat) in enumerate(split):
        records.append({**base, "external_ref": f"S{i}", "scheme": "legacy", "commune_code": code, "lon": lon, "lat": lat})
        records.append({**base, "external_ref": f"S{i}-far", "scheme": "legacy", "commune_code": code,
                        "lon": 103.0, "lat": 22.0})  # inside none of its targets
        records.append({**base, "external_ref": f"S{i}-none", "scheme": "legacy", "commune_code": code,
                        "lon": None, "lat": None})
    for i, code in enumerate(plain):
        records.append({**base, "external_ref": f"P{i}", "scheme": "legacy", "commune_code": code, "lon": None, "lat": None})
    for i, code in enumerate(new):
        records.append({**base, "external_ref": f"N{i}", "scheme": "2025", "commune_code": code, "lon": None, "lat": None})
    assert len(split) > 10
    with scratch_engine.begin() as conn:
        counts = store.write_cases(conn, store.records_frame(records), import_id=None, actor="test")
    assert counts.created == len(records)
    with scratch_engine.connect() as conn:
        expected = dict(conn.execute(text(EXPECTED_2025)).all())
        got = dict(conn.execute(text("""SELECT external_ref, commune_2025 FROM grievance_case
                                        WHERE source = 'placement' AND unit_scheme = 'legacy'""")).all())
        assert got == expected
        # the point chose a non-default target at least once (the case the rule is for)
        defaults = dict(conn.execute(text("SELECT legacy_code, new_code FROM crosswalk WHERE is_default")).all())
        assert any(got[f"S{i}"] != defaults[code] for i, (code, _, _) in enumerate(split))
        wrong = conn.execute(text("""
            SELECT count(*) FROM grievance_case g
            LEFT JOIN admin_unit l ON l.scheme = 'legacy' AND l.code = g.commune_legacy
            JOIN admin_unit n ON n.scheme = '2025' AND n.code = g.commune_2025
            WHERE g.source = 'placement' AND (
                n.province_code IS DISTINCT FROM g.province_2025
                OR (g.unit_scheme = 'legacy' AND (g.commune_legacy IS DISTINCT FROM g.unit_code
                    OR l.province_code IS DISTINCT FROM g.province_legacy OR l.parent_code IS DISTINCT FROM g.district_legacy))
                OR (g.unit_scheme = '2025' AND (g.commune_2025 <> g.unit_code OR g.commune_legacy IS NOT NULL
                    OR g.province_legacy IS NOT NULL OR g.district_legacy IS NOT NULL))
                OR ((g.location IS NULL) <> (g.external_ref NOT LIKE 'S%' OR g.external_ref LIKE '%-none')))
        """)).scalar_one()
    assert wrong == 0
