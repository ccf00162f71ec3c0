"""Domain events: recorded in the session's transaction, delivered to subscribers only after it commits.

A rolled-back transaction drops its events, so no subscriber ever hears of a change that did not happen.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.core.pending import Pending

LOGGER = logging.getLogger(__name__)

Handler = Callable[["DomainEvent"], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: ``name`` is ``<module>.<what>``, e.g. ``security.user_created``."""

    name: str
    payload: dict[str, Any]
    actor: str
    at: datetime = field(default_factory=utcnow)


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Decorator: call the function with every committed event of ``name`` (``"*"`` for all)."""

    def register(handler: Handler) -> Handler:
        _subscribers[name].append(handler)
        return handler

    return register


def unsubscribe(name: str, handler: Handler) -> None:
    _subscribers[name].remove(handler)


InTransactionHandler = Callable[[Session, "DomainEvent"], None]
_in_transaction: dict[str, list[InTransactionHandler]] = defaultdict(list)


def react(name: str) -> Callable[[InTransactionHandler], InTransactionHandler]:
    """Decorator: call ``handler(session, event)`` inside the emitting transaction, when the event is emitted.

    For a module whose own state must change together with another module's (a hotline order that closes
    when its grid case does): both commit or neither does. The handler uses its own module's tables only.
    """

    def register(handler: InTransactionHandler) -> InTransactionHandler:
        _in_transaction[name].append(handler)
        return handler

    return register


def emit(session: Session, name: str, **payload: Any) -> DomainEvent:
    """Record an event in the session's transaction; it is delivered after commit, dropped on rollback.
    Reactions registered with :func:`react` run now, in the same transaction (their errors propagate)."""
    domain_event = DomainEvent(name, payload, session.info.get("actor", "system"))
    _PENDING.add(session, domain_event)
    for handler in _in_transaction.get(name, []):
        handler(session, domain_event)
    return domain_event


def pending(session: Session) -> list[DomainEvent]:
    """The events recorded in the session's open transaction, to be delivered when it commits."""
    return _PENDING.items(session)


def _deliver(committed: list[DomainEvent]) -> None:
    for domain_event in committed:
        for handler in [*_subscribers.get(domain_event.name, []), *_subscribers.get("*", [])]:
            try:
                handler(domain_event)
            except Exception:  # the change is committed; a failing subscriber must not undo it
                LOGGER.exception("subscriber %r failed on %s", handler, domain_event.name)


_PENDING: Pending[DomainEvent] = Pending("pending_events", committed=_deliver)
