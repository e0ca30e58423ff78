"""Admin units (versioned, both schemes), crosswalk, boundary loads.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        """
        CREATE TABLE boundary_load (
            id          serial PRIMARY KEY,
            loaded_at   timestamptz NOT NULL DEFAULT now(),
            loaded_by   text,
            source      text NOT NULL,
            sha256      varchar(64),
            scheme      text,
            level       text,
            n_units     integer NOT NULL,
            n_repaired  integer NOT NULL DEFAULT 0,
            report      jsonb
        );

        CREATE TABLE admin_unit (
            id            serial PRIMARY KEY,
            scheme        varchar(8)  NOT NULL,
            level         varchar(10) NOT NULL,
            code          varchar(5)  NOT NULL,
            name          text NOT NULL,
            name_key      text NOT NULL,
            unit_type     text,
            parent_code   varchar(5),
            province_code varchar(2) NOT NULL,
            valid_from    date,
            valid_to      date,
            geom          geometry(MultiPolygon, 4326),
            geom_display  geometry(MultiPolygon, 4326),
            area_km2      double precision,
            population    bigint,
            population_source text,
            geom_source   text,
            load_id       integer REFERENCES boundary_load(id),
            CONSTRAINT uq_admin_unit_scheme_code UNIQUE (scheme, code),
            CONSTRAINT ck_admin_unit_scheme CHECK (scheme IN ('legacy', '2025')),
            CONSTRAINT ck_admin_unit_level CHECK (level IN ('province', 'district', 'commune')),
            CONSTRAINT ck_admin_unit_no_district_2025 CHECK (level <> 'district' OR scheme = 'legacy'),
            CONSTRAINT ck_admin_unit_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom)),
            CONSTRAINT ck_admin_unit_validity CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to)
        );
        CREATE INDEX ix_admin_unit_geom ON admin_unit USING gist (geom);
        CREATE INDEX ix_admin_unit_geom_display ON admin_unit USING gist (geom_display);
        CREATE INDEX ix_admin_unit_scope ON admin_unit (scheme, level, province_code);
        CREATE INDEX ix_admin_unit_parent ON admin_unit (scheme, parent_code);
        CREATE INDEX ix_admin_unit_name_key ON admin_unit (scheme, level, name_key);

        CREATE TABLE crosswalk (
            legacy_code varchar(5) NOT NULL,
            new_code    varchar(5) NOT NULL,
            weight      double precision NOT NULL,
            split       boolean NOT NULL,
            is_default  boolean NOT NULL,
            method      text NOT NULL,
            PRIMARY KEY (legacy_code, new_code),
            CONSTRAINT ck_crosswalk_weight CHECK (weight >= 0 AND weight <= 1)
        );
        CREATE INDEX ix_crosswalk_new ON crosswalk (new_code);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS crosswalk; DROP TABLE IF EXISTS admin_unit; DROP TABLE IF EXISTS boundary_load;")
