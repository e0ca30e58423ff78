"""Controlled vocabularies of the case model, with Vietnamese and English labels.

Every enumeration is a tuple of :class:`Term` (stable ``code`` stored in the
database, Vietnamese label, English label, aliases).  Matching is
diacritic-, case-, punctuation- and space-insensitive (``"Đã GQ"``,
``"da gq"`` and ``"ĐÃ-GQ"`` are the same), and only *whole values* match:
``"khiếu nại về đất"`` is not guessed to be anything.

Kinds (``kind``, column "Loại đơn")
    ======================  ==========================  ==========================================
    code                    Vietnamese                  accepted aliases (besides both labels)
    ======================  ==========================  ==========================================
    khieu_nai               Khiếu nại                   đơn khiếu nại, complaint
    to_cao                  Tố cáo                      đơn tố cáo, denunciation, accusation
    kien_nghi_phan_anh      Kiến nghị, phản ánh         kiến nghị, phản ánh, KNPA, KN-PA, kiến nghị/phản ánh,
                                                        đơn kiến nghị, đơn phản ánh, petition, feedback
    ======================  ==========================  ==========================================

    "KN" is deliberately *not* an alias (it is used for both khiếu nại and
    kiến nghị); "KNTC" / "khiếu nại, tố cáo" are rejected as ambiguous.

Categories (``category``, column "Lĩnh vực")
    ======================  ==================================================  ==================================
    code                    Vietnamese                                          aliases (examples)
    ======================  ==================================================  ==================================
    dat_dai_thu_hoi         Đất đai — thu hồi, bồi thường, GPMB, tái định cư    thu hồi đất, bồi thường, hỗ trợ
                                                                                tái định cư, giải phóng mặt bằng,
                                                                                GPMB, tái định cư, TĐC, đền bù,
                                                                                land acquisition, compensation
    dat_dai_tranh_chap      Đất đai — tranh chấp                                tranh chấp đất đai, tranh chấp,
                                                                                land dispute
    moi_truong              Môi trường                                          ô nhiễm, ô nhiễm môi trường,
                                                                                environment, pollution
    tai_nguyen_khoang_san   Tài nguyên, khoáng sản                              tài nguyên, khoáng sản, khai thác
                                                                                khoáng sản, cát sỏi, minerals
    che_do_chinh_sach       Chế độ, chính sách                                  chính sách, chế độ, người có công,
                                                                                BHXH, social policy
    can_bo_cong_chuc        Cán bộ, công chức                                   cán bộ, công chức, officials
    khac                    Khác                                                lĩnh vực khác, other
    ======================  ==================================================  ==================================

    A bare "Đất đai" / "land" is rejected as ambiguous: the dashboard's land
    indicators depend on telling acquisition/compensation from disputes.

Statuses (``status``, column "Trạng thái")
    =================  ====================  ==================================================
    code               Vietnamese            aliases (examples)
    =================  ====================  ==================================================
    tiep_nhan          Tiếp nhận             mới tiếp nhận, đã tiếp nhận, mới, chưa xử lý, received, new
    dang_giai_quyet    Đang giải quyết       đang xử lý, đang GQ, chưa giải quyết, đã thụ lý, thụ lý,
                                             đang xác minh, in progress, pending, open
    da_giai_quyet      Đã giải quyết         đã GQ, xong, hoàn thành, đã xử lý, kết thúc, resolved, closed, done
    khong_thu_ly       Không thụ lý          không đủ điều kiện thụ lý, trả đơn, not accepted, dismissed
    rut_don            Rút đơn               đã rút đơn, rút, withdrawn
    =================  ====================  ==================================================

    Decision: "chưa giải quyết" (not yet resolved) means the matter is open
    and being handled → ``dang_giai_quyet``; "chưa xử lý" (nothing done yet)
    → ``tiep_nhan``.  Both are *open* (:data:`OPEN_STATUSES`), so the
    overdue/prolonged indicators do not depend on that choice.

Handling levels (``handling_level``, column "Cấp giải quyết")
    ===========  ==============  ====================================================
    code         Vietnamese      aliases (examples)
    ===========  ==============  ====================================================
    xa           Cấp xã          xã, phường, thị trấn, UBND xã, commune
    huyen        Cấp huyện       huyện, quận, thị xã, UBND huyện, district
    tinh         Cấp tỉnh        tỉnh, UBND tỉnh, province
    trung_uong   Trung ương      TW, cấp trung ương, bộ, ngành trung ương, central
    ===========  ==============  ====================================================

    Districts were abolished on 2025-07-01; ``huyen`` remains valid for
    matters handled before that date.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from geo_dash.text import fold

__all__ = [
    "Term",
    "VocabError",
    "KINDS",
    "CATEGORIES",
    "STATUSES",
    "LEVELS",
    "LAND_CATEGORIES",
    "OPEN_STATUSES",
    "CLOSED_STATUSES",
    "match_kind",
    "match_category",
    "match_status",
    "match_level",
    "label",
    "vocab_key",
]


@dataclass(frozen=True)
class Term:
    code: str
    label_vi: str
    label_en: str
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (self.code, self.label_vi, self.label_en, *self.aliases)


KINDS: tuple[Term, ...] = (
    Term("khieu_nai", "Khiếu nại", "Complaint", ("đơn khiếu nại", "complaint")),
    Term("to_cao", "Tố cáo", "Denunciation", ("đơn tố cáo", "denunciation", "accusation")),
    Term(
        "kien_nghi_phan_anh",
        "Kiến nghị, phản ánh",
        "Petition / feedback",
        (
            "kiến nghị",
            "phản ánh",
            "phản ảnh",
            "kiến nghị phản ánh",
            "kiến nghị/phản ánh",
            "kiến nghị - phản ánh",
            "KNPA",
            "KN-PA",
            "KN, PA",
            "đơn kiến nghị",
            "đơn phản ánh",
            "petition",
            "feedback",
            "recommendation",
        ),
    ),
)

CATEGORIES: tuple[Term, ...] = (
    Term(
        "dat_dai_thu_hoi",
        "Đất đai — thu hồi, bồi thường, GPMB, tái định cư",
        "Land — acquisition, compensation, site clearance, resettlement",
        (
            "thu hồi đất",
            "bồi thường",
            "bồi thường hỗ trợ",
            "bồi thường, hỗ trợ, tái định cư",
            "bồi thường hỗ trợ tái định cư",
            "giải phóng mặt bằng",
            "GPMB",
            "bồi thường GPMB",
            "tái định cư",
            "TĐC",
            "đền bù",
            "đền bù giải tỏa",
            "giải tỏa",
            "đất đai thu hồi",
            "đất đai - thu hồi",
            "thu hồi, bồi thường",
            "land acquisition",
            "land - acquisition",
            "compensation",
            "resettlement",
            "site clearance",
        ),
    ),
    Term(
        "dat_dai_tranh_chap",
        "Đất đai — tranh chấp",
        "Land — disputes",
        (
            "tranh chấp đất đai",
            "tranh chấp đất",
            "tranh chấp",
            "đất đai tranh chấp",
            "đất đai - tranh chấp",
            "land dispute",
            "land disputes",
            "land - dispute",
        ),
    ),
    Term("moi_truong", "Môi trường", "Environment", ("ô nhiễm", "ô nhiễm môi trường", "environment", "pollution")),
    Term(
        "tai_nguyen_khoang_san",
        "Tài nguyên, khoáng sản",
        "Natural resources and minerals",
        (
            "tài nguyên",
            "khoáng sản",
            "tài nguyên khoáng sản",
            "khai thác khoáng sản",
            "khai thác cát",
            "cát sỏi",
            "minerals",
            "natural resources",
            "mining",
        ),
    ),
    Term(
        "che_do_chinh_sach",
        "Chế độ, chính sách",
        "Social policies and benefits",
        (
            "chính sách",
            "chế độ",
            "chế độ chính sách",
            "chính sách xã hội",
            "người có công",
            "bảo hiểm xã hội",
            "BHXH",
            "social policy",
            "social policies",
            "benefits",
        ),
    ),
    Term(
        "can_bo_cong_chuc",
        "Cán bộ, công chức",
        "Officials and civil servants",
        ("cán bộ", "công chức", "cán bộ công chức", "cán bộ, công chức, viên chức", "officials", "civil servants"),
    ),
    Term("khac", "Khác", "Other", ("lĩnh vực khác", "other", "others")),
)

STATUSES: tuple[Term, ...] = (
    Term(
        "tiep_nhan",
        "Tiếp nhận",
        "Received",
        ("mới tiếp nhận", "đã tiếp nhận", "mới", "chưa xử lý", "received", "new"),
    ),
    Term(
        "dang_giai_quyet",
        "Đang giải quyết",
        "In progress",
        (
            "đang xử lý",
            "đang GQ",
            "đang giải quyết",
            "chưa giải quyết",
            "chưa GQ",
            "đã thụ lý",
            "thụ lý",
            "đang xác minh",
            "in progress",
            "pending",
            "processing",
            "open",
        ),
    ),
    Term(
        "da_giai_quyet",
        "Đã giải quyết",
        "Resolved",
        (
            "đã GQ",
            "xong",
            "hoàn thành",
            "đã xử lý",
            "đã xử lý xong",
            "kết thúc",
            "đã có quyết định giải quyết",
            "resolved",
            "closed",
            "done",
        ),
    ),
    Term(
        "khong_thu_ly",
        "Không thụ lý",
        "Not accepted",
        ("không đủ điều kiện thụ lý", "không thụ lý giải quyết", "trả đơn", "not accepted", "dismissed", "rejected"),
    ),
    Term("rut_don", "Rút đơn", "Withdrawn", ("đã rút đơn", "rút", "rút khiếu nại", "withdrawn")),
)

LEVELS: tuple[Term, ...] = (
    Term("xa", "Cấp xã", "Commune", ("xã", "phường", "thị trấn", "UBND xã", "UBND cấp xã", "commune", "ward")),
    Term(
        "huyen",
        "Cấp huyện",
        "District",
        ("huyện", "quận", "thị xã", "UBND huyện", "UBND cấp huyện", "district"),
    ),
    Term("tinh", "Cấp tỉnh", "Province", ("tỉnh", "UBND tỉnh", "UBND cấp tỉnh", "province", "provincial")),
    Term(
        "trung_uong",
        "Trung ương",
        "Central",
        ("TW", "cấp trung ương", "cấp TW", "bộ", "bộ ngành", "ngành trung ương", "central", "national"),
    ),
)

LAND_CATEGORIES: frozenset[str] = frozenset({"dat_dai_thu_hoi", "dat_dai_tranh_chap"})
OPEN_STATUSES: frozenset[str] = frozenset({"tiep_nhan", "dang_giai_quyet"})
CLOSED_STATUSES: frozenset[str] = frozenset({"da_giai_quyet", "khong_thu_ly", "rut_don"})

# Values that look like a vocabulary entry but are deliberately not guessed.
_AMBIGUOUS: dict[str, dict[str, str]] = {
    "kind": {
        "kn": "“KN” dùng cho cả khiếu nại và kiến nghị (“KN” is used for both complaints and petitions)",
        "kntc": "“KNTC” gộp khiếu nại và tố cáo (“KNTC” lumps complaints and denunciations)",
        "khieu nai to cao": "gộp khiếu nại và tố cáo (lumps complaints and denunciations)",
    },
    "category": {
        "dat dai": (
            "“Đất đai” chưa rõ là thu hồi/bồi thường hay tranh chấp "
            "(“land” alone does not say acquisition/compensation or dispute)"
        ),
        "land": (
            "“Đất đai” chưa rõ là thu hồi/bồi thường hay tranh chấp "
            "(“land” alone does not say acquisition/compensation or dispute)"
        ),
    },
}

_FIELD_LABELS = {
    "kind": ("Loại đơn", "kind"),
    "category": ("Lĩnh vực", "category"),
    "status": ("Trạng thái", "status"),
    "handling_level": ("Cấp giải quyết", "handling level"),
}

_PUNCT = re.compile(r"[\s\-–—_/\\,;:.()&+|'\"“”‘’]+")


def vocab_key(text: object) -> str:
    """Comparison key: folded, punctuation and spaces removed.

    >>> vocab_key("Đã GQ") == vocab_key("da-gq")
    True
    """
    return _PUNCT.sub("", fold(text))


class VocabError(ValueError):
    """A value is not in a vocabulary; ``accepted`` lists the accepted labels."""

    def __init__(self, field: str, value: object, accepted: list[str], hint: str | None = None):
        self.field = field
        self.value = value
        self.accepted = accepted
        self.hint = hint
        vi, en = _FIELD_LABELS.get(field, (field, field))
        shown = "" if value is None else str(value).strip()
        if not shown:
            head = f"{vi}: trống ({en}: empty)"
        elif hint:
            head = f"{vi}: “{shown}” không rõ nghĩa — {hint}"
        else:
            head = f"{vi}: “{shown}” không hợp lệ ({en}: not an accepted value)"
        super().__init__(f"{head}. Chấp nhận (accepted): {'; '.join(accepted)}")


def _build_index(field: str, terms: tuple[Term, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for term in terms:
        for spelling in term.spellings():
            key = vocab_key(spelling)
            other = index.get(key)
            if other is not None and other != term.code:
                raise AssertionError(f"{field}: alias {spelling!r} maps to {other} and {term.code}")
            index[key] = term.code
    for key in _AMBIGUOUS.get(field, {}):
        if vocab_key(key) in index:
            raise AssertionError(f"{field}: {key!r} is both an alias and ambiguous")
    return index


_VOCABS: dict[str, tuple[Term, ...]] = {
    "kind": KINDS,
    "category": CATEGORIES,
    "status": STATUSES,
    "handling_level": LEVELS,
}
_INDEX: dict[str, dict[str, str]] = {field: _build_index(field, terms) for field, terms in _VOCABS.items()}
# Filler words users put in front of a value ("Đơn khiếu nại", "Lĩnh vực môi trường").
_FILLERS: dict[str, tuple[str, ...]] = {
    "kind": ("loai", "don"),
    "category": ("linhvuc", "ve"),
    "status": ("trangthai",),
    "handling_level": ("cap",),
}


def accepted_labels(field: str) -> list[str]:
    """Vietnamese labels with the English label and code, for messages and the template."""
    return [f"{t.label_vi} ({t.label_en}; {t.code})" for t in _VOCABS[field]]


def _match(field: str, text: object) -> str:
    if isinstance(text, str):
        return _match_text(field, text)
    return _match_uncached(field, text)


@functools.lru_cache(maxsize=8192)
def _match_text(field: str, text: str) -> str:
    return _match_uncached(field, text)


def _match_uncached(field: str, text: object) -> str:
    accepted = accepted_labels(field)
    key = vocab_key(text)
    if not key:
        raise VocabError(field, text, accepted)
    index = _INDEX[field]
    candidates = [key]
    for filler in _FILLERS.get(field, ()):
        if key.startswith(filler) and len(key) > len(filler):
            candidates.append(key[len(filler):])
    for candidate in candidates:
        if candidate in index:
            return index[candidate]
    ambiguous = {vocab_key(k): v for k, v in _AMBIGUOUS.get(field, {}).items()}
    for candidate in candidates:
        if candidate in ambiguous:
            raise VocabError(field, text, accepted, hint=ambiguous[candidate])
    raise VocabError(field, text, accepted)


def match_kind(text: object) -> str:
    """Code of a petition kind, or :class:`VocabError` listing the accepted values."""
    return _match("kind", text)


def match_category(text: object) -> str:
    """Code of a category, or :class:`VocabError` listing the accepted values."""
    return _match("category", text)


def match_status(text: object) -> str:
    """Code of a status, or :class:`VocabError` listing the accepted values."""
    return _match("status", text)


def match_level(text: object) -> str:
    """Code of a handling level, or :class:`VocabError` listing the accepted values."""
    return _match("handling_level", text)


def label(field: str, code: str, lang: str = "vi") -> str:
    """Label of ``code`` in ``field`` ("kind", "category", "status", "handling_level")."""
    for term in _VOCABS[field]:
        if term.code == code:
            return term.label_vi if lang == "vi" else term.label_en
    raise KeyError(f"{field}: unknown code {code!r}")
