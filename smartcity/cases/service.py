"""Rules of cases: report, act on the closed loop, read with scope. Never commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as case_when
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from smartcity.cases import calendar, catalogue
from smartcity.cases.models import Case, CaseEvent
from smartcity.cases.workflow import ACTIONS, FINAL, NEEDS_VERIFICATION, SOURCES, Action, State
from smartcity.config import Settings
from smartcity.core import events
from smartcity.core.db import serialise, utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.places import layers, lookup
from smartcity.security import Principal

OVERDUE_STATES = frozenset(State) - FINAL - {State.SUSPENDED}
REPORTING_ROLES = {"inspector": "inspector", "operator": "hotline", "supervisor": "superior", "device": "sensor"}


def _number(session: Session, now: datetime, attempt: int) -> str:
    prefix = now.strftime("%Y%m%d")
    count = session.scalar(select(func.count()).select_from(Case).where(Case.number.startswith(prefix))) or 0
    return f"{prefix}{count + 1 + attempt:06d}"


def _insert_numbered(session: Session, case: Case, now: datetime) -> None:
    """Give the case the day's next number. Reports number one at a time (on PostgreSQL, many reports at once
    otherwise all counted the same committed cases and retried each other out); the retry stays for a number
    taken by other means (an import)."""
    serialise(session, "cases.number")
    for attempt in range(20):
        case.number = _number(session, now, attempt)
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
            return
        except IntegrityError:
            if case in session:
                session.expunge(case)
    raise Conflict("Could not number the case; too many reports at once. Try again.", code="numbering-busy")


def report(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    class_code: str,
    description: str,
    lon: float,
    lat: float,
    source: str | None = None,
    urgency: str = "normal",
    component_code: str | None = None,
) -> Case:
    """A new case at a point. The class must be in the catalogue; a point outside the city is a 422."""
    if principal.role.code not in REPORTING_ROLES and principal.role.scope != "all":
        raise Problem(403, f"Your role ({principal.role.label_en}) may not report cases.", code="forbidden")
    source = source or REPORTING_ROLES.get(principal.role.code, "superior")
    if source not in SOURCES:
        raise Problem(
            422, f"source must be one of {', '.join(SOURCES)}.", errors=[{"field": "source", "message": "unknown"}]
        )
    case_class = catalogue.get_class(session, kind, class_code)
    if len(case_class.code) < 4:
        raise Problem(
            422, "Report with a minor class, not a major one.", errors=[{"field": "class_code", "message": "major"}]
        )
    place = lookup.locate(session, lon, lat)
    now = utcnow()
    case = Case(
        kind=kind,
        class_code=class_code,
        source=source,
        urgency=urgency,
        description=description,
        lon=lon,
        lat=lat,
        grid_code=place.grid.code,
        district_code=place.grid.code[:6],
        component_code=component_code,
        state=State.REPORTED.value,
        verified=source not in NEEDS_VERIFICATION,
        reporter=principal.username,
        created_at=now,
    )
    _insert_numbered(session, case, now)
    _record(session, case, principal, "report", None, State.REPORTED, None, {"source": source})
    events.emit(session, "cases.reported", number=case.number, grid=case.grid_code)
    return case


def _record(
    session: Session,
    case: Case,
    principal: Principal,
    action: str,
    source: State | None,
    target: State,
    note: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            action=action,
            from_state=source.value if source else None,
            to_state=target.value,
            actor=principal.username,
            role=principal.role.code,
            note=note,
            data=json.dumps(data, ensure_ascii=False, default=str) if data else None,
        )
    )


@dataclass
class Step:
    """What an action needs beyond its name: the version the caller saw, and per action its inputs."""

    version: int
    note: str | None = None
    department_code: str | None = None
    override_reason: str | None = None
    extension_amount: int | None = None
    extension_unit: str | None = None


def act(session: Session, settings: Settings, principal: Principal, number: str, name: str, step: Step) -> Case:
    """Apply an action. 409 when the case moved on since the caller read it or the action does not apply
    in its state; 403 when the role or department may not; 422 for missing inputs. Nothing changes then."""
    action = ACTIONS.get(name)
    if action is None:
        raise Problem(404, f"No action {name!r}; see the case's allowed actions.", code="unknown-action")
    case = get_case(session, principal, number)
    if case.version != step.version:
        raise Conflict(
            f"The case changed since you read it (now version {case.version}, state {case.state}). "
            "Reload it and try again.",
            code="stale-version",
        )
    _authorise(session, principal, case, action)
    current = State(case.state)
    if current not in action.sources:
        raise Conflict(f"{action.name} is not possible while the case is {current.value}.", code="invalid-transition")
    if action.needs_note and not (step.note or "").strip():
        raise Problem(422, f"{action.name} needs a note saying why.", errors=[{"field": "note", "message": "required"}])
    data = _apply(session, settings, principal, case, action, step)
    target = action.target or current
    case.state = target.value
    _record(session, case, principal, action.name, current, target, step.note, data)
    try:
        session.flush()  # UPDATE … WHERE version = seen: a concurrent writer makes it match no row
    except StaleDataError as exc:
        raise Conflict(
            "Someone else changed the case at the same moment. Reload it and try again.", code="stale-version"
        ) from exc
    events.emit(session, f"cases.{action.name}", number=case.number, state=case.state)
    return case


def _authorise(session: Session, principal: Principal, case: Case, action: Action) -> None:
    if principal.role.scope != "all" and principal.role.code not in action.roles:
        raise Problem(403, f"Your role ({principal.role.label_en}) may not {action.name} a case.", code="forbidden")
    own = action.own_department and principal.role.scope != "all"
    if own and not _department_path(session, case).startswith(principal.department_path):
        raise Problem(403, "The case is dispatched to another department.", code="not-your-department")


def _department_path(session: Session, case: Case) -> str:
    from smartcity.security import service as security

    return security.department_by_code(session, case.department_code).path if case.department_code else ""


def _apply(
    session: Session, settings: Settings, principal: Principal, case: Case, action: Action, step: Step
) -> dict[str, Any] | None:
    now = utcnow()
    cal = calendar.load(session, settings.working_hours, settings.timezone)
    if action.name == "verify":
        case.verified = True
    elif action.name == "register":
        if not case.verified:
            raise Conflict(
                "A public or hotline report must be verified on site before registration.", code="not-verified"
            )
        case.registered_at = now
        case.dispatch_due_at = cal.add_working_time(now, timedelta(minutes=settings.case_dispatch_limit_minutes))
    elif action.name == "feedback":
        case.first_feedback_at = case.first_feedback_at or now
        case.check_due_at = cal.add_working_time(now, timedelta(minutes=settings.case_check_limit_minutes))
    elif action.name == "dispatch":
        return _dispatch(session, settings, case, step)
    elif action.name in ("check_pass", "check_fail"):
        return _check(session, settings, case, passed=action.name == "check_pass")
    elif action.name == "request_extension":
        case.extension_requested = True
    elif action.name == "approve_extension":
        return _extend(session, settings, case, step)
    elif action.name == "supervise":
        case.supervised = True
    elif action.name == "suspend":
        case.suspended_at = now
    elif action.name == "resume":
        return _resume(settings, cal, case, now)
    return None


def _check(session: Session, settings: Settings, case: Case, *, passed: bool) -> dict[str, Any]:
    """The on-site check: late if after its limit; a failure is a rework (the clock rule is a setting)."""
    now = utcnow()
    case.checked_at = now
    late = case.check_due_at is not None and now > case.check_due_at
    case.late_checks += int(late)
    if passed:
        case.closed_at = now
        return {"late_check": late}
    case.rework_count += 1
    if settings.case_clock_after_rework == "restart":
        case.deadline = _time_limit_from(session, settings, case, now)
    return {"late_check": late, "rework": case.rework_count, "deadline": _iso(case.deadline)}


def _resume(settings: Settings, cal: calendar.WorkingCalendar, case: Case, now: datetime) -> dict[str, Any]:
    """Back to handling; with the pause setting, the working time spent suspended is added to the deadline."""
    paused = cal.working_time_between(case.suspended_at, now) if case.suspended_at else timedelta()
    if settings.case_suspension_pauses_clock and case.deadline is not None:
        case.deadline = cal.add_working_time(case.deadline, paused)
    case.suspended_at = None
    return {"paused_minutes": round(paused.total_seconds() / 60), "deadline": _iso(case.deadline)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _time_limit_from(session: Session, settings: Settings, case: Case, start: datetime) -> datetime:
    case_class = catalogue.get_class(session, case.kind, case.class_code)
    cal = calendar.load(session, settings.working_hours, settings.timezone)
    return cal.deadline(start, case_class.time_limit or 1, case_class.time_limit_unit or "working_days")


def proposed_department(session: Session, case: Case) -> str | None:
    """The department the responsibility grids name for the case's grid and class, else the class default."""
    try:
        return layers.responsible_for(session, case.grid_code, category=case.class_code).department_code
    except NotFound:
        return catalogue.get_class(session, case.kind, case.class_code).default_department


def _dispatch(session: Session, settings: Settings, case: Case, step: Step) -> dict[str, Any]:
    from smartcity.security import service as security

    proposal = proposed_department(session, case)
    department = step.department_code or proposal
    if department is None:
        raise Problem(
            422,
            "No department is responsible for this grid and class; name one.",
            errors=[{"field": "department_code", "message": "required"}],
        )
    if proposal and department != proposal and not (step.override_reason or "").strip():
        raise Problem(
            422,
            f"The proposed department is {proposal}; give a reason to dispatch elsewhere.",
            errors=[{"field": "override_reason", "message": "required when overriding"}],
        )
    security.department_by_code(session, department)
    now = utcnow()
    redispatch = case.deadline is not None
    if not redispatch or settings.case_clock_after_return == "restart":
        case.deadline = _time_limit_from(session, settings, case, now)
    case.department_code = department
    case.dispatched_at = case.dispatched_at or now  # the first dispatch: on-time dispatch is judged on it
    return {
        "department": department,
        "proposed": proposal,
        "override_reason": step.override_reason,
        "deadline": case.deadline.isoformat(),
    }


def _extend(session: Session, settings: Settings, case: Case, step: Step) -> dict[str, Any]:
    if not step.extension_amount or step.extension_unit not in ("working_hours", "working_days"):
        raise Problem(
            422,
            "Give extension_amount and extension_unit (working_hours or working_days).",
            errors=[{"field": "extension_amount", "message": "required"}],
        )
    cal = calendar.load(session, settings.working_hours, settings.timezone)
    case.deadline = cal.deadline(case.deadline or utcnow(), step.extension_amount, step.extension_unit)
    case.extension_requested = False
    return {"deadline": case.deadline.isoformat()}


def visible(principal: Principal) -> Any:
    """SQL condition: cases in the principal's scope (district of the case, or department handling it)."""
    if principal.role.scope == "all":
        return True
    codes = [c for c in principal.department_path.strip("/").split("/") if c]
    if principal.role.scope == "self":
        return Case.reporter == principal.username
    if codes and codes[0].endswith("0000") and len(codes) == 1:
        return True  # a city-level department sees the whole city
    return or_(Case.district_code.in_(codes), Case.department_code.in_(codes))


def get_case(session: Session, principal: Principal, number: str) -> Case:
    case = session.scalar(select(Case).where(Case.number == number, visible(principal)))
    if case is None:
        raise NotFound("case", number)
    return case


def list_cases(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    overdue: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Case], int]:
    stmt = select(Case).where(visible(principal))
    if state:
        stmt = stmt.where(Case.state == state)
    if overdue:
        stmt = stmt.where(Case.deadline < utcnow(), Case.state.in_([s.value for s in OVERDUE_STATES]))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Case.number.desc()).limit(limit).offset(offset))), total


def history(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    """Past its deadline and still open; a suspended case is not overdue (its clock is held)."""
    return case.deadline is not None and State(case.state) in OVERDUE_STATES and case.deadline < (now or utcnow())


def available_actions(session: Session, principal: Principal, case: Case) -> list[Action]:
    """The actions this principal may take on the case in its current state (for pages)."""
    current = State(case.state)
    allowed = []
    for action in ACTIONS.values():
        if current not in action.sources:
            continue
        try:
            _authorise(session, principal, case, action)
        except Problem:
            continue
        allowed.append(action)
    return allowed


def open_cases_in(
    session: Session, principal: Principal, box: tuple[float, float, float, float], limit: int = 5000
) -> list[Case]:
    """Open cases inside a WGS-84 box that the principal may see (for the map)."""
    west, south, east, north = box
    stmt = select(Case).where(
        visible(principal),
        Case.state.not_in([s.value for s in FINAL]),
        Case.lon >= west,
        Case.lon <= east,
        Case.lat >= south,
        Case.lat <= north,
    )
    return list(session.scalars(stmt.order_by(Case.number.desc()).limit(limit)))


@dataclass
class Queues:
    """The supervisor's desk: what waits for a decision or needs pushing."""

    extensions: list[Case]
    overdue: list[Case]
    suspended: list[Case]
    supervised: list[Case]
    notes: dict[int, str]  # case id -> the latest reason given (extension request or suspension)


def supervision_queues(session: Session, principal: Principal, limit: int = 200) -> Queues:
    open_states = [s.value for s in State if s not in FINAL]
    base = select(Case).where(visible(principal), Case.state.in_(open_states))

    def fetch(*conditions: Any, order: Any = Case.number) -> list[Case]:
        return list(session.scalars(base.where(*conditions).order_by(order).limit(limit)))

    queues = Queues(
        extensions=fetch(Case.extension_requested.is_(True)),
        overdue=fetch(Case.deadline < utcnow(), Case.state.in_([s.value for s in OVERDUE_STATES]), order=Case.deadline),
        suspended=fetch(Case.state == State.SUSPENDED.value, order=Case.suspended_at),
        supervised=fetch(Case.supervised.is_(True)),
        notes={},
    )
    ids = [c.id for c in queues.extensions + queues.suspended]
    if ids:
        for event in session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(ids), CaseEvent.action.in_(("request_extension", "suspend")))
            .order_by(CaseEvent.id)
        ):
            queues.notes[event.case_id] = event.note or ""
    return queues


# ---------------------------------------------------------------- the operations centre's figures


def _within(area: str | None) -> Any:
    """SQL condition: cases inside a division or grid by its code (None or the city's xx0000: no limit). Grid
    codes begin with their community's, street's and district's codes, so a prefix names everything inside."""
    if not area or (len(area) == 6 and area.endswith("0000")):
        return True
    return Case.district_code == area if len(area) == 6 else Case.grid_code.startswith(area)


def overview_counts(
    session: Session, principal: Principal, *, since: datetime, area: str | None = None
) -> dict[str, int]:
    """Counts for an overview (the operations centre's tile), over the cases the principal may see inside
    ``area`` (see :func:`_within`): ``new`` reported since ``since``, ``open`` neither closed nor cancelled,
    ``overdue`` open past its deadline (as :func:`is_overdue`: a suspended case is not overdue), and ``total``
    ever reported there (0: no data yet). One query."""
    open_states = [s.value for s in State if s not in FINAL]
    late_states = [s.value for s in OVERDUE_STATES]
    now = utcnow()
    row = session.execute(
        select(
            func.sum(case_when((Case.created_at >= since, 1), else_=0)),
            func.sum(case_when((Case.state.in_(open_states), 1), else_=0)),
            func.sum(case_when(((Case.deadline < now) & Case.state.in_(late_states), 1), else_=0)),
            func.count(),
        ).where(visible(principal), _within(area))
    ).one()
    return {"new": int(row[0] or 0), "open": int(row[1] or 0), "overdue": int(row[2] or 0), "total": int(row[3])}


def open_cases_within(
    session: Session, principal: Principal, *, area: str | None = None, overdue: bool = False, limit: int = 5000
) -> list[Case]:
    """Open cases the principal may see inside ``area`` (for the operations centre's map and lists), newest
    first; with ``overdue`` only those past their deadline, the longest overdue first."""
    stmt = select(Case).where(visible(principal), _within(area), Case.state.not_in([s.value for s in FINAL]))
    if overdue:
        stmt = stmt.where(Case.deadline < utcnow(), Case.state.in_([s.value for s in OVERDUE_STATES]))
        return list(session.scalars(stmt.order_by(Case.deadline).limit(limit)))
    return list(session.scalars(stmt.order_by(Case.number.desc()).limit(limit)))


def open_counts_by_grid(session: Session, principal: Principal, area: str, limit: int = 20) -> list[tuple[str, int]]:
    """The unit grids inside ``area`` with the most open cases the principal may see: ``(grid code, count)``,
    most first (the operations centre lists them to drill down from a street to a grid)."""
    count = func.count().label("n")
    stmt = (
        select(Case.grid_code, count)
        .where(visible(principal), _within(area), Case.state.not_in([s.value for s in FINAL]))
        .group_by(Case.grid_code)
        .order_by(count.desc(), Case.grid_code)
        .limit(limit)
    )
    return [(code, int(n)) for code, n in session.execute(stmt)]
