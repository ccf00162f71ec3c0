"""HTTP API of the traffic module: the traffic state index and segment levels, probe-vehicle points, the road
network, and parking guidance. Traffic information and parking are open data; changing them is not."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.core.schemas import Request
from smartcity.security import Principal, grant, public, require
from smartcity.traffic import parking, service
from smartcity.traffic.schemas import CarParkIn, ProbeBatch

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
    start, end = _period(start, end)
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


# ---------------------------------------------------------------- the road network and the traffic state

Reader = Annotated[Principal, require("traffic.read")]
Prober = Annotated[Principal, require("traffic.probes")]
Scheme = Annotated[str, Query(description="index scheme: beijing_tpi (0–10), tti, shanghai_0_100")]


class NetworkIn(Request):
    source: str = Field(min_length=1, max_length=200, description="where the network comes from")
    replace: bool = Field(False, description="retire the segments this file leaves out")
    network: dict[str, Any] = Field(description="GeoJSON FeatureCollection of LineStrings (docs/traffic.md)")


@router.post("/network", summary="Import road segments (GeoJSON); all or nothing")
def import_network(session: SessionDep, _: Manager, body: NetworkIn) -> dict[str, int]:
    return service.import_network(session, body.network, source=body.source, replace=body.replace)


@router.post("/network/detectors", summary="Attach the sensing hub's road detectors to the segments they stand on")
def link_detectors(session: SessionDep, _: Manager) -> dict[str, int]:
    return {"linked": service.link_detectors(session)}


@router.post("/probes", summary="Probe-vehicle GPS points, map-matched into the cycles' segment speeds")
def probes(session: SessionDep, _: Prober, body: ProbeBatch) -> dict[str, int]:
    return service.ingest_probes(session, body.points)


@router.post("/cycles", summary="Compute the cycle that ended last (the schedule does this every 5 minutes)")
def compute_cycle(session: SessionDep, _: Manager) -> dict[str, Any]:
    cycle = service.compute_cycle(session)
    if cycle is None:
        raise Problem(409, "There is no road network yet; import one first.", code="no-network")
    return {"at": cycle.at.isoformat(), "segments": cycle.segments, "coverage": cycle.coverage}


@router.get("/cycles", summary="The cycles of a period, for a time slider (open data)")
def cycles(
    session: SessionDep,
    _: Anyone,
    start: Annotated[datetime | None, Query(alias="from", description="default: 24 h before `to`")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
) -> list[str]:
    start, end = _period(start, end)
    return [t.isoformat() for t in service.cycle_times(session, start, end)]


@router.get("/index", summary="The index of every district and the city in a cycle (open data)")
def index_now(
    session: SessionDep,
    _: Anyone,
    scheme: Scheme = "beijing_tpi",
    at: Annotated[datetime | None, Query(description="the cycle at or before this time; default: the newest")] = None,
) -> dict[str, Any]:
    cycle = service.cycle_at(session, _aware(at, "at"))
    rows = service.index_of_cycle(session, cycle, scheme)
    return {"at": cycle.at.isoformat(), "scheme": scheme, "areas": [index_json(r) for r in rows]}


@router.get("/index/history", summary="An area's index over a period (open data)")
def index_history(
    session: SessionDep,
    _: Anyone,
    area: Annotated[str, Query(pattern=r"^\d{6}$", description="district code (GB/T 2260), 310000 for the city")],
    scheme: Scheme = "beijing_tpi",
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    start, end = _period(start, end)
    rows = service.index_history(session, scheme, area, start, end)
    return {"area": area, "scheme": scheme, "values": [index_json(r) for r in rows]}


@router.get("/segments", summary="Segments with their speed and level in a cycle, as GeoJSON (open data)")
def segments(
    session: SessionDep,
    _: Anyone,
    at: Annotated[datetime | None, Query(description="the cycle at or before this time; default: the newest")] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north (WGS-84)")] = None,
) -> dict[str, Any]:
    cycle = service.cycle_at(session, _aware(at, "at"))
    return service.segment_features(session, cycle, _bbox(bbox))


@router.get("/levels", summary="The index schemes, their bands and the five segment levels with colours (open data)")
def levels(_: Anyone) -> dict[str, Any]:
    return service.levels_json()


@router.get("/congestion", summary="Congestion duration and frequently congested segments over a period")
def congestion(
    session: SessionDep,
    _: Reader,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    top: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    start, end = _period(start, end)
    report = service.congestion_report(session, start, end, top=top)
    return {"from": start.isoformat(), "to": end.isoformat(), **asdict(report)}


def index_json(row: Any) -> dict[str, Any]:
    return {
        "area": row.area_code,
        "at": row.at.isoformat(),
        "value": row.value,
        "level": row.level,
        "tti": row.tti,
        "congestion_pct": row.congestion_pct,
        "congested_ratio": row.congested_ratio,
        "mean_speed_kmh": row.mean_speed_kmh,
        "coverage": row.coverage,
    }


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise Problem(422, f"Give {name} with its offset, e.g. 2026-07-01T08:00:00+08:00.",
                      errors=[{"field": name, "message": "no offset"}])  # fmt: skip
    return moment


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = _aware(end, "to") or datetime.now(UTC)
    start = _aware(start, "from") or end - timedelta(hours=24)
    if start >= end:
        raise Problem(422, "The period must end after it starts.", errors=[{"field": "from", "message": "after to"}])
    if end - start > timedelta(days=92):
        raise Problem(422, "Ask for at most 92 days at a time.", errors=[{"field": "from", "message": "too long"}])
    return start, end


def _bbox(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        box = tuple(float(part) for part in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise Problem(422, "bbox must be west,south,east,north with west < east and south < north.",
                      errors=[{"field": "bbox", "message": "four numbers expected"}])  # fmt: skip
    return box
