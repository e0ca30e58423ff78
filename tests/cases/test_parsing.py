import csv
import dataclasses
import io
import tempfile
import unicodedata
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_dash.cases import parsing
from geo_dash.cases.parsing import (
    COLUMNS,
    REASON_HEADER,
    CaseRecord,
    DateError,
    ImportRefused,
    LegacyEncodingError,
    MissingColumnsError,
    RawTable,
    detect_legacy_encoding,
    header_table_markdown,
    parse_date,
    parse_flag,
    parse_rows,
    read_table,
    recognise_header,
    write_rejects,
)
from geo_dash.cases.places import PlaceResolver, units_from_vietnamadminunits
from geo_dash.cases.rules import DeadlineRule
from geo_dash.cases.template import DATA_SHEET, GUIDE_SHEET, TEMPLATE_FIELDS, write_template

FIXTURES = Path(__file__).parent / "fixtures"
REALISTIC_CSV = FIXTURES / "cases_realistic.csv"
AS_OF = date(2025, 9, 30)
PERSONAL_HEADERS = ["Họ tên", "Số CCCD/CMND", "Điện thoại", "Địa chỉ người khiếu nại"]
PERSONAL_VALUES = ["Giả", "CCCD-GIA", "SDT-GIA", "Thôn 1, xã Hải Khê", "Khu phố 5"]


@pytest.fixture(scope="module")
def resolver():
    return PlaceResolver(units_from_vietnamadminunits())


def parse(table, resolver, **kwargs):
    kwargs.setdefault("as_of", AS_OF)
    return parse_rows(table, resolver=resolver, **kwargs)


# =========================================================================== legacy encodings
# My own code tables (cross-checked against the published TCVN3/VNI tables for all
# 134 Vietnamese letters).  TCVN3 (ABC) is one byte per letter; capitals with tones
# use the lower-case codes (the .VnTimeH fonts draw them as capitals).  VNI Windows
# writes a base letter followed by a mark byte.

TCVN3_LOWER = {
    "à": 0xB5, "á": 0xB8, "ả": 0xB6, "ã": 0xB7, "ạ": 0xB9,
    "ă": 0xA8, "ằ": 0xBB, "ắ": 0xBE, "ẳ": 0xBC, "ẵ": 0xBD, "ặ": 0xC6,
    "â": 0xA9, "ầ": 0xC7, "ấ": 0xCA, "ẩ": 0xC8, "ẫ": 0xC9, "ậ": 0xCB,
    "đ": 0xAE,
    "è": 0xCC, "é": 0xD0, "ẻ": 0xCE, "ẽ": 0xCF, "ẹ": 0xD1,
    "ê": 0xAA, "ề": 0xD2, "ế": 0xD5, "ể": 0xD3, "ễ": 0xD4, "ệ": 0xD6,
    "ì": 0xD7, "í": 0xDD, "ỉ": 0xD8, "ĩ": 0xDC, "ị": 0xDE,
    "ò": 0xDF, "ó": 0xE3, "ỏ": 0xE1, "õ": 0xE2, "ọ": 0xE4,
    "ô": 0xAB, "ồ": 0xE5, "ố": 0xE8, "ổ": 0xE6, "ỗ": 0xE7, "ộ": 0xE9,
    "ơ": 0xAC, "ờ": 0xEA, "ớ": 0xED, "ở": 0xEB, "ỡ": 0xEC, "ợ": 0xEE,
    "ù": 0xEF, "ú": 0xF3, "ủ": 0xF1, "ũ": 0xF2, "ụ": 0xF4,
    "ư": 0xAD, "ừ": 0xF5, "ứ": 0xF8, "ử": 0xF6, "ữ": 0xF7, "ự": 0xF9,
    "ỳ": 0xFA, "ý": 0xFD, "ỷ": 0xFB, "ỹ": 0xFC, "ỵ": 0xFE,
}  # fmt: skip
TCVN3_UPPER = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}
TONES = {"\u0300": 0, "\u0301": 1, "\u0309": 2, "\u0303": 3, "\u0323": 4}  # grave acute hook tilde dot
VNI_TONE = ("øùûõï", "ØÙÛÕÏ")
VNI_CIRCUMFLEX = (("â", "àáåãä"), ("Â", "ÀÁÅÃÄ"))
VNI_BREVE = (("ê", "èéúüë"), ("Ê", "ÈÉÚÜË"))
VNI_SINGLE = {
    "ì": "ì", "í": "í", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "Ì": "Ì", "Í": "Í", "Ỉ": "Æ", "Ĩ": "Ó", "Ị": "Ò",
    "đ": "ñ", "Đ": "Ñ", "ỵ": "î", "Ỵ": "Î",
}  # fmt: skip


def to_tcvn3(text: str) -> bytes:
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in TCVN3_UPPER:
            out.append(TCVN3_UPPER[ch])
        elif ch.lower() in TCVN3_LOWER:
            out.append(TCVN3_LOWER[ch.lower()])
        else:
            out += ch.encode("cp1252")
    return bytes(out)


def to_vni(text: str) -> str:
    """VNI Windows text as the cp1252 characters a VNI font draws (encode('cp1252') for bytes)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in VNI_SINGLE:
            out.append(VNI_SINGLE[ch])
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if base.lower() not in "aeiouy" or not marks:
            out.append(ch)
            continue
        upper = int(base.isupper())
        tone = next((TONES[m] for m in marks if m in TONES), None)
        if "\u031b" in marks:  # horn: ơ ư are single letters in VNI
            piece = ("ô", "Ô")[upper] if base.lower() == "o" else ("ö", "Ö")[upper]
            piece += "" if tone is None else VNI_TONE[upper][tone]
        elif "\u0302" in marks:
            plain, toned = VNI_CIRCUMFLEX[upper]
            piece = base + (plain if tone is None else toned[tone])
        elif "\u0306" in marks:
            plain, toned = VNI_BREVE[upper]
            piece = base + (plain if tone is None else toned[tone])
        else:
            piece = base + VNI_TONE[upper][tone]
        out.append(piece)
    return "".join(out)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 bytes: precomposed where the code page has the letter, else base + combining tone."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in decomposed if m in TONES)
        base = unicodedata.normalize("NFC", "".join(m for m in decomposed if m not in TONES))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def test_code_tables_reproduce_published_samples():
    # samples from public converters' documentation
    assert to_vni("Xin chào các bạn") == "Xin chaøo caùc baïn"
    assert to_vni("Tiếng Việt rất hay") == "Tieáng Vieät raát hay"
    assert to_tcvn3("Tiếng Việt rất hay").decode("cp1252") == "TiÕng ViÖt rÊt hay"
    assert to_tcvn3("Bảo Thắng").decode("cp1252") == "B¶o Th¾ng"
    assert to_tcvn3("Bát Xát").decode("cp1252") == "B¸t X¸t"
    assert to_tcvn3("Mường Khương").decode("cp1252") == "M\xadêng Kh\xad¬ng"
    assert to_vni("Đường") == "Ñöôøng"
    assert len(TCVN3_LOWER) == 67


def test_cp1258_helper_round_trips_through_pythons_codec():
    text = "Khiếu nại về bồi thường, giải phóng mặt bằng — Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị"
    raw = to_cp1258(text)
    assert b"\xd2" in raw  # a combining hook byte: real cp1258 decomposition
    assert unicodedata.normalize("NFC", raw.decode("cp1258")) == text


PHRASES = [
    "Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Khiếu nại", "Tố cáo", "Kiến nghị, phản ánh",
    "Đất đai — thu hồi, bồi thường, GPMB, tái định cư", "Xã Hải Khê, huyện Hải Lăng, tỉnh Quảng Trị",
    "Xã Vĩnh Thái, huyện Vĩnh Linh", "Xã Trung Giang, huyện Gio Linh", "Đang giải quyết",
    "Người dân phản ánh ô nhiễm môi trường từ trại chăn nuôi", "Tranh chấp ranh giới thửa đất giữa hai hộ",
]  # fmt: skip


@pytest.mark.parametrize(
    "encode,expected",
    [
        (lambda t: to_tcvn3(t).decode("cp1252"), "TCVN3"),  # XLSX typed with .VnTime, or CSV read as cp1252
        (lambda t: unicodedata.normalize("NFC", to_tcvn3(t).decode("cp1258")), "TCVN3"),  # CSV read as cp1258
        (to_vni, "VNI"),
        (lambda t: unicodedata.normalize("NFC", to_vni(t).encode("cp1252").decode("cp1258")), "VNI"),
    ],
)
def test_detector_catches_legacy_text(encode, expected):
    assert detect_legacy_encoding(encode(p) for p in PHRASES) == expected


@pytest.mark.parametrize(
    "texts",
    [
        PHRASES,
        [unicodedata.normalize("NFD", p) for p in PHRASES],
        [unicodedata.normalize("NFC", to_cp1258(p).decode("cp1258")) for p in PHRASES],
        ["Hai Khe", "Hai Lang", "Quang Tri", "Khieu nai", "Thu hoi dat"],  # no diacritics at all
        PHRASES + ["Dự án «Khu đô thị» © 2024 · giai đoạn 2 · Công ty ABC®"],  # a few stray symbols
        ["Müller", "Hải Khê", "Quảng Trị", "đường", "Nguyễn Ñ"],  # foreign letters amid Vietnamese
    ],
)
def test_detector_leaves_genuine_text_alone(texts):
    assert detect_legacy_encoding(texts) is None


def _csv_text(path: Path = REALISTIC_CSV) -> str:
    return path.read_text(encoding="utf-8")


def test_tcvn3_csv_is_refused(tmp_path):
    path = tmp_path / "tcvn3.csv"
    path.write_bytes(to_tcvn3(_csv_text()))
    with pytest.raises(LegacyEncodingError) as info:
        read_table(path)
    error = info.value
    assert error.encoding == "TCVN3"
    message = str(error)
    for phrase in ("TCVN3 (ABC)", "Unicode", "Unikey", "Chuyển mã", "legacy", "Convert it to Unicode"):
        assert phrase in message
    assert {1, 3, 4}.issubset(error.rows)


def test_vni_csv_is_refused(tmp_path):
    path = tmp_path / "vni.csv"
    path.write_bytes(to_vni(_csv_text()).encode("cp1252"))
    with pytest.raises(LegacyEncodingError) as info:
        read_table(path)
    assert info.value.encoding == "VNI"
    assert "VNI" in str(info.value) and "Chuyển mã" in str(info.value)


@pytest.mark.parametrize("encoding", ["TCVN3", "VNI"])
def test_legacy_xlsx_is_refused(tmp_path, encoding):
    convert = (lambda t: to_tcvn3(t).decode("cp1252")) if encoding == "TCVN3" else to_vni
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in csv.reader(io.StringIO(_csv_text())):
        sheet.append([convert(cell) for cell in row])
    path = tmp_path / f"{encoding}.xlsx"
    workbook.save(path)
    with pytest.raises(LegacyEncodingError) as info:
        read_table(path)
    assert info.value.encoding == encoding


def test_undecodable_csv_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv_text().encode("utf-8").replace("Mã hồ sơ".encode(), b"M\x81 h\x8d s\x90"))
    with pytest.raises(ImportRefused) as info:
        read_table(path)
    assert "UTF-8" in str(info.value)


# =========================================================================== the realistic file

EXPECTED = {
    "HS-2024-001": dict(
        row_number=4, channel="Tiếp công dân", received_date=date(2024, 4, 3), kind="khieu_nai",
        category="dat_dai_thu_hoi", people_count=7, is_mass=True, is_over_level=False, status="dang_giai_quyet",
        handling_level="huyen", deadline_date=date(2024, 5, 18), resolved_date=None,
        dialogue_dates=[date(2024, 4, 10), date(2024, 5, 15)], project_name="Dự án khu dân cư ven biển",
        summary="Khiếu nại giá bồi thường khi thu hồi đất nông nghiệp", commune_code="19741", scheme="legacy",
        lon=107.367143, lat=16.756599, is_complex=True, deadline_computed=True,
    ),
    "HS-2024-002": dict(
        row_number=5, channel="Bưu điện", received_date=date(2024, 6, 5), kind="to_cao", category="moi_truong",
        people_count=2, is_mass=False, is_over_level=True, status="da_giai_quyet", handling_level="xa",
        deadline_date=date(2024, 6, 30), resolved_date=date(2024, 6, 20), dialogue_dates=[], project_name=None,
        summary="Tố cáo cơ sở xả thải ra kênh", commune_code="19369", scheme="legacy", lon=None, lat=None,
        is_complex=False, deadline_computed=False,
    ),
    "HS-2024-003": dict(
        row_number=6, channel=None, received_date=date(2024, 7, 15), kind="kien_nghi_phan_anh",
        category="dat_dai_tranh_chap", people_count=1, is_mass=True, is_over_level=False, status="tiep_nhan",
        handling_level="tinh", deadline_date=date(2024, 8, 14), resolved_date=None, dialogue_dates=[],
        project_name=None, summary="Tranh chấp ranh giới thửa đất giữa hai hộ", commune_code="19498",
        scheme="legacy", lon=None, lat=None, is_complex=False, deadline_computed=True,
    ),
    "HS-2024-004": dict(
        row_number=7, channel="Chuyển đến", received_date=date(2024, 8, 1), kind="khieu_nai",
        category="che_do_chinh_sach", people_count=12, is_mass=True, is_over_level=False, status="rut_don",
        handling_level="huyen", deadline_date=date(2024, 8, 31), resolved_date=None, dialogue_dates=[],
        project_name=None, summary="Khiếu nại chế độ trợ cấp", commune_code="19498", scheme="legacy", lon=None,
        lat=None, is_complex=False, deadline_computed=True,
    ),
    "HS-2025-005": dict(
        row_number=8, channel="Tiếp công dân", received_date=date(2025, 8, 15), kind="to_cao",
        category="can_bo_cong_chuc", people_count=1, is_mass=False, is_over_level=False, status="dang_giai_quyet",
        handling_level="xa", deadline_date=date(2025, 9, 14), resolved_date=None, dialogue_dates=[],
        project_name=None, summary="Tố cáo cán bộ địa chính", commune_code="19363", scheme="2025", lon=None,
        lat=None, is_complex=False, deadline_computed=True,
    ),
    "HS-2025-006": dict(
        row_number=10, channel="Hộp thư góp ý", received_date=date(2025, 9, 2), kind="kien_nghi_phan_anh",
        category="khac", people_count=40, is_mass=True, is_over_level=True, status="dang_giai_quyet",
        handling_level="trung_uong", deadline_date=date(2025, 10, 2), resolved_date=None, dialogue_dates=[],
        project_name=None, summary="Kiến nghị sửa chữa đường liên thôn", commune_code="19363", scheme="2025",
        lon=None, lat=None, is_complex=False, deadline_computed=True,
    ),
}  # fmt: skip


def assert_realistic(result):
    assert [r.external_ref for r in result.records] == list(EXPECTED)
    for record in result.records:
        expected = EXPECTED[record.external_ref]
        for name, value in expected.items():
            assert getattr(record, name) == value, (record.external_ref, name)
        # every field is checked; "source" (the dataset) is set by the importer, not read from a cell
        assert set(expected) | {"external_ref", "source"} == {f.name for f in dataclasses.fields(CaseRecord)}
        assert record.source is None
    assert result.rejects == []
    assert result.blank_rows == [9]
    assert result.data_rows == 6
    assert result.ignored_columns == PERSONAL_HEADERS
    assert result.unknown_columns == ["STT"]


def assert_no_personal_data(*objects):
    text = " ".join(repr(o) for o in objects)
    for value in PERSONAL_VALUES:
        assert value not in text


def test_realistic_csv(resolver):
    table = read_table(REALISTIC_CSV)
    assert (table.header_row, table.encoding, table.sheet) == (3, "utf-8", None)
    assert [r.row_number for r in table.rows] == [4, 5, 6, 7, 8, 9, 10]
    result = parse(table, resolver)
    assert_realistic(result)
    assert_no_personal_data(table, result)


def _realistic_rows():
    return list(csv.reader(io.StringIO(_csv_text())))


def test_realistic_xlsx_with_typed_cells(tmp_path, resolver):
    rows = _realistic_rows()
    typed = {
        # Excel date cells, an Excel serial number, numeric codes and coordinates
        (3, 2): datetime(2024, 4, 3),
        (5, 2): date(2024, 7, 15),
        (6, 2): 45505,
        (4, 13): datetime(2024, 6, 20),
        (3, 20): 19741,
        (6, 20): 19498.0,
        (7, 20): 19363,
        (3, 25): 107.367143,
        (3, 26): 16.756599,
        (3, 9): 7,
        (6, 9): 12.0,
    }
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Ghi chú"
    notes.append(["Sheet without a header row: skipped."])
    sheet = workbook.create_sheet("Vụ việc")
    for i, row in enumerate(rows):
        sheet.append([typed.get((i, j), cell if cell != "" else None) for j, cell in enumerate(row)])
    path = tmp_path / "cases.xlsx"
    workbook.save(path)

    table = read_table(path)
    assert (table.sheet, table.header_row) == ("Vụ việc", 3)
    result = parse(table, resolver)
    assert_realistic(result)
    assert_no_personal_data(table, result)
    csv_result = parse(read_table(REALISTIC_CSV), resolver)
    assert result.records == csv_result.records


def _write_csv(path: Path, header, rows, *, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding=encoding)
    return path


def _renamed(mapping):
    rows = _realistic_rows()
    header = rows[2]
    new_header = []
    for cell in header:
        kind, name = recognise_header(cell)
        new_header.append(mapping(parsing.COLUMN_BY_FIELD[name]) if kind == "field" else cell)
    return new_header, rows[3:]


@pytest.mark.parametrize(
    "mapping,delimiter,encoding",
    [
        (lambda c: c.header_en, ";", "utf-8-sig"),  # English headers, semicolons, BOM
        (lambda c: c.aliases[0], "\t", "utf-8"),  # first alias of every column, tab-separated
        (lambda c: c.aliases[-1].upper(), ",", "utf-16"),  # last alias, upper case, UTF-16
        (lambda c: parsing.fold(c.header_vi) + " (ghi chú) *", "|", "utf-8"),  # no diacritics, notes, marks
    ],
)
def test_every_header_form_gives_the_same_records(tmp_path, resolver, mapping, delimiter, encoding):
    header, rows = _renamed(mapping)
    path = _write_csv(tmp_path / "renamed.csv", header, rows, delimiter=delimiter, encoding=encoding)
    table = read_table(path)
    assert set(table.columns) == {c.field for c in COLUMNS}
    result = parse(table, resolver)
    baseline = parse(read_table(REALISTIC_CSV), resolver)
    assert [dataclasses.replace(r, row_number=0) for r in result.records] == [
        dataclasses.replace(r, row_number=0) for r in baseline.records
    ]


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.field)
def test_every_alias_is_recognised(column):
    for spelling in column.spellings():
        for variant in (spelling, spelling.upper(), parsing.fold(spelling), f"{spelling} (xem hướng dẫn) *"):
            assert recognise_header(variant) == ("field", column.field), variant


@pytest.mark.parametrize(
    "header",
    PERSONAL_HEADERS
    + ["Họ và tên", "Người khiếu nại", "Số CMND", "CCCD", "SĐT", "Số điện thoại", "Email", "Địa chỉ",
       "Nơi thường trú", "Ngày sinh", "Giới tính", "Dân tộc", "Người tiếp nhận", "Full name", "Name",
       "ID number", "Phone", "Address", "Date of birth", "Tên", "Họ", "Người", "Tên người đứng đơn",
       "Cán bộ thụ lý", "Tên cơ quan"],
)  # fmt: skip
def test_personal_data_headers(header):
    assert recognise_header(header) == ("personal", None)


@pytest.mark.parametrize(
    "header,field",
    [
        ("Phường/Xã/Thị trấn", "commune"),
        ("Xã, phường, thị trấn, đặc khu", "commune"),
        ("Tên xã", "commune"),
        ("Huyện/Thị xã/TP", "district"),
        ("Quận", "district"),
        ("Tên tỉnh", "province"),
        ("Tỉnh/TP", "province"),
    ],
)
def test_place_headers_in_any_order(header, field):
    assert recognise_header(header) == ("field", field)


@pytest.mark.parametrize("header", ["STT", "Ghi chú", "Kết quả", "Notes", "Thành phố", "Xã hội", "Tỉnh lộ"])
def test_unknown_headers(header):
    assert recognise_header(header) == ("unknown", None)


def test_windows_1258_csv(tmp_path, resolver):
    path = tmp_path / "cp1258.csv"
    path.write_bytes(to_cp1258(_csv_text()))
    table = read_table(path)
    assert table.encoding == "cp1258"
    assert_realistic(parse(table, resolver))


def test_nfd_text_is_normalised(tmp_path, resolver):
    path = tmp_path / "nfd.csv"
    path.write_text(unicodedata.normalize("NFD", _csv_text()), encoding="utf-8")
    assert_realistic(parse(read_table(path), resolver))


def test_trailing_empty_rows_are_not_data_rows(tmp_path, resolver):
    path = tmp_path / "trailing.csv"
    path.write_text(_csv_text() + ",,,,\n\n,,\n", encoding="utf-8")
    table = read_table(path)
    assert table.rows[-1].row_number == 10
    assert_realistic(parse(table, resolver))


# =========================================================================== file-level refusals


def _header_without(field):
    return [c.header_vi for c in COLUMNS if c.field != field]


@pytest.mark.parametrize("field", ["external_ref", "received_date", "kind", "category"])
def test_missing_required_column_refuses_the_file(tmp_path, field):
    path = _write_csv(tmp_path / "missing.csv", _header_without(field), [])
    with pytest.raises(MissingColumnsError) as info:
        read_table(path)
    column = parsing.COLUMN_BY_FIELD[field]
    assert info.value.missing == [field]
    message = str(info.value)
    assert "Thiếu cột bắt buộc" in message and "missing required column" in message
    assert f"“{column.header_vi}”" in message
    for spelling in column.spellings():
        assert spelling in message


def test_missing_place_columns_refuses_the_file(tmp_path):
    header = [c.header_vi for c in COLUMNS if c.field not in ("commune_code", "commune", "place_text")]
    with pytest.raises(MissingColumnsError) as info:
        read_table(_write_csv(tmp_path / "noplace.csv", header, []))
    assert info.value.missing == ["place"]
    assert "Mã xã" in str(info.value) and "Địa bàn" in str(info.value) and "Commune code" in str(info.value)


def test_no_header_row(tmp_path):
    path = _write_csv(tmp_path / "noheader.csv", ["a", "b"], [["1", "2"]] * 12)
    with pytest.raises(MissingColumnsError) as info:
        read_table(path)
    assert "Không tìm thấy dòng tiêu đề" in str(info.value)


def test_two_columns_for_one_field_are_refused(tmp_path):
    header = [c.header_vi for c in COLUMNS] + ["Số hồ sơ"]
    with pytest.raises(ImportRefused) as info:
        read_table(_write_csv(tmp_path / "dup.csv", header, []))
    assert "Mã hồ sơ" in str(info.value) and "Số hồ sơ" in str(info.value)


def test_old_excel_and_broken_xlsx_are_refused(tmp_path):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ImportRefused) as info:
        read_table(old)
    assert ".xlsx" in str(info.value)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportRefused):
        read_table(broken)


# =========================================================================== values


@pytest.mark.parametrize(
    "text,expected",
    [
        ("03/04/2024", date(2024, 4, 3)),  # day first, never mm/dd
        ("3/4/2024", date(2024, 4, 3)),
        ("3/4/24", date(2024, 4, 3)),
        ("03-04-2024", date(2024, 4, 3)),
        ("03.04.2024", date(2024, 4, 3)),
        ("03 / 04 / 2024", date(2024, 4, 3)),
        ("2024-04-03", date(2024, 4, 3)),
        ("2024-04-03 00:00:00", date(2024, 4, 3)),
        ("2024-04-03T10:30:00+07:00", date(2024, 4, 3)),
        ("03/04/2024 14:30", date(2024, 4, 3)),
        ("45385", date(2024, 4, 3)),  # Excel serial
        ("45385.75", date(2024, 4, 3)),  # serial with a time
        ("ngày 03 tháng 4 năm 2024", date(2024, 4, 3)),
        ("Ngày 3 tháng 04, năm 2024", date(2024, 4, 3)),
        ("29/02/2024", date(2024, 2, 29)),
        ("1/1/99", date(1999, 1, 1)),  # 2099 would be after the pivot year
    ],
)
def test_parse_date_forms(text, expected):
    assert parse_date(text, pivot_year=2025) == expected


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("31/02/2024", "không tồn tại"),
        ("12/25/2024", "không tồn tại"),  # would only be valid as mm/dd: not guessed
        ("29/02/2023", "không tồn tại"),
        ("4/3/2024 12:00:00 AM", "AM/PM"),
        ("hôm qua", "định dạng"),
        ("03/04", "định dạng"),
        ("0", "không phải ngày"),
        ("", "trống"),
    ],
)
def test_parse_date_errors(text, phrase):
    with pytest.raises(DateError) as info:
        parse_date(text)
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    "text,expected",
    [("Có", True), ("có", True), ("x", True), ("X", True), ("1", True), ("true", True), ("TRUE", True),
     ("yes", True), ("c", True), ("✓", True), ("Không", False), ("khong", False), ("0", False),
     ("false", False), ("no", False), ("k", False), ("ko", False), ("", None), ("  ", None), ("-", None)],
)  # fmt: skip
def test_parse_flag(text, expected):
    assert parse_flag(text) is expected


def test_parse_flag_rejects_other_text():
    with pytest.raises(ValueError):
        parse_flag("có lẽ")


# =========================================================================== row-level rejections

HEADER = ["Mã hồ sơ", "Ngày tiếp nhận", "Loại đơn", "Lĩnh vực", "Số người", "Trạng thái", "Ngày giải quyết",
          "Đối thoại", "Tóm tắt", "Mã xã", "Tỉnh", "Huyện", "Xã", "Địa bàn", "Kinh độ", "Vĩ độ", "Vượt cấp"]  # fmt: skip
BASE_ROWS = [
    ["R-1", "03/04/2024", "Khiếu nại", "GPMB", "7", "", "", "", "Bồi thường", "19741", "", "", "", "", "107.36", "16.75", ""],
    ["R-2", "05/05/2024", "Tố cáo", "Môi trường", "2", "Đã giải quyết", "20/05/2024", "", "Xả thải", "", "Quảng Trị", "Vĩnh Linh", "Vĩnh Thái", "", "", "", "x"],
    ["R-3", "06/06/2024", "Kiến nghị", "Khác", "1", "", "", "10/06/2024", "Đường", "", "", "", "", "Xã Trung Giang, huyện Gio Linh, tỉnh Quảng Trị", "", "", ""],
    ["R-4", "07/07/2024", "Khiếu nại", "Tranh chấp đất đai", "", "Đang xử lý", "", "", "Ranh giới", "", "Quảng Trị", "Hải Lăng", "Hải Khê", "", "", "", "Không"],
]  # fmt: skip
COL = {name: i for i, name in enumerate(HEADER)}


def _table(rows):
    return RawTable.from_rows(HEADER, rows, source="memory.csv")


def test_base_rows_are_all_valid(resolver):
    result = parse(_table(BASE_ROWS), resolver)
    assert result.rejects == []
    assert [(r.external_ref, r.commune_code) for r in result.records] == [
        ("R-1", "19741"), ("R-2", "19369"), ("R-3", "19498"), ("R-4", "19741"),
    ]


SCENARIOS = {
    "unknown commune": ({"Xã": "Hải Khêe"}, "Không tìm thấy xã “Hải Khêe” trong Huyện Hải Lăng"),
    "ambiguous name": ({"Huyện": "", "Xã": "Phường 1"}, "trùng nhiều đơn vị"),
    "merged commune": ({"Huyện": "Cam Lộ", "Xã": "Cam An"}, "đã sáp nhập vào Xã Thanh An"),
    "impossible date": ({"Ngày tiếp nhận": "31/02/2024"}, "Ngày tiếp nhận: ngày “31/02/2024” không tồn tại"),
    "future date": ({"Ngày tiếp nhận": "01/01/2026"}, "sau ngày nhập 30/09/2025"),
    "date before 1990": ({"Ngày tiếp nhận": "15/06/1989"}, "trước năm 1990"),
    "US date": ({"Ngày tiếp nhận": "7/4/2024 9:00 AM"}, "AM/PM"),
    "negative people count": ({"Số người": "-3"}, "Số người: “-3” là số âm (People: negative)"),
    "non-integer people count": ({"Số người": "2.5"}, "Số người: “2.5” không phải số nguyên"),
    "zero people": ({"Số người": "0"}, "bằng 0"),
    "duplicate reference": ({"Mã hồ sơ": "r-1"}, "Mã hồ sơ: “r-1” trùng với dòng 2 (Reference: duplicate reference, first used in row 2)"),
    "empty reference": ({"Mã hồ sơ": " "}, "Mã hồ sơ: trống"),
    "unknown kind": ({"Loại đơn": "Thư cảm ơn"}, "Loại đơn: “Thư cảm ơn” không hợp lệ"),
    "empty category": ({"Lĩnh vực": ""}, "Lĩnh vực: trống"),
    "ambiguous category": ({"Lĩnh vực": "Đất đai"}, "không rõ nghĩa"),
    "unknown status": ({"Trạng thái": "Treo"}, "Trạng thái: “Treo” không hợp lệ"),
    "resolved before received": ({"Ngày giải quyết": "01/06/2024", "Trạng thái": "Đã GQ"}, "Ngày giải quyết: 01/06/2024 trước ngày tiếp nhận 07/07/2024"),
    "bad dialogue date": ({"Đối thoại": "10/07/2024; 32/07/2024"}, "Đối thoại: ngày “32/07/2024” không tồn tại"),
    "dialogue before received": ({"Đối thoại": "01/07/2024"}, "Đối thoại: 01/07/2024 trước ngày tiếp nhận"),
    "bad flag": ({"Vượt cấp": "có lẽ"}, "Vượt cấp: “có lẽ” không phải Có/Không"),
    "outside Vietnam": ({"Kinh độ": "100.5", "Vĩ độ": "16.7"}, "nằm ngoài Việt Nam"),
    "swapped coordinates": ({"Kinh độ": "16.7", "Vĩ độ": "107.2"}, "đảo kinh độ và vĩ độ"),
    "half a coordinate": ({"Kinh độ": "107.2"}, "Vĩ độ: trống"),
    "phone in summary": ({"Tóm tắt": "Liên hệ 0912345678 để xác minh"}, "Tóm tắt: có vẻ chứa số điện thoại"),
    "ID number in summary": ({"Tóm tắt": "CCCD 001099012345"}, "CCCD/CMND"),
    "no place": ({"Tỉnh": "", "Huyện": "", "Xã": ""}, "Thiếu địa bàn"),
    "code and names disagree": ({"Mã xã": "19369"}, "Mã xã 19369 không khớp"),
}  # fmt: skip


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_rejection_has_its_reason_and_nothing_else_is_affected(resolver, scenario):
    changes, phrase = SCENARIOS[scenario]
    baseline = parse(_table(BASE_ROWS), resolver)
    rows = [list(r) for r in BASE_ROWS]
    for column, value in changes.items():
        rows[3][COL[column]] = value
    result = parse(_table(rows), resolver)

    assert len(result.rejects) == 1
    reject = result.rejects[0]
    assert reject.row_number == 5
    assert len(reject.reasons) == 1, reject.reasons
    assert phrase in reject.reasons[0]
    assert reject.values == dict(zip(HEADER, rows[3]))
    assert result.records == baseline.records[:3]
    assert len(result.records) + len(result.rejects) == result.data_rows == 4


def test_several_problems_in_one_row_are_all_reported(resolver):
    rows = [list(r) for r in BASE_ROWS]
    rows[1][COL["Ngày tiếp nhận"]] = "31/02/2024"
    rows[1][COL["Số người"]] = "-1"
    rows[1][COL["Xã"]] = "Không Có"
    result = parse(_table(rows), resolver)
    reasons = result.rejects[0].reasons
    assert len(reasons) == 3
    assert reasons[0].startswith("Ngày tiếp nhận") and reasons[1].startswith("Số người")
    assert reasons[2].startswith("Địa bàn (place)")


def test_duplicate_reference_is_rejected_even_if_the_first_row_is_rejected(resolver):
    rows = [list(r) for r in BASE_ROWS]
    rows[0][COL["Loại đơn"]] = "???"
    rows[2][COL["Mã hồ sơ"]] = "R-1"
    result = parse(_table(rows), resolver)
    assert [r.row_number for r in result.rejects] == [2, 4]
    assert "trùng với dòng 2" in result.rejects[1].reasons[0]


def test_status_and_deadline_defaults(resolver):
    rows = [list(r) for r in BASE_ROWS]
    rows[0][COL["Ngày giải quyết"]] = "10/04/2024"
    result = parse(_table(rows), resolver)
    first, second, third = result.records[:3]
    assert first.status == "da_giai_quyet"  # blank status with a resolved date
    assert third.status == "tiep_nhan"  # blank status without one
    assert first.deadline_date == date(2024, 5, 3) and first.deadline_computed
    assert second.is_over_level is True and result.records[3].is_over_level is False


def test_deadline_rule_remote_hook_and_default_source(resolver):
    remote_codes = {"19369"}
    result = parse(
        _table(BASE_ROWS),
        resolver,
        deadline_rule=DeadlineRule(days=20),
        is_remote=lambda code, scheme: code in remote_codes and scheme == "legacy",
        default_source="Thanh tra tỉnh",
    )
    by_ref = {r.external_ref: r for r in result.records}
    assert by_ref["R-1"].deadline_date == date(2024, 4, 23)
    assert by_ref["R-2"].deadline_date == date(2024, 6, 9)  # 20 + 15 remote days
    assert {r.source for r in result.records} == {"Thanh tra tỉnh"}


def test_blank_rows_are_reported_separately(resolver):
    rows = [BASE_ROWS[0], [""] * len(HEADER), [], BASE_ROWS[1], ["  "] * 3, BASE_ROWS[2]]
    result = parse(_table(rows), resolver)
    assert result.blank_rows == [3, 4, 6]
    assert [r.row_number for r in result.records] == [2, 5, 7]
    assert result.report()["blank_rows"] == [3, 4, 6]


def test_only_unrecognised_columns_filled_is_a_blank_row(resolver):
    table = RawTable.from_rows(HEADER + ["STT"], [BASE_ROWS[0] + ["1"], [""] * len(HEADER) + ["2"]])
    result = parse(table, resolver)
    assert result.blank_rows == [3] and len(result.records) == 1


# =========================================================================== rejects file


def _rejecting_file(tmp_path) -> Path:
    rows = _realistic_rows()
    rows[3][2] = "31/02/2024"  # HS-2024-001: impossible date
    rows[5][9] = "-4"  # HS-2024-003: negative people count
    path = tmp_path / "with_rejects.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_write_rejects_csv_is_excel_friendly_and_re_importable(tmp_path, resolver):
    result = parse(read_table(_rejecting_file(tmp_path)), resolver)
    assert [r.row_number for r in result.rejects] == [4, 6]
    out = write_rejects(result, tmp_path / "rejects.csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [h for h in _realistic_rows()[2] if h not in PERSONAL_HEADERS] + [REASON_HEADER]
    assert lines[1][1:3] == ["HS-2024-001", "31/02/2024"]
    assert "không tồn tại" in lines[1][-1] and "(Received date: no such date" in lines[1][-1]
    assert "số âm" in lines[2][-1]
    assert_no_personal_data(text)

    # fix the two rows in the rejects file and import it again
    lines[1][2] = "03/04/2024"
    lines[2][lines[0].index("Số người")] = "1"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(lines)
    table = read_table(fixed)
    assert REASON_HEADER not in table.headers and table.unknown_columns == ["STT"]
    again = parse(table, resolver)
    assert again.rejects == []
    assert [r.external_ref for r in again.records] == ["HS-2024-001", "HS-2024-003"]
    for record in again.records:
        expected = dict(EXPECTED[record.external_ref], row_number=record.row_number)
        assert {k: getattr(record, k) for k in expected} == expected


def test_write_rejects_xlsx_keeps_text(tmp_path, resolver):
    rows = [list(r) for r in BASE_ROWS]
    rows[0][COL["Mã xã"]] = "04"  # a short code must keep its leading zero
    rows[0][COL["Tóm tắt"]] = "=HYPERLINK(\"x\")"  # must stay text, not become a formula
    rows[0][COL["Loại đơn"]] = "???"
    result = parse(_table(rows), resolver)
    out = write_rejects(result, tmp_path / "rejects.xlsx")
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header == HEADER + [REASON_HEADER]
    values = [c.value for c in sheet[2]]
    assert values[COL["Mã xã"]] == "04"
    assert values[COL["Tóm tắt"]] == "=HYPERLINK(\"x\")"
    assert sheet.cell(row=2, column=COL["Tóm tắt"] + 1).data_type == "s"
    assert "Loại đơn" in values[-1]
    again = read_table(out)
    assert again.headers == HEADER and again.rows[0].values["Mã xã"] == "04"


# =========================================================================== template


def test_template_round_trips_with_zero_rejects(tmp_path, resolver):
    path = write_template(tmp_path / "mau_nhap_vu_viec.xlsx")
    table = read_table(path)
    assert table.sheet == DATA_SHEET and table.header_row == 1
    assert set(table.columns) == set(TEMPLATE_FIELDS) == {c.field for c in COLUMNS}
    assert table.unknown_columns == [] and table.ignored_columns == []
    result = parse(table, resolver, as_of=date(2025, 1, 1))
    assert result.rejects == []
    assert len(result.records) == 2
    first, second = result.records
    assert (first.external_ref, first.kind, first.category, first.commune_code, first.is_mass) == (
        "VÍ-DỤ-001", "khieu_nai", "dat_dai_thu_hoi", "19741", True,
    )
    assert first.dialogue_dates == [date(2024, 4, 10), date(2024, 4, 25)]
    assert (second.external_ref, second.commune_code, second.status, second.resolved_date) == (
        "VÍ-DỤ-002", "19498", "da_giai_quyet", date(2024, 5, 20),
    )
    assert len(result.warnings) == 2 and "ví dụ" in result.warnings[0]


def test_template_guide_explains_every_column(tmp_path):
    workbook = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    assert workbook.sheetnames[:2] == [DATA_SHEET, GUIDE_SHEET]
    assert workbook["Danh mục"].sheet_state == "hidden"
    data = workbook[DATA_SHEET]
    headers = [c.value for c in data[1]]
    assert headers[0] == "Mã hồ sơ *" and "Lĩnh vực *" in headers and "Tóm tắt" in headers
    assert all("VÍ DỤ" in data.cell(row=r, column=headers.index("Tóm tắt") + 1).value for r in (2, 3))
    guide_text = "\n".join(str(c.value) for row in workbook[GUIDE_SHEET].iter_rows() for c in row if c.value)
    for field in TEMPLATE_FIELDS:
        column = parsing.COLUMN_BY_FIELD[field]
        assert column.header_vi in guide_text and column.help_en in guide_text
    for phrase in ("dd/mm/yyyy", "CCCD", "Đất đai — tranh chấp", "Land — disputes", "đông người"):
        assert phrase in guide_text


# =========================================================================== docs


def test_module_docstring_has_the_current_header_table():
    assert header_table_markdown() in parsing.__doc__


# =========================================================================== properties

SAMPLES = [
    "Khiếu nại", "Tố cáo", "KNPA", "GPMB", "Môi trường", "Khác", "Đất đai", "Đã GQ", "đang xử lý", "Có", "x",
    "Không", "03/04/2024", "31/02/2024", "2024-07-15", "45505", "1/1/1985", "01/01/2030", "19741", "19363",
    "99999", "Quảng Trị", "Hải Lăng", "Hải Khê", "Phường 1", "Cam An", "Xã Trung Giang, huyện Gio Linh",
    "107.3", "16.7", "-3", "2.5", "0912345678", "R-1", "R-1", " ", "\n", '"', ",", "Cấp xã", "TW",
]  # fmt: skip
WIDE_HEADER = [c.header_vi for c in COLUMNS]
VALID_WIDE_ROWS = [
    {"external_ref": "P-1", "received_date": "03/04/2024", "kind": "Khiếu nại", "category": "GPMB",
     "people_count": "7", "status": "Đang giải quyết", "dialogue_dates": "10/04/2024", "commune_code": "19741",
     "lon": "107.3", "lat": "16.7", "summary": "Bồi thường"},
    {"external_ref": "P-2", "received_date": "2024-05-05", "kind": "Tố cáo", "category": "Môi trường",
     "is_over_level": "x", "status": "Đã GQ", "resolved_date": "20/05/2024", "province": "Quảng Trị",
     "district": "Vĩnh Linh", "commune": "Vĩnh Thái", "handling_level": "Cấp xã"},
    {"external_ref": "P-3", "received_date": "45505", "kind": "KNPA", "category": "Khác", "is_mass": "Có",
     "place_text": "Xã Trung Giang, huyện Gio Linh, tỉnh Quảng Trị", "channel": "Bưu điện"},
    {"external_ref": "P-4", "received_date": "15.08.2025", "kind": "Khiếu nại", "category": "Tranh chấp đất đai",
     "commune_code": "19363", "deadline_date": "30/10/2025", "is_complex": "1", "project_name": "Đường ven biển"},
]  # fmt: skip
VALID_WIDE_ROWS = [[row.get(c.field, "") for c in COLUMNS] for row in VALID_WIDE_ROWS]
cell = st.one_of(
    st.just(""),
    st.sampled_from(SAMPLES),
    st.text(max_size=15),
    st.integers(min_value=-10, max_value=100_000).map(str),
)
whitespace_row = st.lists(st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0"]), min_size=1, max_size=25)


@st.composite
def messy_rows(draw, junk=cell):
    """Valid rows, valid rows with a few cells replaced or cut off, junk, blank and whitespace-only rows."""
    shape = draw(st.sampled_from(["valid", "perturbed", "perturbed", "short", "junk", "blank", "whitespace"]))
    if shape == "blank":
        return draw(st.sampled_from([[], [""] * len(WIDE_HEADER)]))
    if shape == "whitespace":
        return draw(whitespace_row)
    if shape == "junk":
        return draw(st.lists(junk, max_size=len(WIDE_HEADER) + 2))
    row = list(draw(st.sampled_from(VALID_WIDE_ROWS)))
    row[0] += draw(st.sampled_from(["", "", "-a", "-b"]))  # some duplicate references, some not
    if shape == "perturbed":
        for index, value in draw(st.lists(st.tuples(st.integers(0, len(row) - 1), junk), min_size=1, max_size=4)):
            row[index] = value
    elif shape == "short":
        row = row[: draw(st.integers(0, len(row) - 1))]
    return row


messy_row = messy_rows()


def _expected_blank(row):
    return not any(str(c).strip() for c in row[: len(WIDE_HEADER)])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(messy_row, max_size=12))
def test_property_every_row_is_accounted_for(resolver, rows):
    table = RawTable.from_rows(WIDE_HEADER, rows)
    result = parse_rows(table, as_of=AS_OF, resolver=resolver)
    non_blank = [i + 2 for i, r in enumerate(rows) if not _expected_blank(r)]
    assert len(result.records) + len(result.rejects) == len(non_blank) == result.data_rows
    assert sorted([r.row_number for r in result.records] + [r.row_number for r in result.rejects]) == non_blank
    assert len(result.records) + len(result.rejects) + len(result.blank_rows) == len(table.rows)
    assert all(r.reasons for r in result.rejects)
    refs = [parsing._ref_key(r.external_ref) for r in result.records]
    assert len(refs) == len(set(refs))


csv_text = st.text(
    alphabet=st.sampled_from(list("abcxyz019 ,;\"'\n/.-ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")),
    max_size=12,
)
csv_cell = st.one_of(st.just(""), st.sampled_from(SAMPLES), csv_text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(messy_rows(junk=csv_cell), max_size=8))
def test_property_through_a_csv_file(resolver, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_csv(Path(tmp) / "messy.csv", WIDE_HEADER, rows)
        table = read_table(path)
    result = parse_rows(table, as_of=AS_OF, resolver=resolver)
    non_blank = [i + 2 for i, r in enumerate(rows) if not _expected_blank(r)]
    assert sorted([r.row_number for r in result.records] + [r.row_number for r in result.rejects]) == non_blank
    assert len(result.records) + len(result.rejects) + len(result.blank_rows) == len(table.rows)
