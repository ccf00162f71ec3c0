"""Request and response bodies of the places API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from smartcity.core.schemas import Request, Response

Crs = Literal["wgs84", "gcj02"]


class DivisionRef(Response):
    code: str
    name: str
    name_en: str | None
    level: str
    synthetic: bool


class DivisionOut(DivisionRef):
    parent_code: str | None
    area_m2: float
    source: str
    bbox: list[float] = Field(description="min lon, min lat, max lon, max lat (WGS-84)")


class GridRef(Response):
    code: str
    area_m2: float
    centroid: list[float] = Field(description="lon, lat (WGS-84)")


class Location(Response):
    """A point's unit grid and the divisions above it."""

    point: list[float] = Field(description="the point in WGS-84 (converted when given in GCJ-02)")
    grid: GridRef | None
    community: DivisionRef | None
    street: DivisionRef | None
    district: DivisionRef | None
    city: DivisionRef | None
    error: str | None = Field(None, description="why the point has no grid (only in batch answers)")


class LocateBatch(Request):
    points: list[tuple[float, float]] = Field(min_length=1, max_length=10_000, description="[lon, lat] pairs")
    crs: Crs = "wgs84"


class GridOut(Response):
    code: str
    community_code: str
    area_m2: float
    centroid: list[float]
    source: str
    hierarchy: list[DivisionRef]
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon (WGS-84)")


class LayerIn(Request):
    code: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[0-9A-Za-z_\-]+$",
        description="the beat's or responsibility's code; versions share it",
    )
    name: str = Field(min_length=1, max_length=120)
    members: list[str] = Field(
        min_length=1, max_length=5000, description="division (6/9/12 digits) or grid (15 digits) codes it covers"
    )
    valid_from: date
    category: str = Field("*", min_length=1, max_length=16, description="case category code, or * for all")
    department_code: str | None = Field(None, max_length=32)
    person: str | None = Field(None, max_length=64, description="the account patrolling or answering")


class LayerOut(Response):
    kind: str
    code: str
    name: str
    category: str
    department_code: str | None
    person: str | None
    valid_from: date
    valid_to: date | None
    members: list[str]
