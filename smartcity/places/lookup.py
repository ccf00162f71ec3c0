"""Locating points: grid → community → street → district → city, for one point or a batch."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core.errors import NotFound, Problem
from smartcity.places import codes, crs, geometry, index
from smartcity.places.models import Division, UnitGrid
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
    """Locations of many points; a point outside the city gets ``grid=None`` and an ``error``."""
    wgs_lon, wgs_lat = _to_wgs84(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), source_crs)
    grid_index = index.CACHE.get(session)
    found = grid_index.locate(wgs_lon, wgs_lat)
    hits = [str(grid_index.codes[i]) for i in found if i >= 0]
    grids = _grids(session, hits)
    divisions = _divisions(session, hits)
    return [
        _location(float(x), float(y), grids.get(str(grid_index.codes[i])) if i >= 0 else None, divisions)
        for x, y, i in zip(wgs_lon, wgs_lat, found, strict=True)
    ]


def locate(session: Session, lon: float, lat: float, source_crs: str = "wgs84") -> Location:
    """The location of one point; 422 when it lies outside the city (never a guess)."""
    location = locate_many(session, [lon], [lat], source_crs)[0]
    if location.grid is None:
        raise Problem(422, f"{OUTSIDE_MESSAGE} ({lon}, {lat} in {source_crs.upper()})", code="outside-city")
    return location


def _grids(session: Session, grid_codes: list[str]) -> dict[str, UnitGrid]:
    grids: dict[str, UnitGrid] = {}
    unique = sorted(set(grid_codes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        grids.update({g.code: g for g in session.scalars(select(UnitGrid).where(UnitGrid.code.in_(chunk)))})
    return grids


def _divisions(session: Session, grid_codes: list[str]) -> dict[str, Division]:
    wanted: set[str] = set()
    for code in set(grid_codes):
        parts = codes.split_grid_code(code)
        wanted |= {parts["community"], parts["street"], parts["district"], parts["district"][:2] + "0000"}
    found: dict[str, Division] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update({d.code: d for d in session.scalars(select(Division).where(Division.code.in_(chunk)))})
    return found


def _ref(divisions: dict[str, Division], code: str) -> DivisionRef | None:
    division = divisions.get(code)
    return DivisionRef.model_validate(division) if division is not None else None


def _location(lon: float, lat: float, grid: UnitGrid | None, divisions: dict[str, Division]) -> Location:
    if grid is None:
        return Location(
            point=[lon, lat], grid=None, community=None, street=None, district=None, city=None, error=OUTSIDE_MESSAGE
        )
    parts = codes.split_grid_code(grid.code)
    return Location(
        point=[lon, lat],
        grid=GridRef(code=grid.code, area_m2=grid.area_m2, centroid=[grid.centroid_lon, grid.centroid_lat]),
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
    divisions = _divisions(session, [code])
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
