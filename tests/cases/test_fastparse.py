"""The vectorised parser (geo_dash.cases.fastparse) gives exactly what the per-row parser gives.

``parse_rows`` decides whole columns once per distinct value and sends only the rows it cannot
accept through the per-row validator; here both paths parse the same mixed good/bad tables
(hypothesis draws the cells from pools of valid, odd-but-valid and invalid values) and every record,
reject (row, values, reasons), blank row and warning must be equal.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_dash.cases.parsing import RawTable, parse_rows
from geo_dash.cases.places import PlaceError, PlaceResolver, Resolution, units_from_vietnamadminunits
from geo_dash.cases.rules import DeadlineRule

AS_OF = date(2025, 10, 1)

# column header -> pool of cells (valid, valid in odd spellings, invalid)
POOLS = {
    "Mã hồ sơ": ["R-1", "R-2", "r-1", " R-3 ", "", "Ví dụ 1", "x" * 101, "HS 2024/7", "Đơn-05", "R\u00a04"],
    "Ngày tiếp nhận": ["03/04/2024", "3/4/24", "2024-04-03", "45385", "ngày 2 tháng 9 năm 2025", "31/02/2024",
                       "01/01/1989", "02/10/2025", "", "04/05/2024 10:30", "5/6/2024 3:00 PM", "abc", "12.03.2023"],
    "Loại đơn": ["Khiếu nại", "khieu nai", "TỐ CÁO", "KNPA", "Đơn khiếu nại", "KN", "", "xyz"],
    "Lĩnh vực": ["GPMB", "Thu hồi đất", "Đất đai", "Môi trường", "khác", "", "lĩnh vực môi trường", "???"],
    "Số người": ["", "1", "7", "0", "-3", "2.0", "5 người", "abc", "10001", "12 ng."],
    "Đông người": ["", "x", "Có", "không", "maybe", "-"],
    "Vượt cấp": ["", "x", "1", "0", "yes", "??"],
    "Phức tạp": ["", "Có", "Không", "nope"],
    "Trạng thái": ["", "Đã giải quyết", "Đang xử lý", "đã gq", "tiep nhan", "unknown status"],
    "Cấp giải quyết": ["", "Cấp xã", "UBND huyện", "TW", "cap xa", "planet"],
    "Ngày giải quyết": ["", "20/05/2024", "01/01/2024", "31/13/2024", "05/04/2024"],
    "Hạn giải quyết": ["", "30/06/2024", "01/01/2024", "15/12/2026", "bad"],
    "Đối thoại": ["", "10/06/2024", "10/06/2024; 12/06/2024", "01/01/2020", "32/01/2024", "10/06/2024,,11/06/2024"],
    "Dự án liên quan": ["", "Cao tốc Cam Lộ - La Sơn", "gọi 0912345678", "  Dự   án  A  "],
    "Tóm tắt": ["", "Bồi thường thấp", "CCCD 012345678901", "  giữ   khoảng trắng "],
    "Nguồn": ["", "Tiếp công dân", "Bưu điện"],
    "Mã xã": ["", "19741", "19363", "1936", "99999", "45", "abc", "19363.0"],
    "Tỉnh": ["", "Quảng Trị", "quang tri", "Tỉnh Không Có"],
    "Huyện": ["", "Hải Lăng", "Vĩnh Linh", "Huyện Ma"],
    "Xã": ["", "Hải Khê", "Vĩnh Thái", "Hồ Xá", "Cam An", "Không Có Xã Này"],
    "Địa bàn": ["", "Xã Trung Giang, huyện Gio Linh, tỉnh Quảng Trị", "Phường Đông Hà, tỉnh Quảng Trị", "???"],
    "Kinh độ": ["", "107.36", "107,36", "16.75", "abc", "200"],
    "Vĩ độ": ["", "16.75", "16,75", "107.36", "x"],
}
HEADERS = list(POOLS)
GOOD = {"Mã hồ sơ": "R-{i}", "Ngày tiếp nhận": "03/04/2024", "Loại đơn": "Khiếu nại", "Lĩnh vực": "GPMB",
        "Mã xã": "19741"}


@functools.lru_cache(maxsize=1)
def _resolver() -> PlaceResolver:
    return PlaceResolver(units_from_vietnamadminunits())


def _same(raw: RawTable, resolver, **kwargs) -> None:
    fast = parse_rows(raw, as_of=AS_OF, resolver=resolver, **kwargs)
    slow = parse_rows(raw, as_of=AS_OF, resolver=resolver, vectorised=False, **kwargs)
    assert fast.records == slow.records
    assert [(r.row_number, r.values, r.reasons) for r in fast.rejects] == \
        [(r.row_number, r.values, r.reasons) for r in slow.rejects]
    assert fast.blank_rows == slow.blank_rows
    assert fast.warnings == slow.warnings
    assert len(fast.records) + len(fast.rejects) + len(fast.blank_rows) == len(raw.rows)


@st.composite
def tables(draw):
    headers = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=len(HEADERS), unique=True))
    for required in ("Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực"):
        if required not in headers:
            headers.append(required)
    if not {"Mã xã", "Xã", "Địa bàn"} & set(headers):
        headers.append("Mã xã")
    n = draw(st.integers(min_value=1, max_value=30))
    rows = []
    for i in range(n):
        mostly_good = draw(st.booleans())
        row = []
        for h in headers:
            if mostly_good and h in GOOD and draw(st.integers(0, 4)):
                row.append(GOOD[h].format(i=i))
            else:
                row.append(draw(st.sampled_from(POOLS[h])))
        if draw(st.integers(0, 9)) == 0:
            row = [""] * len(headers)  # a blank row
        rows.append(row)
    return RawTable.from_rows(headers, rows, source="mixed.csv")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_fast_and_per_row_paths_agree_on_mixed_tables(raw):
    _same(raw, _resolver())


@settings(max_examples=40, deadline=None)
@given(tables(), st.booleans())
def test_they_agree_with_a_deadline_rule_and_remote_communes(raw, lag):
    rule = DeadlineRule(days=20, complex_days=40, remote_extra_days=10, acceptance_lag_days=10 if lag else 0)
    _same(raw, _resolver(), deadline_rule=rule, default_source="src",
          is_remote=lambda code, scheme: code.endswith("1"))


class _DateSensitive:
    """A resolver (not a PlaceResolver) whose answer depends on the exact received date."""

    def __init__(self):
        self.calls = 0

    def resolve(self, commune_code=None, province=None, district=None, commune=None, free_text=None,
                received_date=None):
        self.calls += 1
        if not commune_code:
            raise PlaceError("no code")
        if received_date.day % 3 == 0:
            raise PlaceError(f"closed on {received_date:%d/%m}")
        return Resolution(commune_code.strip().zfill(5), "legacy" if received_date.day % 2 else "2025")


def test_any_resolver_is_asked_per_exact_received_date():
    start = date(2024, 1, 1)
    rows = [[f"D-{i}", (start + timedelta(days=i % 40)).strftime("%d/%m/%Y"), "Khiếu nại", "GPMB", "19741"]
            for i in range(400)]
    raw = RawTable.from_rows(["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Mã xã"], rows)
    resolver = _DateSensitive()
    _same(raw, resolver)
    fast = parse_rows(raw, as_of=AS_OF, resolver=resolver)
    assert fast.rejects and fast.records


def test_a_large_table_is_decided_per_distinct_value():
    """10,000 rows with a few bad ones: the same answer, and the places are resolved once per distinct place."""
    good = ["{}", "03/04/2024", "Khiếu nại", "GPMB", "2", "", "19741"]
    rows = []
    for i in range(10_000):
        row = [c.format(f"L-{i}") for c in good]
        if i % 997 == 0:
            row[1] = "31/02/2024"
        if i % 1499 == 0:
            row[0] = "L-1"  # a duplicate reference
        rows.append(row)
    raw = RawTable.from_rows(["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái",
                              "Mã xã"], rows)

    class Counting(PlaceResolver):
        calls = 0

        def resolve(self, *args, **kwargs):
            Counting.calls += 1
            return super().resolve(*args, **kwargs)

    resolver = Counting(units_from_vietnamadminunits())
    _same(raw, resolver)
    Counting.calls = 0
    result = parse_rows(raw, as_of=AS_OF, resolver=resolver)
    # 11 impossible dates (i = 0, 997, …) and 7 duplicates of "L-1" (row i = 1 and i = 1499, 2998, …; row 0 keeps it)
    assert len(result.records) + len(result.rejects) == 10_000 and len(result.rejects) == 18
    # one commune in two eras (rows with an unreadable date are placed as of the import date), plus the rejects
    assert Counting.calls <= 2 + len(result.rejects)
