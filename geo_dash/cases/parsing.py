"""Read grievance-case files (CSV/XLSX) and validate their rows — no database here.

:func:`read_table` turns a file into a :class:`RawTable` (original cell
strings with their source row numbers); :func:`parse_rows` validates every
row into a :class:`CaseRecord` or a :class:`Reject` with reasons in
Vietnamese (English in parentheses); :func:`write_rejects` writes the rejects
back out, re-importable after fixing.

Files
    * CSV in UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1258
      (decoded with Python's ``cp1258`` codec, which yields combining tone
      marks, then NFC-normalised).  The delimiter (``,`` ``;`` tab ``|``) is
      chosen as the one giving a recognised header row.
    * XLSX (openpyxl, read-only, cached formula values): the first sheet with
      a recognised header row is used.  ``.xls`` is refused (save as .xlsx).
    * The header row may be any of the first 10 rows (titles above it are
      skipped); it is recognised case-, diacritic- and punctuation-
      insensitively, ignoring text in brackets and ``*`` ("Ngày tiếp nhận
      (dd/mm/yyyy) *" is "Ngày tiếp nhận").  Place columns named only by
      unit-type words are recognised in any order ("Phường/Xã/Thị trấn",
      "Huyện/Thị xã/TP", "Tên tỉnh").
    * Files in the legacy TCVN3 (ABC) or VNI font encodings are refused with
      instructions to convert them (Unikey → "Chuyển mã").

Columns (header aliases; ✔ = required)

    | field | tiêu đề (Vietnamese) | header (English) | ✔ | also accepted |
    |---|---|---|---|---|
    | external_ref | Mã hồ sơ | Reference | ✔ | Số hồ sơ; Mã vụ việc; Mã số vụ việc; Mã đơn; Số hiệu hồ sơ; Ref; Case reference; Case ref; Case ID; Case number |
    | received_date | Ngày tiếp nhận | Received date | ✔ | Ngày nhận đơn; Ngày nhận; Ngày tiếp nhận đơn; Received; Date received; Receipt date |
    | kind | Loại đơn | Kind | ✔ | Loại vụ việc; Phân loại đơn; Loại; Type; Case type; Petition type |
    | category | Lĩnh vực | Category | ✔ | Nhóm lĩnh vực; Lĩnh vực khiếu kiện; Subject; Field |
    | people_count | Số người | People |  | Số người tham gia; Số người đứng đơn; Số lượng người; Số người khiếu nại; People count; Number of people; Persons |
    | is_mass | Đông người | Mass petition |  | Khiếu kiện đông người; Vụ việc đông người; Mass; Mass case |
    | is_over_level | Vượt cấp | Over level |  | Đơn vượt cấp; Khiếu kiện vượt cấp; Bypassed level; Skipped level |
    | status | Trạng thái | Status |  | Tình trạng; Tình trạng giải quyết; Trạng thái giải quyết |
    | resolved_date | Ngày giải quyết | Resolved date |  | Ngày hoàn thành; Ngày kết thúc; Ngày giải quyết xong; Resolved; Date resolved; Resolution date; Closed date |
    | deadline_date | Hạn giải quyết | Deadline |  | Thời hạn giải quyết; Hạn xử lý; Due date; Due |
    | dialogue_dates | Đối thoại | Dialogue dates |  | Ngày đối thoại; Các ngày đối thoại; Dialogue; Dialogues |
    | project_name | Dự án liên quan | Project |  | Dự án; Tên dự án; Công trình, dự án; Project name; Related project |
    | handling_level | Cấp giải quyết | Handling level |  | Cấp thẩm quyền; Cấp xử lý; Level; Authority level |
    | is_complex | Phức tạp | Complex |  | Vụ việc phức tạp; Complex case |
    | summary | Tóm tắt | Summary |  | Nội dung; Tóm tắt nội dung; Nội dung vụ việc; Nội dung đơn; Description; Content |
    | commune_code | Mã xã | Commune code |  | Mã xã/phường; Mã phường/xã; Mã xã phường thị trấn; Mã đơn vị hành chính; Mã ĐVHC; Ward code; GSO code; Commune GSO code |
    | province | Tỉnh | Province |  | Tỉnh/Thành phố; Tỉnh/TP; Tỉnh, thành phố; Tỉnh thành; Province/City |
    | district | Huyện | District |  | Quận/Huyện; Huyện/Quận; Huyện/Quận/Thị xã/Thành phố; Huyện/Thị xã/Thành phố; Quận/Huyện/Thị xã |
    | commune | Xã | Commune |  | Xã/Phường; Phường/Xã; Xã/Phường/Thị trấn; Xã, phường, thị trấn; Ward; Commune/Ward |
    | place_text | Địa bàn | Location |  | Địa bàn phát sinh; Địa điểm; Địa điểm phát sinh; Nơi phát sinh; Place |
    | lon | Kinh độ | Longitude |  | Lon; Lng; Long |
    | lat | Vĩ độ | Latitude |  | Lat |
    | channel | Nguồn | Channel |  | Nguồn đơn; Nguồn tiếp nhận; Source; Kênh tiếp nhận |

    Place: at least one of ``Mã xã``, ``Xã`` (with ``Tỉnh``/``Huyện``) or
    ``Địa bàn`` is required; per row the code wins, then the names, then the
    free text (see :mod:`geo_dash.cases.places`).

Personal data
    A case is a matter, never a person.  Columns that hold personal data —
    names (Họ tên, Tên, Người khiếu nại…), ID numbers (CCCD, CMND, định danh, hộ
    chiếu), phones, e-mail, addresses (any "Địa chỉ…"), birth dates, gender,
    ethnicity, religion, names of the officials who handled the matter
    (Người tiếp nhận, Cán bộ thụ lý…), and their English equivalents — are
    dropped when the file is read: their values are never kept in the
    :class:`RawTable`, never copied to a record or to the rejects file; their
    headers are listed in ``ignored_columns`` ("ignored personal-data
    columns").  A summary,
    project or source that looks like it contains a phone or ID number is
    rejected so that it is removed at the source.

Values
    * Dates: ``dd/mm/yyyy``, ``d/m/yy``, ``dd-mm-yyyy``, ``dd.mm.yyyy``,
      ISO ``yyyy-mm-dd``, "ngày 3 tháng 4 năm 2024", Excel serial numbers
      (1900 date system) and real date cells.  Day first, always: ``03/04/2024`` is 3 April; a value
      with AM/PM (a US-locale export) is refused rather than guessed.  A
      2-digit year is 20yy unless that is after the import date (then 19yy).
      A date that does not exist, is before 1990 or after the import date
      (``as_of``) is rejected — except "Hạn giải quyết", which may lie ahead.
    * Flags: Có/Không, x, ✓, 1/0, true/false, yes/no, c/k, đúng/sai; blank
      (or "-") is False — for "Đông người" blank means "derive from Số người".
    * Số người: a whole number ≥ 1 (≤ 10 000); blank = unknown.
    * Kinh độ/Vĩ độ: decimal degrees (decimal comma accepted), both or
      neither, inside 102–117.9 °E / 6–24 °N.
    * Trạng thái blank: "Đã giải quyết" if a resolved date is given, else
      "Tiếp nhận".  Hạn giải quyết blank: computed with
      :func:`geo_dash.cases.rules.statutory_deadline` (``deadline_computed``).

Rows
    Every data row ends up in exactly one of ``records``, ``rejects`` or
    ``blank_rows``.  A blank row is one with nothing in any recognised column
    (e.g. only an "STT" number); blank rows are reported separately, not
    rejected.  Invariant: ``len(records) + len(rejects) == data_rows`` and
    ``data_rows + len(blank_rows) == len(raw.rows)``.  Duplicate references
    (case-insensitive) within a file: the first row is kept, later ones are
    rejected naming the first row.
"""

from __future__ import annotations

import functools

import csv
import itertools
from collections import Counter
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from geo_dash.cases import rules, vocab
from geo_dash.cases.places import PlaceError, Resolution
from geo_dash.text import fold

__all__ = [
    "Column",
    "COLUMNS",
    "REASON_HEADER",
    "ImportRefused",
    "LegacyEncodingError",
    "MissingColumnsError",
    "RawRow",
    "RawTable",
    "CaseRecord",
    "Reject",
    "ParseResult",
    "DateError",
    "detect_legacy_encoding",
    "header_key",
    "recognise_header",
    "header_table_markdown",
    "read_table",
    "parse_date",
    "parse_flag",
    "parse_rows",
    "write_rejects",
]

MIN_DATE = date(1990, 1, 1)
PEOPLE_COUNT_MAX = 10_000
LON_RANGE = (102.0, 117.9)  # Trường Sa and Hoàng Sa lie east of 110 °E
LAT_RANGE = (6.0, 24.0)
HEADER_SCAN_ROWS = 10
MAX_REF_LENGTH = 100
REASON_HEADER = "Lý do từ chối (reason)"
EMPTY_ROW_REASON = "dòng trống (empty row)"


# =========================================================================== columns


@dataclass(frozen=True)
class Column:
    field: str
    header_vi: str
    header_en: str
    aliases: tuple[str, ...]
    required: bool
    help_vi: str
    help_en: str

    def spellings(self) -> tuple[str, ...]:
        return (self.header_vi, self.header_en, *self.aliases)


COLUMNS: tuple[Column, ...] = (
    Column(
        "external_ref", "Mã hồ sơ", "Reference",
        ("Số hồ sơ", "Mã vụ việc", "Mã số vụ việc", "Mã đơn", "Số hiệu hồ sơ", "Ref", "Case reference",
         "Case ref", "Case ID", "Case number"),
        True,
        "Mã/số hồ sơ của vụ việc, duy nhất trong tệp (không phải số giấy tờ của người dân).",
        "The case's reference, unique within the file (never a person's ID number).",
    ),
    Column(
        "received_date", "Ngày tiếp nhận", "Received date",
        ("Ngày nhận đơn", "Ngày nhận", "Ngày tiếp nhận đơn", "Received", "Date received", "Receipt date"),
        True,
        "Ngày tiếp nhận đơn/vụ việc.",
        "Date the petition/matter was received.",
    ),
    Column(
        "kind", "Loại đơn", "Kind",
        ("Loại vụ việc", "Phân loại đơn", "Loại", "Type", "Case type", "Petition type"),
        True,
        "Khiếu nại, Tố cáo hoặc Kiến nghị, phản ánh.",
        "Complaint, denunciation, or petition/feedback.",
    ),
    Column(
        "category", "Lĩnh vực", "Category",
        ("Nhóm lĩnh vực", "Lĩnh vực khiếu kiện", "Subject", "Field"),
        True,
        "Lĩnh vực của vụ việc (xem danh mục).",
        "Subject area of the matter (see the list).",
    ),
    Column(
        "people_count", "Số người", "People",
        ("Số người tham gia", "Số người đứng đơn", "Số lượng người", "Số người khiếu nại", "People count",
         "Number of people", "Persons"),
        False,
        "Số người cùng đứng đơn/tham gia (số nguyên ≥ 1); để trống nếu không rõ.",
        "Number of people bringing the matter (whole number ≥ 1); blank if unknown.",
    ),
    Column(
        "is_mass", "Đông người", "Mass petition",
        ("Khiếu kiện đông người", "Vụ việc đông người", "Mass", "Mass case"),
        False,
        f"Có/Không; để trống thì tính từ Số người (≥ {rules.MASS_PETITION_MIN_PEOPLE} người là đông người).",
        f"Yes/No; blank = derived from People (≥ {rules.MASS_PETITION_MIN_PEOPLE}).",
    ),
    Column(
        "is_over_level", "Vượt cấp", "Over level",
        ("Đơn vượt cấp", "Khiếu kiện vượt cấp", "Bypassed level", "Skipped level"),
        False,
        "Có/Không: đơn gửi vượt cấp.",
        "Yes/No: petition sent above the competent level.",
    ),
    Column(
        "status", "Trạng thái", "Status",
        ("Tình trạng", "Tình trạng giải quyết", "Trạng thái giải quyết"),
        False,
        "Tiếp nhận, Đang giải quyết, Đã giải quyết, Không thụ lý, Rút đơn.",
        "Received, in progress, resolved, not accepted, withdrawn.",
    ),
    Column(
        "resolved_date", "Ngày giải quyết", "Resolved date",
        ("Ngày hoàn thành", "Ngày kết thúc", "Ngày giải quyết xong", "Resolved", "Date resolved",
         "Resolution date", "Closed date"),
        False,
        "Ngày giải quyết xong (không trước ngày tiếp nhận).",
        "Date resolved (not before the received date).",
    ),
    Column(
        "deadline_date", "Hạn giải quyết", "Deadline",
        ("Thời hạn giải quyết", "Hạn xử lý", "Due date", "Due"),
        False,
        "Hạn giải quyết; để trống thì tính theo luật (30/45 ngày, vùng sâu vùng xa +15).",
        "Deadline; blank = computed by law (30/45 days, remote areas +15).",
    ),
    Column(
        "dialogue_dates", "Đối thoại", "Dialogue dates",
        ("Ngày đối thoại", "Các ngày đối thoại", "Dialogue", "Dialogues"),
        False,
        "Các ngày đối thoại, cách nhau bởi dấu ; hoặc , hoặc xuống dòng.",
        "Dialogue dates separated by ; or , or new lines.",
    ),
    Column(
        "project_name", "Dự án liên quan", "Project",
        ("Dự án", "Tên dự án", "Công trình, dự án", "Project name", "Related project"),
        False,
        "Tên dự án/công trình liên quan (nếu có).",
        "Related project (if any).",
    ),
    Column(
        "handling_level", "Cấp giải quyết", "Handling level",
        ("Cấp thẩm quyền", "Cấp xử lý", "Level", "Authority level"),
        False,
        "Cấp xã, Cấp huyện, Cấp tỉnh, Trung ương.",
        "Commune, district, province or central level.",
    ),
    Column(
        "is_complex", "Phức tạp", "Complex",
        ("Vụ việc phức tạp", "Complex case"),
        False,
        "Có/Không: vụ việc phức tạp (hạn giải quyết dài hơn).",
        "Yes/No: complex matter (longer deadline).",
    ),
    Column(
        "summary", "Tóm tắt", "Summary",
        ("Nội dung", "Tóm tắt nội dung", "Nội dung vụ việc", "Nội dung đơn", "Description", "Content"),
        False,
        "Tóm tắt nội dung vụ việc — KHÔNG ghi họ tên, số giấy tờ, điện thoại, địa chỉ của người dân.",
        "Summary of the matter — NO names, ID numbers, phones or addresses of people.",
    ),
    Column(
        "commune_code", "Mã xã", "Commune code",
        ("Mã xã/phường", "Mã phường/xã", "Mã xã phường thị trấn", "Mã đơn vị hành chính", "Mã ĐVHC",
         "Ward code", "GSO code", "Commune GSO code"),
        False,
        "Mã xã/phường 5 chữ số của Tổng cục Thống kê (cũ hoặc từ 1/7/2025).",
        "5-digit GSO commune code (legacy or 2025 scheme).",
    ),
    Column(
        "province", "Tỉnh", "Province",
        ("Tỉnh/Thành phố", "Tỉnh/TP", "Tỉnh, thành phố", "Tỉnh thành", "Province/City"),
        False,
        "Tên tỉnh/thành phố trực thuộc trung ương.",
        "Province name.",
    ),
    Column(
        "district", "Huyện", "District",
        ("Quận/Huyện", "Huyện/Quận", "Huyện/Quận/Thị xã/Thành phố", "Huyện/Thị xã/Thành phố",
         "Quận/Huyện/Thị xã"),
        False,
        "Tên huyện/quận/thị xã (đơn vị trước 1/7/2025); bỏ trống với đơn vị mới.",
        "District name (pre-2025 units); leave blank for 2025 units.",
    ),
    Column(
        "commune", "Xã", "Commune",
        ("Xã/Phường", "Phường/Xã", "Xã/Phường/Thị trấn", "Xã, phường, thị trấn", "Ward", "Commune/Ward"),
        False,
        "Tên xã/phường/thị trấn/đặc khu.",
        "Commune/ward name.",
    ),
    Column(
        "place_text", "Địa bàn", "Location",
        ("Địa bàn phát sinh", "Địa điểm", "Địa điểm phát sinh", "Nơi phát sinh", "Place"),
        False,
        "Địa bàn dạng chữ, ví dụ “Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị”.",
        "Place as text, e.g. “Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị”.",
    ),
    Column(
        "lon", "Kinh độ", "Longitude",
        ("Lon", "Lng", "Long"),
        False,
        "Kinh độ (độ thập phân, 102–117,9).",
        "Longitude (decimal degrees, 102–117.9).",
    ),
    Column(
        "lat", "Vĩ độ", "Latitude",
        ("Lat",),
        False,
        "Vĩ độ (độ thập phân, 8–24).",
        "Latitude (decimal degrees, 8–24).",
    ),
    Column(
        "channel", "Nguồn", "Channel",
        ("Nguồn đơn", "Nguồn tiếp nhận", "Source", "Kênh tiếp nhận"),
        False,
        "Nguồn đơn (ví dụ: tiếp công dân, bưu điện, chuyển đến).",
        "Where the petition came from (e.g. reception, post, forwarded).",
    ),
)
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
REQUIRED_FIELDS = tuple(c.field for c in COLUMNS if c.required)
PLACE_FORMS = ("commune_code", "commune", "place_text")

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def header_key(text: object) -> str:
    """Comparison key for a header: folded, bracketed notes and punctuation removed.

    >>> header_key("Ngày tiếp nhận (dd/mm/yyyy) *") == header_key("ngay tiep nhan")
    True
    """
    s = fold(text)
    s = _BRACKETS.sub(" ", s)
    return _NON_ALNUM.sub(" ", s).strip()


_HEADER_INDEX: dict[str, str] = {}
for _col in COLUMNS:
    for _spelling in _col.spellings():
        _key = header_key(_spelling)
        assert _HEADER_INDEX.get(_key, _col.field) == _col.field, _spelling
        _HEADER_INDEX[_key] = _col.field

_PERSONAL = re.compile(
    r"\b("
    r"ho (va )?ten|ten|ho|nguoi|ten nguoi|ten cong dan"
    r"|nguoi (khieu nai|to cao|kien nghi|phan anh|dung don|dai dien|gui don|viet don)"
    r"|cccd|cmnd|cmt|can cuoc|dinh danh|ho chieu|so giay to"
    r"|dien thoai|so dt|sdt|dtdd|di dong|email|e mail|thu dien tu"
    r"|dia chi|noi o|cu tru|thuong tru|tam tru|que quan"
    r"|ngay sinh|nam sinh|gioi tinh|dan toc|ton giao"
    r"|nguoi tiep nhan|nguoi xu ly|nguoi thu ly|can bo (tiep nhan|xu ly|thu ly|phu trach)"
    r"|name|full name|petitioner|complainant|applicant|id number|id no|id card|national id|passport"
    r"|phone|telephone|mobile|address|date of birth|dob|birth|gender|sex|ethnicity|religion"
    r")\b"
)
_DROPPED_SILENTLY = {header_key(REASON_HEADER)}
_UNIT_WORDS = ("thi tran", "thi xa", "dac khu", "thanh pho", "xa", "phuong", "huyen", "quan", "tinh", "tp")
_COMMUNE_WORDS = {"xa", "phuong", "thi tran", "dac khu"}
_DISTRICT_WORDS = {"huyen", "quan", "thi xa"}
_CITY_WORDS = {"thanh pho", "tp"}


def _place_header(key: str) -> str | None:
    """Place column named only by unit-type words in any order ("Phường/Xã/Thị trấn", "Tên tỉnh")."""
    rest = key[4:] if key.startswith("ten ") else key
    found: set[str] = set()
    while rest:
        word = next((w for w in _UNIT_WORDS if rest == w or rest.startswith(w + " ")), None)
        if word is None:
            return None
        found.add(word)
        rest = rest[len(word):].strip()
    if found and found <= _COMMUNE_WORDS:
        return "commune"
    if found & _DISTRICT_WORDS and found <= _DISTRICT_WORDS | _CITY_WORDS:
        return "district"
    if "tinh" in found and found <= {"tinh"} | _CITY_WORDS:
        return "province"
    return None


def recognise_header(text: object) -> tuple[str, str | None]:
    """("field", name) for a recognised column, ("personal", None), ("reason", None) or ("unknown", None)."""
    key = header_key(text)
    if key in _HEADER_INDEX:
        return "field", _HEADER_INDEX[key]
    place = _place_header(key)
    if place:
        return "field", place
    if key in _DROPPED_SILENTLY:
        return "reason", None
    if key and _PERSONAL.search(key):
        return "personal", None
    return "unknown", None


def header_table_markdown() -> str:
    """The header table of the module docstring (Markdown), generated from :data:`COLUMNS`."""
    lines = [
        "    | field | tiêu đề (Vietnamese) | header (English) | ✔ | also accepted |",
        "    |---|---|---|---|---|",
    ]
    for c in COLUMNS:
        req = "✔" if c.required else ""
        lines.append(f"    | {c.field} | {c.header_vi} | {c.header_en} | {req} | {'; '.join(c.aliases)} |")
    return "\n".join(lines)


# =========================================================================== errors


class ImportRefused(ValueError):
    """The whole file is refused (encoding, missing columns, unreadable); message is VI (EN)."""


class LegacyEncodingError(ImportRefused):
    def __init__(self, encoding: str, rows: Sequence[int]):
        self.encoding = encoding
        self.rows = list(rows)
        if encoding == "TCVN3":
            vi_name, en_name, source = "TCVN3 (ABC, phông .VnTime)", "TCVN3 (ABC, .VnTime fonts)", "TCVN3 (ABC)"
        else:
            vi_name, en_name, source = "VNI (phông VNI-Times)", "VNI (VNI-Times fonts)", "VNI Windows"
        where = ", ".join(str(r) for r in self.rows[:8])
        super().__init__(
            f"Tệp có vẻ được gõ bằng bảng mã cũ {vi_name}, không phải Unicode — chữ tiếng Việt sẽ bị sai. "
            f"Hãy chuyển sang Unicode rồi nhập lại: sao chép dữ liệu, mở Unikey → Công cụ… (Ctrl+Shift+F6) → "
            f"“Chuyển mã”, Nguồn: {source}, Đích: Unicode, bấm “Chuyển mã”, dán lại và lưu "
            f"(hoặc lưu CSV “UTF-8”). "
            f"(The file looks like it is typed in the legacy {en_name} encoding, not Unicode. Convert it to "
            f"Unicode — e.g. Unikey → Tools (Ctrl+Shift+F6) → “Chuyển mã”, source {source}, destination "
            f"Unicode — and import again.) Dòng có ký tự nghi vấn (rows with suspect characters): {where}."
        )


class MissingColumnsError(ImportRefused):
    def __init__(self, missing: Sequence[str], message: str):
        self.missing = list(missing)
        super().__init__(message)


# =========================================================================== legacy encodings

# Characters that TCVN3 (ABC) text shows when read as cp1252/cp1258/latin-1:
# ă â ê ô ơ ư đ (0xA8–0xAE), Ă Â Ê Ô Ơ Ư Đ (0xA1–0xA7), à ả ã á ạ (0xB5–0xB9),
# ằ ẳ ẵ ắ (0xBB–0xBE).  None of them occurs in Vietnamese Unicode text.
_TCVN3_MARKERS = frozenset("¡¢£¤¥¦§¨©ª«¬\xad®µ¶·¸¹»¼½¾")
# Characters of VNI text read the same way that never occur in Vietnamese:
# tone/vowel-mark bytes (ø ù… after a vowel) and đ/ư/ỉ/ỵ codes; cp1258 decodes
# these bytes to the same characters as cp1252.
_VNI_MARKERS = frozenset("øûïåäëüñöæîØÛÏÅÄËÜÑÖÆÎ")
# Letters only genuine Vietnamese Unicode has (outside Latin-1).
_VN_LETTERS = frozenset("ăĂđĐĩĨũŨơƠưƯ") | frozenset(chr(c) for c in range(0x1EA0, 0x1EFA))


def _marker_counts(text: str) -> tuple[int, int, int]:
    t = v = vn = 0
    for ch in text:
        if ch in _TCVN3_MARKERS:
            t += 1
        elif ch in _VNI_MARKERS:
            v += 1
        elif ch in _VN_LETTERS:
            vn += 1
    return t, v, vn


def _legacy_verdict(t: int, v: int, vn: int) -> str | None:
    if t >= 3 and t * 4 >= vn:
        return "TCVN3"
    if v >= 3 and v * 4 >= vn:
        return "VNI"
    return None


def detect_legacy_encoding(texts: Iterable[str]) -> str | None:
    """"TCVN3", "VNI" or None for text cells read from a file.

    Text in a legacy font encoding, read as cp1252/cp1258 (or stored so in an
    XLSX), is full of characters that Vietnamese Unicode never uses
    ("Qu¶ng TrÞ", "Quaûng Trò"), while genuine text is full of letters that
    only Unicode has (ả, ư, đ…).  At least 3 markers, and markers at least a
    quarter as frequent as genuine Vietnamese letters, are needed.
    """
    t = v = vn = 0
    for text in texts:
        if text.isascii():  # no marker and no Vietnamese letter can be in it
            continue
        a, b, c = _marker_counts(text)
        t, v, vn = t + a, v + b, vn + c
    return _legacy_verdict(t, v, vn)


_NON_ASCII_RUNS = re.compile(r"[^\x00-\x7f]+")
_MARKER_CHARS = re.compile("[" + re.escape("".join(sorted(_TCVN3_MARKERS | _VNI_MARKERS))) + "]")


def _check_legacy(rows: Sequence[tuple[int, Sequence[str]]], text: str | None = None) -> None:
    """Refuse a file typed in a legacy font encoding.  ``text``: the whole decoded file, when the
    cells are all of it plus ASCII separators (a CSV) — then the markers are counted on its
    non-ASCII characters at once, which gives the same counts as cell by cell."""
    if text is not None:
        markers = Counter(_MARKER_CHARS.findall(text))
        t, v = sum(markers[c] for c in _TCVN3_MARKERS), sum(markers[c] for c in _VNI_MARKERS)
        if t < 3 and v < 3:  # no verdict is possible (the usual case): no need to count the rest
            return
        counts = Counter("".join(_NON_ASCII_RUNS.findall(text)))
        verdict = _legacy_verdict(t, v, sum(n for c, n in counts.items() if c in _VN_LETTERS))
    else:
        verdict = detect_legacy_encoding(cell for _, cells in rows for cell in cells)
    if verdict is None:
        return
    markers = _TCVN3_MARKERS if verdict == "TCVN3" else _VNI_MARKERS
    suspect = [n for n, cells in rows if any(ch in markers for cell in cells for ch in cell)]
    raise LegacyEncodingError(verdict, suspect)


# =========================================================================== raw table


@dataclass
class RawRow:
    row_number: int
    values: dict[str, str]


@dataclass
class RawTable:
    """A file's data rows as original strings, personal-data columns already dropped.

    Kept column-wise (``cells``: one list per header, ``numbers``: the source row number of each
    data row); :attr:`rows` gives the same data row-wise, built on first use."""

    source: str
    headers: list[str]
    columns: dict[str, str]
    numbers: list[int]
    cells: dict[str, Sequence[str]]
    header_row: int = 1
    sheet: str | None = None
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    _rows: list[RawRow] | None = field(default=None, repr=False, compare=False)

    @property
    def rows(self) -> list[RawRow]:
        """The data rows (``RawRow``: row number and {header: cell})."""
        if self._rows is None:
            self._rows = [self.row(i) for i in range(len(self.numbers))]
        return self._rows

    def row(self, i: int) -> RawRow:
        """The ``i``-th data row (0-based)."""
        return RawRow(self.numbers[i], {h: self.cells[h][i] for h in self.headers})

    def value(self, row: RawRow, field_name: str) -> str:
        header = self.columns.get(field_name)
        if header is None:
            return ""
        return (row.values.get(header) or "").strip()

    @classmethod
    def from_rows(
        cls, header: Sequence[object], rows: Sequence[Sequence[object]], *, source: str = "<memory>", header_row: int = 1
    ) -> "RawTable":
        """Build a table from a header and data rows (tests, web forms); row numbers follow the header."""
        grid = [(header_row, [_cell_text(c) for c in header])]
        grid += [(header_row + i + 1, [_cell_text(c) for c in r]) for i, r in enumerate(rows)]
        return _build_table(grid, 0, source=source)


def _cell_text(value: object) -> str:
    """A cell as the string a person sees/typed: dates ISO, whole floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    return unicodedata.normalize("NFC", str(value))


def _header_score(cells: Sequence[str]) -> int:
    fields = set()
    for cell in cells:
        kind, name = recognise_header(cell)
        if kind == "field":
            fields.add(name)
    return len(fields)


def _find_header(grid: Sequence[tuple[int, Sequence[str]]]) -> int | None:
    best, best_score = None, 1
    for i, (_, cells) in enumerate(grid[:HEADER_SCAN_ROWS]):
        score = _header_score(cells)
        if score > best_score:
            best, best_score = i, score
    return best


def _accepted(field_name: str) -> str:
    return ", ".join(COLUMN_BY_FIELD[field_name].spellings())


def _build_table(
    grid: Sequence[tuple[int, Sequence[str]]],
    header_index: int,
    *,
    source: str,
    sheet: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    header_number, header_cells = grid[header_index]
    body = grid[header_index + 1:]
    width = max([len(header_cells)] + [len(cells) for _, cells in body])
    # the body column-wise: a short row's missing cells are ""
    rows = [cells for _, cells in body]
    if all(len(cells) == width for cells in rows):
        column_cells = list(zip(*rows)) if rows else []
    else:
        column_cells = list(itertools.zip_longest(*rows, fillvalue=""))
    column_cells += [("",) * len(body) for _ in range(width - len(column_cells))]
    columns: dict[str, str] = {}
    kept: list[tuple[int, str]] = []  # (column index, unique header)
    ignored: list[str] = []
    unknown: list[str] = []
    used: set[str] = set()
    for j in range(width):
        raw_header = header_cells[j].strip() if j < len(header_cells) else ""
        if not raw_header:
            if not any(c.strip() for c in column_cells[j]):
                continue
            raw_header = f"Cột {j + 1}"
        kind, name = recognise_header(raw_header)
        if kind == "personal":
            ignored.append(raw_header)
            continue
        if kind == "reason":
            continue
        unique = raw_header
        n = 2
        while unique in used:
            unique = f"{raw_header} ({n})"
            n += 1
        used.add(unique)
        kept.append((j, unique))
        if kind == "field":
            assert name is not None
            if name in columns:
                raise ImportRefused(
                    f"Hai cột cùng là “{COLUMN_BY_FIELD[name].header_vi}”: “{columns[name]}” và “{raw_header}” — "
                    f"giữ một cột (two columns mean the same field “{COLUMN_BY_FIELD[name].header_en}”: keep one)."
                )
            columns[name] = unique
        else:
            unknown.append(unique)

    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    lines = [
        f"“{COLUMN_BY_FIELD[f].header_vi}” ({COLUMN_BY_FIELD[f].header_en}) — chấp nhận (accepted): {_accepted(f)}"
        for f in missing
    ]
    if not any(f in columns for f in PLACE_FORMS):
        missing.append("place")
        lines.append(
            "địa bàn (place): một trong (one of) "
            + " | ".join(f"“{COLUMN_BY_FIELD[f].header_vi}” [{_accepted(f)}]" for f in PLACE_FORMS)
        )
    if missing:
        raise MissingColumnsError(
            missing,
            f"Thiếu cột bắt buộc ở dòng tiêu đề {header_number} (missing required column(s) in header row "
            f"{header_number}): " + "; ".join(lines),
        )

    numbers = [number for number, _ in body]
    kept_cells = [column_cells[j] for j, _ in kept]
    end = len(numbers)
    while end and not any(c[end - 1].strip() for c in kept_cells):
        end -= 1  # trailing empty rows are not data rows
    if end < len(numbers):
        numbers = numbers[:end]
        kept_cells = [c[:end] for c in kept_cells]
    return RawTable(
        source=source,
        headers=[name for _, name in kept],
        columns=columns,
        numbers=numbers,
        cells={name: c for (_, name), c in zip(kept, kept_cells)},
        header_row=header_number,
        sheet=sheet,
        encoding=encoding,
        ignored_columns=ignored,
        unknown_columns=unknown,
    )


def _no_header_error(source: str) -> ImportRefused:
    required = "; ".join(f"“{COLUMN_BY_FIELD[f].header_vi}” ({_accepted(f)})" for f in REQUIRED_FIELDS)
    return MissingColumnsError(
        list(REQUIRED_FIELDS) + ["place"],
        f"Không tìm thấy dòng tiêu đề trong {HEADER_SCAN_ROWS} dòng đầu của “{source}” (no header row found in "
        f"the first {HEADER_SCAN_ROWS} rows). Cần các cột (required columns): {required}; và một cột địa bàn "
        f"(and one place column): Mã xã | Xã | Địa bàn.",
    )


# --------------------------------------------------------------------------- CSV


def _decode_csv(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode("cp1258", errors="replace"), "cp1258"


def _first_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]`` without splitting the whole text: a prefix holding more
    than ``count`` lines has the same first ``count`` lines."""
    size = 65536
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > count:
            return lines[:count]
        size *= 4
    return text.splitlines()[:count]


def _read_csv(path: Path) -> RawTable:
    data = path.read_bytes()
    text, encoding = _decode_csv(data)
    text = unicodedata.normalize("NFC", text)
    # choose the delimiter on the first lines only, then read the whole file once
    head = "\n".join(_first_lines(text, HEADER_SCAN_ROWS + 2))
    best: tuple[int, str, int] | None = None
    for delimiter in (",", ";", "\t", "|"):
        try:
            records = list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise ImportRefused(f"Không đọc được tệp CSV: {exc} (cannot read the CSV file)") from None
        index = _find_header([(i + 1, rec) for i, rec in enumerate(records)])
        if index is not None:
            score = _header_score(records[index])
            if best is None or score > best[2]:
                best = (index, delimiter, score)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=best[1] if best else ",")
        grid = [(i + 1, rec) for i, rec in enumerate(records)]
    except csv.Error as exc:
        raise ImportRefused(f"Không đọc được tệp CSV: {exc} (cannot read the CSV file)") from None
    _check_legacy(grid, text)
    if "\ufffd" in text:
        raise ImportRefused(
            "Không xác định được bảng mã của tệp CSV — hãy lưu lại dạng “CSV UTF-8” "
            "(cannot determine the file's encoding — save it as “CSV UTF-8”)."
        )
    if best is None:
        raise _no_header_error(path.name)
    return _build_table(grid, best[0], source=path.name, encoding=encoding)


# --------------------------------------------------------------------------- XLSX


def _read_xlsx(path: Path) -> RawTable:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException…
        raise ImportRefused(f"Không mở được tệp Excel: {exc} (cannot open the XLSX file)") from None
    try:
        for sheet in workbook.worksheets:
            grid = [
                (i + 1, [_cell_text(c) for c in row])
                for i, row in enumerate(sheet.iter_rows(values_only=True))
            ]
            _check_legacy(grid)
            index = _find_header(grid)
            if index is not None:
                return _build_table(grid, index, source=path.name, sheet=sheet.title)
    finally:
        workbook.close()
    raise _no_header_error(path.name)


def read_table(path: str | Path) -> RawTable:
    """Read a CSV or XLSX file into a :class:`RawTable`; :class:`ImportRefused` for file-level problems."""
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    if magic.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        raise ImportRefused(
            "Tệp Excel 97-2003 (.xls) không được hỗ trợ — hãy lưu lại dạng .xlsx "
            "(Excel 97-2003 .xls files are not supported — save as .xlsx)."
        )
    if magic.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    return _read_csv(path)


# =========================================================================== values


class DateError(ValueError):
    def __init__(self, vi: str, en: str):
        self.vi, self.en = vi, en
        super().__init__(f"{vi} ({en})")


_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_DMY = re.compile(r"^(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_AMPM = re.compile(r"\d\s*[ap]\.?m\.?$", re.IGNORECASE)
_VN_WORDS = re.compile(r"^(?:ngay\s+)?(\d{1,2})\s+thang\s+(\d{1,2})\s*,?\s*nam\s+(\d{4})$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: str, *, pivot_year: int | None = None) -> date:
    """Parse a date written day-first (or ISO, or an Excel serial); :class:`DateError` otherwise.

    >>> parse_date("03/04/2024"), parse_date("2024-04-03"), parse_date("45385")
    (datetime.date(2024, 4, 3), datetime.date(2024, 4, 3), datetime.date(2024, 4, 3))
    """
    if isinstance(value, str):  # files repeat the same dates: memoised
        return _parse_date_text(value, pivot_year if pivot_year is not None else date.today().year)
    return _parse_date(value, pivot_year=pivot_year)


@functools.lru_cache(maxsize=65536)
def _parse_date_text(value: str, pivot_year: int) -> date:
    return _parse_date(value, pivot_year=pivot_year)


def _parse_date(value: str, *, pivot_year: int | None = None) -> date:
    text = " ".join(str(value).split())
    if not text:
        raise DateError("trống", "empty")
    if _AMPM.search(text):
        raise DateError(
            f"“{text}” có AM/PM (định dạng kiểu Mỹ, không rõ ngày/tháng) — ghi dd/mm/yyyy",
            "US-style date with AM/PM, day and month unclear — use dd/mm/yyyy",
        )
    if m := _ISO.match(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _DMY.match(text):
        d, mo, y = int(m[1]), int(m[3]), int(m[4])
        if len(m[4]) == 2:
            pivot = pivot_year if pivot_year is not None else date.today().year
            y = 2000 + y if 2000 + y <= pivot else 1900 + y
    elif m := _VN_WORDS.match(fold(text)):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    elif _SERIAL.match(text):
        serial = float(text)
        if serial < 1:
            raise DateError(f"“{text}” không phải ngày", "not a date")
        try:
            return _EXCEL_EPOCH + timedelta(days=int(serial))
        except OverflowError:
            raise DateError(f"“{text}” không phải ngày", "not a date") from None
    else:
        raise DateError(
            f"“{text}” không đúng định dạng ngày (dd/mm/yyyy)", "not a date; use dd/mm/yyyy"
        )
    try:
        return date(y, mo, d)
    except ValueError:
        raise DateError(
            f"ngày “{text}” không tồn tại (ngày {d}, tháng {mo}, năm {y}; ghi ngày trước, tháng sau)",
            "no such date; day comes first, then month",
        ) from None


_TRUE = {"co", "x", "1", "true", "yes", "y", "c", "dung", "v", "✓", "✔", "√", "x x"}
_FALSE = {"khong", "0", "false", "no", "n", "k", "ko", "sai", "khong co"}
_BLANK = {"", "-", "–", "—"}


@functools.lru_cache(maxsize=4096)
def parse_flag(value: str) -> bool | None:
    """True/False for a yes/no cell, None when blank; ValueError when not a flag."""
    key = fold(value).strip(" .")
    if key in _BLANK:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(value)


# Phone numbers (0 + 9–10 digits, +84…, grouped 0912 345 678) and 9/12-digit ID numbers.
_PERSONAL_NUMBER = re.compile(
    r"(?<![\d.,])(?:(?:\+?84|0)\d{9,10}|\d{12}|\d{9})(?![\d.,])"
    r"|(?<!\d)0\d{2,3}[ .]\d{3}[ .]\d{3,4}(?!\d)"
)


# =========================================================================== results


@dataclass
class CaseRecord:
    row_number: int
    external_ref: str
    source: str | None          # the dataset (set by the importer; the upsert key with external_ref)
    received_date: date
    kind: str
    category: str
    people_count: int | None
    is_mass: bool
    is_over_level: bool
    status: str
    handling_level: str | None
    deadline_date: date
    resolved_date: date | None
    dialogue_dates: list[date]
    project_name: str | None
    summary: str | None
    commune_code: str
    scheme: str
    lon: float | None
    lat: float | None
    is_complex: bool
    deadline_computed: bool = False
    channel: str | None = None  # how the petition arrived ("Nguồn": tiếp công dân, bưu điện…)


@dataclass
class Reject:
    row_number: int
    values: dict[str, str]
    reasons: list[str]


class Coded:
    """A column as codes into its distinct values: ``uniques[codes]`` are the values (Python objects).

    Files repeat their dates, labels and codes, so the parser decides — and the writer formats —
    each distinct value once and spreads the result to the rows with numpy."""

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: np.ndarray, uniques: np.ndarray):
        self.codes, self.uniques = codes, uniques

    def __len__(self) -> int:
        return len(self.codes)

    def values(self) -> np.ndarray:
        return self.uniques[self.codes]

    def take(self, positions: np.ndarray) -> "Coded":
        return Coded(self.codes[positions], self.uniques)

    @classmethod
    def constant(cls, value: object, n: int) -> "Coded":
        return cls(np.zeros(n, dtype=np.intp), objects([value]))

    @classmethod
    def of(cls, values: Sequence[object]) -> "Coded":
        """Codes of Python values (lists are keyed as tuples; None is a value like any other)."""
        index: dict[object, int] = {}
        uniques: list[object] = []
        codes = np.empty(len(values), dtype=np.intp)
        for i, v in enumerate(values):
            key = (type(v), tuple(v)) if isinstance(v, list) else (type(v), v)
            j = index.get(key)
            if j is None:
                j = index[key] = len(uniques)
                uniques.append(v)
            codes[i] = j
        return cls(codes, objects(uniques))


def objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array of ``items`` (tuples and lists stay elements, never become dimensions)."""
    return np.fromiter(items, dtype=object, count=len(items))


class CaseColumns:
    """Accepted case records column-wise, in file order: one :class:`Coded` per field of
    :class:`CaseRecord` (``dialogue_dates`` values are tuples here, lists in a record)."""

    FIELDS: tuple[str, ...] = ()  # set below, from CaseRecord

    def __init__(self, data: dict[str, Coded], n: int):
        self.data, self.n = data, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> Coded:
        return self.data[name]

    @classmethod
    def empty(cls) -> "CaseColumns":
        return cls({f: Coded(np.zeros(0, dtype=np.intp), objects([])) for f in cls.FIELDS}, 0)

    @classmethod
    def from_records(cls, records: Sequence[CaseRecord]) -> "CaseColumns":
        data = {}
        for name in cls.FIELDS:
            values = [getattr(r, name) for r in records]
            if name == "dialogue_dates":
                values = [tuple(v) for v in values]
            data[name] = Coded.of(values)
        return cls(data, len(records))

    def take(self, positions: np.ndarray) -> "CaseColumns":
        return CaseColumns({k: c.take(positions) for k, c in self.data.items()}, len(positions))

    @classmethod
    def concat(cls, parts: Sequence["CaseColumns"]) -> "CaseColumns":
        data = {}
        for name in cls.FIELDS:
            offset, codes, uniques = 0, [], []
            for part in parts:
                codes.append(part[name].codes + offset)
                uniques.extend(part[name].uniques.tolist())
                offset += len(part[name].uniques)
            data[name] = Coded(np.concatenate(codes) if codes else np.zeros(0, dtype=np.intp), objects(uniques))
        return cls(data, sum(len(p) for p in parts))

    def records(self) -> list[CaseRecord]:
        columns = []
        for name in self.FIELDS:
            values = self.data[name].values().tolist()
            if name == "dialogue_dates":
                values = [list(v) for v in values]
            columns.append(values)
        return [CaseRecord(*row) for row in zip(*columns)]


CaseColumns.FIELDS = tuple(f.name for f in fields(CaseRecord))


@dataclass
class ParseResult:
    rejects: list[Reject]
    ignored_columns: list[str]
    unknown_columns: list[str] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    accepted: CaseColumns = field(default_factory=CaseColumns.empty)  # the records, column-wise
    _records: list[CaseRecord] | None = field(default=None, repr=False, compare=False)

    @property
    def records(self) -> list[CaseRecord]:
        """The accepted rows as :class:`CaseRecord` (built from :attr:`accepted` on first use)."""
        if self._records is None:
            self._records = self.accepted.records()
        return self._records

    @property
    def data_rows(self) -> int:
        """Non-blank rows: always ``len(records) + len(rejects)``."""
        return len(self.accepted) + len(self.rejects)

    def report(self) -> dict[str, object]:
        """Summary for the import record and the screen."""
        return {
            "source": self.source,
            "records": len(self.accepted),
            "rejects": len(self.rejects),
            "blank_rows": list(self.blank_rows),
            "ignored personal-data columns": list(self.ignored_columns),
            "unknown columns": list(self.unknown_columns),
            "warnings": list(self.warnings),
        }


class _Resolver(Protocol):
    def resolve(
        self,
        commune_code: object = None,
        province: object = None,
        district: object = None,
        commune: object = None,
        free_text: object = None,
        received_date: date | None = None,
    ) -> Resolution: ...


# =========================================================================== row parsing


def _say(field_name: str, vi: str, en: str) -> str:
    col = COLUMN_BY_FIELD[field_name]
    return f"{col.header_vi}: {vi} ({col.header_en}: {en})"


def _ref_key(ref: str) -> str:
    return " ".join(unicodedata.normalize("NFC", ref).casefold().split())


class _Row:
    """Validation of one raw row; collects every reason rather than stopping at the first."""

    def __init__(self, raw: RawTable, row: RawRow, as_of: date):
        self.raw, self.row, self.as_of = raw, row, as_of
        self.reasons: list[str] = []

    def get(self, name: str) -> str:
        return self.raw.value(self.row, name)

    def fail(self, name: str, vi: str, en: str) -> None:
        self.reasons.append(_say(name, vi, en))

    def date(self, name: str, *, required: bool = False, future_ok: bool = False) -> date | None:
        text = self.get(name)
        if not text:
            if required:
                self.fail(name, "trống", "empty")
            return None
        try:
            value = parse_date(text, pivot_year=self.as_of.year)
        except DateError as exc:
            self.fail(name, exc.vi, exc.en)
            return None
        return self.check_range(name, value, text, future_ok=future_ok)

    def check_range(self, name: str, value: date, text: str, *, future_ok: bool = False) -> date | None:
        if value < MIN_DATE:
            self.fail(name, f"“{text}” = {value:%d/%m/%Y}, trước năm {MIN_DATE.year}", f"before {MIN_DATE.year}")
            return None
        if not future_ok and value > self.as_of:
            self.fail(
                name,
                f"“{text}” = {value:%d/%m/%Y}, sau ngày nhập {self.as_of:%d/%m/%Y}",
                "in the future (after the import date)",
            )
            return None
        return value

    def flag(self, name: str, default: bool | None) -> bool | None:
        text = self.get(name)
        try:
            value = parse_flag(text)
        except ValueError:
            self.fail(
                name,
                f"“{text}” không phải Có/Không (chấp nhận: Có, Không, x, 1, 0, trống)",
                "not a yes/no value (accepted: Có, Không, x, 1, 0, yes, no, true, false, blank)",
            )
            return default
        return default if value is None else value

    def vocab(self, name: str, matcher: Callable[[str], str], *, required: bool) -> str | None:
        text = self.get(name)
        if not text:
            if required:
                self.fail(name, "trống", "empty")
            return None
        try:
            return matcher(text)
        except vocab.VocabError as exc:
            self.reasons.append(str(exc))
            return None

    def text(self, name: str) -> str | None:
        value = " ".join(self.get(name).split()) if name != "summary" else self.get(name)
        if not value:
            return None
        if _PERSONAL_NUMBER.search(value):
            self.fail(
                name,
                "có vẻ chứa số điện thoại hoặc số CCCD/CMND — xoá thông tin cá nhân",
                "seems to contain a phone or ID number — remove personal data",
            )
            return None
        return value

    def people(self) -> int | None:
        text = self.get("people_count")
        if not text:
            return None
        cleaned = re.sub(r"\s*(nguoi|ng)\.?$", "", fold(text)).strip()
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", cleaned):
            self.fail("people_count", f"“{text}” không phải số nguyên", "not a whole number")
            return None
        count = int(float(cleaned))
        if count < 0:
            self.fail("people_count", f"“{text}” là số âm", "negative")
            return None
        if count == 0:
            self.fail("people_count", "bằng 0 — ghi số người ≥ 1 hoặc để trống", "zero — give ≥ 1 or leave blank")
            return None
        if count > PEOPLE_COUNT_MAX:
            self.fail("people_count", f"“{text}” quá lớn (> {PEOPLE_COUNT_MAX})", f"too large (> {PEOPLE_COUNT_MAX})")
            return None
        return count

    def dialogues(self) -> list[date]:
        dialogues: list[date] = []
        dialogue_text = self.get("dialogue_dates")
        if dialogue_text:
            for piece in filter(None, (p.strip() for p in re.split(r"[;,\n]+", dialogue_text))):
                try:
                    day = parse_date(piece, pivot_year=self.as_of.year)
                except DateError as exc:
                    self.fail("dialogue_dates", exc.vi, exc.en)
                    continue
                checked = self.check_range("dialogue_dates", day, piece)
                if checked is not None:
                    dialogues.append(checked)
            dialogues = sorted(set(dialogues))
        return dialogues

    def coordinates(self) -> tuple[float | None, float | None]:
        lon_text, lat_text = self.get("lon"), self.get("lat")
        if not lon_text and not lat_text:
            return None, None
        if not lon_text or not lat_text:
            missing = "lon" if not lon_text else "lat"
            self.fail(missing, "trống — cần cả kinh độ và vĩ độ", "empty — give both longitude and latitude")
            return None, None
        values = []
        for name, text in (("lon", lon_text), ("lat", lat_text)):
            t = text.replace(" ", "")
            if "," in t and "." not in t:
                t = t.replace(",", ".")
            try:
                number = float(t)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                self.fail(name, f"“{text}” không phải số", "not a number")
                return None, None
            values.append(number)
        lon, lat = values
        lon_ok = LON_RANGE[0] <= lon <= LON_RANGE[1]
        lat_ok = LAT_RANGE[0] <= lat <= LAT_RANGE[1]
        if lon_ok and lat_ok:
            return lon, lat
        if LON_RANGE[0] <= lat <= LON_RANGE[1] and LAT_RANGE[0] <= lon <= LAT_RANGE[1]:
            self.fail("lon", "có vẻ bị đảo kinh độ và vĩ độ", "longitude and latitude look swapped")
        else:
            self.fail(
                "lon" if not lon_ok else "lat",
                f"({lon_text}, {lat_text}) nằm ngoài Việt Nam (kinh độ 102–117,9, vĩ độ 6–24)",
                "outside Vietnam (102–117.9 °E, 6–24 °N)",
            )
        return None, None


def _is_blank(raw: RawTable, row: RawRow) -> bool:
    return not any((row.values.get(h) or "").strip() for h in raw.columns.values())


@dataclass
class _Ref:
    """A row's reference after the file-wide pass: the text, or why it is refused."""

    text: str
    fail: tuple[str, str] | None = None  # (vi, en) for external_ref


def _references(raw: RawTable, rows: Sequence[RawRow], result: ParseResult) -> list[_Ref]:
    """References of the non-blank rows, in file order: empty, too long, or a duplicate of an earlier
    row (case-insensitively; the first row keeps it).  Template-example warnings go to ``result``."""
    header = raw.columns.get("external_ref")
    first_row_of_ref: dict[str, int] = {}
    out: list[_Ref] = []
    for row in rows:
        ref = " ".join(((row.values.get(header) or "") if header else "").split())
        if not ref:
            out.append(_Ref(ref, ("trống", "empty")))
            continue
        if len(ref) > MAX_REF_LENGTH:
            out.append(_Ref(ref, (f"dài quá {MAX_REF_LENGTH} ký tự", f"longer than {MAX_REF_LENGTH} characters")))
            continue
        key = ref.lower() if ref.isascii() else _ref_key(ref)  # the same key, without Unicode work for ASCII
        first = first_row_of_ref.get(key)
        if first is not None:
            out.append(_Ref(ref, (f"“{ref}” trùng với dòng {first}", f"duplicate reference, first used in row {first}")))
            continue
        first_row_of_ref[key] = row.row_number
        if ref[:2].lower() in ("ví", "vi", "ex", "vÍ") and fold(ref).replace("-", " ").startswith(("vi du", "example")):
            result.warnings.append(
                f"Dòng {row.row_number}: “{ref}” có vẻ là dòng ví dụ của mẫu — xoá trước khi nhập thật "
                f"(row {row.row_number} looks like a template example row)"
            )
        out.append(_Ref(ref))
    return out


def _parse_row(
    raw: RawTable,
    row: RawRow,
    ref: _Ref,
    *,
    as_of: date,
    resolver: _Resolver,
    deadline_rule: rules.DeadlineRule,
    default_source: str | None,
    is_remote: Callable[[str, str], bool] | None,
) -> CaseRecord | Reject:
    """Validate one row, collecting every reason (the per-row path; the reference is pre-checked)."""
    v = _Row(raw, row, as_of)
    if ref.fail:
        v.fail("external_ref", *ref.fail)
    received = v.date("received_date", required=True)
    kind = v.vocab("kind", vocab.match_kind, required=True)
    category = v.vocab("category", vocab.match_category, required=True)
    people = v.people()
    mass_given = v.flag("is_mass", None)
    over_level = bool(v.flag("is_over_level", False))
    is_complex = bool(v.flag("is_complex", False))
    status = v.vocab("status", vocab.match_status, required=False)
    level = v.vocab("handling_level", vocab.match_level, required=False)
    resolved = v.date("resolved_date")
    deadline = v.date("deadline_date", future_ok=True)
    dialogues = v.dialogues()
    project = v.text("project_name")
    summary = v.text("summary")
    channel = v.text("channel")
    lon, lat = v.coordinates()

    if received is not None:
        if resolved is not None and resolved < received:
            v.fail(
                "resolved_date",
                f"{resolved:%d/%m/%Y} trước ngày tiếp nhận {received:%d/%m/%Y}",
                "before the received date",
            )
        if deadline is not None and deadline < received:
            v.fail(
                "deadline_date",
                f"{deadline:%d/%m/%Y} trước ngày tiếp nhận {received:%d/%m/%Y}",
                "before the received date",
            )
        early = [d for d in dialogues if d < received]
        if early:
            v.fail(
                "dialogue_dates",
                f"{early[0]:%d/%m/%Y} trước ngày tiếp nhận {received:%d/%m/%Y}",
                "before the received date",
            )

    resolution: Resolution | None = None
    try:
        resolution = resolver.resolve(
            commune_code=v.get("commune_code") or None,
            province=v.get("province") or None,
            district=v.get("district") or None,
            commune=v.get("commune") or None,
            free_text=v.get("place_text") or None,
            received_date=received or as_of,
        )
    except PlaceError as exc:
        v.reasons.append(f"Địa bàn (place): {exc}")

    if v.reasons:
        return Reject(row.row_number, dict(row.values), v.reasons)
    assert received is not None and kind and category and resolution is not None
    if status is None:
        status = "da_giai_quyet" if resolved is not None else "tiep_nhan"
    computed = deadline is None
    if deadline is None:
        remote = bool(is_remote(resolution.code, resolution.scheme)) if is_remote else False
        deadline = rules.statutory_deadline(received, complex=is_complex, remote=remote, rule=deadline_rule)
    return CaseRecord(
        row_number=row.row_number,
        external_ref=ref.text,
        source=default_source,
        channel=channel,
        received_date=received,
        kind=kind,
        category=category,
        people_count=people,
        is_mass=rules.is_mass(people, mass_given),
        is_over_level=over_level,
        status=status,
        handling_level=level,
        deadline_date=deadline,
        resolved_date=resolved,
        dialogue_dates=dialogues,
        project_name=project,
        summary=summary,
        commune_code=resolution.code,
        scheme=resolution.scheme,
        lon=lon,
        lat=lat,
        is_complex=is_complex,
        deadline_computed=computed,
    )


def parse_rows(
    raw: RawTable,
    *,
    as_of: date,
    resolver: _Resolver,
    deadline_rule: rules.DeadlineRule = rules.DeadlineRule(),
    default_source: str | None = None,
    is_remote: Callable[[str, str], bool] | None = None,
    vectorised: bool = True,
) -> ParseResult:
    """Validate every row of ``raw``; never raises for a row-level problem.

    ``as_of`` is the import date (no date may be later, except deadlines);
    ``resolver`` is a :class:`~geo_dash.cases.places.PlaceResolver`;
    ``is_remote(code, scheme)`` says whether a commune is remote (vùng sâu,
    vùng xa) for computed deadlines; ``default_source`` fills a blank source.

    ``vectorised`` (the default): blank rows, references and every column are decided
    once per distinct value (:mod:`geo_dash.cases.fastparse`) and only the rows that this
    cannot accept are validated one by one — so a rejected row gets exactly the per-row
    path's reasons, and the result is the same as with ``vectorised=False``, the per-row
    reference (tested).
    """
    result = ParseResult(
        rejects=[],
        ignored_columns=list(raw.ignored_columns),
        unknown_columns=list(raw.unknown_columns),
        headers=list(raw.headers),
        source=raw.source,
    )
    options = dict(as_of=as_of, resolver=resolver, deadline_rule=deadline_rule, default_source=default_source,
                   is_remote=is_remote)
    if vectorised:
        from geo_dash.cases.fastparse import parse_table

        parse_table(raw, result, **options)
        return result
    kept: list[RawRow] = []
    for row in raw.rows:
        if _is_blank(raw, row):
            result.blank_rows.append(row.row_number)
        else:
            kept.append(row)
    refs = _references(raw, kept, result)
    records: list[CaseRecord] = []
    for row, ref in zip(kept, refs):
        outcome = _parse_row(raw, row, ref, **options)
        if isinstance(outcome, Reject):
            result.rejects.append(outcome)
        else:
            records.append(outcome)
    result.accepted = CaseColumns.from_records(records)
    return result


# =========================================================================== rejects file


def write_rejects(result: ParseResult, path: str | Path) -> Path:
    """Write the rejects with their original columns plus :data:`REASON_HEADER`.

    ``.xlsx`` → an Excel sheet (every cell text, so codes keep their leading
    zeros and nothing becomes a formula); anything else → CSV in UTF-8 with BOM
    so that Excel opens it correctly.  The file can be fixed and re-imported:
    the reason column is dropped when it is read again.
    """
    path = Path(path)
    header = list(result.headers) + [REASON_HEADER]
    body = [[r.values.get(h, "") for h in result.headers] + [" | ".join(r.reasons)] for r in result.rejects]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl
        from openpyxl.styles import Font

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = "Bị từ chối"
        for j, name in enumerate(header, start=1):
            cell = sheet.cell(row=1, column=j, value=name)
            cell.font = Font(bold=True)
        for i, values in enumerate(body, start=2):
            for j, value in enumerate(values, start=1):
                cell = sheet.cell(row=i, column=j)
                cell.value = value
                cell.data_type = "s"
                cell.number_format = "@"
        workbook.save(path)
        return path
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)
    return path
