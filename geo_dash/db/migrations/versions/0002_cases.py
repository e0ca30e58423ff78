"""Grievance cases, their imports, change history and status history.

A case is one matter (vụ việc), never a person: there is no column for a
name, an ID number, a phone number or an address of anyone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE case_import (
            id           serial PRIMARY KEY,
            imported_at  timestamptz NOT NULL DEFAULT now(),
            imported_by  text,
            file_name    text NOT NULL,
            sha256       varchar(64),
            source       text,
            status       text NOT NULL CHECK (status IN ('committed', 'refused')),
            reason       text,
            rows_in      integer NOT NULL DEFAULT 0,
            accepted     integer NOT NULL DEFAULT 0,
            rejected     integer NOT NULL DEFAULT 0,
            created      integer NOT NULL DEFAULT 0,
            updated      integer NOT NULL DEFAULT 0,
            unchanged    integer NOT NULL DEFAULT 0,
            rejects_file text,
            report       jsonb,
            CONSTRAINT ck_case_import_balance CHECK (rows_in = accepted + rejected),
            CONSTRAINT ck_case_import_accepted CHECK (accepted = created + updated + unchanged)
        );

        CREATE TABLE grievance_case (
            id             bigserial PRIMARY KEY,
            source         text NOT NULL,      -- the dataset (unique key with external_ref)
            external_ref   text NOT NULL,
            channel        text,               -- how the petition arrived (tiếp công dân, bưu điện, chuyển đến…)
            received_date  date NOT NULL,
            kind           text NOT NULL CHECK (kind IN ('khieu_nai', 'to_cao', 'kien_nghi_phan_anh')),
            category       text NOT NULL CHECK (category IN ('dat_dai_thu_hoi', 'dat_dai_tranh_chap', 'moi_truong',
                               'tai_nguyen_khoang_san', 'che_do_chinh_sach', 'can_bo_cong_chuc', 'khac')),
            people_count   integer CHECK (people_count >= 1),
            is_mass        boolean NOT NULL,
            is_over_level  boolean NOT NULL DEFAULT false,
            is_complex     boolean NOT NULL DEFAULT false,
            handling_level text CHECK (handling_level IN ('xa', 'huyen', 'tinh', 'trung_uong')),
            status         text NOT NULL CHECK (status IN ('tiep_nhan', 'dang_giai_quyet', 'da_giai_quyet',
                               'khong_thu_ly', 'rut_don')),
            deadline_date  date NOT NULL,
            resolved_date  date CHECK (resolved_date IS NULL OR resolved_date >= received_date),
            dialogue_dates date[] NOT NULL DEFAULT '{}',
            project_name   text,
            summary        text,              -- never shown on the map, the wall or in exports
            unit_scheme    varchar(8) NOT NULL, -- the unit the case was filed in ...
            unit_code      varchar(5) NOT NULL,
            commune_legacy varchar(5),         -- ... its legacy commune (when filed on the legacy scheme)
            commune_2025   varchar(5) NOT NULL, -- ... and its 2025 commune (itself, or through the crosswalk)
            province_2025  varchar(2) NOT NULL,
            province_legacy varchar(2),
            location       geometry(Point, 4326),
            is_synthetic   boolean NOT NULL DEFAULT false,
            import_id      integer REFERENCES case_import(id),
            created_at     timestamptz NOT NULL DEFAULT now(),
            created_by     text,
            updated_at     timestamptz NOT NULL DEFAULT now(),
            updated_by     text,
            CONSTRAINT uq_case_source_ref UNIQUE (source, external_ref),
            CONSTRAINT fk_case_unit FOREIGN KEY (unit_scheme, unit_code) REFERENCES admin_unit (scheme, code)
        );
        CREATE INDEX ix_case_commune_2025 ON grievance_case (commune_2025, received_date);
        CREATE INDEX ix_case_commune_legacy ON grievance_case (commune_legacy, received_date);
        CREATE INDEX ix_case_province_2025 ON grievance_case (province_2025);
        CREATE INDEX ix_case_province_legacy ON grievance_case (province_legacy);
        CREATE INDEX ix_case_received ON grievance_case (received_date);
        CREATE INDEX ix_case_location ON grievance_case USING gist (location);

        CREATE TABLE case_history (
            id          bigserial PRIMARY KEY,
            case_id     bigint NOT NULL REFERENCES grievance_case(id) ON DELETE CASCADE,
            changed_at  timestamptz NOT NULL DEFAULT now(),
            changed_by  text,
            import_id   integer REFERENCES case_import(id),
            action      text NOT NULL CHECK (action IN ('create', 'update')),
            changes     jsonb NOT NULL            -- {"field": [old, new], ...}
        );
        CREATE INDEX ix_case_history_case ON case_history (case_id, changed_at);

        CREATE TABLE case_status_history (
            id          bigserial PRIMARY KEY,
            case_id     bigint NOT NULL REFERENCES grievance_case(id) ON DELETE CASCADE,
            status      text NOT NULL,
            changed_at  timestamptz NOT NULL DEFAULT now(),
            changed_by  text,
            import_id   integer REFERENCES case_import(id)
        );
        CREATE INDEX ix_case_status_history_case ON case_status_history (case_id, changed_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS case_status_history, case_history, grievance_case, case_import")
