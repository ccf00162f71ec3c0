"""FastAPI dependencies every module uses: the request's database session and the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core.db import Database


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back when it raises."""
    database: Database = request.app.state.database
    with database.session(actor="anonymous") as session:
        yield session


# scope="function": commit before the response is sent, so a failing commit is a 500, never a false 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
