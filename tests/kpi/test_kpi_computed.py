"""Indicators computed live from the other modules, with their data made through those modules' own APIs and
services: grid cases, hotline orders, buses, sensing stations, the traffic index and early warnings. An empty
platform gives every computed indicator no value and a reason, never an error. Snapshots keep a year's values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from smartcity.cases import evaluation
from smartcity.cli import app as cli
from smartcity.config import get_settings
from smartcity.kpi import computed, service
from smartcity.traffic import transit
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.conftest import bearer
from tests.hotline.test_orders import HUANGPU, _act, _new, _ok
from tests.sensing.test_sta import STA, _observe, _station
from tests.traffic.test_map_pages import make_traffic
from tests.traffic.test_transit import ZIP, _noon, _report

COMPUTED = ("case_on_time_closure_rate", "hotline_satisfaction_rate", "stops_realtime_share",
            "sensor_district_coverage", "traffic_index_city", "warnings_published")  # fmt: skip


def _live(client, code: str) -> dict:
    response = client.get(f"/api/kpi/indicators/{code}")
    assert response.status_code == 200, response.text
    return response.json()


def test_an_empty_platform_gives_reasons_not_errors(client, city) -> None:
    listing = client.get("/api/kpi/indicators", params={"source": "computed"})
    assert listing.status_code == 200
    found = {i["code"]: i for i in listing.json()["indicators"]}
    assert set(found) == set(COMPUTED)
    for code in COMPUTED:
        live = found[code]["live"]
        if code == "warnings_published":
            assert live["value"] == 0  # a count: none published is a value
        else:
            assert live["value"] is None and live["reason"], code
    assert client.get("/kpi").status_code == 200
    year = computed.window().year
    for path in (f"/kpi/report/{year}", f"/kpi/report/{year}.pdf", f"/api/kpi/report/{year}", "/api/kpi/export.xlsx"):
        assert client.get(path).status_code == 200, path
    for code in COMPUTED:
        assert client.get(f"/kpi/{code}").status_code == 200


def test_on_time_closure_rate_of_grid_cases(client, database, cases) -> None:
    detail = _live(client, "case_on_time_closure_rate")
    now = datetime.now(UTC)
    with database.session() as s:
        (row,) = evaluation.evaluate(s, start=now - timedelta(days=400), end=now + timedelta(days=1),
                                     codes=["on_time_closure_rate"])  # fmt: skip
    assert row["on_time_closure_rate"] == pytest.approx(1 / 3, abs=1e-3)  # the fixture: one of three due on time
    assert detail["live"]["value"] == pytest.approx(100 / 3, abs=0.01)
    assert detail["latest"]["origin"] == "live" and detail["status"] == "no_target"
    assert detail["live"]["areas"] == [{"area": "310101", "value": pytest.approx(33.33, abs=0.01), "of": None}]


def test_hotline_satisfaction_rate(client, hotline_setup) -> None:
    for satisfaction in ("satisfied", "dissatisfied"):
        order = _ok(_act(client, "operator", _new(client, matter_code="HB01", **HUANGPU).json(), "dispatch"))
        order = _ok(_act(client, "handler", order, "sign"))
        order = _ok(_act(client, "handler", order, "complete", note="已处理"))
        order = _ok(_act(client, "operator", order, "reply", note="已处理完毕"))
        _ok(_act(client, "operator", order, "callback", satisfaction=satisfaction))
    detail = _live(client, "hotline_satisfaction_rate")
    assert detail["live"]["value"] == 50.0
    assert detail["live"]["areas"] == [{"area": "310101", "value": 50.0, "of": None}]


def test_share_of_stops_with_real_time_arrivals(client, database, city) -> None:
    from smartcity.traffic import gtfs_demo

    posted = client.post("/api/transit/feeds", params={"name": "kpi feed"}, content=gtfs_demo.demo_zip(routes=3),
                         headers=bearer(client, "traffic") | ZIP)  # fmt: skip
    assert posted.status_code == 201, posted.text
    moment = _noon()
    sent = client.post("/gtfs-rt/vehicle-positions", content=_report(database, moment),
                       headers=bearer(client, "device") | {"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert sent.status_code == 200, sent.text
    with database.session() as s:
        expected = transit.stops_with_realtime_share(s, moment.timestamp())
        (status,) = service.overview(s, codes=["stops_realtime_share"], now=moment)
    assert expected is not None and 0 < expected <= 1
    assert status.reading.value == pytest.approx(expected * 100, abs=0.01)
    assert status.latest.origin == "live" and status.latest.value == status.reading.value


def test_sensor_coverage_per_district(client, database, city, huangpu) -> None:
    made = client.post(
        f"{STA}/Things", json=_station("外白渡桥站", 121.4906, 31.2452), headers=bearer(client, "supervisor")
    )
    assert made.status_code == 201, made.text
    stale = client.post(
        f"{STA}/Things", json=_station("武宁路桥站", 121.4305, 31.2398), headers=bearer(client, "supervisor")
    )
    fresh_stream = client.get(f"{STA}/Things({made.json()['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    stale_stream = client.get(f"{STA}/Things({stale.json()['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    assert _observe(client, stale_stream, 2.9, minutes_ago=600).status_code == 201
    nobody = _live(client, "sensor_district_coverage")
    assert nobody["live"]["value"] == 0.0 and nobody["live"]["areas"] == [{"area": "310101", "value": 0, "of": 2}]
    assert _observe(client, fresh_stream, 3.1).status_code == 201
    detail = _live(client, "sensor_district_coverage")
    assert detail["live"]["value"] == 100.0  # Huangpu, the one district loaded, has a fresh station
    assert detail["live"]["areas"] == [{"area": "310101", "value": 1, "of": 2}]
    page = client.get("/kpi/sensor_district_coverage", params={"lang": "en"})
    assert "1 / 2" in page.text


def test_the_latest_city_traffic_index(client, database, city, gridded) -> None:
    make_traffic(client, database)
    published = client.get("/api/traffic/index").json()
    city_index = next(a for a in published["areas"] if a["area"] == "310000")
    detail = _live(client, "traffic_index_city")
    assert detail["live"]["value"] == pytest.approx(city_index["value"], abs=0.01)
    assert detail["live"]["as_of"] == published["at"]
    assert [a["area"] for a in detail["live"]["areas"]] == ["310101"]


def test_warnings_published_this_year(client, city, huangpu) -> None:
    _publish(client, _rainstorm())
    detail = _live(client, "warnings_published")
    assert detail["live"]["value"] == 1
    assert detail["live"]["areas"] == [{"area": "310101", "value": 1, "of": None}]


def test_a_broken_module_is_said_not_raised(client, database, city, monkeypatch) -> None:
    def broken(session, when, params, detail):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setitem(computed.SOURCES, "warnings_published",
                        computed.Source("warnings_published", "period", broken, "alerts"))  # fmt: skip
    detail = _live(client, "warnings_published")
    assert detail["live"]["value"] is None and "RuntimeError" in detail["live"]["reason"]
    assert client.get("/api/kpi/indicators").status_code == 200


def test_snapshots_keep_a_years_values_and_the_report_reads_them(
    client, database, city, huangpu, settings, monkeypatch
) -> None:
    year = computed.window().year
    _publish(client, _rainstorm())
    with database.session(actor="test") as s:
        taken = {t.code: t for t in service.snapshot(s, year)}
    assert taken["warnings_published"].row.value == 1 and taken["warnings_published"].row.origin == "computed"
    assert taken["stops_realtime_share"].row is None and taken["stops_realtime_share"].reason
    _publish(client, _rainstorm(headline="黄浦区发布暴雨黄色预警（二）"))
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMARTCITY_SECRET_KEY", settings.secret_key)
    get_settings.cache_clear()
    try:
        again = CliRunner().invoke(cli, ["kpi", "snapshot", "--year", str(year)])
        refused = CliRunner().invoke(cli, ["kpi", "snapshot", "--year", "2009"])
    finally:
        get_settings.cache_clear()
    assert again.exit_code == 0, again.output
    assert "warnings_published: 2 (version 2)" in again.output and "skipped" in again.output
    history = client.get("/api/kpi/indicators/warnings_published").json()["history"]
    assert [(v["version"], v["value"], v["origin"], v["current"]) for v in history] == [
        (2, 2.0, "computed", True), (1, 1.0, "computed", False)]  # fmt: skip
    report = client.get(f"/api/kpi/report/{year}").json()
    warnings = next(i for sec in report["sections"] for i in sec["indicators"] if i["code"] == "warnings_published")
    assert warnings["latest"]["value"] == 2  # this year's report: the live reading, as the year is still running
    past = client.get(f"/api/kpi/report/{year - 1}").json()
    last_year = next(i for sec in past["sections"] for i in sec["indicators"] if i["code"] == "warnings_published")
    assert last_year["latest"]["value"] == 0 and last_year["latest"]["origin"] == "live"  # recomputed: none then
    assert refused.exit_code == 1 and "2010" in refused.output


def test_every_warning_of_the_window_is_counted_not_only_the_newest_page(database) -> None:
    from smartcity.alerts.models import Bulletin

    when = computed.window()
    start = when.start

    def bulletin(n: int, **fields) -> Bulletin:  # type: ignore[no-untyped-def]
        return Bulletin(**{"state": "published", "hazard": "rainstorm", "colour": "yellow", "area_desc": "黄浦区",
                           "onset": start, "expires": start, "headline": f"暴雨 {n}", "description": "-",
                           "drafted_by": "test", "published_at": start + timedelta(hours=n),
                           "area_codes": '["310101"]', **fields})  # fmt: skip

    with database.session(actor="test") as s:
        s.add_all(bulletin(n) for n in range(620))  # more than a listing page (500)
        s.add_all([bulletin(700, kind="update"), bulletin(701, state="draft"),
                   bulletin(0, published_at=start - timedelta(seconds=1))])  # fmt: skip
    with database.session() as s:
        reading = computed.SOURCES["warnings_published"].function(s, when, {}, True)
    assert reading.value == 620
    assert [(a.area_code, a.value) for a in reading.areas] == [("310101", 620)]
