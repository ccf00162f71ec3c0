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


async def _take_turn(request: Request) -> AsyncIterator[None]:
    """Requests wait for a session on the event loop, not in the thread pool: at most ``Database.request_slots``
    hold one at a time.

    A request's steps (dependencies, handler, commit) each need a thread of the pool, and its session holds what
    it took with its first query — on SQLite the write lock (``BEGIN IMMEDIATE``), on PostgreSQL a connection of
    the engine's pool. Left to wait in threads, a burst of more requests than the pool has threads filled the pool
    with requests waiting for the lock or a connection while their holders waited for a thread: every request
    stalled for the 30 s timeout, then failed."""
    gate: asyncio.Semaphore | None = getattr(request.app.state, "session_gate", None)
    if gate is None:
        yield
        return
    async with gate:
        yield


def get_session(request: Request, _turn: Annotated[None, Depends(_take_turn, scope="function")]) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back when it raises."""
    database: Database = request.app.state.database
    with database.session(actor="anonymous") as session:
        yield session


# scope="function": commit before the response is sent, so a failing commit is a 500, never a false 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
