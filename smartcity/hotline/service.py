"""Rules of the hotline: take orders from every channel, move them through the loop, find duplicates,
merge, escalate, and follow grid cases. Never commits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as case_when
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from smartcity.cases import calendar
from smartcity.cases import photos as case_photos
from smartcity.cases import service as cases
from smartcity.cases.workflow import FINAL as CASE_FINAL
from smartcity.cases.workflow import State as CaseState
from smartcity.config import Settings
from smartcity.core import events, images
from smartcity.core.db import serialise, utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.hotline import catalogue, photos
from smartcity.hotline.models import CHANNELS, ORDER_TYPES, SATISFACTION, URGENCIES, Matter, OrderEvent, WorkOrder
from smartcity.hotline.workflow import ACTIONS, FINAL, Action, State
from smartcity.places import lookup
from smartcity.security import Principal

ESCALATE_AT = 3  # 提级督办: re-handled three times, or passed across three departments
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,28}$")
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")


@dataclass
class Intake:
    """A new order as any channel gives it; checked by :func:`receive`."""

    channel: str
    order_type: str
    description: str
    title: str | None = None
    matter_code: str | None = None
    urgency: str = "normal"
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_email: str | None = None
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    media_url: str | None = None


def _invalid(field: str, message: str, detail: str) -> Problem:
    return Problem(422, detail, errors=[{"field": field, "message": message}])


def check_text(field: str, text: str | None, limit: int, *, required: bool = False) -> str | None:
    """Plain text only: no HTML or script (refused, not silently stripped), within ``limit`` characters."""
    value = (text or "").strip()
    if not value:
        if required:
            raise _invalid(field, "required", f"{field} is required.")
        return None
    if len(value) > limit:
        raise _invalid(field, "too long", f"{field} is longer than {limit} characters.")
    if MARKUP.search(value):
        raise _invalid(field, "markup", f"{field} must be plain text; remove the HTML tags.")
    return value


def _check_intake(session: Session, intake: Intake) -> Matter | None:
    if intake.channel not in CHANNELS:
        raise _invalid("channel", "unknown", f"channel must be one of {', '.join(CHANNELS)}.")
    if intake.order_type not in ORDER_TYPES:
        raise _invalid("order_type", "unknown", f"order_type must be one of {', '.join(ORDER_TYPES)}.")
    if intake.urgency not in URGENCIES:
        raise _invalid("urgency", "unknown", f"urgency must be one of {', '.join(URGENCIES)}.")
    intake.description = check_text("description", intake.description, 4000, required=True) or ""
    intake.title = check_text("title", intake.title, 120)
    intake.caller_name = check_text("caller_name", intake.caller_name, 60)
    intake.address = check_text("address", intake.address, 200)
    intake.caller_email = check_text("caller_email", intake.caller_email, 254)
    if intake.caller_email and "@" not in intake.caller_email:
        raise _invalid("caller_email", "invalid", "caller_email is not an e-mail address.")
    phone = (intake.caller_phone or "").strip() or None
    if phone and not PHONE.match(phone):
        raise _invalid("caller_phone", "invalid", "caller_phone must be a phone number (digits, spaces, dashes).")
    intake.caller_phone = phone
    url = (intake.media_url or "").strip() or None
    if url and (not url.startswith(("https://", "http://")) or len(url) > 500 or any(c.isspace() for c in url)):
        raise _invalid("media_url", "invalid", "media_url must be an http(s) address of at most 500 characters.")
    intake.media_url = url
    if (intake.lon is None) != (intake.lat is None):
        raise _invalid("lat", "incomplete", "Give both longitude and latitude, or neither.")
    if not intake.matter_code:
        return None
    try:
        return catalogue.get_matter(session, intake.matter_code)
    except NotFound as exc:
        raise _invalid(
            "matter_code", "unknown", f"No matter {intake.matter_code!r} in the dispatch catalogue."
        ) from exc


def receive(session: Session, intake: Intake, *, actor: str, role: str) -> WorkOrder:
    """A new order (受理). A location is placed on its unit grid (outside the city: 422). Nothing is
    written unless every field is valid."""
    matter = _check_intake(session, intake)
    place = lookup.locate(session, intake.lon, intake.lat) if intake.lon is not None else None
    now = utcnow()
    order = WorkOrder(
        channel=intake.channel,
        order_type=intake.order_type,
        matter_code=matter.code if matter else None,
        urgency=intake.urgency,
        title=intake.title or _title_from(intake.description),
        description=intake.description,
        caller_name=intake.caller_name,
        caller_phone=intake.caller_phone,
        caller_email=intake.caller_email,
        address=intake.address,
        media_url=intake.media_url,
        lon=intake.lon,
        lat=intake.lat,
        grid_code=place.grid.code if place else None,
        district_code=place.grid.code[:6] if place else None,
        street_code=place.grid.code[:9] if place else None,
        state=State.RECEIVED.value,
        created_by=actor,
        created_at=now,
    )
    order.repeat_caller = _called_recently(session, intake.caller_phone, now)
    _insert_numbered(session, order, now)
    _record(session, order, actor, role, "receive", None, State.RECEIVED, None, {"channel": order.channel})
    events.emit(session, "hotline.received", number=order.number, channel=order.channel)
    return order


REPEAT_WINDOW = timedelta(days=30)


def _called_recently(session: Session, phone: str | None, now: datetime) -> bool:
    """重复来电: the same phone gave another order within the last 30 days."""
    if not phone:
        return False
    earlier = select(WorkOrder.id).where(WorkOrder.caller_phone == phone, WorkOrder.created_at >= now - REPEAT_WINDOW)
    return session.scalar(earlier.limit(1)) is not None


def _title_from(description: str) -> str:
    first = description.strip().splitlines()[0]
    return first if len(first) <= 40 else first[:39] + "…"


def _insert_numbered(session: Session, order: WorkOrder, now: datetime) -> None:
    """H + date + six-digit sequence of the day; intakes number one at a time (see cases.service), and retry if
    a number was taken by other means."""
    serialise(session, "hotline.number")
    prefix = "H" + now.strftime("%Y%m%d")
    for attempt in range(30):
        count = session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.number.startswith(prefix)))
        order.number = f"{prefix}{(count or 0) + 1 + attempt:06d}"
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
            return
        except IntegrityError:
            if order in session:
                session.expunge(order)
    raise Conflict("Could not number the order; too many at once. Try again.", code="numbering-busy")


def _record(
    session: Session,
    order: WorkOrder,
    actor: str,
    role: str,
    action: str,
    source: State | None,
    target: State,
    note: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        OrderEvent(
            order_id=order.id,
            action=action,
            from_state=source.value if source else None,
            to_state=target.value,
            actor=actor,
            role=role or "system",
            note=note,
            data=json.dumps(data, ensure_ascii=False, default=str) if data else None,
        )
    )


# ---------------------------------------------------------------- acting on an order


@dataclass
class Step:
    version: int
    note: str | None = None
    department_code: str | None = None
    co_departments: list[str] | None = None
    extension_amount: int | None = None
    extension_unit: str | None = None
    satisfaction: str | None = None
    reopen: bool = False
    resolved: bool | None = None  # callback: the citizen says the matter is solved (解决)
    target: str | None = None  # merge: the order that will handle this one
    class_code: str | None = None  # to_case: the grid class when the matter names none
    case_number: str | None = None  # to_case: an open grid case about the same problem, joined instead
    kind: str | None = None


def act(session: Session, settings: Settings, principal: Principal, number: str, name: str, step: Step) -> WorkOrder:
    """Apply an action: 409 if the order moved on or the action does not apply now, 403 if the role or
    department may not, 422 for missing inputs — and then nothing changes."""
    action = ACTIONS.get(name)
    if action is None:
        raise Problem(404, f"No action {name!r}; see the order's allowed actions.", code="unknown-action")
    order = get_order(session, principal, number)
    if order.version != step.version:
        raise Conflict(
            f"The order changed since you read it (now version {order.version}, state {order.state}). "
            "Reload it and try again.",
            code="stale-version",
        )
    _authorise(session, principal, order, action)
    current = State(order.state)
    if current not in action.sources:
        raise Conflict(f"{action.name} is not possible while the order is {current.value}.", code="invalid-transition")
    step.note = check_text("note", step.note, 4000, required=action.needs_note)
    target, data = _apply(session, settings, principal, order, action, step)
    target = target or action.target or current
    order.state = target.value
    _record(session, order, principal.username, principal.role.code, action.name, current, target, step.note, data)
    _escalate_if_needed(session, order, principal)
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "Someone else changed the order at the same moment. Reload it and try again.", code="stale-version"
        ) from exc
    events.emit(session, f"hotline.{action.name}", number=order.number, state=order.state)
    return order


def _authorise(session: Session, principal: Principal, order: WorkOrder, action: Action) -> None:
    if principal.role.scope != "all" and principal.role.code not in action.roles:
        raise Problem(403, f"Your role ({principal.role.label_en}) may not {action.name} an order.", code="forbidden")
    if principal.role.scope == "all":
        return
    if action.own_department and not _handles(session, principal, [order.department_code]):
        raise Problem(403, "The order is with another department.", code="not-your-department")
    if action.co_department and not _handles(session, principal, [order.department_code, *_co(order)]):
        raise Problem(403, "Your department does not handle this order.", code="not-your-department")


def _co(order: WorkOrder) -> list[str]:
    return [c for c in (order.co_departments or "").split(",") if c]


def _handles(session: Session, principal: Principal, codes: list[str | None]) -> bool:
    from smartcity.security import service as security

    for code in codes:
        if code and security.department_by_code(session, code).path.startswith(principal.department_path):
            return True
    return False


def _apply(
    session: Session, settings: Settings, principal: Principal, order: WorkOrder, action: Action, step: Step
) -> tuple[State | None, dict[str, Any] | None]:
    now = utcnow()
    name = action.name
    if name == "answer":
        order.answered_directly, order.reply, order.replied_at = True, step.note, now
        order.handled_at = now
    elif name == "dispatch":
        return None, _dispatch(session, settings, order, step, now)
    elif name == "to_case":
        return None, _to_case(session, settings, principal, order, step)
    elif name == "merge":
        return None, _merge(session, principal, order, step)
    elif name == "sign":
        order.signed_at = now
        order.signed_late = order.sign_due_at is not None and now > order.sign_due_at
    elif name == "return":
        order.return_count += 1
    elif name == "request_extension":
        order.extension_requested = True
    elif name == "approve_extension":
        return None, _extend(session, settings, order, step)
    elif name == "complete":
        order.result, order.handled_at = step.note, now
    elif name == "reply":
        _reply(session, order, step.note or "", now)
    elif name == "callback":
        return _callback(session, settings, order, step, now)
    elif name == "supervise":
        order.supervised = True
    return None, None


def _department_for(session: Session, order: WorkOrder, matter: Matter | None) -> str | None:
    """The catalogue's answer: a named department, else the city, district or street of the place."""
    if matter is None:
        return None
    if matter.department_code:
        return matter.department_code
    if matter.level == "city":
        return _city_code(session)
    if matter.level == "street" and order.street_code and _department_exists(session, order.street_code):
        return order.street_code
    return order.district_code


def _city_code(session: Session) -> str | None:
    from smartcity.security import service as security

    return security.root_department_code(session)


def _department_exists(session: Session, code: str) -> bool:
    from smartcity.security import service as security

    try:
        security.department_by_code(session, code)
    except NotFound:
        return False
    return True


def proposed_department(session: Session, order: WorkOrder) -> str | None:
    matter = catalogue.get_matter(session, order.matter_code) if order.matter_code else None
    return _department_for(session, order, matter)


def _dispatch(session: Session, settings: Settings, order: WorkOrder, step: Step, now: datetime) -> dict[str, Any]:
    if step.department_code:
        step.department_code = step.department_code.strip()
    department = step.department_code or proposed_department(session, order)
    if not department:
        raise _invalid("department_code", "required", "Name the department: the matter does not decide it.")
    co = sorted({c.strip() for c in step.co_departments or [] if c.strip()} - {department})
    for code in (department, *co):
        if not _department_exists(session, code):
            raise _invalid("department_code", "unknown", f"No department {code}.")
    if department != order.department_code:
        order.departments_seen += 1
    order.department_code, order.co_departments = department, ",".join(co) or None
    _set_deadlines(session, settings, order, now)
    order.first_dispatched_at = order.first_dispatched_at or now
    order.dispatched_at = now
    order.signed_at, order.signed_late, order.extension_requested = None, False, False
    return {"department": department, "co_departments": co, "sign_due": order.sign_due_at, "due": order.due_at}


def _set_deadlines(session: Session, settings: Settings, order: WorkOrder, now: datetime) -> None:
    matter = catalogue.get_matter(session, order.matter_code) if order.matter_code else None
    cal = calendar.load(session, settings.working_hours, settings.timezone)
    sign_hours = matter.sign_limit_hours if matter else settings.hotline_sign_limit_hours
    order.sign_due_at = cal.deadline(now, sign_hours, "working_hours")
    if matter and order.urgency == "urgent":
        order.due_at = cal.deadline(now, matter.urgent_limit, matter.urgent_limit_unit)
    elif matter:
        order.due_at = cal.deadline(now, matter.handle_limit, matter.handle_limit_unit)
    else:
        order.due_at = cal.deadline(now, settings.hotline_handle_limit_days, "working_days")


def _to_case(
    session: Session, settings: Settings, principal: Principal, order: WorkOrder, step: Step
) -> dict[str, Any]:
    """Urban-management matters become a grid case (source hotline: verified on site before registration) —
    or join the open case about the same problem (a sensor's alarm or an inspector may have reported it first):
    the order then waits for that case and is ready for its reply when the case closes."""
    if step.case_number:
        return _join_case(session, settings, principal, order, step.case_number)
    matter = catalogue.get_matter(session, order.matter_code) if order.matter_code else None
    kind = step.kind or (matter.case_kind if matter else None)
    class_code = step.class_code or (matter.case_class if matter else None)
    if not kind or not class_code:
        raise _invalid("class_code", "required", "The matter names no grid class: choose the kind and class.")
    if order.lon is None or order.lat is None:
        raise _invalid("lon", "required", "A grid case needs the location: add longitude and latitude first.")
    case = cases.report(
        session,
        principal,
        kind=kind,
        class_code=class_code,
        description=f"[{order.number}] {order.description}"[:2000],
        lon=order.lon,
        lat=order.lat,
        source="hotline",
        urgency=order.urgency,
    )
    order.case_number = case.number
    for photo in photos.photos_of(session, order):  # the inspector verifying on site sees what the citizen saw
        case_photos.store(
            session, settings, case, images.read_path(settings, photo.path).read_bytes(), kind="before",
            actor=principal.username,
        )  # fmt: skip
    return {"case": case.number}


def _join_case(
    session: Session, settings: Settings, principal: Principal, order: WorkOrder, number: str
) -> dict[str, Any]:
    case = cases.get_case(session, principal, number)
    if CaseState(case.state) in CASE_FINAL:
        raise Conflict(f"Case {number} is already {case.state}; join an open case or report a new one.",
                       code="case-closed")  # fmt: skip
    order.case_number = case.number
    for photo in photos.photos_of(session, order):  # what the citizen saw joins the case's evidence
        case_photos.store(
            session, settings, case, images.read_path(settings, photo.path).read_bytes(), kind="before",
            actor=principal.username,
        )  # fmt: skip
    return {"case": case.number, "joined": True}


@events.react("cases.check_pass")
@events.react("cases.cancel")
def _case_finished(session: Session, event: events.DomainEvent) -> None:
    """The grid case behind an order was closed (or cancelled as not a case): the order is ready for the
    reply to the citizen, in the same transaction as the case's step."""
    outcome = "closed" if event.name == "cases.check_pass" else "cancelled"
    for order in session.scalars(
        select(WorkOrder).where(WorkOrder.case_number == event.payload["number"], WorkOrder.state == State.IN_CASE)
    ):
        now = utcnow()
        order.state, order.handled_at = State.HANDLED.value, now
        order.result = f"数字城管案卷 {event.payload['number']} {'已结案' if outcome == 'closed' else '不予立案'}"
        _record(session, order, event.actor, "system", f"case_{outcome}", State.IN_CASE, State.HANDLED, order.result)
    session.flush()


def _merge(session: Session, principal: Principal, order: WorkOrder, step: Step) -> dict[str, Any]:
    if not step.target:
        raise _invalid("target", "required", "Name the order this one duplicates.")
    primary = get_order(session, principal, step.target)
    while primary.merged_into:
        primary = get_order(session, principal, primary.merged_into)
    if primary.id == order.id:
        raise _invalid("target", "self", "An order cannot be merged into itself.")
    if State(primary.state) in FINAL:
        raise Conflict(f"Order {primary.number} is already closed; merge into an open one.", code="target-closed")
    order.merged_into = primary.number
    _record(
        session, primary, principal.username, principal.role.code, "absorb", State(primary.state),
        State(primary.state), step.note, {"merged": order.number},
    )  # fmt: skip
    return {"into": primary.number}


def _reply(session: Session, order: WorkOrder, text: str, now: datetime) -> None:
    """The answer to the citizen; every order merged into this one gets the same reply."""
    order.reply, order.replied_at = text, now
    for merged in session.scalars(
        select(WorkOrder).where(WorkOrder.merged_into == order.number, WorkOrder.state == State.MERGED)
    ):
        merged.reply, merged.replied_at, merged.handled_at = text, now, now
        merged.result = order.result
        merged.state = State.REPLIED.value
        _record(session, merged, "system", "system", "reply", State.MERGED, State.REPLIED, text, {"via": order.number})


def _callback(
    session: Session, settings: Settings, order: WorkOrder, step: Step, now: datetime
) -> tuple[State, dict[str, Any]]:
    """回访: satisfaction recorded; a dissatisfied citizen's order may be re-handled (重办)."""
    if step.satisfaction not in SATISFACTION:
        raise _invalid("satisfaction", "required", f"satisfaction must be one of {', '.join(SATISFACTION)}.")
    order.satisfaction, order.called_back_at, order.resolved = step.satisfaction, now, step.resolved
    if step.reopen and step.satisfaction != "dissatisfied":
        raise _invalid("reopen", "not dissatisfied", "Only a dissatisfied callback can reopen the order.")
    if not step.reopen:
        order.closed_at = now
        return State.CLOSED, {"satisfaction": step.satisfaction, "resolved": step.resolved}
    order.rehandle_count += 1
    order.reply = order.replied_at = order.handled_at = None
    if order.department_code and not order.answered_directly:
        _set_deadlines(session, settings, order, now)
        order.dispatched_at, order.signed_at = now, None
        return State.DISPATCHED, {"satisfaction": step.satisfaction, "reopened": True}
    order.answered_directly = False
    return State.RECEIVED, {"satisfaction": step.satisfaction, "reopened": True}


def _extend(session: Session, settings: Settings, order: WorkOrder, step: Step) -> dict[str, Any]:
    if not step.extension_amount or step.extension_unit not in ("working_hours", "working_days"):
        raise _invalid(
            "extension_amount", "required", "Give extension_amount and extension_unit (working_hours or working_days)."
        )
    cal = calendar.load(session, settings.working_hours, settings.timezone)
    order.due_at = cal.deadline(order.due_at or utcnow(), step.extension_amount, step.extension_unit)
    order.extension_requested = False
    return {"due": order.due_at}


def _escalate_if_needed(session: Session, order: WorkOrder, principal: Principal) -> None:
    if order.escalated or (order.rehandle_count < ESCALATE_AT and order.departments_seen < ESCALATE_AT):
        return
    order.escalated = order.supervised = True
    reason = (
        f"重办 {order.rehandle_count} 次"
        if order.rehandle_count >= ESCALATE_AT
        else f"转办 {order.departments_seen} 个部门"
    )
    _record(
        session, order, "system", "system", "escalate", State(order.state), State(order.state), f"提级督办：{reason}"
    )
    events.emit(session, "hotline.escalated", number=order.number)


# ---------------------------------------------------------------- reading


def visible(principal: Principal) -> Any:
    """Orders in scope: the desk and city staff see all; departments the orders placed in their district or
    given to them (lead or joint); citizens their own."""
    if principal.role.scope == "all":
        return True
    if principal.role.scope == "self":
        return WorkOrder.created_by == principal.username
    codes = [c for c in principal.department_path.strip("/").split("/") if c]
    if len(codes) == 1:
        return True  # a city-level department
    own = codes[-1]
    return or_(
        WorkOrder.district_code.in_(codes),
        WorkOrder.department_code.startswith(own),
        WorkOrder.co_departments.contains(own),
    )


def get_order(session: Session, principal: Principal, number: str) -> WorkOrder:
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number, visible(principal)))
    if order is None:
        raise NotFound("order", number)
    return order


def list_orders(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    overdue: bool = False,
    query: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[WorkOrder], int]:
    stmt = select(WorkOrder).where(visible(principal))
    if state:
        stmt = stmt.where(WorkOrder.state == state)
    if overdue:
        stmt = stmt.where(WorkOrder.due_at < utcnow(), WorkOrder.state.in_(HANDLING_STATES))
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(WorkOrder.number == query.strip(), WorkOrder.title.like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(WorkOrder.number.desc()).limit(limit).offset(offset))
    return list(rows), total


HANDLING_STATES = (State.DISPATCHED.value, State.HANDLING.value, State.RETURNED.value)


def is_overdue(order: WorkOrder, now: datetime | None = None) -> bool:
    return order.due_at is not None and order.state in HANDLING_STATES and order.due_at < (now or utcnow())


def history(session: Session, order: WorkOrder) -> list[OrderEvent]:
    return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)))


def available_actions(session: Session, principal: Principal, order: WorkOrder) -> list[Action]:
    current = State(order.state)
    allowed = []
    for action in ACTIONS.values():
        if current not in action.sources:
            continue
        try:
            _authorise(session, principal, order, action)
        except Problem:
            continue
        allowed.append(action)
    return allowed


def track(session: Session, number: str, phone_last4: str) -> WorkOrder:
    """The citizen's lookup without an account: the number and the last four digits of the phone given.
    A wrong pair is the same 404 as an unknown number, so numbers cannot be probed."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number.strip().upper()))
    digits = re.sub(r"\D", "", order.caller_phone or "") if order else ""
    if order is None or len(phone_last4) != 4 or not digits.endswith(phone_last4):
        raise NotFound("order", number)
    return order


# ---------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Duplicate:
    order: WorkOrder
    reasons: tuple[str, ...]
    score: float


def _grams(text: str) -> set[str]:
    clean = re.sub(r"\s+", "", text)
    return {clean[i : i + 2] for i in range(len(clean) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams: works for Chinese text, which has no spaces."""
    ga, gb = _grams(a), _grams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0


def likely_duplicates(
    session: Session,
    principal: Principal,
    order: WorkOrder,
    *,
    days: int = 7,
    radius_m: float = 200.0,
    text_threshold: float = 0.45,
    limit: int = 10,
) -> list[Duplicate]:
    """Open orders that may be the same matter: same caller, or the same matter nearby, or similar text —
    reported within ``days`` before this one. Suggestions only: the operator decides and merges."""
    since = order.created_at - timedelta(days=days)
    candidates = session.scalars(
        select(WorkOrder)
        .where(
            visible(principal),
            WorkOrder.id != order.id,
            WorkOrder.created_at >= since,
            WorkOrder.created_at <= order.created_at + timedelta(days=1),
            WorkOrder.state.not_in([State.CLOSED.value, State.MERGED.value]),
        )
        .order_by(WorkOrder.created_at.desc())
        .limit(2000)
    )
    found = []
    for other in candidates:
        reasons, score = [], 0.0
        if order.caller_phone and other.caller_phone == order.caller_phone:
            reasons.append("same caller")
            score += 1.0
        near = _distance_m(order, other)
        if near is not None and near <= radius_m and order.matter_code and other.matter_code == order.matter_code:
            reasons.append("same matter nearby")
            score += 1.0 - near / (2 * radius_m)
        text = similarity(order.description, other.description)
        if text >= text_threshold:
            reasons.append("similar text")
            score += text
        if reasons:
            found.append(Duplicate(other, tuple(reasons), round(score, 3)))
    found.sort(key=lambda d: -d.score)
    return found[:limit]


def _distance_m(a: WorkOrder, b: WorkOrder) -> float | None:
    if None in (a.lon, a.lat, b.lon, b.lat):
        return None
    from math import cos, radians, sqrt

    dx = radians(b.lon - a.lon) * cos(radians((a.lat + b.lat) / 2)) * 6_371_000  # type: ignore[operator]
    dy = radians(b.lat - a.lat) * 6_371_000  # type: ignore[operator]
    return sqrt(dx * dx + dy * dy)


def add_citizen_note(session: Session, number: str, text: str | None, *, actor: str) -> OrderEvent:
    """A citizen's follow-up on their order (Open311 service request update): kept in the history for the
    desk to read; it changes no state."""
    note = check_text("description", text, 4000, required=True)
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    if order is None:
        raise NotFound("order", number)
    state = State(order.state)
    _record(session, order, actor, "citizen", "citizen_update", state, state, note)
    session.flush()
    events.emit(session, "hotline.citizen_update", number=number)
    return session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc())
    ).first()  # type: ignore[return-value]


# ---------------------------------------------------------------- the operations centre's figures


def _within(area: str | None) -> Any:
    """SQL condition: orders placed inside a division or grid by its code (None or the city's xx0000: no limit).
    An order without a location belongs to the city only."""
    if not area or (len(area) == 6 and area.endswith("0000")):
        return True
    if len(area) == 6:
        return WorkOrder.district_code == area
    return WorkOrder.grid_code.startswith(area)


def overview_counts(
    session: Session, principal: Principal, *, since: datetime, callbacks_since: datetime, area: str | None = None
) -> dict[str, Any]:
    """Figures for an overview (the operations centre's tile), over the orders the principal may see inside
    ``area``: ``received`` since ``since`` (merged orders not counted twice, as the indicators do),
    ``overdue`` in handling past their due time (as :func:`is_overdue`), and of the call-backs made since
    ``callbacks_since`` the ``called_back`` count and ``satisfaction_rate`` — (satisfied + basically
    satisfied) / called back, 0–1, None without call-backs (docs/hotline.md, 满意率); ``total`` orders ever
    placed there (0: no data yet). One query."""
    o = WorkOrder
    now = utcnow()
    counted = o.merged_into.is_(None)
    recent = counted & (o.called_back_at >= callbacks_since)
    row = session.execute(
        select(
            func.sum(case_when((counted & (o.created_at >= since), 1), else_=0)),
            func.sum(case_when(((o.due_at < now) & o.state.in_(HANDLING_STATES), 1), else_=0)),
            func.sum(case_when((recent, 1), else_=0)),
            func.sum(case_when((recent & o.satisfaction.in_(("satisfied", "basically_satisfied")), 1), else_=0)),
            func.count(),
        ).where(visible(principal), _within(area))
    ).one()
    called_back, satisfied = int(row[2] or 0), int(row[3] or 0)
    return {
        "received": int(row[0] or 0),
        "overdue": int(row[1] or 0),
        "called_back": called_back,
        "satisfaction_rate": round(satisfied / called_back, 4) if called_back else None,
        "total": int(row[4]),
    }
