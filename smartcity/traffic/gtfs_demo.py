"""A SYNTHETIC demo GTFS feed for central Shanghai: made-up bus routes on a made-up street grid, deterministic.

Nothing here is a real route, stop or timetable; the agency, feed_info and every stop description say so.
Stops sit on a jittered grid of "经 n 路 / 纬 m 路" (longitude / latitude roads) every ~575 m inside lon
121.35–121.60, lat 31.12–31.33 (WGS-84). Each route is a walk on that grid (straight runs with turns, 18–30
stops), served in both directions from about 05:30 to 23:30 (the last trips end after midnight, written as
24:xx:xx), every 6–15 minutes by time of day, on a weekday and a weekend calendar (National Day week runs the
weekend timetable). Running times come from time-of-day speed bands, with a 20 s dwell at each stop; shapes follow
the stops, and shape_dist_traveled is in metres. The same ``seed`` always gives the same feed, byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate, pairwise

from smartcity.traffic.gtfs import (
    Agency,
    Calendar,
    CalendarDate,
    Feed,
    FeedInfo,
    Route,
    ShapePoint,
    Stop,
    StopTime,
    Trip,
    haversine_m,
    write_zip,
)

LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 121.36, 121.59, 31.13, 31.32  # inside 121.35–121.60 / 31.12–31.33
STEP_LON, STEP_LAT = 0.006, 0.0052  # ≈ 570 m × 578 m at 31.2° N
DWELL = 20  # seconds at each intermediate stop
START_DATE, END_DATE = date(2026, 1, 1), date(2030, 12, 31)
NATIONAL_DAY = [date(2026, 10, 1) + timedelta(days=i) for i in range(7)]
SYNTHETIC = "synthetic demo data, not a real service"
COLOURS = ("E4002B", "0072CE", "009A44", "F2A900", "7F3F98", "00A3AD", "D7282F", "5B6770", "A05EB5", "FF6A13")

# (from, until, minutes between departures) by time of day: the first departure of each band's window.
WEEKDAY_HEADWAYS = ((5.5, 7.0, 12), (7.0, 9.5, 6), (9.5, 16.5, 10), (16.5, 19.5, 7), (19.5, 21.5, 12), (21.5, 23.5, 15))
WEEKEND_HEADWAYS = ((5.5, 8.0, 15), (8.0, 20.0, 10), (20.0, 23.5, 15))
# Scheduled bus speed (km/h) by the hour a trip leaves its first stop: slower in the peaks.
SPEED_BANDS = ((0.0, 7.0, 22.0), (7.0, 9.5, 15.0), (9.5, 16.5, 18.0), (16.5, 19.5, 15.0), (19.5, 30.0, 21.0))


@dataclass(frozen=True, slots=True)
class _Line:
    """One route: its grid nodes in direction 0, and its own speed factor and first-departure offset."""

    number: int
    nodes: tuple[tuple[int, int], ...]
    speed_factor: float
    offset_min: int


def demo_feed(*, routes: int = 36, seed: int = 2026) -> Feed:
    """The synthetic feed: ``routes`` bus routes (default 36), both directions, weekday and weekend service."""
    rng = random.Random(seed)
    positions = _grid(rng)
    lines = _lines(rng, routes, positions)
    used = sorted({node for line in lines for node in line.nodes})
    feed = Feed(
        agencies=[_agency()],
        stops=[_stop(node, positions[node]) for node in used],
        routes=[_route(line, positions) for line in lines],
        trips=[],
        stop_times=[],
        calendars=_calendars(),
        calendar_dates=_national_day(),
        feed_info=_feed_info(seed),
    )
    for line in lines:
        for direction in (0, 1):
            _add_direction(feed, line, direction, positions)
    return feed


def demo_zip(*, routes: int = 36, seed: int = 2026) -> bytes:
    """The synthetic feed as a GTFS zip (what /gtfs/static.zip serves in the demo)."""
    return write_zip(demo_feed(routes=routes, seed=seed))


# ---------------------------------------------------------------- the street grid and the routes


def _grid(rng: random.Random) -> dict[tuple[int, int], tuple[float, float]]:
    """(lat, lon) of every grid node, jittered by up to ~60 m so the streets are not ruler-straight."""
    columns = round((LON_MAX - LON_MIN) / STEP_LON) + 1
    rows = round((LAT_MAX - LAT_MIN) / STEP_LAT) + 1
    return {
        (x, y): (
            round(LAT_MIN + y * STEP_LAT + rng.uniform(-0.0005, 0.0005), 6),
            round(LON_MIN + x * STEP_LON + rng.uniform(-0.0006, 0.0006), 6),
        )
        for x in range(columns)
        for y in range(rows)
    }


def _lines(rng: random.Random, count: int, positions: dict) -> list[_Line]:
    lines: list[_Line] = []
    while len(lines) < count:
        nodes = _walk(rng, positions, rng.randrange(18, 31))
        if nodes is not None:
            lines.append(_Line(800 + len(lines) + 1, nodes, rng.uniform(0.9, 1.1), rng.randrange(0, 10)))
    return lines


def _walk(rng: random.Random, positions: dict, length: int) -> tuple[tuple[int, int], ...] | None:
    """A route on the grid: straight runs of 3–9 nodes along a main heading with short turns, never revisiting
    a node; None when it runs off the grid (the caller draws again)."""
    node = rng.choice(sorted(positions))
    heading = rng.choice(((1, 0), (-1, 0), (0, 1), (0, -1)))
    path, seen = [node], {node}
    while len(path) < length:
        turn = rng.choice(((heading[1], heading[0]), (-heading[1], -heading[0])))
        for step, run in ((heading, rng.randrange(3, 10)), (turn, rng.randrange(1, 4))):
            for _ in range(run):
                node = (node[0] + step[0], node[1] + step[1])
                if node not in positions or node in seen:
                    return None
                path.append(node)
                seen.add(node)
                if len(path) == length:
                    return tuple(path)
    return tuple(path)


def _stop_id(node: tuple[int, int]) -> str:
    return f"S{node[0]:02d}{node[1]:02d}"


def _stop_name(node: tuple[int, int]) -> str:
    return f"经{node[0] + 1}路纬{node[1] + 1}路"


# ---------------------------------------------------------------- records


def _agency() -> Agency:
    return Agency(
        agency_id="SYN",
        agency_name="上海合成公交 Synthetic Shanghai Bus (demo, not a real operator)",
        agency_url="https://example.org/smartcity/synthetic-bus",
        agency_timezone="Asia/Shanghai",
        agency_lang="zh",
    )


def _stop(node: tuple[int, int], position: tuple[float, float]) -> Stop:
    return Stop(
        stop_id=_stop_id(node),
        stop_name=_stop_name(node),
        stop_desc=SYNTHETIC,
        stop_lat=position[0],
        stop_lon=position[1],
        location_type=0,
        wheelchair_boarding=1,
    )


def _route(line: _Line, positions: dict) -> Route:
    first, last = _stop_name(line.nodes[0]), _stop_name(line.nodes[-1])
    colour = COLOURS[line.number % len(COLOURS)]
    return Route(
        route_id=f"R{line.number}",
        agency_id="SYN",
        route_short_name=str(line.number),
        route_long_name=f"{first}—{last}",
        route_type=3,  # bus
        route_desc=SYNTHETIC,
        route_color=colour,
        route_text_color="FFFFFF" if colour not in ("F2A900",) else "000000",
        route_sort_order=line.number,
    )


def _calendars() -> list[Calendar]:
    weekday = Calendar("WKDY", True, True, True, True, True, False, False, START_DATE, END_DATE)
    weekend = Calendar("WKND", False, False, False, False, False, True, True, START_DATE, END_DATE)
    return [weekday, weekend]


def _national_day() -> list[CalendarDate]:
    """National Day week (1–7 October 2026) runs the weekend timetable."""
    out = []
    for day in NATIONAL_DAY:
        if day.weekday() < 5:
            out += [CalendarDate("WKDY", day, 2), CalendarDate("WKND", day, 1)]
    return out


def _feed_info(seed: int) -> FeedInfo:
    return FeedInfo(
        feed_publisher_name="Smartcity demo: synthetic Shanghai feed (合成数据, not real)",
        feed_publisher_url="https://example.org/smartcity/synthetic-bus",
        feed_lang="zh",
        feed_start_date=START_DATE,
        feed_end_date=END_DATE,
        feed_version=f"synthetic-{seed}",
        feed_contact_email="demo@example.org",
    )


# ---------------------------------------------------------------- trips and times


def _add_direction(feed: Feed, line: _Line, direction: int, positions: dict) -> None:
    nodes = line.nodes if direction == 0 else line.nodes[::-1]
    points = [positions[n] for n in nodes]
    legs = [haversine_m(*a, *b) for a, b in pairwise(points)]
    distances = [round(d, 1) for d in accumulate(legs, initial=0.0)]
    route_id = f"R{line.number}"
    shape_id = f"{route_id}-{direction}"
    feed.shapes += [ShapePoint(shape_id, lat, lon, i + 1, distances[i]) for i, (lat, lon) in enumerate(points)]
    headsign = _stop_name(nodes[-1])
    for service, bands in (("WKDY", WEEKDAY_HEADWAYS), ("WKND", WEEKEND_HEADWAYS)):
        for start in _departures(bands, line.offset_min + 4 * direction):
            trip_id = f"{route_id}-{direction}-{service}-{start // 3600:02d}{start // 60 % 60:02d}"
            feed.trips.append(Trip(route_id, service, trip_id, headsign, None, direction, None, shape_id))
            feed.stop_times += _stop_times(trip_id, nodes, legs, distances, start, line.speed_factor)


def _departures(bands: tuple[tuple[float, float, int], ...], offset_min: int) -> list[int]:
    """Departure seconds from the first stop: each band's headway within its window, the whole day shifted by the
    route's offset, so the gap where two bands meet is the earlier band's headway."""
    shift = offset_min * 60
    out, t = [], int(bands[0][0] * 3600) + shift
    for _, end, headway in bands:
        while t < end * 3600 + shift:
            out.append(t)
            t += headway * 60
    return out


def _speed_mps(start: int, factor: float) -> float:
    hour = start / 3600
    kmh = next(speed for begin, end, speed in SPEED_BANDS if begin <= hour < end)
    return kmh * factor / 3.6


def _stop_times(
    trip_id: str, nodes: tuple, legs: list[float], distances: list[float], start: int, factor: float
) -> list[StopTime]:
    speed = _speed_mps(start, factor)
    rows, t = [], start
    for i, node in enumerate(nodes):
        if i:
            t += round(legs[i - 1] / speed)
        dwell = DWELL if 0 < i < len(nodes) - 1 else 0
        rows.append(StopTime(trip_id, t, t + dwell, _stop_id(node), i + 1, None, None, None, distances[i], 1))
        t += dwell
    return rows
