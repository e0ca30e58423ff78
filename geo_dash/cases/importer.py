"""Importing a case file: read → parse and place every row → write, in one transaction.

``import_file`` is what ``geo-dash cases import`` and the app call. The rules:

* a file that cannot be used at all (legacy TCVN3/VNI encoding, no header, a
  missing required column, an unreadable format) is refused as a whole with its
  reason, and the refusal is recorded (``case_import.status = 'refused'``);
* otherwise every non-blank row is either accepted or rejected with its
  reasons: ``rows_in = accepted + rejected`` (enforced by a CHECK constraint);
  blank lines are skipped and counted separately;
* accepted rows are upserted by (source, external reference): created /
  updated (with history) / unchanged; all of it is one transaction, so a
  failure anywhere (including a dropped connection) leaves nothing behind;
* rejected rows are written to a rejects file (original columns + reason) that
  can be fixed and imported again.
"""

from __future__ import annotations

import datetime as dt
import gc
import getpass
import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import ProgrammingError

from geo_dash.cases import store
from geo_dash.cases.parsing import (
    Coded, ImportRefused, ParseResult, RawTable, Reject, parse_rows, read_table, write_rejects,
)
from geo_dash.cases.places import PlaceResolver
from geo_dash.security.audit import audit
from geo_dash.security.scope import Scope, case_filter_sql
from geo_dash.files import sha256_file as _sha256


@dataclass
class ImportReport:
    import_id: int | None
    file_name: str
    status: str                       # committed | refused
    reason: str | None = None
    rows_in: int = 0
    accepted: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    blank_rows: int = 0
    rejects_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)   # [{"row": n, "reasons": [...]}]

    def as_dict(self) -> dict:
        return asdict(self)




def units_for_places(engine: Engine) -> pd.DataFrame:
    """The admin units in the shape :class:`PlaceResolver` wants."""
    with engine.connect() as conn:
        return pd.read_sql(
            text("SELECT scheme, level, code, name, parent_code, province_code, valid_to FROM admin_unit"), conn
        )


_RESOLVER_CACHE: dict[str, PlaceResolver] = {}


def resolver_for(engine: Engine) -> PlaceResolver:
    """One resolver per database (the unit list changes only with a boundary load)."""
    with engine.connect() as conn:
        version = conn.execute(text("SELECT coalesce(max(id), 0) FROM boundary_load")).scalar_one()
    key = f"{engine.url}#{version}"
    if key not in _RESOLVER_CACHE:
        _RESOLVER_CACHE.clear()
        _RESOLVER_CACHE[key] = PlaceResolver(units_for_places(engine))
    return _RESOLVER_CACHE[key]


# The units as a new case in them is placed by default (its legacy commune, district and province; its
# 2025 commune through the crosswalk's default target, and that commune's province), then the scope's
# own condition on those columns (the rule every read and the row-level security apply).
_UNITS_IN_SCOPE = """
WITH u AS (SELECT * FROM unnest(CAST(:schemes AS text[]), CAST(:codes AS text[])) AS u(scheme, code)),
c AS (
    SELECT u.scheme, u.code, a.name,
           CASE WHEN u.scheme = 'legacy' THEN a.province_code END AS province_legacy,
           CASE WHEN u.scheme = 'legacy' THEN a.parent_code END AS district_legacy,
           COALESCE(x.new_code, CASE WHEN u.scheme = '2025' THEN u.code END) AS commune_2025,
           n.province_code AS province_2025
    FROM u
    JOIN admin_unit a ON a.scheme = u.scheme AND a.code = u.code
    LEFT JOIN crosswalk x ON u.scheme = 'legacy' AND x.legacy_code = u.code AND x.is_default
    LEFT JOIN admin_unit n ON n.scheme = '2025' AND n.code = COALESCE(x.new_code, CASE WHEN u.scheme = '2025' THEN u.code END)
)
SELECT c.scheme, c.code, c.name, {where} AS inside FROM c
"""


def units_in_scope(conn: Connection, scope: Scope, units: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, bool]]:
    """{(scheme, code): (name, whether a case there is inside ``scope``)} for each known unit of ``units``."""
    where, params = case_filter_sql(scope, "c")
    rows = conn.execute(text(_UNITS_IN_SCOPE.format(where=where)),
                        {"schemes": [u[0] for u in units], "codes": [u[1] for u in units], **params})
    return {(r.scheme, r.code): (r.name, bool(r.inside)) for r in rows}


def outside_scope_reason(code: str, name: str | None) -> str:
    where = f"{name} (mã {code})" if name else f"mã {code}"
    where_en = f"{name} (code {code})" if name else f"code {code}"
    return f"{where} nằm ngoài địa bàn của bạn ({where_en} is outside your area)"


def taken_outside_scope_reason(ref: str) -> str:
    return (f"Mã hồ sơ {ref} đã thuộc một vụ việc ngoài địa bàn của bạn "
            f"(reference {ref} belongs to a case outside your area)")


def reject_outside_scope(engine: Engine, scope: Scope, raw: RawTable, result: ParseResult, source: str) -> int:
    """Move to the rejects, each with its reason, the accepted rows that are not the user's to write:
    those whose commune lies outside ``scope`` (an officer's file may hold the neighbouring district's
    cases), and those whose reference (of this ``source``) already belongs to a case outside it.  The
    rest of the file still counts.  Returns how many rows were moved."""
    accepted = result.accepted
    if scope.everything or not len(accepted):
        return 0
    scheme, code, ref = accepted["scheme"], accepted["commune_code"], accepted["external_ref"]
    pairs, unit_of_row = np.unique(np.stack([scheme.codes, code.codes]), axis=1, return_inverse=True)
    unit_of_row = unit_of_row.ravel()
    units = [(scheme.uniques[i], code.uniques[j]) for i, j in pairs.T]
    refs = ref.values()
    where, params = case_filter_sql(scope, "c")
    with engine.connect() as conn:
        known = units_in_scope(conn, scope, units)
        wanted = sorted(set(refs.tolist()))
        taken = set(conn.execute(text("SELECT gd_case_keys_taken(:s, :r)"), {"s": source, "r": wanted}).scalars())
        if taken:
            taken -= set(conn.execute(text(f"""SELECT c.external_ref FROM grievance_case c
                                               WHERE c.source = :s AND c.external_ref = ANY(:r) AND {where}"""),
                                      {"s": source, "r": sorted(taken), **params}).scalars())
    inside = np.array([known.get(u, (None, False))[1] for u in units], dtype=bool)[unit_of_row]
    free = np.fromiter((r not in taken for r in refs), dtype=bool, count=len(refs)) if taken else np.ones(len(refs), bool)
    keep = inside & free
    if keep.all():
        return 0
    position = {n: i for i, n in enumerate(raw.numbers)}  # row number -> data row of the file
    numbers = accepted["row_number"].values()
    moved = []
    for k in np.flatnonzero(~keep):
        raw_row = raw.row(position[int(numbers[k])])
        reasons = []
        if not inside[k]:
            unit = units[unit_of_row[k]]
            reasons.append(outside_scope_reason(unit[1], known.get(unit, (None, False))[0]))
        if not free[k]:
            reasons.append(taken_outside_scope_reason(refs[k]))
        moved.append(Reject(raw_row.row_number, dict(raw_row.values), reasons))
    result.rejects = sorted(result.rejects + moved, key=lambda r: r.row_number)
    result.accepted = accepted.take(np.flatnonzero(keep))
    result._records = None
    return len(moved)


def _record_refusal(engine: Engine, path: Path, sha: str | None, actor: str, reason: str) -> int:
    with engine.begin() as conn:
        audit(conn, "cases.import_refused", actor=actor, target=path.name, details={"reason": reason[:500]})
        return conn.execute(
            text("INSERT INTO case_import (file_name, sha256, imported_by, status, reason) "
                 "VALUES (:f, :h, :by, 'refused', :r) RETURNING id"),
            dict(f=path.name, h=sha, by=actor, r=reason),
        ).scalar_one()


def parse_file(engine: Engine, path: str | Path, *, as_of: dt.date | None = None,
               source: str | None = None, scope: Scope | None = None) -> ParseResult:
    """Read and validate a file without writing anything (raises ImportRefused for a file-level problem).
    With a ``scope``, rows that are not that scope's to write are rejected too (:func:`reject_outside_scope`)."""
    path = Path(path)
    raw = read_table(path)
    result = parse_rows(raw, as_of=as_of or dt.date.today(), resolver=resolver_for(engine))
    if scope is not None:
        reject_outside_scope(engine, scope, raw, result, source or path.stem)
    return result


@contextmanager
def _no_gc():
    """No cyclic garbage collection while a file's millions of cells and values are alive: they hold
    no cycles, and the collector would walk them again at every generation threshold (at 1,000,000
    rows that was half the parse time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_file(
    engine: Engine,
    path: str | Path,
    *,
    source: str | None = None,
    actor: str | None = None,
    as_of: dt.date | None = None,
    rejects_path: str | Path | None = None,
    on_step: Callable[[str], None] | None = None,
    max_bytes: int | None = None,
    bulk: bool | None = None,
    scope: Scope | None = None,
) -> ImportReport:
    """Import one CSV/XLSX file of cases; see the module docstring for the guarantees.

    ``bulk``: see :func:`geo_dash.cases.store.write_cases` (``None``: a load that at least doubles the
    case table builds its indexes once after the insert, and locks readers of cases out until it commits).
    ``scope``: the importing user's area (the app): rows outside it are rejected with their reason
    (:func:`reject_outside_scope`); the database's row-level security checks the rest again.
    """
    path = Path(path)
    actor = actor or getpass.getuser()
    sha = _sha256(path) if path.exists() else None
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise ImportRefused(f"Tệp quá lớn: {path.stat().st_size:,} byte, tối đa {max_bytes:,} "
                                f"(file too large: the limit is {max_bytes:,} bytes)")
        with _no_gc():
            result = parse_file(engine, path, as_of=as_of, source=source, scope=scope)
    except ImportRefused as exc:
        import_id = _record_refusal(engine, path, sha, actor, str(exc))
        return ImportReport(import_id=import_id, file_name=path.name, status="refused", reason=str(exc))
    if on_step:
        on_step("parsed")

    report = ImportReport(
        import_id=None, file_name=path.name, status="committed",
        rows_in=result.data_rows, accepted=len(result.accepted), rejected=len(result.rejects),
        blank_rows=len(result.blank_rows), ignored_columns=list(result.ignored_columns),
        rejects=[{"row": r.row_number, "reasons": r.reasons} for r in result.rejects],
    )
    if result.rejects:  # written once the import has committed
        report.rejects_file = str(Path(rejects_path) if rejects_path else path.with_name(f"{path.stem}.rejects.csv"))

    records = result.accepted
    # the dataset (the upsert key with the reference) is the import's source;
    # the file's "Nguồn" column is the channel the petition came through
    records.data["source"] = Coded.constant(source or path.stem, len(records))
    try:
        with _no_gc(), engine.begin() as conn:
            import_id = conn.execute(
                text("INSERT INTO case_import (file_name, sha256, imported_by, source, status) "
                     "VALUES (:f, :h, :by, :src, 'committed') RETURNING id"),
                dict(f=path.name, h=sha, by=actor, src=source),
            ).scalar_one()
            counts = store.write_cases(conn, records, import_id=import_id, actor=actor, on_step=on_step, bulk=bulk)
            report.import_id = import_id
            report.created, report.updated, report.unchanged = counts.created, counts.updated, counts.unchanged
            conn.execute(
                text("""UPDATE case_import SET rows_in = :rows_in, accepted = :accepted, rejected = :rejected,
                            created = :created, updated = :updated, unchanged = :unchanged,
                            rejects_file = :rejects_file, report = CAST(:report AS jsonb) WHERE id = :id"""),
                dict(rows_in=report.rows_in, accepted=report.accepted, rejected=report.rejected,
                     created=report.created, updated=report.updated, unchanged=report.unchanged,
                     rejects_file=report.rejects_file, id=import_id,
                     report=json.dumps({**result.report(), "rejects": report.rejects}, ensure_ascii=False, default=str)),
            )
            audit(conn, "cases.import", actor=actor, target=path.name,
                  details={"import_id": import_id, "rows_in": report.rows_in, "accepted": report.accepted,
                           "rejected": report.rejected, "created": report.created, "updated": report.updated})
    except store.CaseKeyTaken as exc:  # a reference taken outside the scope since the check: nothing written
        refused = str(exc)
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # row-level security or gd_move_case refused a row
            raise
        refused = ("Có vụ việc, khi đặt theo toạ độ hoặc chuyển nơi, nằm ngoài địa bàn của bạn; không nhập gì "
                   "(a case would be placed or moved outside your area: nothing imported)")
    else:
        refused = None
    if refused:
        import_id = _record_refusal(engine, path, sha, actor, refused)
        return ImportReport(import_id=import_id, file_name=path.name, status="refused", reason=refused)
    if report.rejects_file:
        write_rejects(result, report.rejects_file)
    return report
