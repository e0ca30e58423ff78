"""The map's footer: sources, data as of, and the data-quality note, with counts written for people."""

from __future__ import annotations

import json
import re

from sqlalchemy import create_engine, text

from geo_dash.layers.classify import fmt_number
from tests.conftest import case_edited_after_the_analysis
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


def _texts(children) -> str:
    """The footer's text: a string, or a list of a string and components."""
    if isinstance(children, str):
        return children
    return " ".join(c if isinstance(c, str) else str(c.get("props", {}).get("children", "")) for c in children)


def test_the_footer_says_when_cases_changed_after_the_analysis(app, analytics_url):
    """Fresh analytics: no warning.  A case edited after the run (here: its updated_at moved on, as an
    edit does): the footer says the map does not include it yet, in both languages, with the run's
    time; the case as it was: the warning goes (the shared database is left as found)."""
    engine = create_engine(analytics_url)
    admin = Client(app, "admin")
    assert "geo-dash analytics refresh" not in _texts(_footer(admin, "vi"))
    with case_edited_after_the_analysis(engine, "province_legacy = '49'") as finished:
        vi, en = _footer(admin, "vi"), _footer(admin, "en")
        when = f"{finished:%H:%M %d/%m/%Y}"
        assert isinstance(vi, list) and vi[1]["props"]["id"] == "map-behind"
        assert f"Có vụ việc nhập hoặc sửa sau lần phân tích lúc {when}" in _texts(vi)
        assert f"after the analysis of {when}" in _texts(en)
        # an officer of another province is told too: the analysis covers every province
        assert "map-behind" in json.dumps(_footer(Client(app, "officer_vl"), "vi"))
    engine.dispose()
    assert "map-behind" not in json.dumps(_footer(admin, "vi"))
