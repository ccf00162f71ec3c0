"""A SYNTHETIC demo road network over Shanghai, with made-up speeds and probe vehicles: none of it is real data.

The network is drawn, not surveyed, from a seeded generator, so a given seed always gives the same roads:

- three ring expressways as wobbly ellipses around People's Square (121.475° E, 31.233° N) with radii of about
  4.5 km (Inner Ring), 8 km (Middle Ring) and 15 km (Outer Ring), each as two one-way carriageways 24 m apart;
- four radial expressways drawn roughly where Yan'an Elevated Road (east–west), North–South Elevated Road,
  Humin Elevated Road (south-west) and Yixian Elevated Road (north) run; they pass over the rings and each
  other without joining them (no interchanges are modelled);
- a slightly jittered lattice of two-way surface roads every 350 m: arterials every 1.4 km inside the Outer Ring,
  secondary roads between them inside the Middle Ring and branch roads everywhere inside the Inner Ring. Rivers,
  the Huangpu included, are ignored.

Every feature says ``"synthetic": true`` and names itself "synthetic". Segments run 300–1500 m. The speeds follow
morning and evening peaks, are slower towards the centre and on a fixed set of bottleneck segments, so the same
places jam every day; the probes drive the network at those speeds with GPS noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartcity.traffic.network import Segment, SegmentArrays, junction_nodes

CENTRE = (121.475, 31.233)  # People's Square
DEFAULT_SEED = 8
SOURCE = "smartcity.traffic.synthetic — SYNTHETIC demo network, not real roads"
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0
_COS0 = math.cos(math.radians(CENTRE[1]))
LATTICE_M = 350.0  # spacing of the surface-road lattice: 4 steps (1.4 km) between arterials keep segments ≤ 1.5 km
_JITTER_M = 20.0  # keeps every lattice edge above 300 m
_CARRIAGEWAY_M = 12.0  # each carriageway's distance from the expressway's centre line


@dataclass(frozen=True)
class Ring:
    key: str
    name: str
    semi_axes_km: tuple[float, float]  # east–west, north–south
    free_flow_kmh: float


RINGS = (
    Ring("inner", "内环高架路 Inner Ring", (4.7, 4.3), 80.0),
    Ring("middle", "中环路 Middle Ring", (8.4, 7.6), 80.0),
    Ring("outer", "外环高速 Outer Ring", (15.5, 14.5), 90.0),
)
# radial expressways: control points in km east and north of People's Square
RADIALS = (
    ("yanan", "延安高架路 Yan'an Elevated Road", ((-15.2, -3.3), (-9.0, -2.2), (-4.0, -0.6), (0.0, 0.15), (1.5, 0.4))),
    (
        "nanbei",
        "南北高架路 North–South Elevated Road",
        ((-0.6, 14.2), (-0.9, 6.0), (-0.35, 0.5), (0.2, -5.0), (0.6, -8.0)),
    ),
    ("humin", "沪闵高架路 Humin Elevated Road", ((-2.4, -4.6), (-5.5, -8.0), (-8.5, -11.0), (-11.0, -13.9))),
    ("yixian", "逸仙高架路 Yixian Elevated Road", ((1.6, 4.2), (2.2, 8.0), (2.8, 11.5), (3.2, 14.6))),
)
# surface roads: the class of lattice line i, and the ring inside which it runs
SURFACE_FREE_FLOW = {"arterial": 55.0, "secondary": 45.0, "branch": 40.0}
_EXTENT = {"arterial": "outer", "secondary": "middle", "branch": "middle"}


def to_lonlat(x_m: NDArray[np.float64], y_m: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Metres east and north of People's Square → WGS-84 (equirectangular; fine at city scale for made-up roads)."""
    return CENTRE[0] + x_m / (_M_PER_DEG * _COS0), CENTRE[1] + y_m / _M_PER_DEG


def to_xy(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return (np.asarray(lon) - CENTRE[0]) * _M_PER_DEG * _COS0, (np.asarray(lat) - CENTRE[1]) * _M_PER_DEG


def ring_radius(x_m: NDArray[np.float64], y_m: NDArray[np.float64], ring: str = "inner") -> NDArray[np.float64]:
    """Elliptic radius in units of a ring (1 on the ring, below 1 inside), ignoring the ring's wobble."""
    a, b = next(r.semi_axes_km for r in RINGS if r.key == ring)
    return np.hypot(np.asarray(x_m) / (a * 1000.0), np.asarray(y_m) / (b * 1000.0))


def zone_of(x_m: NDArray[np.float64], y_m: NDArray[np.float64]) -> NDArray[np.str_]:
    """ "inner" inside the Inner Ring, then "middle", "outer", and "beyond" outside the Outer Ring."""
    zones = np.full(np.shape(x_m), "beyond", dtype=object)
    for ring in reversed(RINGS):
        zones[ring_radius(x_m, y_m, ring.key) <= 1.0] = ring.key
    return zones.astype(str)


# --- the network -------------------------------------------------------------------------------------------------


def synthetic_network(seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The synthetic network as a GeoJSON FeatureCollection (``network.parse_feature_collection`` reads it)."""
    rng = np.random.default_rng(seed)
    features: list[dict[str, Any]] = []
    for ring in RINGS:
        features += _ring_features(ring, rng)
    for key, name, points in RADIALS:
        features += _radial_features(key, name, points, rng)
    features += _surface_features(rng)
    return {
        "type": "FeatureCollection",
        "name": "SYNTHETIC demo road network (Shanghai-like, not real roads)",
        "description": f"{SOURCE}; seed {seed}",
        "features": features,
    }


def _feature(
    sid: str,
    name: str,
    road_class: str,
    direction: str,
    free_flow: float,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    **extra: Any,
) -> dict[str, Any]:
    lon, lat = to_lonlat(np.asarray(x), np.asarray(y))
    mid = len(x) // 2
    return {
        "type": "Feature",
        "id": sid,
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(a, 7), round(b, 7)] for a, b in zip(lon, lat, strict=True)],
        },
        "properties": {
            "id": sid,
            "name": f"{name} (synthetic)",
            "road_class": road_class,
            "direction": direction,
            "free_flow_kmh": free_flow,
            "zone": str(zone_of(np.asarray(x[mid]), np.asarray(y[mid]))),
            "synthetic": True,
            "source": SOURCE,
            **extra,
        },
    }


def _split(n_vertices: int, step_m: float, rng: np.random.Generator, low_m: float, high_m: float) -> list[int]:
    """Vertex positions where segments end: pieces of low–high metres, the last one merged when it is short."""
    cuts, at = [0], 0
    while True:
        at += max(1, round(rng.uniform(low_m, high_m) / step_m))
        if at >= n_vertices - 1:
            break
        cuts.append(at)
    if (n_vertices - 1 - cuts[-1]) * step_m < low_m and len(cuts) > 1:
        cuts.pop()
    return [*cuts, n_vertices - 1]


def _ring_features(ring: Ring, rng: np.random.Generator) -> list[dict[str, Any]]:
    a, b = (1000.0 * v for v in ring.semi_axes_km)
    perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))  # Ramanujan
    n = int(perimeter // 100.0)
    theta = np.linspace(0.0, 2 * math.pi, n + 1)
    phases, amps = rng.uniform(0, 2 * math.pi, 3), rng.uniform(0.01, 0.03, 3)
    wobble = 1.0 + sum(amp * np.sin(k * theta + ph) for k, amp, ph in zip((2, 3, 5), amps, phases, strict=True))
    cuts = _split(n + 1, perimeter / n, rng, 800.0, 1300.0)
    features = []
    for way, sign in (("anticlockwise", 1.0), ("clockwise", -1.0)):
        x = (a * wobble + sign * _CARRIAGEWAY_M) * np.cos(theta)
        y = (b * wobble + sign * _CARRIAGEWAY_M) * np.sin(theta)
        x[-1], y[-1] = x[0], y[0]  # the ring closes exactly: its last segment ends where the first begins
        if way == "clockwise":
            x, y = x[::-1], y[::-1]
        for k, (i, j) in enumerate(itertools.pairwise(cuts)):
            sid = f"syn-{ring.key}-{way[0:4]}-{k:03d}"
            features.append(
                _feature(
                    sid, f"{ring.name} {way}", "expressway", "forward", ring.free_flow_kmh, x[i : j + 1], y[i : j + 1]
                )
            )
    return features


def _densify(
    points_km: Sequence[tuple[float, float]], step_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xy = np.asarray(points_km) * 1000.0
    legs = np.hypot(*np.diff(xy, axis=0).T)
    along = np.concatenate(([0.0], np.cumsum(legs)))
    s = np.linspace(0.0, along[-1], int(along[-1] // step_m) + 1)
    return np.interp(s, along, xy[:, 0]), np.interp(s, along, xy[:, 1])


def _offset(
    x: NDArray[np.float64], y: NDArray[np.float64], metres: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The line moved sideways (to the right of its direction for positive metres)."""
    dx, dy = np.gradient(x), np.gradient(y)
    norm = np.hypot(dx, dy)
    return x + metres * dy / norm, y - metres * dx / norm


def _radial_features(
    key: str, name: str, points: Sequence[tuple[float, float]], rng: np.random.Generator
) -> list[dict]:
    x, y = _densify(points, 100.0)
    cuts = _split(len(x), float(np.hypot(x[1] - x[0], y[1] - y[0])), rng, 700.0, 1300.0)
    features = []
    # traffic keeps right: the carriageway drawn in the line's direction lies to its right
    for way, xs, ys in (("out", *_offset(x, y, _CARRIAGEWAY_M)), ("back", *_offset(x[::-1], y[::-1], _CARRIAGEWAY_M))):
        for k, (i, j) in enumerate(itertools.pairwise(cuts)):
            sid = f"syn-{key}-{way}-{k:03d}"
            features.append(_feature(sid, f"{name} {way}", "expressway", "forward", 80.0, xs[i : j + 1], ys[i : j + 1]))
    return features


def _line_class(i: int) -> str:
    return "arterial" if i % 4 == 0 else "secondary" if i % 2 == 0 else "branch"


def _surface_features(rng: np.random.Generator) -> list[dict[str, Any]]:
    reach = int(RINGS[-1].semi_axes_km[0] * 1000 // LATTICE_M) + 1
    idx = np.arange(-reach, reach + 1)
    gx, gy = np.meshgrid(idx * LATTICE_M, idx * LATTICE_M, indexing="ij")  # node (i, j) at column i, row j
    jx = gx + rng.uniform(-_JITTER_M, _JITTER_M, gx.shape)
    jy = gy + rng.uniform(-_JITTER_M, _JITTER_M, gy.shape)
    inside = {r.key: ring_radius(gx, gy, r.key) <= 0.97 for r in RINGS}  # the surface grid stays just inside each ring
    # an edge exists when both its nodes lie inside the extent of its line's class
    row_class = [_line_class(int(j)) for j in idx]
    horizontal = np.array([inside[_EXTENT[row_class[j]]][:, j] for j in range(len(idx))]).T  # [i, j]: node in line j
    vertical = np.array([inside[_EXTENT[row_class[i]]][i, :] for i in range(len(idx))])  # [i, j]: node in line i
    h_edge = horizontal[:-1, :] & horizontal[1:, :]  # (i, j) → (i + 1, j)
    v_edge = vertical[:, :-1] & vertical[:, 1:]  # (i, j) → (i, j + 1)
    v_at = np.zeros(gx.shape, bool)  # a north–south road passes node (i, j)
    v_at[:, :-1] |= v_edge
    v_at[:, 1:] |= v_edge
    h_at = np.zeros(gx.shape, bool)
    h_at[:-1, :] |= h_edge
    h_at[1:, :] |= h_edge
    features = []
    for j, label in enumerate(idx):
        for run in _runs(h_edge[:, j], v_at[:, j]):
            features.append(_surface_feature("ew", int(label), run[0], row_class[j], jx[run, j], jy[run, j]))
    for i, label in enumerate(idx):
        for run in _runs(v_edge[i, :], h_at[i, :]):
            features.append(_surface_feature("ns", int(label), run[0], row_class[i], jx[i, run], jy[i, run]))
    return features


def _runs(edge: NDArray[np.bool_], crossing: NDArray[np.bool_]) -> list[list[int]]:
    """Node positions of each segment along one lattice line: runs of edges, cut at every crossing road."""
    runs: list[list[int]] = []
    current: list[int] = []
    for k, present in enumerate(edge):
        if not present:
            if len(current) > 1:
                runs.append(current)
            current = []
            continue
        if not current:
            current = [k]
        current.append(k + 1)
        if crossing[k + 1]:
            runs.append(current)
            current = [k + 1]
    if len(current) > 1:
        runs.append(current)
    return runs


def _surface_feature(
    axis: str, line: int, first: int, road_class: str, x: NDArray[np.float64], y: NDArray[np.float64]
) -> dict[str, Any]:
    sid = f"syn-{axis}{line:+03d}-{first:03d}"
    kind = {"arterial": "主干路 arterial", "secondary": "次干路 secondary road", "branch": "支路 branch road"}[
        road_class
    ]
    heading = "东西向 east–west" if axis == "ew" else "南北向 north–south"
    return _feature(sid, f"{kind} {heading} {line:+d}", road_class, "both", SURFACE_FREE_FLOW[road_class], x, y)


# --- speeds --------------------------------------------------------------------------------------------------------


# by ROAD_CLASSES (expressway, arterial, secondary, branch): the through roads jam first
_CLASS_PRONENESS = np.array([1.1, 1.0, 0.8, 0.6])


def synthetic_speeds(
    arrays: SegmentArrays,
    minute_of_day: float,
    *,
    day: int = 0,
    seed: int = DEFAULT_SEED,
    missing_share: float = 0.05,
) -> NDArray[np.float64]:
    """Plausible average speeds (km/h) of every segment for one cycle, NaN for the ``missing_share`` without data.

    Congestion depth = the time-of-day profile (peaks around 08:15 and 17:45) × how central the segment is (1 inside
    the Inner Ring, fading outwards) × the segment's fixed proneness (seeded: the same bottlenecks every day) × a
    factor for the day, plus noise for the cycle; speed = free-flow × (1 − depth). Same arguments, same speeds.
    """
    fixed = np.random.default_rng(seed)
    proneness = fixed.lognormal(0.0, 0.45, len(arrays)) * _CLASS_PRONENESS[arrays.class_code]
    cycle = np.random.default_rng([seed, day, round(minute_of_day * 60)])
    x, y = to_xy(arrays.mid_lon, arrays.mid_lat)
    centrality = 1.0 / (1.0 + 0.35 * np.maximum(ring_radius(x, y) - 1.0, 0.0))
    day_factor = np.random.default_rng([seed, day]).normal(1.0, 0.08)
    depth = _profile(minute_of_day) * centrality * proneness * day_factor + cycle.normal(0.0, 0.06, len(arrays))
    speed = arrays.free_flow_kmh * (1.0 - np.clip(depth, 0.0, 0.92))
    return np.where(cycle.random(len(arrays)) < missing_share, np.nan, speed)


def _profile(minute: float) -> float:
    """Typical congestion depth of a central road at this minute of the day."""
    hour = (minute / 60.0) % 24.0
    morning = 0.32 * math.exp(-0.5 * ((hour - 8.25) / 0.9) ** 2)
    evening = 0.36 * math.exp(-0.5 * ((hour - 17.75) / 1.1) ** 2)
    daytime = 0.15 / (1.0 + math.exp(-(hour - 6.5) * 2.0)) / (1.0 + math.exp((hour - 21.5) * 2.0))
    return 0.04 + daytime + morning + evening


# --- probe vehicles ------------------------------------------------------------------------------------------------


_Move = tuple[int, bool]  # (segment, driven against its drawing)
_Observation = tuple[int, float, float, float, float, float, int]


@dataclass(frozen=True, eq=False)
class Probes:
    """GPS points of synthetic probe vehicles, one row per point, in time order per vehicle."""

    vehicle: NDArray[np.int64]
    t_s: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    heading_deg: NDArray[np.float64]  # clockwise from north
    speed_ms: NDArray[np.float64]
    true_segment: NDArray[np.int64]  # the segment the vehicle was really on (position in the list)

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class _Car:
    vehicle: int
    segment: int
    reverse: bool
    at: float  # metres from the start of travel along the segment


def synthetic_probes(
    segments: Sequence[Segment],
    speeds_kmh: NDArray[np.float64],
    *,
    vehicles: int,
    duration_s: float = 300.0,
    interval_s: float = 10.0,
    noise_m: float = 5.0,
    start_s: float = 0.0,
    seed: int = DEFAULT_SEED,
) -> Probes:
    """Probe points of ``vehicles`` cars driving the network for ``duration_s`` at the given segment speeds (NaN:
    70 % of free flow), one point every ``interval_s`` with ``noise_m`` of GPS scatter. A car reaching a dead end
    reappears elsewhere under a new vehicle number."""
    rng = np.random.default_rng(seed)
    shapes = [_Shape.of(s) for s in segments]
    start, end = junction_nodes(segments)
    leaving = _leaving(segments, start, end)
    speed = np.where(np.isfinite(speeds_kmh), speeds_kmh, 0.7 * np.array([s.free_flow_kmh for s in segments])) / 3.6
    rows: list[_Observation] = []
    next_vehicle = vehicles
    for v in range(vehicles):
        car = _place(v, rng, segments, shapes)
        for k in range(int(duration_s // interval_s)):
            rows.append(_observe(car, shapes[car.segment], speed[car.segment], start_s + k * interval_s, noise_m, rng))
            car, jumped = _drive(
                car, speed[car.segment] * interval_s * rng.uniform(0.9, 1.1), shapes, leaving, end, start, rng
            )
            if jumped:
                car = _place(next_vehicle, rng, segments, shapes)
                next_vehicle += 1
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    return Probes(
        vehicle=np.array(cols[0], np.int64),
        t_s=np.array(cols[1], np.float64),
        lon=np.array(cols[2], np.float64),
        lat=np.array(cols[3], np.float64),
        heading_deg=np.array(cols[4], np.float64),
        speed_ms=np.array(cols[5], np.float64),
        true_segment=np.array(cols[6], np.int64),
    )


@dataclass(frozen=True, eq=False)
class _Shape:
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    along: NDArray[np.float64]  # metres from the first point, in the same local plane
    both: bool

    @classmethod
    def of(cls, segment: Segment) -> _Shape:
        x, y = to_xy(*np.asarray(segment.geometry).T)
        along = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))))
        return cls(x, y, along, segment.direction == "both")


def _leaving(segments: Sequence[Segment], start: NDArray[np.int64], end: NDArray[np.int64]) -> dict[int, list[_Move]]:
    """Node → the (segment, reverse) moves that leave it."""
    out: dict[int, list[_Move]] = {}
    for k, s in enumerate(segments):
        out.setdefault(int(start[k]), []).append((k, False))
        if s.direction == "both":
            out.setdefault(int(end[k]), []).append((k, True))
    return out


def _place(vehicle: int, rng: np.random.Generator, segments: Sequence[Segment], shapes: list[_Shape]) -> _Car:
    k = int(rng.integers(len(segments)))
    reverse = shapes[k].both and bool(rng.random() < 0.5)
    return _Car(vehicle, k, reverse, float(rng.uniform(0, shapes[k].along[-1])))


def _observe(
    car: _Car, shape: _Shape, speed_ms: float, t: float, noise_m: float, rng: np.random.Generator
) -> _Observation:
    s = shape.along[-1] - car.at if car.reverse else car.at
    x, y = np.interp(s, shape.along, shape.x), np.interp(s, shape.along, shape.y)
    leg = min(int(np.searchsorted(shape.along, s, side="right")) - 1, len(shape.x) - 2)
    bearing = math.degrees(math.atan2(shape.x[leg + 1] - shape.x[leg], shape.y[leg + 1] - shape.y[leg]))
    bearing = (bearing + (180.0 if car.reverse else 0.0) + rng.normal(0.0, 8.0)) % 360.0
    lon, lat = to_lonlat(x + rng.normal(0.0, noise_m), y + rng.normal(0.0, noise_m))
    return (car.vehicle, t, float(lon), float(lat), bearing, max(0.0, speed_ms * rng.normal(1.0, 0.05)), car.segment)


def _drive(
    car: _Car,
    metres: float,
    shapes: list[_Shape],
    leaving: dict[int, list[_Move]],
    end: NDArray[np.int64],
    start: NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[_Car, bool]:
    """The car ``metres`` further on, turning at random at junctions (not straight back); True when stuck."""
    at, segment, reverse = car.at + metres, car.segment, car.reverse
    while at > shapes[segment].along[-1]:
        at -= shapes[segment].along[-1]
        node = int(start[segment] if reverse else end[segment])
        moves = [m for m in leaving.get(node, []) if m[0] != segment] or leaving.get(node, [])
        if not moves:
            return car, True
        segment, reverse = moves[int(rng.integers(len(moves)))]
    return _Car(car.vehicle, segment, reverse, at), False
