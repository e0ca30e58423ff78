"""The schema is ready for Citus (issue #9, docs/scaling.md): read from the catalogue of a migrated database.

Citus enforces a primary key, unique constraint or unique index of a distributed table only when it
contains the distribution column, and a foreign key between distributed tables only when they are
co-located and the key includes the distribution column on both sides.  Reference tables may hold any
constraint; a distributed table may reference a reference table, never a coordinator-local one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

# docs/scaling.md's table plan: table -> distribution column; every other table is a reference or a local table
DISTRIBUTED = {
    "grievance_case": "province_2025",
    "case_history": "province_2025",
    "case_status_history": "province_2025",
    "cube_month": "province_code",
    "gi_star_result": "province_code",
    "ehsa_result": "province_code",
    "alert": "province_code",
    "kpi_result": "province_code",
}
REFERENCE = {
    "admin_unit", "crosswalk", "boundary_load", "case_import", "layer_import", "layer_value", "key_project",
    "industrial_zone", "ntm_target", "sensitive_area", "analytics_run", "app_user", "user_scope", "wall_token",
    "snapshot", "snapshot_commune", "snapshot_hotspot", "snapshot_alert", "snapshot_kpi", "snapshot_ntm",
}
LOCAL = {"audit_log", "alembic_version", "spatial_ref_sys"}
SCALING = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def _keys(conn, kinds: str) -> list[tuple[str, str, str, list[str], str | None, list[str]]]:
    """(table, constraint, kind, columns, referenced table, referenced columns) of public tables."""
    rows = conn.execute(text("""
        SELECT c.conrelid::regclass::text, c.conname, c.contype::text,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
               CASE WHEN c.confrelid <> 0 THEN c.confrelid::regclass::text END,
               ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
        WHERE c.contype = ANY(:kinds)"""), {"kinds": list(kinds)}).all()
    return [tuple(r) for r in rows]


def test_every_table_has_a_place_in_the_citus_plan(loaded_engine):
    with loaded_engine.connect() as conn:
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    unplanned = tables - set(DISTRIBUTED) - REFERENCE - LOCAL
    assert not unplanned, f"tables without a Citus plan (add them to docs/scaling.md and to this test): {unplanned}"
    assert set(DISTRIBUTED) <= tables


def test_distributed_tables_have_the_distribution_column_in_every_unique_key(loaded_engine):
    with loaded_engine.connect() as conn:
        keys = _keys(conn, "pux")
        unique_indexes = conn.execute(text("""
            SELECT t.relname::text, i.relname::text,
                   ARRAY(SELECT a.attname::text FROM unnest(x.indkey) k(n)
                         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n)
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
            WHERE x.indisunique""")).all()
        not_null = dict(conn.execute(text("""
            SELECT c.table_name::text, c.is_nullable = 'NO' FROM information_schema.columns c
            WHERE c.table_schema = 'public' AND (c.table_name, c.column_name) IN (SELECT * FROM unnest(CAST(:t AS text[]), CAST(:c AS text[])))"""),
            {"t": list(DISTRIBUTED), "c": list(DISTRIBUTED.values())}).all())
    assert not_null == {t: True for t in DISTRIBUTED}, "distribution columns must exist and be NOT NULL"
    primary = {table for table, _, kind, *_ in keys if kind == "p"}
    assert set(DISTRIBUTED) <= primary, "every distributed table has a primary key"
    bad = [(table, name, cols) for table, name, kind, cols, *_ in keys
           if table in DISTRIBUTED and DISTRIBUTED[table] not in cols]
    bad += [(table, name, cols) for table, name, cols in unique_indexes
            if table in DISTRIBUTED and DISTRIBUTED[table] not in cols]
    assert not bad, f"unique keys without the distribution column: {bad}"
    # the keys the case model relies on
    by_name = {(t, n): cols for t, n, _, cols, *_ in keys}
    assert by_name[("grievance_case", "grievance_case_pkey")] == ["id", "province_2025"]
    assert by_name[("grievance_case", "uq_case_source_ref")] == ["source", "external_ref", "province_2025"]
    assert by_name[("case_history", "case_history_pkey")] == ["province_2025", "id"]
    assert by_name[("case_status_history", "case_status_history_pkey")] == ["province_2025", "id"]


def test_foreign_keys_are_colocated_or_point_at_reference_tables(loaded_engine):
    with loaded_engine.connect() as conn:
        fks = _keys(conn, "f")
    assert fks
    between = []
    for table, name, _, cols, target, target_cols in fks:
        if table in DISTRIBUTED and target in DISTRIBUTED:
            between.append(name)
            dist, target_dist = DISTRIBUTED[table], DISTRIBUTED[target]
            assert dist in cols and target_dist in target_cols, f"{name}: {cols} -> {target}{target_cols}"
            assert cols.index(dist) == target_cols.index(target_dist), f"{name}: distribution columns not paired"
        elif table in DISTRIBUTED:
            assert target in REFERENCE, f"{name}: distributed {table} -> {target}, which is not a reference table"
        elif table in REFERENCE:
            assert target in REFERENCE, f"{name}: reference {table} -> {target} (only reference -> reference)"
    assert sorted(between) == ["fk_case_history_case", "fk_case_status_history_case"]


def test_history_policies_join_their_case_on_the_distribution_column(loaded_engine):
    with loaded_engine.connect() as conn:
        quals = dict(conn.execute(text("""SELECT tablename::text, qual FROM pg_policies
                                          WHERE tablename IN ('case_history', 'case_status_history')""")).all())
    assert set(quals) == {"case_history", "case_status_history"}
    for table, qual in quals.items():
        plain = re.sub(r"[()]|::text", "", qual)
        assert f"c.province_2025 = {table}.province_2025 AND c.id = {table}.case_id" in plain, qual


@pytest.mark.parametrize("table", sorted(DISTRIBUTED))
def test_scaling_doc_distributes_every_distributed_table(table):
    doc = SCALING.read_text(encoding="utf-8")
    assert re.search(rf"create_distributed_table\('{table}', '{DISTRIBUTED[table]}'", doc), table


def test_scaling_doc_makes_the_reference_tables_reference_tables():
    doc = SCALING.read_text(encoding="utf-8")
    missing = [t for t in sorted(REFERENCE) if f"create_reference_table('{t}')" not in doc]
    assert not missing, missing
