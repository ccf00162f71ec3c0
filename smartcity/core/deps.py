"""FastAPI dependencies every module uses: the request's database session and the settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core.db import Database


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def _sqlite_turn(request: Request) -> AsyncIterator[None]:
    """On SQLite, requests take turns holding a session, waiting on the event loop rather than in the thread pool.

    Every SQLite transaction takes the database's write lock with its first query (``BEGIN IMMEDIATE``), and a
    request's steps (dependencies, handler, commit) each need a thread of the pool. Left to wait in threads, a
    burst of more requests than the pool has threads filled the pool with requests waiting for the lock while
    the lock's holder waited for a thread: every request stalled for the busy timeout (30 s), then failed. The
    lock serialised these requests anyway; now the queue is outside the pool. PostgreSQL has no gate."""
    gate: asyncio.Lock | None = getattr(request.app.state, "sqlite_gate", None)
    if gate is None:
        yield
        return
    async with gate:
        yield


def get_session(request: Request, _turn: Annotated[None, Depends(_sqlite_turn, scope="function")]) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back when it raises."""
    database: Database = request.app.state.database
    with database.session(actor="anonymous") as session:
        yield session


# scope="function": commit before the response is sent, so a failing commit is a 500, never a false 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
