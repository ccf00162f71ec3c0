"""Rate limits for public endpoints, counted in the database so every app process shares them.

A fixed window per key (``open311:post:203.0.113.7``, say): the first hit opens the window, hits beyond the
limit within it get 429 with ``Retry-After``. The hit is counted in a transaction of its own, so a
request that fails afterwards (a 422) still counts — otherwise bad input would be free to repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, Database, UTCDateTime, utcnow
from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem


class RateWindow(Base):
    __tablename__ = "rate_window"
    __audited__ = False  # counters, not records: nothing a person changed

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)


def hit(database: Database, key: str, limit: int, window: timedelta) -> int | None:
    """Count one hit; None when within the limit, else the seconds until the window ends."""
    now = utcnow()
    for _ in range(3):
        try:
            with database.session(actor="ratelimit") as session:
                row = session.get(RateWindow, key, with_for_update=True)
                if row is None or now - row.window_start >= window:
                    if row is not None:
                        session.delete(row)
                        session.flush()
                    session.add(RateWindow(key=key, window_start=now, count=1))
                    return None if limit >= 1 else int(window.total_seconds())
                row.count += 1
                if row.count <= limit:
                    return None
                return max(1, int((row.window_start + window - now).total_seconds()))
        except IntegrityError:
            continue  # another process opened the window at the same moment: count again
    return None


def purge(database: Database, older_than: timedelta) -> int:
    """Drop windows that ended long ago (housekeeping)."""
    with database.session(actor="ratelimit") as session:
        cutoff = utcnow() - older_than
        stale = list(session.scalars(select(RateWindow.key).where(RateWindow.window_start < cutoff)))
        if stale:
            session.execute(delete(RateWindow).where(RateWindow.key.in_(stale)))
        return len(stale)


def limited(name: str, per_hour: Callable[[Any], int]) -> Any:
    """Dependency: at most ``per_hour(settings)`` requests per client address per hour for ``name``."""

    def check(request: Request, session: SessionDep) -> None:
        # End the request's transaction (it has only read credentials so far): on SQLite it would hold
        # the single write lock the count needs.
        session.commit()
        address = request.client.host if request.client else "unknown"
        settings = request.app.state.settings
        retry = hit(request.app.state.database, f"{name}:{address}", per_hour(settings), timedelta(hours=1))
        if retry is not None:
            raise Problem(
                429,
                f"Too many requests from your address; try again in {retry} seconds.",
                code="rate-limited",
                headers={"Retry-After": str(retry)},
            )

    return Depends(check)
