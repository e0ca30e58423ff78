from sqlalchemy import create_engine, inspect, text

from geo_dash.db.migrate import current_revision, head_revision, upgrade


def test_migrations_create_schema_from_empty_and_are_repeatable(empty_db):
    engine = create_engine(empty_db)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"admin_unit", "crosswalk", "boundary_load", "alembic_version"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")).scalar() == "postgis"
        conn.execute(text("INSERT INTO boundary_load (source, n_units) VALUES ('x', 0)"))
        conn.commit()
    # a second run is harmless and keeps the data
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM boundary_load")).scalar() == 1
    engine.dispose()


def test_schema_rejects_a_district_in_the_2025_scheme(empty_db):
    engine = create_engine(empty_db)
    upgrade(engine)
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="ck_admin_unit_no_district_2025"):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO admin_unit (scheme, level, code, name, name_key, province_code) "
                              "VALUES ('2025', 'district', '999', 'x', 'x', '99')"))
    engine.dispose()


def test_geometry_has_gist_index(loaded_engine):
    with loaded_engine.connect() as conn:
        idx = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'admin_unit'")).scalars().all()
    assert any("gist (geom)" in i for i in idx)
