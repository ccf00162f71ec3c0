"""Live updates across processes, on PostgreSQL: a change committed by any process reaches the operations centre's
screens on every app process at once, not with the next periodic refresh.

Sending: a transaction whose events move a figure of the operations centre ends with
``pg_notify('smartcity_ops', '<origin> <topic> …')`` — PostgreSQL delivers a notification only when its transaction
commits, so a rolled-back change is never announced, as in-process. Every process that writes imports this module
(``smartcity.reactions``): the app processes and the workers alike (an alarm raised by the MQTT bridge is announced).

Receiving: each app process keeps one connection that ``LISTEN``s and wakes its own screens through ``live.HUB``;
its own notifications are skipped (its screens heard those from ``core.events`` already). After a lost connection
it reconnects by itself and wakes every topic once, since notifications sent meanwhile are lost.
SQLite has no notifications: there the periodic refresh carries other processes' changes.
"""

from __future__ import annotations

import logging
import threading
import uuid

import psycopg
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.ops import live

LOGGER = logging.getLogger(__name__)
CHANNEL = "smartcity_ops"
ORIGIN = uuid.uuid4().hex  # this process: its own notifications come back to it and are skipped
ALL_TOPICS = tuple(sorted({topic for _prefix, topic in live.TOPICS if topic is not None}))
POLL_SECONDS = 0.5  # how often the listening thread looks up to see whether it should stop
RECONNECT_SECONDS = (1.0, 30.0)  # first wait after a lost connection, and the longest


def topics_of(session: Session) -> set[str]:
    """The operations centre's topics touched by the events of the session's open transaction."""
    return {topic for event in events.pending(session) if (topic := live.topic_of(event.name)) is not None}


def message(origin: str, topics: set[str]) -> str:
    return " ".join([origin, *sorted(topics)])


def parse(payload: str) -> tuple[str, list[str]]:
    """(origin, topics) of a notification; topics this version does not know are dropped (a newer process
    may announce more during a rolling upgrade)."""
    origin, *topics = payload.split()
    return origin, [topic for topic in topics if topic in ALL_TOPICS]


@sa_event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint released: the transaction goes on
        return
    topics = topics_of(session)
    if topics and session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, message(ORIGIN, topics))))


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://…``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Relay(threading.Thread):
    """One process's listening connection: other processes' announcements to ``hub``."""

    def __init__(self, database_url: str, hub: live.Hub = live.HUB, origin: str = ORIGIN) -> None:
        super().__init__(name="ops-relay", daemon=True)
        self.conninfo, self.hub, self.origin = conninfo(database_url), hub, origin
        self.stopping, self.listening = threading.Event(), threading.Event()
        self.heard = 0
        self.backend_pid: int | None = None  # the server process of the listening connection

    def stop(self, wait: float = 0.0) -> None:
        """Stop listening; the thread ends within ``POLL_SECONDS`` (waited for up to ``wait`` seconds)."""
        self.stopping.set()
        if wait:
            self.join(wait)

    def run(self) -> None:
        wait, reconnecting = RECONNECT_SECONDS[0], False
        while not self.stopping.is_set():
            try:
                self._listen(reconnecting)
            except psycopg.Error as error:
                if self.listening.is_set():  # it was connected: a fresh fault, start the back-off again
                    wait = RECONNECT_SECONDS[0]
                LOGGER.warning("live updates from other processes paused (%s); reconnecting in %.0f s", error, wait)
            self.listening.clear()
            reconnecting = True
            if self.stopping.wait(wait):
                return
            wait = min(wait * 2, RECONNECT_SECONDS[1])

    def _listen(self, reconnecting: bool) -> None:
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self.listening.set()
            if reconnecting:  # what was announced while we were away is lost: every screen refreshes once
                for topic in ALL_TOPICS:
                    self.hub.announce(topic)
            while not self.stopping.is_set():
                for notification in conn.notifies(timeout=POLL_SECONDS):
                    self.hear(notification.payload)

    def hear(self, payload: str) -> None:
        try:
            origin, topics = parse(payload)
        except ValueError:  # an empty payload: not ours
            return
        if origin == self.origin:
            return
        self.heard += 1
        for topic in topics:
            self.hub.announce(topic)


def start(database_url: str) -> Relay | None:
    """The relay of an app process on PostgreSQL; None on SQLite."""
    if not database_url.startswith("postgresql"):
        return None
    relay = Relay(database_url)
    relay.start()
    return relay
