"""The hours of each series that hold observations, and their revisions (``sta_observation_hour``).

Every write of observations replaces the revision of each (series, UTC hour) it touched, in its own transaction:
the bulk ingest (HTTP CreateObservations and MQTT) and the deletes and retention, which write with SQL, call
``touch`` themselves; whatever the ORM writes (a single POST, PATCH — the old hour and the new) is caught by the
mapper's events below. A reader that rendered an hour of readings may serve that rendering again while the
hour's revision is unchanged (``window.WindowCache``), in any process: the revision lives in the database beside
the rows it describes. An hour without a row here is read from the observations every time, so a write that bypasses the
platform (SQL by hand) can only cost speed, never serve stale readings — unless it changes an hour that has a row:
then run ``smartcity sensing rebuild-hours``. Revisions are random 62-bit numbers, not counters, so a series
deleted and made again under the same id (SQLite reuses the largest id) never meets an old revision."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, event, inspect, literal_column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from smartcity.sensing.models import Observation

TABLE = "sta_observation_hour"
HOUR = timedelta(hours=1)
_TOUCH = text(
    f"INSERT INTO {TABLE} (datastream_id, hour, revision) VALUES (:stream, :hour, :revision) "
    "ON CONFLICT (datastream_id, hour) DO UPDATE SET revision = excluded.revision"
)


def hour_of(moment: datetime) -> str:
    """The UTC hour a phenomenonTime starts in, as keyed here: ``2026-12-02T06`` (a naive time is UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H")


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def start_of(hour: str) -> datetime:
    """The moment an hour key (``hour_of``) starts."""
    return datetime.fromisoformat(f"{hour}:00+00:00")


def touch(session: Session | Connection, pairs: Iterable[tuple[int, str]]) -> None:
    """A new revision for each (series, hour) — call it in the transaction that writes their observations."""
    revision = secrets.randbits(62)
    # in key order, as the ORM orders its updates: two writers marking the same hours cannot deadlock
    rows = [{"stream": stream, "hour": hour, "revision": revision} for stream, hour in sorted(set(pairs))]
    if rows:
        session.execute(_TOUCH, rows)


def touch_observations(session: Session, condition: ColumnElement[bool]) -> None:
    """``touch`` the hours of the observations matching ``condition`` — before they are deleted with SQL."""
    hour = literal_column(_hour_sql(session.get_bind().dialect.name))
    found = session.execute(select(Observation.datastream_id, hour).where(condition).distinct()).all()
    touch(session, [(stream, hour) for stream, hour in found])


def forget_before(session: Session, cutoff: datetime) -> None:
    """Retention removed the readings before ``cutoff``: their hours (the cutoff's own included, which lost
    some) go back to being read from the observations."""
    session.execute(text(f"DELETE FROM {TABLE} WHERE hour <= :hour"), {"hour": hour_of(cutoff)})


def rebuild(connection: Connection) -> int:
    """The table made again from the observations — after rows were written with SQL by hand (the benchmark's
    bulk load, an import). Returns the number of (series, hour) rows."""
    hour = _hour_sql(connection.dialect.name)
    connection.execute(text(f"DELETE FROM {TABLE}"))
    connection.execute(
        text(
            f"INSERT INTO {TABLE} (datastream_id, hour, revision) "
            f"SELECT datastream_id, {hour}, :revision FROM sta_observation GROUP BY datastream_id, {hour}"
        ),
        {"revision": secrets.randbits(62)},
    )
    return connection.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one()


def _hour_sql(dialect: str) -> str:
    """SQL: an observation's hour key. SQLite stores UTC text (``2026-12-02 06:41:21.123456``)."""
    if dialect == "sqlite":
        return "substr(phenomenon_time_start, 1, 10) || 'T' || substr(phenomenon_time_start, 12, 2)"
    return "to_char(phenomenon_time_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"


@event.listens_for(Observation, "after_insert")
@event.listens_for(Observation, "after_delete")
def _written(_mapper: Any, connection: Connection, row: Observation) -> None:
    touch(connection, [(row.datastream_id, hour_of(row.phenomenon_time_start))])


@event.listens_for(Observation, "before_update")
def _changing(_mapper: Any, connection: Connection, row: Observation) -> None:
    """The hour the observation is in now and, if its time or series changes, the one it leaves."""
    state = inspect(row)
    pairs = [(row.datastream_id, hour_of(row.phenomenon_time_start))]
    old_streams = state.attrs.datastream_id.history.deleted or [row.datastream_id]
    old_times = state.attrs.phenomenon_time_start.history.deleted or [row.phenomenon_time_start]
    pairs += [(stream, hour_of(moment)) for stream in old_streams for moment in old_times if moment is not None]
    touch(connection, pairs)
