"""HTTP API of the places module: locate points, read grids and divisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from smartcity.core.deps import SessionDep
from smartcity.places import lookup, schemas, service
from smartcity.places.models import LEVELS, Division
from smartcity.places.schemas import Crs
from smartcity.security import Principal, grant, require

grant(
    "places.read",
    "locate points and read divisions and unit grids",
    "supervisor",
    "dispatcher",
    "operator",
    "inspector",
    "handler",
    "viewer",
    "citizen",
    "device",
)

router = APIRouter(prefix="/api/places", tags=["places"])


@router.get("/locate", response_model=schemas.Location, summary="Unit grid and divisions of a point")
def locate(
    session: SessionDep,
    _: Annotated[Principal, require("places.read")],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude")],
    crs: Annotated[Crs, Query(description="wgs84 (default) or gcj02")] = "wgs84",
) -> schemas.Location:
    """422 when the point lies outside every unit grid of the city."""
    return lookup.locate(session, lon, lat, crs)


@router.post("/locate", response_model=list[schemas.Location], summary="Locate up to 10,000 points at once")
def locate_batch(
    body: schemas.LocateBatch, session: SessionDep, _: Annotated[Principal, require("places.read")]
) -> list[schemas.Location]:
    """One answer per point, in order; a point outside the city has ``grid: null`` and an ``error``."""
    lon = [p[0] for p in body.points]
    lat = [p[1] for p in body.points]
    return lookup.locate_many(session, lon, lat, body.crs)


@router.get("/grids/{code}", response_model=schemas.GridOut, summary="A unit grid by its 15-digit code")
def grid(code: str, session: SessionDep, _: Annotated[Principal, require("places.read")]) -> schemas.GridOut:
    return lookup.grid_detail(session, code)


def _division_out(division: Division) -> schemas.DivisionOut:
    return schemas.DivisionOut(
        code=division.code,
        name=division.name,
        name_en=division.name_en,
        level=division.level,
        synthetic=division.synthetic,
        parent_code=division.parent_code,
        area_m2=division.area_m2,
        source=division.source,
        bbox=[division.min_lon, division.min_lat, division.max_lon, division.max_lat],
    )


@router.get("/divisions", response_model=list[schemas.DivisionOut], summary="Divisions by level or parent")
def divisions(
    session: SessionDep,
    _: Annotated[Principal, require("places.read")],
    level: Annotated[str | None, Query(pattern="^(" + "|".join(LEVELS) + ")$")] = None,
    parent: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> list[schemas.DivisionOut]:
    return [_division_out(d) for d in service.list_divisions(session, level=level, parent_code=parent)]


@router.get("/divisions/{code}", response_model=schemas.DivisionOut)
def division(code: str, session: SessionDep, _: Annotated[Principal, require("places.read")]) -> schemas.DivisionOut:
    return _division_out(service.get_division(session, code))
