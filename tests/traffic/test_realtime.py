"""GTFS-Realtime: VehiclePositions in protobuf and JSON (made with Google's bindings), every problem located and the
feed refused whole; TripUpdates, VehiclePositions and Alerts out, read back with the bindings and checked by an
independent GTFS-RT validator from PyPI."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as pb

from smartcity.traffic.gtfs import Feed, write_zip
from smartcity.traffic.gtfs_demo import demo_feed
from smartcity.traffic.prediction import RunTimeModel, simulate
from smartcity.traffic.realtime import (
    RealtimeFeedError,
    VehicleObservation,
    WeatherWarning,
    alerts_feed,
    build_trip_updates,
    parse_vehicle_positions,
    to_json,
    to_protobuf,
    trip_updates_feed,
    vehicle_positions_feed,
)

MONDAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def feed() -> Feed:
    return demo_feed(routes=4)


@pytest.fixture(scope="module")
def now(feed: Feed) -> int:
    return feed.service_origin(MONDAY) + 8 * 3600  # Monday 08:00 in Shanghai


@pytest.fixture(scope="module")
def vehicles(feed: Feed, now: int) -> list[VehicleObservation]:
    """One bus on every trip running at 08:00, 30 s ago, on the way to its next stop (position at the last one)."""
    out = []
    for k, run in enumerate(feed.active_trips(now)):
        s = feed.schedules[run.trip_id]
        t = now - run.origin
        i = min(max([j for j in range(len(s)) if s.departures[j] <= t], default=0), len(s) - 2)
        out.append(
            VehicleObservation(
                entity_id=f"vp-{k}",
                timestamp=now - 30,
                vehicle_id=f"沪B-{k:05d}",
                trip_id=s.trip_id,
                route_id=s.route_id,
                direction_id=s.direction_id,
                start_date=run.start_date,
                latitude=s.lats[i],
                longitude=s.lons[i],
                current_stop_sequence=s.stop_sequences[i + 1],
                current_status="IN_TRANSIT_TO",
            )
        )
    return out


def positions_message(feed: Feed, now: int) -> pb.FeedMessage:
    """A VehiclePositions feed built the way an AVL vendor would: with the bindings."""
    schedule = next(s for s in feed.schedules.values() if s.service_id == "WKDY")
    message = pb.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = now
    bus = message.entity.add(id="bus-1")
    bus.vehicle.trip.trip_id = schedule.trip_id
    bus.vehicle.trip.start_date = "20260302"
    bus.vehicle.vehicle.id = "沪B-00001"
    bus.vehicle.vehicle.label = "801"
    bus.vehicle.position.latitude = schedule.lats[2]
    bus.vehicle.position.longitude = schedule.lons[2]
    bus.vehicle.position.bearing = 90.0
    bus.vehicle.position.speed = 6.5
    bus.vehicle.current_stop_sequence = schedule.stop_sequences[2]
    bus.vehicle.current_status = pb.VehiclePosition.STOPPED_AT
    bus.vehicle.timestamp = now - 5
    bus.vehicle.occupancy_status = pb.VehiclePosition.FEW_SEATS_AVAILABLE
    idle = message.entity.add(id="bus-2")  # in the depot: no trip
    idle.vehicle.vehicle.id = "沪B-00002"
    idle.vehicle.position.latitude, idle.vehicle.position.longitude = 31.2, 121.45
    return message


def refused(data: bytes | str, feed: Feed | None = None) -> RealtimeFeedError:
    with pytest.raises(RealtimeFeedError) as caught:
        parse_vehicle_positions(data, feed=feed)
    return caught.value


def located(error: RealtimeFeedError) -> list[tuple[int | None, str | None, str]]:
    return [(p.index, p.entity_id, p.path) for p in error.problems]


# ---------------------------------------------------------------- reading VehiclePositions


def test_vehicle_positions_made_with_the_bindings_are_read(feed: Feed, now: int) -> None:
    message = positions_message(feed, now)
    bus, idle = parse_vehicle_positions(message.SerializeToString(), feed=feed)
    trip = message.entity[0].vehicle.trip.trip_id
    assert (bus.entity_id, bus.vehicle_id, bus.label, bus.trip_id, bus.start_date) == (
        "bus-1",
        "沪B-00001",
        "801",
        trip,
        "20260302",
    )
    assert bus.route_id is None and bus.current_status == "STOPPED_AT" and bus.timestamp == now - 5
    assert bus.speed == 6.5 and bus.bearing == 90.0 and bus.occupancy_status == "FEW_SEATS_AVAILABLE"
    assert bus.current_stop_sequence == feed.schedules[trip].stop_sequences[2]
    assert idle.trip_id is None and idle.timestamp == now  # no time of its own: the header's
    assert idle.latitude == pytest.approx(31.2)


def test_json_reads_like_protobuf(feed: Feed, now: int) -> None:
    message = positions_message(feed, now)
    from_protobuf = parse_vehicle_positions(message.SerializeToString(), feed=feed)
    assert parse_vehicle_positions(json_format.MessageToJson(message), feed=feed) == from_protobuf  # camelCase
    assert parse_vehicle_positions(to_json(message).encode(), feed=feed) == from_protobuf  # snake_case bytes


def test_bytes_that_are_not_a_feed_are_refused(feed: Feed) -> None:
    error = refused(b"\x0a\x05garbage", feed)
    assert located(error) == [(None, None, "")] and "not a GTFS-realtime FeedMessage (protobuf)" in str(error)
    assert "JSON" in str(refused('{"header": {"gtfs_realtime_version": "2.0"}, "entity": [', feed))
    assert error.status == 422 and error.code == "gtfs-rt-invalid"


def test_a_missing_latitude_is_located(feed: Feed, now: int) -> None:
    message = positions_message(feed, now)
    message.entity[1].vehicle.position.ClearField("latitude")
    error = refused(message.SerializePartialToString(), feed)
    assert located(error) == [(1, "bus-2", "entity[1].vehicle.position.latitude")]
    assert error.problems[0].message == "required field is missing"


def test_an_unknown_trip_refuses_the_whole_feed_with_every_problem_located(feed: Feed, now: int) -> None:
    message = positions_message(feed, now)
    ghost = message.entity.add(id="bus-3")
    ghost.vehicle.trip.trip_id = "NO-SUCH-TRIP"
    ghost.vehicle.vehicle.id = "沪B-00003"
    ghost.vehicle.position.latitude, ghost.vehicle.position.longitude = 31.2, 121.45
    message.entity[0].vehicle.current_stop_sequence = 999
    error = refused(message.SerializeToString(), feed)
    assert located(error) == [
        (0, "bus-1", "entity[0].vehicle.current_stop_sequence"),
        (2, "bus-3", "entity[2].vehicle.trip.trip_id"),
    ]
    assert "no trip 'NO-SUCH-TRIP' in the GTFS feed" in str(error)
    assert error.errors[1] == {
        "field": "entity[2].vehicle.trip.trip_id",
        "entity": 2,
        "entity_id": "bus-3",
        "message": "no trip 'NO-SUCH-TRIP' in the GTFS feed",
    }
    assert "nothing was imported" in error.detail


def test_more_problems_each_located(feed: Feed, now: int) -> None:
    message = positions_message(feed, now)
    trip = message.entity[0].vehicle.trip
    trip.route_id = "R803" if feed.schedules[trip.trip_id].route_id != "R803" else "R804"
    trip.start_date = "20260307"  # a Saturday: the weekday trip does not run
    message.entity[1].vehicle.vehicle.id = "沪B-00001"  # the same bus twice
    nowhere = message.entity.add(id="bus-4").vehicle  # no position, no stop
    nowhere.vehicle.id = "沪B-00004"
    zero = message.entity.add(id="bus-5").vehicle
    zero.position.latitude = zero.position.longitude = 0.0
    message.entity.add(id="tu-1").trip_update.trip.trip_id = trip.trip_id
    message.header.ClearField("timestamp")
    message.entity[0].vehicle.ClearField("timestamp")
    error = refused(message.SerializeToString(), feed)
    assert located(error) == [
        (0, "bus-1", "entity[0].vehicle.timestamp"),
        (0, "bus-1", "entity[0].vehicle.trip.route_id"),
        (0, "bus-1", "entity[0].vehicle.trip.start_date"),
        (0, "bus-1", "entity[0].vehicle.vehicle.id"),
        (1, "bus-2", "entity[1].vehicle.timestamp"),
        (1, "bus-2", "entity[1].vehicle.vehicle.id"),
        (2, "bus-4", "entity[2].vehicle.position"),
        (2, "bus-4", "entity[2].vehicle.timestamp"),
        (3, "bus-5", "entity[3].vehicle.position"),
        (3, "bus-5", "entity[3].vehicle.timestamp"),
        (4, "tu-1", "entity[4]"),
    ]


# ---------------------------------------------------------------- feeds out


def test_vehicle_positions_feed_round_trips(feed: Feed, now: int, vehicles: list[VehicleObservation]) -> None:
    data = to_protobuf(vehicle_positions_feed(vehicles, timestamp=now))
    back = parse_vehicle_positions(data, feed=feed)
    # latitude and longitude travel as 32-bit floats: equal to about a metre
    assert [replace(o, latitude=None, longitude=None) for o in back] == [
        replace(o, latitude=None, longitude=None) for o in vehicles
    ]
    for got, sent in zip(back, vehicles, strict=True):
        assert (got.latitude, got.longitude) == (
            pytest.approx(sent.latitude, abs=1e-5),
            pytest.approx(sent.longitude, abs=1e-5),
        )


def test_trip_updates_read_back_with_the_bindings(feed: Feed, now: int, vehicles: list[VehicleObservation]) -> None:
    built = build_trip_updates(feed, vehicles, now=now)
    assert built.skipped == [] and len(built.predictions) == len(vehicles) > 20
    message = pb.FeedMessage.FromString(to_protobuf(built.message))
    assert message.header.gtfs_realtime_version == "2.0"
    assert message.header.incrementality == pb.FeedHeader.FULL_DATASET and message.header.timestamp == now
    assert len(message.entity) == len(vehicles)
    origin = feed.service_origin(MONDAY)
    for entity, vehicle in zip(message.entity, vehicles, strict=True):
        update = entity.trip_update
        schedule = feed.schedules[vehicle.trip_id]  # type: ignore[index]
        assert (update.trip.trip_id, update.trip.route_id, update.trip.start_date) == (
            schedule.trip_id,
            schedule.route_id,
            "20260302",
        )
        assert update.trip.direction_id == schedule.direction_id and update.vehicle.id == vehicle.vehicle_id
        sequences = [u.stop_sequence for u in update.stop_time_update]
        assert sequences == list(schedule.stop_sequences[-len(sequences) :])  # every stop downstream, in order
        ahead = [seq for seq in sequences if seq >= vehicle.current_stop_sequence]  # type: ignore[operator]
        assert ahead[0] == vehicle.current_stop_sequence
        for u in update.stop_time_update[: len(sequences) - len(ahead)]:  # passed early: scheduled still to come
            index = schedule.index_of_sequence(u.stop_sequence)
            assert origin + schedule.departures[index] > vehicle.timestamp >= u.departure.time  # type: ignore[index]
        times = [t for u in update.stop_time_update for t in (u.arrival.time, u.departure.time)]
        assert times == sorted(times)
        for u in update.stop_time_update:
            index = schedule.index_of_sequence(u.stop_sequence)
            assert u.arrival.time == origin + schedule.arrivals[index] + u.arrival.delay  # type: ignore[index]
            assert u.stop_id == schedule.stop_ids[index]  # type: ignore[index]
            assert not u.arrival.HasField("uncertainty")  # the baseline does not know it


def test_trip_updates_from_the_historical_model_carry_uncertainty(
    feed: Feed, now: int, vehicles: list[VehicleObservation]
) -> None:
    history = simulate(feed, first_date=dt.date(2026, 2, 23), days=5)
    model = RunTimeModel.learn([t for day in history for t in day], feed.schedules)
    built = build_trip_updates(feed, vehicles, now=now, model=model, until=1800)
    update = pb.FeedMessage.FromString(to_protobuf(built.message)).entity[0].trip_update
    assert all(u.arrival.uncertainty > 0 for u in update.stop_time_update)
    assert max(u.arrival.time for u in update.stop_time_update) <= now - 30 + 1800


def test_vehicles_without_a_prediction_are_listed_with_the_reason(feed: Feed, now: int, vehicles: list) -> None:
    stale = VehicleObservation(entity_id="old", timestamp=now - 3600, trip_id=vehicles[0].trip_id)
    depot = VehicleObservation(entity_id="depot", timestamp=now, vehicle_id="沪B-09999", latitude=31.2, longitude=121.5)
    lost = VehicleObservation(
        entity_id="lost", timestamp=now, trip_id=vehicles[0].trip_id, latitude=31.32, longitude=121.36
    )
    built = build_trip_updates(feed, [stale, depot, lost, vehicles[0]], now=now)
    assert [p.trip_id for p in built.predictions] == [vehicles[0].trip_id]
    reasons = dict(built.skipped)
    assert reasons["old"].startswith("last heard 3600 s ago")
    assert reasons["沪B-09999"] == "not on a trip"
    assert "cannot be placed" in reasons["lost"]


def test_a_trip_update_for_a_frequency_based_run_names_its_start(feed: Feed, now: int, vehicles: list) -> None:
    prediction = build_trip_updates(feed, vehicles[:1], now=now).predictions[0]
    prediction.start_time = "08:10:00"
    entity = trip_updates_feed([prediction], timestamp=now).entity[0]
    assert entity.trip_update.trip.start_time == "08:10:00" and entity.id.endswith("T08:10:00")


# ---------------------------------------------------------------- alerts


def warning_around(feed: Feed, **changes: object) -> WeatherWarning:
    stop = feed.stops[len(feed.stops) // 2]
    lat, lon, d = stop.stop_lat, stop.stop_lon, 0.004  # ≈ 400 m around one stop
    ring = [(lat - d, lon - d), (lat - d, lon + d), (lat + d, lon + d), (lat + d, lon - d), (lat - d, lon - d)]  # type: ignore[operator]
    fields: dict = {
        "identifier": "SH-RAIN-20260302-01",
        "headline": {"zh": "暴雨橙色预警", "en": "Orange rainstorm warning"},
        "description": {
            "zh": "中心城区道路积水，公交可能延误。",
            "en": "Flooded roads downtown; buses may be delayed.",
        },
        "severity": "Severe",
        "polygons": [ring],
        "onset": 1_772_420_000,
        "expires": 1_772_430_000,
    }
    return WeatherWarning(**{**fields, **changes})


def test_an_alert_from_a_weather_warning(feed: Feed, now: int) -> None:
    warning = warning_around(feed)
    data = to_protobuf(alerts_feed([warning], feed, timestamp=now))
    alert = pb.FeedMessage.FromString(data).entity[0].alert
    stop = feed.stops[len(feed.stops) // 2]
    stops = [e.stop_id for e in alert.informed_entity if e.stop_id]
    routes = [e.route_id for e in alert.informed_entity if e.route_id]
    serving = sorted({s.route_id for s in feed.schedules.values() if stop.stop_id in s.stop_ids})
    assert stop.stop_id in stops and routes == serving
    assert alert.cause == pb.Alert.WEATHER and alert.effect == pb.Alert.SIGNIFICANT_DELAYS
    assert alert.severity_level == pb.Alert.SEVERE
    assert [(t.language, t.text) for t in alert.header_text.translation] == list(warning.headline.items())
    assert [t.language for t in alert.description_text.translation] == ["zh", "en"]
    period = alert.impact_period[0]
    assert (
        (period.start, period.end)
        == (warning.onset, warning.expires)
        == (
            alert.communication_period[0].start,
            alert.communication_period[0].end,
        )
    )
    as_json = json.loads(to_json(alerts_feed([warning], feed, timestamp=now)))
    assert as_json["entity"][0]["alert"]["cause"] == "WEATHER"


def test_alert_effects_and_refusals(feed: Feed, now: int) -> None:
    extreme = alerts_feed([warning_around(feed, severity="Extreme")], feed, timestamp=now).entity[0].alert
    assert (extreme.effect, extreme.severity_level) == (pb.Alert.REDUCED_SERVICE, pb.Alert.SEVERE)
    chosen = alerts_feed([warning_around(feed, effect="DETOUR")], feed, timestamp=now).entity[0].alert
    assert chosen.effect == pb.Alert.DETOUR
    far = [[(31.0, 121.0), (31.0, 121.01), (31.01, 121.01), (31.0, 121.0)]]
    with pytest.raises(ValueError, match="holds no stop"):
        alerts_feed([warning_around(feed, polygons=far)], feed, timestamp=now)
    with pytest.raises(ValueError, match="severity 'Catastrophic'"):
        alerts_feed([warning_around(feed, severity="Catastrophic")], feed, timestamp=now)


# ---------------------------------------------------------------- an independent validator


@pytest.mark.timeout(300)
def test_the_feeds_pass_an_independent_gtfs_rt_validator(
    feed: Feed, now: int, vehicles: list[VehicleObservation], tmp_path: Path
) -> None:
    """gtfs-rt-validator (PyPI): the three feeds against the static zip they belong to, at the feeds' time."""
    api = pytest.importorskip(
        "gtfs_rt_validator.api", reason="the gtfs-rt-validator package (dev dependency) is not installed"
    )
    (tmp_path / "static.zip").write_bytes(write_zip(feed))
    history = simulate(feed, first_date=dt.date(2026, 2, 23), days=5)
    model = RunTimeModel.learn([t for day in history for t in day], feed.schedules)
    feeds = {
        "tu": build_trip_updates(feed, vehicles, now=now, model=model).message,
        "vp": vehicle_positions_feed(vehicles, timestamp=now),
        "sa": alerts_feed([warning_around(feed, onset=now - 600, expires=now + 7200)], feed, timestamp=now),
    }
    for role, message in feeds.items():
        (tmp_path / f"{role}.pb").write_bytes(to_protobuf(message))
    request = api.Request(
        mode=api.Mode.MODERN,
        gtfs=tmp_path / "static.zip",
        inputs=api.resolve_roles({role: str(tmp_path / f"{role}.pb") for role in feeds}),
        at=dt.datetime.fromtimestamp(now, dt.UTC),
    )
    result = api.validate(request)
    result.write(tmp_path / "report")
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert result.error_ids() == ()
    assert [n["code"] for n in report["notices"]] == []  # not even a warning
    assert json.loads((tmp_path / "report" / "system_errors.json").read_text(encoding="utf-8"))["notices"] == []
