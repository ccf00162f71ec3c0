"""Geometry helpers: read and check GeoJSON polygons, convert between coordinate systems, measure."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from smartcity.places import crs

POLYGONAL = ("Polygon", "MultiPolygon")


class GeometryError(ValueError):
    """A geometry that cannot be accepted; the message says why in words a person can act on."""


def read_polygon(geometry: Any) -> BaseGeometry:
    """A shapely (Multi)Polygon from a GeoJSON geometry object, or GeometryError saying what is wrong."""
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGONAL:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise GeometryError(f"geometry must be a Polygon or MultiPolygon, not {kind}")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise GeometryError(f"geometry is malformed: {exc}") from exc
    if geom.is_empty:
        raise GeometryError("geometry is empty")
    return geom


def check_valid(geom: BaseGeometry) -> None:
    if not shapely.is_valid(geom):
        raise GeometryError(f"geometry is invalid: {shapely.is_valid_reason(geom)}")


def check_in_china(geom: BaseGeometry) -> None:
    coords = shapely.get_coordinates(geom)
    if not crs.in_china(coords[:, 0], coords[:, 1]).all():
        raise GeometryError("coordinates lie outside China, so they cannot be GCJ-02; is the CRS wgs84?")


def gcj02_to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, crs.coords_gcj02_to_wgs84)


def to_metric(geom: Any) -> Any:
    """WGS-84 → metres (EPSG:32651); works on one geometry or an array of them."""
    return shapely.transform(geom, crs.coords_to_metric)


def from_metric(geom: Any) -> Any:
    return shapely.transform(geom, crs.coords_from_metric)


def area_m2(geom: BaseGeometry) -> float:
    return float(shapely.area(to_metric(geom)))


def bbox_columns(geom: BaseGeometry) -> dict[str, float]:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat}


def wkb(geom: BaseGeometry) -> bytes:
    return shapely.to_wkb(geom)


def from_wkb(data: bytes) -> BaseGeometry:
    return shapely.from_wkb(data)


def as_geojson(geom: BaseGeometry, precision: int = 7) -> dict[str, Any]:
    """GeoJSON geometry with coordinates rounded to ``precision`` decimals (1e-7° ≈ 1 cm)."""
    rounded = shapely.transform(geom, lambda coords: np.round(coords, precision))
    return shapely.geometry.mapping(rounded)


def round_trip_equal(a: bytes, b: bytes) -> bool:
    return a == b or bool(shapely.equals_exact(from_wkb(a), from_wkb(b), tolerance=1e-9))
