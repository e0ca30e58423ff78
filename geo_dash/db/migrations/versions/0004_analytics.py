"""Analytics: the space-time cube and the derived results (Gi*, EHSA, alerts, KPIs), with their runs.

Every table here is *derived*: written only by ``geo_dash.analytics.refresh.refresh`` (one
transaction per run) and read by ``geo_dash.analytics.read``.  Every derived row carries the
``run_id`` of the run that computed it and that run's ``as_of`` date, so a screen or an export can
say "as of …".  ``province_code`` is part of every primary key: it is the distribution column if
the tables are ever sharded (Citus).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# One cube column per category code of grievance_case.category (0002), then the other components.
_CATEGORIES = ("dat_dai_thu_hoi", "dat_dai_tranh_chap", "moi_truong", "tai_nguyen_khoang_san",
               "che_do_chinh_sach", "can_bo_cong_chuc", "khac")
_COUNTS = tuple(f"new_{c}" for c in _CATEGORIES) + (
    "n_new", "n_mass", "n_over_level", "n_land", "backlog", "overdue", "resolved", "resolved_on_time", "dialogues",
)
# per-10,000-people rates, NULL where the population is unknown
_RATES = {"new_per_10k": "n_new", "mass_per_10k": "n_mass", "over_level_per_10k": "n_over_level",
          "land_per_10k": "n_land", "backlog_per_10k": "backlog", "overdue_per_10k": "overdue"}


def _cube_sql() -> str:
    counts = ",\n            ".join(f"{c} double precision NOT NULL DEFAULT 0" for c in _COUNTS)
    rates = ",\n            ".join(
        f"{r} double precision GENERATED ALWAYS AS "
        f"(CASE WHEN population > 0 THEN {c} * 10000.0 / population END) STORED"
        for r, c in _RATES.items()
    )
    return f"""
        -- commune x month, on one scheme; counts are fractional on the 2025 scheme (crosswalk weights)
        CREATE TABLE cube_month (
            scheme        varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code varchar(2) NOT NULL,
            commune_code  varchar(5) NOT NULL,
            month         date NOT NULL CHECK (extract(day FROM month) = 1),
            district_code varchar(5),          -- legacy scheme only (no districts since 2025-07-01)
            population    bigint,              -- admin_unit.population (NULL = unknown)
            {counts},
            intensity_count double precision NOT NULL DEFAULT 0,   -- weighted sum of the components
            intensity       double precision NOT NULL DEFAULT 0,   -- per 10,000 people (see intensity.yaml)
            population_imputed boolean NOT NULL DEFAULT false,     -- intensity used the province median population
            {rates},
            run_id        integer NOT NULL REFERENCES analytics_run(id),
            as_of         date NOT NULL,
            PRIMARY KEY (scheme, province_code, commune_code, month)
        );
        CREATE INDEX ix_cube_month_month ON cube_month (scheme, province_code, month);
        CREATE INDEX ix_cube_month_commune ON cube_month (scheme, commune_code, month);
    """


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE analytics_run (
            id           serial PRIMARY KEY,
            started_at   timestamptz NOT NULL DEFAULT now(),
            finished_at  timestamptz,
            scheme       varchar(8) CHECK (scheme IS NULL OR scheme IN ('legacy', '2025')),  -- NULL = both
            from_month   date,                 -- NULL = full refresh
            as_of        date,
            params       jsonb NOT NULL DEFAULT '{}',
            data_version text,                 -- 'import:<max case_import.id>;cases:<count>;updated:<max updated_at>'
            status       text NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
            error        text,
            run_by       text
        );
        CREATE INDEX ix_analytics_run_status ON analytics_run (status, finished_at);
        """
    )
    op.execute(_cube_sql())
    op.execute(
        """
        CREATE TABLE gi_star_result (
            scheme        varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code varchar(2) NOT NULL,
            commune_code  varchar(5) NOT NULL,
            month         date NOT NULL,
            value         double precision NOT NULL,   -- the cube value the statistic was computed on
            z             double precision NOT NULL,
            p             double precision NOT NULL,   -- two-sided
            p_fdr_cut     double precision NOT NULL,   -- the province-month's significance cut-off
            bin           smallint NOT NULL CHECK (bin BETWEEN -3 AND 3),
            significant   boolean NOT NULL,
            run_id        integer NOT NULL REFERENCES analytics_run(id),
            as_of         date NOT NULL,
            PRIMARY KEY (scheme, province_code, commune_code, month)
        );
        CREATE INDEX ix_gi_star_month ON gi_star_result (scheme, province_code, month);

        CREATE TABLE ehsa_result (
            scheme         varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code  varchar(2) NOT NULL,
            commune_code   varchar(5) NOT NULL,
            category       text NOT NULL,
            category_vi    text NOT NULL,
            explanation_vi text NOT NULL,
            trend_tau      double precision,
            trend_p        double precision,
            n_periods      integer NOT NULL,
            n_hot          integer NOT NULL,
            n_cold         integer NOT NULL,
            final_run      integer NOT NULL,
            last_z         double precision,
            last_p         double precision,
            last_bin       smallint,
            window_start   date NOT NULL,
            window_end     date NOT NULL,
            priority_dialogue boolean NOT NULL DEFAULT false,  -- hotspot in a sensitive area; never changes the statistic
            run_id         integer NOT NULL REFERENCES analytics_run(id),
            as_of          date NOT NULL,
            PRIMARY KEY (scheme, province_code, commune_code)
        );
        CREATE INDEX ix_ehsa_category ON ehsa_result (scheme, province_code, category);

        CREATE TABLE alert (
            id             bigserial,
            scheme         varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code  varchar(2) NOT NULL,
            district_code  varchar(5),
            commune_code   varchar(5) NOT NULL,
            rule_id        text NOT NULL,
            rule_type      text NOT NULL,
            period         text NOT NULL,
            figures        jsonb NOT NULL,
            message_vi     text NOT NULL,
            message_en     text NOT NULL,
            severity       text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            priority_dialogue boolean NOT NULL DEFAULT false,
            run_id         integer NOT NULL REFERENCES analytics_run(id),
            as_of          date NOT NULL,
            PRIMARY KEY (province_code, id)
        );
        CREATE INDEX ix_alert_scope ON alert (scheme, province_code, commune_code);

        CREATE TABLE kpi_result (
            scheme         varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code  varchar(2) NOT NULL,
            level          text NOT NULL CHECK (level IN ('commune', 'district', 'province')),
            unit_code      varchar(5) NOT NULL,
            period_kind    text NOT NULL CHECK (period_kind IN ('month', '12m', 'ytd')),
            period_start   date NOT NULL,
            period_end     date NOT NULL,
            received       integer NOT NULL,
            resolved       integer NOT NULL,
            resolved_on_time integer NOT NULL,
            resolved_on_time_pct double precision,
            median_days_to_resolve double precision,
            backlog        integer NOT NULL,
            overdue        integer NOT NULL,
            mass_petitions integer NOT NULL,
            dialogues      integer NOT NULL,
            targets        jsonb NOT NULL DEFAULT '{}',  -- {metric: {target, gap, meets_target}}
            run_id         integer NOT NULL REFERENCES analytics_run(id),
            as_of          date NOT NULL,
            PRIMARY KEY (scheme, province_code, level, unit_code, period_kind),
            CONSTRAINT ck_kpi_no_district_2025 CHECK (level <> 'district' OR scheme = 'legacy')
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS kpi_result, alert, ehsa_result, gi_star_result, cube_month, analytics_run")
