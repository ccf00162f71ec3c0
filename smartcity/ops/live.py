"""Live updates of the operations centre: committed domain events fanned out to every Server-Sent Events client
of this process, and the figures each client is sent — computed once per scope, area and language however many
screens show them.

The events come from ``core.events`` after commit (a rolled-back change is never announced); on PostgreSQL those
committed by *other* processes (production runs several app processes and workers) arrive through
``ops.relay``. Every client also gets fresh figures every ``SMARTCITY_OPS_REFRESH_SECONDS``: that is how changes
that emit no event (time passing deadlines, a new traffic cycle) arrive, and any process's changes on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from smartcity.core import events
from smartcity.ops import tiles
from smartcity.ops.tiles import Snapshot

# Event name (prefix) → the topic the page refreshes; catalogue and knowledge-base changes move no figure.
TOPICS = (
    ("cases.catalogue_changed", None),
    ("cases.components_changed", None),
    ("cases.", "cases"),
    ("hotline.article", None),
    ("hotline.catalogue", None),
    ("hotline.", "hotline"),
    ("alerts.alarm_", "alarms"),
    ("alerts.message_published", "warnings"),
)
RETRY_MS = (3000, 15000)  # a browser reconnects a dropped stream after this long: each stream draws its own,
# so the screens of a control room do not all come back in the same instant after a restart


def topic_of(name: str) -> str | None:
    """The topic a domain event touches, or None when the operations centre does not show it."""
    for prefix, topic in TOPICS:
        if name.startswith(prefix):
            return topic
    return None


@dataclass(eq=False)
class Listener:
    """One stream's inbox: the topics heard since it last looked, and a wake-up on its own event loop."""

    loop: asyncio.AbstractEventLoop
    topics: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def hear(self, topic: str) -> None:  # runs on the listener's loop
        self.topics.add(topic)
        self.wake.set()

    async def next_topics(self, timeout: float) -> set[str]:
        """The topics heard, waiting at most ``timeout`` seconds for one; empty when the time ran out."""
        if not self.topics:
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except TimeoutError:
                return set()
        heard, self.topics = self.topics, set()
        self.wake.clear()
        return heard


class Hub:
    """The process's fan-out: domain events (from whatever thread committed them) to every listener's loop.

    ``generation`` counts the events heard, so cached figures older than the newest change are recomputed."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self.generation = 0

    def listen(self) -> Listener:
        listener = Listener(asyncio.get_running_loop())
        with self._lock:
            self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def on_event(self, event: events.DomainEvent) -> None:
        topic = topic_of(event.name)
        if topic is not None:
            self.announce(topic)

    def announce(self, topic: str) -> None:
        """Wake every listener with ``topic``; from any thread (a request's after commit, the relay's)."""
        with self._lock:
            self.generation += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener.hear, topic)
            except RuntimeError:  # its loop has closed: the stream is gone
                self.forget(listener)


HUB = Hub()
events.subscribe("*")(HUB.on_event)


@dataclass
class _Entry:
    generation: int
    at: float
    snapshot: Snapshot


class FigureCache:
    """Snapshots per key (scope, area, language): a hundred screens on one area cost one computation per change.

    An entry serves while no event has been heard since it was computed and it is younger than ``max_age``;
    concurrent askers on one loop share the computation in flight."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._pending: dict[tuple[Any, ...], tuple[int, asyncio.Future[Snapshot]]] = {}

    async def get(self, key: tuple[Any, ...], compute: Callable[[], Snapshot], max_age: float) -> Snapshot:
        generation = self.hub.generation
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation and time.monotonic() - entry.at < max_age:
            return entry.snapshot
        loop = asyncio.get_running_loop()
        pending_key = (id(loop), *key)
        pending = self._pending.get(pending_key)
        if pending is None or pending[0] != generation:
            future = asyncio.ensure_future(self._compute(key, generation, compute))
            pending = (generation, future)
            self._pending[pending_key] = pending
            future.add_done_callback(lambda _f, k=pending_key, p=pending: self._done(k, p))
        return await asyncio.shield(pending[1])

    async def _compute(self, key: tuple[Any, ...], generation: int, compute: Callable[[], Snapshot]) -> Snapshot:
        started = time.monotonic()
        snapshot = await run_in_threadpool(compute)
        self._entries[key] = _Entry(generation, started, snapshot)
        return snapshot

    def _done(self, key: tuple[Any, ...], pending: tuple[int, asyncio.Future[Snapshot]]) -> None:
        if self._pending.get(key) is pending:
            del self._pending[key]


CACHE = FigureCache(HUB)


def encode(snapshot: Snapshot, before: Snapshot | None, heard: set[str], sequence: int) -> bytes:
    """One ``figures`` event: the tiles, what changed (topics heard and tiles whose figures moved) and a
    one-line summary of the changed figures for the page's polite live region (empty when nothing changed)."""
    key = (before.at if before is not None else None, frozenset(heard))
    data = snapshot.encoded.get(key)
    if data is None:
        if len(snapshot.encoded) > 64:  # screens that saw many different snapshots: keep the memory bounded
            snapshot.encoded.clear()
        data = snapshot.encoded[key] = _event_data(snapshot, before, heard)
    return b"event: figures\ndata: " + data + b"\nid: %d\n\n" % sequence


def _event_data(snapshot: Snapshot, before: Snapshot | None, heard: set[str]) -> bytes:
    moved = tiles.changes(before, snapshot)
    summary = ""
    if moved:
        when = snapshot.at.astimezone(_zone_of(snapshot)).strftime("%H:%M")
        summary = (
            snapshot.texts["updated"].replace("{time}", when)
            + " "
            + "; ".join(f"{label} {old} → {new}" for label, old, new in moved)
        )
    body = snapshot.as_json() | {
        "changed": sorted(heard | tiles.changed_tiles(before, snapshot)),
        "summary": summary,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()  # one line: JSON escapes newlines


def _zone_of(snapshot: Snapshot) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(snapshot.texts.get("timezone", "Asia/Shanghai"))


async def stream(
    key: tuple[Any, ...],
    compute: Callable[[], Snapshot],
    *,
    interval: float,
    max_events: int | None = None,
    hub: Hub = HUB,
    cache: FigureCache | None = None,
) -> AsyncIterator[bytes]:
    """The event stream of one screen: its figures now, then again after every change it hears of and at
    least every ``interval`` seconds; ends after ``max_events`` figures events when that is given."""
    cache = cache or CACHE
    listener = hub.listen()
    try:
        yield f"retry: {random.randint(*RETRY_MS)}\n\n".encode()
        before: Snapshot | None = None
        heard: set[str] = set()
        sent = 0
        while True:
            snapshot = await cache.get(key, compute, max_age=interval / 2)
            sent += 1
            yield encode(snapshot, before, heard, sent)
            if max_events is not None and sent >= max_events:
                return
            before = snapshot
            heard = await listener.next_topics(interval)
            if not heard:
                heard = {"tick"}  # the periodic refresh: layers that change with time (stations, traffic) reload
    finally:
        hub.forget(listener)
