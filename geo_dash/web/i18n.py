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
