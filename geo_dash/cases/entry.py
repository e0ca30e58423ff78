"""Entering and editing one case from the app's form.

The form's values go through exactly the validation of the file importer (a
one-row table handed to :func:`parse_rows`), and the result through the same
writer (:func:`store.write_cases`), so history and status history are kept the
same way.  The scope is checked before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from geo_dash.cases import store
from geo_dash.cases.importer import resolver_for, units_in_scope
from geo_dash.cases.parsing import COLUMNS, RawTable, parse_rows
from geo_dash.security.audit import audit
from geo_dash.security.scope import Scope, case_filter_sql

MANUAL_SOURCE = "nhap-tay"  # dataset of cases entered in the app

HEADER_OF = {c.field: c.header_vi for c in COLUMNS}
FORM_FIELDS = (
    "external_ref", "received_date", "kind", "category", "people_count", "is_mass", "is_over_level", "status",
    "resolved_date", "deadline_date", "dialogue_dates", "project_name", "handling_level", "is_complex", "summary",
    "commune_code", "province", "district", "commune", "lon", "lat",
)


@dataclass
class SaveResult:
    ok: bool
    case_id: int | None = None
    action: str | None = None           # created | updated | unchanged
    errors: list[str] = field(default_factory=list)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    return str(value)


def _in_scope(engine: Engine, scope: Scope, scheme: str, code: str) -> bool:
    """Would a case in this commune be visible to ``scope``? (Asked of the database, same rule as reads.)"""
    with engine.connect() as conn:
        return units_in_scope(conn, scope, [(scheme, code)]).get((scheme, code), (None, False))[1]


def save_case(engine: Engine, scope: Scope, values: dict, *, actor: str, as_of: dt.date | None = None) -> SaveResult:
    """Validate and save one case (create, or update when source + reference exist)."""
    source = values.get("source") or MANUAL_SOURCE
    fields = list(FORM_FIELDS)
    raw = RawTable.from_rows([HEADER_OF[f] for f in fields], [[_cell(values.get(f)) for f in fields]], source="form")
    result = parse_rows(raw, as_of=as_of or dt.date.today(), resolver=resolver_for(engine))
    if result.rejects:
        return SaveResult(ok=False, errors=result.rejects[0].reasons)
    record = result.records[0]
    if not _in_scope(engine, scope, record.scheme, record.commune_code):
        return SaveResult(ok=False, errors=["Xã này nằm ngoài địa bàn của bạn (this commune is outside your area)."])
    frame = store.records_frame([record])
    frame["source"] = source
    try:
        return _save(engine, scope, frame, record, source, actor)
    except store.CaseKeyTaken:  # the reference belongs to a case outside this user's area (nothing written)
        return SaveResult(ok=False, errors=["Không có quyền sửa vụ việc này (not allowed to edit this case)."])


def _save(engine: Engine, scope: Scope, frame, record, source: str, actor: str) -> SaveResult:
    with engine.begin() as conn:
        existing = conn.execute(text("SELECT province_2025, id FROM grievance_case WHERE source = :s AND external_ref = :r"),
                                {"s": source, "r": record.external_ref}).first()
        if existing is not None:
            where, params = case_filter_sql(scope, "c")
            visible = conn.execute(text(f"""SELECT EXISTS (SELECT 1 FROM grievance_case c
                                            WHERE c.province_2025 = :p AND c.id = :id AND {where})"""),
                                   {"p": existing.province_2025, "id": existing.id, **params}).scalar()
            if not visible:
                return SaveResult(ok=False, errors=["Không có quyền sửa vụ việc này (not allowed to edit this case)."])
        counts = store.write_cases(conn, frame, import_id=None, actor=actor)
        case_id = conn.execute(text("SELECT id FROM grievance_case WHERE source = :s AND external_ref = :r"),
                               {"s": source, "r": record.external_ref}).scalar_one()
        action = "created" if counts.created else "updated" if counts.updated else "unchanged"
        if action != "unchanged":
            audit(conn, {"created": "case.create", "updated": "case.update"}[action], actor=actor,
                  target=f"{source}/{record.external_ref}", details={"case_id": case_id, "commune": record.commune_code})
    return SaveResult(ok=True, case_id=case_id, action=action)
