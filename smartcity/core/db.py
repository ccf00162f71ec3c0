"""Engine, sessions, the declarative Base and migrations, for SQLite (WAL) and PostgreSQL + PostGIS."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from smartcity.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
AUDIT_ALGORITHM_KEY = "audit_algorithm"  # session.info key: the hash the audit chain uses in this session
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Base(DeclarativeBase):
    """Base of every table.

    ``__audit_exclude__`` names columns never copied into the audit chain (secrets); ``__audit_masked__``
    maps personal-data columns to the function that masks them there (the chain is read by auditors,
    who need to see *that* a phone number changed, not the number).
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __audit_exclude__: frozenset[str] = frozenset()
    __audit_masked__: dict[str, Callable[[Any], Any]] = {}  # noqa: RUF012 - read-only class default
    __audited__: bool = True


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive text, so we restore the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


POOL_SIZE, POOL_OVERFLOW = 10, 20  # PostgreSQL connections a process keeps, and may open beyond them
POOL_RESERVE = 5  # connections left to the work of a process that is not a request's session (live figures, workers)


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database; SQLite gets WAL, foreign keys and a busy timeout."""
    url = settings.database_url
    if settings.is_sqlite:
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead so
        # two writers queue on the busy timeout rather than failing mid-transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def serialise(session: Session, name: str) -> None:
    """Until the session's transaction ends, no other transaction passes ``serialise`` with the same ``name``:
    for "read the highest, write the next" steps such as the day's case numbers. SQLite transactions hold the
    write lock already (``BEGIN IMMEDIATE``); PostgreSQL takes a transaction-scoped advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """The engine and session factory of one configured database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, actor: str = "system") -> Iterator[Session]:
        """One unit of work: commits when the block ends normally, rolls back on any error."""
        session = self.sessionmaker()
        session.info["actor"] = actor
        session.info[AUDIT_ALGORITHM_KEY] = self.settings.audit_hash
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def request_slots(self) -> int:
        """How many requests of a process may hold a session at once: one on SQLite (one writer at a time, and
        every transaction takes the write lock), on PostgreSQL the pool's connections less a reserve."""
        return 1 if self.settings.is_sqlite else POOL_SIZE + POOL_OVERFLOW - POOL_RESERVE

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(settings: Settings) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (the newest by default)."""
    from alembic import command

    if settings.is_sqlite:
        _prepare_sqlite_file(settings.database_url)
    command.upgrade(alembic_config(settings), revision)


def current_revision(settings: Settings) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(settings: Settings) -> str | None:
    """The newest revision the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
