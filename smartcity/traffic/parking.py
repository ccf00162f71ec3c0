"""Parking guidance: car parks with their capacity, park-and-ride flag and the stations they serve; free spaces
from the occupancy datastream each one has in the sensing hub; the nearest with room first. Never commits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core import audit
from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound, Problem
from smartcity.traffic.models import CarPark
from smartcity.traffic.schemas import CarParkIn

EARTH_RADIUS_M = 6_371_008.8
STALE_AFTER = timedelta(minutes=30)  # an occupancy older than this is shown, but not trusted for guidance
OCCUPANCY_QUANTITY = "occupancy"  # what the sensing hub's car-park datastreams measure (occupied spaces)


@dataclass(frozen=True)
class Availability:
    """A car park as guidance shows it: free spaces from its latest occupancy, and how old that is."""

    car_park: CarPark
    occupied: float | None
    observed_at: datetime | None
    distance_m: float | None = None

    @property
    def free(self) -> int | None:
        if self.occupied is None:
            return None
        return max(0, self.car_park.capacity - round(self.occupied))

    @property
    def stale(self) -> bool:
        return self.observed_at is None or utcnow() - self.observed_at > STALE_AFTER


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine on the mean Earth radius): metres of error at city scale."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def register(session: Session, body: CarParkIn) -> CarPark:
    """Add a car park or replace the one with the same code. 422 when its occupancy datastream is not a
    numeric datastream of the sensing hub."""
    from smartcity.places import lookup
    from smartcity.sensing import service as sensing

    if body.datastream_id is not None and not sensing.numeric_datastreams(session, {body.datastream_id}):
        raise Problem(
            422,
            f"Datastream {body.datastream_id} does not exist or does not hold numbers (occupied spaces).",
            errors=[{"field": "datastream_id", "message": "no such numeric datastream"}],
        )
    district = lookup.locate_many(session, [body.lon], [body.lat])[0].district
    values = {
        **body.model_dump(exclude={"stations"}),
        "stations": json.dumps([s.model_dump() for s in body.stations], ensure_ascii=False),
        "district_code": district.code if district else None,
    }
    car_park = session.scalar(select(CarPark).where(CarPark.code == body.code))
    if car_park is None:
        car_park = CarPark(**values)
        session.add(car_park)
    else:
        for key, value in values.items():
            setattr(car_park, key, value)
    session.flush()
    return car_park


def sync_from_sensing(session: Session) -> int:
    """Register every sensing station that measures car-park occupancy and states its capacity (the demo
    city's car parks, or a city's own), keyed by the station's code. Returns how many were registered."""
    from smartcity.sensing import service as sensing

    count = 0
    for stream in sensing.datastreams_measuring(session, OCCUPANCY_QUANTITY):
        p = stream.properties
        point = sensing.station_point(session, stream.datastream_id)
        if not p.get("capacity") or point is None:
            continue
        stations = []
        if p.get("metro_station"):
            stations = [{"name": p["metro_station"], "name_en": p.get("metro_station_en", ""),
                         "lines": [str(line) for line in p.get("metro_lines", [])]}]  # fmt: skip
        body = CarParkIn(
            code=str(p.get("code") or f"DS-{stream.datastream_id}"),
            name=stream.station,
            name_en=str(p.get("name_en", "")),
            capacity=int(p["capacity"]),
            lon=point[0],
            lat=point[1],
            park_and_ride=bool(p.get("park_and_ride")),
            stations=stations,
            datastream_id=stream.datastream_id,
            synthetic=bool(p.get("synthetic")),
        )
        register(session, body)
        count += 1
    if count:
        audit.append(session, "traffic.car_parks_synchronised", "traffic_car_park", None, after={"count": count})
    return count


def _availability(session: Session, car_parks: list[CarPark]) -> dict[int, tuple[float | None, datetime | None]]:
    from smartcity.sensing import service as sensing

    ids = [c.datastream_id for c in car_parks if c.datastream_id is not None]
    found: dict[int, tuple[float | None, datetime | None]] = {}
    for stream in sensing.latest(session, ids) if ids else []:
        value = json.loads(stream.latest_result) if stream.latest_result else None
        found[stream.id] = (float(value) if isinstance(value, int | float) else None, stream.latest_time)
    return found


def listing(session: Session, *, park_and_ride: bool | None = None) -> list[Availability]:
    statement = select(CarPark).order_by(CarPark.code)
    if park_and_ride is not None:
        statement = statement.where(CarPark.park_and_ride.is_(park_and_ride))
    car_parks = list(session.scalars(statement))
    latest = _availability(session, car_parks)
    return [Availability(c, *latest.get(c.datastream_id or -1, (None, None))) for c in car_parks]


def nearby(
    session: Session, lon: float, lat: float, radius_m: float, *, park_and_ride: bool | None = None, limit: int = 20
) -> list[Availability]:
    """Car parks within ``radius_m`` that have free spaces by a fresh reading, nearest first."""
    found = []
    for item in listing(session, park_and_ride=park_and_ride):
        distance = distance_m(lon, lat, item.car_park.lon, item.car_park.lat)
        if distance <= radius_m and not item.stale and (item.free or 0) > 0:
            found.append(Availability(item.car_park, item.occupied, item.observed_at, distance))
    found.sort(key=lambda a: a.distance_m or 0.0)
    return found[:limit]


def get(session: Session, code: str) -> CarPark:
    car_park = session.scalar(select(CarPark).where(CarPark.code == code))
    if car_park is None:
        raise NotFound("car park", code)
    return car_park


def history(session: Session, code: str, start: datetime, end: datetime, interval: timedelta) -> list[dict[str, Any]]:
    """Occupancy over a period in intervals (min / max / mean occupied spaces, and the mean share of capacity)."""
    from smartcity.sensing import series

    car_park = get(session, code)
    if car_park.datastream_id is None:
        return []
    return [
        {
            "start": b.start.isoformat(),
            "readings": b.count,
            "occupied_min": b.minimum,
            "occupied_max": b.maximum,
            "occupied_mean": b.mean,
            "occupancy_share": None if b.mean is None else round(b.mean / car_park.capacity, 4),
        }
        for b in series.downsample(session, car_park.datastream_id, start, end, interval)
    ]


def as_json(item: Availability) -> dict[str, Any]:
    c = item.car_park
    return {
        "code": c.code,
        "name": c.name,
        "name_en": c.name_en,
        "capacity": c.capacity,
        "occupied": None if item.occupied is None else round(item.occupied),
        "free": item.free,
        "observed_at": item.observed_at.isoformat() if item.observed_at else None,
        "stale": item.stale,
        "distance_m": None if item.distance_m is None else round(item.distance_m),
        "park_and_ride": c.park_and_ride,
        "stations": json.loads(c.stations),
        "district": c.district_code,
        "location": {"type": "Point", "coordinates": [c.lon, c.lat]},
        "synthetic": c.synthetic,
    }
