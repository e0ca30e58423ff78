"""Reproducible demo values for the context layers in the five provinces geo_dash was built for.

No open, machine-readable list exists of the Decision 861/QĐ-TTg region
classes, the NTM status of communes, ethnic-minority shares, religious
establishments, key projects or industrial zones.  So that the map can be
shown and tested, :func:`load_demo` writes *invented* values that follow the
provinces' geography, and flags **every one of them as demo**: ``is_demo`` on
each value and feature, a ``layer_import`` record marked demo, "(minh họa)"
in every label and a warning in every legend.  Real data replaces them with
``geo-dash layers import`` (see layers/README.md): a real import removes the
demo values of the provinces it covers, and a later ``demo`` run leaves a
province with real values (a feature layer with real features) alone.

Geography followed
    * The mountainous districts carry the ethnic-minority regions:
      Hướng Hóa, Đa Krông (Quảng Trị); Nam Giang, Tây Giang, Đông Giang,
      Phước Sơn, Nam Trà My, Bắc Trà My (Quảng Nam); Sơn Hòa, Sông Hinh,
      Đồng Xuân (Phú Yên); Bác Ái, Ninh Sơn (Ninh Thuận); Sơn Động, Lục
      Ngạn (Bắc Giang).  Their rural communes are mostly region III/II with a
      high EM share; their towns region I.  Communes of the districts that
      touch them are partly region I/II; the rest are outside the EM area.
      The names are resolved in ``admin_unit``; a name not found stops the
      load (:class:`DemoError`) rather than silently shipping a wrong map.
    * NTM: rural communes only (xã), far fewer achieved in the mountains.
    * Religious establishments: a few seeded clusters per province.
    * Key projects and industrial zones: invented, named "… (minh họa)",
      placed inside real communes (projects anywhere, zones in the lowlands).

Every value depends only on the seed and the commune code (a generator per
commune), so the same seed gives the same values on any machine, and adding
a commune does not change the others.  The 2025 communes get their values
from the legacy ones through the crosswalk (each field's ``crosswalk`` rule).

Ethnicity and religion are context: they raise the priority of dialogue and
are never an input to any hotspot score.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo_dash.layers.data import is_rural_commune
from geo_dash.layers.imports import carry_to_2025
from geo_dash.layers.registry import get_layer
from geo_dash.text import name_key

DEFAULT_SEED = 20250701
DEMO_PROVINCES = {"24": "Bắc Giang", "45": "Quảng Trị", "49": "Quảng Nam", "54": "Phú Yên", "58": "Ninh Thuận"}
MOUNTAIN_DISTRICTS = {
    "45": ["Hướng Hóa", "Đa Krông"],
    "49": ["Nam Giang", "Tây Giang", "Đông Giang", "Phước Sơn", "Nam Trà My", "Bắc Trà My"],
    "54": ["Sơn Hòa", "Sông Hinh", "Đồng Xuân"],
    "58": ["Bác Ái", "Ninh Sơn"],
    "24": ["Sơn Động", "Lục Ngạn"],
}
DEMO_SOURCE = "geo_dash demo generator (invented values, NOT real data)"
VALUE_LAYERS = ("ethnic_minority_region", "religious_areas", "ntm_status")
PROJECT_KINDS = ["Khu tái định cư", "Đường giao thông", "Khu dân cư", "Hồ chứa nước", "Khu du lịch", "Thủy điện"]


class DemoError(RuntimeError):
    pass


def _rng(seed: int, *parts) -> np.random.Generator:
    digest = hashlib.sha256(("|".join([str(seed), *map(str, parts)])).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def mountain_districts(conn: Connection, provinces=DEMO_PROVINCES) -> dict[str, str]:
    """district code -> name of the mountainous districts, resolved in admin_unit (legacy); DemoError if missing."""
    found, missing = {}, []
    for prov in provinces:
        rows = conn.execute(text("SELECT code, name FROM admin_unit WHERE scheme = 'legacy' AND level = 'district' "
                                 "AND province_code = :p"), {"p": prov}).all()
        by_key = {}
        for code, name in rows:
            by_key.setdefault(name_key(name), []).append((code, name))
        for wanted in MOUNTAIN_DISTRICTS.get(prov, []):
            hits = by_key.get(name_key(wanted), [])
            if len(hits) != 1:
                missing.append(f"{wanted} ({DEMO_PROVINCES.get(prov, prov)}, {prov}): "
                               f"{'not found' if not hits else 'ambiguous'}")
                continue
            found[hits[0][0]] = hits[0][1]
    if missing:
        raise DemoError("không tìm thấy huyện miền núi trong danh mục (mountainous district not found in admin_unit): "
                        + "; ".join(missing) + ". Load the boundaries first (geo-dash boundaries load).")
    return found


def _communes(conn: Connection, provinces) -> pd.DataFrame:
    rows = conn.execute(text("""
        SELECT code, name, unit_type, parent_code, province_code FROM admin_unit
        WHERE scheme = 'legacy' AND level = 'commune' AND province_code = ANY(:p) ORDER BY code"""),
                        {"p": list(provinces)}).all()
    return pd.DataFrame(rows, columns=["code", "name", "unit_type", "parent_code", "province_code"])


def _neighbour_districts(conn: Connection, mountain: list[str]) -> set[str]:
    rows = conn.execute(text("""
        SELECT DISTINCT d.code FROM admin_unit d JOIN admin_unit m
          ON m.scheme = 'legacy' AND m.level = 'district' AND m.code = ANY(:m)
         AND d.province_code = m.province_code AND ST_Intersects(d.geom, m.geom)
        WHERE d.scheme = 'legacy' AND d.level = 'district' AND d.code <> ALL(:m)"""), {"m": mountain}).scalars().all()
    return set(rows)


def _is_town(unit_type, name) -> bool:
    from geo_dash.text import fold

    t = fold(unit_type or "")
    return t in ("thi tran", "phuong") or fold(name).startswith(("thi tran", "phuong"))


def demo_values(conn: Connection, seed: int = DEFAULT_SEED, provinces=DEMO_PROVINCES) -> dict[str, list[dict]]:
    """layer id -> value rows {field, unit_code, value_num|value_text} for the legacy communes (not written)."""
    mountain = mountain_districts(conn, provinces)
    near = _neighbour_districts(conn, list(mountain))
    communes = _communes(conn, provinces)
    out: dict[str, list[dict]] = {k: [] for k in VALUE_LAYERS}
    clusters = {}
    for prov, g in communes.groupby("province_code"):
        r = _rng(seed, "religious-clusters", prov)
        n = max(2, int(round(len(g) * 0.08)))
        clusters.update({c: True for c in r.choice(g["code"].to_numpy(), size=n, replace=False)})
    for c in communes.itertuples(index=False):
        r = _rng(seed, c.code)
        town = _is_town(c.unit_type, c.name)
        # ethnic-minority region (Decision 861 classes) and EM share
        if c.parent_code in mountain:
            region = ("I" if r.random() < 0.7 else "II") if town else r.choice(["III", "II", "I"], p=[0.6, 0.3, 0.1])
        elif c.parent_code in near:
            region = "I" if town else r.choice(["I", "II", "ngoai"], p=[0.35, 0.1, 0.55])
        else:
            region = "ngoai"
        share = {"III": (60, 98), "II": (30, 75), "I": (8, 40), "ngoai": (0, 4)}[str(region)]
        out["ethnic_minority_region"] += [
            {"field": "region", "unit_code": c.code, "value_text": str(region)},
            {"field": "em_share", "unit_code": c.code, "value_num": round(float(r.uniform(*share)), 1)},
        ]
        # religious establishments and followers
        if c.code in clusters:
            est, fol = int(r.poisson(14)), float(r.uniform(45, 85))
        else:
            est, fol = int(r.poisson(4 if town else 2)), float(r.uniform(1, 25))
        out["religious_areas"] += [
            {"field": "establishments", "unit_code": c.code, "value_num": float(est)},
            {"field": "followers_pct", "unit_code": c.code, "value_num": round(fol, 1)},
        ]
        # NTM level for rural communes (xã)
        if is_rural_commune(c.unit_type, c.name):
            p = [0.55, 0.35, 0.08, 0.02] if c.parent_code in mountain else [0.15, 0.5, 0.25, 0.1]
            level = str(r.choice(["chua_dat", "dat_chuan", "nang_cao", "kieu_mau"], p=p))
            out["ntm_status"].append({"field": "level", "unit_code": c.code, "value_text": level})
            if level != "chua_dat":
                lo = {"dat_chuan": 2013, "nang_cao": 2018, "kieu_mau": 2021}[level]
                out["ntm_status"].append({"field": "year", "unit_code": c.code,
                                          "value_num": float(r.integers(lo, 2025))})
    return out


def _demo_import(conn: Connection, layer_id: str, seed: int, rows: int) -> int:
    return conn.execute(text("""
        INSERT INTO layer_import (imported_by, layer_id, file_name, scheme, source, source_date, licence, is_demo,
                                  status, rows_in, accepted, rejected, report)
        VALUES ('geo_dash demo', :l, :f, 'legacy', :src, :d, 'CC0 (invented demo values)', true, 'committed',
                :n, :n, 0, CAST(:rep AS jsonb)) RETURNING id"""),
        dict(l=layer_id, f=f"demo (seed {seed})", src=DEMO_SOURCE, d=dt.date.today().isoformat(), n=rows,
             rep=json.dumps({"seed": seed, "provinces": sorted(DEMO_PROVINCES)}))).scalar_one()


def _features(conn: Connection, seed: int, provinces, mountain: dict[str, str]) -> tuple[list[dict], list[dict]]:
    communes = conn.execute(text("""
        SELECT code, name, parent_code, province_code, ST_AsBinary(ST_PointOnSurface(geom)) AS pt
        FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune' AND province_code = ANY(:p)
          AND geom IS NOT NULL ORDER BY code"""), {"p": list(provinces)}).mappings().all()
    by_prov: dict[str, list] = {}
    for c in communes:
        by_prov.setdefault(c["province_code"], []).append(c)
    projects, zones = [], []
    for prov in sorted(by_prov):
        cs = by_prov[prov]
        r = _rng(seed, "projects", prov)
        picks = r.choice(len(cs), size=min(5, len(cs)), replace=False)
        for i, idx in enumerate(picks):
            c = cs[int(idx)]
            status = ["dang_thuc_hien", "dang_thuc_hien", "chua_bat_dau", "hoan_thanh", "tam_dung"][i % 5]
            progress = {"chua_bat_dau": 0.0, "hoan_thanh": 100.0}.get(status, round(float(r.uniform(10, 90)), 0))
            area = round(float(r.uniform(5, 300)), 1)
            pt = shapely.from_wkb(bytes(c["pt"]))
            # larger projects as a rough polygon (a circle of the project's area), smaller ones as a point
            geom = pt if area < 40 else pt.buffer((area * 1e4 / np.pi) ** 0.5 / 111_320, quad_segs=8)
            kind = PROJECT_KINDS[int(r.integers(0, len(PROJECT_KINDS)))]
            projects.append(dict(
                ref=f"DEMO-{prov}-{i + 1}", name=f"{kind} {c['name'].split(' ', 1)[-1]} (minh họa)",
                investor_type=str(r.choice(["nha_nuoc", "tu_nhan", "fdi", "ppp"], p=[0.5, 0.3, 0.1, 0.1])),
                land_area_ha=area, households_affected=int(r.integers(10, 800)), clearance_progress_pct=progress,
                clearance_status=status, start_date=dt.date(int(r.integers(2019, 2026)), int(r.integers(1, 13)), 1),
                geom=shapely.to_wkb(geom)))
        lowland = [c for c in cs if c["parent_code"] not in mountain]
        r = _rng(seed, "zones", prov)
        for i, idx in enumerate(r.choice(len(lowland), size=min(2, len(lowland)), replace=False)):
            c = lowland[int(idx)]
            ztype = "khu" if i == 0 else "cum"
            area = round(float(r.uniform(150, 600) if ztype == "khu" else r.uniform(20, 75)), 1)
            pt = shapely.from_wkb(bytes(c["pt"]))
            side = (area * 1e4) ** 0.5 / 111_320
            geom = shapely.box(pt.x - side / 2, pt.y - side / 2, pt.x + side / 2, pt.y + side / 2)
            zones.append(dict(
                ref=f"DEMO-{prov}-{ztype.upper()}{i + 1}",
                name=f"{'Khu' if ztype == 'khu' else 'Cụm'} công nghiệp {c['name'].split(' ', 1)[-1]} (minh họa)",
                zone_type=ztype, status=str(r.choice(["hoat_dong", "dang_xay_dung", "quy_hoach"], p=[0.6, 0.3, 0.1])),
                area_ha=area, occupancy_pct=round(float(r.uniform(20, 95)), 0), geom=shapely.to_wkb(geom)))
    return projects, zones


def load_demo(engine: Engine, seed: int = DEFAULT_SEED, *, provinces=DEMO_PROVINCES, refresh_sensitive: bool = True,
              directory=None) -> dict[str, int]:
    """Write the demo values (one transaction), replacing earlier demo values; real values are kept.

    Returns counts per layer (legacy value rows, 2025 rows carried, features).
    """
    summary: dict[str, int] = {}
    with engine.begin() as conn:
        mountain = mountain_districts(conn, provinces)
        values = demo_values(conn, seed, provinces)
        communes = _communes(conn, provinces)
        province_of = dict(zip(communes["code"], communes["province_code"]))
        for layer_id, rows in values.items():
            layer = get_layer(layer_id, directory)
            conn.execute(text("DELETE FROM layer_value WHERE layer_id = :l AND is_demo"), {"l": layer_id})
            # a province that has real (imported) values gets no demo values: never mix the two
            real = set(conn.execute(text("""
                SELECT DISTINCT u.province_code FROM layer_value v
                JOIN admin_unit u ON u.scheme = 'legacy' AND u.code = v.unit_code
                WHERE v.layer_id = :l AND v.scheme = 'legacy' AND NOT v.is_demo"""), {"l": layer_id}).scalars())
            rows = [r for r in rows if province_of.get(r["unit_code"]) not in real]
            if real & set(provinces):
                summary[f"{layer_id}/provinces_with_real_values"] = len(real & set(provinces))
            iid = _demo_import(conn, layer_id, seed, len(rows))
            params = [dict(l=layer_id, f=r["field"], c=r["unit_code"], n=r.get("value_num"), t=r.get("value_text"),
                           i=iid) for r in rows]
            conn.execute(text("""
                INSERT INTO layer_value (layer_id, field, scheme, unit_code, period, value_num, value_text, is_demo,
                                         derived, import_id)
                VALUES (:l, :f, 'legacy', :c, NULL, :n, :t, true, NULL, :i)
                ON CONFLICT ON CONSTRAINT uq_layer_value DO NOTHING"""), params)
            summary[layer_id] = len(rows)
            summary[f"{layer_id}/2025"] = carry_to_2025(conn, layer, sorted({r["unit_code"] for r in rows}), iid)
        projects, zones = _features(conn, seed, provinces, mountain)
        for table, layer_id, feats, cols in (
            ("key_project", "key_projects", projects, ["investor_type", "land_area_ha", "households_affected",
                                                       "clearance_progress_pct", "clearance_status", "start_date"]),
            ("industrial_zone", "industrial_zones", zones, ["zone_type", "status", "area_ha", "occupancy_pct"]),
        ):
            conn.execute(text(f"DELETE FROM {table} WHERE is_demo"))
            if conn.execute(text(f"SELECT count(*) FROM {table} WHERE NOT is_demo")).scalar_one():
                summary[layer_id] = 0  # real features were imported: no demo ones beside them
                continue
            iid = _demo_import(conn, layer_id, seed, len(feats))
            conn.execute(text(f"""
                INSERT INTO {table} (layer_id, external_ref, name, {', '.join(cols)}, geom, is_demo, import_id)
                VALUES (:layer_id, :ref, :name, {', '.join(':' + c for c in cols)},
                        ST_SetSRID(ST_GeomFromWKB(:geom), 4326), true, :iid)
                ON CONFLICT DO NOTHING"""), [dict(f, layer_id=layer_id, iid=iid) for f in feats])
            summary[layer_id] = len(feats)
    if refresh_sensitive:
        from geo_dash.layers.sensitivity import refresh_sensitivity, sensitivity_config

        got = refresh_sensitivity(engine, config=sensitivity_config(directory))
        summary.update({f"sensitive_areas/{k}": v for k, v in got.items()})
    return summary
