"""The road traffic state: the road network imported and placed in districts and grids, probe-vehicle points
matched to it, every 5 minutes the cycle computed from probe speeds and road detectors (segment levels, the
index of every configured scheme per district and for the city), and the history maps and reports read.
Never commits."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from smartcity.core import audit
from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound, Problem
from smartcity.traffic import index, mapmatch, network
from smartcity.traffic.models import ProbeSpeed, RoadSegment, TrafficCycle, TrafficIndex
from smartcity.traffic.schemas import ProbePoint

CYCLE = timedelta(minutes=5)
CITY = "310000"  # the city's own code (GB/T 2260) stands for the whole network
NO_SPEED = 0xFFFF  # packed speeds: uint16 km/h × 10
DETECTOR_QUANTITY = "speed"  # what the sensing hub's road detectors measure (km/h)
DETECTOR_RADIUS_M = 300.0
DETECTOR_FRESH = 2 * CYCLE  # a detector reading older than this does not speak for the cycle
PROBE_MAX_AGE = timedelta(hours=1)  # late probe points would land in cycles already computed
PROBE_FUTURE = timedelta(minutes=2)  # the devices' clocks may run a little ahead


def cycle_end(moment: datetime) -> datetime:
    """The end of the 5-minute cycle a moment falls in (cycles are aligned to the clock: :00, :05, …)."""
    seconds = int(moment.timestamp())
    step = int(CYCLE.total_seconds())
    return datetime.fromtimestamp(seconds - seconds % step + step, UTC)


# ---------------------------------------------------------------- the network in memory


@dataclass(eq=False)
class Network:
    """The active segments as the computations need them, in one order: ``segments[i]`` is stored with
    database id ``ids[i]`` at cycle position ``positions[i]``."""

    key: tuple[Any, ...]
    segments: list[network.Segment]
    ids: NDArray[np.int64]
    positions: NDArray[np.int64]
    districts: list[str]  # group codes; the last group holds segments outside every district
    group: NDArray[np.intp]
    datastreams: dict[int, int]  # datastream id → list index, for segments with a road detector
    size: int  # cycle arrays' length: the highest position ever used + 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def arrays(self) -> network.SegmentArrays:
        return network.pack(self.segments)

    @cached_property
    def match_index(self) -> mapmatch.MatchIndex:
        return mapmatch.MatchIndex(self.segments)

    @cached_property
    def by_id(self) -> dict[int, int]:
        return {int(i): n for n, i in enumerate(self.ids)}


_CACHE: dict[str, Network] = {}


def _network_key(session: Session) -> tuple[Any, ...]:
    """Changes whenever an import adds, retires or changes a segment (counts, ids and their sums move)."""
    row = session.execute(
        select(
            func.count(),
            func.max(RoadSegment.id),
            func.sum(RoadSegment.length_m + RoadSegment.free_flow_kmh),
            func.sum(case((RoadSegment.retired.is_(True), RoadSegment.position + 1), else_=0)),
            func.sum(func.coalesce(RoadSegment.datastream_id, 0)),
        )
    ).one()
    return tuple(row)


def current_network(session: Session) -> Network:
    """The active network, read once per change (one aggregate query checks it is current)."""
    key = _network_key(session)
    url = str(session.get_bind().url)
    cached = _CACHE.get(url)
    if cached is not None and cached.key == key:
        return cached
    rows = list(session.scalars(select(RoadSegment).where(RoadSegment.retired.is_(False)).order_by(RoadSegment.id)))
    districts = sorted({r.district_code for r in rows if r.district_code})
    slot = {code: i for i, code in enumerate(districts)}
    size = session.scalar(select(func.max(RoadSegment.position)))
    built = Network(
        key=key,
        segments=[_segment(r) for r in rows],
        ids=np.array([r.id for r in rows], dtype=np.int64),
        positions=np.array([r.position for r in rows], dtype=np.int64),
        districts=districts,
        group=np.array([slot.get(r.district_code or "", len(districts)) for r in rows], dtype=np.intp),
        datastreams={r.datastream_id: n for n, r in enumerate(rows) if r.datastream_id is not None},
        size=(size + 1) if size is not None else 0,
    )
    _CACHE[url] = built
    return built


def _segment(row: RoadSegment) -> network.Segment:
    return network.Segment(
        id=row.code,
        name=row.name,
        road_class=row.road_class,
        direction=row.direction,
        length_m=row.length_m,
        free_flow_kmh=row.free_flow_kmh,
        geometry=tuple((lon, lat) for lon, lat in json.loads(row.coordinates)),
    )


# ---------------------------------------------------------------- importing a network


def _refused(error: network.NetworkError) -> Problem:
    errors = [
        {"field": p.field if p.index is None else f"features[{p.index}].{p.field}",
         "message": p.message + (f" (id {p.feature_id})" if p.feature_id else "")}
        for p in error.problems[:200]
    ]  # fmt: skip
    first = error.problems[0]
    return Problem(
        422,
        f"The road network was refused: {len(error.problems)} problem(s), the first: {first}. Nothing was imported.",
        code="bad-network",
        errors=errors,
    )


def import_network(
    session: Session, document: Any, *, source: str, synthetic: bool = False, replace: bool = False
) -> dict[str, int]:
    """Import a GeoJSON FeatureCollection of LineStrings (see docs/traffic.md): new segments are added, known
    ones (by id) updated; with ``replace`` the segments the file leaves out are retired. All or nothing: a
    422 lists every problem. Each segment is placed in the district and unit grid of its midpoint."""
    try:
        segments = network.parse_feature_collection(document)
    except network.NetworkError as error:
        raise _refused(error) from None
    places = _places(session, segments)
    existing = {row.code: row for row in session.scalars(select(RoadSegment))}
    next_position = (session.scalar(select(func.max(RoadSegment.position))) or -1) + 1
    report = {"added": 0, "updated": 0, "unchanged": 0, "retired": 0}
    for segment, (district, grid) in zip(segments, places, strict=True):
        values = _row_values(segment, district, grid, source, synthetic)
        row = existing.get(segment.id)
        if row is None:
            session.add(RoadSegment(code=segment.id, position=next_position, **values))
            next_position += 1
            report["added"] += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            report["updated"] += 1
        else:
            report["unchanged"] += 1
    if replace:
        kept = {s.id for s in segments}
        for code, row in existing.items():
            if code not in kept and not row.retired:
                row.retired = True
                report["retired"] += 1
    session.flush()
    audit.append(session, "traffic.network_imported", "traffic_segment", source[:100], after=report)
    return report


def _row_values(
    segment: network.Segment, district: str | None, grid: str | None, source: str, synthetic: bool
) -> dict[str, Any]:
    lons = [p[0] for p in segment.geometry]
    lats = [p[1] for p in segment.geometry]
    return {
        "name": segment.name,
        "road_class": segment.road_class,
        "direction": segment.direction,
        "length_m": round(segment.length_m, 2),
        "free_flow_kmh": segment.free_flow_kmh,
        "coordinates": json.dumps([[round(x, 7), round(y, 7)] for x, y in segment.geometry]),
        "min_lon": min(lons),
        "min_lat": min(lats),
        "max_lon": max(lons),
        "max_lat": max(lats),
        "district_code": district,
        "grid_code": grid,
        "synthetic": synthetic,
        "source": source[:200],
        "retired": False,
    }


def _places(session: Session, segments: list[network.Segment]) -> list[tuple[str | None, str | None]]:
    """(district code, grid code) of each segment's midpoint; None where it lies outside the city's grids."""
    from smartcity.places import lookup

    if not segments:
        return []
    arrays = network.pack(segments)
    found = lookup.locate_many(session, arrays.mid_lon.tolist(), arrays.mid_lat.tolist())
    return [(loc.district.code if loc.district else None, loc.grid.code if loc.grid else None) for loc in found]


def link_detectors(session: Session) -> int:
    """Attach each road detector of the sensing hub (a datastream measuring speed) to the segment it stands on:
    the nearest within ``DETECTOR_RADIUS_M`` whose direction agrees with the detector's heading (a station's
    position is where its cabinet stands, not on the carriageway). Returns how many were attached."""
    from smartcity.sensing import service as sensing

    net = current_network(session)
    if not net.segments:
        return 0
    headings = {"N": 0.0, "E": 90.0, "S": 180.0, "W": 270.0}
    wide = mapmatch.MatchIndex(net.segments, mapmatch.MatchParams(radius_m=DETECTOR_RADIUS_M, cell_m=DETECTOR_RADIUS_M))
    linked = 0
    for stream in sensing.datastreams_measuring(session, DETECTOR_QUANTITY):
        point = sensing.station_point(session, stream.datastream_id)
        if point is None:
            continue
        heading = headings.get(str(stream.properties.get("heading", "")), float("nan"))
        matches = mapmatch.match_points(wide, [point[0]], [point[1]], [heading], [10.0])
        at = int(matches.segment[0])
        if at == mapmatch.UNMATCHED:
            continue
        row = session.get(RoadSegment, int(net.ids[at]))
        if row is not None and row.datastream_id != stream.datastream_id:
            for other in session.scalars(select(RoadSegment).where(RoadSegment.datastream_id == stream.datastream_id)):
                other.datastream_id = None
            row.datastream_id = stream.datastream_id
        linked += 1
    session.flush()
    return linked


# ---------------------------------------------------------------- probe vehicles


def ingest_probes(session: Session, points: list[ProbePoint], now: datetime | None = None) -> dict[str, int]:
    """Match probe-vehicle points to the network and add their speeds to the segments' sums for the cycles
    they fall in. A point too old for a cycle still open, or from the future, refuses the whole batch."""
    now = now or utcnow()
    late = [i for i, p in enumerate(points) if p.time.tzinfo is None or p.time < now - PROBE_MAX_AGE]
    ahead = [i for i, p in enumerate(points) if p.time.tzinfo is not None and p.time > now + PROBE_FUTURE]
    if late or ahead:
        errors = [{"field": f"points[{i}].time", "message": "older than 1 hour, or without an offset"} for i in late]
        errors += [{"field": f"points[{i}].time", "message": "in the future"} for i in ahead]
        raise Problem(422, f"{len(errors)} point(s) have a time the cycles cannot take; nothing was stored.",
                      code="bad-probe-time", errors=errors[:200])  # fmt: skip
    net = current_network(session)
    if not net.segments:
        raise Problem(409, "There is no road network to match points to; import one first.", code="no-network")
    t = np.array([p.time.timestamp() for p in points])
    vehicles = np.array([p.vehicle for p in points])
    lon, lat = np.array([p.lon for p in points]), np.array([p.lat for p in points])
    heading = np.array([np.nan if p.heading is None else p.heading for p in points])
    speed = np.array([np.nan if p.speed_kmh is None else p.speed_kmh / 3.6 for p in points])
    step = CYCLE.total_seconds()
    bucket = np.floor(t / step).astype(np.int64)
    matched, segments = 0, set()
    for start in np.unique(bucket):
        inside = bucket == start
        matches, speeds = mapmatch.cycle_speeds(
            net.match_index, vehicles[inside], t[inside], lon[inside], lat[inside], heading[inside], speed[inside]
        )
        matched += int((matches.segment != mapmatch.UNMATCHED).sum())
        sampled = np.flatnonzero(speeds.samples > 0)
        segments.update(int(net.ids[i]) for i in sampled)
        _add_probe_speeds(session, datetime.fromtimestamp(int(start) * step, UTC), net, sampled, speeds)
    return {"points": len(points), "matched": matched, "segments": len(segments)}


def _add_probe_speeds(
    session: Session, start: datetime, net: Network, sampled: NDArray[np.intp], speeds: mapmatch.SegmentSpeeds
) -> None:
    if not len(sampled):
        return
    rows = [
        {"cycle_start": start, "segment_id": int(net.ids[i]), "samples": int(speeds.samples[i]),
         "speed_sum": float(speeds.mean_kmh[i] * speeds.samples[i])}
        for i in sampled
    ]  # fmt: skip
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ProbeSpeed)
    statement = statement.on_conflict_do_update(
        index_elements=["cycle_start", "segment_id"],
        set_={
            "samples": ProbeSpeed.samples + statement.excluded.samples,
            "speed_sum": ProbeSpeed.speed_sum + statement.excluded.speed_sum,
        },
    )
    session.execute(statement, rows)


# ---------------------------------------------------------------- the 5-minute cycle


def cycle_speeds(session: Session, net: Network, end: datetime) -> NDArray[np.float64]:
    """Each segment's speed for the cycle ending at ``end``: its road detector's reading when fresh, else the
    mean of the probe samples matched to it; NaN without either."""
    from smartcity.sensing import service as sensing

    speeds = np.full(len(net.segments), np.nan)
    sums = session.execute(
        select(ProbeSpeed.segment_id, ProbeSpeed.samples, ProbeSpeed.speed_sum).where(
            ProbeSpeed.cycle_start == end - CYCLE
        )
    )
    for segment_id, samples, total in sums:
        at = net.by_id.get(segment_id)
        if at is not None and samples:
            speeds[at] = total / samples
    if net.datastreams:
        for stream in sensing.latest(session, list(net.datastreams)):
            value = json.loads(stream.latest_result) if stream.latest_result else None
            fresh = stream.latest_time is not None and end - DETECTOR_FRESH < stream.latest_time <= end
            if fresh and isinstance(value, int | float) and value >= 0:
                speeds[net.datastreams[stream.id]] = float(value)
    return speeds


def compute_cycle(session: Session, at: datetime | None = None) -> TrafficCycle | None:
    """Compute and store the cycle that ended last before ``at`` (now by default) from what arrived for it;
    the probe sums it used are then dropped. None when there is no network."""
    end = cycle_end(at or utcnow()) - CYCLE
    net = current_network(session)
    if not net.segments:
        return None
    cycle = record_cycle(session, end, cycle_speeds(session, net, end))
    session.execute(delete(ProbeSpeed).where(ProbeSpeed.cycle_start <= end - CYCLE))
    return cycle


def record_cycle(session: Session, end: datetime, speeds: NDArray[np.float64]) -> TrafficCycle:
    """Store a cycle from its segment speeds (list order of the current network), replacing one stored for the
    same end: packed speeds and levels, and every scheme's index per district and for the city."""
    net = current_network(session)
    config = index.load_config()
    by_district = index.compute_index(config, net.arrays, speeds, groups=net.group, n_groups=len(net.districts) + 1)
    city = index.compute_index(config, net.arrays, speeds)
    old = session.scalar(select(TrafficCycle).where(TrafficCycle.at == end))
    if old is not None:
        session.execute(delete(TrafficIndex).where(TrafficIndex.cycle_id == old.id))
        session.delete(old)
        session.flush()
    cycle = TrafficCycle(
        at=end,
        segments=int(city.covered[0]),
        coverage=_number(city.coverage[0]) or 0.0,
        speeds=_pack_speeds(net, speeds),
        levels=_pack_levels(net, city.levels),
        computed_at=utcnow(),
    )
    session.add(cycle)
    session.flush()
    means = {CITY: _mean_speed(net, speeds, np.zeros(len(net.segments), np.intp), 1)[0]}
    means |= dict(zip(net.districts, _mean_speed(net, speeds, net.group, len(net.districts) + 1), strict=False))
    areas = [(CITY, city, 0), *((code, by_district, i) for i, code in enumerate(net.districts))]
    session.add_all(
        _index_row(cycle, scheme, code, result, i, means[code])
        for code, result, i in areas
        for scheme in result.schemes
    )
    return cycle


def _mean_speed(net: Network, speeds: NDArray[np.float64], group: NDArray[np.intp], n: int) -> list[float | None]:
    """Length-weighted mean speed of the segments with a speed, per group."""
    known = np.isfinite(speeds)
    length = np.where(known, net.arrays.length_m, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group, length * np.nan_to_num(speeds), n) / np.bincount(group, length, n)
    return [_number(m) for m in mean]


def _index_row(
    cycle: TrafficCycle, scheme: str, code: str, result: index.CycleIndex, i: int, mean_speed: float | None
) -> TrafficIndex:
    value = result.schemes[scheme]
    band = int(value.band[i])
    return TrafficIndex(
        cycle_id=cycle.id,
        scheme=scheme,
        at=cycle.at,
        area_code=code,
        value=_number(value.value[i]),
        level=band + 1 if band >= 0 else None,
        tti=_number(result.tti[i]),
        congestion_pct=_number(result.congestion_pct[i]),
        congested_ratio=_number(result.congested_ratio[i]),
        mean_speed_kmh=mean_speed,
        coverage=_number(result.coverage[i]) or 0.0,
    )


def _number(value: Any) -> float | None:
    number = float(value)
    return round(number, 4) if np.isfinite(number) else None


def _pack_speeds(net: Network, speeds: NDArray[np.float64]) -> bytes:
    packed = np.full(net.size, NO_SPEED, dtype="<u2")
    known = np.isfinite(speeds)
    packed[net.positions[known]] = np.clip(np.round(speeds[known] * 10), 0, NO_SPEED - 1).astype("<u2")
    return packed.tobytes()


def _pack_levels(net: Network, levels: NDArray[np.int8]) -> bytes:
    packed = np.zeros(net.size, dtype=np.uint8)
    packed[net.positions] = levels
    return packed.tobytes()


def unpack(cycle: TrafficCycle, net: Network) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """A stored cycle's speeds (NaN: none) and levels (0: none) in the current network's list order; segments
    added after the cycle have no data in it."""
    raw = np.frombuffer(cycle.speeds, dtype="<u2")
    levels_raw = np.frombuffer(cycle.levels, dtype=np.uint8)
    inside = net.positions < len(raw)
    speeds = np.full(len(net.segments), np.nan)
    levels = np.zeros(len(net.segments), dtype=np.int8)
    stored = raw[net.positions[inside]]
    speeds[inside] = np.where(stored == NO_SPEED, np.nan, stored / 10.0)
    levels[inside] = levels_raw[net.positions[inside]]
    return speeds, levels


# ---------------------------------------------------------------- reading the history


def cycle_at(session: Session, at: datetime | None = None) -> TrafficCycle:
    """The newest cycle ending at or before ``at`` (the newest of all by default); 404 when there is none."""
    statement = select(TrafficCycle).order_by(TrafficCycle.at.desc()).limit(1)
    if at is not None:
        statement = statement.where(TrafficCycle.at <= at)
    cycle = session.scalar(statement)
    if cycle is None:
        raise NotFound("traffic cycle", at.isoformat() if at else "any")
    return cycle


def cycle_times(session: Session, start: datetime, end: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(TrafficCycle.at).where(TrafficCycle.at > start, TrafficCycle.at <= end).order_by(TrafficCycle.at)
        )
    )


def scheme_or_404(code: str) -> index.Scheme:
    schemes = index.load_config().schemes
    if code not in schemes:
        raise Problem(422, f"Unknown index scheme {code!r}; the schemes are {', '.join(schemes)}.",
                      errors=[{"field": "scheme", "message": "unknown"}])  # fmt: skip
    return schemes[code]


def index_of_cycle(session: Session, cycle: TrafficCycle, scheme: str) -> list[TrafficIndex]:
    scheme_or_404(scheme)
    return list(
        session.scalars(
            select(TrafficIndex)
            .where(TrafficIndex.cycle_id == cycle.id, TrafficIndex.scheme == scheme)
            .order_by(TrafficIndex.area_code)
        )
    )


def index_history(session: Session, scheme: str, area: str, start: datetime, end: datetime) -> list[TrafficIndex]:
    scheme_or_404(scheme)
    return list(
        session.scalars(
            select(TrafficIndex)
            .where(
                TrafficIndex.scheme == scheme,
                TrafficIndex.area_code == area,
                TrafficIndex.at > start,
                TrafficIndex.at <= end,
            )
            .order_by(TrafficIndex.at)
        )
    )


def segment_features(session: Session, cycle: TrafficCycle, bbox: tuple[float, ...] | None = None) -> dict[str, Any]:
    """The segments as GeoJSON with their speed and level in the cycle (a map colours them by level)."""
    net = current_network(session)
    speeds, levels = unpack(cycle, net)
    config = index.load_config()
    features = []
    for i, segment in enumerate(net.segments):
        if bbox is not None and not _touches(segment, bbox):
            continue
        level = int(levels[i])
        features.append(
            {
                "type": "Feature",
                "id": segment.id,
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in segment.geometry]},
                "properties": {
                    "name": segment.name,
                    "road_class": segment.road_class,
                    "speed_kmh": None if np.isnan(speeds[i]) else float(speeds[i]),
                    "free_flow_kmh": segment.free_flow_kmh,
                    "level": level or None,
                    "colour": config.level(level).colour if level else None,
                },
            }
        )
    return {"type": "FeatureCollection", "at": cycle.at.isoformat(), "features": features}


def _touches(segment: network.Segment, bbox: tuple[float, ...]) -> bool:
    west, south, east, north = bbox
    return any(west <= lon <= east and south <= lat <= north for lon, lat in segment.geometry)


@dataclass(frozen=True)
class CongestionReport:
    cycles: int
    segments: list[dict[str, Any]]  # the most congested, with total and longest minutes
    frequent: list[dict[str, Any]]  # frequently congested segments in the peaks (常发拥堵路段)
    districts: dict[str, float]  # congested minutes of the district index (level ≥ congested)


def congestion_report(
    session: Session, start: datetime, end: datetime, *, top: int = 20, scheme: str = "beijing_tpi"
) -> CongestionReport:
    """Congestion over a period: how long each segment was congested (and its longest spell), the segments
    congested in most peak cycles, and how long each district's index stood at a congested level."""
    scheme_or_404(scheme)
    net = current_network(session)
    config = index.load_config()
    cycles = list(
        session.scalars(
            select(TrafficCycle).where(TrafficCycle.at > start, TrafficCycle.at <= end).order_by(TrafficCycle.at)
        )
    )
    if not cycles:
        return CongestionReport(0, [], [], {})
    levels = np.stack([unpack(c, net)[1] for c in cycles])
    minutes = CYCLE.total_seconds() / 60
    duration = _duration(cycles, index.congested_mask(levels, config.congested_levels), minutes)
    worst = np.argsort(-duration.total_minutes, kind="stable")[:top]
    times = np.array([(c.at - CYCLE).timestamp() for c in cycles])
    frequent = index.frequently_congested(levels, times, config.frequent, config.congested_levels, min_observed=3)
    return CongestionReport(
        cycles=len(cycles),
        segments=[_segment_row(net, i, duration) for i in worst if duration.total_minutes[i] > 0],
        frequent=[
            {**_segment_row(net, i, duration), "share": round(float(frequent.share[i]), 3)}
            for i in np.flatnonzero(frequent.frequent)
        ],
        districts=_district_minutes(session, scheme, start, end, minutes),
    )


def _duration(cycles: list[TrafficCycle], congested: NDArray[np.bool_], minutes: float) -> index.Duration:
    """Congested minutes per segment, the longest spell counted within unbroken runs of cycles (a night without
    cycles, or a gap in the data, ends a spell)."""
    gaps = [0, *(i for i in range(1, len(cycles)) if cycles[i].at - cycles[i - 1].at > CYCLE), len(cycles)]
    parts = [index.congestion_duration(congested[a:b], minutes) for a, b in itertools.pairwise(gaps)]
    return index.Duration(
        total_minutes=np.sum([p.total_minutes for p in parts], axis=0),
        longest_minutes=np.max([p.longest_minutes for p in parts], axis=0),
    )


def _segment_row(net: Network, i: int, duration: index.Duration) -> dict[str, Any]:
    segment = net.segments[i]
    return {
        "id": segment.id,
        "name": segment.name,
        "road_class": segment.road_class,
        "district": net.districts[net.group[i]] if net.group[i] < len(net.districts) else None,
        "congested_minutes": float(duration.total_minutes[i]),
        "longest_minutes": float(duration.longest_minutes[i]),
    }


def _district_minutes(
    session: Session, scheme: str, start: datetime, end: datetime, minutes: float
) -> dict[str, float]:
    """Minutes each area's index stood in the scheme's two most congested bands (中度/严重拥堵, 拥挤/堵塞)."""
    bands = len(index.load_config().schemes[scheme].bands)
    counted = session.execute(
        select(TrafficIndex.area_code, func.count())
        .where(
            TrafficIndex.scheme == scheme,
            TrafficIndex.at > start,
            TrafficIndex.at <= end,
            TrafficIndex.level >= bands - 1,
        )
        .group_by(TrafficIndex.area_code)
    )
    return {code: count * minutes for code, count in counted}


def levels_json() -> dict[str, Any]:
    """The five segment levels and every scheme with its range, bands, colours and how sure its constants are."""
    config = index.load_config()
    return {
        "levels": [
            {"level": i + 1, "code": lv.code, "zh": lv.zh, "en": lv.en, "colour": lv.colour}
            for i, lv in enumerate(config.levels)
        ],
        "schemes": [
            {
                "code": code,
                "zh": s.zh,
                "en": s.en,
                "method": s.method,
                "range": list(s.range),
                "confidence": s.confidence,
                "source": s.source,
                "bands": [
                    {"lower": b.lower, "code": b.code, "zh": b.zh, "en": b.en, "colour": b.colour} for b in s.bands
                ],
            }
            for code, s in config.schemes.items()
        ],
        "thresholds_kmh": {c: list(t) for c, t in config.thresholds_kmh.items()},
        "congested_levels": list(config.congested_levels),
    }
