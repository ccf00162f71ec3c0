"""Road segments: parsed and checked from a GeoJSON FeatureCollection of LineStrings, and packed into arrays.

A segment is one directed or two-way stretch of road between junctions, the unit the traffic index classifies.
Bad input is rejected whole: every problem of every feature is collected into one ``NetworkError`` and no segment
is returned (docs/architecture: "nothing half-written").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

# The class code of a road class is its position here (SegmentArrays.class_code, the scheme file's order).
ROAD_CLASSES: tuple[str, ...] = ("expressway", "arterial", "secondary", "branch")
DIRECTIONS: tuple[str, ...] = ("both", "forward")  # "forward": one-way, in the order of the coordinates
# Free-flow speed when a feature gives none: the middle-to-upper design speeds of CJJ 37-2012 (快速路 60–100,
# 主干路 40–60, 次干路 30–50, 支路 20–40 km/h) [M], kept above each class's 畅通 threshold so a free road can be 畅通.
DEFAULT_FREE_FLOW_KMH: dict[str, float] = {"expressway": 80.0, "arterial": 55.0, "secondary": 45.0, "branch": 40.0}
_GEOD = Geod(ellps="WGS84")
_EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude, for the planar backtrack test only


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    road_class: str  # one of ROAD_CLASSES
    direction: str  # one of DIRECTIONS
    length_m: float
    free_flow_kmh: float
    geometry: tuple[tuple[float, float], ...]  # (lon, lat) WGS-84, at least two points


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: which feature (position and id when known), which field, what."""

    index: int | None
    feature_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = "collection" if self.index is None else f"feature {self.index}"
        if self.feature_id is not None:
            where += f" (id {self.feature_id})"
        return f"{where}: {self.field}: {self.message}"


class NetworkError(ValueError):
    """The road network was refused; ``problems`` lists every problem found, in feature order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the road network:\n" + "\n".join(map(str, problems)))


@dataclass(frozen=True, eq=False)
class SegmentArrays:
    """The segments as parallel arrays (position i is segment i of the list packed), for vectorised index work."""

    ids: tuple[str, ...]
    class_code: NDArray[np.int8]  # position in ROAD_CLASSES
    length_m: NDArray[np.float64]
    free_flow_kmh: NDArray[np.float64]
    mid_lon: NDArray[np.float64]  # the point halfway along, to place a segment in a district or ring
    mid_lat: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[str]) -> NDArray[np.intp]:
        """Positions of the given segment ids; raises KeyError naming the first unknown id."""
        lookup = {sid: i for i, sid in enumerate(self.ids)}
        return np.array([lookup[sid] for sid in ids], dtype=np.intp)


def parse_feature_collection(doc: Any) -> list[Segment]:
    """The segments of a GeoJSON FeatureCollection (a parsed JSON object); raises NetworkError listing all problems."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        raise NetworkError([Problem(None, None, "type", "the document must be a GeoJSON FeatureCollection")])
    features = doc.get("features")
    if not isinstance(features, list):
        raise NetworkError([Problem(None, None, "features", "must be a list of features")])
    segments: list[Segment] = []
    first_seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        segment = _parse_feature(index, feature, problems)
        if segment is None:
            continue
        if segment.id in first_seen:
            problems.append(
                Problem(
                    index, segment.id, "properties.id", f"duplicate id, first used by feature {first_seen[segment.id]}"
                )
            )
            continue
        first_seen[segment.id] = index
        segments.append(segment)
    if problems:
        raise NetworkError(problems)
    return segments


def _parse_feature(index: int, feature: Any, problems: list[Problem]) -> Segment | None:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        problems.append(Problem(index, None, "type", "must be a GeoJSON Feature"))
        return None
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        problems.append(Problem(index, None, "properties", "must be an object"))
        props = {}
    before = len(problems)
    sid = _feature_id(index, props, problems)
    coords = _coordinates(index, sid, feature.get("geometry"), problems)
    road_class = _choice(index, sid, props, "road_class", ROAD_CLASSES, None, problems)
    direction = _choice(index, sid, props, "direction", DIRECTIONS, "both", problems)
    name = props.get("name", "")
    if not isinstance(name, str):
        problems.append(Problem(index, sid, "properties.name", "must be a string"))
    free_flow = _positive(index, sid, props, "free_flow_kmh", problems)
    length = _positive(index, sid, props, "length_m", problems)
    if len(problems) > before or sid is None or coords is None or road_class is None or direction is None:
        return None
    if length is None:
        lons, lats = zip(*coords, strict=True)
        length = float(_GEOD.line_length(lons, lats))
    return Segment(
        id=sid,
        name=name,
        road_class=road_class,
        direction=direction,
        length_m=length,
        free_flow_kmh=free_flow if free_flow is not None else DEFAULT_FREE_FLOW_KMH[road_class],
        geometry=coords,
    )


def _feature_id(index: int, props: Mapping[str, Any], problems: list[Problem]) -> str | None:
    raw = props.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or (isinstance(raw, str) and not raw.strip()):
        problems.append(Problem(index, None, "properties.id", "must be a non-empty string or an integer"))
        return None
    return str(raw)


def _choice(
    index: int,
    sid: str | None,
    props: Mapping[str, Any],
    name: str,
    allowed: tuple[str, ...],
    default: str | None,
    problems: list[Problem],
) -> str | None:
    value = props.get(name, default)
    if value not in allowed:
        problems.append(Problem(index, sid, f"properties.{name}", f"{value!r} is not one of {', '.join(allowed)}"))
        return None
    return value


def _positive(
    index: int, sid: str | None, props: Mapping[str, Any], name: str, problems: list[Problem]
) -> float | None:
    if props.get(name) is None:
        return None
    value = props[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        problems.append(Problem(index, sid, f"properties.{name}", f"must be a positive number, not {value!r}"))
        return None
    return float(value)


def _coordinates(
    index: int, sid: str | None, geometry: Any, problems: list[Problem]
) -> tuple[tuple[float, float], ...] | None:
    if not isinstance(geometry, Mapping) or geometry.get("type") != "LineString":
        kind = geometry.get("type") if isinstance(geometry, Mapping) else geometry
        problems.append(Problem(index, sid, "geometry.type", f"must be a LineString, not {kind!r}"))
        return None
    raw = geometry.get("coordinates")
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(Problem(index, sid, "geometry.coordinates", "a LineString needs at least 2 positions"))
        return None
    coords: list[tuple[float, float]] = []
    for k, position in enumerate(raw):
        point = _position(position)
        if point is None:
            message = "must be [lon, lat] with -180 ≤ lon ≤ 180 and -90 ≤ lat ≤ 90"
            problems.append(Problem(index, sid, f"geometry.coordinates[{k}]", f"{message}, not {position!r}"))
        else:
            coords.append(point)
    if len(coords) < len(raw):
        return None
    shape_problem = _degenerate(coords)
    if shape_problem:
        problems.append(Problem(index, sid, "geometry.coordinates", shape_problem))
        return None
    return tuple(coords)


def _position(position: Any) -> tuple[float, float] | None:
    if not isinstance(position, list | tuple) or len(position) not in (2, 3):
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in position):
        return None
    lon, lat = float(position[0]), float(position[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    return lon, lat


def _degenerate(coords: list[tuple[float, float]]) -> str | None:
    """Why the line cannot be a road (every point the same, or a leg running straight back), or None."""
    xy = _local_xy(np.asarray(coords))
    legs = np.diff(xy, axis=0)
    legs = legs[np.hypot(legs[:, 0], legs[:, 1]) > 0]  # a repeated position is harmless
    if len(legs) == 0:
        return "zero length: every position is the same point"
    a, b = legs[:-1], legs[1:]
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = (a * b).sum(axis=1)
    norm = np.hypot(a[:, 0], a[:, 1]) * np.hypot(b[:, 0], b[:, 1])
    # a leg that turns back along the previous one (within ~0.1°) overlaps itself: a drawing error, not a road
    if np.any((np.abs(cross) <= 2e-3 * norm) & (dot < 0)):
        return "the line doubles back over itself (self-overlapping)"
    return None


def _local_xy(lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
    scale = math.cos(math.radians(float(lonlat[:, 1].mean())))
    return np.column_stack((lonlat[:, 0] * scale, lonlat[:, 1])) * _EARTH_M_PER_DEG


def to_feature_collection(segments: Sequence[Segment], **extra_properties: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the segments (parsed back unchanged); ``extra_properties`` go on every one."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": s.id,
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.geometry]},
                "properties": {
                    "id": s.id,
                    "name": s.name,
                    "road_class": s.road_class,
                    "direction": s.direction,
                    "length_m": s.length_m,
                    "free_flow_kmh": s.free_flow_kmh,
                    **extra_properties,
                },
            }
            for s in segments
        ],
    }


def pack(segments: Sequence[Segment]) -> SegmentArrays:
    """The segments as arrays, in the same order."""
    mids = [_midpoint(s) for s in segments]
    return SegmentArrays(
        ids=tuple(s.id for s in segments),
        class_code=np.array([ROAD_CLASSES.index(s.road_class) for s in segments], dtype=np.int8),
        length_m=np.array([s.length_m for s in segments], dtype=np.float64),
        free_flow_kmh=np.array([s.free_flow_kmh for s in segments], dtype=np.float64),
        mid_lon=np.array([m[0] for m in mids], dtype=np.float64),
        mid_lat=np.array([m[1] for m in mids], dtype=np.float64),
    )


def _midpoint(segment: Segment) -> tuple[float, float]:
    xy = _local_xy(np.asarray(segment.geometry))
    legs = np.hypot(*np.diff(xy, axis=0).T)
    along = np.concatenate(([0.0], np.cumsum(legs)))
    half = along[-1] / 2
    lon = np.interp(half, along, [p[0] for p in segment.geometry])
    lat = np.interp(half, along, [p[1] for p in segment.geometry])
    return float(lon), float(lat)


def junction_nodes(
    segments: Sequence[Segment], tolerance_m: float = 1.0
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Node numbers of each segment's first and last point: ends within ``tolerance_m`` (on a grid) share a node.

    Ends are snapped to a grid of ``tolerance_m``, so two ends closer than that may still straddle a grid line;
    networks drawn with shared junction coordinates (the usual case, and the synthetic network) are exact.
    """
    ends = np.array([[s.geometry[0], s.geometry[-1]] for s in segments], dtype=np.float64).reshape(-1, 2)
    if len(ends) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cells = np.round(_local_xy(ends) / tolerance_m).astype(np.int64)
    _, node = np.unique(cells, axis=0, return_inverse=True)
    node = node.reshape(-1, 2)
    return node[:, 0].astype(np.int64), node[:, 1].astype(np.int64)
