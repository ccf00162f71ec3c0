"""Map-matching of probe-vehicle GPS points to road segments, and per-segment speeds for one cycle.

Candidates come from a grid over the segments' polylines: each polyline is cut into pieces no longer than a cell,
and each piece is filed under every cell its box, grown by the search radius, touches — so a point reads one cell
and sees every piece within the radius. Work is done in a local equirectangular plane around the network's centre:
two multiply-adds per point in NumPy instead of a projection call, and within 50 km of the centre its distances
are off by under 0.5 % (the change of cos(latitude)), far below GPS noise at the 30 m scale that matters here.

A point's own cost (emission) is 0.5·(distance/σ)² plus κ·(1 − cos Δθ) for the angle between its heading and the
road's direction (either way on a two-way road). A vehicle's points are matched together by Viterbi over their
candidates (the hidden Markov model of Newson & Krumm, 2009), vectorised across vehicles: a transition costs
|great-circle distance − network distance| / β. Network distance is routed along the segment or through one
shared junction only; a pair further apart costs a fixed ``unrouted_cost`` and the emissions decide. At probe
intervals of 5–30 s on 300–1500 m segments a vehicle rarely crosses two junctions between points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartcity.traffic.network import Segment, junction_nodes

_M_PER_DEG = 6_371_008.8 * math.pi / 180.0  # mean Earth radius: metres per degree of arc
_KEY_SHIFT = 1 << 22  # cell key = (row + shift) * 2^23 + (col + shift); ±4M cells each way
UNMATCHED = -1


@dataclass(frozen=True)
class MatchParams:
    radius_m: float = 30.0  # candidates within this distance of the point
    cell_m: float = 100.0  # grid cell, also the longest polyline piece
    sigma_m: float = 10.0  # GPS position noise
    heading_kappa: float = 2.0  # weight of heading disagreement (cost at 90° off)
    min_heading_speed_ms: float = 1.0  # below this a GPS heading is noise and is ignored
    beta_m: float = 50.0  # transition scale of Newson & Krumm
    unrouted_cost: float = 6.0  # transition between segments more than one junction apart
    backtrack_slack_m: float = 20.0  # a one-way segment may seem to run backwards by this much (GPS noise)
    max_candidates: int = 4  # per point, kept for the Viterbi pass
    max_gap_s: float = 120.0  # a longer silence starts a new trace
    max_speed_kmh: float = 160.0  # a speed from two points above this is discarded


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate segments of points, flat, ordered by point then cost (best first)."""

    point: NDArray[np.int64]
    segment: NDArray[np.int64]
    distance_m: NDArray[np.float64]
    offset_m: NDArray[np.float64]  # along the segment from its first point, in its own (geodesic) length
    cost: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Matches:
    """Per point (input order): the matched segment (position in the segment list) or UNMATCHED."""

    segment: NDArray[np.int64]
    distance_m: NDArray[np.float64]  # NaN where unmatched
    offset_m: NDArray[np.float64]  # NaN where unmatched


@dataclass(frozen=True, eq=False)
class SegmentSpeeds:
    mean_kmh: NDArray[np.float64]  # per segment; NaN without a sample
    samples: NDArray[np.int64]  # per segment


@dataclass(frozen=True, eq=False)
class _Pieces:
    ax: NDArray[np.float64]
    ay: NDArray[np.float64]
    dx: NDArray[np.float64]
    dy: NDArray[np.float64]
    length: NDArray[np.float64]
    segment: NDArray[np.int64]
    start: NDArray[np.float64]  # local metres along the segment where the piece begins
    sin: NDArray[np.float64]  # of the piece's bearing (clockwise from north)
    cos: NDArray[np.float64]


class MatchIndex:
    """The segments ready for matching; positions agree with ``network.pack`` of the same list."""

    def __init__(self, segments: Sequence[Segment], params: MatchParams | None = None) -> None:
        self.params = params or MatchParams()
        self.ids = tuple(s.id for s in segments)
        self.one_way = np.array([s.direction == "forward" for s in segments], dtype=bool)
        self.length_m = np.array([s.length_m for s in segments], dtype=np.float64)
        self.start_node, self.end_node = junction_nodes(segments)
        coords = [np.asarray(s.geometry, dtype=np.float64) for s in segments]
        everything = np.concatenate(coords) if coords else np.zeros((0, 2))
        self.origin = (
            (float(everything[:, 0].min() + everything[:, 0].max()) / 2, float(everything[:, 1].mean()))
            if len(everything)
            else (0.0, 0.0)
        )
        self._pieces, local_length = self._cut(coords)
        with np.errstate(invalid="ignore", divide="ignore"):
            self._scale = np.nan_to_num(self.length_m / local_length, nan=1.0)  # local → geodesic metres
        self._cell_keys, self._cell_start, self._cell_pieces = self._file_pieces()

    def __len__(self) -> int:
        return len(self.ids)

    def to_local(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Metres east and north of the origin (equirectangular)."""
        lon0, lat0 = self.origin
        x = (np.asarray(lon, dtype=np.float64) - lon0) * (_M_PER_DEG * math.cos(math.radians(lat0)))
        y = (np.asarray(lat, dtype=np.float64) - lat0) * _M_PER_DEG
        return x, y

    def _cut(self, coords: list[NDArray[np.float64]]) -> tuple[_Pieces, NDArray[np.float64]]:
        """Every leg of every polyline, cut into pieces of at most one cell."""
        if not coords:
            empty = np.zeros(0)
            return _Pieces(empty, empty, empty, empty, empty, np.zeros(0, np.int64), empty, empty, empty), empty
        seg_of_point = np.repeat(np.arange(len(coords)), [len(c) for c in coords])
        x, y = self.to_local(*np.concatenate(coords).T)
        leg = np.nonzero(seg_of_point[1:] == seg_of_point[:-1])[0]
        lx, ly, ldx, ldy = x[leg], y[leg], x[leg + 1] - x[leg], y[leg + 1] - y[leg]
        leg_len = np.hypot(ldx, ldy)
        leg_seg = seg_of_point[leg]
        local_length = np.bincount(leg_seg, leg_len, minlength=len(coords))
        # where each leg starts along its segment: cumulative length minus the segment's own earlier total
        cum = np.cumsum(leg_len) - leg_len
        first_leg = np.searchsorted(leg_seg, np.arange(len(coords)))
        leg_start = cum - cum[np.minimum(first_leg, len(cum) - 1)][leg_seg]
        count = np.maximum(np.ceil(leg_len / self.params.cell_m), 1).astype(np.int64)
        of = np.repeat(np.arange(len(leg)), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        f0, f1 = k / count[of], (k + 1) / count[of]
        dx, dy = ldx[of] * (f1 - f0), ldy[of] * (f1 - f0)
        bearing = np.arctan2(dx, dy)
        pieces = _Pieces(
            ax=lx[of] + ldx[of] * f0,
            ay=ly[of] + ldy[of] * f0,
            dx=dx,
            dy=dy,
            length=np.hypot(dx, dy),
            segment=leg_seg[of].astype(np.int64),
            start=leg_start[of] + leg_len[of] * f0,
            sin=np.sin(bearing),
            cos=np.cos(bearing),
        )
        return pieces, local_length

    def _file_pieces(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Sorted cell keys, where each cell's pieces start in the piece list, and that list."""
        p, cell, r = self._pieces, self.params.cell_m, self.params.radius_m
        x0 = np.floor((np.minimum(p.ax, p.ax + p.dx) - r) / cell).astype(np.int64)
        x1 = np.floor((np.maximum(p.ax, p.ax + p.dx) + r) / cell).astype(np.int64)
        y0 = np.floor((np.minimum(p.ay, p.ay + p.dy) - r) / cell).astype(np.int64)
        y1 = np.floor((np.maximum(p.ay, p.ay + p.dy) + r) / cell).astype(np.int64)
        nx, ny = x1 - x0 + 1, y1 - y0 + 1
        n = nx * ny
        piece = np.repeat(np.arange(len(n)), n)
        j = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        keys = _keys(x0[piece] + j % nx[piece], y0[piece] + j // nx[piece])
        order = np.argsort(keys, kind="stable")
        keys, piece = keys[order], piece[order]
        cell_keys, cell_start = np.unique(keys, return_index=True)
        return cell_keys, np.append(cell_start, len(keys)).astype(np.int64), piece.astype(np.int64)

    def candidates(
        self, lon: ArrayLike, lat: ArrayLike, heading_deg: ArrayLike | None = None, speed_ms: ArrayLike | None = None
    ) -> Candidates:
        """Every segment within the radius of each point, at most ``max_candidates`` a point, best first.

        ``heading_deg`` is clockwise from north (as GTFS-Realtime's bearing), NaN when unknown; ``speed_ms`` lets
        headings of (nearly) standing vehicles be ignored.
        """
        x, y = self.to_local(lon, lat)
        x, y = np.atleast_1d(x), np.atleast_1d(y)
        heading = _optional(heading_deg, len(x))
        speed = _optional(speed_ms, len(x))
        heading = np.where(speed < self.params.min_heading_speed_ms, np.nan, heading)  # NaN < v is False: kept
        point, piece = self._pairs(x, y)
        p = self._pieces
        rx, ry = x[point] - p.ax[piece], y[point] - p.ay[piece]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.nan_to_num((rx * p.dx[piece] + ry * p.dy[piece]) / p.length[piece] ** 2), 0.0, 1.0)
        distance = np.hypot(rx - t * p.dx[piece], ry - t * p.dy[piece])
        near = distance <= self.params.radius_m
        point, piece, t, distance = point[near], piece[near], t[near], distance[near]
        segment = p.segment[piece]
        cost = 0.5 * (distance / self.params.sigma_m) ** 2 + self._heading_cost(heading[point], piece, segment)
        offset = (p.start[piece] + t * p.length[piece]) * self._scale[segment]
        return self._best(point, segment, distance, offset, cost)

    def _pairs(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point, piece) for every piece filed under each point's cell."""
        keys = _keys(
            np.floor(x / self.params.cell_m).astype(np.int64), np.floor(y / self.params.cell_m).astype(np.int64)
        )
        if len(self._cell_keys) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(self._cell_keys, keys), len(self._cell_keys) - 1)
        hit = self._cell_keys[pos] == keys
        start = np.where(hit, self._cell_start[pos], 0)
        count = np.where(hit, self._cell_start[pos + 1] - self._cell_start[pos], 0)
        point = np.repeat(np.arange(len(keys)), count)
        entry = np.repeat(start - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
        return point, self._cell_pieces[entry]

    def _heading_cost(
        self, heading: NDArray[np.float64], piece: NDArray[np.int64], segment: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        rad = np.radians(heading)
        cos_off = np.sin(rad) * self._pieces.sin[piece] + np.cos(rad) * self._pieces.cos[piece]
        # a two-way road agrees with either direction; a one-way road only with its own
        agreement = np.where(self.one_way[segment], cos_off, np.abs(cos_off))
        return np.nan_to_num(self.params.heading_kappa * (1.0 - agreement))

    def _best(
        self,
        point: NDArray[np.int64],
        segment: NDArray[np.int64],
        distance: NDArray[np.float64],
        offset: NDArray[np.float64],
        cost: NDArray[np.float64],
    ) -> Candidates:
        # a segment's best piece per point, then the best few segments per point
        order = np.lexsort((cost, segment, point))
        point, segment, distance, offset, cost = (
            point[order],
            segment[order],
            distance[order],
            offset[order],
            cost[order],
        )
        first = np.ones(len(point), dtype=bool)
        first[1:] = (point[1:] != point[:-1]) | (segment[1:] != segment[:-1])
        point, segment, distance, offset, cost = (
            point[first],
            segment[first],
            distance[first],
            offset[first],
            cost[first],
        )
        order = np.lexsort((cost, point))
        point, segment, distance, offset, cost = (
            point[order],
            segment[order],
            distance[order],
            offset[order],
            cost[order],
        )
        group_start = np.searchsorted(point, point, side="left")
        keep = np.arange(len(point)) - group_start < self.params.max_candidates
        return Candidates(point[keep], segment[keep], distance[keep], offset[keep], cost[keep])

    def network_distance(
        self, seg_a: NDArray[np.int64], off_a: NDArray[np.float64], seg_b: NDArray[np.int64], off_b: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Metres driven from (seg_a, off_a) to (seg_b, off_b) along one segment or through one shared junction,
        respecting one-way segments; inf when that is not possible (arrays broadcast)."""
        inf = np.inf
        len_a, len_b = self.length_m[seg_a], self.length_m[seg_b]
        two_a, two_b = ~self.one_way[seg_a], ~self.one_way[seg_b]
        step = off_b - off_a
        same_ok = two_a | (step >= -self.params.backtrack_slack_m)
        best = np.where((seg_a == seg_b) & same_ok, np.abs(step), inf)
        s_a, e_a, s_b, e_b = self.start_node[seg_a], self.end_node[seg_a], self.start_node[seg_b], self.end_node[seg_b]
        other = seg_a != seg_b
        routes = (
            (e_a == s_b, (len_a - off_a) + off_b),  # a forward, then b forward
            ((e_a == e_b) & two_b, (len_a - off_a) + (len_b - off_b)),  # a forward, b against its drawing
            ((s_a == s_b) & two_a, off_a + off_b),  # back along a, then b forward
            ((s_a == e_b) & two_a & two_b, off_a + (len_b - off_b)),  # back along both
        )
        for allowed, metres in routes:
            best = np.minimum(best, np.where(other & allowed, metres, inf))
        return best

    def _transition(
        self,
        seg_q: NDArray[np.int64],
        off_q: NDArray[np.float64],
        seg_p: NDArray[np.int64],
        off_p: NDArray[np.float64],
        straight: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """(traces, K, K) cost of moving from each candidate of the earlier point to each of the later one."""
        a, b = np.maximum(seg_q[:, :, None], 0), np.maximum(seg_p[:, None, :], 0)
        routed = self.network_distance(a, off_q[:, :, None], b, off_p[:, None, :])
        cost = np.abs(straight[:, None, None] - routed) / self.params.beta_m
        return np.where(np.isfinite(routed), cost, self.params.unrouted_cost)


def _keys(col: NDArray[np.int64], row: NDArray[np.int64]) -> NDArray[np.int64]:
    return (row + _KEY_SHIFT) * (2 * _KEY_SHIFT) + (col + _KEY_SHIFT)


def _optional(values: ArrayLike | None, size: int) -> NDArray[np.float64]:
    if values is None:
        return np.full(size, np.nan)
    out = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if out.shape != (size,):
        raise ValueError(f"expected {size} values, one per point, got shape {out.shape}")
    return out


def match_points(
    index: MatchIndex,
    lon: ArrayLike,
    lat: ArrayLike,
    heading_deg: ArrayLike | None = None,
    speed_ms: ArrayLike | None = None,
) -> Matches:
    """Each point on its best candidate by distance and heading alone (no continuity)."""
    size = len(np.atleast_1d(np.asarray(lon)))
    found = index.candidates(lon, lat, heading_deg, speed_ms)
    first = np.ones(len(found.point), dtype=bool)
    first[1:] = found.point[1:] != found.point[:-1]
    return _matches(size, found.point[first], found.segment[first], found.distance_m[first], found.offset_m[first])


def _matches(
    size: int,
    point: NDArray[np.int64],
    segment: NDArray[np.int64],
    distance: NDArray[np.float64],
    offset: NDArray[np.float64],
) -> Matches:
    out = Matches(np.full(size, UNMATCHED, np.int64), np.full(size, np.nan), np.full(size, np.nan))
    out.segment[point], out.distance_m[point], out.offset_m[point] = segment, distance, offset
    return out


def match_traces(
    index: MatchIndex,
    vehicle: ArrayLike,
    t_s: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    heading_deg: ArrayLike | None = None,
    speed_ms: ArrayLike | None = None,
) -> Matches:
    """Each point matched with the others of its vehicle (Viterbi), in input order; points with no segment within
    the radius stay UNMATCHED and do not break the trace, a silence over ``max_gap_s`` does."""
    params = index.params
    lon, lat = np.atleast_1d(np.asarray(lon, dtype=np.float64)), np.atleast_1d(np.asarray(lat, dtype=np.float64))
    size = len(lon)
    vehicle_code = np.unique(np.asarray(vehicle), return_inverse=True)[1].reshape(-1)
    t = _optional(t_s, size)
    found = index.candidates(lon, lat, heading_deg, speed_ms)
    # matchable points in trace order: by vehicle, then time
    points = np.unique(found.point)
    points = points[np.lexsort((t[points], vehicle_code[points]))]
    if len(points) == 0:
        return _matches(size, points, points, np.zeros(0), np.zeros(0))
    seg, off, cost, dist = _padded(found, points, size, params.max_candidates)
    gap = np.diff(t[points]) > params.max_gap_s
    new_trace = np.concatenate(([True], (vehicle_code[points][1:] != vehicle_code[points][:-1]) | gap))
    trace = np.cumsum(new_trace) - 1
    step = np.arange(len(points)) - np.flatnonzero(new_trace)[trace]
    x, y = index.to_local(lon[points], lat[points])
    choice = _viterbi(index, trace, step, seg, off, cost, x, y)
    rows = np.arange(len(points))
    return _matches(size, points, seg[rows, choice], dist[rows, choice], off[rows, choice])


def _padded(
    found: Candidates, points: NDArray[np.int64], size: int, k: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(len(points), k) tables of candidate segment, offset, cost and distance; padding is segment -1 at infinite
    cost."""
    row_of = np.full(size, -1, np.int64)
    row_of[points] = np.arange(len(points))
    rank = np.arange(len(found.point)) - np.searchsorted(found.point, found.point, side="left")
    row = row_of[found.point]
    seg = np.full((len(points), k), -1, np.int64)
    off = np.zeros((len(points), k))
    cost = np.full((len(points), k), np.inf)
    dist = np.full((len(points), k), np.nan)
    seg[row, rank], off[row, rank], cost[row, rank], dist[row, rank] = (
        found.segment,
        found.offset_m,
        found.cost,
        found.distance_m,
    )
    return seg, off, cost, dist


def _viterbi(
    index: MatchIndex,
    trace: NDArray[np.int64],
    step: NDArray[np.int64],
    seg: NDArray[np.int64],
    off: NDArray[np.float64],
    cost: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> NDArray[np.int64]:
    """The chosen candidate column per row, all traces at once, one time step per loop turn."""
    n_traces, k = int(trace[-1]) + 1, seg.shape[1]
    length = np.bincount(trace, minlength=n_traces)
    row = np.full((n_traces, int(length.max())), -1, np.int64)
    row[trace, step] = np.arange(len(trace))
    score = cost[row[:, 0]].copy()
    back = np.zeros((row.shape[1], n_traces, k), np.int8)
    for s in range(1, row.shape[1]):
        active = np.flatnonzero(length > s)
        p, q = row[active, s], row[active, s - 1]
        straight = np.hypot(x[p] - x[q], y[p] - y[q])
        total = score[active][:, :, None] + index._transition(seg[q], off[q], seg[p], off[p], straight)
        came_from = total.argmin(axis=1)
        back[s, active] = came_from
        score[active] = np.take_along_axis(total, came_from[:, None, :], axis=1)[:, 0, :] + cost[p]
    current = score.argmin(axis=1)
    choice = np.zeros(len(trace), np.int64)
    for s in range(row.shape[1] - 1, -1, -1):
        later = np.flatnonzero(length - 1 > s)
        if len(later):
            current[later] = back[s + 1, later, current[later]]
        here = np.flatnonzero(length > s)
        choice[row[here, s]] = current[here]
    return choice


def segment_speeds(
    index: MatchIndex,
    matches: Matches,
    vehicle: ArrayLike,
    t_s: ArrayLike,
    speed_ms: ArrayLike | None = None,
) -> SegmentSpeeds:
    """Mean speed and sample count per segment from matched points.

    A point's sample is its reported speed when it has one, otherwise the network distance from the vehicle's
    previous matched point over the time between them (same segment or one junction away, within ``max_gap_s``).
    Probe points come at even time steps, so their plain mean weighs each stretch by the time spent on it, which is
    what the segment's travel speed needs; stops at lights count, as they should.
    """
    size = len(matches.segment)
    vehicle_code = np.unique(np.asarray(vehicle), return_inverse=True)[1].reshape(-1)
    t = _optional(t_s, size)
    reported = _optional(speed_ms, size) * 3.6
    matched = np.flatnonzero(matches.segment != UNMATCHED)
    matched = matched[np.lexsort((t[matched], vehicle_code[matched]))]
    sample = reported[matched]
    if len(matched) > 1:
        a, b = matched[:-1], matched[1:]
        dt = t[b] - t[a]
        usable = (vehicle_code[a] == vehicle_code[b]) & (dt > 0) & (dt <= index.params.max_gap_s)
        metres = index.network_distance(
            matches.segment[a], matches.offset_m[a], matches.segment[b], matches.offset_m[b]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            pair = np.where(usable & np.isfinite(metres), metres / dt * 3.6, np.nan)
        sample[1:] = np.where(np.isnan(sample[1:]), pair, sample[1:])
    good = np.isfinite(sample) & (sample >= 0) & (sample <= index.params.max_speed_kmh)
    segment = matches.segment[matched][good]
    total = np.bincount(segment, sample[good], minlength=len(index))
    count = np.bincount(segment, minlength=len(index)).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return SegmentSpeeds(mean_kmh=mean, samples=count)


def cycle_speeds(
    index: MatchIndex,
    vehicle: ArrayLike,
    t_s: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    heading_deg: ArrayLike | None = None,
    speed_ms: ArrayLike | None = None,
) -> tuple[Matches, SegmentSpeeds]:
    """One cycle's probe points → matches (by trace) and per-segment speeds, ready for ``index.compute_index``."""
    matches = match_traces(index, vehicle, t_s, lon, lat, heading_deg, speed_ms)
    return matches, segment_speeds(index, matches, vehicle, t_s, speed_ms)
