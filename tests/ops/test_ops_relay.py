"""Live updates across processes (PostgreSQL LISTEN/NOTIFY): a change committed by another process reaches this
process's screens, a rolled-back one never does, a process skips its own announcements, and a lost connection
comes back by itself and refreshes every screen once."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from smartcity.app import create_app
from smartcity.core import events
from smartcity.ops import relay


class Heard:
    """Stands in for the hub's side of the relay: the topics announced, in order."""

    def __init__(self) -> None:
        self.topics: queue.Queue[str] = queue.Queue()

    def announce(self, topic: str) -> None:
        self.topics.put(topic)

    def next(self, seconds: float = 10.0) -> str | None:
        try:
            return self.topics.get(timeout=seconds)
        except queue.Empty:
            return None

    def all(self, seconds: float) -> list[str]:
        found, deadline = [], time.monotonic() + seconds
        while (topic := self.next(max(0.0, deadline - time.monotonic()))) is not None:
            found.append(topic)
        return found


@pytest.fixture
def postgres(settings):  # type: ignore[no-untyped-def]
    if settings.is_sqlite:
        pytest.skip("notifications between processes need PostgreSQL; on SQLite the periodic refresh carries them")
    return settings


@pytest.fixture
def listening(postgres):  # type: ignore[no-untyped-def]
    """A relay listening as another process would: this test process's announcements count as foreign."""
    heard = Heard()
    listener = relay.Relay(postgres.database_url, hub=heard, origin="another-process")  # type: ignore[arg-type]
    listener.start()
    assert listener.listening.wait(10), "the relay did not connect"
    yield listener, heard
    listener.stop(wait=5)


def test_a_message_names_its_origin_and_topics_and_unknown_topics_are_dropped() -> None:
    assert relay.message("p1", {"warnings", "cases"}) == "p1 cases warnings"
    assert relay.parse("p1 cases warnings") == ("p1", ["cases", "warnings"])
    assert relay.parse("p1 cases parking-v2") == ("p1", ["cases"])  # announced by a newer release mid-upgrade


def test_a_process_skips_its_own_announcements_and_payloads_that_are_not_ours() -> None:
    heard = Heard()
    listener = relay.Relay("postgresql+psycopg://u@localhost/db", hub=heard, origin="me")  # type: ignore[arg-type]
    listener.hear("me cases")
    listener.hear("")
    listener.hear("other alarms")
    assert heard.all(0.1) == ["alarms"] and listener.heard == 1


def test_the_connection_string_keeps_the_password_and_drops_the_driver_name() -> None:
    url = "postgresql+psycopg://city:s3cret@db.example:5433/smartcity?sslmode=require"
    assert relay.conninfo(url) == "postgresql://city:s3cret@db.example:5433/smartcity?sslmode=require"


def test_no_relay_runs_on_sqlite() -> None:
    assert relay.start("sqlite:///var/smartcity.db") is None


def test_a_change_committed_by_another_process_reaches_this_one(listening, postgres) -> None:
    _listener, heard = listening
    script = (
        "from smartcity import reactions\n"
        "from smartcity.config import Settings\n"
        "from smartcity.core import events\n"
        "from smartcity.core.db import Database\n"
        f"database = Database(Settings(env='test', database_url={postgres.database_url!r}, _env_file=None))\n"
        "with database.session() as session:\n"
        "    events.emit(session, 'alerts.alarm_raised', id=1)\n"
        "    events.emit(session, 'alerts.alarm_cleared', id=2)\n"
        "    session.commit()\n"
    )
    env = {**os.environ, "SMARTCITY_SECRET_KEY": "x" * 40}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    assert heard.next() == "alarms"
    assert heard.all(0.5) == []  # the transaction's two alarm events: one announcement


def test_only_committed_changes_that_move_a_figure_are_announced(listening, database) -> None:
    _listener, heard = listening
    with database.session() as session:
        events.emit(session, "cases.reported", id=1)
        session.rollback()
    with database.session() as session:
        events.emit(session, "cases.catalogue_changed")  # no figure of the operations centre moves
        session.commit()
    assert heard.all(1.0) == []
    with database.session() as session:
        events.emit(session, "hotline.received", id=1)
        events.emit(session, "alerts.alarm_acknowledged", id=1)
        session.commit()
    assert sorted(heard.all(1.0)) == ["alarms", "hotline"]


def test_a_lost_connection_comes_back_and_refreshes_every_screen_once(listening, database) -> None:
    listener, heard = listening
    with database.engine.connect() as conn:
        ended = conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid}).scalar()
    assert ended is True
    assert sorted(heard.all(relay.RECONNECT_SECONDS[0] + 3)) == sorted(relay.ALL_TOPICS)
    assert listener.listening.is_set()
    with database.session() as session:
        events.emit(session, "cases.reported", id=1)
        session.commit()
    assert heard.next() == "cases"


def test_the_app_listens_while_it_runs_on_postgresql(postgres) -> None:
    with TestClient(create_app(postgres)) as client:
        started = client.app.state.relay  # type: ignore[attr-defined]
        assert started.listening.wait(10)
    assert started.stopping.is_set()
    started.join(5)
    assert not started.is_alive()
