"""HTTP API of the cases module (so far: the class catalogue)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from smartcity.cases import catalogue, schemas
from smartcity.core.deps import SessionDep
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
