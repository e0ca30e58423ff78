"""The month-by-month series the map page restyles from by itself (map_page.series): for every month
it is exactly the server's own answer to that change (one rule), it holds only the user's area, and
a request that does not fit the page's state gets nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.security.conftest import Client

STATE = {"province.value": "45", "scheme.value": "legacy", "lang.data": "vi"}


def _key(client: Client, *parts: str) -> str:
    return next(k for k in client.app.callback_map if all(p in k for p in parts))


def _months(client: Client) -> list[str]:
    key = _key(client, "map-months.data", "communes.data")
    resp = client.callback(key, {"province.value": "45"}, {"scheme.value": "legacy", "lang.data": "vi",
                                                           "map-url.search": ""})
    return json.loads(resp.get_data())["response"]["map-months"]["data"]


def _series(client: Client, months: list[str], indicator: str, g: str = "legacy:45", state=STATE):
    resp = client.callback(_key(client, "communes-series.data"), {"series-request.data": {"g": g, "ind": indicator}},
                           {**state, "map-months.data": months})
    return json.loads(resp.get_data())["response"]["communes-series"]["data"]


def _restyle(client: Client, months: list[str], indicator: str, index: int) -> dict:
    resp = client.callback(_key(client, "communes-style.data", "legend.children"),
                           {"indicator.value": indicator, "month-slider.value": index, "map-months.data": months,
                            "range.value": "1", "layer.value": ""}, STATE)
    return json.loads(resp.get_data())["response"]["communes-style"]["data"]


@pytest.mark.parametrize("indicator", ["intensity", "n_new", "backlog"])
def test_every_month_of_the_series_is_the_servers_answer_for_that_month(app, indicator):
    admin = Client(app, "admin")
    months = _months(admin)
    assert len(months) >= 24
    series = _series(admin, months, indicator)
    assert series["g"] == "legacy:45" and series["ind"] == indicator and series["m"] == months
    assert len(series["k"]) == len(series["v"]) == len(series["pal"]) == len(months)
    distinct = set()
    for j, month in enumerate(months):
        answer = _restyle(admin, months, indicator, j)
        assert (answer["m"], answer["ind"], answer["r"]) == (month, indicator, series["r"])
        assert answer["k"] == series["k"][j], month
        assert answer["pal"] == series["pal"][j] and answer["v"] == series["v"][j], month
        distinct.add(answer["k"])
    assert len(distinct) > 1  # the months differ: the comparison is not between empty maps


def test_a_filtered_view_is_not_one_the_series_can_draw(app):
    admin = Client(app, "admin")
    months = _months(admin)
    resp = admin.callback(_key(admin, "communes-style.data", "legend.children"),
                          {"indicator.value": "n_new", "month-slider.value": len(months) - 1,
                           "map-months.data": months, "range.value": "1", "layer.value": "", "f-mass.checked": True},
                          STATE)
    answer = json.loads(resp.get_data())["response"]["communes-style"]["data"]
    assert answer["k"] and "m" not in answer and "r" not in answer  # the page waits for the server here
    answer = _restyle(admin, months, "n_new", len(months) - 1)
    assert answer["m"] == months[-1]


def test_an_officers_series_holds_only_the_own_district(app, analytics_url):
    officer = Client(app, "officer_vl")
    months = _months(officer)
    series = _series(officer, months, "n_new")
    engine = create_engine(analytics_url)
    with engine.connect() as conn:
        order = list(conn.execute(text("""SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                                          AND province_code = '45' AND geom_display IS NOT NULL ORDER BY code""")).scalars())
        own = set(conn.execute(text("""SELECT code FROM admin_unit WHERE scheme = 'legacy' AND level = 'commune'
                                        AND parent_code = '464'""")).scalars())
    engine.dispose()
    assert own and len(order) == 119
    seen_own = False
    for k, v in zip(series["k"], series["v"]):
        for code, c, value in zip(order, k, v):
            if code in own:
                seen_own = seen_own or value is not None
            else:
                assert c == "-" and value is None, code
    assert seen_own


@pytest.mark.parametrize("request_", [
    {"g": "legacy:01", "ind": "n_new"},               # another province than the page's
    {"g": "legacy:45", "ind": "name; DROP TABLE x"},  # not an indicator
    "legacy:45",                                      # not a request at all
])
def test_requests_that_do_not_fit_the_page_get_nothing(app, request_):
    officer = Client(app, "officer_vl")
    resp = officer.callback(_key(officer, "communes-series.data"), {"series-request.data": request_},
                            {**STATE, "map-months.data": ["2025-05", "2025-06"]})
    assert resp.status_code in (200, 204)
    assert resp.status_code == 204 or "communes-series" not in json.loads(resp.get_data())["response"]


def test_another_province_asked_for_by_an_officer_is_all_no_data(app):
    officer = Client(app, "officer_vl")
    series = _series(officer, ["2025-05", "2025-06"], "n_new", g="legacy:01",
                     state={**STATE, "province.value": "01"})
    assert len(series["k"]) == 2 and series["k"][0]
    assert set("".join(series["k"])) == {"-"}
    assert all(v is None for month in series["v"] for v in month)


def test_the_series_is_computed_once_per_area_and_run(app, monkeypatch):
    """The country's series costs seconds of CPU: the same request from a user with the same area, on the
    same analytics run, is answered from the process's cache; another area is computed on its own."""
    from geo_dash.analytics import read as analytics_read

    calls = []
    original = analytics_read.cube_series
    monkeypatch.setattr(analytics_read, "cube_series", lambda *a, **kw: calls.append(kw) or original(*a, **kw))
    admin, leader = Client(app, "admin"), Client(app, "leader_qt")
    months = _months(admin)
    first = _series(admin, months, "overdue")
    assert _series(admin, months, "overdue") == first and len(calls) == 1
    assert _series(leader, months, "overdue")["k"] == first["k"] and len(calls) == 2  # another area: its own
    officer = _series(Client(app, "officer_vl"), months, "overdue")
    assert len(calls) == 3 and officer["k"] != first["k"]
