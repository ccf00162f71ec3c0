"""HTTP API of the cases module (so far: the class catalogue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from smartcity.cases import calendar, catalogue, components, schemas
from smartcity.cases.models import Component
from smartcity.cases.schemas import DeadlineOut
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.schemas import Page
from smartcity.places import ogcapi
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
ogcapi.add_collection(
    ogcapi.Collection(
        "components",
        "Components 部件",
        "Public facilities with their 16-digit IDs, class, state and grid.",
        Component,
        lambda: Component.id.is_not(None),
        {
            "code": Component.code,
            "class_code": Component.class_code,
            "name": Component.name,
            "grid_code": Component.grid_code,
            "state": Component.state,
        },
    )
)
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


def _component_out(component) -> schemas.ComponentOut:  # type: ignore[no-untyped-def]
    fields = {k: getattr(component, k) for k in schemas.ComponentOut.model_fields if k != "location"}
    return schemas.ComponentOut(**fields, location=[component.min_lon, component.min_lat])


@router.get("/components", response_model=Page[schemas.ComponentOut], summary="Search the component inventory")
def search_components(
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    class_code: Annotated[str | None, Query(pattern=r"^\d{2,4}$", description="major or minor class")] = None,
    grid: Annotated[str | None, Query(pattern=r"^\d{6,15}$", description="grid or division code prefix")] = None,
    state: Annotated[Literal["intact", "damaged", "lost", "abandoned", "removed"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=60, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[schemas.ComponentOut]:
    found, total = components.search(
        session, class_code=class_code, grid=grid, state=state, text=q, limit=limit, offset=offset
    )
    return Page(items=[_component_out(c) for c in found], total=total, limit=limit, offset=offset)


@router.get("/components/{code}", response_model=schemas.ComponentOut, summary="One component by its 16-digit ID")
def get_component(
    code: str, session: SessionDep, _: Annotated[Principal, require("cases.read")]
) -> schemas.ComponentOut:
    return _component_out(components.get_component(session, code))
