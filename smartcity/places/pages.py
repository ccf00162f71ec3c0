"""Web pages of the places module: the city map with its layers, and a point lookup that needs no map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, add_templates, render
from smartcity.places import lookup, service
from smartcity.places.schemas import Crs
from smartcity.security import Principal, require

STATIC_DIR = Path(__file__).resolve().parent / "static"
add_templates(Path(__file__).resolve().parent / "templates")
add_nav(NavItem("City map", "places_map", "places.read", order=100))

router = APIRouter(include_in_schema=False)


@router.get("/places/map", name="places_map")
def city_map(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("places.read")],
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    crs: Annotated[Crs, Query()] = "wgs84",
) -> Response:
    """The map; with lon/lat it also answers which grid holds that point, as text (no map needed)."""
    location, error = None, None
    if lon is not None and lat is not None:
        try:
            location = lookup.locate(session, lon, lat, crs)
        except Problem as problem:
            error = problem.detail
    districts = service.list_divisions(session, level="district")
    return render(
        request,
        "places/map.html",
        {
            "show_cases": principal.can("cases.read"),
            "districts": districts,
            "location": location,
            "error": error,
            "query": {"lon": lon, "lat": lat, "crs": crs},
        },
        status=422 if error else 200,
    )
