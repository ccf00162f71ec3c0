"""GTFS static feeds: read a zip or folder into typed records, validate the whole feed at once, write it back as a zip.

``read_feed`` parses every file it knows, checks fields, enumerations, keys and references across files, and
either returns a ``Feed`` or raises one ``GtfsValidationError`` listing every problem with its file, line (as a
spreadsheet counts them: the header is line 1), field and a message. Nothing partial is ever returned.

The records are plain dataclasses whose fields are the GTFS column names, with values typed: times are seconds
after the service day's origin (``25:35:00`` is 92,100), dates are ``datetime.date``. A database service can
store them as rows as they are. ``Feed.schedules`` turns stop_times into one ``TripSchedule`` per trip: parallel
tuples of stop ids, sequences, scheduled seconds and distances, which is what the predictor works on.

Source: GTFS reference (google/transit ``gtfs/spec/en/reference.md``), summarised in domain-standards.md §2.1.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import zipfile
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from operator import attrgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smartcity.core.errors import Problem

MAX_UNZIPPED_BYTES = 2 * 1024**3  # refuse a zip that would unpack to more than this (a zip bomb)
SHOWN_IN_MESSAGE = 50
EARTH_RADIUS_M = 6_371_008.8

# Basic route types, and the extended (Google "Extended GTFS Route Types") blocks most consumers accept.
BASIC_ROUTE_TYPES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 11, 12})
EXTENDED_ROUTE_TYPES = frozenset().union(
    (*range(100, 118), *range(200, 210), *range(400, 406), *range(700, 717), 800, *range(900, 907), 1000, 1100),
    (1200, *range(1300, 1308), 1400, *range(1500, 1508), *range(1700, 1703)),
)
ROUTE_TYPES = BASIC_ROUTE_TYPES | EXTENDED_ROUTE_TYPES


# ---------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class GtfsIssue:
    """One problem in a feed: where it is (file, line with the header as line 1, field) and what is wrong."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line is not None else "")
        return f"{where}{f', {self.field}' if self.field else ''}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class GtfsValidationError(Problem):
    """The feed was rejected; ``issues`` lists every problem found (422 problem+json, one entry per issue)."""

    def __init__(self, issues: Sequence[GtfsIssue]) -> None:
        self.issues = tuple(issues)
        shown = "\n".join(f"  {issue}" for issue in self.issues[:SHOWN_IN_MESSAGE])
        more = len(self.issues) - SHOWN_IN_MESSAGE
        tail = f"\n  … and {more} more" if more > 0 else ""
        detail = f"The GTFS feed was rejected: {len(self.issues)} problem(s).\n{shown}{tail}"
        super().__init__(422, detail, code="gtfs-invalid", errors=[i.as_dict() for i in self.issues])


# ---------------------------------------------------------------- field types


def parse_time(text: str) -> int:
    """``HH:MM:SS`` (or ``H:MM:SS``) as seconds after the service day's origin; hours may exceed 24 (GTFS §Field
    Types: a trip that runs past midnight keeps counting, ``25:35:00``). Raises ValueError."""
    match = _TIME.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a time HH:MM:SS")
    hours, minutes, seconds = (int(g) for g in match.groups())
    if minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a time: minutes and seconds run 00–59 (hours may exceed 24)")
    return hours * 3600 + minutes * 60 + seconds


@lru_cache(maxsize=1 << 17)  # a feed repeats the same few thousand times hundreds of thousands of times
def format_time(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def parse_date(text: str) -> date:
    """``YYYYMMDD`` as a date. Raises ValueError."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


@lru_cache(maxsize=4096)
def format_date(day: date) -> str:
    return day.strftime("%Y%m%d")


_TIME = re.compile(r"(\d{1,3}):(\d\d):(\d\d)")
_DATE = re.compile(r"\d{8}")
_COLOR = re.compile(r"[0-9A-Fa-f]{6}")


def _text(value: str) -> str:
    return value


def _url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError(f"{value!r} is not a URL starting with http:// or https://")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a TZ database time zone such as Asia/Shanghai") from None
    return value


def _float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _latitude(value: str) -> float:
    number = _float(value)
    if not -90.0 <= number <= 90.0:
        raise ValueError(f"latitude {value} is outside -90…90")
    return number


def _longitude(value: str) -> float:
    number = _float(value)
    if not -180.0 <= number <= 180.0:
        raise ValueError(f"longitude {value} is outside -180…180")
    return number


def _non_negative_float(value: str) -> float:
    number = _float(value)
    if number < 0:
        raise ValueError(f"{value} is negative")
    return number


def _integer(value: str) -> int:
    if not value.lstrip("-").isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def _non_negative(value: str) -> int:
    number = _integer(value)
    if number < 0:
        raise ValueError(f"{value} is negative")
    return number


def _positive(value: str) -> int:
    number = _integer(value)
    if number <= 0:
        raise ValueError(f"{value} must be greater than 0")
    return number


def _color(value: str) -> str:
    if not _COLOR.fullmatch(value):
        raise ValueError(f"{value!r} is not a colour of six hexadecimal digits such as FFFFFF")
    return value.upper()


def _enum(allowed: Iterable[int], meaning: str) -> Callable[[str], int]:
    valid = frozenset(allowed)

    def parse(value: str) -> int:
        number = _integer(value)
        if number not in valid:
            raise ValueError(f"{value} is not one of the allowed values ({meaning})")
        return number

    return parse


def _route_type(value: str) -> int:
    number = _integer(value)
    if number not in ROUTE_TYPES:
        raise ValueError(f"{value} is not a route type (0–7, 11, 12 or an extended type such as 700–716)")
    return number


def _day_flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{value!r} must be 1 (service runs) or 0 (does not)")
    return value == "1"


_LOCATION_TYPE = _enum(range(5), "0 stop, 1 station, 2 entrance, 3 generic node, 4 boarding area")
_DIRECTION = _enum((0, 1), "0 or 1")
_EXCEPTION = _enum((1, 2), "1 service added, 2 service removed")
_ZERO_ONE = _enum((0, 1), "0 or 1")
_ZERO_TWO = _enum((0, 1, 2), "0, 1 or 2")
_PICKUP = _enum(range(4), "0 regular, 1 none, 2 phone, 3 ask the driver")


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else str(int(value))
    return str(value)


# ---------------------------------------------------------------- records (fields are the GTFS columns)


@dataclass(slots=True)
class Agency:
    agency_id: str | None
    agency_name: str
    agency_url: str
    agency_timezone: str
    agency_lang: str | None = None
    agency_phone: str | None = None
    agency_fare_url: str | None = None
    agency_email: str | None = None


@dataclass(slots=True)
class Stop:
    stop_id: str
    stop_code: str | None = None
    stop_name: str | None = None
    stop_desc: str | None = None
    stop_lat: float | None = None
    stop_lon: float | None = None
    zone_id: str | None = None
    stop_url: str | None = None
    location_type: int | None = None  # empty means 0, a stop or platform
    parent_station: str | None = None
    stop_timezone: str | None = None
    wheelchair_boarding: int | None = None
    platform_code: str | None = None


@dataclass(slots=True)
class Route:
    route_id: str
    agency_id: str | None
    route_short_name: str | None
    route_long_name: str | None
    route_type: int
    route_desc: str | None = None
    route_url: str | None = None
    route_color: str | None = None
    route_text_color: str | None = None
    route_sort_order: int | None = None


@dataclass(slots=True)
class Trip:
    route_id: str
    service_id: str
    trip_id: str
    trip_headsign: str | None = None
    trip_short_name: str | None = None
    direction_id: int | None = None
    block_id: str | None = None
    shape_id: str | None = None
    wheelchair_accessible: int | None = None
    bikes_allowed: int | None = None


@dataclass(slots=True)
class StopTime:
    trip_id: str
    arrival_time: int | None  # seconds after the service day's origin
    departure_time: int | None
    stop_id: str
    stop_sequence: int
    stop_headsign: str | None = None
    pickup_type: int | None = None
    drop_off_type: int | None = None
    shape_dist_traveled: float | None = None
    timepoint: int | None = None


@dataclass(slots=True)
class Calendar:
    service_id: str
    monday: bool
    tuesday: bool
    wednesday: bool
    thursday: bool
    friday: bool
    saturday: bool
    sunday: bool
    start_date: date
    end_date: date

    def weekdays(self) -> tuple[bool, ...]:
        return (self.monday, self.tuesday, self.wednesday, self.thursday, self.friday, self.saturday, self.sunday)


@dataclass(slots=True)
class CalendarDate:
    service_id: str
    date: date
    exception_type: int  # 1 added, 2 removed


@dataclass(slots=True)
class ShapePoint:
    shape_id: str
    shape_pt_lat: float
    shape_pt_lon: float
    shape_pt_sequence: int
    shape_dist_traveled: float | None = None


@dataclass(slots=True)
class Frequency:
    trip_id: str
    start_time: int
    end_time: int
    headway_secs: int
    exact_times: int | None = None


@dataclass(slots=True)
class FeedInfo:
    feed_publisher_name: str
    feed_publisher_url: str
    feed_lang: str
    default_lang: str | None = None
    feed_start_date: date | None = None
    feed_end_date: date | None = None
    feed_version: str | None = None
    feed_contact_email: str | None = None
    feed_contact_url: str | None = None


# ---------------------------------------------------------------- file specifications (kinds as data)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = False


@dataclass(frozen=True, slots=True)
class FileSpec:
    name: str
    record: type
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # fields that must be unique together


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PARSE: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys(("agency_url", "agency_fare_url", "stop_url", "route_url"), _url),
    **dict.fromkeys(("feed_publisher_url", "feed_contact_url"), _url),
    **dict.fromkeys(("agency_timezone", "stop_timezone"), _timezone),
    **dict.fromkeys(("stop_lat", "shape_pt_lat"), _latitude),
    **dict.fromkeys(("stop_lon", "shape_pt_lon"), _longitude),
    **dict.fromkeys(("arrival_time", "departure_time", "start_time", "end_time"), parse_time),
    **dict.fromkeys(("start_date", "end_date", "date", "feed_start_date", "feed_end_date"), parse_date),
    **dict.fromkeys(_DAYS, _day_flag),
    **dict.fromkeys(("route_color", "route_text_color"), _color),
    **dict.fromkeys(("stop_sequence", "shape_pt_sequence", "route_sort_order"), _non_negative),
    **dict.fromkeys(("wheelchair_boarding", "wheelchair_accessible", "bikes_allowed"), _ZERO_TWO),
    **dict.fromkeys(("pickup_type", "drop_off_type"), _PICKUP),
    **dict.fromkeys(("timepoint", "exact_times"), _ZERO_ONE),
    "shape_dist_traveled": _non_negative_float,
    "location_type": _LOCATION_TYPE,
    "direction_id": _DIRECTION,
    "exception_type": _EXCEPTION,
    "route_type": _route_type,
    "headway_secs": _positive,
}


def _spec(name: str, record: type, columns: str, key: str = "") -> FileSpec:
    """A file's columns in the record's field order; a trailing ``!`` marks a required one (GTFS "Required")."""
    parsed = tuple(Column(c.rstrip("!"), _PARSE.get(c.rstrip("!"), _text), c.endswith("!")) for c in columns.split())
    return FileSpec(name, record, parsed, tuple(key.split()))


SPECS: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "agency.txt",
            Agency,
            "agency_id agency_name! agency_url! agency_timezone! agency_lang agency_phone agency_fare_url agency_email",
        ),
        _spec(
            "stops.txt",
            Stop,
            "stop_id! stop_code stop_name stop_desc stop_lat stop_lon zone_id stop_url location_type parent_station "
            "stop_timezone wheelchair_boarding platform_code",
            "stop_id",
        ),
        _spec(
            "routes.txt",
            Route,
            "route_id! agency_id route_short_name route_long_name route_type! route_desc route_url route_color "
            "route_text_color route_sort_order",
            "route_id",
        ),
        _spec(
            "trips.txt",
            Trip,
            "route_id! service_id! trip_id! trip_headsign trip_short_name direction_id block_id shape_id "
            "wheelchair_accessible bikes_allowed",
            "trip_id",
        ),
        _spec(
            "stop_times.txt",
            StopTime,
            "trip_id! arrival_time departure_time stop_id! stop_sequence! stop_headsign pickup_type drop_off_type "
            "shape_dist_traveled timepoint",
            "trip_id stop_sequence",
        ),
        _spec(
            "calendar.txt",
            Calendar,
            "service_id! monday! tuesday! wednesday! thursday! friday! saturday! sunday! start_date! end_date!",
            "service_id",
        ),
        _spec("calendar_dates.txt", CalendarDate, "service_id! date! exception_type!", "service_id date"),
        _spec(
            "shapes.txt",
            ShapePoint,
            "shape_id! shape_pt_lat! shape_pt_lon! shape_pt_sequence! shape_dist_traveled",
            "shape_id shape_pt_sequence",
        ),
        _spec(
            "frequencies.txt",
            Frequency,
            "trip_id! start_time! end_time! headway_secs! exact_times",
            "trip_id start_time",
        ),
        _spec(
            "feed_info.txt",
            FeedInfo,
            "feed_publisher_name! feed_publisher_url! feed_lang! default_lang feed_start_date feed_end_date "
            "feed_version feed_contact_email feed_contact_url",
        ),
    )
}
ALWAYS_REQUIRED = ("agency.txt", "routes.txt", "trips.txt", "stop_times.txt")


# ---------------------------------------------------------------- the feed


@dataclass(frozen=True, slots=True)
class TripSchedule:
    """One trip's stops in order as parallel tuples: what a predictor and a departure board need.

    ``arrivals``/``departures`` are seconds after the service day's origin; stops the feed leaves without a
    time (non-timepoints) are interpolated by distance between the timed stops around them. ``distances``
    are metres along the straight lines between consecutive stops, from 0 at the first stop.
    """

    trip_id: str
    route_id: str
    service_id: str
    direction_id: int | None
    shape_id: str | None
    block_id: str | None
    headsign: str | None
    stop_ids: tuple[str, ...]
    stop_sequences: tuple[int, ...]
    arrivals: tuple[int, ...]
    departures: tuple[int, ...]
    distances: tuple[float, ...]
    lats: tuple[float, ...]
    lons: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.stop_ids)

    def index_of_sequence(self, stop_sequence: int) -> int | None:
        i = bisect_left(self.stop_sequences, stop_sequence)
        return i if i < len(self.stop_sequences) and self.stop_sequences[i] == stop_sequence else None

    def index_of_stop(self, stop_id: str, start: int = 0) -> int | None:
        try:
            return self.stop_ids.index(stop_id, start)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class ActiveTrip:
    """A trip running on one service date: ``origin`` is that day's origin (local noon − 12 h) in epoch seconds;
    ``offset`` shifts the scheduled times of a frequency-based trip to this run (0 for others)."""

    trip_id: str
    service_date: date
    origin: int
    offset: int = 0

    @property
    def start_date(self) -> str:
        return format_date(self.service_date)


@dataclass
class Feed:
    """A whole GTFS feed in memory. Treat it as immutable once built: the indexes below are computed once."""

    agencies: list[Agency]
    stops: list[Stop]
    routes: list[Route]
    trips: list[Trip]
    stop_times: list[StopTime]
    calendars: list[Calendar] = field(default_factory=list)
    calendar_dates: list[CalendarDate] = field(default_factory=list)
    shapes: list[ShapePoint] = field(default_factory=list)
    frequencies: list[Frequency] = field(default_factory=list)
    feed_info: FeedInfo | None = None
    extra_files: dict[str, bytes] = field(default_factory=dict)  # files we do not model, written back unchanged

    @cached_property
    def stop_by_id(self) -> dict[str, Stop]:
        return {s.stop_id: s for s in self.stops}

    @cached_property
    def route_by_id(self) -> dict[str, Route]:
        return {r.route_id: r for r in self.routes}

    @cached_property
    def trip_by_id(self) -> dict[str, Trip]:
        return {t.trip_id: t for t in self.trips}

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.agencies[0].agency_timezone)

    @cached_property
    def schedules(self) -> dict[str, TripSchedule]:
        """One ``TripSchedule`` per trip that has stop times."""
        by_trip: dict[str, list[StopTime]] = defaultdict(list)
        for st in self.stop_times:
            by_trip[st.trip_id].append(st)
        return {
            trip_id: _schedule(self.trip_by_id[trip_id], sorted(rows, key=_by_sequence), self.stop_by_id)
            for trip_id, rows in by_trip.items()
            if trip_id in self.trip_by_id
        }

    @cached_property
    def frequencies_by_trip(self) -> dict[str, list[Frequency]]:
        out: dict[str, list[Frequency]] = defaultdict(list)
        for f in self.frequencies:
            out[f.trip_id].append(f)
        return dict(out)

    @cached_property
    def _calendar_by_service(self) -> dict[str, Calendar]:
        return {c.service_id: c for c in self.calendars}

    @cached_property
    def _exceptions(self) -> dict[tuple[str, date], int]:
        return {(d.service_id, d.date): d.exception_type for d in self.calendar_dates}

    def runs_on(self, service_id: str, day: date) -> bool:
        """Whether the service runs on ``day``: calendar_dates exceptions first, then calendar.txt."""
        exception = self._exceptions.get((service_id, day))
        if exception is not None:
            return exception == 1
        cal = self._calendar_by_service.get(service_id)
        return cal is not None and cal.start_date <= day <= cal.end_date and cal.weekdays()[day.weekday()]

    def services_on(self, day: date) -> frozenset[str]:
        ids = {c.service_id for c in self.calendars} | {d.service_id for d in self.calendar_dates}
        return frozenset(s for s in ids if self.runs_on(s, day))

    def service_origin(self, day: date) -> int:
        return service_day_origin(day, self.timezone)

    def active_trips(self, at: int, *, before: int = 0, after: int = 0) -> list[ActiveTrip]:
        """Trips running at epoch second ``at``: between their first departure − ``before`` and last arrival +
        ``after``, on the service date that day or the day before (times past 24:00 belong to the day before)."""
        local_day = datetime.fromtimestamp(at, self.timezone).date()
        found = []
        for day in (local_day - timedelta(days=1), local_day):
            origin, services = self.service_origin(day), self.services_on(day)
            for schedule in self.schedules.values():
                if schedule.service_id in services:
                    found += self._runs_at(schedule, day, origin, at - origin, before, after)
        return found

    def service_date_for(self, trip_id: str, at: int, *, slack: int = 3600) -> date | None:
        """The service date on which ``trip_id`` runs around epoch second ``at`` (between its first departure and
        last arrival, widened by ``slack``): that local day or the day before; None if neither."""
        schedule = self.schedules.get(trip_id)
        if schedule is None:
            return None
        local_day = datetime.fromtimestamp(at, self.timezone).date()
        for day in (local_day, local_day - timedelta(days=1)):
            origin = self.service_origin(day)
            if self.runs_on(schedule.service_id, day) and self._runs_at(
                schedule, day, origin, at - origin, slack, slack
            ):
                return day
        return None

    def _runs_at(self, s: TripSchedule, day: date, origin: int, t: int, before: int, after: int) -> list[ActiveTrip]:
        frequencies = self.frequencies_by_trip.get(s.trip_id)
        if not frequencies:
            running = s.departures[0] - before <= t <= s.arrivals[-1] + after
            return [ActiveTrip(s.trip_id, day, origin)] if running else []
        runs = []
        for f in frequencies:  # GTFS frequencies: a run departs every headway_secs in [start_time, end_time)
            for start in range(f.start_time, f.end_time, f.headway_secs):
                offset = start - s.departures[0]
                if s.departures[0] + offset - before <= t <= s.arrivals[-1] + offset + after:
                    runs.append(ActiveTrip(s.trip_id, day, origin, offset))
        return runs


@lru_cache(maxsize=4096)  # asked for every vehicle of every feed: a few dates and one zone
def service_day_origin(day: date, tz: ZoneInfo) -> int:
    """Epoch second of the service day's origin: "noon minus 12h" local time (GTFS §Field Types, Time), which is
    midnight except on days when the clocks change."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=tz)
    return int(noon.timestamp()) - 43_200


def _by_sequence(st: StopTime) -> int:
    return st.stop_sequence


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _schedule(trip: Trip, rows: list[StopTime], stops: Mapping[str, Stop]) -> TripSchedule:
    lats = tuple(stops[r.stop_id].stop_lat or 0.0 for r in rows)
    lons = tuple(stops[r.stop_id].stop_lon or 0.0 for r in rows)
    distances = [0.0]
    for i in range(1, len(rows)):
        distances.append(distances[-1] + haversine_m(lats[i - 1], lons[i - 1], lats[i], lons[i]))
    arrivals, departures = _interpolated(rows, distances)
    return TripSchedule(
        trip_id=trip.trip_id,
        route_id=trip.route_id,
        service_id=trip.service_id,
        direction_id=trip.direction_id,
        shape_id=trip.shape_id,
        block_id=trip.block_id,
        headsign=trip.trip_headsign,
        stop_ids=tuple(r.stop_id for r in rows),
        stop_sequences=tuple(r.stop_sequence for r in rows),
        arrivals=tuple(arrivals),
        departures=tuple(departures),
        distances=tuple(distances),
        lats=lats,
        lons=lons,
    )


def _interpolated(rows: list[StopTime], distances: list[float]) -> tuple[list[int], list[int]]:
    """Arrival and departure seconds for every stop; an untimed stop gets a time by distance between its timed
    neighbours (GTFS: times may be left out of non-timepoint stops; consumers interpolate)."""
    arr = [r.arrival_time if r.arrival_time is not None else r.departure_time for r in rows]
    dep = [r.departure_time if r.departure_time is not None else r.arrival_time for r in rows]
    timed = [i for i, a in enumerate(arr) if a is not None]
    for left, right in pairwise(timed):
        span, start, end = distances[right] - distances[left], dep[left], arr[right]
        for i in range(left + 1, right):
            share = (distances[i] - distances[left]) / span if span > 0 else (i - left) / (right - left)
            arr[i] = dep[i] = round(start + share * (end - start))  # type: ignore[operator]
    return arr, dep  # type: ignore[return-value]


# ---------------------------------------------------------------- reading


def read_feed(source: bytes | str | os.PathLike[str] | Mapping[str, bytes | str]) -> Feed:
    """Read and validate a GTFS feed: zip bytes, a path to a zip or a folder, or a mapping of file name → content.

    Returns the ``Feed``; raises ``GtfsValidationError`` with every problem found (nothing partial is returned).
    """
    files, issues = _open_source(source)
    if issues:
        raise GtfsValidationError(issues)
    return _build(files)


def _build(files: Mapping[str, bytes]) -> Feed:
    issues: list[GtfsIssue] = _missing_files(files)
    tables: dict[str, list[Any]] = {}
    context = _Context({}, {})
    file_level = bool(issues)
    for name, spec in SPECS.items():
        if name in files:
            parsed = _parse_file(spec, files[name], issues)
            if parsed is None:
                file_level = True
                continue
            tables[name], context.lines[name], context.rejected[name] = parsed
    if file_level:  # a missing file or column makes every cross-file check noise: report what we have
        raise GtfsValidationError(sorted(issues, key=_reading_order))
    feed = _feed_from_tables(tables, {n: b for n, b in files.items() if n not in SPECS})
    issues += _cross_checks(feed, context, translations="translations.txt" in files)
    if issues:
        raise GtfsValidationError(sorted(issues, key=_reading_order))
    return feed


def _reading_order(issue: GtfsIssue) -> tuple[int, str, int]:
    order = list(SPECS).index(issue.file) if issue.file in SPECS else len(SPECS)
    return order, issue.file, issue.line or 0


def _feed_from_tables(tables: Mapping[str, list[Any]], extra: dict[str, bytes]) -> Feed:
    info = tables.get("feed_info.txt") or [None]
    return Feed(
        agencies=tables["agency.txt"],
        stops=tables.get("stops.txt", []),
        routes=tables["routes.txt"],
        trips=tables["trips.txt"],
        stop_times=tables["stop_times.txt"],
        calendars=tables.get("calendar.txt", []),
        calendar_dates=tables.get("calendar_dates.txt", []),
        shapes=tables.get("shapes.txt", []),
        frequencies=tables.get("frequencies.txt", []),
        feed_info=info[0],
        extra_files=extra,
    )


def _open_source(source: bytes | str | os.PathLike[str] | Mapping[str, bytes | str]) -> _Files:
    if isinstance(source, Mapping):
        return {k: v.encode() if isinstance(v, str) else v for k, v in source.items()}, []
    if isinstance(source, bytes | bytearray):
        return _read_zip(bytes(source))
    path = Path(source)
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}, []
    if not path.exists():
        return {}, [GtfsIssue(str(path), None, None, "no such file or folder")]
    return _read_zip(path.read_bytes())


_Files = tuple[dict[str, bytes], list[GtfsIssue]]


def _read_zip(data: bytes) -> _Files:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return {}, [GtfsIssue("(zip)", None, None, f"not a zip archive: {exc}")]
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
            return {}, [GtfsIssue("(zip)", None, None, f"unpacks to more than {MAX_UNZIPPED_BYTES:,} bytes")]
        files = {m.filename: archive.read(m) for m in members if "/" not in m.filename}
        nested = sorted(m.filename for m in members if "/" in m.filename and m.filename.endswith(".txt"))
    issues = [
        GtfsIssue(name.rsplit("/", 1)[1], None, None, f"found as {name}: GTFS files must be at the top of the zip")
        for name in nested
        if name.rsplit("/", 1)[1] in SPECS and name.rsplit("/", 1)[1] not in files
    ]
    return files, issues


def _missing_files(files: Mapping[str, bytes]) -> list[GtfsIssue]:
    missing = [GtfsIssue(name, None, None, "required file is missing") for name in ALWAYS_REQUIRED if name not in files]
    if "stops.txt" not in files and "locations.geojson" not in files:  # stops.txt: required unless locations.geojson
        missing.append(GtfsIssue("stops.txt", None, None, "required file is missing (no locations.geojson either)"))
    if "calendar.txt" not in files and "calendar_dates.txt" not in files:
        message = "calendar.txt or calendar_dates.txt is required: neither is in the feed"
        missing.append(GtfsIssue("calendar.txt", None, None, message))
    return missing


def _decode(name: str, data: bytes, issues: list[GtfsIssue]) -> str | None:
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte order mark is tolerated (spreadsheets write one)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        issues.append(GtfsIssue(name, line, None, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"))
        return None


def _parse_file(spec: FileSpec, data: bytes, issues: list[GtfsIssue]) -> _Parsed | None:
    """Typed records of one file, the line of each, and the keys of rows left out for a problem (reported);
    None when the file as a whole cannot be read (not UTF-8, no header, a required column missing)."""
    text = _decode(spec.name, data, issues)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        issues.append(GtfsIssue(spec.name, 1, None, "the file is empty: it needs a header line"))
        return None
    plan = _column_plan(spec, header, issues)
    if plan is None:
        return None
    return _parse_rows(spec, reader, plan, len(header), issues)


_Parsed = tuple[list[Any], list[int], set[str]]
_Plan = list[tuple[int | None, Column]]


def _column_plan(spec: FileSpec, header: list[str], issues: list[GtfsIssue]) -> _Plan | None:
    """For each column of the spec, its position in the header (None when the file leaves it out)."""
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in position:
            issues.append(GtfsIssue(spec.name, 1, name, "column appears twice in the header"))
        position.setdefault(name, i)
    missing = [c.name for c in spec.columns if c.required and c.name not in position]
    for name in missing:
        issues.append(GtfsIssue(spec.name, 1, name, "required column is missing from the header"))
    return None if missing else [(position.get(c.name), c) for c in spec.columns]


def _parse_rows(
    spec: FileSpec, reader: Iterator[list[str]], plan: _Plan, width: int, issues: list[GtfsIssue]
) -> _Parsed:
    records, lines, rejected, record, line = [], [], set(), spec.record, 1
    key_at = plan[0][0]  # the first column is the file's id (stop_id, trip_id, service_id, …)
    try:
        for line, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            values = _row_values(spec.name, line, row, plan, width, issues)
            if values is None:
                rejected.add(row[key_at].strip() if key_at is not None and key_at < len(row) else "")
                continue
            records.append(record(*values))
            lines.append(line)
    except csv.Error as exc:
        issues.append(GtfsIssue(spec.name, line + 1, None, f"cannot be read as CSV: {exc}"))
    return records, lines, rejected


def _row_values(
    name: str, line: int, row: list[str], plan: _Plan, width: int, issues: list[GtfsIssue]
) -> list[Any] | None:
    if len(row) != width:
        issues.append(GtfsIssue(name, line, None, f"the row has {len(row)} values but the header has {width} columns"))
        return None
    values: list[Any] = []
    ok = True
    for index, column in plan:
        raw = row[index].strip() if index is not None else ""
        if not raw:
            if column.required:
                issues.append(GtfsIssue(name, line, column.name, "required value is empty"))
                ok = False
            values.append(None)
            continue
        try:
            values.append(column.parse(raw))
        except ValueError as exc:
            issues.append(GtfsIssue(name, line, column.name, str(exc)))
            ok = False
    return values if ok else None


# ---------------------------------------------------------------- cross-file checks


def check_feed(feed: Feed) -> list[GtfsIssue]:
    """The rules that span rows and files, for a feed built in memory (records taken to be in file order as
    ``write_zip`` writes them: record i on line i + 2). ``read_feed`` runs the same checks."""
    return _cross_checks(feed, _Context({}, {}), translations="translations.txt" in feed.extra_files)


@dataclass(slots=True)
class _Context:
    """Where each record came from, and the first-column keys of the rows rejected while parsing: a reference
    to one of those is not reported a second time as a reference to nothing."""

    lines: dict[str, list[int]]
    rejected: dict[str, set[str]]

    def line(self, file: str, index: int) -> int:
        known = self.lines.get(file)
        return known[index] if known is not None else index + 2

    def exists(self, value: str, known: Container[str], *files: str) -> bool:
        return value in known or any(value in self.rejected.get(f, ()) for f in files)


def _cross_checks(feed: Feed, ctx: _Context, *, translations: bool) -> list[GtfsIssue]:
    issues: list[GtfsIssue] = []
    for check in (_check_agencies, _check_stops, _check_routes, _check_calendars, _check_trips, _check_shapes):
        issues += check(feed, ctx)
    issues += _check_stop_times(feed, ctx)
    issues += _check_frequencies(feed, ctx)
    issues += _check_feed_info(feed, ctx, translations)
    return issues


def _duplicates(file: str, records: Sequence[Any], key: tuple[str, ...], ctx: _Context) -> list[GtfsIssue]:
    seen: dict[tuple, int] = {}
    issues = []
    for i, r in enumerate(records):
        value = tuple(getattr(r, k) for k in key)
        if None in value:
            continue
        if value in seen:
            shown = ", ".join(_format(v) for v in value)
            message = f"duplicate key ({shown}): already on line {ctx.line(file, seen[value])}"
            issues.append(GtfsIssue(file, ctx.line(file, i), key[-1], message))
        else:
            seen[value] = i
    return issues


def _check_agencies(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("agency.txt", feed.agencies, ("agency_id",), ctx)
    if not feed.agencies and not ctx.rejected.get("agency.txt"):
        issues.append(GtfsIssue("agency.txt", None, None, "the file has no agency"))
    for i, a in enumerate(feed.agencies):
        line = ctx.line("agency.txt", i)
        if len(feed.agencies) > 1 and not a.agency_id:  # agency_id: required when there are several agencies
            issues.append(GtfsIssue("agency.txt", line, "agency_id", "required: the feed has several agencies"))
        if a.agency_timezone != feed.agencies[0].agency_timezone:
            message = f"{a.agency_timezone} differs from {feed.agencies[0].agency_timezone}: all agencies share one"
            issues.append(GtfsIssue("agency.txt", line, "agency_timezone", message))
    return issues


def _check_stops(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("stops.txt", feed.stops, ("stop_id",), ctx)
    for i, s in enumerate(feed.stops):
        kind, line = s.location_type or 0, ctx.line("stops.txt", i)
        if kind in (0, 1, 2):  # stop_name, stop_lat, stop_lon: required for stops, stations and entrances
            for name in ("stop_name", "stop_lat", "stop_lon"):
                if getattr(s, name) is None:
                    issues.append(GtfsIssue("stops.txt", line, name, f"required for location_type {kind}"))
        issues += _check_parent(s, kind, line, feed.stop_by_id, ctx)
    return issues


def _check_parent(s: Stop, kind: int, line: int, by_id: Mapping[str, Stop], ctx: _Context) -> list[GtfsIssue]:
    def issue(message: str) -> list[GtfsIssue]:
        return [GtfsIssue("stops.txt", line, "parent_station", message)]

    if s.parent_station is None:  # entrances, generic nodes and boarding areas belong to a station
        return issue(f"required for location_type {kind}") if kind in (2, 3, 4) else []
    if kind == 1:
        return issue("a station (location_type 1) cannot have a parent station")
    parent = by_id.get(s.parent_station)
    if parent is None:
        return [] if ctx.exists(s.parent_station, by_id, "stops.txt") else issue(f"no stop {s.parent_station!r}")
    wanted = 0 if kind == 4 else 1  # a boarding area's parent is a platform; the others' a station
    if (parent.location_type or 0) != wanted:
        return issue(f"{s.parent_station!r} has location_type {parent.location_type or 0}, expected {wanted}")
    return []


def _check_routes(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("routes.txt", feed.routes, ("route_id",), ctx)
    agency_ids = {a.agency_id for a in feed.agencies if a.agency_id}
    for i, r in enumerate(feed.routes):
        line = ctx.line("routes.txt", i)
        if not r.route_short_name and not r.route_long_name:
            issues.append(GtfsIssue("routes.txt", line, "route_short_name", "a short or a long name is required"))
        if r.agency_id is None and len(feed.agencies) > 1:
            issues.append(GtfsIssue("routes.txt", line, "agency_id", "required: the feed has several agencies"))
        elif r.agency_id is not None and not ctx.exists(r.agency_id, agency_ids, "agency.txt"):
            issues.append(GtfsIssue("routes.txt", line, "agency_id", f"no agency with agency_id {r.agency_id!r}"))
    return issues


def _check_calendars(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("calendar.txt", feed.calendars, ("service_id",), ctx)
    issues += _duplicates("calendar_dates.txt", feed.calendar_dates, ("service_id", "date"), ctx)
    for i, c in enumerate(feed.calendars):
        if c.end_date < c.start_date:
            message = f"{format_date(c.end_date)} is before start_date {format_date(c.start_date)}"
            issues.append(GtfsIssue("calendar.txt", ctx.line("calendar.txt", i), "end_date", message))
    return issues


def _check_trips(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("trips.txt", feed.trips, ("trip_id",), ctx)
    services = {c.service_id for c in feed.calendars} | {d.service_id for d in feed.calendar_dates}
    shapes = {p.shape_id for p in feed.shapes}
    for i, t in enumerate(feed.trips):
        line = ctx.line("trips.txt", i)
        if not ctx.exists(t.route_id, feed.route_by_id, "routes.txt"):
            issues.append(GtfsIssue("trips.txt", line, "route_id", f"no route with route_id {t.route_id!r}"))
        if not ctx.exists(t.service_id, services, "calendar.txt", "calendar_dates.txt"):
            message = f"no service_id {t.service_id!r} in calendar.txt or calendar_dates.txt"
            issues.append(GtfsIssue("trips.txt", line, "service_id", message))
        if t.shape_id is not None and not ctx.exists(t.shape_id, shapes, "shapes.txt"):
            issues.append(GtfsIssue("trips.txt", line, "shape_id", f"no shape with shape_id {t.shape_id!r}"))
    return issues


def _check_shapes(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("shapes.txt", feed.shapes, ("shape_id", "shape_pt_sequence"), ctx)
    by_shape: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(feed.shapes):
        by_shape[p.shape_id].append(i)
    for indexes in by_shape.values():
        indexes.sort(key=lambda i: feed.shapes[i].shape_pt_sequence)
        last = -1.0
        for i in indexes:
            dist = feed.shapes[i].shape_dist_traveled
            if dist is not None and dist < last:
                message = f"{dist} is less than the previous point's {last}: distances must not decrease"
                issues.append(GtfsIssue("shapes.txt", ctx.line("shapes.txt", i), "shape_dist_traveled", message))
            last = dist if dist is not None else last
    return issues


def _check_stop_times(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("stop_times.txt", feed.stop_times, ("trip_id", "stop_sequence"), ctx)
    by_trip: dict[str, list[int]] = defaultdict(list)
    for i, st in enumerate(feed.stop_times):
        issues += _check_stop_time_row(st, ctx.line("stop_times.txt", i), feed, ctx)
        by_trip[st.trip_id].append(i)
    partly_rejected = ctx.rejected.get("stop_times.txt", set())
    for trip_id, indexes in by_trip.items():
        if trip_id in feed.trip_by_id:
            indexes.sort(key=lambda i: feed.stop_times[i].stop_sequence)
            issues += _check_trip_times(feed.stop_times, indexes, ctx, whole=trip_id not in partly_rejected)
    for i, t in enumerate(feed.trips):
        if len(by_trip.get(t.trip_id, ())) < 2 and t.trip_id not in partly_rejected:
            message = "the trip has fewer than two stop times in stop_times.txt"
            issues.append(GtfsIssue("trips.txt", ctx.line("trips.txt", i), "trip_id", message))
    return issues


def _check_stop_time_row(st: StopTime, line: int, feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = []
    if not ctx.exists(st.trip_id, feed.trip_by_id, "trips.txt"):
        issues.append(GtfsIssue("stop_times.txt", line, "trip_id", f"no trip with trip_id {st.trip_id!r}"))
    stop = feed.stop_by_id.get(st.stop_id)
    if stop is None and not ctx.exists(st.stop_id, (), "stops.txt"):
        issues.append(GtfsIssue("stop_times.txt", line, "stop_id", f"no stop with stop_id {st.stop_id!r}"))
    elif stop is not None and (stop.location_type or 0) != 0:  # stop_times refer to stops or platforms only
        message = f"{st.stop_id!r} has location_type {stop.location_type}: a trip calls at a stop or platform (0)"
        issues.append(GtfsIssue("stop_times.txt", line, "stop_id", message))
    if (st.arrival_time is None) != (st.departure_time is None):
        missing = "arrival_time" if st.arrival_time is None else "departure_time"
        message = "give both arrival_time and departure_time, or neither (the same value when there is no dwell)"
        issues.append(GtfsIssue("stop_times.txt", line, missing, message))
    elif st.timepoint == 1 and st.arrival_time is None:
        issues.append(GtfsIssue("stop_times.txt", line, "arrival_time", "required: timepoint is 1"))
    return issues


def _check_trip_times(rows: Sequence[StopTime], indexes: list[int], ctx: _Context, *, whole: bool) -> list[GtfsIssue]:
    """Along one trip (in stop_sequence order): the first and last stops are timed (checked when none of the
    trip's rows was rejected), arrival ≤ departure at each stop and times never go back from one to the next."""
    issues = []
    for end, label in ((indexes[0], "first"), (indexes[-1], "last")) if whole else ():
        if rows[end].arrival_time is None and rows[end].departure_time is None:
            message = f"required: the {label} stop of trip {rows[end].trip_id!r} must have a time"
            issues.append(GtfsIssue("stop_times.txt", ctx.line("stop_times.txt", end), "arrival_time", message))
    previous: int | None = None
    for i in indexes:
        st, line = rows[i], ctx.line("stop_times.txt", i)
        if st.arrival_time is None or st.departure_time is None:
            continue
        if st.departure_time < st.arrival_time:
            message = f"{format_time(st.departure_time)} is before arrival_time {format_time(st.arrival_time)}"
            issues.append(GtfsIssue("stop_times.txt", line, "departure_time", message))
        if previous is not None and st.arrival_time < previous:
            message = f"{format_time(st.arrival_time)} is before the previous stop's {format_time(previous)}"
            issues.append(GtfsIssue("stop_times.txt", line, "arrival_time", message))
        previous = max(st.departure_time, previous or 0)
    return issues


def _check_frequencies(feed: Feed, ctx: _Context) -> list[GtfsIssue]:
    issues = _duplicates("frequencies.txt", feed.frequencies, ("trip_id", "start_time"), ctx)
    for i, f in enumerate(feed.frequencies):
        line = ctx.line("frequencies.txt", i)
        if not ctx.exists(f.trip_id, feed.trip_by_id, "trips.txt"):
            issues.append(GtfsIssue("frequencies.txt", line, "trip_id", f"no trip with trip_id {f.trip_id!r}"))
        if f.end_time <= f.start_time:
            message = f"{format_time(f.end_time)} is not after start_time {format_time(f.start_time)}"
            issues.append(GtfsIssue("frequencies.txt", line, "end_time", message))
    return issues


def _check_feed_info(feed: Feed, ctx: _Context, translations: bool) -> list[GtfsIssue]:
    info = feed.feed_info
    if info is None:  # feed_info.txt: required when translations.txt is present
        needed = [GtfsIssue("feed_info.txt", None, None, "required file is missing: translations.txt is present")]
        return needed if translations else []
    if info.feed_start_date and info.feed_end_date and info.feed_end_date < info.feed_start_date:
        message = f"{format_date(info.feed_end_date)} is before feed_start_date {format_date(info.feed_start_date)}"
        return [GtfsIssue("feed_info.txt", ctx.line("feed_info.txt", 0), "feed_end_date", message)]
    return []


# ---------------------------------------------------------------- writing


def write_zip(feed: Feed) -> bytes:
    """The feed as a GTFS zip: one file per table (records in list order), optional columns that every record
    leaves empty left out, and the files ``extra_files`` carries. Byte-for-byte the same for the same feed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in table_texts(feed).items():
            archive.writestr(_member(name), text.encode("utf-8"))
        for name, data in sorted(feed.extra_files.items()):
            archive.writestr(_member(name), data)
    return buffer.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # a fixed time keeps the bytes (and ETag) stable
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def table_texts(feed: Feed) -> dict[str, str]:
    """Each non-empty table of the feed as CSV text, by file name."""
    tables: dict[str, list[Any]] = {
        "agency.txt": feed.agencies,
        "stops.txt": feed.stops,
        "routes.txt": feed.routes,
        "trips.txt": feed.trips,
        "stop_times.txt": feed.stop_times,
        "calendar.txt": feed.calendars,
        "calendar_dates.txt": feed.calendar_dates,
        "shapes.txt": feed.shapes,
        "frequencies.txt": feed.frequencies,
        "feed_info.txt": [feed.feed_info] if feed.feed_info else [],
    }
    return {name: _csv_text(SPECS[name], records) for name, records in tables.items() if records}


def _csv_text(spec: FileSpec, records: Sequence[Any]) -> str:
    names = [c.name for c in spec.columns]
    values = attrgetter(*names)
    rows = [list(values(r)) for r in records]
    keep = [i for i, c in enumerate(spec.columns) if c.required or any(row[i] is not None for row in rows)]
    for i in keep:  # the csv module writes None as "", numbers with repr(); times, dates and flags need us
        convert = _WRITERS.get(spec.columns[i].parse)
        if convert is not None:
            for row in rows:
                if row[i] is not None:
                    row[i] = convert(row[i])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([names[i] for i in keep])
    writer.writerows([[row[i] for i in keep] for row in rows] if len(keep) < len(names) else rows)
    return out.getvalue()


_WRITERS: dict[Callable[[str], Any], Callable[[Any], str]] = {
    parse_time: format_time,
    parse_date: format_date,
    _day_flag: _format,
}


def table_rows(feed: Feed) -> dict[str, list[dict[str, Any]]]:
    """Every table as a list of dicts keyed by GTFS column (typed values), by file name: for a database."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, records in (
        ("agency.txt", feed.agencies),
        ("stops.txt", feed.stops),
        ("routes.txt", feed.routes),
        ("trips.txt", feed.trips),
        ("stop_times.txt", feed.stop_times),
        ("calendar.txt", feed.calendars),
        ("calendar_dates.txt", feed.calendar_dates),
        ("shapes.txt", feed.shapes),
        ("frequencies.txt", feed.frequencies),
        ("feed_info.txt", [feed.feed_info] if feed.feed_info else []),
    ):
        names = [f.name for f in fields(SPECS[name].record)]
        out[name] = [{n: getattr(r, n) for n in names} for r in records]
    return out
