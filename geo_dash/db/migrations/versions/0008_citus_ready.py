"""Citus-ready keys: the distribution column in every key of the tables that would be distributed.

Issue #9 / ``docs/scaling.md``: a country-wide deployment runs on Citus with the case tables
distributed by ``province_2025`` and the analytics tables by ``province_code``.  Citus enforces a
primary key or unique constraint only when it contains the distribution column, and a foreign key
between two distributed tables only when both are co-located and the key includes it.  This
revision changes the schema so that it already holds on a single PostgreSQL server (where the
same migrations run unchanged); it does not distribute anything (no Citus here to test that —
the ``create_distributed_table`` calls are in ``docs/scaling.md``).

Case tables (distribution column ``province_2025``)
    * ``grievance_case``: ``PRIMARY KEY (id, province_2025)`` (``id`` stays a bigserial, globally
      unique by its sequence); ``uq_case_source_ref UNIQUE (source, external_ref, province_2025)``.
      The distribution column comes last: Citus needs it *in* the key, not first, and these
      indexes then also serve the lookups by id and by (source, external_ref) across provinces.
      A reference is still **one case per (source, external_ref) across provinces**: the
      database can no longer say so (a unique constraint cannot span shards), so the one writer,
      ``geo_dash.cases.store.write_cases``, looks the keys up across provinces under an advisory
      lock on the source, and treats a hit in another province as a *move* (delete + re-insert
      with the same id and its history; Citus never updates a distribution column).
    * ``case_history``, ``case_status_history``: new column ``province_2025`` (NOT NULL, filled
      from their case), ``PRIMARY KEY (province_2025, id)``, and the foreign key to the case
      becomes ``(province_2025, case_id) REFERENCES grievance_case (province_2025, id) ON DELETE
      CASCADE`` (co-located); index ``(province_2025, case_id, changed_at)``.
    * Row-level security (0005): the history policies join their case on the distribution column
      too (``c.province_2025 = <history>.province_2025 AND c.id = case_id``) so that on Citus the
      check stays on the history row's shard.
    * ``gd_move_case``: moving a case to another province needs DELETE, which the app's role
      does not have (and must not: it never deletes cases).  This SECURITY DEFINER function
      moves one case for it, only when the request's scope allows the case both where it is and
      where it goes.  Owner connections (imports, demo loads) move with plain SQL.
    * ``gd_case_keys_taken``: which references of a source exist in any province (SECURITY
      DEFINER), so that a writer under row-level security never creates a second case for a
      reference used outside its scope (the global unique constraint used to refuse that).

Analytics tables (distribution column ``province_code``): ``cube_month``, ``gi_star_result``,
``ehsa_result``, ``alert`` and ``kpi_result`` already carry ``province_code`` in their primary
keys (0004) and have no other unique constraint and no foreign key between them (only to
``analytics_run``, a reference table): nothing changes — ``tests/db/test_citus_ready.py`` checks it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "geo_dash_app"
HISTORY_TABLES = ("case_history", "case_status_history")


def _history_policy(table: str, *, with_province: bool) -> str:
    join = f"c.province_2025 = {table}.province_2025 AND c.id = {table}.case_id" if with_province \
        else "c.id = case_id"
    return f"""
        DROP POLICY IF EXISTS {table}_scope ON {table};
        CREATE POLICY {table}_scope ON {table}
            USING (EXISTS (SELECT 1 FROM grievance_case c WHERE {join}));"""


def upgrade() -> None:
    statements = [f"""
        ALTER TABLE {t} DROP CONSTRAINT {t}_case_id_fkey;
        ALTER TABLE {t} ADD COLUMN province_2025 varchar(2);
        UPDATE {t} h SET province_2025 = c.province_2025 FROM grievance_case c WHERE c.id = h.case_id;
        ALTER TABLE {t} ALTER COLUMN province_2025 SET NOT NULL;
        ALTER TABLE {t} DROP CONSTRAINT {t}_pkey;
        ALTER TABLE {t} ADD CONSTRAINT {t}_pkey PRIMARY KEY (province_2025, id);
        DROP INDEX ix_{t}_case;
        CREATE INDEX ix_{t}_case ON {t} (province_2025, case_id, changed_at);""" for t in HISTORY_TABLES]
    statements.append("""
        -- The distribution column comes last: within a shard it has one or two values, and leading with
        -- the id / the reference keeps these indexes good for the cross-province lookups (a case by its
        -- id; one case per source + reference) without extra indexes to maintain on every insert.
        ALTER TABLE grievance_case DROP CONSTRAINT grievance_case_pkey;
        ALTER TABLE grievance_case ADD CONSTRAINT grievance_case_pkey PRIMARY KEY (id, province_2025);
        ALTER TABLE grievance_case DROP CONSTRAINT uq_case_source_ref;
        ALTER TABLE grievance_case ADD CONSTRAINT uq_case_source_ref UNIQUE (source, external_ref, province_2025);""")
    statements += [f"""
        ALTER TABLE {t} ADD CONSTRAINT fk_{t}_case FOREIGN KEY (province_2025, case_id)
            REFERENCES grievance_case (province_2025, id) ON DELETE CASCADE;""" for t in HISTORY_TABLES]
    statements += [_history_policy(t, with_province=True) for t in HISTORY_TABLES]
    statements.append(f"""
        -- Move one case to another province: delete + re-insert with the same id and its history
        -- (the distribution column is never updated).  The new placement is given as the place
        -- columns of grievance_case; the request's scope must allow the case where it is and where
        -- it goes.  Everything else about the case is updated afterwards by the caller, under RLS.
        CREATE FUNCTION gd_move_case(p_id bigint, p_from varchar, p_place jsonb) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            moving grievance_case;
            p_to varchar := p_place->>'province_2025';
        BEGIN
            SELECT * INTO moving FROM grievance_case WHERE province_2025 = p_from AND id = p_id FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'gd_move_case: no case % in province %', p_id, p_from;
            END IF;
            IF p_to IS NULL OR p_to = p_from THEN
                RAISE EXCEPTION 'gd_move_case: case % is not moving (to %)', p_id, p_to;
            END IF;
            IF NOT gd_scope_allows(moving.province_legacy, moving.district_legacy, moving.province_2025,
                                   moving.commune_2025)
               OR NOT gd_scope_allows(p_place->>'province_legacy', p_place->>'district_legacy', p_to,
                                      p_place->>'commune_2025') THEN
                RAISE EXCEPTION 'gd_move_case: case % may not be moved from % to % in this scope', p_id, p_from, p_to
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            -- the new keys (p_to, id) do not collide with the old (p_from, id): insert the copies first,
            -- then delete the old rows (their history by cascade); every other column is kept
            INSERT INTO grievance_case SELECT r.* FROM jsonb_populate_record(moving, jsonb_build_object(
                'province_2025', p_to, 'province_legacy', p_place->'province_legacy',
                'district_legacy', p_place->'district_legacy', 'commune_legacy', p_place->'commune_legacy',
                'commune_2025', p_place->'commune_2025', 'unit_scheme', p_place->'unit_scheme',
                'unit_code', p_place->'unit_code')) r;
            INSERT INTO case_history SELECT r.* FROM case_history h
                CROSS JOIN LATERAL jsonb_populate_record(h, jsonb_build_object('province_2025', p_to)) r
                WHERE h.province_2025 = p_from AND h.case_id = p_id;
            INSERT INTO case_status_history SELECT r.* FROM case_status_history h
                CROSS JOIN LATERAL jsonb_populate_record(h, jsonb_build_object('province_2025', p_to)) r
                WHERE h.province_2025 = p_from AND h.case_id = p_id;
            DELETE FROM grievance_case WHERE province_2025 = p_from AND id = p_id;
        END $$;
        REVOKE ALL ON FUNCTION gd_move_case(bigint, varchar, jsonb) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION gd_move_case(bigint, varchar, jsonb) TO {APP_ROLE};

        -- Which of these references of a source are already used, in any province?  The app's role
        -- sees only its scope's cases; a reference used elsewhere must not become a second case.
        CREATE FUNCTION gd_case_keys_taken(p_source text, p_refs text[]) RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT external_ref FROM grievance_case WHERE source = p_source AND external_ref = ANY(p_refs)
        $$;
        REVOKE ALL ON FUNCTION gd_case_keys_taken(text, text[]) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION gd_case_keys_taken(text, text[]) TO {APP_ROLE};""")
    op.execute("\n".join(statements))


def downgrade() -> None:
    statements = ["DROP FUNCTION IF EXISTS gd_move_case(bigint, varchar, jsonb);",
                  "DROP FUNCTION IF EXISTS gd_case_keys_taken(text, text[]);"]
    statements += [_history_policy(t, with_province=False) for t in HISTORY_TABLES]
    statements += [f"""
        ALTER TABLE {t} DROP CONSTRAINT fk_{t}_case;
        ALTER TABLE {t} DROP CONSTRAINT {t}_pkey;
        ALTER TABLE {t} ADD CONSTRAINT {t}_pkey PRIMARY KEY (id);
        DROP INDEX ix_{t}_case;
        CREATE INDEX ix_{t}_case ON {t} (case_id, changed_at);
        ALTER TABLE {t} DROP COLUMN province_2025;""" for t in HISTORY_TABLES]
    statements.append("""
        ALTER TABLE grievance_case DROP CONSTRAINT uq_case_source_ref;
        ALTER TABLE grievance_case ADD CONSTRAINT uq_case_source_ref UNIQUE (source, external_ref);
        ALTER TABLE grievance_case DROP CONSTRAINT grievance_case_pkey;
        ALTER TABLE grievance_case ADD CONSTRAINT grievance_case_pkey PRIMARY KEY (id);""")
    statements += [f"""
        ALTER TABLE {t} ADD CONSTRAINT {t}_case_id_fkey FOREIGN KEY (case_id)
            REFERENCES grievance_case (id) ON DELETE CASCADE;""" for t in HISTORY_TABLES]
    op.execute("\n".join(statements))
