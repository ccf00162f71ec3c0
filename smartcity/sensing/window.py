"""A series' readings over a time window — the chart read (``Datastreams(1)/Observations?$filter=phenomenonTime
ge … and phenomenonTime lt …&$orderby=phenomenonTime``) — served from what this process rendered before.

The window is cut into UTC hours. An hour wholly inside it whose revision (``hours``) this process has rendered
comes from memory as JSON text; everything else in the window — the partial hours at its ends, the hour being
written now, hours without a revision — is read from the observations, one index range for each stretch between
kept hours, and rendered as the general read renders it (``query.Readings``). Hours read that way which have a
revision are kept for the next request, in a least-recently-used cache of ``SMARTCITY_STA_READ_CACHE_MB`` per
process. The answer is the same bytes the general read writes (tests/sensing/test_window.py); any request this
does not fit — another order, $skip, $select, $expand, more rows than $top, an observation that is not a bare
reading — takes the general read.

The revision is read before the rows, so a rendering is never older than the revision it is kept under."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from smartcity.sensing import filter as stafilter
from smartcity.sensing import query
from smartcity.sensing.entities import SETS
from smartcity.sensing.hours import HOUR, TABLE, floor_hour, hour_of, start_of

MAX_HOURS = 24 * 35  # a month's chart and a little more; longer windows take the general read
_TIME = stafilter.Path(("phenomenonTime",))
_LOWER = {"ge", "gt"}
_FLIPPED = {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


@dataclass(frozen=True)
class Window:
    """The recognised request: one Datastream's readings with phenomenonTime in [low, high) (or the bounds the
    comparisons gave), oldest first."""

    stream: int
    low: datetime
    low_inclusive: bool
    high: datetime | None
    high_inclusive: bool

    def full_hours(self, now: datetime) -> list[datetime]:
        """The starts of the UTC hours that lie wholly inside the window."""
        first = floor_hour(self.low)
        if first < self.low or (first == self.low and not self.low_inclusive):
            first += HOUR
        end = now if self.high is None or self.high > now else self.high  # the hour being written is not kept
        count = int((end - first) / HOUR)  # hour h is inside when h + 1 h <= end
        return [first + HOUR * n for n in range(max(count, 0))] if count <= MAX_HOURS else []


def recognise(entity_name: str, link: Any, ref: bool, options: query.Options) -> Window | None:
    """The Window a request asks for, or None when it is not a chart read of one Datastream."""
    if entity_name != "Observations" or ref or link is None or link.parent_set.name != "Datastreams":
        return None
    if options.select or options.expand or options.skip or options.result_format not in (None, "dataArray"):
        return None
    if len(options.orderby) != 1 or not _is_time(options.orderby[0][0]) or options.orderby[0][1]:
        return None
    if options.filter is None:
        return None
    bounds: dict[str, tuple[datetime, bool] | None] = {"low": None, "high": None}
    for term in _conjuncts(options.filter):
        comparison = _comparison(term)
        if comparison is None:
            return None
        op, moment = comparison
        side = "low" if op in _LOWER else "high"
        inclusive = op in ("ge", "le")
        known = bounds[side]
        if known is None or (moment > known[0] if side == "low" else moment < known[0]):
            bounds[side] = (moment, inclusive)
        elif moment == known[0]:
            bounds[side] = (moment, known[1] and inclusive)
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return None
    return Window(link.parent_id, low[0], low[1], high[0] if high else None, high[1] if high else False)


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, stafilter.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _comparison(node: Any) -> tuple[str, datetime] | None:
    """(operator, time) of ``phenomenonTime <op> <date-time>`` (either way round), else None."""
    if not isinstance(node, stafilter.Binary) or node.op not in _FLIPPED:
        return None
    left, right, op = node.left, node.right, node.op
    if isinstance(left, stafilter.Literal):
        left, right, op = right, left, _FLIPPED[op]
    if not _is_time(left) or not isinstance(right, stafilter.Literal) or type(right.value) is not datetime:
        return None
    return op, right.value


def _is_time(node: Any) -> bool:
    return isinstance(node, stafilter.Path) and node.segments == _TIME.segments


class WindowCache:
    """Rendered hours: (series, hour, format, base) → (revision, rows, JSON text), least recently used out first
    once the texts pass ``budget`` bytes; a new revision of an hour takes the old one's place. Shared by the
    process's request threads."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[tuple[Any, ...], tuple[int, int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], revision: int) -> tuple[int, bytes] | None:
        """(rows, JSON text) of the hour rendered under this revision, if kept."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != revision:
                return None
            self._items.move_to_end(key)
            return found[1], found[2]

    def put(self, key: tuple[Any, ...], revision: int, value: tuple[int, bytes]) -> None:
        size = _size(value[1])
        if size > self.budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.used -= _size(old[2])
            self._items[key] = (revision, *value)
            self.used += size
            while self.used > self.budget:
                _, dropped = self._items.popitem(last=False)
                self.used -= _size(dropped[2])

    def count(self, hit: int, miss: int) -> None:
        with self._lock:
            self.hits += hit
            self.misses += miss

    def read(
        self, session: Session, window: Window, condition: Any, options: query.Options, writer: query.Writer
    ) -> bytes | None:
        """The whole response body, or None to take the general read. ``condition``: the navigation's (the
        Datastream's observations)."""
        if self.budget <= 0:
            return None
        full = window.full_hours(datetime.now(UTC))
        if not full:
            return None
        fmt = options.result_format or "json"
        writer.kinds[window.stream] = "d"  # recognise() took only a Datastream's observations
        revisions = self._revisions(session, window.stream, full)
        kept = {}
        for hour, revision in revisions.items():
            found = self.get((window.stream, hour, fmt, writer.base), revision)
            if found is not None:
                kept[hour] = found
        top = options.top if options.top is not None else query.DEFAULT_TOP
        if sum(rows for rows, _ in kept.values()) > top:
            return None  # a page of a longer window: the general read pages it
        live = _read_rest(session, window, condition, options, writer, sorted(kept), top)
        if live is None:
            return None
        parts, total = self._assemble(window, live, revisions, kept, fmt, writer)
        if total > top:
            return None
        self.count(len(kept), len(revisions) - len(kept))
        return _body(parts, total, options, window.stream, writer)

    @staticmethod
    def _revisions(session: Session, stream: int, full: list[datetime]) -> dict[str, int]:
        """The revision of each full hour that has one (hours without one are read from the observations)."""
        found = session.execute(
            text(f"SELECT hour, revision FROM {TABLE} WHERE datastream_id = :stream AND hour >= :low AND hour < :high"),
            {"stream": stream, "low": hour_of(full[0]), "high": hour_of(full[-1] + HOUR)},
        )
        return dict(found.all())

    def _assemble(
        self,
        window: Window,
        live: query.Readings,
        revisions: dict[str, int],
        kept: dict[str, tuple[int, bytes]],
        fmt: str,
        writer: query.Writer,
    ) -> tuple[list[bytes], int]:
        """The answer's rows in time order, as pieces of JSON text (each one or more whole rows): kept hours as
        they are, the rest rendered, and the hours with a revision rendered one by one and kept."""
        render = writer.readings_text if fmt == "json" else query.reading_arrays_text
        times, parts, total, position = live.times, [], 0, 0
        for hour in sorted(revisions):
            start = bisect_left(times, hour, position)
            end = bisect_left(times, _next(hour), start)
            if start > position:
                parts.append(render(live.slice(position, start)).encode())
                total += start - position
            piece = kept.get(hour)
            if piece is None:
                piece = (end - start, render(live.slice(start, end)).encode())
                self.put((window.stream, hour, fmt, writer.base), revisions[hour], piece)
            if piece[0]:
                parts.append(piece[1])
                total += piece[0]
            position = end
        if position < len(times):
            parts.append(render(live.slice(position, len(times))).encode())
            total += len(times) - position
        return parts, total


def _read_rest(
    session: Session, window: Window, link: Any, options: query.Options, writer: query.Writer, kept: list[str], top: int
) -> query.Readings | None:
    """The window's readings outside the kept hours, oldest first — one query for each stretch between them,
    each a range of the series index — or None if one is not a bare reading or there are more than $top."""
    found: list[query.Readings] = []
    rows = 0
    session.flush()
    for stretch in _stretches(window, kept):
        rest = query.Options(filter=stretch, orderby=options.orderby)
        statement, _ = query.collection_query(SETS["Observations"], rest, writer.dialect, link)
        readings = query.read_readings(session, statement.limit(top + 1 - rows), writer.dialect)
        if readings is None:
            return None
        rows += len(readings)
        if rows > top:
            return None
        found.append(readings)
    if len(found) == 1:
        return found[0]
    return query.Readings(*(tuple(chain.from_iterable(getattr(r, name) for r in found))
                            for name in ("ids", "times", "results", "streams")))  # fmt: skip


def _body(parts: list[bytes], total: int, options: query.Options, stream: int, writer: query.Writer) -> bytes:
    """The response as the general read writes it (orjson, keys in its order), the rows joined once."""
    head: dict[str, Any] = {"@iot.count": total} if options.count else {}
    if options.result_format != "dataArray":
        opening = orjson.dumps({**head, "value": None})[: -len(b"null}")] + b"["
        return b"".join([opening, b",".join(parts), b"]}"])
    if total == 0:
        return orjson.dumps({**head, "value": []})
    group = query.data_array_group(writer, stream, ["id", "phenomenonTime", "result"], total, None)
    opening = orjson.dumps({**head, "value": [group]})[: -len(b"null}]}")] + b"["  # dataArray is the group's last key
    return b"".join([opening, b",".join(parts), b"]}]}"])


def _size(text: bytes) -> int:
    return len(text) + 200  # the key and the entry's own bookkeeping


def _next(hour: str) -> str:
    return hour_of(start_of(hour) + HOUR)


def _stretches(window: Window, kept: list[str]) -> list[Any]:
    """$filter expressions for the parts of the window between the kept hours (given sorted; adjacent ones
    merged) — before the first, between runs, after the last — each with a single lower and upper bound, so
    that each is one tight range of the series index. No kept hours: the whole window's."""
    bounds = [(window.low, window.low_inclusive)]
    ends = [(window.high, window.high_inclusive)]
    for hour in kept:
        start = start_of(hour)
        if bounds[-1][0] == start:  # adjoins the previous kept hour
            bounds[-1] = (start + HOUR, True)
        else:
            ends.insert(-1, (start, False))
            bounds.append((start + HOUR, True))
    return [_between(low, high) for low, high in zip(bounds, ends, strict=True)]


def _between(low: tuple[datetime, bool], high: tuple[datetime | None, bool]) -> Any:
    term = stafilter.Binary("ge" if low[1] else "gt", _TIME, stafilter.Literal(low[0]))
    if high[0] is None:
        return term
    return stafilter.Binary("and", term, stafilter.Binary("le" if high[1] else "lt", _TIME, stafilter.Literal(high[0])))
