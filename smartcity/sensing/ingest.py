"""Observations in bulk — CreateObservations (dataArray) rows and MQTT messages: each row checked and converted
once, all written by one INSERT … ON CONFLICT DO NOTHING (a reading already stored is one the database did not
insert), then the datastreams' extents, one audit record and one event. Never commits."""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from smartcity.core import audit, events
from smartcity.sensing import hours
from smartcity.sensing.models import FeatureOfInterest, Stream, thing_location
from smartcity.sensing.service import (
    _bad,
    _check_arity,
    _extend_datastream,
    _not_in_future,
    _result_columns,
    _stored_result,
    feature_for_thing,
    parse_interval,
    parse_time,
)

EVENT = "sensing.observations_created"
WIDE = timedelta(days=2)  # a batch spanning more of one series marks its hours row by row (_hours_written)
CHUNK = 10_000  # rows per PostgreSQL statement: one prepared INSERT … SELECT FROM unnest(arrays) whatever the size


class Layout(NamedTuple):
    """Where each component sits in a row (None when the rows do not carry it). A component named twice
    counts by its last place, as reading the row into a dict would."""

    width: int
    time: int | None
    result: int
    result_time: int | None
    feature: int | None
    parameters: int | None
    quality: int | None

    @classmethod
    def of(cls, components: list[str] | tuple[str, ...]) -> Layout:
        at = {name: place for place, name in enumerate(components)}
        return cls(
            len(components),
            at.get("phenomenonTime"),
            at["result"],
            at.get("resultTime"),
            at.get("FeatureOfInterest/id"),
            at.get("parameters"),
            at.get("resultQuality"),
        )  # validTime is accepted and not kept (docs/sensing.md)


class Moment(NamedTuple):
    """A phenomenonTime: parsed and checked once per distinct text in a batch (devices of a station share
    their ticks), in the forms the rest of the ingest needs."""

    start: datetime
    end: datetime | None
    stored_start: Any  # as the driver takes it: SQLite's text, PostgreSQL's datetime
    stored_end: Any
    text: str  # as notified: ISO 8601 in UTC to the millisecond, "start/end" for an interval


# One checked observation, a plain tuple (tens of thousands a batch): the values inserted, in ``INSERTED``
# order; the stream; its Moment; resultTime as notified; the result as stored and read back.
Row = tuple[tuple[Any, ...], int, Moment, str | None, Any]

INSERTED = ("phenomenon_time_start", "phenomenon_time_end", "result_time", "result_number", "result_string",
            "result_boolean", "result_json", "result_quality", "parameters", "datastream_id",
            "feature_of_interest_id")  # fmt: skip
PG_TYPES = ("timestamptz", "timestamptz", "timestamptz", "float8", "text", "bool", "text", "text", "text", "int4",
            "int4")  # fmt: skip
_START, _STREAM = INSERTED.index("phenomenon_time_start"), INSERTED.index("datastream_id")
_CONFLICT = "ON CONFLICT (datastream_id, phenomenon_time_start) DO NOTHING"


def sqlite_insert(columns: tuple[int, ...]) -> str:
    """The INSERT of these columns (places in ``INSERTED``): only the columns a batch fills are sent — SQLite
    binds every parameter of every row, and a column that is NULL throughout costs as much as one that is
    not (11 columns take 1.8× the time of the 4 a batch of numbers fills)."""
    names = ", ".join(INSERTED[c] for c in columns)
    return f"INSERT INTO sta_observation ({names}) VALUES ({', '.join('?' * len(columns))}) {_CONFLICT}"


def postgresql_insert(columns: tuple[int, ...]) -> str:
    """One INSERT … SELECT FROM unnest(one array per column) of the columns a batch fills, returning the keys."""
    names = ", ".join(INSERTED[c] for c in columns)
    arrays = ", ".join(f"%b::{PG_TYPES[c]}[]" for c in columns)  # %b: binary, psycopg's text arrays quote in Python
    return (
        f"INSERT INTO sta_observation ({names}) SELECT * FROM unnest({arrays}) {_CONFLICT} "
        "RETURNING id, datastream_id, phenomenon_time_start"
    )


def texts(moment: datetime) -> tuple[str, str]:
    """(the text SQLAlchemy's SQLite DATETIME stores — UTC, no zone, ``2026-12-02 06:41:21.123456`` — so both
    write paths and the unique index see one form; ISO 8601 in UTC to the millisecond, as ``query.iso``
    writes it) from one ``isoformat``, the cheapest way to either."""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")  # 2026-12-02T06:41:21.123456+00:00
    return f"{text[:10]} {text[11:26]}", f"{text[:23]}Z"


@dataclass
class Reader:
    """Checks rows one by one and converts them for storing; a bad row raises a 400 Problem whose detail
    says what is wrong. Remembers the times and features it has met, for the rest of the batch."""

    session: Session
    now: datetime
    streams: list[Stream]  # those the rows are for, held for the batch: later lookups find them in the session
    sqlite: bool = field(init=False)
    moments: dict[str, Moment] = field(default_factory=dict)
    result_times: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    features: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.sqlite = self.session.get_bind().dialect.name == "sqlite"
        self.current = self._moment_of(self.now, None)  # rows without a phenomenonTime
        self.features = existing_features(self.session, self.streams)

    def read(self, stream: int, arity: int | None, layout: Layout, values: Any) -> Row:
        """The checks, in this order: the row's length, a MultiDatastream result's length, phenomenonTime (not
        in the future), the FeatureOfInterest, resultTime, then the result. Called once per row: kept lean."""
        width, time_at, result_at, result_time_at, feature_at, parameters_at, quality_at = layout
        if not isinstance(values, list) or len(values) != width:
            raise _bad(f"a row must have {width} values, as many as the components")
        result = values[result_at]
        if arity is not None:
            _check_arity(result, arity)
        if time_at is None:
            moment = self.current
        else:
            given = values[time_at]
            moment = self.moments.get(given) if type(given) is str else None  # type: ignore[assignment]
            if moment is None:
                moment = self.moment(given)
        feature = None if feature_at is None else values[feature_at]
        if feature is None:
            feature = self.features.get(stream) or self.feature(stream)
        stored_time, time_text = _NO_TIME if result_time_at is None else self.result_time(values[result_time_at])
        quality = None if quality_at is None else values[quality_at]
        if quality is not None:
            quality = json.dumps(quality)
        parameters = None if parameters_at is None else values[parameters_at]
        if parameters is not None:
            parameters = json.dumps(parameters)
        feature = int(feature)
        if type(result) is float and _finite(result):
            number, text, boolean, document, value = result, None, None, None, result
        else:
            number, text, boolean, document, value = _result(result)
        return (
            (moment.stored_start, moment.stored_end, stored_time, number, text, boolean, document, quality, parameters,
             stream, feature),
            stream, moment, time_text, value,
        )  # fmt: skip

    def moment(self, value: Any) -> Moment:
        known = self.moments.get(value) if type(value) is str else None
        if known is not None:
            return known
        start, end = parse_interval(value, "phenomenonTime")
        _not_in_future(start, self.now, "phenomenonTime")
        moment = self.moments[value] = self._moment_of(start, end)
        return moment

    def _moment_of(self, start: datetime, end: datetime | None) -> Moment:
        stored_start, text = texts(start)
        stored_end = None
        if end is not None:
            stored_end, end_text = texts(end)
            text = f"{text}/{end_text}"
        if self.sqlite:
            return Moment(start, end, stored_start, stored_end, text)
        return Moment(start, end, start, end, text)

    def result_time(self, value: Any) -> tuple[Any, str | None]:
        if not value:
            return _NO_TIME
        known = self.result_times.get(value) if type(value) is str else None
        if known is None:
            moment = parse_time(value, "resultTime")
            stored, text = texts(moment)
            known = self.result_times[value] = (stored if self.sqlite else moment, text)
        return known

    def feature(self, stream: int) -> int:
        """The spec's automatic FeatureOfInterest of the stream's Thing, made now if it does not exist yet."""
        known = self.features.get(stream)
        if known is None:
            thing = self.session.get(Stream, stream).thing_id  # type: ignore[union-attr]
            known = self.features[stream] = feature_for_thing(self.session, thing).id
        return known


def existing_features(session: Session, streams: list[Stream]) -> dict[int, int]:
    """Per stream, the automatic FeatureOfInterest of its Thing where it exists — the one made from the Thing's
    newest Location, as ``feature_for_thing`` finds it — all in one query."""
    if not streams:
        return {}
    newest = (
        select(thing_location.c.thing_id, func.max(thing_location.c.location_id).label("location_id"))
        .where(thing_location.c.thing_id.in_({stream.thing_id for stream in streams}))
        .group_by(thing_location.c.thing_id)
        .subquery()
    )
    by_thing = dict(
        session.execute(
            select(newest.c.thing_id, func.min(FeatureOfInterest.id))
            .join(FeatureOfInterest, FeatureOfInterest.location_id == newest.c.location_id)
            .group_by(newest.c.thing_id)
        ).all()
    )
    return {stream.id: by_thing[stream.thing_id] for stream in streams if stream.thing_id in by_thing}


_NO_TIME: tuple[Any, str | None] = (None, None)
_finite = math.isfinite


def _result(value: Any) -> tuple[Any, Any, Any, Any, Any]:
    """(number, text, boolean, JSON) columns of a result and the value they read back as; the common types
    first, anything else as ``service._result_columns`` says."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise _bad("result must be a finite number.", "result")
        return value, None, None, None, value
    if kind is int:
        number = float(value)
        return number, None, None, "int", int(number)  # read back through the float it is stored as
    if kind is str:
        return None, value, None, None, value
    if kind is bool:
        return None, None, value, None, value
    columns = _result_columns(value)
    return (columns["result_number"], columns["result_string"], columns["result_boolean"], columns["result_json"],
            _stored_result(columns))  # fmt: skip


def store(session: Session, rows: list[Row], *, via: str, multi: set[int]) -> list[int | None]:
    """Write the rows; per row its new Observation id, or None for a reading already stored or repeating an
    earlier row (one reading per datastream and time). Keeps the datastreams' extents and latest values,
    appends one audit record and emits ``sensing.observations_created`` for what was written."""
    if not rows:
        return []
    fresh, first_of = _first_of_each(rows)
    connection = session.connection()
    values = [row[0] for row in fresh]
    insert = _insert_sqlite if connection.dialect.name == "sqlite" else _insert_postgresql
    written = insert(connection, values)
    stored = [(new_id, row) for new_id, row in zip(written, fresh, strict=True) if new_id is not None]
    if stored:
        _record(session, stored, via, multi)
    if first_of is None:
        return written
    return [written[place] if place is not None else None for place in first_of]


def _first_of_each(rows: list[Row]) -> tuple[list[Row], list[int | None] | None]:
    """The rows that do not repeat an earlier row's (datastream, time), and — only when some do — for each
    row its place among those, or None."""
    if len({(row[1], row[2].start) for row in rows}) == len(rows):
        return rows, None
    seen: set[tuple[int, datetime]] = set()
    fresh: list[Row] = []
    places: list[int | None] = []
    for row in rows:
        key = (row[1], row[2].start)
        if key in seen:
            places.append(None)
        else:
            seen.add(key)
            places.append(len(fresh))
            fresh.append(row)
    return fresh, places


def _filled(values: list[tuple[Any, ...]]) -> tuple[tuple[int, ...], list[tuple[Any, ...]]]:
    """The places (in ``INSERTED``) of the columns not NULL throughout, and each of those columns' values."""
    columns = list(zip(*values, strict=True))
    filled = tuple(c for c, column in enumerate(columns) if column.count(None) != len(column))
    return filled, [columns[c] for c in filled]


def _insert_sqlite(connection: Connection, values: list[tuple[Any, ...]]) -> list[int | None]:
    """One executemany. The transaction holds SQLite's write lock (BEGIN IMMEDIATE) and a rowid table gives
    each new row the largest id + 1, so when every row went in their ids are the range after the largest
    before; otherwise the new rows are read back by key and the others were already stored."""
    filled, columns = _filled(values)
    params = values if len(filled) == len(INSERTED) else list(zip(*columns, strict=True))
    before = connection.exec_driver_sql("SELECT max(id) FROM sta_observation").scalar() or 0
    connection.exec_driver_sql(sqlite_insert(filled), params)
    after = connection.exec_driver_sql("SELECT max(id) FROM sta_observation").scalar() or 0
    if after - before == len(values):
        return list(range(before + 1, after + 1))
    found = {
        (stream, start): new_id
        for new_id, stream, start in connection.exec_driver_sql(
            "SELECT id, datastream_id, phenomenon_time_start FROM sta_observation WHERE id > ?", (before,)
        )
    }
    return [found.get((row[_STREAM], row[_START])) for row in values]


def _insert_postgresql(connection: Connection, values: list[tuple[Any, ...]]) -> list[int | None]:
    """One statement per chunk whatever its size (the driver prepares it once); RETURNING names each new row
    by its (datastream, time), which is unique, so ids are matched to rows by key — a row without one was
    already stored."""
    written: list[int | None] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        filled, columns = _filled(chunk)
        arrays = tuple(list(column) for column in columns)
        found = {
            (stream, moment): new_id
            for new_id, stream, moment in connection.exec_driver_sql(postgresql_insert(filled), arrays).all()
        }
        written.extend(found.get((row[_STREAM], row[_START])) for row in chunk)
    return written


def _record(session: Session, stored: list[tuple[int, Row]], via: str, multi: set[int]) -> None:
    """What follows a write: extents and latest values, the audit record, the event."""
    extents: dict[int, list[Any]] = {}  # stream: [first start, last end, newest start, its result]
    for _, (_, stream, moment, _, result) in stored:
        start = moment.start
        end = moment.end or start
        extent = extents.get(stream)
        if extent is None:
            extents[stream] = [start, end, start, result]
            continue
        if start < extent[0]:
            extent[0] = start
        if end > extent[1]:
            extent[1] = end
        if start > extent[2]:  # (datastream, time) is unique among the stored rows: no ties
            extent[2], extent[3] = start, result
    # the hours before the series rows, as a single POST locks them (its flush marks the hour, the series'
    # extent follows): concurrent writers of one series take the two in the same order on PostgreSQL
    hours.touch(session, _hours_written(stored, extents))
    for stream, (first, last, newest, result) in extents.items():
        _extend_datastream(session, stream, first, last, None, (newest, json.dumps(result)))
    datastreams = sorted(extents)
    # one record per batch: the datastreams are listed in the record, not in its (short) object id
    audit.append(session, EVENT, "sta_datastream", f"{len(extents)} datastreams",
                 after={"count": len(stored), "via": via, "datastreams": datastreams})  # fmt: skip
    events.emit(
        session,
        EVENT,
        datastreams=datastreams,
        count=len(stored),
        observations=[
            {
                "@iot.id": new_id,
                "phenomenonTime": moment.text,
                "resultTime": result_time,
                "result": result,
                "datastream": stream,
                "multi": stream in multi,
                "featureOfInterest": values[-1],
            }
            for new_id, (values, stream, moment, result_time, result) in stored
        ],
    )


def _hours_written(stored: list[tuple[int, Row]], extents: dict[int, list[Any]]) -> list[tuple[int, str]]:
    """The (stream, UTC hour) pairs the rows start in, for ``hours.touch``. A stream's rows spanning up to two
    days: every hour from its first to its last (no work per row; an hour without a row among them only
    loses what readers rendered of it); a wider backfill: the hours its rows are in."""
    pairs: list[tuple[int, str]] = []
    wide = set()
    for stream, (first, _, newest, _) in extents.items():
        if newest - first > WIDE:
            wide.add(stream)
            continue
        hour = hours.floor_hour(first)
        while hour <= newest:
            pairs.append((stream, hours.hour_of(hour)))
            hour += hours.HOUR
    if wide:  # the text starts with the start's UTC hour, as hours.hour_of writes it
        pairs.extend({(stream, moment.text[:13]) for _, (_, stream, moment, _, _) in stored if stream in wide})
    return pairs


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector off for one batch (nested: the outermost decides). A batch allocates hundreds
    of thousands of containers (the parsed body's rows, the rows to insert, the event's dicts) that live until
    it ends; collecting meanwhile promotes them to the oldest generation, and the full collections that
    follow walk every object of the process — in a 50,000-row request, half of its time (bench/README.md).
    What the batch frees, reference counting frees; the collector runs after it, on what is left."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
