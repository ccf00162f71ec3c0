"""Time partitions of the observations table on PostgreSQL, and retention on both engines.

On PostgreSQL ``sta_observation`` is declaratively partitioned by ``phenomenon_time_start``: one partition
per calendar month (UTC) named ``sta_observation_pYYYYMM``, and a default partition that takes readings of
any month without one (a backfill of last year's data), so an insert never fails for want of a partition
and the ingest never runs DDL. ``maintain`` — ``smartcity sensing maintain`` from cron, and hourly in the
MQTT bridge — makes this month's and the next months' partitions ahead, moves rows that landed in the
default partition into partitions of their own months, and applies retention: it drops the monthly
partitions whose whole month is older than the cutoff (no row-by-row delete). A series read touches one
or two partitions. SQLite keeps one table; retention deletes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.orm import Session

from smartcity.core import audit
from smartcity.core.db import Database
from smartcity.sensing import hours
from smartcity.sensing.models import Observation, Stream

TABLE = "sta_observation"
PREFIX = "sta_observation_p"
DEFAULT = "sta_observation_pdefault"  # named like the months: tools skip them by prefix
MONTHS_AHEAD = 2


def month_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{PREFIX}{month.year:04d}{month.month:02d}"


def _bounds(month: datetime) -> str:
    # made from a datetime of ours, never from input
    return f"FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{next_month(month):%Y-%m-%d} 00:00:00+00')"


def create_partition_sql(month: datetime) -> str:
    return f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} FOR VALUES {_bounds(month)}"


def create_default_sql() -> str:
    return f"CREATE TABLE IF NOT EXISTS {DEFAULT} PARTITION OF {TABLE} DEFAULT"


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.scalar(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE})
    return kind == "p"


def partitions(connection: Connection) -> list[tuple[str, datetime]]:
    """(name, month) of every monthly partition, oldest first (the default partition is not listed)."""
    names = connection.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"
        ),
        {"t": TABLE},
    )
    found = []
    for name in names:
        digits = name.removeprefix(PREFIX)
        if name.startswith(PREFIX) and len(digits) == 6 and digits.isdigit():
            found.append((name, datetime(int(digits[:4]), int(digits[4:]), 1, tzinfo=UTC)))
    return found


def _months_in_default(connection: Connection) -> list[datetime]:
    rows = connection.scalars(
        text(f"SELECT DISTINCT date_trunc('month', phenomenon_time_start AT TIME ZONE 'UTC') FROM {DEFAULT}")
    )
    return sorted(moment.replace(tzinfo=UTC) for moment in rows)


def _make_month(connection: Connection, month: datetime) -> None:
    """Create a month's partition; rows of that month waiting in the default partition move into it (in
    the same transaction: a reader sees them in one place or the other, never both or neither)."""
    start, end = f"{month:%Y-%m-%d} 00:00:00+00", f"{next_month(month):%Y-%m-%d} 00:00:00+00"
    waiting = f"phenomenon_time_start >= '{start}' AND phenomenon_time_start < '{end}'"
    connection.execute(text(f"CREATE TEMPORARY TABLE moving (LIKE {TABLE}) ON COMMIT DROP"))
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {waiting} RETURNING *) INSERT INTO moving SELECT * FROM moved"
        )
    )
    connection.execute(text(create_partition_sql(month)))
    connection.execute(text(f"INSERT INTO {TABLE} SELECT * FROM moving"))
    connection.execute(text("DROP TABLE moving"))


@dataclass(frozen=True)
class Maintenance:
    made: list[str]
    dropped: list[str]
    deleted_rows: int
    cutoff: datetime | None


def maintain(database: Database, retention_days: int, now: datetime | None = None) -> Maintenance:
    """Make partitions ahead and for rows in the default partition (PostgreSQL); apply retention (0 days =
    keep everything): drop the months that ended before the cutoff — a month is kept while any of it is
    younger — and delete older rows left in the default partition; on SQLite delete the older rows.
    Datastreams' time extents follow."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days) if retention_days > 0 else None
    made: list[str] = []
    dropped: list[str] = []
    deleted = 0
    with database.session(actor="retention") as session:
        connection = session.connection()
        if is_partitioned(connection):
            made = _make_months(connection, now)
            if cutoff is not None:
                dropped = _drop_expired(connection, cutoff)
                deleted = connection.execute(
                    text(f"DELETE FROM {DEFAULT} WHERE phenomenon_time_start < :cutoff"), {"cutoff": cutoff}
                ).rowcount
        elif cutoff is not None:
            deleted = session.execute(delete(Observation).where(Observation.phenomenon_time_start < cutoff)).rowcount
        if cutoff is not None:
            hours.forget_before(session, cutoff)
        if dropped or deleted:
            _refresh_extents(session)
            audit.append(session, "sensing.retention_applied", TABLE, None,
                         after={"cutoff": cutoff.isoformat() if cutoff else None, "dropped": dropped,
                                "deleted_rows": deleted})  # fmt: skip
    return Maintenance(made, dropped, deleted, cutoff)


def _make_months(connection: Connection, now: datetime) -> list[str]:
    existing = {name for name, _ in partitions(connection)}
    months = [month_of(now)]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    made = []
    for month in sorted(set(months) | set(_months_in_default(connection))):
        if partition_name(month) not in existing:
            _make_month(connection, month)
            made.append(partition_name(month))
    return made


def _drop_expired(connection: Connection, cutoff: datetime) -> list[str]:
    dropped = []
    for name, month in partitions(connection):
        if next_month(month) <= cutoff:
            connection.execute(text(f"DROP TABLE {name}"))  # a name read from the catalogue
            dropped.append(name)
    return dropped


def _refresh_extents(session: Session) -> None:
    """After old readings went, each series starts at its oldest remaining reading (or has none)."""
    streams = Stream.__table__
    oldest = (
        select(func.min(Observation.phenomenon_time_start))
        .where(Observation.datastream_id == streams.c.id)
        .scalar_subquery()
    )
    session.execute(update(streams).values(phenomenon_time_start=oldest))
    session.execute(
        update(streams)
        .where(streams.c.phenomenon_time_start.is_(None))
        .values(phenomenon_time_end=None, latest_time=None, latest_result=None)
    )
