"""Domain events reach subscribers only after the transaction commits."""

from __future__ import annotations

import pytest

from smartcity.core import events


@pytest.fixture
def heard():
    received: list[events.DomainEvent] = []
    handler = received.append
    events.subscribe("test.thing_happened")(handler)
    yield received
    events.unsubscribe("test.thing_happened", handler)


def test_event_is_delivered_after_commit_not_before(database, heard) -> None:
    with database.session(actor="carol") as s:
        events.emit(s, "test.thing_happened", id=7)
        assert heard == []
    assert [(e.name, e.payload, e.actor) for e in heard] == [("test.thing_happened", {"id": 7}, "carol")]


def test_event_is_dropped_on_rollback(database, heard) -> None:
    with pytest.raises(ValueError), database.session() as s:
        events.emit(s, "test.thing_happened", id=8)
        raise ValueError
    with database.session():
        pass
    assert heard == []


def test_a_failing_subscriber_does_not_stop_the_others(database, heard) -> None:
    def broken(_event: events.DomainEvent) -> None:
        raise RuntimeError("subscriber bug")

    events.subscribe("test.thing_happened")(broken)
    try:
        with database.session() as s:
            events.emit(s, "test.thing_happened", id=9)
    finally:
        events.unsubscribe("test.thing_happened", broken)
    assert [e.payload["id"] for e in heard] == [9]


def test_an_explicit_rollback_before_any_sql_drops_the_event(database, heard) -> None:
    with database.session() as s:
        events.emit(s, "test.thing_happened", id=10)
        s.rollback()  # nothing reached the database yet; the session carries on and commits later
    assert heard == []


def test_a_savepoint_rolled_back_keeps_the_outer_transactions_events(database, heard) -> None:
    with database.session() as s:
        events.emit(s, "test.thing_happened", id=11)
        with s.begin_nested() as savepoint:
            savepoint.rollback()
    assert [e.payload["id"] for e in heard] == [11]


def test_a_savepoint_rolled_back_drops_only_the_events_inside_it(database, heard) -> None:
    with database.session() as s:
        with s.begin_nested() as savepoint:
            events.emit(s, "test.thing_happened", id=12)
            savepoint.rollback()
        with s.begin_nested():
            events.emit(s, "test.thing_happened", id=13)  # released: it stands or falls with the outer transaction
        events.emit(s, "test.thing_happened", id=14)
    assert [e.payload["id"] for e in heard] == [13, 14]


def test_an_outer_rollback_drops_the_events_of_released_savepoints(database, heard) -> None:
    with database.session() as s:
        with s.begin_nested():
            events.emit(s, "test.thing_happened", id=15)
        s.rollback()
    assert heard == []
