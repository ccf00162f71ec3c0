"""Reading time series for charts and maps: downsampling (min / max / mean per interval, in SQL) and the
latest value of every station with its freshness — read from what the ingest keeps, not from a scan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from smartcity.core.db import utcnow
from smartcity.core.errors import Problem
from smartcity.sensing.models import (
    Location,
    Observation,
    ObservedProperty,
    Stream,
    Thing,
    multi_datastream_observed_property,
    thing_location,
)

MAX_BUCKETS = 5000


class EpochSeconds(FunctionElement[int]):
    """Seconds since 1970 of a stored UTC time, on either engine."""

    type = Integer()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(extract(epoch FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


class JsonNumberAt(FunctionElement[float]):
    """The number at position ``i`` of a stored JSON array (a MultiDatastream's result), NULL when it is not a
    number — on either engine."""

    type = Float()
    inherit_cache = True
    name = "json_number_at"


@compiles(JsonNumberAt, "sqlite")
def _json_number_sqlite(element: JsonNumberAt, compiler: Any, **kw: Any) -> str:
    column, position = (compiler.process(c, **kw) for c in element.clauses)
    path = f"'$[' || {position} || ']'"
    return (f"CASE WHEN json_type({column}, {path}) IN ('integer', 'real') "
            f"THEN CAST(json_extract({column}, {path}) AS REAL) END")  # fmt: skip


@compiles(JsonNumberAt, "postgresql")
def _json_number_postgresql(element: JsonNumberAt, compiler: Any, **kw: Any) -> str:
    column, position = (compiler.process(c, **kw) for c in element.clauses)
    item = f"(CAST({column} AS jsonb) -> CAST({position} AS INTEGER))"
    return f"CASE WHEN jsonb_typeof({item}) = 'number' THEN CAST({item} #>> '{{}}' AS DOUBLE PRECISION) END"


@dataclass(frozen=True)
class Bucket:
    start: datetime
    count: int
    minimum: float | None
    maximum: float | None
    mean: float | None


def downsample(
    session: Session,
    datastream_id: int,
    start: datetime,
    end: datetime,
    interval: timedelta,
    component: int | None = None,
) -> list[Bucket]:
    """Numeric observations of [start, end) grouped into ``interval`` buckets (aligned to the epoch); for a
    MultiDatastream, the ``component``-th value of each result array."""
    seconds = int(interval.total_seconds())
    if seconds < 1:
        raise Problem(
            422, "The interval must be at least one second.", errors=[{"field": "interval", "message": "too small"}]
        )
    if end <= start:
        raise Problem(422, "The period must end after it starts.", errors=[{"field": "to", "message": "before from"}])
    if (end - start).total_seconds() / seconds > MAX_BUCKETS:
        raise Problem(
            422,
            f"That is more than {MAX_BUCKETS} intervals; choose a longer interval or a shorter period.",
            errors=[{"field": "interval", "message": "too many buckets"}],
        )
    epoch = EpochSeconds(Observation.phenomenon_time_start)
    bucket = (epoch - epoch % seconds).label("bucket")
    value = (
        Observation.result_number if component is None else JsonNumberAt(Observation.result_json, literal(component))
    )
    statement = (
        select(bucket, func.count(value), func.min(value), func.max(value), func.avg(value))
        .where(
            Observation.datastream_id == datastream_id,
            Observation.phenomenon_time_start >= start,
            Observation.phenomenon_time_start < end,
        )
        .group_by(bucket)
        .order_by(bucket)
    )
    return [
        Bucket(datetime.fromtimestamp(int(b), UTC), int(n), low, high, round(mean, 6) if mean is not None else None)
        for b, n, low, high, mean in session.execute(statement)
    ]


@dataclass(frozen=True)
class Reading:
    datastream_id: int
    name: str
    unit: str
    value: Any
    time: datetime | None
    age: timedelta | None
    component: int | None = None  # a MultiDatastream's value: its position in the result array


def _component_names(session: Session, multi_ids: list[int]) -> dict[int, list[str]]:
    """The ObservedProperty names of each MultiDatastream, in the order of its result arrays."""
    if not multi_ids:
        return {}
    link = multi_datastream_observed_property
    rows = session.execute(
        select(link.c.multi_datastream_id, ObservedProperty.name)
        .join(ObservedProperty, ObservedProperty.id == link.c.observed_property_id)
        .where(link.c.multi_datastream_id.in_(multi_ids))
        .order_by(link.c.multi_datastream_id, link.c.position)
    )
    names: dict[int, list[str]] = {}
    for multi_id, name in rows:
        names.setdefault(multi_id, []).append(name)
    return names


def _readings(ds: Stream, components: list[str], now: datetime) -> list[Reading]:
    """A Datastream's latest reading, or one per value of a MultiDatastream's (named by its properties)."""
    latest = json.loads(ds.latest_result) if ds.latest_result else None
    age = now - ds.latest_time if ds.latest_time else None
    units = json.loads(ds.unit_of_measurement or "{}")
    if ds.kind != "m":
        return [Reading(ds.id, ds.name, units.get("symbol", ""), latest, ds.latest_time, age)]
    values = latest if isinstance(latest, list) else []
    return [
        Reading(
            ds.id,
            f"{ds.name} · {name}",
            units[i].get("symbol", "") if isinstance(units, list) and i < len(units) else "",
            values[i] if i < len(values) else None,
            ds.latest_time,
            age,
            component=i,
        )
        for i, name in enumerate(components)
    ]


@dataclass(frozen=True)
class Station:
    thing_id: int
    name: str
    description: str
    lon: float | None
    lat: float | None
    properties: dict[str, Any]
    readings: list[Reading]

    @property
    def freshest(self) -> timedelta | None:
        ages = [r.age for r in self.readings if r.age is not None]
        return min(ages) if ages else None


def stations(
    session: Session, box: tuple[float, float, float, float] | None = None, thing_id: int | None = None
) -> list[Station]:
    """Things with a location (inside ``box`` if given), each with every datastream's latest value."""
    now = utcnow()
    located = (
        select(Thing, Location)
        .join(thing_location, thing_location.c.thing_id == Thing.id)
        .join(Location, Location.id == thing_location.c.location_id)
        .order_by(Thing.id, Location.id.desc())
    )
    if box is not None:
        west, south, east, north = box
        located = located.where(
            Location.max_lon >= west, Location.min_lon <= east, Location.max_lat >= south, Location.min_lat <= north
        )
    if thing_id is not None:
        located = located.where(Thing.id == thing_id)
    things: dict[int, tuple[Thing, Location]] = {}
    for thing, location in session.execute(located):
        things.setdefault(thing.id, (thing, location))  # the newest location
    streams: dict[int, list[Reading]] = {}
    if things:
        found = list(session.scalars(select(Stream).where(Stream.thing_id.in_(things)).order_by(Stream.id)))
        names = _component_names(session, [s.id for s in found if s.kind == "m"])
        for ds in found:
            streams.setdefault(ds.thing_id, []).extend(_readings(ds, names.get(ds.id, []), now))
    return [
        Station(
            thing.id,
            thing.name,
            thing.description,
            (location.min_lon + location.max_lon) / 2 if location.min_lon is not None else None,
            (location.min_lat + location.max_lat) / 2 if location.min_lat is not None else None,
            json.loads(thing.properties) if thing.properties else {},
            streams.get(thing.id, []),
        )
        for thing, location in things.values()
    ]
