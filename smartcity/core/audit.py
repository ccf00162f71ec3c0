"""The audit chain: an append-only, hash-linked record of every state change.

Each record holds who did what to which object, a before/after summary, when, and the hash of the
record before it, so an edited, inserted or deleted record breaks the chain at that point and
``verify`` names it. Records are written automatically for every flushed change of an audited model,
and explicitly with :func:`append` for events that change nothing in a table (a read of personal
data, a failed login).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Integer, String, Text, event, func, inspect, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from smartcity.core.db import AUDIT_ALGORITHM_KEY, Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
_LOCK_ID = 725_001  # an arbitrary constant: the PostgreSQL advisory lock that serialises appends


class AuditRecord(Base):
    __tablename__ = "audit_record"
    __audited__ = False

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(120), index=True)
    object_type: Mapped[str] = mapped_column(String(80), index=True)
    object_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(10))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest record's number and hash: catches records deleted from the end of the chain."""

    __tablename__ = "audit_head"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------- hashing


def digest(algorithm: str, data: bytes) -> str:
    """SHA-256 or SM3 (GB/T 32905-2016, through OpenSSL) of ``data`` as lower-case hex."""
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        try:
            return hashlib.new("sm3", data).hexdigest()
        except ValueError as exc:
            raise RuntimeError("this Python's OpenSSL has no SM3; use SMARTCITY_AUDIT_HASH=sha256") from exc
    raise ValueError(f"unknown audit hash {algorithm!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_hash(fields: dict[str, Any], algorithm: str) -> str:
    material = json.dumps(
        {
            "seq": fields["seq"],
            "at": fields["at"].isoformat(timespec="microseconds"),
            "actor": fields["actor"],
            "action": fields["action"],
            "object_type": fields["object_type"],
            "object_id": fields["object_id"],
            "before": fields["before"],
            "after": fields["after"],
            "algorithm": algorithm,
            "prev_hash": fields["prev_hash"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return digest(algorithm, material.encode("utf-8"))


# ---------------------------------------------------------------- writing


@dataclass
class Entry:
    """One change about to be chained."""

    action: str
    object_type: str
    object_id: str | None
    before: Any = None
    after: Any = None


def set_algorithm(session: Session, algorithm: str) -> None:
    session.info[AUDIT_ALGORITHM_KEY] = algorithm


def append(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Chain a record now for something that changes no audited row (a read of personal data, say)."""
    session.flush()
    _chain(session, [Entry(action, object_type, _str_id(object_id), before, after)])


def _str_id(object_id: object) -> str | None:
    return None if object_id is None else str(object_id)


def _chain(session: Session, entries: list[Entry]) -> None:
    if not entries:
        return
    connection = session.connection()
    algorithm = session.info.get(AUDIT_ALGORITHM_KEY, "sha256")
    actor = session.info.get("actor", "system")
    _lock(connection)
    seq, prev = _head(connection)
    rows = []
    at = utcnow()
    for entry in entries:
        seq += 1
        fields = {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "before": canonical(entry.before),
            "after": canonical(entry.after),
            "prev_hash": prev,
        }
        prev = record_hash(fields, algorithm)
        rows.append({**fields, "algorithm": algorithm, "hash": prev})
    connection.execute(AuditRecord.__table__.insert(), rows)
    _save_head(connection, seq, prev)


def _lock(connection: Connection) -> None:
    # SQLite transactions already hold the write lock (BEGIN IMMEDIATE); PostgreSQL needs an explicit
    # lock or two concurrent transactions would both link to the same predecessor.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def _save_head(connection: Connection, seq: int, hash_: str) -> None:
    table = AuditHead.__table__
    updated = connection.execute(table.update().where(table.c.id == 1).values(seq=seq, hash=hash_))
    if updated.rowcount == 0:
        connection.execute(table.insert().values(id=1, seq=seq, hash=hash_))


def _summary(obj: Base, keys: Iterable[str]) -> dict[str, Any]:
    return {key: _masked(obj, key, getattr(obj, key)) for key in keys}


def _masked(obj: Base, key: str, value: Any) -> Any:
    mask = type(obj).__audit_masked__.get(key)
    return mask(value) if mask is not None and value is not None else value


def _columns(obj: Base) -> list[str]:
    mapper = inspect(obj).mapper
    excluded = type(obj).__audit_exclude__
    return [attr.key for attr in mapper.column_attrs if attr.key not in excluded]


def _identity(obj: Base) -> str | None:
    identity = inspect(obj).identity
    if not identity:
        return None
    return "/".join(str(part) for part in identity)


def _changes(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before, after = {}, {}
    touched = state.committed_state  # only the attributes set since the last flush can have changed
    for key in (k for k in _columns(obj) if k in touched):
        history = state.attrs[key].history
        if history.has_changes():
            before[key] = _masked(obj, key, history.deleted[0]) if history.deleted else None
            after[key] = _masked(obj, key, history.added[0]) if history.added else None
    return before, after


def _entries_for_flush(session: Session) -> Iterator[Entry]:
    label = session.info.get("audit_label")
    for obj in session.new:
        if getattr(obj, "__audited__", False):
            name = obj.__tablename__
            yield Entry(label or f"{name}.create", name, _identity(obj), None, _summary(obj, _columns(obj)))
    for obj in session.dirty:
        if getattr(obj, "__audited__", False) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                name = obj.__tablename__
                yield Entry(label or f"{name}.update", name, _identity(obj), before, after)
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            name = obj.__tablename__
            yield Entry(label or f"{name}.delete", name, _identity(obj), _summary(obj, _columns(obj)), None)


@event.listens_for(Session, "after_flush")
def _audit_flush(session: Session, _context: Any) -> None:
    _chain(session, list(_entries_for_flush(session)))


def label(session: Session, action: str) -> None:
    """Name the changes flushed from now on in this session (``"user.password_changed"``)."""
    session.info["audit_label"] = action


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify`: ``ok``, how many records were checked, and the first break."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> Verdict:
    """Walk the chain from its start and report the first record that was edited, inserted or deleted."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    last_seq = 0
    stmt = select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=batch)
    for record in session.scalars(stmt):
        verdict = _check(record, expected_seq, prev_hash, checked)
        if verdict is not None:
            return verdict
        checked += 1
        expected_seq, prev_hash, last_seq = record.seq + 1, record.hash, record.seq
        session.expunge(record)
    return _check_head(session, checked, last_seq, prev_hash) or Verdict(True, checked)


def _check_head(session: Session, checked: int, last_seq: int, last_hash: str) -> Verdict | None:
    head_seq, head_hash = _head(session.connection())
    if last_seq < head_seq:
        return Verdict(
            False, checked, last_seq + 1, f"records #{last_seq + 1} to #{head_seq} were deleted from the end"
        )
    if last_seq > head_seq:
        return Verdict(
            False, checked - (last_seq - head_seq), head_seq + 1, f"record #{head_seq + 1} was inserted after the head"
        )
    if head_hash != last_hash:
        return Verdict(False, checked, last_seq, f"record #{last_seq} was replaced: the chain's head disagrees")
    return None


def _check(record: AuditRecord, expected_seq: int, prev_hash: str, checked: int) -> Verdict | None:
    if record.seq != expected_seq:
        kind = "deleted" if record.seq > expected_seq else "inserted"
        return Verdict(False, checked, expected_seq, f"record #{expected_seq} was {kind}")
    if record.prev_hash != prev_hash:
        return Verdict(
            False,
            checked,
            record.seq,
            f"record #{record.seq} does not link to the record before it (inserted, or its predecessor replaced)",
        )
    fields = {
        c: getattr(record, c)
        for c in ("seq", "at", "actor", "action", "object_type", "object_id", "before", "after", "prev_hash")
    }
    if record_hash(fields, record.algorithm) != record.hash:
        return Verdict(False, checked, record.seq, f"record #{record.seq} was edited after it was written")
    return None


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord)) or 0
