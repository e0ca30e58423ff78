"""Seeded synthetic grievance cases for the demo and the benchmarks.

Everything here is **synthetic**: no row describes a real petition.  Rates,
shares and clusters are calibrated on published aggregates (see
``docs/demo-data.md``); the rows themselves are random draws.  A case is a
matter (vụ việc), never a person: the output has no column for names, ID
numbers, phones or addresses, and ``summary`` is always None.

Model (one call of :func:`generate_cases`)
    1. Units: the legacy communes (the units in force until 2025-06-30, on
       which all historical data sits) of the selected provinces.  Missing or
       zero 2009 populations are replaced by the median of the district's
       communes (then the province's).
    2. Expected monthly count per commune =
       ``base rate × population × mountain factor × commune effect ×
       season × share of the month inside [start, end]``; the commune effect
       is a persistent Gamma(2, ½) draw, normalised per province so that it
       moves cases between communes but not the province total; each
       commune-month also gets a Gamma(3, ⅓) factor.  Counts are Poisson
       given both, i.e. over-dispersed (gamma-Poisson / negative binomial).
    3. The base rate is calibrated so that Quảng Trị's expected total,
       clusters included, is 3,551 / 5 = 710.2 cases a year (the province's
       own report on 2008–2012); every other province gets the same rate
       per head of 2009 population, 0.7× in mountainous districts.
    4. Clusters add a Poisson *excess* on top of the baseline in a few
       communes (``demo_clusters``): historical (×5 the baseline at the
       start, fading with an 8-year e-folding time), emerging (a key-project
       site-clearance surge over the last 4 months, up to ×21) and
       diminishing (a project's compensation grievances: ×9 in January 2020
       rising to ×21 in June 2023, then falling exponentially to ×7 in June
       2025 — still a hot spot, but declining).  The historical excess gets
       a Gamma(3, ⅓) month factor like the baseline; the two project
       clusters' excess is plain Poisson around its curve (see
       :data:`CLUSTER_MONTH_NOISE_SHAPE`).  Excess cases carry their
       cluster's category mix, more mass and over-level petitions, more
       complex and late cases and, for the project clusters, the project's
       name.
    5. Each case's attributes (kind, category, people, level, status,
       dates…) are drawn column-wise with vectorised numpy from tables of
       probabilities defined below.

Reproducibility: one random stream per part — the baseline and each cluster
(:func:`_stream`: PCG64 seeded from ``SeedSequence([seed, crc32(key)])``,
key "baseline" or "cluster:<kind>:<name>") — each drawing its counts, days
and case attributes in a fixed order, so the same seed and inputs give the
identical DataFrame, and changing one cluster's shape (hence its number of
draws) leaves every other part's rows unchanged.  The national benchmark set
(:func:`generate_cases_national`) has no clusters and uses one
``numpy.random.Generator(PCG64(seed))``.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import date
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_dash.text import name_key

__all__ = [
    "DemoDataError",
    "DEMO_PROVINCES",
    "DEMO_START",
    "DEMO_END",
    "SOURCE",
    "COLUMNS",
    "KINDS",
    "CATEGORIES",
    "LAND_CATEGORIES",
    "STATUSES",
    "OPEN_STATUSES",
    "LEVELS",
    "MOUNTAINOUS_DISTRICTS",
    "HISTORICAL_PLACES",
    "EMERGING_CLUSTER",
    "DIMINISHING_CLUSTER",
    "QT_PETITIONS_PER_YEAR",
    "load_bundled_units",
    "mountainous_district_codes",
    "demo_clusters",
    "generate_cases",
    "generate_cases_national",
]


class DemoDataError(ValueError):
    """A named place, district or province of the demo specification is not in the data."""


# --------------------------------------------------------------------------- constants

DEMO_PROVINCES: tuple[str, ...] = ("45", "49", "54", "58", "24")
DEMO_START = date(2020, 1, 1)
DEMO_END = date(2025, 6, 30)
SOURCE = "demo-synthetic"
SCHEME = "legacy"

COLUMNS: tuple[str, ...] = (
    "external_ref",
    "source",
    "received_date",
    "kind",
    "category",
    "people_count",
    "is_mass",
    "is_over_level",
    "status",
    "handling_level",
    "is_complex",
    "deadline_date",
    "resolved_date",
    "dialogue_dates",
    "project_name",
    "summary",
    "commune_code",
    "scheme",
    "lon",
    "lat",
    "is_synthetic",
)

KINDS: tuple[str, ...] = ("khieu_nai", "to_cao", "kien_nghi_phan_anh")
CATEGORIES: tuple[str, ...] = (
    "dat_dai_thu_hoi",
    "dat_dai_tranh_chap",
    "moi_truong",
    "tai_nguyen_khoang_san",
    "che_do_chinh_sach",
    "can_bo_cong_chuc",
    "khac",
)
LAND_CATEGORIES: tuple[str, ...] = ("dat_dai_thu_hoi", "dat_dai_tranh_chap")
STATUSES: tuple[str, ...] = ("tiep_nhan", "dang_giai_quyet", "da_giai_quyet", "khong_thu_ly", "rut_don")
OPEN_STATUSES: tuple[str, ...] = ("tiep_nhan", "dang_giai_quyet")
LEVELS: tuple[str, ...] = ("xa", "huyen", "tinh", "trung_uong")

# Quảng Trị, report on 2008–2012: 3,551 petitions received in five years.
QT_PROVINCE = "45"
QT_PETITIONS_2008_2012 = 3551
QT_PETITIONS_PER_YEAR = QT_PETITIONS_2008_2012 / 5  # 710.2

MOUNTAIN_RATE_FACTOR = 0.7
COMMUNE_EFFECT_SHAPE = 2.0  # persistent commune effect, Gamma(k, 1/k): CV 0.71
MONTH_NOISE_SHAPE = 3.0  # commune-month factor, Gamma(k, 1/k): CV 0.58
NATIONAL_EFFECT_SHAPE = 1.0  # national benchmark: heavier skew (exponential effect)
POINT_SHARE = 0.30  # share of cases with a point (lon/lat) inside their commune

# Month-of-year factors (mean 1): fewer petitions around Tết (Jan/Feb).
SEASON = np.array([1.00, 0.76, 1.06, 1.04, 1.04, 1.00, 0.98, 1.00, 1.00, 1.04, 1.04, 1.04])
SEASON = SEASON / SEASON.mean()
# COVID-19 social distancing (nationwide April 2020; Directive 16 in many provinces Aug–Sep 2021).
COVID_FACTORS = {(2020, 4): 0.6, (2021, 8): 0.8, (2021, 9): 0.8}

# Law on Complaints 2011, art. 28: 30 days, 45 if complex; +15 in remote areas.
DEADLINE_DAYS = 30
DEADLINE_COMPLEX_DAYS = 45
DEADLINE_REMOTE_EXTRA = 15
ACCEPTANCE_DAYS = 10  # art. 27: accept (thụ lý) or refuse within 10 days

MOUNTAINOUS_DISTRICTS: dict[str, tuple[str, ...]] = {
    "45": ("Hướng Hóa", "Đa Krông"),
    "49": ("Nam Giang", "Tây Giang", "Đông Giang", "Phước Sơn", "Nam Trà My", "Bắc Trà My"),
    "54": ("Sơn Hòa", "Sông Hinh", "Đồng Xuân"),
    "58": ("Bác Ái", "Ninh Sơn"),
    "24": ("Sơn Động", "Lục Ngạn"),
}

# Named complex cases of Quảng Trị's 2008–2012 report: (place, district, province).
HISTORICAL_PLACES: tuple[tuple[str, str, str], ...] = (
    ("Vĩnh Hòa", "Vĩnh Linh", "45"),
    ("Vĩnh Thái", "Vĩnh Linh", "45"),
    ("Trung Giang", "Gio Linh", "45"),
    ("Hải Khê", "Hải Lăng", "45"),
    ("Cam An", "Cam Lộ", "45"),
    ("Gio Châu", "Gio Linh", "45"),
)
EMERGING_CLUSTER = {
    "name": "Khu công nghiệp Nam Núi Thành (demo)",
    "province": "49",
    "district": "Núi Thành",
    "communes": ("Tam Anh Bắc", "Tam Anh Nam", "Tam Hòa"),
    "project_name": "Dự án Khu công nghiệp Nam Núi Thành (demo)",
    "description_vi": (
        "Cụm mới nổi (dữ liệu giả lập): khiếu nại, kiến nghị về thu hồi đất, bồi thường, GPMB của một dự án "
        "trọng điểm tăng mạnh trong 4 tháng cuối kỳ, có đơn đông người."
    ),
}
DIMINISHING_CLUSTER = {
    "name": "Khu đô thị Bắc Quang Châu (demo)",
    "province": "24",
    "district": "Việt Yên",
    "communes": ("Quang Châu", "Vân Trung", "Nếnh"),
    "project_name": "Dự án Khu đô thị Bắc Quang Châu (demo)",
    "description_vi": (
        "Cụm giảm dần (dữ liệu giả lập): đơn thư về bồi thường, tái định cư của một dự án, tăng trong thời gian "
        "GPMB, cao nhất giữa năm 2023 khi bàn giao mặt bằng, từ đó giảm dần nhưng vẫn cao hơn hẳn mức nền."
    ),
}
HISTORICAL_DESCRIPTION_VI = (
    "Địa bàn có vụ việc phức tạp, kéo dài được nêu trong báo cáo 2008–2012 của tỉnh Quảng Trị; "
    "dữ liệu giả lập đặt mức đơn thư cao, kéo dài suốt kỳ và giảm chậm."
)

# Cluster intensity (excess over the commune's own baseline rate).
HISTORICAL_EXCESS = 4.0  # ×5 at the start
HISTORICAL_EFOLD_YEARS = 8.0  # → about ×3 after 5.5 years
EMERGING_EXCESS = 20.0  # up to ×21 in the last month …
EMERGING_RAMP_MONTHS = 4  # … rising as ((t − t₀) / 4)^1.5 over the last 4 months, no excess before
EMERGING_RAMP_POWER = 1.5
# Diminishing: by calendar month, rising linearly from ×9 in January 2020 to ×21 in June 2023 (the
# peak, when the cleared land is handed over), then falling exponentially to ×7 in June 2025.
DIMINISHING_EXCESS_START = 8.0
DIMINISHING_EXCESS_PEAK = 20.0
DIMINISHING_EXCESS_END = 6.0
DIMINISHING_START_MONTH = date(2020, 1, 1)
DIMINISHING_PEAK_MONTH = date(2023, 6, 1)
DIMINISHING_END_MONTH = date(2025, 6, 1)
# Month-to-month Gamma(k, 1/k) factor on each cluster's excess; None = none (plain Poisson around
# the curve).  A project cluster's grievances come from a fixed group of affected households going
# through site clearance, compensation and resettlement at the pace of the project, so the two
# project clusters get none.  A modelling choice made for the demo's story: with the Gamma(3)
# factor, EHSA calls the diminishing cluster "diminishing/historical" for only about half of the
# seeds, and all three emerging communes get an early-warning alert less often (see docs/demo-data.md).
CLUSTER_MONTH_NOISE_SHAPE: dict[str, float | None] = {
    "historical": MONTH_NOISE_SHAPE,
    "emerging": None,
    "diminishing": None,
}

# Profiles: 0 baseline, 1 historical cluster, 2 emerging project, 3 diminishing project.
P_BASE, P_HIST, P_EMERG, P_DIMIN = 0, 1, 2, 3
#                        thu_hoi tranh_chap moi_truong tai_nguyen che_do can_bo khac
CATEGORY_P = np.array(
    [
        [0.30, 0.25, 0.09, 0.05, 0.15, 0.07, 0.09],
        [0.45, 0.40, 0.03, 0.02, 0.05, 0.03, 0.02],
        [1.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],
        [0.60, 0.30, 0.10, 0.00, 0.00, 0.00, 0.00],
    ]
)
#                   khieu_nai to_cao kien_nghi_phan_anh   (by category)
KIND_P = np.array(
    [
        [0.55, 0.05, 0.40],
        [0.35, 0.05, 0.60],
        [0.10, 0.10, 0.80],
        [0.15, 0.25, 0.60],
        [0.45, 0.05, 0.50],
        [0.15, 0.60, 0.25],
        [0.15, 0.10, 0.75],
    ]
)
#                   xa    huyen tinh  trung_uong   (by category)
LEVEL_P = np.array(
    [
        [0.10, 0.60, 0.27, 0.03],
        [0.55, 0.35, 0.09, 0.01],
        [0.35, 0.45, 0.18, 0.02],
        [0.25, 0.50, 0.23, 0.02],
        [0.40, 0.40, 0.18, 0.02],
        [0.35, 0.40, 0.22, 0.03],
        [0.50, 0.35, 0.13, 0.02],
    ]
)
MASS_P_LAND, MASS_P_OTHER = 0.07, 0.03
MASS_P_PROFILE = np.array([np.nan, 0.15, 0.35, 0.20])  # NaN: by category
OVER_LEVEL_P = np.array([0.04, 0.08, 0.10, 0.08])
OVER_LEVEL_MASS_EXTRA = 0.12
COMPLEX_P = np.array([0.10, 0.30, 0.35, 0.25])
COMPLEX_LAND_EXTRA, COMPLEX_MASS_EXTRA = 0.10, 0.25
NOT_ACCEPTED_P = np.array([0.08, 0.05, 0.05, 0.05])  # khong_thu_ly
WITHDRAWN_P = np.array([0.03, 0.02, 0.02, 0.03])  # rut_don
LATE_P = np.array([0.03, 0.15, 0.35, 0.10])
LATE_MASS_EXTRA = 0.05
LATE_SCALE_DAYS = np.array([25.0, 90.0, 90.0, 60.0])  # exponential overrun beyond the deadline
DIALOGUE_P_LAND, DIALOGUE_P_LAND_COMPLAINT, DIALOGUE_P_MASS, DIALOGUE_P_OTHER = 0.25, 0.45, 0.70, 0.02


# --------------------------------------------------------------------------- units


def _bundle_path(path: str | Path | None) -> Path:
    if path is None:
        from geo_dash.boundaries.bundle import BUNDLE_NAME
        from geo_dash.config import BOUNDARIES_DIR

        return BOUNDARIES_DIR / BUNDLE_NAME
    p = Path(path)
    if p.is_dir():
        from geo_dash.boundaries.bundle import BUNDLE_NAME

        p = p / BUNDLE_NAME
    return p


def load_bundled_units(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Legacy communes of the bundled GeoPackage with ``district_name`` and ``province_name``.

    ``path``: the ``.gpkg`` or its folder (default ``data/boundaries``).
    """
    gpkg = _bundle_path(path)
    if not gpkg.exists():
        raise DemoDataError(f"không tìm thấy dữ liệu ranh giới (bundle not found): {gpkg}")
    communes = pyogrio.read_dataframe(gpkg, layer="legacy_communes")
    districts = pyogrio.read_dataframe(gpkg, layer="legacy_districts", read_geometry=False)
    provinces = pyogrio.read_dataframe(gpkg, layer="legacy_provinces", read_geometry=False)
    dname = dict(zip(districts["code"], districts["name"]))
    pname = dict(zip(provinces["code"], provinces["name"]))
    communes["district_name"] = communes["parent_code"].map(dname)
    communes["province_name"] = communes["province_code"].map(pname)
    return communes


def _district_table(units: pd.DataFrame) -> pd.DataFrame:
    """District code, name, province code: from ``units.district_name`` or the bundled layer."""
    if "district_name" in units.columns:
        t = units[["parent_code", "district_name", "province_code"]].dropna(subset=["district_name"])
        t = t.drop_duplicates("parent_code").rename(columns={"parent_code": "code", "district_name": "name"})
    else:
        t = pyogrio.read_dataframe(_bundle_path(None), layer="legacy_districts", read_geometry=False)
        t = t[["code", "name", "province_code"]]
    t = t.reset_index(drop=True)
    t["key"] = t["name"].map(name_key)
    return t


def _resolve_district(districts: pd.DataFrame, province: str, name: str) -> tuple[str, str]:
    hit = districts[(districts["province_code"] == province) & (districts["key"] == name_key(name))]
    if len(hit) != 1:
        raise DemoDataError(
            f"huyện '{name}' của tỉnh {province}: {len(hit)} kết quả, cần đúng 1 "
            f"(district '{name}' of province {province}: {len(hit)} matches, expected exactly 1)"
        )
    return str(hit["code"].iloc[0]), str(hit["name"].iloc[0])


@lru_cache(maxsize=64)
def _ward_aliases(district_code: str) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """(wardCode, ward, alias keys) of the legacy wards of a district with predecessor names."""
    if not re.fullmatch(r"\d{3}", district_code):
        raise DemoDataError(f"mã huyện không hợp lệ (bad district code): {district_code!r}")
    from vietnamadminunits.database import query

    rows = query(
        "SELECT wardCode, ward, wardAlias FROM admin_units_legacy "
        f"WHERE districtCode = '{district_code}' AND wardAlias IS NOT NULL"
    )
    return tuple((r["wardCode"], r["ward"], frozenset(json.loads(r["wardAlias"]))) for r in rows)


def _resolve_commune(units: pd.DataFrame, keys: pd.Series, district: str, name: str) -> dict:
    """Commune of ``district`` named ``name`` — or, if gone, the commune that absorbed it.

    Predecessors come from vietnamadminunits' ``wardAlias`` (keys of former
    names, e.g. ``"caman"``); the absorbing commune must exist in ``units``.
    """
    key = name_key(name)
    in_district = units["parent_code"] == district
    hit = units[in_district & (keys == key)]
    if len(hit) == 1:
        return {"code": str(hit["code"].iloc[0]), "name": str(hit["name"].iloc[0]), "former_name": None}
    if len(hit) > 1:
        raise DemoDataError(f"xã '{name}' trùng tên trong huyện {district} (ambiguous commune name in {district})")
    alias = key.replace(" ", "")
    absorbing = [(code, ward) for code, ward, aliases in _ward_aliases(district) if alias in aliases]
    if len(absorbing) != 1:
        raise DemoDataError(
            f"không tìm thấy xã '{name}' trong huyện {district}, kể cả tên cũ ({len(absorbing)} kết quả) "
            f"(commune '{name}' not found in district {district}, nor as a former name)"
        )
    code, ward = absorbing[0]
    row = units[in_district & (units["code"] == code)]
    if len(row) != 1 or name_key(row["name"].iloc[0]) != name_key(ward):
        raise DemoDataError(
            f"xã '{ward}' ({code}) đã sáp nhập '{name}' nhưng không có trong dữ liệu ranh giới của huyện {district} "
            f"(absorbing commune {code} not in the boundary data)"
        )
    return {"code": code, "name": str(row["name"].iloc[0]), "former_name": name}


def mountainous_district_codes(units: pd.DataFrame, provinces=DEMO_PROVINCES) -> dict[str, str]:
    """Resolved :data:`MOUNTAINOUS_DISTRICTS` of ``provinces``: {district code: official name}.

    Raises :class:`DemoDataError` if a listed district is not found by name.
    """
    districts = _district_table(units)
    out: dict[str, str] = {}
    for prov in provinces:
        for name in MOUNTAINOUS_DISTRICTS.get(prov, ()):
            code, official = _resolve_district(districts, prov, name)
            out[code] = official
    return dict(sorted(out.items()))


def demo_clusters(units: pd.DataFrame, provinces=DEMO_PROVINCES) -> list[dict]:
    """The demo's clusters, every place resolved by name in the data (fails loudly if one is missing).

    Each dict: ``name``, ``kind`` ("historical" | "emerging" | "diminishing"),
    ``commune_codes``, ``commune_names``, ``former_names`` (per commune: the
    named place it absorbed, or None), ``district_code``, ``district_name``,
    ``province_code``, ``project_name`` (or None), ``description_vi``.
    """
    districts = _district_table(units)
    keys = units["name"].map(name_key)
    out: list[dict] = []

    def make(kind, name, prov, dist_name, places, project, description):
        dcode, dname = _resolve_district(districts, prov, dist_name)
        res = [_resolve_commune(units, keys, dcode, p) for p in places]
        return {
            "name": name,
            "kind": kind,
            "commune_codes": [r["code"] for r in res],
            "commune_names": [r["name"] for r in res],
            "former_names": [r["former_name"] for r in res],
            "district_code": dcode,
            "district_name": dname,
            "province_code": prov,
            "project_name": project,
            "description_vi": description,
        }

    for place, dist, prov in HISTORICAL_PLACES:
        if prov not in provinces:
            continue
        c = make("historical", f"{place} ({dist})", prov, dist, [place], None, HISTORICAL_DESCRIPTION_VI)
        if c["former_names"][0]:
            c["name"] = f"{place} → {c['commune_names'][0]} ({dist})"
        out.append(c)
    for kind, spec in (("emerging", EMERGING_CLUSTER), ("diminishing", DIMINISHING_CLUSTER)):
        if spec["province"] in provinces:
            out.append(
                make(kind, spec["name"], spec["province"], spec["district"], spec["communes"],
                     spec["project_name"], spec["description_vi"])
            )
    return out


def _prepare(units: pd.DataFrame) -> pd.DataFrame:
    """Units sorted by code with an effective population (zero/missing → district, province median)."""
    for col in ("code", "name", "parent_code", "province_code", "population"):
        if col not in units.columns:
            raise DemoDataError(f"thiếu cột '{col}' trong bảng đơn vị (units lack column '{col}')")
    u = units.sort_values("code", kind="stable").reset_index(drop=True)
    pop = pd.to_numeric(u["population"], errors="coerce").astype("float64")
    pos = pop.where(pop > 0)
    fill = pos.groupby(u["parent_code"]).transform("median")
    fill = fill.fillna(pos.groupby(u["province_code"]).transform("median"))
    fill = fill.fillna(pos.median() if pos.notna().any() else 1000.0)
    u["pop_eff"] = pos.fillna(fill).to_numpy()
    return u


# --------------------------------------------------------------------------- time axis


def _months(start: date, end: date):
    """Month starts, first/last day inside [start, end] (datetime64[D]) and exposure fraction."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    m = np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 1)
    m_first = m.astype("datetime64[D]")
    m_next = (m + 1).astype("datetime64[D]")
    first = np.maximum(m_first, np.datetime64(start, "D"))
    last = np.minimum(m_next - 1, np.datetime64(end, "D"))
    ndays = (last - first).astype(np.int64) + 1
    exposure = ndays / (m_next - m_first).astype(np.int64)
    years = m.astype("datetime64[Y]").astype(np.int64) + 1970
    moy = m.astype(np.int64) % 12
    factor = SEASON[moy] * exposure
    for (y, mo), f in COVID_FACTORS.items():
        factor = np.where((years == y) & (moy == mo - 1), factor * f, factor)
    return first, ndays, factor


def _cluster_shapes(n_months: int, months_first: np.ndarray, start: date) -> dict[str, np.ndarray]:
    t = np.arange(n_months, dtype=np.float64)
    years_since_start = (months_first - np.datetime64(start, "D")).astype(np.int64) / 365.25
    ramp_start = n_months - EMERGING_RAMP_MONTHS
    ramp = np.clip((t - ramp_start + 1) / EMERGING_RAMP_MONTHS, 0.0, 1.0) ** EMERGING_RAMP_POWER
    # diminishing: calendar months since DIMINISHING_START_MONTH (the same curve whatever start/end)
    cal = (months_first.astype("datetime64[M]") - np.datetime64(DIMINISHING_START_MONTH, "M")).astype(np.float64)
    peak = float((np.datetime64(DIMINISHING_PEAK_MONTH, "M") - np.datetime64(DIMINISHING_START_MONTH, "M")).astype(int))
    last = float((np.datetime64(DIMINISHING_END_MONTH, "M") - np.datetime64(DIMINISHING_PEAK_MONTH, "M")).astype(int))
    rising = DIMINISHING_EXCESS_START + (DIMINISHING_EXCESS_PEAK - DIMINISHING_EXCESS_START) * np.clip(cal / peak, 0, 1)
    falling = DIMINISHING_EXCESS_PEAK * (DIMINISHING_EXCESS_END / DIMINISHING_EXCESS_PEAK) ** ((cal - peak) / last)
    diminishing = np.where(cal <= peak, rising, falling)
    return {
        "historical": HISTORICAL_EXCESS * np.exp(-years_since_start / HISTORICAL_EFOLD_YEARS),
        "emerging": EMERGING_EXCESS * ramp,
        "diminishing": diminishing,
    }


# --------------------------------------------------------------------------- case attributes


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n × k), by inverse CDF."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] >= cum).sum(axis=1)


def _to_dates(days: np.ndarray) -> np.ndarray:
    """datetime64[D] → object array of ``datetime.date`` (NaT → None)."""
    return days.astype("datetime64[D]").astype(object)


def _points(rng, geoms: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uniform random point inside ``geoms[idx[i]]`` for every i (NaN for missing geometry).

    Rejection sampling in the bounding box, vectorised over all points; after
    200 rounds the few left (none in practice) get the polygon's representative point.
    """
    n = len(idx)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    ok_geom = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    todo = np.flatnonzero(ok_geom[idx])
    if len(todo) == 0:
        return lon, lat
    used = np.unique(idx[todo])
    shapely.prepare(geoms[used])
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[used] = shapely.bounds(geoms[used])
    for _ in range(200):
        if len(todo) == 0:
            break
        b = bounds[idx[todo]]
        x = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(geoms[idx[todo]], x, y)
        hit = todo[inside]
        lon[hit] = x[inside]
        lat[hit] = y[inside]
        todo = todo[~inside]
    if len(todo):
        rp = shapely.point_on_surface(geoms[idx[todo]])
        lon[todo] = shapely.get_x(rp)
        lat[todo] = shapely.get_y(rp)
    return lon, lat


def _draw_cases(
    rng: np.random.Generator,
    cidx: np.ndarray,
    received: np.ndarray,
    profile: np.ndarray,
    project: np.ndarray,
    mountain: np.ndarray,
    end: date,
    geoms: np.ndarray,
) -> dict:
    """Attributes of every case, column-wise, all from ``rng``, in input order (unsorted).

    ``received`` is datetime64[D], ``cidx`` indexes the units.  Dialogues are
    returned as (``dlg_owner`` = row, ``dlg_day``) pairs.
    """
    n = len(cidx)
    end_d = np.datetime64(end, "D")

    # category, kind, people
    cat = _pick(rng, CATEGORY_P[profile])
    kind = _pick(rng, KIND_P[cat])
    land = cat <= 1
    p_mass = np.where(profile == P_BASE, np.where(land, MASS_P_LAND, MASS_P_OTHER), MASS_P_PROFILE[profile])
    mass = rng.random(n) < p_mass
    big = 5 + rng.negative_binomial(1, 0.08, n)  # mass: 5 + geometric tail (mean ≈ 16)
    small = 1 + (rng.random(n) < 0.15) * rng.integers(1, 4, n)  # 85 % one person, else 2–4
    people = np.where(mass, np.minimum(big, 500), small).astype(np.int64)

    # over level, handling level, complexity
    over = rng.random(n) < OVER_LEVEL_P[profile] + OVER_LEVEL_MASS_EXTRA * mass
    level = _pick(rng, LEVEL_P[cat])
    level = np.where(over, np.minimum(level + 1, 3), level)
    complex_ = rng.random(n) < COMPLEX_P[profile] + COMPLEX_LAND_EXTRA * land + COMPLEX_MASS_EXTRA * mass

    # deadline (Law on Complaints art. 28)
    allowed = np.where(complex_, DEADLINE_COMPLEX_DAYS, DEADLINE_DAYS) + DEADLINE_REMOTE_EXTRA * mountain[cidx]
    deadline = received + allowed.astype("timedelta64[D]")

    # outcome and its date
    r = rng.random(n)
    not_accepted = r < NOT_ACCEPTED_P[profile]
    withdrawn = ~not_accepted & (r < NOT_ACCEPTED_P[profile] + WITHDRAWN_P[profile])
    late = rng.random(n) < LATE_P[profile] + LATE_MASS_EXTRA * mass
    on_time_days = np.ceil(allowed * rng.beta(3.0, 1.6, n))
    late_days = allowed + 1 + np.floor(rng.exponential(1.0, n) * LATE_SCALE_DAYS[profile])
    resolve_days = np.where(late, late_days, np.maximum(on_time_days, 1))
    refuse_days = rng.integers(1, ACCEPTANCE_DAYS + 1, n)
    withdraw_days = 3 + np.floor(rng.random(n) * (allowed - 3))
    duration = np.where(not_accepted, refuse_days, np.where(withdrawn, withdraw_days, resolve_days)).astype(np.int64)
    closed_on = received + duration.astype("timedelta64[D]")
    closed = closed_on <= end_d
    age = (end_d - received).astype(np.int64)
    status = np.where(
        closed,
        np.where(not_accepted, 3, np.where(withdrawn, 4, 2)),
        np.where(age < ACCEPTANCE_DAYS, 0, 1),
    )
    resolved = np.where(closed, closed_on, np.datetime64("NaT", "D"))

    # dialogues (đối thoại): dates in (received, resolved or end]
    window = np.where(closed, duration, age)
    p_dlg = np.where(
        mass,
        DIALOGUE_P_MASS,
        np.where(land, np.where(kind == 0, DIALOGUE_P_LAND_COMPLAINT, DIALOGUE_P_LAND), DIALOGUE_P_OTHER),
    )
    has_dlg = (rng.random(n) < p_dlg) & (window >= 1) & (status != 3)
    n_dlg = 1 + (rng.random(n) < 0.30) + (rng.random(n) < 0.08)
    owners = np.repeat(np.flatnonzero(has_dlg), n_dlg[has_dlg])
    dlg_days = received[owners] + (1 + np.floor(rng.random(len(owners)) * window[owners])).astype("timedelta64[D]")

    # points inside the commune polygon
    with_point = rng.random(n) < POINT_SHARE
    sel = np.flatnonzero(with_point)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[sel], lat[sel] = _points(rng, geoms, cidx[sel])

    return {
        "cidx": cidx, "received": received, "kind": kind, "cat": cat, "people": people, "over": over,
        "status": status, "level": level, "complex": complex_, "deadline": deadline, "resolved": resolved,
        "project": np.asarray(project, dtype=object), "lon": lon, "lat": lat,
        "dlg_owner": owners, "dlg_day": dlg_days,
    }


def _assemble(parts: list[dict], u: pd.DataFrame, ref_prefix: str) -> pd.DataFrame:
    """One DataFrame of :data:`COLUMNS` from the drawn ``parts``, sorted and numbered.

    Rows are ordered by received date, then commune (a stable sort: ties keep
    the order of ``parts``); references are numbered per province in that order.
    """
    offsets = np.cumsum([0] + [len(p["cidx"]) for p in parts])
    cat_ = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k not in ("dlg_owner", "dlg_day")}
    owners = np.concatenate([p["dlg_owner"] + off for p, off in zip(parts, offsets)])
    dlg_days = np.concatenate([p["dlg_day"] for p in parts])
    cidx, received = cat_["cidx"], cat_["received"]
    n = len(cidx)

    # order: by received date, then commune; references numbered per province in that order
    order = np.lexsort((cidx, received))
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)

    codes = u["code"].to_numpy(dtype=object)
    provs = u["province_code"].to_numpy(dtype=object)
    prov_sorted = provs[cidx[order]]
    seq = pd.Series(prov_sorted).groupby(prov_sorted, sort=False).cumcount().to_numpy() + 1
    refs = [f"{ref_prefix}-{p}-{s:06d}" for p, s in zip(prov_sorted, seq)]

    # dialogue lists, in row order
    dlg_lists = np.empty(n, dtype=object)
    dlg_lists[:] = [[] for _ in range(n)]
    if len(owners):
        o_rows = inv[owners]
        key = np.lexsort((dlg_days, o_rows))
        o_rows, dd = o_rows[key], dlg_days[key]
        keep = np.ones(len(o_rows), dtype=bool)
        keep[1:] = (o_rows[1:] != o_rows[:-1]) | (dd[1:] != dd[:-1])
        o_rows, dd = o_rows[keep], _to_dates(dd[keep])
        rows_u, first = np.unique(o_rows, return_index=True)
        for row, part in zip(rows_u, np.split(dd, first[1:])):
            dlg_lists[row] = part.tolist()

    def o(key):
        return cat_[key][order]

    people = o("people")
    frame = {
        "external_ref": pd.array(refs, dtype="str"),
        "source": pd.array(np.full(n, SOURCE, dtype=object), dtype="str"),
        "received_date": _to_dates(o("received")),
        "kind": pd.array(np.array(KINDS, dtype=object)[o("kind")], dtype="str"),
        "category": pd.array(np.array(CATEGORIES, dtype=object)[o("cat")], dtype="str"),
        "people_count": people,
        "is_mass": people >= 5,
        "is_over_level": o("over"),
        "status": pd.array(np.array(STATUSES, dtype=object)[o("status")], dtype="str"),
        "handling_level": pd.array(np.array(LEVELS, dtype=object)[o("level")], dtype="str"),
        "is_complex": o("complex"),
        "deadline_date": _to_dates(o("deadline")),
        "resolved_date": _to_dates(o("resolved")),
        "dialogue_dates": dlg_lists,
        "project_name": pd.Series(o("project"), dtype=object),
        "summary": pd.Series(np.full(n, None, dtype=object), dtype=object),
        "commune_code": pd.array(codes[o("cidx")], dtype="str"),
        "scheme": pd.array(np.full(n, SCHEME, dtype=object), dtype="str"),
        "lon": o("lon"),
        "lat": o("lat"),
        "is_synthetic": np.ones(n, dtype=bool),
    }
    df = pd.DataFrame(frame)
    for col in ("received_date", "deadline_date", "resolved_date", "dialogue_dates"):
        df[col] = df[col].astype(object)
    return df[list(COLUMNS)]


def _geoms(u: pd.DataFrame) -> np.ndarray:
    if "geometry" in u.columns:
        return np.asarray(gpd.GeoSeries(u["geometry"]).values, dtype=object)
    return np.full(len(u), None, dtype=object)


def _stream(seed: int, key: str) -> np.random.Generator:
    """The random stream of one part of the demo: ``key`` is "baseline" or "cluster:<kind>:<name>".

    PCG64 seeded from ``SeedSequence([seed, crc32(key)])``: the parts' streams are independent, so
    changing one cluster's shape (hence its number of draws) never changes another part's rows.
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    entropy = [int(seed), zlib.crc32(key.encode("utf-8"))]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def _expand(
    rng: np.random.Generator,
    units_idx: np.ndarray,
    counts: np.ndarray,
    profile: int,
    project: str | None,
    months_first: np.ndarray,
    ndays: np.ndarray,
    mountain: np.ndarray,
    end: date,
    geoms: np.ndarray,
) -> dict:
    """Cases from a (unit × month) count matrix: a uniform day in the month, then their attributes."""
    n_u, n_m = counts.shape
    cc, mm = np.divmod(np.arange(n_u * n_m), n_m)
    flat = counts.ravel()
    c_idx, m_idx = np.repeat(cc, flat), np.repeat(mm, flat)
    day = np.floor(rng.random(len(c_idx)) * ndays[m_idx]).astype(np.int64)
    received = months_first[m_idx] + day.astype("timedelta64[D]")
    n = len(c_idx)
    prof = np.full(n, profile, dtype=np.int64)
    proj = np.full(n, project, dtype=object)
    return _draw_cases(rng, units_idx[c_idx], received, prof, proj, mountain, end, geoms)


# --------------------------------------------------------------------------- generators


def generate_cases(
    units: gpd.GeoDataFrame,
    *,
    seed: int = 2025,
    start: date = DEMO_START,
    end: date = DEMO_END,
    provinces=DEMO_PROVINCES,
) -> pd.DataFrame:
    """Synthetic cases on the legacy communes of ``provinces`` from ``start`` to ``end`` (inclusive).

    ``units``: the ``legacy_communes`` layer (e.g. :func:`load_bundled_units`).
    Returns one row per case with :data:`COLUMNS`, sorted by received date.
    """
    provinces = tuple(str(p).zfill(2) for p in provinces)
    u = _prepare(units)
    missing = [p for p in provinces if not (u["province_code"] == p).any()]
    if missing:
        raise DemoDataError(f"không có xã nào của tỉnh {missing} (no communes for provinces {missing})")
    base_rng = _stream(seed, "baseline")

    mountain_codes = mountainous_district_codes(units, [p for p in DEMO_PROVINCES if (u["province_code"] == p).any()])
    mountain_all = u["parent_code"].isin(list(mountain_codes)).to_numpy()
    clusters_all = demo_clusters(units, provinces=tuple(p for p in DEMO_PROVINCES if (u["province_code"] == p).any()))

    months_first, ndays, month_factor = _months(start, end)
    n_m = len(months_first)
    shapes = _cluster_shapes(n_m, months_first, start)

    code_pos = {c: i for i, c in enumerate(u["code"])}
    in_any_cluster = np.zeros(len(u), dtype=bool)
    for c in clusters_all:
        for code in c["commune_codes"]:
            in_any_cluster[code_pos[code]] = True
    weight = u["pop_eff"].to_numpy() * np.where(mountain_all, MOUNTAIN_RATE_FACTOR, 1.0)

    # base rate per person-month: Quảng Trị's expected yearly total (clusters included) = 710.2
    mean_factor = month_factor.sum() / n_m
    qt = (u["province_code"] == QT_PROVINCE).to_numpy()
    if qt.any():
        excess_qt = sum(
            weight[code_pos[code]] * (shapes[c["kind"]] * month_factor).sum() / month_factor.sum()
            for c in clusters_all
            if c["province_code"] == QT_PROVINCE
            for code in c["commune_codes"]
        )
        rate = QT_PETITIONS_PER_YEAR / 12 / mean_factor / (weight[qt].sum() + excess_qt)
    else:
        rate = QT_PETITIONS_PER_YEAR / 12 / mean_factor / 577_268.0
    geoms = _geoms(u)

    # baseline: every commune of the selected provinces, from the baseline stream
    sel = np.flatnonzero(u["province_code"].isin(provinces).to_numpy())
    n_c = len(sel)
    w = weight[sel]
    in_cluster = in_any_cluster[sel]
    effect = base_rng.gamma(COMMUNE_EFFECT_SHAPE, 1.0 / COMMUNE_EFFECT_SHAPE, n_c)
    effect[in_cluster] = 1.0  # the clusters' elevation is their own, not noise
    prov_sel = u["province_code"].to_numpy()[sel]
    for p in provinces:
        m = (prov_sel == p) & ~in_cluster
        if m.any():
            effect[m] *= w[m].sum() / (w[m] * effect[m]).sum()
    lam_base = rate * (w * effect)[:, None] * month_factor[None, :]
    noise = base_rng.gamma(MONTH_NOISE_SHAPE, 1.0 / MONTH_NOISE_SHAPE, (n_c, n_m))
    counts_base = base_rng.poisson(lam_base * noise)
    parts = [
        _expand(base_rng, sel, counts_base, P_BASE, None, months_first, ndays, mountain_all, end, geoms)
    ]

    # clusters: a Poisson excess over the commune's own baseline rate, each from its own stream
    kind_profile = {"historical": P_HIST, "emerging": P_EMERG, "diminishing": P_DIMIN}
    keys = ["baseline"] + [f"cluster:{c['kind']}:{c['name']}" for c in clusters_all]
    if len({zlib.crc32(k.encode("utf-8")) for k in keys}) != len(keys):
        raise DemoDataError(f"two parts of the demo would share a random stream: {keys}")
    for c, key in zip(clusters_all, keys[1:]):
        if c["province_code"] not in provinces:
            continue
        crng = _stream(seed, key)
        idx = np.array([code_pos[code] for code in c["commune_codes"]])
        lam_ex = rate * weight[idx][:, None] * (month_factor * shapes[c["kind"]])[None, :]
        k = CLUSTER_MONTH_NOISE_SHAPE[c["kind"]]
        if k is not None:
            lam_ex = lam_ex * crng.gamma(k, 1.0 / k, lam_ex.shape)
        counts_ex = crng.poisson(lam_ex)
        parts.append(_expand(crng, idx, counts_ex, kind_profile[c["kind"]], c["project_name"],
                             months_first, ndays, mountain_all, end, geoms))
    return _assemble(parts, u, "DEMO")


def generate_cases_national(
    units: gpd.GeoDataFrame,
    n_cases: int = 1_000_000,
    seed: int = 2025,
    *,
    start: date = DEMO_START,
    end: date = DEMO_END,
) -> pd.DataFrame:
    """``n_cases`` synthetic cases over *all* communes of ``units`` (benchmarks), same columns.

    Communes are drawn multinomially with weight population × Exponential(1)
    effect (0.7× in the listed mountainous districts), months ∝ season,
    days uniform; no clusters.  References are ``DEMO-NAT-<province>-<n>``.
    """
    if n_cases < 0:
        raise ValueError("n_cases must be ≥ 0")
    u = _prepare(units)
    rng = np.random.Generator(np.random.PCG64(seed))
    present = tuple(p for p in DEMO_PROVINCES if (u["province_code"] == p).any())
    mountain_all = u["parent_code"].isin(list(mountainous_district_codes(units, present))).to_numpy()
    w = u["pop_eff"].to_numpy() * np.where(mountain_all, MOUNTAIN_RATE_FACTOR, 1.0)
    w = w * rng.gamma(NATIONAL_EFFECT_SHAPE, 1.0 / NATIONAL_EFFECT_SHAPE, len(u))
    counts = rng.multinomial(n_cases, w / w.sum())
    cidx = np.repeat(np.arange(len(u)), counts)

    months_first, ndays, month_factor = _months(start, end)
    p_month = month_factor / month_factor.sum()
    m_idx = np.searchsorted(np.cumsum(p_month), rng.random(n_cases), side="right").clip(0, len(p_month) - 1)
    day = np.floor(rng.random(n_cases) * ndays[m_idx]).astype(np.int64)
    received = months_first[m_idx] + day.astype("timedelta64[D]")
    profile = np.zeros(n_cases, dtype=np.int64)
    project = np.full(n_cases, None, dtype=object)
    parts = [_draw_cases(rng, cidx, received, profile, project, mountain_all, end, _geoms(u))]
    return _assemble(parts, u, "DEMO-NAT")
