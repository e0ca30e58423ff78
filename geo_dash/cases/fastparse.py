"""The vectorised path of :func:`geo_dash.cases.parsing.parse_rows`: decide whole columns at once.

A file of cases repeats the same few thousand values per column (dates, labels, flags, commune
codes), so every column is *factorised* (each distinct cell once, ``pandas.factorize``) and each
distinct value is validated once — with the very methods of the per-row validator
(:class:`parsing._Row`), called on a probe row holding that one value, so a value means exactly
what it means row by row.  Places are resolved once per distinct (code, province, district,
commune, text, era).  Blank rows and references (empty, too long, duplicates) are decided the same
way, file-wide.  The results stay codes into distinct values (:class:`parsing.Coded`) and are
combined with numpy; the accepted rows become a :class:`parsing.CaseColumns`, never one object
per row.

A row is *decided* here only when every one of its values passed and the cross-field checks
(resolved/deadline/dialogues not before the received date) pass.  Every other row goes through
the per-row path (:func:`parsing._parse_row`), which collects its reasons — so rejects, their
reasons and their order are those of the per-row path by construction (``parse_rows(...,
vectorised=False)`` is that path for every row, and the tests compare the two).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from datetime import date, timedelta

import numpy as np
import pandas as pd

from geo_dash.cases import rules, vocab
from geo_dash.cases.parsing import (
    LAT_RANGE, LON_RANGE, MAX_REF_LENGTH, CaseColumns, CaseRecord, Coded, ParseResult, RawTable, Reject, _parse_row,
    _Ref, _ref_key, _Row, objects,
)
from geo_dash.cases.places import PlaceError, PlaceResolver
from geo_dash.text import fold


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


def _factorize(cells: Sequence[object], *, distinct: bool = True) -> Coded:
    """Codes of the cells, numbered in order of first appearance.  A column whose first 1,024 cells
    all differ (references, coordinates) is coded one row per value unless ``distinct`` is asked:
    deciding a repeated value twice gives the same answer, and hashing it costs more."""
    n = len(cells)
    if not distinct and n > 1024 and len(set(cells[:1024])) == 1024:
        return Coded(np.arange(n, dtype=np.intp), objects(cells))
    codes, uniques = pd.factorize(np.fromiter(cells, dtype=object, count=n), use_na_sentinel=False)
    return Coded(codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object))


def _flags(values: Iterable[object], n: int) -> np.ndarray:
    return np.fromiter(map(bool, values), dtype=bool, count=n)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Row of the first occurrence of each code, for codes numbered in order of first appearance."""
    if not len(codes):
        return np.zeros(0, dtype=np.intp)
    seen_max = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > seen_max[:-1]
    return np.flatnonzero(new)


def _combine(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(codes of each distinct combination of the columns' codes, numbered in order of first
    appearance; the first row of each combination)."""
    combined, _ = pd.factorize(columns[0].astype(np.int64))
    for c in columns[1:]:  # numbered again after each column: the products stay below n²
        width = int(c.max()) + 1 if len(c) else 1
        combined, _ = pd.factorize(combined.astype(np.int64) * width + c)
    combined = combined.astype(np.intp, copy=False)
    return combined, _first_rows(combined)


def _decide(column: Coded | None, n: int, decide: Callable[[object], tuple[object, bool]]) -> tuple[Coded, np.ndarray]:
    """(the decided value of each row as a Coded, ok per row) from ``decide`` called once per distinct
    cell (``None`` = the column is absent: every row holds "")."""
    if column is None:
        value, ok = decide("")
        return Coded.constant(value, n), np.full(n, ok)
    decided = [decide(u) for u in column.uniques.tolist()]
    oks = np.fromiter((d[1] for d in decided), dtype=bool, count=len(decided))
    return Coded(column.codes, objects([d[0] for d in decided])), oks[column.codes]


def _ordinals(column: Coded, missing: int) -> np.ndarray:
    """Day number of each row's date (``missing`` where there is none)."""
    days = np.fromiter((missing if d is None else d.toordinal() for d in column.uniques.tolist()),
                       dtype=np.int64, count=len(column.uniques))
    return days[column.codes]


def _coordinates(lon: Coded | None, lat: Coded | None, n: int) -> tuple[Coded, Coded, np.ndarray]:
    """Longitude and latitude per row, and the rows the per-row validator accepts as they are:
    both blank (no point) or both numbers inside Vietnam's box (``_Row.coordinates``' rules)."""
    def numbers(column: Coded | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if column is None:
            return np.zeros(n, dtype=np.intp), np.array([math.nan]), np.array([True])
        texts = list(map(str.strip, column.uniques.tolist()))
        blank = _flags(map(operator.not_, texts), len(texts))
        cleaned = list(map(str.replace, texts, repeat(" "), repeat("")))
        try:  # the usual column: every cell a number with a decimal point (or blank, below)
            values = np.fromiter(map(float, cleaned), dtype=float, count=len(cleaned)) \
                if not any(map(str.__contains__, cleaned, repeat(","))) else None
        except ValueError:
            values = None
        if values is None:
            values = np.empty(len(cleaned), dtype=float)
            for j, t in enumerate(cleaned):
                if "," in t and "." not in t:
                    t = t.replace(",", ".")
                try:
                    values[j] = float(t)
                except ValueError:
                    values[j] = math.nan
        return column.codes, values, blank

    lon_codes, lon_u, lon_blank_u = numbers(lon)
    lat_codes, lat_u, lat_blank_u = numbers(lat)
    x, y = lon_u[lon_codes], lat_u[lat_codes]
    x_blank, y_blank = lon_blank_u[lon_codes], lat_blank_u[lat_codes]
    with np.errstate(invalid="ignore"):
        inside = (np.isfinite(x) & np.isfinite(y) & (x >= LON_RANGE[0]) & (x <= LON_RANGE[1])
                  & (y >= LAT_RANGE[0]) & (y <= LAT_RANGE[1]))
    none_given = x_blank & y_blank
    ok = (inside & ~x_blank & ~y_blank) | none_given
    lon_u_obj = objects([None if math.isnan(v) else v for v in lon_u.tolist()] + [None])
    lat_u_obj = objects([None if math.isnan(v) else v for v in lat_u.tolist()] + [None])
    missing_lon, missing_lat = len(lon_u_obj) - 1, len(lat_u_obj) - 1
    return (Coded(np.where(none_given, missing_lon, lon_codes), lon_u_obj),
            Coded(np.where(none_given, missing_lat, lat_codes), lat_u_obj), ok)


def _references(raw: RawTable, column: Coded | None, numbers: np.ndarray, result: ParseResult):
    """(reference text per row, its failure (vi, en) or None per row) — ``parsing._references``
    decided per distinct cell; template-example warnings go to ``result`` in row order."""
    n = len(numbers)
    if column is None:
        column = Coded.constant("", n)
    texts = list(map(" ".join, map(str.split, column.uniques.tolist())))
    length = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    fails: list[tuple[str, str] | None] = [None] * len(texts)
    for j in np.flatnonzero(length == 0).tolist():
        fails[j] = ("trống", "empty")
    for j in np.flatnonzero(length > MAX_REF_LENGTH).tolist():
        fails[j] = (f"dài quá {MAX_REF_LENGTH} ký tự", f"longer than {MAX_REF_LENGTH} characters")
    keys = list(map(str.lower, texts))  # the key of an ASCII reference; others: _ref_key
    for j in np.flatnonzero(~_flags(map(str.isascii, texts), len(texts))).tolist():
        keys[j] = _ref_key(texts[j])
    example = np.zeros(len(texts), dtype=bool)
    for j in np.flatnonzero(_flags(map(str.startswith, texts, repeat(("v", "V", "e", "E"))), len(texts))).tolist():
        ref = texts[j]
        example[j] = ref[:2].lower() in ("ví", "vi", "ex", "vÍ") and \
            fold(ref).replace("-", " ").startswith(("vi du", "example"))
    text = Coded(column.codes, objects(texts))
    failed_u = (length == 0) | (length > MAX_REF_LENGTH)
    fail_codes = np.where(failed_u, np.arange(len(fails)), len(fails))[column.codes]  # len(fails): no failure
    fail_u = fails + [None]

    key_of_u = _factorize(keys).codes
    eligible = np.flatnonzero(~failed_u[column.codes])
    key_codes, _ = pd.factorize(key_of_u[column.codes[eligible]])
    first = eligible[_first_rows(key_codes)]       # the row that keeps each reference
    first_of_row = first[key_codes]
    duplicate = eligible[first_of_row != eligible]
    extra_fails: list[tuple[str, str]] = []
    for i, f in zip(duplicate.tolist(), first_of_row[first_of_row != eligible].tolist()):
        ref, first_number = texts[column.codes[i]], int(numbers[f])
        extra_fails.append((f"“{ref}” trùng với dòng {first_number}",
                            f"duplicate reference, first used in row {first_number}"))
    if len(duplicate):
        fail_codes[duplicate] = len(fail_u) + np.arange(len(duplicate))
        fail_u = fail_u + extra_fails
    for i in first[example[column.codes[first]]].tolist():
        ref, number = texts[column.codes[i]], int(numbers[i])
        result.warnings.append(
            f"Dòng {number}: “{ref}” có vẻ là dòng ví dụ của mẫu — xoá trước khi nhập thật "
            f"(row {number} looks like a template example row)"
        )
    return text, Coded(fail_codes, objects(fail_u)), fail_codes == len(fails)


def parse_table(
    raw: RawTable,
    result: ParseResult,
    *,
    as_of: date,
    resolver,
    deadline_rule: rules.DeadlineRule,
    default_source: str | None,
    is_remote: Callable[[str, str], bool] | None,
) -> None:
    """Fill ``result`` (blank rows, warnings, rejects, accepted) from ``raw``, as ``parse_rows`` does row by row."""
    numbers_all = np.asarray(raw.numbers, dtype=np.int64)
    coded_all = {f: _factorize(raw.cells[h], distinct=False) for f, h in raw.columns.items()}
    # blank rows: nothing in any recognised column
    filled = np.zeros(len(numbers_all), dtype=bool)
    for c in coded_all.values():
        filled |= _flags(map(str.strip, c.uniques.tolist()), len(c.uniques))[c.codes]
    result.blank_rows = numbers_all[~filled].tolist()
    kept = np.flatnonzero(filled)
    n = len(kept)
    if not n:
        return
    numbers = numbers_all[kept]
    col = {f: c.take(kept) for f, c in coded_all.items()}

    ref_text, ref_fail, ok = _references(raw, col.get("external_ref"), numbers, result)
    probe = _Probe(as_of)

    def one(field: str, method: Callable, *args, **kwargs):
        return _decide(col.get(field), n, lambda u: probe.run({field: u}, method, field, *args, **kwargs))

    received, good = one("received_date", probe.date, required=True)
    ok &= good
    kind, good = one("kind", probe.vocab, vocab.match_kind, required=True)
    ok &= good
    category, good = one("category", probe.vocab, vocab.match_category, required=True)
    ok &= good
    people, good = _decide(col.get("people_count"), n, lambda u: probe.run({"people_count": u}, probe.people))
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
    dialogues, good = _decide(col.get("dialogue_dates"), n,
                              lambda u: probe.run({"dialogue_dates": u}, probe.dialogues))
    ok &= good
    texts = {}
    for field in ("project_name", "summary", "channel"):
        texts[field], good = one(field, probe.text)
        ok &= good
    lon, lat, good = _coordinates(col.get("lon"), col.get("lat"), n)
    ok &= good

    # cross-field checks on the rows still standing (their received date is known)
    received_day = _ordinals(received, -1)
    late = np.iinfo(np.int64).max
    ok &= ~(_ordinals(resolved, late) < received_day)
    ok &= ~(_ordinals(deadline, late) < received_day)
    dialogues.uniques = objects([tuple(d) for d in dialogues.uniques.tolist()])
    first_dialogue = objects([d[0] if d else None for d in dialogues.uniques.tolist()])
    ok &= ~(_ordinals(Coded(dialogues.codes, first_dialogue), late) < received_day)

    # places: once per distinct place and era (the received date decides only which scheme comes first)
    place_fields = ("commune_code", "province", "district", "commune", "place_text")
    place_cols = [col.get(f) or Coded.constant("", n) for f in place_fields]
    by_era = isinstance(resolver, PlaceResolver)
    if by_era:
        cutover = resolver.cutover
        after = np.fromiter((d is not None and d >= cutover for d in received.uniques.tolist()), dtype=bool,
                            count=len(received.uniques))
        era_codes = np.where(ok, after[received.codes], as_of >= cutover).astype(np.intp)
        eras = [cutover - timedelta(days=1), cutover]  # same era, same answer
    else:  # any other resolver is asked with each row's own date
        era_codes = np.where(ok, received.codes, len(received.uniques))
        eras = received.uniques.tolist() + [as_of]
    place_codes, place_first = _combine([c.codes for c in place_cols] + [era_codes])

    def place(i: int):
        cells = [(c.uniques[c.codes[i]].strip() or None) for c in place_cols]
        try:
            return resolver.resolve(commune_code=cells[0], province=cells[1], district=cells[2], commune=cells[3],
                                    free_text=cells[4], received_date=eras[era_codes[i]]), True
        except PlaceError:
            return None, False

    decided = [place(i) for i in place_first.tolist()]
    resolution = Coded(place_codes, objects([d[0] for d in decided]))
    ok &= np.fromiter((d[1] for d in decided), dtype=bool, count=len(decided))[place_codes]

    # the accepted rows, column-wise
    rows = np.flatnonzero(ok)
    res_u = resolution.uniques.tolist()
    res_ok = [r for r in res_u if r is not None]
    res_code = {id(r): j for j, r in enumerate(res_ok)}
    res_codes = np.array([res_code.get(id(r), -1) for r in res_u], dtype=np.intp)[resolution.codes]
    status_none = np.fromiter((u is None for u in status.uniques.tolist()), dtype=bool,
                              count=len(status.uniques))[status.codes]
    resolved_none = np.fromiter((u is None for u in resolved.uniques.tolist()), dtype=bool,
                                count=len(resolved.uniques))[resolved.codes]
    k = len(status.uniques)
    status_final = Coded(np.where(status_none, np.where(resolved_none, k + 1, k), status.codes),
                         objects(status.uniques.tolist() + ["da_giai_quyet", "tiep_nhan"]))
    complex_u = np.array([bool(u) for u in is_complex.uniques.tolist()], dtype=bool)
    complex_rows = complex_u[is_complex.codes]
    over_final = Coded(over_level.codes, objects([bool(u) for u in over_level.uniques.tolist()]))
    complex_final = Coded(is_complex.codes, objects(complex_u.tolist()))

    # deadlines: the given one, else the statutory one (received + days for complex/remote)
    due_none_u = np.fromiter((u is None for u in deadline.uniques.tolist()), dtype=bool, count=len(deadline.uniques))
    computed = due_none_u[deadline.codes]
    remote_of: dict[tuple[str, str], bool] = {}
    for r in res_ok:
        if (r.code, r.scheme) not in remote_of:
            remote_of[(r.code, r.scheme)] = bool(is_remote(r.code, r.scheme)) if is_remote else False
    remote_u = np.array([remote_of[(r.code, r.scheme)] for r in res_ok] + [False], dtype=bool)
    remote_rows = remote_u[res_codes]
    due_keys, due_first = _combine([received.codes, complex_rows.astype(np.intp), remote_rows.astype(np.intp)])
    step: dict[tuple[bool, bool], timedelta] = {}
    due_u = []
    for i in due_first.tolist():
        day = received.uniques[received.codes[i]]
        key = (bool(complex_rows[i]), bool(remote_rows[i]))
        if key not in step:
            step[key] = timedelta(days=deadline_rule.days_for(complex=key[0], remote=key[1]))
        due_u.append(None if day is None else day + step[key])
    k = len(deadline.uniques)
    deadline_final = Coded(np.where(computed, k + due_keys, deadline.codes),
                           objects(deadline.uniques.tolist() + due_u))

    mass_keys, mass_first = _combine([people.codes, mass_given.codes])
    mass_final = Coded(mass_keys, objects([rules.is_mass(people.uniques[people.codes[i]],
                                                         mass_given.uniques[mass_given.codes[i]])
                                           for i in mass_first.tolist()]))
    scheme_codes = np.array([r.scheme for r in res_ok] + [None], dtype=object)
    commune_codes = np.array([r.code for r in res_ok] + [None], dtype=object)
    fast = {
        "row_number": Coded(np.arange(n, dtype=np.intp), objects(numbers.tolist())),
        "external_ref": ref_text,
        "source": Coded.constant(default_source, n),
        "received_date": received,
        "kind": kind,
        "category": category,
        "people_count": people,
        "is_mass": mass_final,
        "is_over_level": over_final,
        "status": status_final,
        "handling_level": level,
        "deadline_date": deadline_final,
        "resolved_date": resolved,
        "dialogue_dates": dialogues,
        "project_name": texts["project_name"],
        "summary": texts["summary"],
        "commune_code": Coded(res_codes, commune_codes),
        "scheme": Coded(res_codes, scheme_codes),
        "lon": lon,
        "lat": lat,
        "is_complex": complex_final,
        "deadline_computed": Coded(computed.astype(np.intp), objects([False, True])),
        "channel": texts["channel"],
    }
    accepted = CaseColumns(fast, n).take(rows)

    # every other row: the per-row path says why (or accepts it after all)
    options = dict(as_of=as_of, resolver=resolver, deadline_rule=deadline_rule, default_source=default_source,
                   is_remote=is_remote)
    others: list[CaseRecord] = []
    other_at: list[int] = []
    for i in np.flatnonzero(~ok).tolist():
        outcome = _parse_row(raw, raw.row(int(kept[i])), _Ref(ref_text.uniques[ref_text.codes[i]],
                                                               ref_fail.uniques[ref_fail.codes[i]]), **options)
        if isinstance(outcome, Reject):
            result.rejects.append(outcome)
        else:
            others.append(outcome)
            other_at.append(i)
    if others:
        merged = CaseColumns.concat([accepted, CaseColumns.from_records(others)])
        accepted = merged.take(np.argsort(np.concatenate([rows, np.asarray(other_at)]), kind="stable"))
    result.accepted = accepted
