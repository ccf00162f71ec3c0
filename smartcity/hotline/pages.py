"""Web pages of the hotline: the operator's intake desk with the knowledge base at hand, the order list and
order page with each role's steps, the knowledge base, the indicators, and the citizen's submit and track
pages (no account needed)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from smartcity.cases import catalogue as case_catalogue
from smartcity.config import Settings
from smartcity.core import charts, ratelimit
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import NotFound, Problem
from smartcity.core.privacy import mask_name, mask_phone
from smartcity.core.web import NavItem, add_nav, add_templates, language_of, render, translate
from smartcity.hotline import catalogue, knowledge, metrics, photos, service
from smartcity.hotline.models import ORDER_TYPES, SATISFACTION
from smartcity.hotline.workflow import LABELS, State
from smartcity.security import Principal, public, require
from smartcity.security.permissions import public_form_token_ok

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Hotline", "hotline_list", "hotline.read", order=400))
add_nav(NavItem("New order", "hotline_new", "hotline.intake", order=410))
add_nav(NavItem("Knowledge base", "hotline_knowledge", "hotline.knowledge", order=420))
add_nav(NavItem("Hotline indicators", "hotline_metrics", "hotline.metrics", order=430))
router = APIRouter(include_in_schema=False)
TYPE_LABELS = {
    "inquiry": ("咨询", "Inquiry"),
    "help": ("求助", "Request for help"),
    "complaint": ("投诉", "Complaint"),
    "report": ("举报", "Report"),
    "suggestion": ("建议", "Suggestion"),
    "praise": ("表扬", "Praise"),
}
SATISFACTION_LABELS = {
    "satisfied": ("满意", "Satisfied"),
    "basically_satisfied": ("基本满意", "Basically satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"),
}
REASON_LABELS = {
    "same caller": ("同一来电人", "Same caller"),
    "same matter nearby": ("附近同类诉求", "Same subject nearby"),
    "similar text": ("内容相似", "Similar text"),
}


def _common(request: Request) -> dict[str, Any]:
    return {
        "labels": LABELS,
        "type_labels": TYPE_LABELS,
        "satisfaction_labels": SATISFACTION_LABELS,
        "reason_labels": REASON_LABELS,
    }


# ---------------------------------------------------------------- staff pages


@router.get("/hotline", name="hotline_list")
def order_list(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.read")],
    state: Annotated[str, Query(pattern="^[a-z_]*$")] = "",
    overdue: Annotated[bool, Query()] = False,
    mine: Annotated[bool, Query()] = False,
    q: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    """Orders in scope; ``mine``: only those where the user has a step to take now (their work queue)."""
    found, total = service.list_orders(
        session, principal, state=state or None, overdue=overdue, query=q or None, limit=500 if mine else 200
    )
    if mine:
        found = [o for o in found if service.available_actions(session, principal, o)]
        total = len(found)
    return render(
        request,
        "hotline/list.html",
        {
            **_common(request),
            "orders": found,
            "total": total,
            "state": state,
            "overdue": overdue,
            "mine": mine,
            "q": q,
            "is_overdue": service.is_overdue,
        },
    )


def _intake_form(
    request: Request,
    session: SessionDep,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
    template: str = "hotline/new.html",
) -> Response:
    return render(
        request,
        template,
        {
            **_common(request),
            "matters": catalogue.list_matters(session),
            "types": ORDER_TYPES,
            "form": form or {},
            "error": error,
            "errors": errors or [],
        },
        status=status,
    )


@router.get("/hotline/new", name="hotline_new")
def new_order(request: Request, session: SessionDep, _: Annotated[Principal, require("hotline.intake")]) -> Response:
    return _intake_form(request, session)


FORM_FIELDS = ("order_type", "matter_code", "urgency", "description", "caller_name", "caller_phone", "address")


def _intake(form: dict[str, str], channel: str) -> service.Intake:
    try:
        lon = float(form["lon"]) if form.get("lon") else None
        lat = float(form["lat"]) if form.get("lat") else None
    except ValueError as exc:
        raise Problem(
            422,
            "Give the location as longitude and latitude numbers, or pick it on the map.",
            errors=[{"field": "lon", "message": "not a number"}],
        ) from exc
    return service.Intake(
        channel=channel,
        order_type=form.get("order_type", ""),
        description=form.get("description", ""),
        matter_code=form.get("matter_code") or None,
        urgency=form.get("urgency") or "normal",
        caller_name=form.get("caller_name") or None,
        caller_phone=form.get("caller_phone") or None,
        address=form.get("address") or None,
        lon=lon,
        lat=lat,
    )


@router.post("/hotline/new", name="hotline_create")
async def create_order(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.intake")],
    order_type: Annotated[str, Form(max_length=12)] = "",
    matter_code: Annotated[str, Form(max_length=16)] = "",
    urgency: Annotated[str, Form(max_length=8)] = "normal",
    description: Annotated[str, Form(max_length=4000)] = "",
    caller_name: Annotated[str, Form(max_length=60)] = "",
    caller_phone: Annotated[str, Form(max_length=30)] = "",
    address: Annotated[str, Form(max_length=200)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = await _photo_bytes(photo, settings)
    form = dict(
        zip(
            FORM_FIELDS,
            (order_type, matter_code, urgency, description, caller_name, caller_phone, address),
            strict=True,
        )
    )
    form.update(lon=lon, lat=lat)
    try:
        number = await run_in_threadpool(
            _receive, session, settings, _intake(form, "phone"), data, principal.username, principal.role.code
        )
    except Problem as problem:
        return _intake_form(
            request, session, form=form, error=problem.detail, errors=problem.errors, status=problem.status
        )
    return RedirectResponse(f"/hotline/orders/{number}", status_code=303)


async def _photo_bytes(photo: UploadFile | None, settings: Settings) -> bytes:
    return await photo.read(settings.max_photo_bytes + 1) if photo is not None and photo.filename else b""


def _receive(
    session: SessionDep, settings: Settings, intake: service.Intake, data: bytes, actor: str, role: str
) -> str:
    """The order and its photo in one transaction: a refused photo means no order either."""
    with session.begin_nested():
        order = service.receive(session, intake, actor=actor, role=role)
        if data:
            photos.store(session, settings, order, data, actor=actor)
    return order.number


@router.get("/hotline/knowledge", name="hotline_knowledge")
def knowledge_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.knowledge")],
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    hits, error = [], None
    if q.strip():
        try:
            hits = knowledge.search(session, q, limit=20)
        except Problem as problem:
            error = problem.detail
    return render(
        request,
        "hotline/knowledge.html",
        {"q": q, "hits": hits, "error": error, "can_manage": principal.can("hotline.manage"), "form": {}},
    )


@router.post("/hotline/knowledge", name="hotline_article_add")
def add_article(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.manage")],
    title: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=20_000)] = "",
    keywords: Annotated[str, Form(max_length=300)] = "",
    topic: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    form = {"title": title, "body": body, "keywords": keywords, "topic": topic}
    try:
        with session.begin_nested():
            article = knowledge.create(session, principal.username, form)
    except Problem as problem:
        return render(
            request,
            "hotline/knowledge.html",
            {"q": "", "hits": [], "error": problem.detail, "can_manage": True, "form": form},
            status=problem.status,
        )
    return RedirectResponse("/hotline/knowledge?" + urlencode({"q": article.title}), status_code=303)


@router.get("/hotline/metrics", name="hotline_metrics")
def metrics_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.metrics")],
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: Annotated[str, Query(pattern="^(city|department|district|type|matter|channel)$")] = "department",
    rank_by: Annotated[str, Query(pattern="^[a-z_]{1,40}$")] = "satisfaction_rate",
) -> Response:
    """Indicators by group, ranked by the one chosen (best first, by its direction), with its chart."""
    tz = ZoneInfo(settings.timezone)
    end = end or datetime.now(tz).date()
    start = start or end.replace(day=1)
    if end < start:
        start, end = end, start
    since, until = datetime.combine(start, time.min, tz), datetime.combine(end + timedelta(days=1), time.min, tz)
    if rank_by not in metrics.METRICS:
        raise Problem(422, f"Unknown indicator {rank_by!r}.", errors=[{"field": "rank_by", "message": "unknown"}])
    rows = metrics.compute(session, start=since, end=until, group_by=group_by, scope=service.visible(principal))
    ranked = metrics.METRICS[rank_by]
    rows = metrics.ranked(rows, ranked)
    name = ranked.name_zh if language_of(request) == "zh-CN" else ranked.name_en
    scale = {"fmt": charts.percent, "maximum": 1.0} if ranked.is_rate else {"fmt": charts.number}
    points = [charts.Point(str(r["group"] or "—"), r[rank_by]) for r in rows[:40]]
    chart = charts.bar_chart(name, points, no_data=translate(request, "no data"), **scale) if rows else None
    csv_url = "/api/hotline/metrics?" + urlencode(
        {"from": since.isoformat(), "to": until.isoformat(), "group_by": group_by, "format": "csv"}
    )
    return render(
        request,
        "hotline/metrics.html",
        {
            "rows": rows,
            "shown": list(metrics.METRICS.values()),
            "rank_by": ranked,
            "start": start,
            "end": end,
            "group_by": group_by,
            "chart": chart,
            "csv_url": csv_url,
        },
    )


# ---------------------------------------------------------------- the citizen's pages


@router.get("/hotline/submit", name="hotline_submit")
def submit_page(request: Request, session: SessionDep, _: Annotated[Principal, public()]) -> Response:
    return _intake_form(request, session, template="hotline/submit.html")


@router.post("/hotline/submit", name="hotline_submit_post")
async def submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, public()],
    order_type: Annotated[str, Form(max_length=12)] = "",
    matter_code: Annotated[str, Form(max_length=16)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    caller_name: Annotated[str, Form(max_length=60)] = "",
    caller_phone: Annotated[str, Form(max_length=30)] = "",
    address: Annotated[str, Form(max_length=200)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = await _photo_bytes(photo, settings)
    form = {
        "order_type": order_type,
        "matter_code": matter_code,
        "description": description,
        "caller_name": caller_name,
        "caller_phone": caller_phone,
        "address": address,
        "lon": lon,
        "lat": lat,
    }

    def again(message: str, status: int, errors: list[dict[str, str]] | None = None) -> Response:
        return _intake_form(
            request, session, form=form, error=message, errors=errors, status=status, template="hotline/submit.html"
        )

    if not public_form_token_ok(request, csrf_token):
        return again(translate(request, "The form has expired. Please send it again."), 403)
    retry = _public_hit(request, session)
    if retry is not None:
        return again(translate(request, "Too many submissions from your network. Try again later."), 429)
    if not caller_phone.strip():
        return again(
            translate(request, "Give a phone number: you need its last four digits to track the order."),
            422,
            [{"field": "caller_phone", "message": "required"}],
        )
    try:
        number = await run_in_threadpool(_receive, session, settings, _intake(form, "web"), data, "public", "citizen")
    except Problem as problem:
        return again(problem.detail, problem.status, problem.errors)
    return render(
        request,
        "hotline/submitted.html",
        {"number": number, "phone": mask_phone(caller_phone.strip()), "name": mask_name(caller_name or None)},
        status=201,
    )


def _public_hit(request: Request, session: SessionDep) -> int | None:
    session.commit()  # the count has its own transaction; free SQLite's writer from the request's reads
    address = request.client.host if request.client else "unknown"
    limit = request.app.state.settings.hotline_public_per_hour
    return ratelimit.hit(request.app.state.database, f"hotline-public:{address}", limit, timedelta(hours=1))


@router.get("/hotline/track", name="hotline_track")
def track_page(
    request: Request,
    session: SessionDep,
    _: Annotated[Principal, public()],
    number: Annotated[str, Query(max_length=20)] = "",
    phone_last4: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    """Look up an order by its number and the last four digits of the phone given with it."""
    order, error, status = None, None, 200
    if number or phone_last4:
        if _public_hit(request, session) is not None:
            error, status = translate(request, "Too many look-ups from your network. Try again later."), 429
        else:
            try:
                order = service.track(session, number, phone_last4)
            except NotFound:
                error, status = translate(request, "No order matches this number and phone."), 404
    return render(
        request,
        "hotline/track.html",
        {**_common(request), "order": order, "number": number, "error": error, "public_state": _public_state},
        status=status,
    )


def _public_state(order: Any) -> State:
    state = State(order.state)
    return State.HANDLING if state in (State.RETURNED, State.IN_CASE, State.HANDLED, State.DISPATCHED) else state


# ---------------------------------------------------------------- one order (declared last: /hotline/orders/{n})


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
    from smartcity.hotline.api import order_out

    order = service.get_order(session, principal, number)
    shown = order_out(session, principal, order)
    actions = service.available_actions(session, principal, order)
    duplicates = service.likely_duplicates(session, principal, order) if order.state == State.RECEIVED.value else []
    matter = _matter(session, order.matter_code)
    grid_class = (
        case_catalogue.get_class(session, matter.case_kind, matter.case_class) if matter and matter.case_kind else None
    )
    return render(
        request,
        "hotline/detail.html",
        {
            **_common(request),
            "order": order,
            "shown": shown,
            "history": service.history(session, order),
            "photos": photos.photos_of(session, order),
            "actions": actions,
            "action_names": {a.name for a in actions},
            "duplicates": duplicates,
            "matter": matter,
            "grid_class": grid_class,
            "proposal": service.proposed_department(session, order),
            "overdue": service.is_overdue(order),
            "satisfaction": SATISFACTION,
            "error": error,
            "errors": errors or [],
        },
        status=status,
    )


def _matter(session: SessionDep, code: str | None) -> Any:
    if not code:
        return None
    try:
        return catalogue.get_matter(session, code)
    except NotFound:
        return None


@router.get("/hotline/orders/{number}", name="hotline_order")
def order_page(
    number: str, request: Request, session: SessionDep, principal: Annotated[Principal, require("hotline.read")]
) -> Response:
    return _detail(request, session, principal, number)


@router.post("/hotline/orders/{number}", name="hotline_act")
def order_act(
    number: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.act")],
    action: Annotated[str, Form(max_length=24)],
    version: Annotated[int, Form(ge=1)],
    note: Annotated[str, Form(max_length=4000)] = "",
    department_code: Annotated[str, Form(max_length=32)] = "",
    co_departments: Annotated[str, Form(max_length=200)] = "",
    satisfaction: Annotated[str, Form(pattern="^(satisfied|basically_satisfied|dissatisfied|)$")] = "",
    reopen: Annotated[bool, Form()] = False,
    resolved: Annotated[str, Form(pattern="^(yes|no|)$")] = "",
    target: Annotated[str, Form(max_length=20)] = "",
    case_number: Annotated[str, Form(max_length=20)] = "",
    extension_amount: Annotated[int | None, Form(ge=1, le=1000)] = None,
    extension_unit: Annotated[str, Form(pattern="^(working_days|working_hours|)$")] = "",
) -> Response:
    """The page form for every action; the same rules as the API, then back to the order."""
    step = service.Step(
        version=version,
        note=note or None,
        department_code=department_code or None,
        co_departments=[c for c in co_departments.replace("，", ",").split(",") if c.strip()],
        satisfaction=satisfaction or None,
        reopen=reopen,
        resolved={"yes": True, "no": False}.get(resolved),
        target=target.strip() or None,
        case_number=case_number.strip() or None,
        extension_amount=extension_amount,
        extension_unit=extension_unit or None,
    )
    try:
        with session.begin_nested():
            service.act(session, settings, principal, number, action, step)
    except Problem as problem:
        session.expire_all()
        return _detail(
            request, session, principal, number, status=problem.status, error=problem.detail, errors=problem.errors
        )
    return RedirectResponse(f"/hotline/orders/{number}", status_code=303)
