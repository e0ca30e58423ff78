"""The map page's view state and the compact restyle payload.

View state (the URL's query; every value checked, anything unknown dropped)
    ``scheme``, ``province`` (a code, or ``VN`` for the whole country — national scope only),
    ``district`` (legacy), ``commune`` (selected), ``indicator``, ``month`` (YYYY-MM), ``range``
    (1/3/6/12 months ending with ``month``), ``layer``, ``sensitive`` (overlay), ``points``,
    ``category``/``kind``/``status`` (comma-separated vocabulary codes), ``mass``, ``over``,
    ``sonly`` (sensitive areas only), ``at`` (``lat,lng,zoom`` of the map), ``lang``.

Restyle payload (the communes layer's ``hideout``)
    The polygons carry their position ``i`` in the province's (or country's) feature list; a change
    of indicator, month or filter sends one character per commune — its class (``0``–``9``), ``-``
    no data, ``~`` hidden by the sensitive-only filter — plus the values in the same order and the
    palette: ~2 bytes and a number per commune, never a coordinate.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode

from geo_dash.analytics.cube import MAP_INDICATORS
from geo_dash.cases.read import clean_filters
from geo_dash.web import validate as valid

NATIONAL = "VN"
DEFAULT_PROVINCE = {"legacy": "45", "2025": "44"}  # Quảng Trị
INDICATORS = MAP_INDICATORS
RANGES = (1, 3, 6, 12)
HOT = {"new hot spot", "consecutive hot spot", "intensifying hot spot", "persistent hot spot",
       "diminishing hot spot", "sporadic hot spot", "oscillating hot spot"}


def month_of(value) -> date | None:
    if isinstance(value, str) and len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit():
        y, m = int(value[:4]), int(value[5:])
        if 1990 <= y <= 2100 and 1 <= m <= 12:
            return date(y, m, 1)
    return None


def fmt_month(d: date) -> str:
    return f"{d.month:02d}/{d.year}"


def _codes(value) -> list[str]:
    if not isinstance(value, str):
        return []
    return [v for v in value.split(",") if v and v.isascii() and len(v) <= 40][:20]


def _at(value) -> list[float] | None:
    """``lat,lng,zoom`` inside Vietnam's neighbourhood, or None."""
    try:
        lat, lng, zoom = (float(x) for x in str(value).split(","))
    except (TypeError, ValueError):
        return None
    if 4 <= lat <= 26 and 98 <= lng <= 120 and 3 <= zoom <= 18:
        return [round(lat, 5), round(lng, 5), round(zoom, 2)]
    return None


def province_value(value) -> str | None:
    return NATIONAL if value == NATIONAL else valid.province(value)


def parse_state(query: dict | str | None, layer_ids: set[str] = frozenset()) -> dict:
    """The view state from the URL's query (a dict of parameters or a query string)."""
    if isinstance(query, str) or query is None:
        query = {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items()}
    q = {k: str(v) for k, v in query.items()}
    scheme = valid.scheme(q.get("scheme"))
    try:
        months = int(q.get("range", "1"))
    except ValueError:
        months = 1
    return {
        "scheme": scheme,
        "province": province_value(q.get("province")) or DEFAULT_PROVINCE[scheme],
        "district": valid.code(q.get("district"), (3,)) if scheme == "legacy" else None,
        "commune": valid.commune(q.get("commune")),
        "indicator": q.get("indicator") if q.get("indicator") in INDICATORS else "intensity",
        "month": q.get("month") if month_of(q.get("month")) else None,
        "range": months if months in RANGES else 1,
        "layer": q.get("layer") if q.get("layer") in layer_ids else "",
        "sensitive": q.get("sensitive") == "1",
        "points": q.get("points") == "1",
        "filters": clean_filters({"category": _codes(q.get("category")), "kind": _codes(q.get("kind")),
                                  "status": _codes(q.get("status")), "mass": q.get("mass") == "1",
                                  "over_level": q.get("over") == "1"}),
        "sensitive_only": q.get("sonly") == "1",
        "at": _at(q.get("at")),
        "lang": valid.lang(q.get("lang")),
    }


def view_params(state: dict) -> dict:
    """The URL parameters of a view (defaults left out, so links stay short)."""
    f = state.get("filters") or {}
    out = {"scheme": state["scheme"], "province": state["province"]}
    if state.get("district"):
        out["district"] = state["district"]
    if state.get("commune"):
        out["commune"] = state["commune"]
    out["indicator"] = state.get("indicator") or "intensity"
    if state.get("month"):
        out["month"] = state["month"]
    if state.get("range", 1) != 1:
        out["range"] = str(state["range"])
    if state.get("layer"):
        out["layer"] = state["layer"]
    for key in ("category", "kind", "status"):
        if f.get(key):
            out[key] = ",".join(f[key])
    for key, flag in (("mass", f.get("mass")), ("over", f.get("over_level")), ("sonly", state.get("sensitive_only")),
                      ("sensitive", state.get("sensitive")), ("points", state.get("points"))):
        if flag:
            out[key] = "1"
    if state.get("at"):
        out["at"] = ",".join(f"{x:g}" for x in state["at"])
    out["lang"] = state.get("lang", "vi")
    return out


def view_search(state: dict) -> str:
    return "?" + urlencode(view_params(state))


# --------------------------------------------------------------------------- payload
def class_string(order: list[str], class_of: dict[str, int], hidden: set[str] = frozenset()) -> str:
    """One character per feature, in feature order: its class digit, ``-`` no data, ``~`` hidden."""
    out = []
    for code in order:
        if code in hidden:
            out.append("~")
        else:
            k = class_of.get(code, -1)
            out.append(str(k) if 0 <= k <= 9 else "-")
    return "".join(out)


def value_list(order: list[str], values: dict, digits: int = 1) -> list:
    """Values in feature order, rounded (labels, strings, as they are); ``None`` where there is none."""
    out = []
    for code in order:
        v = values.get(code)
        if isinstance(v, str):  # a registry layer's label, shown as it is
            out.append(v)
        elif v is None or v != v:
            out.append(None)
        else:
            out.append(int(v) if float(v).is_integer() else round(float(v), digits))
    return out


def flag_string(order: list[str], flagged) -> str:
    return "".join("1" if code in flagged else "0" for code in order) if flagged else ""
