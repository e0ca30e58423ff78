"""The vectorised path of :func:`geo_dash.cases.parsing.parse_rows`: decide whole columns at once.

A file of cases repeats the same few thousand values per column (dates, labels, flags, commune
codes), so every column is *factorised* (each distinct cell once, ``pandas.factorize``) and each
distinct value is validated once — with the very methods of the per-row validator
(:class:`parsing._Row`), called on a probe row holding that one value, so a value means exactly
what it means row by row.  Places are resolved once per distinct (code, province, district,
commune, text, era).  The results are spread back to the rows with numpy.

A row is *decided* here only when every one of its values passed and the cross-field checks
(resolved/deadline/dialogues not before the received date) pass: it becomes a
:class:`parsing.CaseRecord` built from the per-value results.  Every other row is returned as
``None`` and goes through the per-row path, which collects its reasons — so rejects, their
reasons and their order are those of the per-row path by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from geo_dash.cases import rules, vocab
from geo_dash.cases.parsing import CaseRecord, RawRow, RawTable, _Ref, _Row
from geo_dash.cases.places import PlaceError, PlaceResolver


class _Probe(_Row):
    """A :class:`_Row` holding one cell value per field: the per-row methods, applied to one value."""

    def __init__(self, as_of: date):
        self.as_of = as_of
        self.reasons: list[str] = []
        self.cells: dict[str, str] = {}

    def get(self, name: str) -> str:
        return (self.cells.get(name) or "").strip()

    def run(self, cells: dict[str, str], method: Callable, *args, **kwargs):
        """(value, ok) of ``method`` on a row made of ``cells``."""
        self.cells, self.reasons = cells, []
        value = method(*args, **kwargs)
        return value, not self.reasons


def _column(raw: RawTable, rows: Sequence[RawRow], field: str) -> list[str] | None:
    header = raw.columns.get(field)
    if header is None:
        return None
    return [row.values.get(header) or "" for row in rows]


def _objects(items: list) -> np.ndarray:
    """A 1-d object array of ``items`` (tuples and lists stay elements, never become dimensions)."""
    out = np.empty(len(items), dtype=object)
    for j, item in enumerate(items):
        out[j] = item
    return out


def _per_value(values: list | None, n: int, decide: Callable[[object], tuple[object, bool]]):
    """(value per row as an object array, ok per row) from ``decide`` called once per distinct cell
    (``None`` = the column is absent: every row holds "")."""
    if values is None:
        value, ok = decide("")
        return _objects([value])[np.zeros(n, dtype=np.intp)], np.full(n, ok)
    if values and isinstance(values[0], tuple):  # several columns together: a dict keeps tuples whole
        index: dict[tuple, int] = {}
        codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.intp, count=n)
        uniques = list(index)
    else:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    decided = [decide(u) for u in uniques]
    vals = _objects([d[0] for d in decided])
    oks = np.fromiter((d[1] for d in decided), dtype=bool, count=len(decided))
    return vals[codes], oks[codes]


def _zipped(columns: list[list[str] | None], n: int) -> list[tuple[str, ...]] | None:
    if all(c is None for c in columns):
        return None
    return list(zip(*(c if c is not None else [""] * n for c in columns)))


def parse_fast(
    raw: RawTable,
    rows: Sequence[RawRow],
    refs: Sequence[_Ref],
    *,
    as_of: date,
    resolver,
    deadline_rule: rules.DeadlineRule,
    default_source: str | None,
    is_remote: Callable[[str, str], bool] | None,
) -> list[CaseRecord | None]:
    """One :class:`CaseRecord` per row this path can accept, ``None`` for the rows it leaves to the per-row path."""
    n = len(rows)
    probe = _Probe(as_of)
    col = {f: _column(raw, rows, f) for f in raw.columns}

    def one(field: str, method: Callable, *args, **kwargs):
        return _per_value(col.get(field), n, lambda u: probe.run({field: u}, method, field, *args, **kwargs))

    ok = np.fromiter((r.fail is None for r in refs), dtype=bool, count=n)
    received, good = one("received_date", probe.date, required=True)
    ok &= good
    kind, good = one("kind", probe.vocab, vocab.match_kind, required=True)
    ok &= good
    category, good = one("category", probe.vocab, vocab.match_category, required=True)
    ok &= good
    people, good = _per_value(col.get("people_count"), n, lambda u: probe.run({"people_count": u}, probe.people))
    ok &= good
    mass_given, good = one("is_mass", probe.flag, None)
    ok &= good
    over_level, good = one("is_over_level", probe.flag, False)
    ok &= good
    is_complex, good = one("is_complex", probe.flag, False)
    ok &= good
    status, good = one("status", probe.vocab, vocab.match_status, required=False)
    ok &= good
    level, good = one("handling_level", probe.vocab, vocab.match_level, required=False)
    ok &= good
    resolved, good = one("resolved_date", probe.date)
    ok &= good
    deadline, good = one("deadline_date", probe.date, future_ok=True)
    ok &= good
    dialogues, good = _per_value(col.get("dialogue_dates"), n,
                                 lambda u: probe.run({"dialogue_dates": u}, probe.dialogues))
    ok &= good
    texts = {}
    for field in ("project_name", "summary", "channel"):
        texts[field], good = one(field, probe.text)
        ok &= good
    lon_lat, good = _per_value(
        _zipped([col.get("lon"), col.get("lat")], n), n,
        lambda u: probe.run(dict(zip(("lon", "lat"), u if isinstance(u, tuple) else ("", ""))), probe.coordinates))
    ok &= good

    # cross-field checks on the rows still standing (dates compare as Python dates)
    received_l, resolved_l, deadline_l, dialogues_l = received.tolist(), resolved.tolist(), deadline.tolist(), \
        dialogues.tolist()
    for i in np.flatnonzero(ok).tolist():
        r = received_l[i]
        if (resolved_l[i] is not None and resolved_l[i] < r) or (deadline_l[i] is not None and deadline_l[i] < r) \
                or (dialogues_l[i] and dialogues_l[i][0] < r):
            ok[i] = False

    # places: once per distinct place and era (the received date decides only which scheme comes first)
    place_fields = ("commune_code", "province", "district", "commune", "place_text")
    place_cols = [col.get(f) for f in place_fields]
    by_era = isinstance(resolver, PlaceResolver)
    cutover = resolver.cutover if by_era else None
    era = [(r >= cutover) if good_row else (as_of >= cutover) for r, good_row in zip(received_l, ok.tolist())] \
        if by_era else [r if good_row else as_of for r, good_row in zip(received_l, ok.tolist())]
    keys = _zipped(place_cols + [era], n)
    day_before = cutover - timedelta(days=1) if by_era else None

    def place(key: tuple):
        cells = [(p.strip() or None) for p in key[:5]]
        when = (cutover if key[5] else day_before) if by_era else key[5]  # same era, same answer
        try:
            return resolver.resolve(commune_code=cells[0], province=cells[1], district=cells[2], commune=cells[3],
                                    free_text=cells[4], received_date=when), True
        except PlaceError:
            return None, False

    resolution, good = _per_value(keys, n, place)
    ok &= good

    out: list[CaseRecord | None] = [None] * n
    remote_cache: dict[tuple[str, str], bool] = {}
    delta: dict[tuple[bool, bool], timedelta] = {}
    columns = zip(range(n), ok.tolist(), resolution.tolist(), status.tolist(), is_complex.tolist(),
                  people.tolist(), mass_given.tolist(), over_level.tolist(), lon_lat.tolist(), kind.tolist(),
                  category.tolist(), level.tolist(), texts["channel"].tolist(), texts["project_name"].tolist(),
                  texts["summary"].tolist(), received_l, resolved_l, deadline_l, dialogues_l)
    for (i, good_row, res, rec_status, complex_, count, mass, over, (lon, lat), kind_i, category_i, level_i,
         channel, project, summary, received_i, res_date, due, dialogue_i) in columns:
        if not good_row:
            continue
        if rec_status is None:
            rec_status = "da_giai_quyet" if res_date is not None else "tiep_nhan"
        complex_ = bool(complex_)
        computed = due is None
        if computed:
            remote = False
            if is_remote:
                key = (res.code, res.scheme)
                if key not in remote_cache:
                    remote_cache[key] = bool(is_remote(res.code, res.scheme))
                remote = remote_cache[key]
            step = delta.get((complex_, remote))
            if step is None:
                step = delta[(complex_, remote)] = timedelta(days=deadline_rule.days_for(complex=complex_, remote=remote))
            due = received_i + step
        out[i] = CaseRecord(
            row_number=rows[i].row_number,
            external_ref=refs[i].text,
            source=default_source,
            channel=channel,
            received_date=received_i,
            kind=kind_i,
            category=category_i,
            people_count=count,
            is_mass=rules.is_mass(count, mass),
            is_over_level=bool(over),
            status=rec_status,
            handling_level=level_i,
            deadline_date=due,
            resolved_date=res_date,
            dialogue_dates=list(dialogue_i),
            project_name=project,
            summary=summary,
            commune_code=res.code,
            scheme=res.scheme,
            lon=lon,
            lat=lat,
            is_complex=complex_,
            deadline_computed=computed,
        )
    return out
