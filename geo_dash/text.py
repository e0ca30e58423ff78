"""Vietnamese text helpers: diacritic-insensitive keys for names and headers.

Every name match in geo_dash (admin units, column headers, category aliases,
search boxes) goes through :func:`fold` so that "Hải Khê", "hai khe",
"HẢI KHÊ" and the decomposed (NFD) spelling all compare equal.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Unit-type words that precede a Vietnamese admin-unit name.  Longest first so
# "thanh pho" wins over "pho"-like fragments.
UNIT_TYPE_PREFIXES = (
    "thanh pho",
    "thi xa",
    "thi tran",
    "dac khu",
    "huyen",
    "quan",
    "tinh",
    "phuong",
    "xa",
    "tp.",
    "tp",
    "tx.",
    "tx",
    "tt.",
    "tt",
    "h.",
    "q.",
    "p.",
    "x.",
)

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^0-9a-z\s.]")


def fold(text: object) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d), collapse white space.

    >>> fold("  Xã  Hải Khê ")
    'xa hai khe'
    >>> fold("ĐỐI THOẠI") == fold("doi thoai")
    True
    """
    if text is None:
        return ""
    return _fold(str(text))


@functools.lru_cache(maxsize=100_000)
def _fold(text: str) -> str:
    s = unicodedata.normalize("NFD", text)
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    s = s.replace("đ", "d").replace("Đ", "D").lower()
    return _SPACES.sub(" ", s).strip()


def name_key(name: object) -> str:
    """Key for an admin-unit name: folded, unit-type prefix removed, no punctuation.

    Leading zeros of numbered wards are dropped so "Phường 01" matches "Phường 1".

    >>> name_key("Xã Hải Khê") == name_key("hai khe")
    True
    >>> name_key("Thị trấn Gio Linh")
    'gio linh'
    >>> name_key("Phường 01")
    '1'
    """
    s = fold(name)
    for prefix in UNIT_TYPE_PREFIXES:
        if s.startswith(prefix + " ") or (prefix.endswith(".") and s.startswith(prefix)):
            s = s[len(prefix):].strip()
            break
    s = _PUNCT.sub(" ", s).replace(".", " ")
    s = _SPACES.sub(" ", s).strip()
    if s.isdigit():
        s = str(int(s))
    return s
