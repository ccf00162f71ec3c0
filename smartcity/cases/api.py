"""HTTP API of the cases module (so far: the class catalogue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from smartcity.cases import calendar, catalogue, schemas
from smartcity.cases.schemas import DeadlineOut
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.security import Principal, grant, require

grant(
    "cases.read",
    "read the case catalogue and cases in scope",
    "supervisor",
    "dispatcher",
    "operator",
    "inspector",
    "handler",
    "viewer",
)

router = APIRouter(prefix="/api/cases", tags=["cases"])
Kind = Literal["component", "event"]


@router.get("/catalogue", response_model=list[schemas.CaseClassOut], summary="Component and event classes")
def list_classes(
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    kind: Annotated[Kind | None, Query()] = None,
    standard_ref: Annotated[str | None, Query(max_length=160)] = None,
) -> list[schemas.CaseClassOut]:
    return [
        schemas.CaseClassOut.model_validate(c)
        for c in catalogue.list_classes(session, kind=kind, standard_ref=standard_ref)
    ]


@router.get("/catalogue/{kind}/{code}", response_model=schemas.CaseClassOut, summary="One class")
def get_class(
    kind: Kind,
    code: str,
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    standard_ref: Annotated[str | None, Query(max_length=160)] = None,
) -> schemas.CaseClassOut:
    return schemas.CaseClassOut.model_validate(catalogue.get_class(session, kind, code, standard_ref))


@router.get("/calendar/deadline", response_model=DeadlineOut, summary="Deadline of a time limit")
def deadline(
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, require("cases.read")],
    start: Annotated[datetime, Query(description="start, ISO 8601 with offset")],
    amount: Annotated[int, Query(ge=1, le=10_000)],
    unit: Annotated[Literal["working_hours", "working_days"], Query()] = "working_days",
) -> DeadlineOut:
    """When a time limit from ``start`` runs out on the working calendar (holidays and make-up days)."""
    if start.tzinfo is None:
        raise Problem(
            422,
            "Give start with its offset, e.g. 2026-10-09T16:00:00+08:00.",
            errors=[{"field": "start", "message": "no time-zone offset"}],
        )
    due = calendar.load(session, settings.working_hours, settings.timezone).deadline(start, amount, unit)
    return DeadlineOut(start=start, amount=amount, unit=unit, deadline=due)
