"""The message catalogue: Vietnamese first, English second.  Every UI string lives here."""

from __future__ import annotations

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"vi": "Bản đồ điểm nóng khiếu nại, tố cáo", "en": "Grievance hotspot map"},
    "app.subtitle": {"vi": "Theo dõi tình hình theo tỉnh → huyện → xã", "en": "Situation by province → district → commune"},
    "map.province": {"vi": "Tỉnh / thành phố", "en": "Province / city"},
    "map.nothing_found": {"vi": "Không tìm thấy", "en": "Nothing found"},
    "map.scheme": {"vi": "Địa giới hành chính", "en": "Administrative units"},
    "scheme.legacy": {"vi": "Trước 01/07/2025 (3 cấp)", "en": "Before 01/07/2025 (3 tiers)"},
    "scheme.2025": {"vi": "Từ 01/07/2025 (2 cấp)", "en": "Since 01/07/2025 (2 tiers)"},
    "map.counts.legacy": {"vi": "{districts} huyện, {communes} xã", "en": "{districts} districts, {communes} communes"},
    "map.counts.2025": {"vi": "{communes} xã, phường, đặc khu", "en": "{communes} communes, wards, special zones"},
    "map.hover": {"vi": "Di chuột lên bản đồ để xem tên xã", "en": "Hover over the map to see commune names"},
    "map.legend.communes": {"vi": "Ranh giới xã", "en": "Commune boundary"},
    "map.legend.districts": {"vi": "Ranh giới huyện", "en": "District boundary"},
    "map.nobase": {"vi": "Không dùng bản đồ nền trực tuyến (mạng nội bộ)", "en": "No online base map (closed network)"},
    "map.source": {
        "vi": "Ranh giới: censusVN2009 (MIT), vietnamese-provinces-database (MIT), mã ĐVHC: vietnamadminunits (MIT)",
        "en": "Boundaries: censusVN2009 (MIT), vietnamese-provinces-database (MIT), unit codes: vietnamadminunits (MIT)",
    },
    "nav.map": {"vi": "Bản đồ", "en": "Map"},
    "nav.cases": {"vi": "Vụ việc", "en": "Cases"},
    "demo.banner": {
        "vi": "DỮ LIỆU MINH HỌA: cơ sở dữ liệu đang có vụ việc tổng hợp (giả lập), không phải số liệu thật.",
        "en": "DEMO DATA: the database holds synthetic cases, not real figures.",
    },
    "cases.title": {"vi": "Vụ việc theo xã", "en": "Cases by commune"},
    "cases.commune": {"vi": "Xã / phường", "en": "Commune / ward"},
    "cases.pick_commune": {"vi": "Chọn xã để xem danh sách vụ việc", "en": "Choose a commune to see its cases"},
    "cases.count": {"vi": "{n} vụ việc", "en": "{n} cases"},
    "history.create": {"vi": "tạo mới", "en": "created"},
    "history.update": {"vi": "cập nhật", "en": "updated"},
    "cases.none": {"vi": "Chưa có vụ việc", "en": "No cases"},
    "cases.new": {"vi": "Thêm vụ việc mới", "en": "New case"},
    "cases.edit": {"vi": "Sửa vụ việc", "en": "Edit case"},
    "cases.save": {"vi": "Lưu", "en": "Save"},
    "cases.saved.created": {"vi": "Đã thêm vụ việc.", "en": "Case added."},
    "cases.saved.updated": {"vi": "Đã cập nhật vụ việc; thay đổi được ghi vào lịch sử.", "en": "Case updated; the change is in its history."},
    "cases.saved.unchanged": {"vi": "Không có thay đổi.", "en": "Nothing changed."},
    "cases.not_saved": {"vi": "Chưa lưu", "en": "Not saved"},
    "cases.history": {"vi": "Lịch sử thay đổi", "en": "Change history"},
    "cases.no_personal": {
        "vi": "Không ghi họ tên, số giấy tờ, điện thoại hay địa chỉ của người dân.",
        "en": "Do not enter names, ID numbers, phone numbers or addresses of people.",
    },
    "field.external_ref": {"vi": "Mã hồ sơ", "en": "Reference"},
    "field.received_date": {"vi": "Ngày tiếp nhận", "en": "Received"},
    "field.kind": {"vi": "Loại đơn", "en": "Kind"},
    "field.category": {"vi": "Lĩnh vực", "en": "Category"},
    "field.people_count": {"vi": "Số người", "en": "People"},
    "field.is_mass": {"vi": "Đông người", "en": "Mass"},
    "field.is_over_level": {"vi": "Vượt cấp", "en": "Over level"},
    "field.is_complex": {"vi": "Phức tạp", "en": "Complex"},
    "field.status": {"vi": "Trạng thái", "en": "Status"},
    "field.deadline_date": {"vi": "Hạn giải quyết", "en": "Deadline"},
    "field.resolved_date": {"vi": "Ngày giải quyết", "en": "Resolved"},
    "field.dialogue_dates": {"vi": "Ngày đối thoại", "en": "Dialogue dates"},
    "field.n_dialogues": {"vi": "Đối thoại", "en": "Dialogues"},
    "field.project_name": {"vi": "Dự án liên quan", "en": "Related project"},
    "field.handling_level": {"vi": "Cấp giải quyết", "en": "Handling level"},
    "field.summary": {"vi": "Tóm tắt (chỉ lưu nội bộ, không hiện trên bản đồ)", "en": "Summary (internal only, never on maps)"},
    "field.overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "field.source": {"vi": "Nguồn dữ liệu", "en": "Dataset"},
    "field.channel": {"vi": "Nguồn đơn", "en": "Channel"},
    "field.lon": {"vi": "Kinh độ", "en": "Longitude"},
    "field.lat": {"vi": "Vĩ độ", "en": "Latitude"},
    "date.hint": {"vi": "dd/mm/yyyy", "en": "dd/mm/yyyy"},
    "yes": {"vi": "Có", "en": "Yes"},
    "no": {"vi": "Không", "en": "No"},
    "lang.switch": {"vi": "English", "en": "Tiếng Việt"},
    "error.db": {
        "vi": "Không kết nối được cơ sở dữ liệu. Hệ thống sẽ tự thử lại.",
        "en": "The database is unavailable. The app will retry by itself.",
    },
}


def t(key: str, lang: str = DEFAULT_LANG, **kwargs) -> str:
    entry = MESSAGES[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**kwargs) if kwargs else text
