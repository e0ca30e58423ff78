"""Writing cases to the database: the only writer of ``grievance_case``.

One call = one transaction: cases are staged with COPY, placed on both schemes
(the unit they were filed in, its legacy commune, and its 2025 commune through
the crosswalk — the target containing the case's point when it has one, else the
crosswalk's default target), then upserted by ``(source, external_ref)``.
Every update writes ``case_history`` (field: [old, new]) and every status change
``case_status_history``.  A creation is recorded on the case itself (``created_at``,
``created_by``, ``import_id``) and as the first row of its status history.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from geo_dash.cases.parsing import CaseColumns, Coded, objects

# Columns of a case record as the parser and the demo generator produce them.
RECORD_COLUMNS = (
    "source", "external_ref", "channel", "received_date", "kind", "category", "people_count", "is_mass", "is_over_level",
    "is_complex", "handling_level", "status", "deadline_date", "resolved_date", "dialogue_dates", "project_name",
    "summary", "scheme", "commune_code", "lon", "lat", "is_synthetic",
)

# Fields compared on re-import; a difference in any of them is an update with history.
TRACKED_FIELDS = (
    "channel", "received_date", "kind", "category", "people_count", "is_mass", "is_over_level", "is_complex", "handling_level",
    "status", "deadline_date", "resolved_date", "dialogue_dates", "project_name", "summary", "unit_scheme",
    "unit_code", "commune_2025", "location",
)

# The records as the parser gives them (COPY target), then placed in one pass into case_stage.
_RAW = """
CREATE TEMP TABLE case_raw (
    source text, external_ref text, channel text, received_date date, kind text, category text, people_count integer,
    is_mass boolean, is_over_level boolean, is_complex boolean, handling_level text, status text,
    deadline_date date, resolved_date date, dialogue_dates date[], project_name text, summary text,
    unit_scheme varchar(8), unit_code varchar(5), lon double precision, lat double precision, is_synthetic boolean
) ON COMMIT DROP
"""

_STAGE_COLS = (
    "source", "external_ref", "channel", "received_date", "kind", "category", "people_count", "is_mass", "is_over_level",
    "is_complex", "handling_level", "status", "deadline_date", "resolved_date", "dialogue_dates", "project_name",
    "summary", "unit_scheme", "unit_code", "lon", "lat", "is_synthetic",
)

# Placement, in one statement: the point; the legacy commune with its district and province; the 2025
# commune (itself, or through the crosswalk: among the targets of a split commune the first that contains
# the case's point, else the crosswalk's default — the first by is_default, weight, code); its province.
_PLACE = """
CREATE TEMP TABLE case_stage ON COMMIT DROP AS
WITH r AS (
    SELECT r.*, CASE WHEN r.lon IS NOT NULL AND r.lat IS NOT NULL
                     THEN ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END AS location
    FROM case_raw r
), target AS (
    SELECT DISTINCT ON (c.legacy_code) c.legacy_code, c.new_code,
           count(*) OVER (PARTITION BY c.legacy_code) > 1 AS several
    FROM crosswalk c
    WHERE c.legacy_code IN (SELECT unit_code FROM case_raw WHERE unit_scheme = 'legacy')
    ORDER BY c.legacy_code, c.is_default DESC, c.weight DESC, c.new_code
)
SELECT r.*, lu.code AS commune_legacy, p.commune_2025, nu.province_code AS province_2025,
       lu.province_code AS province_legacy, lu.parent_code AS district_legacy
FROM r
LEFT JOIN admin_unit lu ON r.unit_scheme = 'legacy' AND lu.scheme = 'legacy' AND lu.code = r.unit_code
LEFT JOIN target t ON r.unit_scheme = 'legacy' AND t.legacy_code = r.unit_code
LEFT JOIN LATERAL (
    SELECT c.new_code FROM crosswalk c JOIN admin_unit n ON n.scheme = '2025' AND n.code = c.new_code
    WHERE t.several AND r.location IS NOT NULL  -- evaluated first: only located cases of split communes look
      AND c.legacy_code = r.unit_code AND ST_Contains(n.geom, r.location)
    ORDER BY c.is_default DESC, c.weight DESC, c.new_code LIMIT 1
) inside ON true
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.unit_scheme = 'legacy' THEN COALESCE(inside.new_code, t.new_code)
                WHEN r.unit_scheme = '2025' THEN r.unit_code END AS commune_2025
) p
LEFT JOIN admin_unit nu ON nu.scheme = '2025' AND nu.code = p.commune_2025
"""


# A load that at least doubles the case table (and is of BULK_MIN_ROWS new cases or more) does what
# pg_restore does: the plain indexes of the tables it fills are built once after the insert, and the
# foreign key between them is checked in one pass, instead of both being maintained row by row (at
# 1,000,000 cases that was most of the import: every status-history row's key check also locked its case
# row).  The DDL is part of the import's transaction, so a failure restores all of it; until commit it
# holds an ACCESS EXCLUSIVE lock on these two tables (and no other), so readers of cases wait for the load.  Smaller imports, and
# writers under row-level security (the app's role, which may not run DDL), never take this path.
BULK_MIN_ROWS = 50_000
BULK_TABLES = ("grievance_case", "case_status_history")

_BULK_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY (CAST(:tables AS regclass[]))
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)  -- PK and unique stay
ORDER BY 1
"""
# Only keys between the tables being filled: dropping a foreign key locks the table it points to as well
# (ACCESS EXCLUSIVE, until commit), and every page reads admin_unit; the keys to admin_unit and case_import
# stay and are checked row by row.
_BULK_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.conrelid = ANY (CAST(:tables AS regclass[])) AND c.confrelid = ANY (CAST(:tables AS regclass[]))
ORDER BY 1, 2
"""


@dataclass
class BulkPlan:
    """What a bulk load drops and builds again: (index name, its CREATE INDEX) and
    (table, constraint name, its definition) of the foreign keys between the tables."""
    indexes: list[tuple[str, str]]
    foreign_keys: list[tuple[str, str, str]]

    @classmethod
    def of(cls, conn: Connection, tables=BULK_TABLES) -> "BulkPlan":
        params = {"tables": list(tables)}
        return cls([tuple(r) for r in conn.execute(text(_BULK_INDEXES), params)],
                   [tuple(r) for r in conn.execute(text(_BULK_FOREIGN_KEYS), params)])

    def drop(self, conn: Connection) -> None:
        q = conn.dialect.identifier_preparer.quote
        for table, name, _ in self.foreign_keys:
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {q(name)}"))
        for name, _ in self.indexes:
            conn.execute(text(f"DROP INDEX {name}"))

    def build(self, conn: Connection) -> None:
        """The indexes again, then the foreign keys: each checked over the whole table in one query."""
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for _, ddl in self.indexes:
            conn.execute(text(ddl))
        q = conn.dialect.identifier_preparer.quote
        for table, name, definition in self.foreign_keys:
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {q(name)} {definition}"))
        for table in BULK_TABLES:
            conn.execute(text(f"ANALYZE {table}"))  # the planner learns the new size before the next query


def _bulk_worth_it(conn: Connection, new_rows: int) -> bool:
    if new_rows < BULK_MIN_ROWS:
        return False
    existing = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'grievance_case'::regclass")).scalar_one()
    if existing < 0:  # never analysed
        existing = conn.execute(text("SELECT count(*) FROM grievance_case")).scalar_one()
    return new_rows >= existing


# The foreign keys of an import's new rows, checked once for the import instead of once per row.
# Per row, each key is a query that locks the row it points to (FOR KEY SHARE): for new cases that is
# half the time of their INSERT.  Here the import locks the same rows itself, all at once, after
# checking that each exists, and inserts with the key triggers off (session_replication_role =
# replica, for those two INSERTs only).  Only where every INSERT trigger on the two tables is one of
# these keys: another key or a trigger of our own fired by INSERT, added later, would be skipped too, so then rows are
# checked one by one as before.
KEYS_ONCE = frozenset({
    ("grievance_case", "fk_case_unit"),                                  # (unit_scheme, unit_code) -> admin_unit
    ("grievance_case", "grievance_case_import_id_fkey"),                 # import_id -> case_import
    ("case_status_history", "case_status_history_import_id_fkey"),       # import_id -> case_import
    ("case_status_history", "fk_case_status_history_case"),              # -> the cases just inserted
})
_TABLE_TRIGGERS = """
SELECT c.relname, coalesce(k.conname, '') FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
LEFT JOIN pg_constraint k ON k.oid = t.tgconstraint
WHERE t.tgrelid = ANY (CAST(:tables AS regclass[])) AND (t.tgtype & 4) <> 0  -- those fired by INSERT
"""
_NEW_UNITS = """
SELECT DISTINCT s.unit_scheme, s.unit_code FROM case_stage s
WHERE s.unit_scheme IS NOT NULL AND s.unit_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM case_match m WHERE m.source = s.source AND m.external_ref = s.external_ref)
"""


def keys_checked_once(conn: Connection, import_id: int | None) -> bool:
    """Lock and check the rows the new cases' keys point to (one query for the units, one for the
    import record: the new cases are read once), and say whether the
    INSERTs may skip the per-row key checks: only for a role that may set session_replication_role
    (a superuser, or one granted it), and only when every INSERT trigger of the tables is one of ``KEYS_ONCE``.
    False (nothing skipped; the usual per-row checks report any missing row) otherwise."""
    if not conn.execute(text("SELECT has_parameter_privilege('session_replication_role', 'SET')")).scalar_one():
        return False
    triggers = {tuple(r) for r in conn.execute(text(_TABLE_TRIGGERS), {"tables": list(BULK_TABLES)})}
    if not triggers <= KEYS_ONCE:  # fewer when a bulk load has dropped the key between the tables
        return False
    wanted, held = conn.execute(text(f"""
        WITH k AS MATERIALIZED ({_NEW_UNITS})
        SELECT (SELECT count(*) FROM k),
               (SELECT count(*) FROM (SELECT 1 FROM admin_unit a JOIN k ON a.scheme = k.unit_scheme
                                      AND a.code = k.unit_code FOR KEY SHARE OF a) locked)""")).one()
    if held != wanted:
        return False
    if import_id is not None:
        found = conn.execute(text("SELECT 1 FROM case_import WHERE id = :i FOR KEY SHARE"), {"i": import_id}).all()
        if not found:
            return False
    return True


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class PlacementError(ValueError):
    """Records whose unit has no 2025 commune (not in the crosswalk)."""


def _changes_sql() -> str:
    def old_new(f: str) -> str:
        if f == "location":
            o, n = "ST_AsText(c.location)", "ST_AsText(s.location)"
        else:
            o, n = f"c.{f}", f"s.{f}"
        return f"'{f}', CASE WHEN {o} IS DISTINCT FROM {n} THEN jsonb_build_array(to_jsonb({o}), to_jsonb({n})) END"

    return "jsonb_strip_nulls(jsonb_build_object(" + ", ".join(old_new(f) for f in TRACKED_FIELDS) + "))"


def _differs_sql() -> str:
    """True when any tracked field differs — exactly when :func:`_changes_sql` is not ``{}`` (the same
    IS DISTINCT FROM per field), without building the JSON of every unchanged case of a re-import."""
    plain = [f for f in TRACKED_FIELDS if f != "location"]
    return (f"ROW({', '.join('c.' + f for f in plain)}) IS DISTINCT FROM ROW({', '.join('s.' + f for f in plain)})"
            " OR ST_AsText(c.location) IS DISTINCT FROM ST_AsText(s.location)")


def records_frame(records: Iterable) -> pd.DataFrame:
    """A DataFrame of case records (dataclasses or dicts) with exactly RECORD_COLUMNS."""
    records = list(records)
    if records and all(hasattr(r, "__dataclass_fields__") for r in records):
        present = [c for c in RECORD_COLUMNS if c in records[0].__dataclass_fields__]
        columns = zip(*map(operator.attrgetter(*present), records))  # one tuple per column
        df = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(present, columns)})
    else:
        df = pd.DataFrame([r if isinstance(r, dict) else r.__dict__ for r in records])
    for col in RECORD_COLUMNS:
        if col not in df.columns:
            df[col] = False if col == "is_synthetic" else None
    return df[list(RECORD_COLUMNS)]


_NULL = "\\N"


def _escape(value: object) -> str:
    """A value in COPY's text format (backslash, tab, newline and carriage return escaped)."""
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _pg_array(dates) -> str:
    if not isinstance(dates, (list, tuple)) or not dates:
        return "{}"
    return "{" + ",".join(d.isoformat() for d in dates) + "}"


def _missing(v) -> bool:
    if v is None:
        return True
    if type(v) in (str, bool, int):
        return False
    if type(v) is float:
        return v != v
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _nullable(fmt):
    return lambda v: _NULL if _missing(v) else fmt(v)


def _flag(v) -> str:
    return "f" if _missing(v) or not bool(v) else "t"


def _text_cells(values: list) -> list[str]:
    """COPY text of many values at once: strings without a character to escape are their own text."""
    if all(type(v) is str for v in values) and not any(c in "".join(values) for c in "\\\t\n\r"):
        return values
    return [_NULL if _missing(v) else _escape(v) for v in values]


_TEXT = _text_cells
# stage column -> (record field, the COPY text of one value)
_STAGE_FORMAT = {
    "source": ("source", _TEXT), "external_ref": ("external_ref", _TEXT), "channel": ("channel", _TEXT),
    "received_date": ("received_date", _nullable(str)), "kind": ("kind", _TEXT), "category": ("category", _TEXT),
    "people_count": ("people_count", _nullable(lambda v: str(int(v)))),
    "is_mass": ("is_mass", _flag), "is_over_level": ("is_over_level", _flag), "is_complex": ("is_complex", _flag),
    "handling_level": ("handling_level", _TEXT), "status": ("status", _TEXT),
    "deadline_date": ("deadline_date", _nullable(str)), "resolved_date": ("resolved_date", _nullable(str)),
    "dialogue_dates": ("dialogue_dates", _pg_array), "project_name": ("project_name", _TEXT),
    "summary": ("summary", _TEXT), "unit_scheme": ("scheme", _TEXT), "unit_code": ("commune_code", _TEXT),
    "lon": ("lon", _nullable(lambda v: repr(float(v)))), "lat": ("lat", _nullable(lambda v: repr(float(v)))),
    "is_synthetic": ("is_synthetic", _flag),
}
assert tuple(_STAGE_FORMAT) == _STAGE_COLS


def _coded_frame(df: pd.DataFrame) -> dict[str, Coded]:
    """The columns of a records DataFrame as codes into their distinct values (NaN/None/NaT: None)."""
    out = {}
    for field in RECORD_COLUMNS:
        values = df[field].tolist()
        if field == "dialogue_dates":
            out[field] = Coded.of([tuple(v) if isinstance(v, (list, tuple)) else None for v in values])
            continue
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        out[field] = Coded(np.where(codes < 0, len(uniques), codes).astype(np.intp),
                           objects(list(uniques) + [None]))
    return out


def _copy_text(columns: dict[str, Coded], n: int) -> tuple[list[str], str]:
    """(the stage columns in the order written, the rows in COPY's text format).

    Every distinct value of a column is formatted once.  Columns of few distinct values are then
    joined per distinct *combination* (kind, category, status, flags… repeat together), so that
    a row is the join of a handful of pre-joined segments rather than of 22 cells."""
    cells, codes = {}, {}
    for stage, (field, fmt) in _STAGE_FORMAT.items():
        uniques = columns[field].uniques.tolist()
        cells[stage] = objects(fmt(uniques) if fmt is _TEXT else [fmt(u) for u in uniques])
        codes[stage] = columns[field].codes
    if not n:
        return list(_STAGE_FORMAT), ""
    limit = max(256, n // 16)
    groups: list[tuple[list[str], np.ndarray]] = []
    names: list[str] = []
    combined = None
    for stage in sorted(_STAGE_FORMAT, key=lambda c: len(cells[c])):
        if combined is not None:
            joined, uniques = pd.factorize(combined.astype(np.int64) * len(cells[stage]) + codes[stage])
            if len(uniques) <= limit:
                combined = joined
                names.append(stage)
                continue
            groups.append((names, combined))
        names = [stage]
        combined, _ = pd.factorize(codes[stage])
    groups.append((names, combined))
    order, segments = [], []
    for names, combined in groups:
        first = np.unique(combined, return_index=True)[1]  # first row of each combination, by code
        parts = [cells[c][codes[c][first]].tolist() for c in names]
        segment = objects(list(map("\t".join, zip(*parts))))
        order += names
        segments.append(segment[combined].tolist())
    return order, "\n".join(map("\t".join, zip(*segments))) + "\n"


class CaseKeyTaken(ValueError):
    """A reference of this source already belongs to a case the caller may not see (another area)."""

    def __init__(self, source: str, refs: list[str]):
        self.source, self.refs = source, refs
        shown = ", ".join(refs[:5])
        super().__init__(f"Mã hồ sơ {shown} của nguồn “{source}” đã có ở địa bàn khác "
                         f"(reference already used by a case outside your area)")


def _lock_sources(conn: Connection) -> None:
    """One case per (source, external_ref) across provinces: no unique constraint can say so once
    the key includes the province (Citus), so writers of the same source take turns."""
    sources = conn.execute(text("SELECT DISTINCT source FROM case_stage ORDER BY 1")).scalars().all()
    for source in sources:  # sorted: two writers never wait for each other in opposite orders
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('geo_dash.case_source:' || :s, 0))"),
                     {"s": source})


# Columns that place a case; a move to another province re-inserts the case with these from the stage.
_PLACE_COLUMNS = ("province_2025", "province_legacy", "district_legacy", "commune_legacy", "commune_2025",
                  "unit_scheme", "unit_code")
_PLACE_JSON = "jsonb_build_object(" + ", ".join(f"'{c}', s.{c}" for c in _PLACE_COLUMNS) + ")"

# A move as the table owner (imports, demo loads): the same as gd_move_case (migration 0008), set-based.
# New keys (new province, id) do not collide with the old ones: insert the copies, then delete the old
# rows (their history goes by cascade).  jsonb_populate_record keeps every other column as it was.
_MOVE = [
    f"""INSERT INTO grievance_case
        SELECT r.* FROM case_changed ch
        JOIN grievance_case c ON c.province_2025 = ch.old_province AND c.id = ch.id
        JOIN case_stage s ON s.source = c.source AND s.external_ref = c.external_ref
        CROSS JOIN LATERAL jsonb_populate_record(c, {_PLACE_JSON}) r
        WHERE ch.moved""",
    """INSERT INTO case_history
        SELECT r.* FROM case_changed ch
        JOIN case_history h ON h.province_2025 = ch.old_province AND h.case_id = ch.id
        CROSS JOIN LATERAL jsonb_populate_record(h, jsonb_build_object('province_2025', ch.province_2025)) r
        WHERE ch.moved""",
    """INSERT INTO case_status_history
        SELECT r.* FROM case_changed ch
        JOIN case_status_history h ON h.province_2025 = ch.old_province AND h.case_id = ch.id
        CROSS JOIN LATERAL jsonb_populate_record(h, jsonb_build_object('province_2025', ch.province_2025)) r
        WHERE ch.moved""",
    """DELETE FROM grievance_case c USING case_changed ch
        WHERE ch.moved AND c.province_2025 = ch.old_province AND c.id = ch.id""",
]


def write_cases(
    conn: Connection,
    records: pd.DataFrame | CaseColumns,
    *,
    import_id: int | None,
    actor: str,
    on_step: Callable[[str], None] | None = None,
    bulk: bool | None = None,
) -> WriteCounts:
    """Upsert ``records`` (see :func:`records_frame`, or a parser's :class:`CaseColumns` with its
    ``source`` set) inside the caller's transaction.

    The key of a case is (source, external_ref), whatever its province: a row whose place was
    corrected to another province updates the same case, moved there (same id, history kept,
    the move recorded as a ``province_2025`` change).  Statements on the case tables carry
    ``province_2025`` next to the id, as Citus needs for single-shard work.

    ``bulk``: build indexes and check foreign keys once after the insert (see ``BULK_MIN_ROWS``);
    ``None`` decides by size, ``False`` never, ``True`` whenever there is a new case (not under
    row-level security).
    """
    step = on_step or (lambda name: None)
    # no JIT: compiling the placement and the upsert's expressions costs more than running them
    conn.execute(text("SET LOCAL jit = off"))
    conn.execute(text("DROP TABLE IF EXISTS case_raw, case_stage, case_match, case_changed, case_created"))
    conn.execute(text(_RAW))
    if isinstance(records, CaseColumns):
        columns, total = dict(records.data), len(records)
        columns["is_synthetic"] = Coded.constant(False, total)
    else:
        columns, total = _coded_frame(records), len(records)
    order, rows = _copy_text(columns, total)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY case_raw ({', '.join(order)}) FROM STDIN") as copy:  # text format
            copy.write(rows)
    step("staged")
    conn.execute(text(_PLACE))
    # a fresh temporary table: give the planner its size and the statistics of the join keys
    conn.execute(text("ANALYZE case_stage (source, external_ref, province_2025)"))
    unplaced = conn.execute(text("SELECT unit_scheme, unit_code FROM case_stage WHERE province_2025 IS NULL LIMIT 5")).all()
    if unplaced:
        raise PlacementError(f"no 2025 commune for units {unplaced} (crosswalk incomplete?)")
    step("placed")
    _lock_sources(conn)
    # row-level security applies (the app's role): moves go through gd_move_case, which checks the scope
    rls = bool(conn.execute(text("SELECT row_security_active('grievance_case')")).scalar())
    conn.execute(text("""
        CREATE TEMP TABLE case_match ON COMMIT DROP AS
        SELECT c.id, c.province_2025 AS old_province, s.source, s.external_ref
        FROM case_stage s JOIN grievance_case c ON c.source = s.source AND c.external_ref = s.external_ref
    """))
    conn.execute(text("ANALYZE case_match"))  # its size decides how the changes are joined
    conn.execute(text(f"""
        CREATE TEMP TABLE case_changed ON COMMIT DROP AS
        SELECT c.id, m.old_province, s.province_2025, (m.old_province <> s.province_2025) AS moved,
               {_changes_sql()} || CASE WHEN m.old_province <> s.province_2025
                   THEN jsonb_build_object('province_2025', jsonb_build_array(m.old_province, s.province_2025))
                   ELSE '{{}}'::jsonb END AS changes,
               s.status, (c.status IS DISTINCT FROM s.status) AS status_changed, {_PLACE_JSON} AS place
        FROM case_match m
        JOIN case_stage s ON s.source = m.source AND s.external_ref = m.external_ref
        JOIN grievance_case c ON c.province_2025 = m.old_province AND c.id = m.id
        WHERE m.old_province <> s.province_2025 OR {_differs_sql()}  -- the others have no change to record
    """))
    if rls:
        moves = conn.execute(text("SELECT id, old_province, place::text FROM case_changed WHERE moved")).all()
        for case_id, old_province, place in moves:
            conn.execute(text("SELECT gd_move_case(:id, :p, CAST(:place AS jsonb))"),
                         {"id": case_id, "p": old_province, "place": place})
    else:
        for sql in _MOVE:
            conn.execute(text(sql))
    params = {"actor": actor, "imp": import_id}
    conn.execute(text("""INSERT INTO case_history (province_2025, case_id, changed_by, import_id, action, changes)
                         SELECT province_2025, id, :actor, :imp, 'update', changes FROM case_changed"""), params)
    conn.execute(text("""INSERT INTO case_status_history (province_2025, case_id, status, changed_by, import_id)
                         SELECT province_2025, id, status, :actor, :imp FROM case_changed WHERE status_changed"""), params)
    step("history")
    # province_2025 is never SET (Citus cannot update a distribution column): moves were done above
    updated = conn.execute(text("""
        UPDATE grievance_case c SET
            channel = s.channel, received_date = s.received_date, kind = s.kind, category = s.category, people_count = s.people_count,
            is_mass = s.is_mass, is_over_level = s.is_over_level, is_complex = s.is_complex,
            handling_level = s.handling_level, status = s.status, deadline_date = s.deadline_date,
            resolved_date = s.resolved_date, dialogue_dates = s.dialogue_dates, project_name = s.project_name,
            summary = s.summary, unit_scheme = s.unit_scheme, unit_code = s.unit_code,
            commune_legacy = s.commune_legacy, commune_2025 = s.commune_2025,
            province_legacy = s.province_legacy, district_legacy = s.district_legacy, location = s.location, is_synthetic = s.is_synthetic,
            import_id = :imp, updated_at = now(), updated_by = :actor
        FROM case_stage s, case_changed ch
        WHERE c.province_2025 = ch.province_2025 AND c.id = ch.id
          AND c.source = s.source AND c.external_ref = s.external_ref
    """), params).rowcount
    if rls:  # a reference may exist outside the caller's scope, invisible to the match above
        new_keys = conn.execute(text("""
            SELECT s.source, array_agg(s.external_ref) FROM case_stage s
            WHERE NOT EXISTS (SELECT 1 FROM case_match m WHERE m.source = s.source AND m.external_ref = s.external_ref)
            GROUP BY s.source""")).all()
        for source, refs in new_keys:
            taken = conn.execute(text("SELECT gd_case_keys_taken(:s, :r)"), {"s": source, "r": refs}).scalars().all()
            if taken:
                raise CaseKeyTaken(source, sorted(taken))
    new_rows = total - conn.execute(text("SELECT count(*) FROM case_match")).scalar_one()
    plan = None
    if not rls and new_rows and (bulk or (bulk is None and _bulk_worth_it(conn, new_rows))):
        plan = BulkPlan.of(conn)
        plan.drop(conn)  # after the moves and updates: the cascade of a move's delete needs its key
    once = bool(new_rows) and not rls and keys_checked_once(conn, import_id)
    if once:  # the rows the keys point to are locked and checked above; case_status_history's point to case_created
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text("""
        CREATE TEMP TABLE case_created ON COMMIT DROP AS
        WITH ins AS (
            INSERT INTO grievance_case (source, external_ref, channel, received_date, kind, category, people_count, is_mass,
                is_over_level, is_complex, handling_level, status, deadline_date, resolved_date, dialogue_dates,
                project_name, summary, unit_scheme, unit_code, commune_legacy, commune_2025, province_2025,
                province_legacy, district_legacy, location, is_synthetic, import_id, created_by, updated_by)
            SELECT s.source, s.external_ref, s.channel, s.received_date, s.kind, s.category, s.people_count, s.is_mass,
                s.is_over_level, s.is_complex, s.handling_level, s.status, s.deadline_date, s.resolved_date,
                s.dialogue_dates, s.project_name, s.summary, s.unit_scheme, s.unit_code, s.commune_legacy,
                s.commune_2025, s.province_2025, s.province_legacy, s.district_legacy, s.location, s.is_synthetic,
                :imp, :actor, :actor
            FROM case_stage s
            WHERE NOT EXISTS (SELECT 1 FROM case_match m WHERE m.source = s.source AND m.external_ref = s.external_ref)
            RETURNING province_2025, id, status
        ) SELECT province_2025, id, status FROM ins
    """), params)
    created = conn.execute(text("SELECT count(*) FROM case_created")).scalar_one()
    step("inserted")
    conn.execute(text("""INSERT INTO case_status_history (province_2025, case_id, status, changed_by, import_id)
                         SELECT province_2025, id, status, :actor, :imp FROM case_created"""), params)
    if once:
        conn.execute(text("SET LOCAL session_replication_role = origin"))
    step("written")
    if plan is not None:
        plan.build(conn)
    step("indexed")
    return WriteCounts(created=created, updated=updated, unchanged=total - created - updated)


def today() -> dt.date:
    return dt.date.today()
