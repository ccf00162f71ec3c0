"""HTTP API of the places module: locate points, read grids and divisions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from smartcity.core.deps import SessionDep
from smartcity.places import layers, lookup, schemas, service
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

grant("places.manage", "define supervision grids and responsibilities")

router = APIRouter(prefix="/api/places", tags=["places"])
LayerKind = Literal["supervision", "responsibility"]


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


def _layer_out(entry: layers.LayerEntry) -> schemas.LayerOut:
    return schemas.LayerOut(**{**entry.__dict__, "members": list(entry.members)})


@router.post(
    "/layers/{kind}",
    response_model=schemas.LayerOut,
    status_code=201,
    summary="Add a version of a supervision grid or responsibility",
)
def save_layer(
    kind: LayerKind, body: schemas.LayerIn, session: SessionDep, _: Annotated[Principal, require("places.manage")]
) -> schemas.LayerOut:
    """The version in force until ``valid_from`` ends that day; members cover every grid under them."""
    return _layer_out(layers.entry(session, layers.save(session, kind=kind, **body.model_dump())))


@router.get("/layers/{kind}", response_model=list[schemas.LayerOut], summary="Supervision grids or responsibilities")
def list_layers(
    kind: LayerKind,
    session: SessionDep,
    _: Annotated[Principal, require("places.read")],
    at: Annotated[date | None, Query(description="only versions in force that day")] = None,
) -> list[schemas.LayerOut]:
    return [_layer_out(e) for e in layers.list_layers(session, kind, at=at)]


@router.get("/responsible", response_model=schemas.LayerOut, summary="Who answers for a grid")
def responsible(
    session: SessionDep,
    _: Annotated[Principal, require("places.read")],
    grid: Annotated[str, Query(description="15-digit grid code")],
    category: Annotated[str | None, Query(max_length=16, description="case category code")] = None,
    at: Annotated[date | None, Query(description="day (default today)")] = None,
) -> schemas.LayerOut:
    """The most specific responsibility in force: grid before community, street, district; exact category
    before its major class before *. 404 when nobody is responsible."""
    return _layer_out(layers.responsible_for(session, grid, category=category, at=at))


@router.get("/supervision", response_model=list[schemas.LayerOut], summary="Patrol beats covering a grid")
def supervision(
    session: SessionDep,
    _: Annotated[Principal, require("places.read")],
    grid: Annotated[str, Query(description="15-digit grid code")],
    at: Annotated[date | None, Query()] = None,
) -> list[schemas.LayerOut]:
    return [_layer_out(e) for e in layers.supervision_grids_of(session, grid, at=at)]
