"""Monthly hotspot snapshots: frozen, versioned, scoped copies of a month's analytics.

A snapshot (``geo-dash snapshot create``, the Reports page) freezes what the briefing of one
month shows for one scope — per-commune indicators and Gi*/EHSA results, hotspots, alerts, KPIs,
NTM progress — with the analytics run, parameters and data version it was made from, and lists
the files made from it (PDF, offline HTML map, GeoPackage, XLSX, manifest) with their SHA-256.

Immutable
    A snapshot never changes: the app's role has only SELECT and INSERT on these tables, and a
    trigger refuses UPDATE, DELETE and TRUNCATE for everyone (the table owner included).
    Re-making a month for the same scheme and scope adds a new ``version`` and records in
    ``diff`` what differs from the previous one.

Who sees a snapshot (row-level security)
    ``gd_scope_contains(outer, inner)`` is true when every unit of the scope ``inner`` lies inside
    the scope ``outer`` (both in the JSON shape of ``geo_dash.security.context.scope_json``):
    ``outer`` is national; or each legacy province of ``inner`` is one of ``outer``'s; each
    legacy district is one of ``outer``'s or lies in one of its legacy provinces; each 2025
    province is one of ``outer``'s; each 2025 commune is one of ``outer``'s or lies in one of
    its 2025 provinces.  Deliberately simple: containment within one scheme, no crosswalk (a
    legacy-district snapshot is not shown to a user scoped on 2025 communes).  A national
    (``all``) snapshot is seen only by national users; an empty scope contains nothing.
    A user reads a snapshot when ``gd_scope_contains(<the request's scope>, snapshot.scope)``;
    the frozen rows follow their snapshot.  Inserting needs the same containment, a role that
    may brief (admin, leader, officer — not a wall display) and ``created_by`` = the request's
    user.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "geo_dash_app"
CHILD_TABLES = ("snapshot_commune", "snapshot_hotspot", "snapshot_alert", "snapshot_kpi", "snapshot_ntm")


def _child_policies() -> str:
    out = []
    for table in CHILD_TABLES:
        out.append(f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        CREATE POLICY {table}_read ON {table} FOR SELECT
            USING (EXISTS (SELECT 1 FROM snapshot s WHERE s.id = snapshot_id));
        CREATE POLICY {table}_insert ON {table} FOR INSERT
            WITH CHECK (EXISTS (SELECT 1 FROM snapshot s WHERE s.id = snapshot_id));
        CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION gd_snapshot_frozen();
        REVOKE ALL ON {table} FROM {APP_ROLE};
        GRANT SELECT, INSERT ON {table} TO {APP_ROLE};""")
    return "\n".join(out)


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gd_scope_contains(outer_scope jsonb, inner_scope jsonb) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            WITH o AS (
                SELECT COALESCE(outer_scope->'legacy_province', '[]') AS lp,
                       COALESCE(outer_scope->'legacy_district', '[]') AS ld,
                       COALESCE(outer_scope->'province_2025', '[]') AS np,
                       COALESCE(outer_scope->'commune_2025', '[]') AS nc
            ), i AS (
                SELECT COALESCE(inner_scope->'legacy_province', '[]') AS lp,
                       COALESCE(inner_scope->'legacy_district', '[]') AS ld,
                       COALESCE(inner_scope->'province_2025', '[]') AS np,
                       COALESCE(inner_scope->'commune_2025', '[]') AS nc
            )
            SELECT CASE
                WHEN outer_scope IS NULL OR inner_scope IS NULL THEN false
                WHEN COALESCE((outer_scope->>'all')::boolean, false) THEN true
                WHEN COALESCE((inner_scope->>'all')::boolean, false) THEN false
                ELSE (SELECT
                    jsonb_array_length(i.lp) + jsonb_array_length(i.ld) + jsonb_array_length(i.np)
                        + jsonb_array_length(i.nc) > 0
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(i.lp) x(code)
                                    WHERE NOT o.lp ? x.code)
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(i.ld) x(code)
                                    WHERE NOT o.ld ? x.code
                                      AND NOT EXISTS (SELECT 1 FROM admin_unit u
                                                      WHERE u.scheme = 'legacy' AND u.level = 'district'
                                                        AND u.code = x.code AND o.lp ? u.province_code))
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(i.np) x(code)
                                    WHERE NOT o.np ? x.code)
                    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(i.nc) x(code)
                                    WHERE NOT o.nc ? x.code
                                      AND NOT EXISTS (SELECT 1 FROM admin_unit u
                                                      WHERE u.scheme = '2025' AND u.level = 'commune'
                                                        AND u.code = x.code AND o.np ? u.province_code))
                    FROM o, i)
            END
        $$;

        CREATE FUNCTION gd_snapshot_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'snapshots are immutable: % on % refused', TG_OP, TG_TABLE_NAME; END $$;

        CREATE TABLE snapshot (
            id            serial PRIMARY KEY,
            month         date NOT NULL CHECK (extract(day FROM month) = 1),
            scheme        varchar(8) NOT NULL CHECK (scheme IN ('legacy', '2025')),
            province_code varchar(2) NOT NULL,
            scope_key     text NOT NULL,          -- canonical scope spec: 'legacy:45', 'legacy:464', '2025:19363,19366'
            scope         jsonb NOT NULL,         -- the scope in gd_scope()'s shape
            scope_label   text NOT NULL,          -- 'Tỉnh Quảng Trị', 'Huyện Vĩnh Linh — Tỉnh Quảng Trị'
            version       integer NOT NULL CHECK (version >= 1),
            created_at    timestamptz NOT NULL DEFAULT now(),
            created_by    text NOT NULL,
            as_of         date NOT NULL,          -- the analytics run's as-of date
            run_id        integer NOT NULL,       -- analytics_run.id (no FK: a snapshot outlives runs)
            data_version  text,
            params        jsonb NOT NULL,
            content_hash  varchar(64) NOT NULL,   -- sha256 of the frozen rows (geo_dash/exports/manifest.py)
            files         jsonb NOT NULL,         -- {kind: {name, sha256, bytes}}
            directory     text NOT NULL,          -- where the files were written
            is_demo       boolean NOT NULL DEFAULT false,
            diff          jsonb,                  -- what differs from the previous version (NULL for version 1)
            CONSTRAINT uq_snapshot_version UNIQUE (month, scheme, scope_key, version)
        );
        CREATE INDEX ix_snapshot_month ON snapshot (month DESC, scheme, province_code);

        CREATE TABLE snapshot_commune (
            snapshot_id   integer NOT NULL REFERENCES snapshot(id),
            commune_code  varchar(5) NOT NULL,
            name          text,
            district_code varchar(5),
            district_name text,
            population    bigint,
            intensity     double precision,
            n_new         double precision,
            new_per_10k   double precision,
            n_land        double precision,
            n_mass        double precision,
            n_over_level  double precision,
            backlog       double precision,
            overdue       double precision,
            intensity_prev double precision,      -- the month before
            n_new_prev    double precision,
            intensity_class smallint,             -- class of the map's classification (-1 = no data)
            intensity_color text,
            gi_z          double precision,       -- Gi* of the month (EHSA's last period)
            gi_p          double precision,
            gi_bin        smallint,
            ehsa_category text,
            ehsa_category_vi text,
            ehsa_explanation_vi text,
            trend_tau     double precision,
            trend_p       double precision,
            priority_dialogue boolean,
            n_alerts      integer NOT NULL DEFAULT 0,
            is_sensitive  boolean,
            sensitive_reasons text,               -- 'Vùng DTTS khu vực III; Xã biên giới'
            ntm_level     text,                   -- the NTM level's Vietnamese label (xã only)
            layer_is_demo boolean NOT NULL DEFAULT false,
            PRIMARY KEY (snapshot_id, commune_code)
        );

        CREATE TABLE snapshot_hotspot (
            snapshot_id   integer NOT NULL REFERENCES snapshot(id),
            rank          integer NOT NULL,
            commune_code  varchar(5) NOT NULL,
            name          text,
            district_name text,
            category      text,
            category_vi   text,
            explanation_vi text,
            last_z        double precision,
            n_hot         integer,
            n_alerts      integer NOT NULL,
            priority_dialogue boolean NOT NULL,
            is_hot        boolean NOT NULL,
            intensity     double precision,
            intensity_prev double precision,
            intensity_change double precision,
            PRIMARY KEY (snapshot_id, rank)
        );

        CREATE TABLE snapshot_alert (
            snapshot_id   integer NOT NULL REFERENCES snapshot(id),
            seq           integer NOT NULL,
            commune_code  varchar(5) NOT NULL,
            commune_name  text,
            district_code varchar(5),
            rule_id       text NOT NULL,
            rule_type     text NOT NULL,
            period        text NOT NULL,
            figures       jsonb NOT NULL,         -- the rule's figures without case ids
            message_vi    text NOT NULL,
            message_en    text NOT NULL,
            severity      text NOT NULL,
            priority_dialogue boolean NOT NULL,
            PRIMARY KEY (snapshot_id, seq)
        );

        CREATE TABLE snapshot_kpi (
            snapshot_id   integer NOT NULL REFERENCES snapshot(id),
            level         text NOT NULL,
            unit_code     text NOT NULL,
            unit_name     text,
            period_kind   text NOT NULL,
            period_start  date,
            period_end    date,
            received      integer,
            resolved      integer,
            resolved_on_time integer,
            resolved_on_time_pct double precision,   -- 0..100
            median_days_to_resolve double precision,
            backlog       integer,
            overdue       integer,
            mass_petitions integer,
            dialogues     integer,
            targets       jsonb NOT NULL DEFAULT '{}',
            PRIMARY KEY (snapshot_id, level, unit_code, period_kind)
        );

        CREATE TABLE snapshot_ntm (
            snapshot_id   integer NOT NULL REFERENCES snapshot(id),
            unit_code     text NOT NULL,
            unit_name     text,
            level         text NOT NULL,
            communes      integer,
            achieved      integer,
            share         double precision,
            target        double precision,
            target_year   integer,
            gap           double precision,
            no_data       integer,
            is_demo       boolean NOT NULL DEFAULT false,
            PRIMARY KEY (snapshot_id, unit_code, level)
        );

        ALTER TABLE snapshot ENABLE ROW LEVEL SECURITY;
        CREATE POLICY snapshot_read ON snapshot FOR SELECT USING (gd_scope_contains(gd_scope(), scope));
        CREATE POLICY snapshot_insert ON snapshot FOR INSERT
            WITH CHECK (gd_scope_contains(gd_scope(), scope)
                        AND current_setting('geo_dash.role', true) IN ('admin', 'leader', 'officer')
                        AND created_by = current_setting('geo_dash.user', true));
        CREATE TRIGGER snapshot_frozen BEFORE UPDATE OR DELETE OR TRUNCATE ON snapshot
            FOR EACH STATEMENT EXECUTE FUNCTION gd_snapshot_frozen();
        REVOKE ALL ON snapshot FROM geo_dash_app;
        GRANT SELECT, INSERT ON snapshot TO geo_dash_app;
        GRANT USAGE ON SEQUENCE snapshot_id_seq TO geo_dash_app;
        """
        + _child_policies()
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE IF EXISTS snapshot_ntm, snapshot_kpi, snapshot_alert, snapshot_hotspot, snapshot_commune, snapshot;
        DROP FUNCTION IF EXISTS gd_snapshot_frozen();
        DROP FUNCTION IF EXISTS gd_scope_contains(jsonb, jsonb);
        """
    )
