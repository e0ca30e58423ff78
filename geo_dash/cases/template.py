"""The XLSX import template: a data sheet, a bilingual guide and drop-down lists.

:func:`write_template` writes

* sheet "Vụ việc" — the header row (Vietnamese, required columns marked
  ``*``) and two example rows with synthetic data, shaded and marked
  "VÍ DỤ" (their references start with ``VÍ-DỤ`` so that the importer warns
  if they are left in);
* sheet "Hướng dẫn" — every column explained in Vietnamese and English with
  its accepted values and other accepted header spellings, the date formats,
  the place forms and the rule against personal data;
* a hidden sheet "Danh mục" holding the drop-down lists.

The template round-trips: :func:`geo_dash.cases.parsing.read_table` and
:func:`~geo_dash.cases.parsing.parse_rows` accept it with zero rejects.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from geo_dash.cases import rules, vocab
from geo_dash.cases.parsing import COLUMN_BY_FIELD, PLACE_FORMS

__all__ = ["TEMPLATE_FIELDS", "DATA_SHEET", "GUIDE_SHEET", "write_template"]

DATA_SHEET = "Vụ việc"
GUIDE_SHEET = "Hướng dẫn"
LISTS_SHEET = "Danh mục"
TEMPLATE_ROWS = 1000

TEMPLATE_FIELDS = (
    "external_ref",
    "received_date",
    "kind",
    "category",
    "people_count",
    "is_mass",
    "is_over_level",
    "is_complex",
    "status",
    "handling_level",
    "resolved_date",
    "deadline_date",
    "dialogue_dates",
    "project_name",
    "summary",
    "commune_code",
    "province",
    "district",
    "commune",
    "place_text",
    "lon",
    "lat",
    "channel",
)
_DATE_FIELDS = ("received_date", "resolved_date", "deadline_date")
_TEXT_FIELDS = ("external_ref", "commune_code", "dialogue_dates")
_FLAG_FIELDS = ("is_mass", "is_over_level", "is_complex")
_VOCAB_FIELDS = {
    "kind": vocab.KINDS,
    "category": vocab.CATEGORIES,
    "status": vocab.STATUSES,
    "handling_level": vocab.LEVELS,
}
_EXAMPLE_NOTE = "VÍ DỤ — dữ liệu giả, xoá dòng này trước khi nhập (EXAMPLE — synthetic data, delete this row)."

# Synthetic example rows (real communes of Quảng Trị, invented matters).
EXAMPLES: tuple[dict[str, object], ...] = (
    {
        "external_ref": "VÍ-DỤ-001",
        "received_date": datetime(2024, 3, 15),
        "kind": "Khiếu nại",
        "category": "Đất đai — thu hồi, bồi thường, GPMB, tái định cư",
        "people_count": 12,
        "is_over_level": "Không",
        "is_complex": "Có",
        "status": "Đang giải quyết",
        "handling_level": "Cấp huyện",
        "dialogue_dates": "10/04/2024; 25/04/2024",
        "project_name": "Dự án đường ven biển (ví dụ)",
        "summary": "Khiếu nại mức bồi thường khi thu hồi đất. " + _EXAMPLE_NOTE,
        "commune_code": "19741",
        "lon": 107.367143,
        "lat": 16.756599,
        "channel": "Tiếp công dân",
    },
    {
        "external_ref": "VÍ-DỤ-002",
        "received_date": datetime(2024, 5, 2),
        "kind": "Kiến nghị, phản ánh",
        "category": "Môi trường",
        "people_count": 2,
        "is_over_level": "Có",
        "is_complex": "Không",
        "status": "Đã giải quyết",
        "handling_level": "Cấp xã",
        "resolved_date": datetime(2024, 5, 20),
        "deadline_date": datetime(2024, 6, 1),
        "summary": "Phản ánh mùi hôi từ cơ sở chăn nuôi. " + _EXAMPLE_NOTE,
        "province": "Quảng Trị",
        "district": "Gio Linh",
        "commune": "Trung Giang",
        "channel": "Bưu điện",
    },
)


def _accepted_values(field: str) -> str:
    if field in _VOCAB_FIELDS:
        return "\n".join(f"{t.label_vi} ({t.label_en})" for t in _VOCAB_FIELDS[field])
    if field in _FLAG_FIELDS:
        blank = "trống = tính từ Số người (blank = derived)" if field == "is_mass" else "trống = Không (blank = no)"
        return f"Có / Không (x, 1/0, yes/no); {blank}"
    if field in _DATE_FIELDS:
        return "dd/mm/yyyy, d/m/yy, dd-mm-yyyy, yyyy-mm-dd, ô ngày Excel (Excel date cell)"
    if field == "dialogue_dates":
        return "dd/mm/yyyy; dd/mm/yyyy; … (; hoặc , hoặc xuống dòng / or new lines)"
    if field == "people_count":
        return f"1 … 10000; ≥ {rules.MASS_PETITION_MIN_PEOPLE} = đông người (mass petition)"
    if field == "commune_code":
        return "5 chữ số, ví dụ 19741 (5 digits)"
    if field == "lon":
        return "102 … 110"
    if field == "lat":
        return "8 … 24"
    return ""


def _header(field: str) -> str:
    column = COLUMN_BY_FIELD[field]
    return column.header_vi + (" *" if column.required else "")


def write_template(path: str | Path) -> Path:
    """Write the import template to ``path`` (.xlsx) and return the path."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    workbook = openpyxl.Workbook()
    data = workbook.active
    data.title = DATA_SHEET
    guide = workbook.create_sheet(GUIDE_SHEET)
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    example_fill = PatternFill("solid", fgColor="FFF2CC")
    example_font = Font(italic=True, color="7F6000")

    # ---- data sheet: header
    letters: dict[str, str] = {}
    for j, field in enumerate(TEMPLATE_FIELDS, start=1):
        column = COLUMN_BY_FIELD[field]
        cell = data.cell(row=1, column=j, value=_header(field))
        cell.font = bold
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.comment = Comment(f"{column.help_vi}\n\n{column.help_en}", "geo_dash")
        letter = get_column_letter(j)
        letters[field] = letter
        data.column_dimensions[letter].width = 38 if field in ("category", "summary", "place_text") else 16
    data.freeze_panes = "B2"

    # ---- formats for the rows people will fill in
    for field in _DATE_FIELDS + _TEXT_FIELDS:
        fmt = "DD/MM/YYYY" if field in _DATE_FIELDS else "@"
        for row in range(2, TEMPLATE_ROWS + 2):
            data[f"{letters[field]}{row}"].number_format = fmt

    # ---- example rows
    for i, example in enumerate(EXAMPLES, start=2):
        for j, field in enumerate(TEMPLATE_FIELDS, start=1):
            value = example.get(field)
            cell = data.cell(row=i, column=j, value=value)
            cell.fill = example_fill
            cell.font = example_font
            if field in _TEXT_FIELDS and value is not None:
                cell.data_type = "s"
        data.cell(row=i, column=1).comment = Comment(_EXAMPLE_NOTE, "geo_dash")

    # ---- drop-down lists (hidden sheet), referenced by data validations
    list_sources = {field: [t.label_vi for t in terms] for field, terms in _VOCAB_FIELDS.items()}
    list_sources["flag"] = ["Có", "Không"]
    for j, (name, values) in enumerate(list_sources.items(), start=1):
        letter = get_column_letter(j)
        lists.cell(row=1, column=j, value=name)
        for i, value in enumerate(values, start=2):
            lists.cell(row=i, column=j, value=value)
        targets = [name] if name != "flag" else list(_FLAG_FIELDS)
        formula = f"='{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        for field in targets:
            validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=False)
            validation.add(f"{letters[field]}2:{letters[field]}{TEMPLATE_ROWS + 1}")
            data.add_data_validation(validation)

    # ---- guide sheet
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 48
    guide.column_dimensions["D"].width = 48
    guide.column_dimensions["E"].width = 44
    guide.column_dimensions["F"].width = 44
    wrap = Alignment(wrap_text=True, vertical="top")
    lines: list[list[str]] = [
        ["HƯỚNG DẪN NHẬP VỤ VIỆC KHIẾU NẠI, TỐ CÁO, KIẾN NGHỊ, PHẢN ÁNH (IMPORT GUIDE)"],
        [
            "Mỗi dòng là một vụ việc, không phải một người. KHÔNG nhập họ tên, số CCCD/CMND, điện thoại, địa chỉ "
            "của người dân: các cột như vậy sẽ bị bỏ qua. "
            "(Each row is one matter, never a person. Do NOT enter names, ID numbers, phones or addresses of "
            "people: such columns are ignored.)"
        ],
        [
            "Hai dòng tô màu trên trang “Vụ việc” là VÍ DỤ với dữ liệu giả — xoá trước khi nhập. "
            "(The two shaded rows on the “Vụ việc” sheet are EXAMPLES with synthetic data — delete them.)"
        ],
        [
            "Ngày (dates): ngày trước, tháng sau — dd/mm/yyyy (03/04/2024 là ngày 3 tháng 4), d/m/yy, dd-mm-yyyy, "
            "yyyy-mm-dd hoặc ô ngày của Excel; không nhận ngày trong tương lai hay trước 1990 (trừ Hạn giải quyết). "
            "(Day first: 03/04/2024 is 3 April; no future dates or dates before 1990, except the deadline.)"
        ],
        [
            "Địa bàn (place): ghi Mã xã (5 chữ số), HOẶC Tỉnh + Huyện + Xã (đơn vị cũ) / Tỉnh + Xã (đơn vị từ "
            "1/7/2025), HOẶC Địa bàn dạng chữ “Xã …, huyện …, tỉnh …”. Kinh độ/Vĩ độ là tuỳ chọn. "
            "(Place: a commune code, OR province + district + commune (legacy) / province + commune (2025), OR a "
            "place text; longitude/latitude optional.)"
        ],
        [],
        [
            "Cột (column)",
            "Bắt buộc (required)",
            "Ý nghĩa",
            "Meaning",
            "Giá trị chấp nhận (accepted values)",
            "Tên cột khác được chấp nhận (other accepted headers)",
        ],
    ]
    for field in TEMPLATE_FIELDS:
        column = COLUMN_BY_FIELD[field]
        required = "Có (yes)" if column.required else ("Một trong (one of)" if field in PLACE_FORMS else "")
        lines.append(
            [
                column.header_vi,
                required,
                column.help_vi,
                column.help_en,
                _accepted_values(field),
                "; ".join((column.header_en,) + column.aliases),
            ]
        )
    lines.append([])
    lines.append(["Danh mục (code lists)", "Mã (code)", "Tiếng Việt", "English", "Cách ghi khác (aliases)"])
    for field, terms in _VOCAB_FIELDS.items():
        for term in terms:
            lines.append([COLUMN_BY_FIELD[field].header_vi, term.code, term.label_vi, term.label_en, "; ".join(term.aliases)])
    for i, values in enumerate(lines, start=1):
        for j, value in enumerate(values, start=1):
            cell = guide.cell(row=i, column=j, value=value)
            cell.alignment = wrap
            if i == 1 or values and values[0] in ("Cột (column)", "Danh mục (code lists)"):
                cell.font = bold
    workbook.save(path)
    return path
