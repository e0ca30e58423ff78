"""Checking what a browser sends: callback inputs and URL parameters are untrusted.

Anything not of the expected form becomes ``None`` (or the default) — never an exception,
never a query with a value we did not check.
"""

from __future__ import annotations

SCHEMES = ("legacy", "2025")


def scheme(value, default: str = "legacy") -> str:
    return value if isinstance(value, str) and value in SCHEMES else default


def lang(value) -> str:
    return "en" if value == "en" else "vi"


def code(value, widths: tuple[int, ...] = (2, 3, 5)) -> str | None:
    """A GSO code: ASCII digits of an admin level's width."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) in widths:
        return value
    return None


def province(value) -> str | None:
    return code(value, (2,))


def commune(value) -> str | None:
    return code(value, (5,))


def row_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 2**62:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 18:
        return int(value)
    return None


def selected_id(rows) -> int | None:
    """The id of the first selected grid row, if the payload has that shape."""
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return row_id(rows[0].get("id"))
    return None
