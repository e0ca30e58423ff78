"""The map's footer: sources, data as of, and the data-quality note, with counts written for people."""

from __future__ import annotations

import json
import re

from sqlalchemy import create_engine, text

from geo_dash.layers.classify import fmt_number
from tests.security.conftest import Client


def _footer(client: Client, lang: str) -> str:
    key = next(k for k in client.app.callback_map if k.startswith("map-footer."))
    resp = client.callback(key, {"map-bounds.data": {}}, {"province.value": "45", "scheme.value": "legacy", "lang.data": lang})
    return json.loads(resp.get_data())["response"]["map-footer"]["children"]


def test_the_quality_note_counts_the_provinces_cases_with_thousands_separators(app, analytics_url):
    engine = create_engine(analytics_url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM grievance_case WHERE province_legacy = '45'")).scalar_one()
    engine.dispose()
    assert total >= 1000  # so that the separator shows
    admin = Client(app, "admin")
    vi, en = _footer(admin, "vi"), _footer(admin, "en")
    assert f"{fmt_number(total, 'vi', 0)} vụ việc" in vi and re.search(r"\d\.\d{3} vụ việc", vi)
    assert re.search(r"\d,\d{3}", en) and fmt_number(total, "en", 0) in en
    assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", vi)  # the data-as-of date, dd/mm/yyyy
