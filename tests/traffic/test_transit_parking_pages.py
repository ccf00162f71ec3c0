"""The bus departure and parking guidance pages through the in-process client: open to everyone (with and without
data), a stop found by name and its board saying each departure's status in words (never "on time" without a
prediction), 404 for an unknown stop, and bad form input said on the page instead of a stack trace."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from smartcity.traffic import demo, gtfs_demo, transit
from tests.conftest import bearer, web_login
from tests.sensing.test_sta import STA
from tests.traffic.test_parking import PEOPLES_SQUARE, _car_park, _read

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZIP = {"Content-Type": "application/zip"}
HTML = {"Accept": "text/html"}
STATUS = re.compile(r"on time|\d+ min late|\d+ min early|scheduled only — no real-time information")


def noon() -> datetime:
    """Today's 12:00 in Shanghai (buses run), as UTC."""
    local = (datetime.now(UTC) + timedelta(hours=8)).replace(hour=12, minute=0, second=0, microsecond=0)
    return local - timedelta(hours=8)


def freeze_transit_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The transit service reads the clock when no time is given (the pages and the API): fix it at ``moment`` so
    the board does not depend on the hour the tests run at (no buses run at night)."""
    monkeypatch.setattr(transit, "time", SimpleNamespace(time=lambda: moment.timestamp()))


def make_transit(client, database, moment: datetime) -> str:  # type: ignore[no-untyped-def]
    """Import the small demo feed as the traffic engineer and report the buses at ``moment`` as the AVL device;
    returns a stop whose board at ``moment`` has a predicted departure and one with the timetable only."""
    imported = client.post("/api/transit/feeds", params={"name": "test feed"}, content=gtfs_demo.demo_zip(routes=3),
                           headers=bearer(client, "traffic") | ZIP)  # fmt: skip
    assert imported.status_code == 201, imported.text
    with database.session() as session:
        report = demo.vehicle_report(session, moment)
    sent = client.post("/gtfs-rt/vehicle-positions", content=report,
                       headers=bearer(client, "device") | {"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["vehicles"] > 5, sent.text
    with database.session() as session:
        stops = {sid for p in transit.trip_updates(session, now=moment.timestamp()).predictions for sid in p.stop_ids}
        for stop in sorted(stops):
            board = transit.departures(session, stop, now=moment.timestamp())
            if any(d.predicted for d in board) and any(d.predicted is None for d in board):
                return stop
    raise AssertionError("no stop has both predicted and timetable-only departures")


def make_car_parks(client) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The car parks of tests/traffic/test_parking.py around People's Square: A near and full, B near with room,
    C a farther P+R with room, D near with a 2-hour-old reading; registered from the sensing hub."""
    made = {}
    for name, code, lon, lat, capacity, pr in (
        ("人民广场停车场", "CP-A", 121.4745, 31.2310, 600, False),
        ("南京东路停车场", "CP-B", 121.4840, 31.2370, 300, False),
        ("七宝P+R停车场", "CP-C", 121.4950, 31.2450, 400, True),
        ("老旧数据停车场", "CP-D", 121.4750, 31.2320, 100, False),
    ):
        thing = client.post(f"{STA}/Things", json=_car_park(name, code, lon, lat, capacity, pr),
                            headers=bearer(client, "supervisor"))  # fmt: skip
        assert thing.status_code == 201, thing.text
        made[code] = client.get(f"{STA}/Things({thing.json()['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    for code, occupied, minutes_ago in (("CP-A", 600, 3), ("CP-B", 120, 3), ("CP-C", 100, 3), ("CP-D", 10, 120)):
        _read(client, made[code], occupied, minutes_ago)
    synced = client.post("/api/traffic/parking/sync", headers=bearer(client, "traffic"))
    assert synced.status_code == 200 and synced.json() == {"registered": 4}
    return made


@pytest.fixture
def stop(client, database, city, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    moment = noon()
    freeze_transit_clock(monkeypatch, moment)
    return make_transit(client, database, moment)


def _table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"')[1].split("</table>")[0]


def _status_words(delay_s: int | None) -> str:
    if delay_s is None:
        return "scheduled only — no real-time information"
    minutes = int(delay_s / 60)
    return "on time" if minutes == 0 else f"{abs(minutes)} min {'late' if minutes > 0 else 'early'}"


def test_pages_answer_without_sign_in_before_any_data(client, database) -> None:
    search = client.get("/transit", params={"q": "经1路", "lang": "en"})
    assert search.status_code == 200 and "No bus timetable has been imported yet" in search.text
    assert client.get("/transit").status_code == 200
    car_parks = client.get("/traffic/parking", params={"lang": "en"})
    assert car_parks.status_code == 200 and "No car park has been registered yet." in car_parks.text
    no_feed = client.get("/transit/stops/S0101", headers=HTML)
    assert no_feed.status_code == 404 and no_feed.headers["content-type"].startswith("text/html")


def test_a_stop_is_found_by_name_and_its_board_says_the_status_in_words(client, database, stop) -> None:
    with database.session() as session:
        name = transit.stop_or_404(session, stop).stop_name
        board = transit.departures(session, stop)  # at the frozen clock, as the page
    found = client.get("/transit", params={"q": name, "lang": "en"})
    assert found.status_code == 200
    assert f'href="/transit/stops/{stop}"' in found.text and "1 stop found." in found.text
    by_id = client.get("/transit", params={"q": stop})
    assert f'href="/transit/stops/{stop}"' in by_id.text
    none = client.get("/transit", params={"q": "no such stop", "lang": "en"})
    assert none.status_code == 200 and "No stop matches “no such stop”" in none.text

    page = client.get(f"/transit/stops/{stop}", params={"lang": "en"})
    assert page.status_code == 200
    assert f"<h1>{name}</h1>" in page.text
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", _table(page.text, "departures-table"), flags=re.S)
    assert len(rows) == len(board) > 0
    for row, departure in zip(rows, board, strict=True):
        assert _status_words(departure.delay_s) in row
        assert departure.scheduled.astimezone(SHANGHAI).strftime("%H:%M") in row
    said = [STATUS.search(row).group(0) for row in rows]  # type: ignore[union-attr]
    assert "scheduled only — no real-time information" in said  # a run no bus reports on: never "on time"
    assert any(not s.startswith("scheduled only") for s in said)  # and a predicted one
    assert 'role="status" aria-live="polite"' in page.text and 'aria-pressed="false"' in page.text
    assert '<script src="/static/traffic/departures.js" defer></script>' in page.text
    api = client.get(f"/api/transit/stops/{stop}/departures").json()  # what the script fetches
    assert [d["trip"] for d in api["departures"]] == [d.trip_id for d in board]
    chinese = _table(client.get(f"/transit/stops/{stop}").text, "departures-table")
    assert re.search(r"准点|晚点 \d+ 分钟|早 \d+ 分钟", chinese) and "仅有时刻表——无实时信息" in chinese


def test_an_unknown_stop_is_a_404_page(client, stop) -> None:
    missing = client.get("/transit/stops/NO-SUCH-STOP", headers=HTML)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "NO-SUCH-STOP" in missing.text and "Traceback" not in missing.text


def test_bad_input_is_said_on_the_page(client, city) -> None:
    lon, lat = PEOPLES_SQUARE
    for params, message in (
        ({"lon": 999, "lat": lat}, "Give a longitude between -180 and 180"),
        ({"lon": "east", "lat": lat}, "Give a longitude between -180 and 180"),
        ({"lon": lon, "lat": ""}, "Give a latitude between -90 and 90"),
        ({"lon": lon, "lat": lat, "radius": 0}, "Give a radius in metres, more than 0 and at most 50000."),
        ({"lon": lon, "lat": lat, "radius": "nan"}, "Give a radius in metres"),
        ({"lon": lon, "lat": lat, "radius": 60_000}, "Give a radius in metres"),
    ):
        response = client.get("/traffic/parking", params=params | {"lang": "en"}, headers=HTML)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("text/html")
        assert message in response.text and 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
        assert 'id="nearest-table"' not in response.text
    long = client.get("/transit", params={"q": "x" * 101, "lang": "en"}, headers=HTML)
    assert long.status_code == 422 and "Type at most 100 characters." in long.text


def test_the_parking_page_lists_car_parks_and_the_nearest_with_room(client, city) -> None:
    make_car_parks(client)
    page = client.get("/traffic/parking", params={"lang": "en"})
    assert page.status_code == 200
    listing = _table(page.text, "car-parks-table")
    rows = {code: row for code, row in zip("ABCD", listing.split("<tr")[2:], strict=True)}
    assert "CP-A car park" in rows["A"] and "0 (full)" in rows["A"] and re.search(r"\d min ago", rows["A"])
    assert "Yes, for Qibao station (line 9)" in rows["C"] and ">400<" in rows["C"] and ">300<" in rows["C"]
    assert "2 h ago — stale, not used for guidance" in rows["D"]
    assert "stale" not in rows["B"]
    lon, lat = PEOPLES_SQUARE
    near = client.get("/traffic/parking", params={"lon": lon, "lat": lat, "radius": 5000, "lang": "en"})
    assert near.status_code == 200
    nearest = _table(near.text, "nearest-table")
    assert nearest.index("CP-B car park") < nearest.index("CP-C car park")  # A is full, D's reading is too old
    assert "CP-A" not in nearest and "CP-D" not in nearest
    only_pr = client.get("/traffic/parking", params={"lon": lon, "lat": lat, "radius": 5000, "park_and_ride": "true"})
    assert "七宝P+R停车场" in _table(only_pr.text, "nearest-table")
    assert "南京东路停车场" not in _table(only_pr.text, "nearest-table")
    short = client.get("/traffic/parking", params={"lon": lon, "lat": lat, "radius": 500, "lang": "en"})
    assert "No car park within 500 m has free spaces" in short.text


def test_the_navigation_lists_the_pages_after_the_traffic_ones(client, city) -> None:
    web_login(client, "citizen")
    home = client.get("/").text
    navigation = home.split('class="main-nav"')[1].split("</nav>")[0]
    positions = [navigation.index(f'href="{path}"') for path in ("/traffic/index", "/transit", "/traffic/parking")]
    assert positions == sorted(positions)
