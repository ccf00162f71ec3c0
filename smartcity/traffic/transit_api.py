"""HTTP API of public transport: GTFS feeds (import, the static feed in force), GTFS-Realtime (vehicle positions
in; TripUpdates, VehiclePositions and service Alerts out, protobuf or ``?format=json``) and stop departures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.security import Principal, public, require
from smartcity.traffic import realtime, transit

router = APIRouter(tags=["transit"])
Anyone = Annotated[Principal, public()]
Manager = Annotated[Principal, require("traffic.manage")]
Reader = Annotated[Principal, require("traffic.read")]
Sender = Annotated[Principal, require("traffic.probes")]
Format = Annotated[Literal["pb", "json"], Query(description="json: protobuf's JSON mapping, for debugging")]
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


@router.post("/api/transit/feeds", status_code=201, summary="Import a GTFS static feed (the zip as the body)")
async def import_feed(
    request: Request,
    session: SessionDep,
    principal: Manager,
    name: Annotated[str, Query(min_length=1, max_length=200, description="what the feed is")],
) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith(ZIP_TYPES):
        raise Problem(415, "Send the GTFS feed as the body with Content-Type: application/zip.", code="not-zip")
    content = await request.body()
    row = transit.import_feed(session, content, name=name, imported_by=principal.username)
    return transit.feed_json(row)


@router.get("/api/transit/feeds", summary="The GTFS feeds imported; the one in force is active")
def list_feeds(session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    return [transit.feed_json(row) for row in transit.feeds(session)]


@router.get("/gtfs/static.zip", summary="The GTFS static feed in force (open data)")
def static_feed(request: Request, session: SessionDep, _: Anyone) -> Response:
    row = transit.active_row(session)
    tag = f'"{row.sha256}"'
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(row.content, media_type="application/zip",
                    headers={"ETag": tag, "Content-Disposition": 'attachment; filename="gtfs.zip"'})  # fmt: skip


@router.post("/gtfs-rt/vehicle-positions", summary="Vehicle positions in (GTFS-Realtime protobuf or JSON)")
async def vehicle_positions_in(request: Request, session: SessionDep, _: Sender) -> dict[str, int]:
    body = await request.body()
    data: bytes | str = body.decode("utf-8") if "json" in request.headers.get("content-type", "") else body
    return transit.ingest_vehicle_positions(session, data)


def _feed(message: Any, format: str) -> Response:
    if format == "json":
        return Response(realtime.to_json(message), media_type="application/json")
    return Response(realtime.to_protobuf(message), media_type=realtime.PROTOBUF_MEDIA_TYPE)


@router.get("/gtfs-rt/trip-updates.pb", summary="Predicted arrivals of every vehicle in service (open data)")
def trip_updates(session: SessionDep, _: Anyone, format: Format = "pb") -> Response:
    return _feed(transit.trip_updates(session).message, format)


@router.get("/gtfs-rt/vehicle-positions.pb", summary="Where every vehicle in service is (open data)")
def vehicle_positions(session: SessionDep, _: Anyone, format: Format = "pb") -> Response:
    return _feed(transit.vehicle_positions_message(session), format)


@router.get("/gtfs-rt/alerts.pb", summary="Service alerts from the weather warnings in force (open data)")
def service_alerts(session: SessionDep, _: Anyone, format: Format = "pb") -> Response:
    return _feed(transit.alerts_message(session), format)


@router.get("/api/transit/stops", summary="Stops whose name contains the text, or with that id (open data)")
def stops(
    session: SessionDep, _: Anyone, q: Annotated[str, Query(max_length=100, description="part of a name")] = ""
) -> list[dict[str, Any]]:
    return [_stop_json(s) for s in transit.search_stops(session, q)]


@router.get("/api/transit/stops/{stop_id}/departures", summary="The next departures from a stop (open data)")
def departures(
    stop_id: str, session: SessionDep, _: Anyone, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    stop = transit.stop_or_404(session, stop_id)
    found = transit.departures(session, stop_id, limit=limit)
    return {"stop": _stop_json(stop), "departures": [departure_json(d) for d in found]}


def _stop_json(stop: Any) -> dict[str, Any]:
    return {"id": stop.stop_id, "name": stop.stop_name, "lon": stop.stop_lon, "lat": stop.stop_lat}


def departure_json(d: transit.Departure) -> dict[str, Any]:
    return {
        "route": d.route,
        "headsign": d.headsign,
        "scheduled": d.scheduled.isoformat(),
        "predicted": d.predicted.isoformat() if d.predicted else None,
        "delay_s": d.delay_s,
        "realtime": d.predicted is not None,
        "trip": d.trip_id,
        "vehicle": d.vehicle,
    }
