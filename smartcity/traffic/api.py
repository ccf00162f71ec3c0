"""HTTP API of the traffic module: the traffic state index and segment levels, probe-vehicle points, the road
network, and parking guidance. Traffic information and parking are open data; changing them is not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.security import Principal, grant, public, require
from smartcity.traffic import parking
from smartcity.traffic.schemas import CarParkIn

grant("traffic.read", "see traffic analyses (congestion duration, frequently congested segments)", "supervisor",
      "dispatcher", "operator", "viewer", "emergency", "traffic")  # fmt: skip
grant("traffic.manage", "import road networks and GTFS feeds, compute the traffic index, register car parks",
      "traffic")  # fmt: skip
grant("traffic.probes", "send probe-vehicle positions and transit vehicle positions", "device", "traffic")

router = APIRouter(prefix="/api/traffic", tags=["traffic"])
Anyone = Annotated[Principal, public()]
Manager = Annotated[Principal, require("traffic.manage")]


# ---------------------------------------------------------------- parking guidance


@router.get("/parking", summary="Car parks with their free spaces (open data)")
def car_parks(
    session: SessionDep, _: Anyone, park_and_ride: Annotated[bool | None, Query(description="only P+R")] = None
) -> list[dict[str, Any]]:
    return [parking.as_json(item) for item in parking.listing(session, park_and_ride=park_and_ride)]


@router.get("/parking/nearby", summary="Car parks with free spaces within a radius, nearest first (open data)")
def car_parks_nearby(
    session: SessionDep,
    _: Anyone,
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS-84 longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS-84 latitude")],
    radius: Annotated[float, Query(gt=0, le=50_000, description="metres")] = 2_000,
    park_and_ride: Annotated[bool | None, Query(description="only P+R")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    found = parking.nearby(session, lon, lat, radius, park_and_ride=park_and_ride, limit=limit)
    return [parking.as_json(item) for item in found]


@router.get("/parking/{code}/occupancy", summary="A car park's occupancy over a period (open data)")
def car_park_history(
    code: str,
    session: SessionDep,
    _: Anyone,
    start: Annotated[datetime | None, Query(alias="from", description="default: 24 h ago")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
    interval: Annotated[int, Query(ge=60, le=86_400, description="seconds")] = 3_600,
) -> dict[str, Any]:
    end = end or datetime.now().astimezone()
    start = start or end - timedelta(hours=24)
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(422, "Give times with their offset, e.g. 2026-07-01T08:00:00+08:00.",
                      errors=[{"field": "from/to", "message": "no offset"}])  # fmt: skip
    car_park = parking.get(session, code)
    return {
        "code": car_park.code,
        "capacity": car_park.capacity,
        "buckets": parking.history(session, code, start, end, timedelta(seconds=interval)),
    }


@router.post("/parking", status_code=201, summary="Register a car park (or replace the one with the same code)")
def register_car_park(session: SessionDep, _: Manager, body: CarParkIn) -> dict[str, Any]:
    car_park = parking.register(session, body)
    return parking.as_json(parking.Availability(car_park, None, None))


@router.post("/parking/sync", summary="Register the sensing hub's car-park stations (occupancy + capacity)")
def sync_car_parks(session: SessionDep, _: Manager) -> dict[str, int]:
    return {"registered": parking.sync_from_sensing(session)}
