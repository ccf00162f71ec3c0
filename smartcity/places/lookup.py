"""Locating points: grid → community → street → district → city, for one point or a batch."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core.errors import NotFound, Problem
from smartcity.places import codes, crs, geometry, index
from smartcity.places.models import UnitGrid
from smartcity.places.schemas import DivisionRef, GridOut, GridRef, Location

OUTSIDE_MESSAGE = "The point lies outside every unit grid of the city."


def _to_wgs84(lon: np.ndarray, lat: np.ndarray, source_crs: str) -> tuple[np.ndarray, np.ndarray]:
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise Problem(
            422, "Coordinates must be finite numbers.", errors=[{"field": "lon/lat", "message": "not finite"}]
        )
    if np.any(np.abs(lon) > 180) or np.any(np.abs(lat) > 90):
        raise Problem(
            422,
            "Longitude must lie within ±180 and latitude within ±90 degrees.",
            errors=[{"field": "lon/lat", "message": "out of range"}],
        )
    if source_crs == "gcj02":
        return crs.gcj02_to_wgs84(lon, lat)
    return lon, lat


def locate_many(session: Session, lon: list[float], lat: list[float], source_crs: str = "wgs84") -> list[Location]:
    """Locations of many points; a point outside the city gets ``grid=None`` and an ``error``.

    Answers come from the in-memory index alone (one query checks that it is current)."""
    wgs_lon, wgs_lat = _to_wgs84(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), source_crs)
    grid_index = index.CACHE.get(session)
    found = grid_index.locate(wgs_lon, wgs_lat)
    return [_location(grid_index, float(x), float(y), int(i)) for x, y, i in zip(wgs_lon, wgs_lat, found, strict=True)]


def locate(session: Session, lon: float, lat: float, source_crs: str = "wgs84") -> Location:
    """The location of one point; 422 when it lies outside the city (never a guess)."""
    location = locate_many(session, [lon], [lat], source_crs)[0]
    if location.grid is None:
        raise Problem(422, f"{OUTSIDE_MESSAGE} ({lon}, {lat} in {source_crs.upper()})", code="outside-city")
    return location


def _ref(divisions: dict[str, index.DivisionFacts], code: str) -> DivisionRef | None:
    facts = divisions.get(code)
    return DivisionRef.model_validate(facts, from_attributes=True) if facts is not None else None


def _location(grid_index: index.GridIndex, lon: float, lat: float, position: int) -> Location:
    if position < 0:
        return Location(
            point=[lon, lat], grid=None, community=None, street=None, district=None, city=None, error=OUTSIDE_MESSAGE
        )
    code = str(grid_index.codes[position])
    parts = codes.split_grid_code(code)
    divisions = grid_index.divisions
    centroid = grid_index.centroids[position]
    return Location(
        point=[lon, lat],
        grid=GridRef(
            code=code, area_m2=float(grid_index.area_m2[position]), centroid=[float(centroid[0]), float(centroid[1])]
        ),
        community=_ref(divisions, parts["community"]),
        street=_ref(divisions, parts["street"]),
        district=_ref(divisions, parts["district"]),
        city=_ref(divisions, parts["district"][:2] + "0000"),
    )


def grid_detail(session: Session, code: str) -> GridOut:
    """A grid's polygon, centroid and hierarchy by its 15-digit code."""
    try:
        codes.split_grid_code(code)
    except codes.CodeError as exc:
        raise Problem(422, str(exc), errors=[{"field": "code", "message": str(exc)}]) from exc
    grid = session.scalar(select(UnitGrid).where(UnitGrid.code == code))
    if grid is None:
        raise NotFound("unit grid", code)
    divisions = index.CACHE.get(session).divisions
    parts = codes.split_grid_code(code)
    chain = [parts["district"][:2] + "0000", parts["district"], parts["street"], parts["community"]]
    return GridOut(
        code=grid.code,
        community_code=grid.community_code,
        area_m2=grid.area_m2,
        centroid=[grid.centroid_lon, grid.centroid_lat],
        source=grid.source,
        hierarchy=[r for r in (_ref(divisions, c) for c in chain) if r is not None],
        geometry=geometry.as_geojson(geometry.from_wkb(grid.geometry)),
    )
