"""Public transport through the API: a GTFS feed imported (all or nothing, problems with file and line) and served
back, buses reporting GTFS-Realtime positions, predicted departures at a stop, the TripUpdates feed, and transit
alerts from a weather warning in force."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from google.transit import gtfs_realtime_pb2 as pb

from smartcity.traffic import demo, gtfs, gtfs_demo, realtime, transit
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.conftest import bearer

ZIP = {"Content-Type": "application/zip"}


@pytest.fixture(scope="module")
def small_feed() -> bytes:
    return gtfs_demo.demo_zip(routes=3)


@pytest.fixture
def feed(client, city, small_feed) -> gtfs.Feed:
    response = client.post("/api/transit/feeds", params={"name": "test feed"}, content=small_feed,
                           headers=bearer(client, "traffic") | ZIP)  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["routes"] == 3 and response.json()["active"] is True
    return gtfs.read_feed(small_feed)


def _report(database, moment: datetime) -> bytes:
    with database.session() as session:
        return demo.vehicle_report(session, moment)


def _noon() -> datetime:
    """Today's 12:00 in Shanghai (buses run), as UTC."""
    local = (datetime.now(UTC) + timedelta(hours=8)).replace(hour=12, minute=0, second=0, microsecond=0)
    return local - timedelta(hours=8)


def test_a_feed_is_served_back_and_a_bad_one_changes_nothing(client, feed, small_feed) -> None:
    served = client.get("/gtfs/static.zip")
    assert served.status_code == 200 and served.content == small_feed
    again = client.get("/gtfs/static.zip", headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small_feed)) as original, zipfile.ZipFile(broken, "w") as out:
        for name in original.namelist():
            text = original.read(name).decode("utf-8")
            if name == "stop_times.txt":
                lines = text.splitlines()
                first = lines[1].split(",")
                lines[1] = ",".join(part.replace(part, "25:75:00") if ":" in part else part for part in first)
                text = "\n".join(lines) + "\n"
            out.writestr(name, text)
    refused = client.post("/api/transit/feeds", params={"name": "broken"}, content=broken.getvalue(),
                          headers=bearer(client, "traffic") | ZIP)  # fmt: skip
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert any("stop_times.txt" in str(e) and "2" in str(e) for e in refused.json()["errors"])
    feeds = client.get("/api/transit/feeds", headers=bearer(client, "viewer")).json()
    assert [f["name"] for f in feeds] == ["test feed"]
    stop = feed.stops[5]
    by_id = client.get("/api/transit/stops", params={"q": stop.stop_id}).json()
    assert by_id[0]["id"] == stop.stop_id  # ids are matched as written (upper case)
    by_name = client.get("/api/transit/stops", params={"q": stop.stop_name[:3]}).json()
    assert stop.stop_id in {s["id"] for s in by_name}
    not_zip = client.post("/api/transit/feeds", params={"name": "x"}, content=b"{}",
                          headers=bearer(client, "traffic") | {"Content-Type": "application/json"})  # fmt: skip
    assert not_zip.status_code == 415


def test_bus_positions_become_predicted_departures_and_trip_updates(client, database, feed) -> None:
    moment = _noon()
    report = _report(database, moment)
    sent = client.post("/gtfs-rt/vehicle-positions", content=report,
                       headers=bearer(client, "device") | {"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert sent.status_code == 200, sent.text
    buses = sent.json()["vehicles"]
    assert buses > 5
    with database.session() as session:
        built = transit.trip_updates(session, now=moment.timestamp())
        assert len(built.predictions) == buses and not built.skipped
        ahead = next(p for p in built.predictions if len(p.stop_ids) >= 3)
        stop = ahead.stop_ids[1]  # a stop a bus has still to reach (not its last: no departure there)
        board = transit.departures(session, stop, now=moment.timestamp())
    assert any(d.predicted is not None for d in board)
    assert all(d.scheduled <= moment + timedelta(hours=1, minutes=30) for d in board)
    message = pb.FeedMessage()
    message.ParseFromString(client.get("/gtfs-rt/trip-updates.pb").content)
    assert message.header.gtfs_realtime_version == "2.0"
    as_json = client.get("/gtfs-rt/vehicle-positions.pb", params={"format": "json"}).json()
    assert len(as_json["entity"]) == buses


def test_an_unknown_trip_refuses_the_whole_report(client, database, feed) -> None:
    good = realtime.VehicleObservation(entity_id="a", timestamp=int(_noon().timestamp()), vehicle_id="bus-a",
                                       trip_id=feed.trips[0].trip_id, latitude=31.2, longitude=121.4)  # fmt: skip
    bad = realtime.VehicleObservation(entity_id="b", timestamp=int(_noon().timestamp()), vehicle_id="bus-b",
                                      trip_id="no-such-trip", latitude=31.2, longitude=121.4)  # fmt: skip
    body = realtime.to_protobuf(realtime.vehicle_positions_feed([good, bad], timestamp=int(_noon().timestamp())))
    refused = client.post("/gtfs-rt/vehicle-positions", content=body,
                          headers=bearer(client, "device") | {"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert refused.status_code == 422
    assert any("entity[1]" in e["field"] and "trip_id" in e["field"] for e in refused.json()["errors"])
    assert client.get("/gtfs-rt/vehicle-positions.pb", params={"format": "json"}).json().get("entity", []) == []
    viewer = client.post("/gtfs-rt/vehicle-positions", content=body, headers=bearer(client, "viewer"))
    assert viewer.status_code == 403


def test_a_weather_warning_over_stops_becomes_a_transit_alert(client, feed) -> None:
    lons = [s.stop_lon for s in feed.stops]
    lats = [s.stop_lat for s in feed.stops]
    ring = [[min(lons), min(lats)], [max(lons), min(lats)], [max(lons), max(lats)], [min(lons), min(lats)]]
    warning = _publish(client, _rainstorm(area_codes=[], area_polygons=[ring], area_desc="公交线路沿线"))
    message = pb.FeedMessage()
    message.ParseFromString(client.get("/gtfs-rt/alerts.pb").content)
    (entity,) = message.entity
    alert = entity.alert
    assert alert.cause == pb.Alert.WEATHER and len(alert.informed_entity) > 0
    assert {t.language for t in alert.header_text.translation} >= {"zh", "en"}
    assert warning["identifier"] in entity.id or warning["identifier"] in alert.url.translation[0].text
