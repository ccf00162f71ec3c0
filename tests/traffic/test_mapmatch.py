"""Map-matching: candidates by distance and heading, continuity along a trace, and per-segment speeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from smartcity.traffic.mapmatch import (
    UNMATCHED,
    MatchIndex,
    MatchParams,
    cycle_speeds,
    match_points,
    match_traces,
    segment_speeds,
)
from smartcity.traffic.network import Segment, parse_feature_collection
from smartcity.traffic.synthetic import synthetic_network

CROSSING = (121.475, 31.230)
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0


def at(x: float, y: float) -> tuple[float, float]:
    """The point x metres east and y metres north of the crossing."""
    return (
        CROSSING[0] + x / (_M_PER_DEG * math.cos(math.radians(CROSSING[1]))),
        CROSSING[1] + y / _M_PER_DEG,
    )


def road(sid: str, road_class: str, direction: str, *points: tuple[float, float]) -> Segment:
    return Segment(sid, sid, road_class, direction, 500.0, 50.0, tuple(at(*p) for p in points))


# a crossing of two two-way arterials split at the junction, and 1 km south a one-way pair 24 m apart
SEGMENTS = [
    road("ew-w", "arterial", "both", (-500, 0), (0, 0)),
    road("ew-e", "arterial", "both", (0, 0), (500, 0)),
    road("ns-s", "arterial", "both", (0, -500), (0, 0)),
    road("ns-n", "arterial", "both", (0, 0), (0, 500)),
    road("eastbound", "expressway", "forward", (-500, -1012), (500, -1012)),
    road("westbound", "expressway", "forward", (500, -988), (-500, -988)),
]


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    return MatchIndex(SEGMENTS)


def position(index: MatchIndex, sid: str) -> int:
    return index.ids.index(sid)


def names(index: MatchIndex, segments: np.ndarray) -> list[str | None]:
    return [index.ids[s] if s != UNMATCHED else None for s in segments]


def points(*xy: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    lonlat = np.array([at(*p) for p in xy])
    return lonlat[:, 0], lonlat[:, 1]


def test_a_point_beside_a_road_is_matched_to_it_with_distance_and_offset(index: MatchIndex) -> None:
    lon, lat = points((-300, 10))
    match = match_points(index, lon, lat)
    assert names(index, match.segment) == ["ew-w"]
    assert match.distance_m[0] == pytest.approx(10.0, abs=0.01)
    assert match.offset_m[0] == pytest.approx(200.0, abs=0.01)  # the segment's length is given as 500 m


def test_a_point_past_the_radius_is_unmatched_unless_the_radius_grows(index: MatchIndex) -> None:
    lon, lat = points((200, 45))
    match = match_points(index, lon, lat)
    assert match.segment.tolist() == [UNMATCHED]
    assert np.isnan(match.distance_m[0])
    wider = MatchIndex(SEGMENTS, MatchParams(radius_m=50.0))
    assert names(wider, match_points(wider, lon, lat).segment) == ["ew-e"]


def test_heading_decides_at_a_crossing(index: MatchIndex) -> None:
    lon, lat = points(*[(8, 3)] * 5)
    heading = [np.nan, 0.0, 180.0, 90.0, 0.0]
    speed = [10.0, 10.0, 10.0, 10.0, 0.5]  # the last one is standing: its heading is noise
    match = match_points(index, lon, lat, heading, speed)
    # 3 m from ew-e, 8 m from ns-n: distance alone picks ew-e; heading north or south picks ns-n
    assert names(index, match.segment) == ["ew-e", "ns-n", "ns-n", "ew-e", "ew-e"]


def test_heading_picks_the_carriageway_of_a_one_way_pair(index: MatchIndex) -> None:
    lon, lat = points(*[(0, -997)] * 3)  # 9 m from the westbound, 15 m from the eastbound carriageway
    match = match_points(index, lon, lat, [90.0, 270.0, np.nan])
    assert names(index, match.segment) == ["eastbound", "westbound", "westbound"]


def test_a_trace_keeps_to_its_road_where_one_point_alone_would_not(index: MatchIndex) -> None:
    # bus-1 drives east through the crossing; its third point is a little closer to ns-n than to ew-e.
    # bus-2 drives north on ns-s; the rows are interleaved.
    trace = [
        ("bus-1", 0, (-200, 0)),
        ("bus-2", 0, (0, -300)),
        ("bus-1", 10, (-100, 0)),
        ("bus-2", 10, (0, -200)),
        ("bus-1", 20, (5, 6)),
        ("bus-1", 30, (100, 0)),
        ("bus-2", 20, (0, -100)),
    ]
    vehicle = [v for v, _, _ in trace]
    t = [s for _, s, _ in trace]
    lon, lat = points(*[p for _, _, p in trace])
    assert names(index, match_points(index, lon, lat).segment)[4] == "ns-n"
    matched = match_traces(index, vehicle, t, lon, lat)
    assert names(index, matched.segment) == ["ew-w", "ns-s", "ew-w", "ns-s", "ew-e", "ew-e", "ns-s"]
    assert matched.distance_m[4] == pytest.approx(6.0, abs=0.01)
    assert matched.offset_m[4] == pytest.approx(5.0, abs=0.01)


def test_a_long_silence_ends_a_trace(index: MatchIndex) -> None:
    lon, lat = points((-200, 0), (-100, 0), (5, 6), (100, 0))
    matched = match_traces(index, ["v"] * 4, [0, 10, 20, 500], lon, lat)
    assert names(index, matched.segment) == ["ew-w", "ew-w", "ns-n", "ew-e"]


def test_unmatched_points_stay_unmatched_in_a_trace(index: MatchIndex) -> None:
    lon, lat = points((-200, 0), (-100, 200), (0, 100))
    matched = match_traces(index, [1, 1, 1], [0, 10, 20], lon, lat)
    assert names(index, matched.segment) == ["ew-w", None, "ns-n"]


def test_network_distance_along_one_segment_or_through_one_junction(index: MatchIndex) -> None:
    ew_w, ew_e, ns_n = (position(index, s) for s in ("ew-w", "ew-e", "ns-n"))
    east = position(index, "eastbound")
    a = np.array([ew_w, ew_w, ns_n, east, east, ew_w, ew_e])
    off_a = np.array([400.0, 400.0, 50.0, 300.0, 300.0, 400.0, 100.0])
    b = np.array([ew_e, ns_n, ew_w, east, east, east, ew_w])
    off_b = np.array([100.0, 50.0, 400.0, 100.0, 290.0, 0.0, 450.0])
    distance = index.network_distance(a, off_a, b, off_b)
    # ew-w → ew-e straight on; ew-w → ns-n turning; ns-n back south then west along ew-w (both two-way);
    # 200 m backwards on a one-way road cannot be driven, 10 m is GPS noise; no junction joins ew-w and
    # the expressway; ew-e → ew-w westwards
    assert distance.tolist() == [200.0, 150.0, 150.0, math.inf, 10.0, math.inf, 150.0]


def test_speeds_from_point_speeds_and_from_consecutive_points(index: MatchIndex) -> None:
    rows = [
        ("a", 0, (-400, 0), np.nan),
        ("b", 0, (0, -400), 10.0),
        ("a", 10, (-300, 0), np.nan),
        ("b", 10, (0, -300), 12.0),
        ("a", 20, (-200, 0), np.nan),
        ("b", 20, (0, -200), 14.0),
        ("c", 0, (-50, 0), np.nan),
        ("c", 10, (50, 0), np.nan),  # across the junction: 100 m in 10 s, counted on ew-e
        ("d", 0, (-400, 0), np.nan),
        ("d", 5, (400, 0), np.nan),  # 800 m in 5 s is not a car: discarded
    ]
    vehicle = [r[0] for r in rows]
    t = [r[1] for r in rows]
    speed = [r[3] for r in rows]
    lon, lat = points(*[r[2] for r in rows])
    matches, speeds = cycle_speeds(index, vehicle, t, lon, lat, speed_ms=speed)
    assert names(index, matches.segment) == [
        "ew-w",
        "ns-s",
        "ew-w",
        "ns-s",
        "ew-w",
        "ns-s",
        "ew-w",
        "ew-e",
        "ew-w",
        "ew-e",
    ]
    ew_w, ew_e, ns_s = (position(index, s) for s in ("ew-w", "ew-e", "ns-s"))
    assert speeds.samples[[ew_w, ew_e, ns_s]].tolist() == [2, 1, 3]
    assert speeds.mean_kmh[ew_w] == pytest.approx(36.0, abs=0.01)
    assert speeds.mean_kmh[ew_e] == pytest.approx(36.0, abs=0.01)
    assert speeds.mean_kmh[ns_s] == pytest.approx(12.0 * 3.6)
    assert np.isnan(speeds.mean_kmh[position(index, "eastbound")])
    again = segment_speeds(index, matches, vehicle, t, speed)
    assert again.mean_kmh.tolist() == pytest.approx(speeds.mean_kmh.tolist(), nan_ok=True)


def test_the_grid_finds_the_nearest_segment_like_a_full_scan() -> None:
    segments = parse_feature_collection(synthetic_network())
    index = MatchIndex(segments)
    rng = np.random.default_rng(3)
    chosen = rng.integers(len(segments), size=300)
    base = np.array([segments[k].geometry[0] for k in chosen])
    lon = base[:, 0] + rng.uniform(-0.004, 0.004, 300)
    lat = base[:, 1] + rng.uniform(-0.004, 0.004, 300)
    match = match_points(index, lon, lat)
    px, py = index.to_local(lon, lat)
    lines = np.array([shapely.LineString(np.column_stack(index.to_local(*np.asarray(s.geometry).T))) for s in segments])
    full = shapely.distance(shapely.points(px, py)[:, None], lines[None, :])
    nearest = full.min(axis=1)
    inside = nearest <= 30.0
    assert 30 < inside.sum() < 300  # the sample has both matched and unmatched points
    assert (match.segment[~inside] == UNMATCHED).all()
    rows = np.flatnonzero(inside)
    assert match.distance_m[rows] == pytest.approx(nearest[rows], abs=1e-6)
    assert full[rows, match.segment[rows]] == pytest.approx(nearest[rows], abs=1e-6)
