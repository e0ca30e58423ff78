"""Demo data in the database: same writer as imports, marked synthetic, idempotent, removable."""

from sqlalchemy import text

from geo_dash.demo.generator import generate_cases, load_bundled_units
from geo_dash.demo.load import demo_present, load_demo, remove_demo


def test_demo_load_is_marked_idempotent_and_removable(scratch_engine):
    assert not demo_present(scratch_engine)
    first = load_demo(scratch_engine, seed=7)
    expected = len(generate_cases(load_bundled_units(), seed=7))
    assert first["rows"] == first["created"] == expected
    again = load_demo(scratch_engine, seed=7)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, expected)
    with scratch_engine.connect() as conn:
        n, synthetic, sources = conn.execute(text(
            "SELECT count(*), bool_and(is_synthetic), array_agg(DISTINCT source) FROM grievance_case")).one()
        rates = dict(conn.execute(text("""
            SELECT u.code, count(c.id)::float / u.population AS rate FROM admin_unit u
            LEFT JOIN grievance_case c ON c.commune_legacy = u.code
            WHERE u.scheme = 'legacy' AND u.level = 'commune' AND u.parent_code = '470' GROUP BY u.code, u.population
        """)).all())
        imports = conn.execute(text("SELECT count(*) FROM case_import WHERE source = 'demo-synthetic'")).scalar_one()
    assert n == expected and synthetic is True and sources == ["demo-synthetic"]
    median = sorted(rates.values())[len(rates) // 2]
    assert rates["19741"] > 2 * median  # Hải Khê (Hải Lăng), a complex case named in Quảng Trị's report
    assert imports == 2
    assert remove_demo(scratch_engine) == expected
    assert not demo_present(scratch_engine)
