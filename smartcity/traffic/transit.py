"""Public transport: the GTFS feed in force (kept whole as imported, parsed once per process), vehicles' positions
from GTFS-Realtime with the stop arrivals they report (the history the run-time model learns from), arrival
predictions, the GTFS-Realtime feeds and a stop's departure board. Never commits."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound, Problem
from smartcity.traffic import gtfs, prediction, realtime
from smartcity.traffic.models import StopArrival, TransitFeed, VehiclePosition

HISTORY_DAYS = 28  # the run-time model learns from the stop arrivals of the last four weeks
MODEL_TTL_S = 600.0  # relearn at most every ten minutes
FEED_TTL_S = 10.0  # TripUpdates are rebuilt at most every ten seconds (consumers poll)
BOARD_WINDOW = timedelta(minutes=60)
STATUS_CODES = {"INCOMING_AT": 0, "STOPPED_AT": 1, "IN_TRANSIT_TO": 2}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


# ---------------------------------------------------------------- the feed in force


@dataclass(eq=False)
class Loaded:
    """The active feed parsed, with what is derived from it once: the run-time model and the built feeds."""

    feed_id: int
    sha256: str
    feed: gtfs.Feed
    model: prediction.RunTimeModel | None = None
    model_at: float = 0.0
    built: tuple[float, bytes, realtime.TripUpdatesBuild] | None = None


_LOADED: dict[str, Loaded] = {}
_LOCK = threading.Lock()


def import_feed(
    session: Session, content: bytes, *, name: str, imported_by: str, synthetic: bool = False
) -> TransitFeed:
    """Validate a GTFS zip and make it the feed in force (the earlier one stays, inactive). 422 listing every
    problem with its file and line when it is not a valid feed; nothing is stored then."""
    parsed = gtfs.read_feed(content)
    digest = hashlib.sha256(content).hexdigest()
    for other in session.scalars(select(TransitFeed).where(TransitFeed.active.is_(True))):
        other.active = False
    summary = {"agencies": len(parsed.agencies), "stops": len(parsed.stops), "routes": len(parsed.routes),
               "trips": len(parsed.trips), "stop_times": len(parsed.stop_times)}  # fmt: skip
    row = TransitFeed(name=name[:200], sha256=digest, content=content, summary=json.dumps(summary), active=True,
                      synthetic=synthetic, imported_by=imported_by[:64], imported_at=utcnow())  # fmt: skip
    session.add(row)
    session.flush()
    _LOADED[_key(session)] = Loaded(row.id, digest, parsed)
    return row


def _key(session: Session) -> str:
    return str(session.get_bind().url)


def active_row(session: Session) -> TransitFeed:
    row = session.scalar(select(TransitFeed).where(TransitFeed.active.is_(True)).order_by(TransitFeed.id.desc()))
    if row is None:
        raise NotFound("GTFS feed", "active")
    return row


def loaded(session: Session) -> Loaded:
    """The feed in force, parsed once per process (one small query checks that it is still the one in force)."""
    found = session.execute(
        select(TransitFeed.id, TransitFeed.sha256).where(TransitFeed.active.is_(True)).order_by(TransitFeed.id.desc())
    ).first()
    if found is None:
        raise NotFound("GTFS feed", "active")
    with _LOCK:
        current = _LOADED.get(_key(session))
        if current is None or current.feed_id != found.id:
            content = session.scalar(select(TransitFeed.content).where(TransitFeed.id == found.id))
            current = _LOADED[_key(session)] = Loaded(found.id, found.sha256, gtfs.read_feed(content))
    return current


def feeds(session: Session) -> list[TransitFeed]:
    return list(session.scalars(select(TransitFeed).order_by(TransitFeed.id.desc())))


def feed_json(row: TransitFeed) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "sha256": row.sha256, "active": row.active, "synthetic": row.synthetic,
            "imported_by": row.imported_by, "imported_at": row.imported_at.isoformat(),
            **json.loads(row.summary)}  # fmt: skip


# ---------------------------------------------------------------- vehicles


def ingest_vehicle_positions(session: Session, data: bytes | str) -> dict[str, int]:
    """Store a GTFS-Realtime VehiclePositions feed (protobuf or JSON): each vehicle's latest position and delay,
    and a stop arrival for every vehicle that reports being STOPPED_AT a stop. All or nothing: a feed naming an
    unknown trip, route or stop, or missing a required field, is refused (422 listing every entity)."""
    current = loaded(session)
    observations = realtime.parse_vehicle_positions(data, feed=current.feed)
    known = {v.vehicle_id: v for v in session.scalars(select(VehiclePosition))}
    arrivals = []
    stored = 0
    for o in observations:
        if not o.vehicle_id or o.latitude is None or o.longitude is None:
            continue  # a vehicle not in service, or without a position: nothing to show or learn
        placed = _place(current.feed, o)
        row = known.get(o.vehicle_id)
        if row is not None and row.timestamp.timestamp() > o.timestamp:
            continue  # an older report than the one kept
        values = _vehicle_values(o, placed)
        if row is None:
            row = known[o.vehicle_id] = VehiclePosition(vehicle_id=o.vehicle_id, **values)
            session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
        stored += 1
        if placed is not None and placed[1].stopped:
            arrivals.append(_arrival(current.feed, o, placed))
    _add_arrivals(session, arrivals)
    return {"vehicles": stored, "arrivals": len(arrivals)}


def _place(
    feed: gtfs.Feed, o: realtime.VehicleObservation
) -> tuple[gtfs.TripSchedule, prediction.VehicleLocation, int, date] | None:
    schedule = feed.schedules.get(o.trip_id or "")
    if schedule is None:
        return None
    day = gtfs.parse_date(o.start_date) if o.start_date else feed.service_date_for(schedule.trip_id, o.timestamp)
    if day is None:
        return None
    origin = feed.service_origin(day)
    location = prediction.locate(
        schedule, observed_at=o.timestamp, origin=origin, stop_sequence=o.current_stop_sequence,
        stop_id=o.stop_id, status=o.current_status, latitude=o.latitude, longitude=o.longitude,  # type: ignore[arg-type]
    )  # fmt: skip
    return (schedule, location, origin, day) if location is not None else None


def _vehicle_values(o: realtime.VehicleObservation, placed: tuple | None) -> dict[str, Any]:
    delay = None
    if placed is not None:
        schedule, location, origin, _ = placed
        delay = prediction.observed_delay(schedule, location, origin)
    return {
        "label": (o.label or "")[:64],
        "trip_id": o.trip_id or "",
        "route_id": o.route_id or (placed[0].route_id if placed else ""),
        "start_date": o.start_date or (gtfs.format_date(placed[3]) if placed else ""),
        "lat": o.latitude,
        "lon": o.longitude,
        "bearing": o.bearing,
        "speed_mps": o.speed,
        "stop_sequence": o.current_stop_sequence,
        "stop_id": o.stop_id,
        "status": STATUS_CODES.get(o.current_status or "IN_TRANSIT_TO", 2),
        "delay_s": delay,
        "timestamp": datetime.fromtimestamp(o.timestamp, UTC),
    }


def _arrival(feed: gtfs.Feed, o: realtime.VehicleObservation, placed: tuple) -> dict[str, Any]:
    schedule, location, _, day = placed
    return {
        "trip_id": schedule.trip_id,
        "route_id": schedule.route_id,
        "service_date": gtfs.format_date(day),
        "stop_sequence": schedule.stop_sequences[location.index],
        "stop_id": schedule.stop_ids[location.index],
        "scheduled_s": schedule.arrivals[location.index],
        "observed_at": datetime.fromtimestamp(o.timestamp, UTC),
    }


def _add_arrivals(session: Session, rows: list[dict[str, Any]]) -> None:
    """The first report of being at a stop is the arrival; later reports at the same stop change nothing."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StopArrival).on_conflict_do_nothing(
        index_elements=["trip_id", "service_date", "stop_sequence"]
    )
    session.execute(statement, rows)


def vehicles(session: Session) -> list[realtime.VehicleObservation]:
    """The vehicles' latest reports, as GTFS-Realtime reads them."""
    return [
        realtime.VehicleObservation(
            entity_id=v.vehicle_id,
            timestamp=int(v.timestamp.timestamp()),
            vehicle_id=v.vehicle_id,
            label=v.label or None,
            trip_id=v.trip_id or None,
            route_id=v.route_id or None,
            start_date=v.start_date or None,
            latitude=v.lat,
            longitude=v.lon,
            bearing=v.bearing,
            speed=v.speed_mps,
            current_stop_sequence=v.stop_sequence,
            stop_id=v.stop_id,
            current_status=STATUS_NAMES.get(v.status),
        )
        for v in session.scalars(select(VehiclePosition).order_by(VehiclePosition.vehicle_id))
    ]


def add_arrival_history(session: Session, trips: list[prediction.ObservedTrip]) -> int:
    """Store observed runs (a replay, or another system's archive) as stop arrivals; returns the rows given."""
    current = loaded(session)
    rows = []
    for trip in trips:
        schedule = current.feed.schedules[trip.trip_id]
        origin = current.feed.service_origin(trip.service_date)
        service_date = gtfs.format_date(trip.service_date)
        for i, arrived in enumerate(trip.arrivals):
            if arrived is not None:
                rows.append({"trip_id": trip.trip_id, "route_id": schedule.route_id, "service_date": service_date,
                             "stop_sequence": schedule.stop_sequences[i], "stop_id": schedule.stop_ids[i],
                             "scheduled_s": schedule.arrivals[i],
                             "observed_at": datetime.fromtimestamp(origin + arrived, UTC)})  # fmt: skip
    for first in range(0, len(rows), 20_000):
        _add_arrivals(session, rows[first : first + 20_000])
    return len(rows)


# ---------------------------------------------------------------- predictions and feeds


def model(session: Session, now: float | None = None) -> prediction.RunTimeModel | None:
    """The run-time model learned from the stop arrivals of the last four weeks (None without history)."""
    current = loaded(session)
    moment = now if now is not None else time.time()
    if current.model is not None and moment - current.model_at < MODEL_TTL_S:
        return current.model
    since = gtfs.format_date((datetime.fromtimestamp(moment, UTC) - timedelta(days=HISTORY_DAYS)).date())
    runs: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    rows = session.execute(
        select(StopArrival.trip_id, StopArrival.service_date, StopArrival.stop_sequence, StopArrival.observed_at).where(
            StopArrival.service_date >= since
        )
    )
    for trip_id, service_date, sequence, observed_at in rows:
        runs[(trip_id, service_date)][sequence] = int(observed_at.timestamp())
    trips = [_observed(current.feed, trip_id, day, seen) for (trip_id, day), seen in runs.items()]
    trips = [t for t in trips if t is not None]
    current.model = prediction.RunTimeModel.learn(trips, current.feed.schedules) if trips else None
    current.model_at = moment
    return current.model


def _observed(feed: gtfs.Feed, trip_id: str, day: str, seen: dict[int, int]) -> prediction.ObservedTrip | None:
    schedule = feed.schedules.get(trip_id)
    if schedule is None:
        return None
    service_date = gtfs.parse_date(day)
    origin = feed.service_origin(service_date)
    times = tuple(seen[s] - origin if s in seen else None for s in schedule.stop_sequences)
    return prediction.ObservedTrip(trip_id, service_date, times, times)


def trip_updates(session: Session, now: float | None = None) -> realtime.TripUpdatesBuild:
    """Every vehicle's predicted arrivals at its downstream stops (the run-time model where it has history,
    schedule plus delay elsewhere), rebuilt at most every ten seconds."""
    current = loaded(session)
    moment = now if now is not None else time.time()
    if current.built is not None and moment - current.built[0] < FEED_TTL_S and now is None:
        return current.built[2]
    built = realtime.build_trip_updates(current.feed, vehicles(session), now=int(moment), model=model(session, moment))
    current.built = (moment, realtime.to_protobuf(built.message), built)
    return built


def vehicle_positions_message(session: Session, now: float | None = None) -> Any:
    return realtime.vehicle_positions_feed(vehicles(session), timestamp=int(now if now is not None else time.time()))


def alerts_message(session: Session, now: float | None = None) -> Any:
    """Transit service alerts for the weather warnings in force (alerts module) that touch the feed's stops."""
    from smartcity.alerts import service as alerts_service

    current = loaded(session)
    warnings = [_weather_warning(session, w) for w in alerts_service.warnings_in_force(session)]
    return realtime.alerts_feed(
        [w for w in warnings if w.polygons], current.feed, timestamp=int(now if now is not None else time.time())
    )


def _weather_warning(session: Session, warning: dict[str, Any]) -> realtime.WeatherWarning:
    """A warning's area as CAP polygons (lat, lon): its drawn rings and the outer rings of its districts."""
    from shapely import wkb

    from smartcity.places import service as places

    polygons = [[(lat, lon) for lon, lat in ring] for ring in warning["polygons"]]
    for code in warning["areas"]:
        try:
            shape = wkb.loads(places.get_division(session, code).geometry)
        except NotFound:
            continue
        for part in getattr(shape, "geoms", [shape]):
            polygons.append([(lat, lon) for lon, lat in part.exterior.coords])
    return realtime.WeatherWarning(
        identifier=warning["identifier"],
        headline=warning["headlines"],
        description=warning["descriptions"],
        severity=warning["severity"],
        polygons=polygons,
        onset=warning["onset"],
        expires=warning["expires"],
        url=warning["url"],
    )


# ---------------------------------------------------------------- a stop's departures


@dataclass(frozen=True)
class Departure:
    route: str
    headsign: str
    scheduled: datetime
    predicted: datetime | None  # None: no real-time information for this run
    delay_s: int | None
    trip_id: str
    vehicle: str | None


def stop_or_404(session: Session, stop_id: str) -> gtfs.Stop:
    stop = loaded(session).feed.stop_by_id.get(stop_id)
    if stop is None:
        raise NotFound("stop", stop_id)
    return stop


def departures(session: Session, stop_id: str, now: float | None = None, limit: int = 20) -> list[Departure]:
    """The next departures from a stop within an hour: scheduled, and predicted where a vehicle reports on the
    run (no report is not "on time": the prediction is then left empty)."""
    stop_or_404(session, stop_id)
    current = loaded(session)
    moment = int(now if now is not None else time.time())
    predicted = _predicted_at(trip_updates(session, now).predictions, stop_id)
    found = []
    for run in current.feed.active_trips(moment, before=int(BOARD_WINDOW.total_seconds())):
        schedule = current.feed.schedules[run.trip_id]
        for i, sid in enumerate(schedule.stop_ids[:-1]):  # a trip's last stop has no departure
            if sid != stop_id:
                continue
            scheduled = run.origin + run.offset + schedule.departures[i]
            estimate = predicted.get((run.trip_id, run.start_date, schedule.stop_sequences[i]))
            shown = estimate[0] if estimate else scheduled
            if moment - 60 <= shown <= moment + BOARD_WINDOW.total_seconds():
                found.append(_departure(current.feed, schedule, scheduled, estimate))
    found.sort(key=lambda d: d.predicted or d.scheduled)
    return found[:limit]


def _predicted_at(predictions: list[prediction.TripPrediction], stop_id: str) -> dict[tuple, tuple[int, str | None]]:
    found = {}
    for p in predictions:
        for sequence, sid, departs in zip(p.stop_sequences, p.stop_ids, p.departures, strict=False):
            if sid == stop_id:
                found[(p.trip_id, p.start_date, sequence)] = (departs, p.vehicle_id)
    return found


def _departure(feed: gtfs.Feed, schedule: gtfs.TripSchedule, scheduled: int, estimate: tuple | None) -> Departure:
    route = feed.route_by_id[schedule.route_id]
    return Departure(
        route=route.route_short_name or route.route_long_name or route.route_id,
        headsign=schedule.headsign or "",
        scheduled=datetime.fromtimestamp(scheduled, UTC),
        predicted=datetime.fromtimestamp(estimate[0], UTC) if estimate else None,
        delay_s=estimate[0] - scheduled if estimate else None,
        trip_id=schedule.trip_id,
        vehicle=estimate[1] if estimate else None,
    )


def stops_with_realtime_share(session: Session, now: float | None = None) -> float | None:
    """The share of the feed's stops served in the next hour that have at least one predicted arrival (a plan
    indicator: real-time arrival information at stops)."""
    current = loaded(session)
    moment = int(now if now is not None else time.time())
    served = {sid for run in current.feed.active_trips(moment) for sid in current.feed.schedules[run.trip_id].stop_ids}
    if not served:
        return None
    predicted = {sid for p in trip_updates(session, now).predictions for sid in p.stop_ids}
    return len(served & predicted) / len(served)


def search_stops(session: Session, text: str, limit: int = 20) -> list[gtfs.Stop]:
    """The stop whose id is the text (ids are compared as written), then the stops whose name contains it."""
    wanted = text.strip()
    if not wanted:
        raise Problem(422, "Type part of a stop's name or its id.", errors=[{"field": "q", "message": "empty"}])
    feed = loaded(session).feed
    exact = [feed.stop_by_id[wanted]] if wanted in feed.stop_by_id else []
    named = [s for s in feed.stops if wanted.lower() in (s.stop_name or "").lower() and s.stop_id != wanted]
    return [*exact, *named][:limit]


def arrivals_recorded(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StopArrival)) or 0
