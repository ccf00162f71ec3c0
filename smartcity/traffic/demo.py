"""The demo city's traffic: the synthetic road network (labelled synthetic), its road detectors and car parks
taken from the sensing hub, 24 h of past cycles, and live probe vehicles every cycle — all generated here and
sent through the same services a city's real feeds use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from smartcity.core.db import Database, utcnow
from smartcity.traffic import parking, prediction, service, synthetic
from smartcity.traffic.schemas import ProbePoint

SOURCE = "synthetic demo network (smartcity.traffic.synthetic; not Shanghai's real roads)"
LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai, no daylight saving: the synthetic day runs on local time
DEMO_VEHICLES = 400  # probe cars driving each live cycle


def ensure_network(session: Session) -> dict[str, int]:
    """Import the synthetic network once, attach the demo road detectors and register the car parks."""
    if service.current_network(session).segments:
        return {"added": 0, "detectors": 0, "car_parks": 0}
    report = service.import_network(session, synthetic.synthetic_network(), source=SOURCE, synthetic=True)
    detectors = service.link_detectors(session)
    car_parks = parking.sync_from_sensing(session)
    return {"added": report["added"], "detectors": detectors, "car_parks": car_parks}


def _minute_of_day(end: datetime) -> float:
    local = end + LOCAL_OFFSET
    return local.hour * 60 + local.minute


def _day(end: datetime) -> int:
    return int((end + LOCAL_OFFSET).timestamp() // 86_400)


def backfill(database: Database, hours: float = 24) -> Iterator[int]:
    """Past cycles from synthetic speeds (yields after each, for a progress bar); cycles already stored stay."""
    last = service.cycle_end(utcnow()) - service.CYCLE
    count = int(hours * 60 // 5)
    for k in range(count, 0, -1):
        end = last - service.CYCLE * (k - 1)
        with database.session(actor="demo") as session:
            if not service.cycle_times(session, end - timedelta(seconds=1), end):
                net = service.current_network(session)
                speeds = synthetic.synthetic_speeds(net.arrays, _minute_of_day(end), day=_day(end))
                service.record_cycle(session, end, speeds)
        yield 1


def probe_points(session: Session, start: datetime, seconds: float = 300.0) -> list[ProbePoint]:
    """Synthetic probe cars driving the network at this time of day's synthetic speeds."""
    net = service.current_network(session)
    end = start + timedelta(seconds=seconds)
    speeds = synthetic.synthetic_speeds(net.arrays, _minute_of_day(end), day=_day(end), missing_share=0.0)
    probes = synthetic.synthetic_probes(
        net.segments, speeds, vehicles=DEMO_VEHICLES, duration_s=seconds, start_s=start.timestamp(),
        seed=int(start.timestamp()) % 100_000,
    )  # fmt: skip
    return [
        ProbePoint(
            vehicle=f"demo-taxi-{int(v)}",
            lon=float(lon),
            lat=float(lat),
            time=datetime.fromtimestamp(float(t), start.tzinfo),
            heading=float(h) % 360,
            speed_kmh=min(float(s) * 3.6, 250.0),
        )
        for v, t, lon, lat, h, s in zip(
            probes.vehicle, probes.t_s, probes.lon, probes.lat, probes.heading_deg, probes.speed_ms, strict=True
        )
    ]


# ---------------------------------------------------------------- buses


def ensure_transit(session: Session) -> int:
    """Import the synthetic demo GTFS feed once; returns its routes (0 when a feed is already in force)."""
    from smartcity.core.errors import NotFound
    from smartcity.traffic import gtfs_demo, transit

    try:
        transit.active_row(session)
        return 0
    except NotFound:
        pass
    row = transit.import_feed(session, gtfs_demo.demo_zip(), name="demo feed (synthetic)", imported_by="demo",
                              synthetic=True)  # fmt: skip
    return len(transit.loaded(session).feed.routes) if row else 0


def _local_day(moment: datetime) -> date:
    return (moment + LOCAL_OFFSET).date()


_RUNS: dict[tuple[int, date], list[prediction.ObservedTrip]] = {}


def _runs(current: Any, day: date) -> list[prediction.ObservedTrip]:
    """How the demo's buses really run on a day (the replay simulator: the same every time for a day)."""
    key = (current.feed_id, day)
    if key not in _RUNS:
        if len(_RUNS) > 4:
            _RUNS.clear()
        _RUNS[key] = prediction.simulate(current.feed, first_date=day, days=1, seed=day.toordinal())[0]
    return _RUNS[key]


def backfill_arrivals(database: Database) -> int:
    """Yesterday's simulated runs as stop arrivals: the history the run-time model learns from."""
    from smartcity.traffic import transit

    with database.session(actor="demo") as session:
        if transit.arrivals_recorded(session):
            return 0
        yesterday = _local_day(utcnow()) - timedelta(days=1)
        return transit.add_arrival_history(session, _runs(transit.loaded(session), yesterday))


def vehicle_report(session: Session, now: datetime) -> bytes:
    """A GTFS-Realtime VehiclePositions feed of the demo's buses at ``now``, as an AVL system would send it."""
    from smartcity.traffic import realtime, transit

    current = transit.loaded(session)
    moment = int(now.timestamp())
    found = []
    for day in (_local_day(now) - timedelta(days=1), _local_day(now)):
        origin = current.feed.service_origin(day)
        for run in _runs(current, day):
            observed = _bus(current.feed.schedules[run.trip_id], run, moment - origin, moment)
            if observed is not None:
                found.append(observed)
    return realtime.to_protobuf(realtime.vehicle_positions_feed(found, timestamp=moment))


def _bus(schedule, run: prediction.ObservedTrip, t: int, moment: int):  # type: ignore[no-untyped-def]
    """Where a run is at ``t`` seconds after its day's origin: stopped at a stop or between two (None when it
    is not running, or its observations around ``t`` are missing)."""
    from smartcity.traffic import realtime

    arrivals, departures = run.arrivals, run.departures
    if departures[0] is None or arrivals[-1] is None or not departures[0] <= t <= arrivals[-1]:
        return None
    i = max(k for k, a in enumerate(arrivals) if a is not None and a <= t)
    common = {"entity_id": f"bus-{run.trip_id}", "timestamp": moment, "vehicle_id": f"bus-{run.trip_id}",
              "label": schedule.route_id, "trip_id": run.trip_id, "route_id": schedule.route_id,
              "start_date": gtfs_date(run.service_date)}  # fmt: skip
    left = departures[i]
    if left is None or t <= left:
        return realtime.VehicleObservation(**common, latitude=schedule.lats[i], longitude=schedule.lons[i],
                                           current_stop_sequence=schedule.stop_sequences[i],
                                           stop_id=schedule.stop_ids[i], current_status="STOPPED_AT")  # fmt: skip
    following = next((k for k in range(i + 1, len(arrivals)) if arrivals[k] is not None), None)
    if following is None:
        return None
    share = (t - left) / max(1, arrivals[following] - left)
    lat = schedule.lats[i] + share * (schedule.lats[following] - schedule.lats[i])
    lon = schedule.lons[i] + share * (schedule.lons[following] - schedule.lons[i])
    return realtime.VehicleObservation(
        **common, latitude=lat, longitude=lon, current_stop_sequence=schedule.stop_sequences[following],
        stop_id=schedule.stop_ids[following], current_status="IN_TRANSIT_TO",
    )  # fmt: skip


def gtfs_date(day: date) -> str:
    return day.strftime("%Y%m%d")
