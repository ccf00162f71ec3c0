"""Web pages of the cases module (so far: the evaluation table)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from smartcity.cases import catalogue, evaluation, photos, service
from smartcity.cases.workflow import LABELS
from smartcity.config import Settings
from smartcity.core import charts
from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, add_templates, language_of, render, translate
from smartcity.security import Principal, require

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Cases", "cases_list", "cases.read", order=200))
add_nav(NavItem("Report a problem", "case_new", "cases.report", order=210))
add_nav(NavItem("Supervision", "cases_supervision", "cases.supervise", order=220))
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
    chart: Annotated[str, Query(pattern="^[a-z_]{1,40}$")] = "on_time_closure_rate",
) -> Response:
    """Indicators for a period of days (Asia/Shanghai), by group, with charts and CSV/Excel of everything."""
    tz = ZoneInfo(settings.timezone)
    end = end or datetime.now(tz).date()
    start = start or end.replace(day=1)
    if end < start:
        start, end = end, start
    if chart not in evaluation.INDICATORS:
        raise Problem(422, f"Unknown indicator {chart!r} to chart.", errors=[{"field": "chart", "message": "unknown"}])
    since = datetime.combine(start, time.min, tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tz)
    weights = evaluation.parse_weights(settings.case_score_weights)
    scope = service.visible(principal)
    rows = evaluation.evaluate(
        session, start=since, end=until, group_by=group_by, scope=scope, weights=weights, tz=settings.timezone
    )
    query = {"from": since.isoformat(), "to": until.isoformat(), "group_by": group_by}
    indicator = evaluation.INDICATORS[chart]
    return render(
        request,
        "cases/evaluation.html",
        {
            "rows": rows,
            "shown": [evaluation.INDICATORS[c] for c in SHOWN],
            "indicators": list(evaluation.INDICATORS.values()),
            "chart": indicator,
            "by_group": _group_chart(request, indicator, rows),
            "trend": _trend_chart(request, session, settings, indicator, end, scope),
            "start": start,
            "end": end,
            "group_by": group_by,
            "csv_url": "/api/cases/evaluation?" + urlencode({**query, "format": "csv"}),
            "xlsx_url": "/api/cases/evaluation?" + urlencode({**query, "format": "xlsx"}),
        },
    )


def _indicator_name(request: Request, indicator: evaluation.Indicator) -> str:
    return indicator.name_zh if language_of(request) == "zh-CN" else indicator.name_en


def _chart_format(indicator: evaluation.Indicator) -> dict[str, Any]:
    return {"fmt": charts.percent, "maximum": 1.0} if indicator.is_rate else {"fmt": charts.number}


def _group_chart(request: Request, indicator: evaluation.Indicator, rows: list[dict[str, Any]]) -> Markup | None:
    if not rows:
        return None
    points = [charts.Point(str(row["group"] or "—"), row[indicator.code]) for row in rows[:40]]
    part = translate(request, "by group")
    title = f"{_indicator_name(request, indicator)} · {part}"
    return charts.bar_chart(title, points, no_data=translate(request, "no data"), **_chart_format(indicator))


def _trend_chart(
    request: Request,
    session: SessionDep,
    settings: Settings,
    indicator: evaluation.Indicator,
    end: date,
    scope: Any,
) -> Markup:
    """The indicator for the city (in scope) in each of the twelve months up to the period's end."""
    tz = ZoneInfo(settings.timezone)
    months = [_add_months(end.replace(day=1), -i) for i in range(11, -1, -1)]
    rows = evaluation.evaluate(
        session,
        start=datetime.combine(months[0], time.min, tz),
        end=datetime.combine(_add_months(months[-1], 1), time.min, tz),
        group_by="month",
        codes=[indicator.code],
        scope=scope,
        tz=settings.timezone,
    )
    by_month = {row["group"]: row[indicator.code] for row in rows}
    points = [charts.Point(m.strftime("%Y-%m"), by_month.get(m.strftime("%Y-%m"))) for m in months]
    part = translate(request, "last twelve months")
    title = f"{_indicator_name(request, indicator)} · {part}"
    return charts.line_chart(title, points, no_data=translate(request, "no data"), **_chart_format(indicator))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


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
            "proposal": lambda case: (
                service.proposed_department(session, case) if case.state in ("registered", "returned") else None
            ),
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


@router.get("/cases/supervision", name="cases_supervision")
def supervision_page(
    request: Request, session: SessionDep, principal: Annotated[Principal, require("cases.supervise")]
) -> Response:
    """The supervisor's desk: approve extensions, push overdue cases (督办), resume suspended ones."""
    return render(
        request,
        "cases/supervision.html",
        {"queues": service.supervision_queues(session, principal), "labels": LABELS, "now": utcnow()},
    )


@router.get("/cases/{number}", name="case_detail")
def case_detail(
    number: str, request: Request, session: SessionDep, principal: Annotated[Principal, require("cases.read")]
) -> Response:
    return _detail(request, session, principal, number)


@router.post("/cases/{number}", name="case_act")
async def case_act(
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
    back: Annotated[str, Form(pattern="^(supervision|)$")] = "",
    photo: Annotated[UploadFile | None, File()] = None,
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
    data = await photo.read(settings.max_photo_bytes + 1) if photo is not None and photo.filename else b""
    try:
        await run_in_threadpool(_act_with_photo, session, settings, principal, number, action, step, data)
    except Problem as problem:
        session.expire_all()
        return _detail(
            request, session, principal, number, status=problem.status, error=problem.detail, errors=problem.errors
        )
    return RedirectResponse("/cases/supervision" if back else f"/cases/{number}", status_code=303)


PHOTO_KIND = {"feedback": "after", "check_pass": "check", "check_fail": "check", "verify": "check"}


def _act_with_photo(
    session: SessionDep,
    settings: Settings,
    principal: Principal,
    number: str,
    action: str,
    step: service.Step,
    data: bytes,
) -> None:
    """The action and its photo (after-photo with feedback, check photo with a check) stand or fall together."""
    with session.begin_nested():  # a refused action or photo leaves nothing behind
        case = service.act(session, settings, principal, number, action, step)
        if data:
            photos.store(session, settings, case, data, kind=PHOTO_KIND.get(action, "before"), actor=principal.username)
