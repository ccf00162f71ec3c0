"""Coordinate systems: WGS-84 (storage and APIs), GCJ-02 (Amap and most Chinese web maps), and a metric
projection for areas and the unit-grid lattice.

GCJ-02 is WGS-84 shifted by a published, non-linear offset (up to ~700 m in Shanghai). The forward shift
is the widely documented closed form; the inverse has no closed form, so we iterate the forward shift
until the round trip agrees to 1e-9 degrees (about 0.1 mm). Outside mainland China GCJ-02 equals WGS-84.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

# Krasovsky 1940 ellipsoid, on which the GCJ-02 offset is defined.
_A = 6378245.0
_EE = 0.00669342162296594323
# WGS 84 / UTM zone 51N: Shanghai (120.8°–122.2° E) lies in it; scale error stays under 0.04 %.
METRIC_CRS = "EPSG:32651"
_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_FROM_METRIC = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
# The rough box GCJ-02 applies to (mainland China); coordinates outside cannot be GCJ-02.
CHINA_BOX = (73.66, 3.86, 135.05, 53.55)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    west, south, east, north = CHINA_BOX
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    d_lon, d_lat = _offset(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Invert the GCJ-02 shift by fixed-point iteration (converges in a few steps; the shift is smooth)."""
    target_lon, target_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wgs_lon, wgs_lat = target_lon.copy(), target_lat.copy()
    for _ in range(30):
        gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = gcj_lon - target_lon, gcj_lat - target_lat
        wgs_lon, wgs_lat = wgs_lon - err_lon, wgs_lat - err_lat
        if max(np.max(np.abs(err_lon), initial=0), np.max(np.abs(err_lat), initial=0)) < 1e-9:
            break
    return wgs_lon, wgs_lat


def to_metric(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def from_metric(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return _FROM_METRIC.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


def coords_to_metric(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    """For shapely.transform: an (N, 2) array of lon/lat to metres."""
    x, y = to_metric(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def coords_from_metric(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = from_metric(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def coords_gcj02_to_wgs84(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])
