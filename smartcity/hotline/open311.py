"""Open311 GeoReport v2 at /open311/v2, with mySociety's servicerequestupdates extension.

Services are the matters of the dispatch catalogue; service requests are hotline orders. Every resource
comes as ``.xml`` (required by the spec) or ``.json``; times carry their offset; errors use the spec's
error list (``<errors><error><code/><description/></error></errors>`` or ``[{"code", "description"}]``) —
the one place the platform answers errors in a standard's shape instead of problem+json, because Open311
clients parse it. Published requests are those at a place (a location was given), never inquiries, and
never the caller's name, phone or e-mail.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcity.core import ratelimit
from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep
from smartcity.core.errors import NotFound, Problem
from smartcity.hotline import catalogue, service
from smartcity.hotline.models import ORDER_TYPES, Matter, OrderEvent, WorkOrder
from smartcity.hotline.workflow import State
from smartcity.security import Principal, public

router = APIRouter(prefix="/open311", tags=["Open311 GeoReport v2"])
SPEC = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json"}
MAX_DAYS, MAX_REQUESTS = 90, 1000
CLOSED_STATES = {State.REPLIED.value, State.CLOSED.value}
# mySociety's extended statuses for the history of an order, by the action that made it
UPDATE_STATUS = {
    "receive": "OPEN",
    "dispatch": "IN_PROGRESS",
    "to_case": "IN_PROGRESS",
    "sign": "IN_PROGRESS",
    "return": "INTERNAL_REFERRAL",
    "complete": "FIXED",
    "case_closed": "FIXED",
    "case_cancelled": "NO_FURTHER_ACTION",
    "merge": "DUPLICATE",
    "reply": "FIXED",
    "callback": "CLOSED",
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


# ---------------------------------------------------------------- rendering


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        _fill(element, row)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, row: dict[str, Any]) -> None:
    for key, value in row.items():
        child = ET.SubElement(element, key)
        if isinstance(value, list):  # attributes and values: nested lists of dicts
            singular = key[:-1]
            for entry in value:
                _fill(ET.SubElement(child, singular), entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _render(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "json":
        return JSONResponse(rows, status_code=status)
    return Response(_xml(root, item, rows), status_code=status, media_type=FORMATS["xml"])


def _error(fmt: str, status: int, description: str) -> Response:
    rows = [{"code": status, "description": description}]
    if fmt == "json":
        return JSONResponse(rows, status_code=status)
    return Response(_xml("errors", "error", rows), status_code=status, media_type=FORMATS["xml"])


def _answer(fmt: str, build: Callable[[], Response]) -> Response:
    """Run a handler and turn every refusal into the spec's error list (400, 403, 404, 429)."""
    if fmt not in FORMATS:
        return _error("xml", 404, f"Unknown format {fmt!r}; use .xml or .json.")
    try:
        return build()
    except Open311Error as error:
        return _error(fmt, error.status, error.description)
    except NotFound as problem:
        return _error(fmt, 404, problem.detail)
    except Problem as problem:
        detail = problem.detail
        if problem.errors:
            detail += " " + "; ".join(f"{e['field']}: {e['message']}" for e in problem.errors)
        return _error(fmt, 400 if problem.status == 422 else problem.status, detail)


def _time(moment: datetime | None, tz: str) -> str | None:
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds") if moment else None


def _check_jurisdiction(request: Request, params: Any) -> None:
    given = (params.get("jurisdiction_id") or "").strip()
    if given and given != request.app.state.settings.open311_jurisdiction:
        raise Open311Error(404, f"Unknown jurisdiction_id {given!r}.")


# ---------------------------------------------------------------- discovery and services


def _discovery(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "changeset": "2026-11-24T00:00:00+08:00",
        "contact": "12345 citizen service hotline",
        "key_service": f"{base}/hotline/submit",
        "endpoints": [
            {
                "specification": SPEC,
                "url": f"{base}/open311/v2",
                "changeset": "2026-11-24T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


@router.get("/discovery.{fmt}", summary="Service discovery")
@router.get("/v2/discovery.{fmt}", summary="Service discovery")
def discovery(fmt: str, request: Request, _: Principal = public()) -> Response:
    def build() -> Response:
        document = _discovery(request)
        if fmt == "json":
            return JSONResponse(document)
        top = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(top, key).text = document[key]
        endpoints = ET.SubElement(top, "endpoints")
        for endpoint in document["endpoints"]:
            element = ET.SubElement(endpoints, "endpoint")
            for key in ("specification", "url", "changeset", "type"):
                ET.SubElement(element, key).text = endpoint[key]
            formats = ET.SubElement(element, "formats")
            for name in endpoint["formats"]:
                ET.SubElement(formats, "format").text = name
        return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True), media_type=FORMATS["xml"])

    return _answer(fmt, build)


def _group(matter: Matter) -> str:
    return "城市管理" if matter.case_kind else "公共服务"


def _service(matter: Matter) -> dict[str, Any]:
    return {
        "service_code": matter.code,
        "service_name": matter.name,
        "description": matter.name_en or matter.name,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join((matter.keywords or "").split()),
        "group": _group(matter),
    }


@router.get("/v2/services.{fmt}", summary="GET Service List")
def services(fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    def build() -> Response:
        _check_jurisdiction(request, request.query_params)
        rows = [_service(m) for m in catalogue.list_matters(session)]
        return _render(fmt, "services", "service", rows)

    return _answer(fmt, build)


TYPE_NAMES = {
    "inquiry": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
}


def _definition(matter: Matter) -> dict[str, Any]:
    values = [{"key": t, "name": TYPE_NAMES[t]} for t in ORDER_TYPES]
    return {
        "service_code": matter.code,
        "attributes": [
            {
                "variable": True,
                "code": "order_type",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "诉求类型；默认为举报 (report)",
                "order": 1,
                "description": "Type of matter",
                "values": values,
            }
        ],
    }


@router.get("/v2/services/{code}.{fmt}", summary="GET Service Definition")
def service_definition(code: str, fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    def build() -> Response:
        _check_jurisdiction(request, request.query_params)
        definition = _definition(_matter(session, code))
        if fmt == "json":
            return JSONResponse(definition)
        top = ET.Element("service_definition")
        _fill(top, definition)
        return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True), media_type=FORMATS["xml"])

    return _answer(fmt, build)


def _matter(session: Session, code: str) -> Matter:
    try:
        return catalogue.get_matter(session, code)
    except NotFound as exc:
        raise Open311Error(404, f"Unknown service_code {code!r}; see services.{{xml,json}}.") from exc


# ---------------------------------------------------------------- service requests


def _client(session: Session, request: Request, form: Any) -> str:
    """The api_key identifies the client application (an API key of the platform, ``sck_…``)."""
    from smartcity.security import service as security

    key = (form.get("api_key") or "").strip()
    if not key:
        raise Open311Error(400, "api_key is required to create a request.")
    user = security.resolve_api_key(session, key)
    if user is None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    return user.username


def _limit(request: Request, session: Session) -> None:
    session.commit()  # the count has its own transaction; free SQLite's writer from the request's reads
    address = request.client.host if request.client else "unknown"
    limit = request.app.state.settings.hotline_public_per_hour
    retry = ratelimit.hit(request.app.state.database, f"hotline-public:{address}", limit, timedelta(hours=1))
    if retry is not None:
        raise Open311Error(429, f"Too many requests from your address; try again in {retry} seconds.")


def _float(form: Any, name: str) -> float | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a decimal number (WGS-84).") from exc


@router.post("/v2/requests.{fmt}", summary="POST Service Request")
async def create_request(fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    form = await request.form() if fmt in FORMATS else {}

    def build() -> Response:
        _check_jurisdiction(request, form)
        _limit(request, session)
        client = _client(session, request, form)
        code = (form.get("service_code") or "").strip()
        if not code:
            raise Open311Error(400, "service_code is required.")
        matter = _matter(session, code)
        lat, lon = _float(form, "lat"), _float(form, "long")
        address = (form.get("address_string") or "").strip() or None
        if (lat is None or lon is None) and not address and not form.get("address_id"):
            raise Open311Error(400, "Give a location: lat and long, or address_string.")
        order_type = (form.get("attribute[order_type]") or "report").strip()
        name = " ".join(p for p in ((form.get("last_name") or "").strip(), (form.get("first_name") or "").strip()) if p)
        intake = service.Intake(
            channel="open311",
            order_type=order_type,
            description=form.get("description") or matter.name,
            matter_code=matter.code,
            caller_name=name or None,
            caller_phone=form.get("phone") or None,
            caller_email=form.get("email") or None,
            address=address,
            lon=lon,
            lat=lat,
            media_url=form.get("media_url") or None,
        )
        with session.begin_nested():
            order = service.receive(session, intake, actor=client, role="open311")
        notice = "已受理，将按派单目录转办。" if not matter.case_kind else "已受理，将转数字城管核实处置。"
        rows = [{"service_request_id": order.number, "service_notice": notice, "account_id": None}]
        return _render(fmt, "service_requests", "request", rows, status=201)

    return _answer(fmt, build)


def _published() -> Any:
    return (WorkOrder.lat.is_not(None), WorkOrder.order_type != "inquiry")


def _last_updates(session: Session, ids: list[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    rows = session.execute(
        select(OrderEvent.order_id, func.max(OrderEvent.at))
        .where(OrderEvent.order_id.in_(ids))
        .group_by(OrderEvent.order_id)
    )
    return dict(rows.all())  # type: ignore[arg-type]


def _request_row(
    order: WorkOrder, names: dict[str, str], agencies: dict[str, str], updated: datetime | None, tz: str
) -> dict[str, Any]:
    status = "closed" if order.state in CLOSED_STATES else "open"
    notes = order.reply or (f"已并入 {order.merged_into} 合并办理" if order.merged_into else None)
    return {
        "service_request_id": order.number,
        "status": status,
        "status_notes": notes,
        "service_name": names.get(order.matter_code or "", ""),
        "service_code": order.matter_code,
        "description": order.description,
        "agency_responsible": agencies.get(order.department_code or "", order.department_code),
        "service_notice": None,
        "requested_datetime": _time(order.created_at, tz),
        "updated_datetime": _time(order.closed_at or updated or order.created_at, tz),
        "expected_datetime": _time(order.due_at, tz),
        "address": order.address,
        "address_id": order.grid_code,
        "zipcode": None,
        "lat": order.lat,
        "long": order.lon,
        "media_url": order.media_url,
    }


def _rows(session: Session, orders: list[WorkOrder], tz: str) -> list[dict[str, Any]]:
    from smartcity.security import service as security

    names = {m.code: m.name for m in catalogue.list_matters(session)}
    agencies = {}
    for code in {o.department_code for o in orders if o.department_code}:
        try:
            agencies[code] = security.department_by_code(session, code).name
        except NotFound:
            agencies[code] = code
    updated = _last_updates(session, [o.id for o in orders])
    return [_request_row(o, names, agencies, updated.get(o.id), tz) for o in orders]


def _date(params: Any, name: str) -> datetime | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time such as 2026-11-01T00:00:00+08:00.") from exc
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must carry its time zone (Z or ±hh:mm).")
    return moment


def _window(params: Any) -> tuple[datetime, datetime]:
    start, end = _date(params, "start_date"), _date(params, "end_date")
    if start and end and end - start > timedelta(days=MAX_DAYS):
        raise Open311Error(400, f"start_date to end_date may not span more than {MAX_DAYS} days.")
    if start and end and end < start:
        raise Open311Error(400, "end_date is before start_date.")
    end = end or (start + timedelta(days=MAX_DAYS) if start else utcnow())
    start = start or end - timedelta(days=MAX_DAYS)
    return start, end


@router.get("/v2/requests.{fmt}", summary="GET Service Requests")
def list_requests(fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    def build() -> Response:
        params = request.query_params
        _check_jurisdiction(request, params)
        stmt = select(WorkOrder).where(*_published())
        ids = [i.strip() for i in (params.get("service_request_id") or "").split(",") if i.strip()]
        if ids:  # overrides every other parameter
            stmt = stmt.where(WorkOrder.number.in_(ids[:MAX_REQUESTS]))
        else:
            start, end = _window(params)
            stmt = stmt.where(WorkOrder.created_at >= start, WorkOrder.created_at <= end)
            codes = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
            if codes:
                stmt = stmt.where(WorkOrder.matter_code.in_(codes))
            statuses = {s.strip() for s in (params.get("status") or "").split(",") if s.strip()}
            if statuses - {"open", "closed"}:
                raise Open311Error(400, "status must be open, closed or both (comma-separated).")
            if statuses == {"open"}:
                stmt = stmt.where(WorkOrder.state.not_in(CLOSED_STATES))
            elif statuses == {"closed"}:
                stmt = stmt.where(WorkOrder.state.in_(CLOSED_STATES))
        orders = list(session.scalars(stmt.order_by(WorkOrder.created_at.desc()).limit(MAX_REQUESTS)))
        return _render(fmt, "service_requests", "request", _rows(session, orders, request.app.state.settings.timezone))

    return _answer(fmt, build)


@router.get("/v2/requests/{number}.{fmt}", summary="GET Service Request")
def get_request(number: str, fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    def build() -> Response:
        _check_jurisdiction(request, request.query_params)
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number, *_published()))
        if order is None:
            raise Open311Error(404, f"No service request {number!r}.")
        return _render(fmt, "service_requests", "request", _rows(session, [order], request.app.state.settings.timezone))

    return _answer(fmt, build)


@router.get("/v2/tokens/{token}.{fmt}", summary="GET request id from a token")
def token(token: str, fmt: str, request: Request, _: Principal = public()) -> Response:
    """Every service here is realtime: a POST answers with the service_request_id at once and issues no
    tokens, so no token is ever known."""

    def build() -> Response:
        _check_jurisdiction(request, request.query_params)
        raise Open311Error(404, f"Unknown token {token!r}: requests here get their service_request_id at once.")

    return _answer(fmt, build)


# ---------------------------------------------------------------- servicerequestupdates (mySociety)


@router.get("/v2/servicerequestupdates.{fmt}", summary="GET service request updates (mySociety extension)")
def list_updates(fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    def build() -> Response:
        params = request.query_params
        _check_jurisdiction(request, params)
        _client(session, request, params)
        start, end = _window(params)
        tz = request.app.state.settings.timezone
        rows = session.execute(
            select(OrderEvent, WorkOrder.number)
            .join(WorkOrder, WorkOrder.id == OrderEvent.order_id)
            .where(*_published(), OrderEvent.at >= start, OrderEvent.at <= end, OrderEvent.action.in_(UPDATE_STATUS))
            .order_by(OrderEvent.id)
            .limit(MAX_REQUESTS)
        )
        updates = [
            {
                "update_id": event.id,
                "service_request_id": number,
                "status": UPDATE_STATUS[event.action],
                "updated_datetime": _time(event.at, tz),
                "description": event.note if event.action == "reply" else None,  # internal notes stay inside
                "media_url": None,
            }
            for event, number in rows
        ]
        return _render(fmt, "service_request_updates", "request_update", updates)

    return _answer(fmt, build)


@router.post("/v2/servicerequestupdates.{fmt}", summary="POST a citizen's update (mySociety extension)")
async def post_update(fmt: str, request: Request, session: SessionDep, _: Principal = public()) -> Response:
    form = await request.form() if fmt in FORMATS else {}

    def build() -> Response:
        _check_jurisdiction(request, form)
        _limit(request, session)
        client = _client(session, request, form)
        number = (form.get("service_request_id") or "").strip()
        if not number:
            raise Open311Error(400, "service_request_id is required.")
        with session.begin_nested():
            event = service.add_citizen_note(session, number, form.get("description"), actor=client)
        return _render(fmt, "service_request_updates", "request_update", [{"update_id": event.id}], status=201)

    return _answer(fmt, build)
