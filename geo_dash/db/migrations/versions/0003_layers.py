"""Context layers: imports, per-unit layer values, key projects, industrial zones,
NTM targets, the derived sensitive-area flags, and the grievance-by-month view
the grievance layers read.

Ethnicity and religion (the ethnic-minority region and religious-area values)
are context only: they raise the priority of dialogue, never a hotspot score.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- one row per import of a layer file (or per demo load): provenance and the row balance
        CREATE TABLE layer_import (
            id           serial PRIMARY KEY,
            imported_at  timestamptz NOT NULL DEFAULT now(),
            imported_by  text,
            layer_id     text NOT NULL,
            file_name    text NOT NULL,
            sha256       varchar(64),
            scheme       varchar(8) CHECK (scheme IS NULL OR scheme IN ('legacy', '2025')),
            source       text,              -- who published the data (provenance shown in the legend)
            source_date  text,              -- as the publisher dates it: 2024, 2024-06, 2024-06-30
            licence      text,
            source_crs   text,
            is_demo      boolean NOT NULL DEFAULT false,
            status       text NOT NULL CHECK (status IN ('committed', 'refused')),
            reason       text,
            rows_in      integer NOT NULL DEFAULT 0,
            accepted     integer NOT NULL DEFAULT 0,
            rejected     integer NOT NULL DEFAULT 0,
            report       jsonb,
            CONSTRAINT ck_layer_import_balance CHECK (rows_in = accepted + rejected)
        );
        CREATE INDEX ix_layer_import_layer ON layer_import (layer_id, imported_at);

        -- values of the per-unit layers, long format: one row per layer, field, unit and period
        CREATE TABLE layer_value (
            id          bigserial PRIMARY KEY,
            layer_id    text NOT NULL,
            field       text NOT NULL,
            scheme      varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            unit_code   varchar(5) NOT NULL,
            period      date,               -- NULL = static; else the date the value holds from
            value_num   double precision,
            value_text  text,
            is_demo     boolean NOT NULL DEFAULT false,
            derived     text,               -- NULL = as imported; 'crosswalk' = carried from legacy units
            import_id   integer REFERENCES layer_import(id),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_layer_value_some CHECK (value_num IS NOT NULL OR value_text IS NOT NULL),
            CONSTRAINT uq_layer_value UNIQUE NULLS NOT DISTINCT (layer_id, field, scheme, unit_code, period)
        );
        CREATE INDEX ix_layer_value_read ON layer_value (layer_id, scheme, unit_code);

        CREATE TABLE key_project (
            id                     serial PRIMARY KEY,
            layer_id               text NOT NULL DEFAULT 'key_projects',
            external_ref           text,
            name                   text NOT NULL,
            investor_type          text CHECK (investor_type IN ('nha_nuoc', 'tu_nhan', 'fdi', 'ppp', 'khac')),
            land_area_ha           double precision CHECK (land_area_ha >= 0),
            households_affected    integer CHECK (households_affected >= 0),
            clearance_progress_pct double precision CHECK (clearance_progress_pct BETWEEN 0 AND 100),
            clearance_status       text NOT NULL DEFAULT 'chua_bat_dau'
                                   CHECK (clearance_status IN ('chua_bat_dau', 'dang_thuc_hien', 'hoan_thanh', 'tam_dung')),
            start_date             date,
            geom                   geometry(Geometry, 4326) NOT NULL,
            is_demo                boolean NOT NULL DEFAULT false,
            import_id              integer REFERENCES layer_import(id),
            created_at             timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_key_project_geom CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)
                                                  AND GeometryType(geom) IN ('POINT', 'MULTIPOINT', 'POLYGON', 'MULTIPOLYGON'))
        );
        CREATE INDEX ix_key_project_geom ON key_project USING gist (geom);
        CREATE UNIQUE INDEX uq_key_project_ref ON key_project (layer_id, external_ref) WHERE external_ref IS NOT NULL;

        CREATE TABLE industrial_zone (
            id             serial PRIMARY KEY,
            layer_id       text NOT NULL DEFAULT 'industrial_zones',
            external_ref   text,
            name           text NOT NULL,
            zone_type      text NOT NULL DEFAULT 'khu' CHECK (zone_type IN ('khu', 'cum')),
            area_ha        double precision CHECK (area_ha >= 0),
            occupancy_pct  double precision CHECK (occupancy_pct BETWEEN 0 AND 100),
            status         text CHECK (status IN ('hoat_dong', 'dang_xay_dung', 'quy_hoach')),
            geom           geometry(Geometry, 4326) NOT NULL,
            is_demo        boolean NOT NULL DEFAULT false,
            import_id      integer REFERENCES layer_import(id),
            created_at     timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_industrial_zone_geom CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)
                                                      AND GeometryType(geom) IN ('POINT', 'MULTIPOINT', 'POLYGON', 'MULTIPOLYGON'))
        );
        CREATE INDEX ix_industrial_zone_geom ON industrial_zone USING gist (geom);
        CREATE UNIQUE INDEX uq_industrial_zone_ref ON industrial_zone (layer_id, external_ref) WHERE external_ref IS NOT NULL;

        -- New Rural Development targets: share of communes at (or above) each level by a year
        CREATE TABLE ntm_target (
            id            serial PRIMARY KEY,
            scheme        varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            unit_code     varchar(5) NOT NULL,       -- a province (or a legacy district)
            year          integer NOT NULL CHECK (year BETWEEN 2010 AND 2100),
            level         text NOT NULL CHECK (level IN ('dat_chuan', 'nang_cao', 'kieu_mau')),
            target_share  double precision NOT NULL CHECK (target_share BETWEEN 0 AND 1),
            source        text,
            is_seed       boolean NOT NULL DEFAULT false,
            CONSTRAINT uq_ntm_target UNIQUE (scheme, unit_code, year, level)
        );
        INSERT INTO ntm_target (scheme, unit_code, year, level, target_share, source, is_seed) VALUES
            ('legacy', '54', 2025, 'dat_chuan', 0.80,
             'Chỉ tiêu NTM tỉnh Phú Yên đến 2025 (seed example from the provincial resolution; verify before use)', true),
            ('legacy', '54', 2025, 'nang_cao', 0.15,
             'Chỉ tiêu NTM tỉnh Phú Yên đến 2025 (seed example from the provincial resolution; verify before use)', true),
            ('legacy', '54', 2025, 'kieu_mau', 0.05,
             'Chỉ tiêu NTM tỉnh Phú Yên đến 2025 (seed example from the provincial resolution; verify before use)', true);

        -- derived per-commune "sensitive area" flags (geo_dash.layers.sensitivity.refresh_sensitivity)
        CREATE TABLE sensitive_area (
            scheme        varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            unit_code     varchar(5) NOT NULL,
            province_code varchar(2) NOT NULL,
            em_region     boolean NOT NULL DEFAULT false,
            religious     boolean NOT NULL DEFAULT false,
            near_project  boolean NOT NULL DEFAULT false,
            border        boolean NOT NULL DEFAULT false,
            is_sensitive  boolean GENERATED ALWAYS AS (em_region OR religious OR near_project OR border) STORED,
            reasons       jsonb NOT NULL DEFAULT '[]',
            is_demo       boolean NOT NULL DEFAULT false,   -- some input flag came from demo values
            computed_at   timestamptz NOT NULL DEFAULT now(),
            params        jsonb,
            PRIMARY KEY (scheme, unit_code)
        );
        CREATE INDEX ix_sensitive_area_scope ON sensitive_area (scheme, province_code);

        -- grievance cases by commune and month, on both schemes (the grievance layers' source;
        -- the analytics cube replaces it later by changing the table name in layers/*.yaml).
        -- security_invoker: the reader's row-level security on grievance_case applies through the view.
        CREATE VIEW layer_grievance_month WITH (security_invoker = true) AS
            SELECT 'legacy'::varchar(8) AS scheme, commune_legacy AS unit_code,
                   date_trunc('month', received_date)::date AS period,
                   kind, category, status, is_mass, is_over_level, is_synthetic,
                   count(*)::integer AS n_cases, COALESCE(sum(people_count), 0)::integer AS n_people
            FROM grievance_case WHERE commune_legacy IS NOT NULL
            GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
            UNION ALL
            SELECT '2025'::varchar(8), commune_2025, date_trunc('month', received_date)::date,
                   kind, category, status, is_mass, is_over_level, is_synthetic,
                   count(*)::integer, COALESCE(sum(people_count), 0)::integer
            FROM grievance_case
            GROUP BY 2, 3, 4, 5, 6, 7, 8, 9;
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP VIEW IF EXISTS layer_grievance_month; "
        "DROP TABLE IF EXISTS sensitive_area, ntm_target, industrial_zone, key_project, layer_value, layer_import"
    )
