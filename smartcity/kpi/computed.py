"""Indicators computed live from the platform's own data, one function per source, registered by name.

The catalogue names a source as ``computed:<name>``; :data:`SOURCES` holds the function that reads it through the
owning module's services (never its tables). A module with no data gives a value of None and the reason, never an
error: a city that has not loaded its bus feed still sees every other indicator. A source is either a *period*
source (figures over the cases, orders or warnings of a period: any past year can be computed again) or an
*instant* one (the state now: only the current year, and kept for later years by ``smartcity kpi snapshot``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.core.errors import Problem
from smartcity.kpi.catalogue import _

LOGGER = logging.getLogger(__name__)
CITY = "310000"
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Window:
    """The period a computed value covers: a calendar year in the city's zone, up to now for the current year."""

    year: int
    start: datetime
    end: datetime
    now: datetime

    @property
    def current(self) -> bool:
        return self.end >= self.now


def window(year: int | None = None, now: datetime | None = None) -> Window:
    """The calendar ``year`` (the current one by default) as a UTC window; it ends now when the year is running."""
    now = now or utcnow()
    year = year or now.astimezone(ZONE).year
    start = datetime(year, 1, 1, tzinfo=ZONE).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=ZONE).astimezone(UTC)
    return Window(year, start, min(end, now), now)


@dataclass(frozen=True)
class AreaFigure:
    """A district's figure beside the city's: ``value`` in the indicator's unit, or a count ``value`` of ``total``."""

    area_code: str
    value: float | None
    total: int | None = None


@dataclass(frozen=True)
class Reading:
    """What a computed source says: the value (None with the reason when it cannot say), as of when, and — when
    asked for detail — the figure of each district."""

    value: float | None
    reason: str = ""
    as_of: datetime | None = None
    areas: tuple[AreaFigure, ...] = ()
    count_label: str = ""  # what ``AreaFigure.value`` counts when ``total`` is set, e.g. "stations with fresh data"


Function = Callable[[Session, Window, Mapping[str, Any], bool], Reading]


@dataclass(frozen=True)
class Source:
    name: str
    kind: Literal["period", "instant"]
    function: Function = field(repr=False)
    module: str  # the module whose services it reads, for the pages and docs


SOURCES: dict[str, Source] = {}


def register(name: str, kind: Literal["period", "instant"], module: str) -> Callable[[Function], Function]:
    """Decorator: make a function the computed source ``name``."""

    def add(function: Function) -> Function:
        SOURCES[name] = Source(name, kind, function, module)
        return function

    return add


def read(session: Session, name: str, when: Window, params: Mapping[str, Any], *, detail: bool = False) -> Reading:
    """The reading of source ``name`` for ``when``. Whatever goes wrong in the module behind it is said, not raised:
    the reading is run in a savepoint so a failed query leaves the request's transaction usable."""
    source = SOURCES.get(name)
    if source is None:
        return Reading(None, f"no computed source named {name!r}")
    if source.kind == "instant" and not when.current:
        return Reading(None, _("this figure is read live: a past year has only the snapshot taken then"))
    try:
        with session.begin_nested():
            return source.function(session, when, params, detail)
    except Problem as problem:
        return Reading(None, problem.detail)
    except Exception as exc:  # a broken module must not take the catalogue down; it is logged for its owners
        LOGGER.exception("computed source %s failed", name)
        return Reading(None, f"{name} could not be computed ({type(exc).__name__}); see the server log")


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


# ---------------------------------------------------------------- grid cases (cases.evaluation)


@register("cases_on_time_closure", "period", "cases")
def cases_on_time_closure(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """按期结案率 of the cases reported in the window (cases evaluation), city and per district."""
    from smartcity.cases import evaluation

    code = "on_time_closure_rate"
    rows = evaluation.evaluate(session, start=when.start, end=when.end, codes=[code])
    value = _percent(rows[0][code]) if rows else None
    areas: tuple[AreaFigure, ...] = ()
    if detail:
        by_district = evaluation.evaluate(session, start=when.start, end=when.end, codes=[code], group_by="district")
        areas = tuple(AreaFigure(str(r["group"]), _percent(r[code])) for r in by_district if r["group"])
    reason = "" if value is not None else _("no grid case of the period is due for closure yet")
    return Reading(value, reason, when.end, areas)


# ---------------------------------------------------------------- hotline (hotline.metrics)


@register("hotline_satisfaction", "period", "hotline")
def hotline_satisfaction(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """满意率 of the hotline orders received in the window, city and per district."""
    from smartcity.hotline import metrics

    code = "satisfaction_rate"
    rows = metrics.compute(session, start=when.start, end=when.end)
    value = _percent(rows[0][code]) if rows else None
    areas: tuple[AreaFigure, ...] = ()
    if detail:
        by_district = metrics.compute(session, start=when.start, end=when.end, group_by="district")
        areas = tuple(AreaFigure(str(r["group"]), _percent(r[code])) for r in by_district if r["group"])
    reason = "" if value is not None else _("no hotline order of the period has been called back yet")
    return Reading(value, reason, when.end, areas)


# ---------------------------------------------------------------- public transport (traffic.transit)


@register("stops_realtime", "instant", "traffic")
def stops_realtime(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """Share of the stops served in the next hour that have a predicted arrival (U4SSC EC:ICT:T:1C)."""
    from smartcity.traffic import transit

    share = transit.stops_with_realtime_share(session, when.now.timestamp())
    reason = "" if share is not None else _("no bus of the feed in force is scheduled in the next hour")
    return Reading(_percent(share), reason, when.now)


# ---------------------------------------------------------------- sensing hub (sensing.series)


@register("sensor_coverage", "instant", "sensing")
def sensor_coverage(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """Share of the districts with at least one station whose newest reading is fresh; per district, how many of
    its stations are fresh. A station's district is its ``district`` property, else where its location lies."""
    from smartcity.places import service as places
    from smartcity.sensing import series

    fresh_within = timedelta(minutes=float(params.get("fresh_minutes", 15)))
    stations = series.stations(session)
    districts = {d.code for d in places.list_divisions(session, level="district")}
    if not districts:
        return Reading(None, _("no districts are loaded (smartcity places import)"), when.now)
    placed = _districts_of(session, stations)
    fresh: dict[str, int] = dict.fromkeys(districts, 0)
    total: dict[str, int] = dict.fromkeys(districts, 0)
    for station, district in zip(stations, placed, strict=True):
        if district not in districts:
            continue
        total[district] += 1
        age = station.freshest
        fresh[district] += int(age is not None and age <= fresh_within)
    covered = sum(1 for code in districts if fresh[code])
    areas = tuple(AreaFigure(code, fresh[code], total[code]) for code in sorted(districts)) if detail else ()
    return Reading(round(100 * covered / len(districts), 2), "", when.now, areas, "stations with fresh data")


def _districts_of(session: Session, stations: list[Any]) -> list[str | None]:
    """Each station's district code: its own ``district`` property, else the district its location lies in."""
    from smartcity.places import lookup

    codes: list[str | None] = [
        str(s.properties.get("district")) if str(s.properties.get("district", "")).isdigit() else None for s in stations
    ]
    missing = [i for i, c in enumerate(codes) if c is None and stations[i].lon is not None]
    if missing:
        try:
            found = lookup.locate_many(session, [stations[i].lon for i in missing], [stations[i].lat for i in missing])
        except Problem:
            found = []  # no unit grids: stations without a district property stay unplaced
        for i, location in zip(missing, found, strict=False):
            codes[i] = location.district.code if location.district is not None else None
    return codes


# ---------------------------------------------------------------- traffic index (traffic.service)


@register("traffic_index", "instant", "traffic")
def traffic_index(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """The city's index in the newest published cycle (GB/T 33356 L1P2-A1), per district beside it."""
    from smartcity.traffic import service as traffic

    scheme = str(params.get("scheme", "beijing_tpi"))
    try:
        cycle = traffic.cycle_at(session)
    except Problem:
        return Reading(None, _("no traffic cycle has been computed yet"))
    rows = traffic.index_of_cycle(session, cycle, scheme)
    city = next((r for r in rows if r.area_code == CITY), None)
    value = None if city is None or city.value is None else round(float(city.value), 2)
    areas = tuple(AreaFigure(r.area_code, r.value) for r in rows if r.area_code != CITY) if detail else ()
    reason = "" if value is not None else _("the newest cycle has no index for the city (no speeds)")
    return Reading(value, reason, cycle.at, areas)


# ---------------------------------------------------------------- early warnings (alerts.bulletins)


@register("warnings_published", "period", "alerts")
def warnings_published(session: Session, when: Window, params: Mapping[str, Any], detail: bool) -> Reading:
    """New warnings (CAP Alert, not updates or cancellations) published in the window; per district, those whose
    area names it."""
    from smartcity.alerts import bulletins

    published = bulletins.published_between(session, when.start, when.end)
    areas: tuple[AreaFigure, ...] = ()
    if detail:
        counts: dict[str, int] = {}
        for bulletin in published:
            for code in json.loads(bulletin.area_codes or "[]"):
                counts[code] = counts.get(code, 0) + 1
        areas = tuple(AreaFigure(code, counts[code]) for code in sorted(counts))
    return Reading(float(len(published)), "", when.end, areas)
