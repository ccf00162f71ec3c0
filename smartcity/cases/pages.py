"""Web pages of the cases module (so far: the evaluation table)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from smartcity.cases import catalogue, evaluation, photos, service
from smartcity.cases.workflow import LABELS
from smartcity.config import Settings
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, add_templates, render
from smartcity.security import Principal, require

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Cases", "cases_list", "cases.read", order=200))
add_nav(NavItem("Report a problem", "case_new", "cases.report", order=210))
add_nav(NavItem("Evaluation", "cases_evaluation", "cases.evaluate", order=300))
router = APIRouter(include_in_schema=False)
SHOWN = ("reports", "registrations", "closures", "closure_rate", "on_time_closure_rate", "rework_rate", "overdue")


@router.get("/cases/evaluation", name="cases_evaluation")
def evaluation_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.evaluate")],
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: Annotated[str, Query(pattern="^(city|district|street|department|class|source)$")] = "district",
) -> Response:
    """Indicators for a period of days (Asia/Shanghai), by group, with a CSV of everything."""
    tz = ZoneInfo(settings.timezone)
    end = end or datetime.now(tz).date()
    start = start or end.replace(day=1)
    if end < start:
        start, end = end, start
    since = datetime.combine(start, time.min, tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tz)
    rows = evaluation.evaluate(session, start=since, end=until, group_by=group_by, scope=service.visible(principal))
    csv_url = "/api/cases/evaluation?" + urlencode(
        {"from": since.isoformat(), "to": until.isoformat(), "group_by": group_by, "format": "csv"}
    )
    return render(
        request,
        "cases/evaluation.html",
        {
            "rows": rows,
            "shown": [evaluation.INDICATORS[c] for c in SHOWN],
            "start": start,
            "end": end,
            "group_by": group_by,
            "csv_url": csv_url,
        },
    )


@router.get("/cases", name="cases_list")
def cases_list(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("cases.read")],
    state: Annotated[str | None, Query(pattern="^[a-z]*$")] = None,
    overdue: Annotated[bool, Query()] = False,
    mine: Annotated[bool, Query()] = False,
) -> Response:
    """Cases in scope; ``mine``: only those where the user has a step to take now (their work queue)."""
    found, total = service.list_cases(
        session, principal, state=state or None, overdue=overdue or None, limit=500 if mine else 200
    )
    if mine:
        found = [c for c in found if service.available_actions(session, principal, c)]
        total = len(found)
    return render(
        request,
        "cases/list.html",
        {
            "cases": found,
            "total": total,
            "state": state or "",
            "overdue": overdue,
            "mine": mine,
            "labels": LABELS,
            "is_overdue": service.is_overdue,
        },
    )


def _report_form(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    error: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Response:
    classes = [c for c in catalogue.list_classes(session) if len(c.code) >= 4]
    return render(
        request,
        "cases/new.html",
        {
            "classes": classes,
            "form": form or {},
            "error": error,
            "errors": errors or [],
            "sources": ("inspector", "public", "hotline", "superior"),
            "role": principal.role.code,
        },
        status=status,
    )


@router.get("/cases/new", name="case_new")
def case_new(
    request: Request, session: SessionDep, principal: Annotated[Principal, require("cases.report")]
) -> Response:
    return _report_form(request, session, principal)


@router.post("/cases/new", name="case_create")
async def case_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.report")],
    class_ref: Annotated[str, Form(max_length=20)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    source: Annotated[str, Form(max_length=12)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Report with an optional photo, all in one transaction: a refused photo means no case either."""
    form = {"class_ref": class_ref, "description": description, "lon": lon, "lat": lat, "source": source}
    data = await photo.read(settings.max_photo_bytes + 1) if photo is not None and photo.filename else b""
    try:
        number = await run_in_threadpool(_create, session, settings, principal, form, data)
    except Problem as problem:
        session.rollback()
        return _report_form(
            request, session, principal, status=problem.status, form=form, error=problem.detail, errors=problem.errors
        )
    return RedirectResponse(f"/cases/{number}", status_code=303)


def _create(session: SessionDep, settings: Settings, principal: Principal, form: dict[str, str], data: bytes) -> str:
    kind, _, code = form["class_ref"].partition(":")
    if kind not in ("component", "event") or not code:
        raise Problem(422, "Choose the class of the problem.", errors=[{"field": "class_ref", "message": "required"}])
    if not form["description"].strip():
        raise Problem(422, "Describe the problem.", errors=[{"field": "description", "message": "required"}])
    try:
        lon, lat = float(form["lon"]), float(form["lat"])
    except ValueError as exc:
        raise Problem(
            422,
            "Give the location as longitude and latitude numbers, or pick it on the map.",
            errors=[{"field": "lon", "message": "not a number"}],
        ) from exc
    with session.begin_nested():
        case = service.report(
            session,
            principal,
            kind=kind,
            class_code=code,
            description=form["description"],
            lon=lon,
            lat=lat,
            source=form["source"] or None,
        )
        if data:
            photos.store(session, settings, case, data, kind="before", actor=principal.username)
    return case.number


def _detail(
    request: Request,
    session: SessionDep,
    principal: Principal,
    number: str,
    *,
    status: int = 200,
    error: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Response:
    case = service.get_case(session, principal, number)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "history": service.history(session, case),
            "photos": photos.photos_of(session, case),
            "actions": service.available_actions(session, principal, case),
            "labels": LABELS,
            "overdue": service.is_overdue(case),
            "proposal": service.proposed_department(session, case)
            if case.state in ("registered", "returned")
            else None,
            "error": error,
            "errors": errors or [],
        },
        status=status,
    )


@router.get("/cases/{number}", name="case_detail")
def case_detail(
    number: str, request: Request, session: SessionDep, principal: Annotated[Principal, require("cases.read")]
) -> Response:
    return _detail(request, session, principal, number)


@router.post("/cases/{number}", name="case_act")
def case_act(
    number: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.act")],
    action: Annotated[str, Form(max_length=24)],
    version: Annotated[int, Form(ge=1)],
    note: Annotated[str, Form(max_length=2000)] = "",
    department_code: Annotated[str, Form(max_length=32)] = "",
    override_reason: Annotated[str, Form(max_length=500)] = "",
    extension_amount: Annotated[int | None, Form(ge=1, le=1000)] = None,
    extension_unit: Annotated[str, Form(pattern="^(working_days|working_hours|)$")] = "",
) -> Response:
    """The page form for every action; the same rules as the API, then back to the case (POST-redirect-GET)."""
    step = service.Step(
        version=version,
        note=note or None,
        department_code=department_code or None,
        override_reason=override_reason or None,
        extension_amount=extension_amount,
        extension_unit=extension_unit or None,
    )
    try:
        with session.begin_nested():  # a refused action leaves nothing behind
            service.act(session, settings, principal, number, action, step)
    except Problem as problem:
        session.expire_all()
        return _detail(
            request, session, principal, number, status=problem.status, error=problem.detail, errors=problem.errors
        )
    return RedirectResponse(f"/cases/{number}", status_code=303)
