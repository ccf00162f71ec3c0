"""Things that belong to a session's transaction — domain events to deliver, files written beside rows — handed
over when the transaction really commits and dropped when it, or the savepoint they were added in, rolls back.

SQLAlchemy fires ``after_commit`` when a savepoint is released too, and ``after_rollback`` when a savepoint rolls
back, so listening to those directly would deliver an event before the real commit, or drop the whole
transaction's events for one savepoint. Each item remembers the (sub)transaction it was added in instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

T = TypeVar("T")
_KINDS: list[Pending[Any]] = []


def _nothing(_items: list[Any]) -> None:
    return None


class Pending(Generic[T]):
    """One kind of item, kept in ``session.info[key]``: ``committed(items)`` runs after the outermost commit,
    ``dropped(items)`` after a rollback with the items it undid."""

    def __init__(
        self,
        key: str,
        *,
        committed: Callable[[list[T]], None] = _nothing,
        dropped: Callable[[list[T]], None] = _nothing,
    ) -> None:
        self.key, self.committed, self.dropped = key, committed, dropped
        _KINDS.append(self)

    def add(self, session: Session, item: T) -> None:
        if not session.in_transaction():  # begun now, so that a rollback before any SQL undoes the item too
            session.begin()
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(self.key, []).append((transaction, item))

    def items(self, session: Session) -> list[T]:
        return [item for _transaction, item in session.info.get(self.key, ())]

    def _commit(self, session: Session) -> None:
        recorded = session.info.pop(self.key, None)
        if recorded:
            self.committed([item for _transaction, item in recorded])

    def _roll_back(self, session: Session, rolled_back: SessionTransaction) -> None:
        recorded = session.info.get(self.key)
        if not recorded:
            return
        kept: list[tuple[SessionTransaction, T]] = []
        undone: list[T] = []
        for transaction, item in recorded:
            if _inside(transaction, rolled_back):
                undone.append(item)
            else:
                kept.append((transaction, item))
        if undone:
            session.info[self.key] = kept
            self.dropped(undone)


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint released: the transaction goes on
        return
    for kind in _KINDS:
        kind._commit(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    for kind in _KINDS:
        kind._roll_back(session, rolled_back)
