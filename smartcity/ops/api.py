"""HTTP API of the operations centre: today's figures of an area, the map layers no other module serves (open
cases, active alarms — each only for those who may read that module), where a map click drills down to, and
the live stream of figures (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.web import language_of
from smartcity.ops import live, service, tiles
from smartcity.security import Principal, grant, require

# Every staff role that works from an overview; each tile and layer still needs its module's own permission,
# and the area is limited to the department's (docs/ops.md). Not citizens or devices.
grant("ops.read", "see the operations centre: live map and today's figures of the area in scope", "supervisor",
      "dispatcher", "operator", "inspector", "handler", "viewer", "emergency", "traffic")  # fmt: skip

router = APIRouter(prefix="/api/ops", tags=["operations centre"])
Reader = Annotated[Principal, require("ops.read")]
AreaCode = Annotated[
    str | None,
    Query(pattern=r"^\d{6,15}$", description="division (6, 9, 12 digits) or unit grid (15) code; default: yours"),
]
GEOJSON = "application/geo+json"


def area_json(area: service.Area, language: str) -> dict[str, Any]:
    return {
        "code": area.code,
        "level": area.place.level,
        "name": area.place.label(language),
        "bbox": area.place.bbox,
        "trail": [{"code": p.code, "level": p.level, "name": p.label(language)} for p in area.trail],
        "children": [
            {"code": c.place.code, "level": c.place.level, "name": c.place.label(language), "open_cases": c.count}
            for c in area.children
        ],
    }


@router.get("/figures", summary="Today's key figures of an area, as the tiles show them")
def figures(
    request: Request, session: SessionDep, settings: SettingsDep, principal: Reader, area: AreaCode = None
) -> dict[str, Any]:
    """Tiles of the modules you may read (grid cases, hotline, alarms, warnings, traffic, plan indicators), in
    the page's language, for ``area`` (default: the area your department answers for)."""
    language = language_of(request)
    chosen = service.resolve(session, principal, area)
    snapshot = tiles.snapshot(session, settings, principal, chosen, language)
    return {**snapshot.as_json(), "area": area_json(chosen, language)}


@router.get("/cases", summary="Open cases of an area as GeoJSON points (state, overdue; nothing personal)")
def cases_layer(session: SessionDep, principal: Reader, area: AreaCode = None) -> JSONResponse:
    if not principal.can("cases.read"):
        raise Problem(403, f"Your role ({principal.role.label_en}) may not read cases (cases.read).", code="forbidden")
    chosen = service.resolve(session, principal, area)
    return JSONResponse(service.case_features(session, principal, chosen), media_type=GEOJSON)


@router.get("/alarms", summary="Open, unshelved alarms of an area as GeoJSON points at their stations")
def alarms_layer(session: SessionDep, principal: Reader, area: AreaCode = None) -> JSONResponse:
    if not principal.can("alerts.read"):
        raise Problem(
            403, f"Your role ({principal.role.label_en}) may not read alarms (alerts.read).", code="forbidden"
        )
    chosen = service.resolve(session, principal, area)
    return JSONResponse(service.alarm_features(session, chosen), media_type=GEOJSON)


@router.get("/locate", summary="The place one level below an area that holds a point (a click on the map)")
def locate(
    request: Request,
    session: SessionDep,
    principal: Reader,
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS-84 longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS-84 latitude")],
    area: AreaCode = None,
) -> dict[str, Any]:
    chosen = service.resolve(session, principal, area)
    found = service.child_at(session, principal, chosen, lon, lat)
    return {"code": found.code, "level": found.level, "name": found.label(language_of(request)),
            "href": f"/ops?area={found.code}"}  # fmt: skip


@router.get(
    "/events",
    summary="Live figures of an area (Server-Sent Events, text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def event_stream(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    area: AreaCode = None,
    max_events: Annotated[
        int | None, Query(ge=1, le=1000, description="end the stream after this many figures events")
    ] = None,
) -> StreamingResponse:
    """``figures`` events: the tiles now, then after every change to cases, hotline orders, alarms or warnings
    (within a second) and at least every ``SMARTCITY_OPS_REFRESH_SECONDS``. Each carries ``changed`` (the
    topics and tiles that moved) and ``summary`` (the changed figures in one line, for a polite live region)."""
    chosen = service.resolve(session, principal, area)  # 403/404/422 now, before the stream starts
    language = language_of(request)
    database = request.app.state.database

    def compute() -> tiles.Snapshot:
        with database.session(actor=principal.username) as s:
            return tiles.snapshot(s, settings, principal, chosen, language)

    key = (principal.role.code, principal.department_path, chosen.code, language)
    body = live.stream(key, compute, interval=settings.ops_refresh_seconds, max_events=max_events)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may hold the events back
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
