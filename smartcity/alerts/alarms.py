"""Alarms and their ISA-18.2 lifecycle: raised by a rule's condition (one open alarm per rule and source),
cleared when the condition ends, acknowledged by a person; closed once cleared and acknowledged. Shelving
with a reason and an expiry, escalation while unacknowledged, comments, and the grid case a rule may open.
Never commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.alerts.models import Alarm, AlarmEvent, Rule
from smartcity.config import Settings
from smartcity.core import audit, events
from smartcity.core.db import utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.security import Principal

MAX_SHELVE = timedelta(days=7)  # a shelved alarm comes back within a week at most (ISA-18.2: shelving is temporary)
SEVERITIES = ("critical", "high", "medium", "low")


def source_datastreams(source: str) -> list[int]:
    """The datastreams an alarm's source names: ``"12"`` for one, ``"all_of:40+12"`` for a combination (the
    engine's sources); the first is where a case the rule opens is placed."""
    return [int(part) for part in source.rpartition(":")[2].split("+") if part.isdigit()]


def open_key(rule_id: int, source: str) -> str:
    return f"{rule_id}:{source}"


def _event(session: Session, alarm: Alarm, actor: str, kind: str, note: str = "", value: float | None = None) -> None:
    session.add(AlarmEvent(alarm_id=alarm.id, actor=actor, kind=kind, note=note, value=value, at=utcnow()))


@dataclass(frozen=True)
class Change:
    """What a rule's evaluation says about one source: the condition began (``raised``) or ended."""

    rule_id: int
    source: str
    raised: bool
    time: datetime
    value: float | None
    detail: str


def apply(session: Session, rule: Rule, change: Change, actor: str = "rules") -> Alarm | None:
    """Apply a condition change to the rule's alarm for that source. Idempotent: raising an active alarm or
    clearing a cleared one changes nothing (an evaluation replayed after a restart repeats no alarm)."""
    return apply_many(session, {rule.id: rule}, [change], actor)[0]


def apply_many(
    session: Session, rules: dict[int, Rule], changes: list[Change], actor: str = "rules"
) -> list[Alarm | None]:
    """``apply`` for a batch's changes in their order, with one query for the alarms they touch and one flush
    for the new ones (a reading watched by twenty rules changes twenty alarms; one flush each made the MQTT
    bridge fall behind). Returns, per change, the alarm it concerns (None: no alarm to clear)."""
    current = _open_alarms(session, {open_key(c.rule_id, c.source) for c in changes})
    notes: list[tuple[Alarm, str, Change]] = []
    outcome: list[Alarm | None] = []
    for change in changes:
        key = open_key(change.rule_id, change.source)
        alarm = current.get(key)
        if change.raised:
            alarm = _raise(session, rules[change.rule_id], alarm, change, notes)
            current[key] = alarm
        elif alarm is not None and alarm.active:
            _clear(alarm, change, notes)
            if alarm.open_key is None:
                del current[key]
        outcome.append(alarm)
    if notes:
        session.flush()  # the new alarms' ids, for their history
    _record(session, rules, notes, actor)
    return outcome


def _open_alarms(session: Session, keys: set[str]) -> dict[str, Alarm]:
    found: dict[str, Alarm] = {}
    ordered = sorted(keys)
    with session.no_autoflush:
        for first in range(0, len(ordered), 500):  # bound the IN list (SQLite's parameter limit)
            chunk = ordered[first : first + 500]
            found.update({a.open_key: a for a in session.scalars(select(Alarm).where(Alarm.open_key.in_(chunk)))})
    return found


def _raise(session: Session, rule: Rule, alarm: Alarm | None, change: Change, notes: list) -> Alarm:
    if alarm is not None and alarm.active:
        return alarm
    if alarm is not None:  # cleared but not yet acknowledged: the same alarm comes back (ISA-18.2)
        alarm.active, alarm.acknowledged, alarm.acknowledged_at, alarm.acknowledged_by = True, False, None, None
        alarm.occurrences += 1
        alarm.raised_at, alarm.cleared_at, alarm.value, alarm.detail = change.time, None, change.value, change.detail
        alarm.severity, alarm.rule_version = rule.severity, rule.version
        notes.append((alarm, "raised_again", change))
        return alarm
    alarm = Alarm(
        rule_id=rule.id,
        rule_version=rule.version,
        source=change.source,
        open_key=open_key(rule.id, change.source),
        title=rule.name[:300],
        severity=rule.severity,
        detail=change.detail,
        value=change.value,
        raised_at=change.time,
        active=True,
        acknowledged=False,
        occurrences=1,
        escalation_level=0,
    )
    session.add(alarm)
    notes.append((alarm, "raised", change))
    return alarm


def _clear(alarm: Alarm, change: Change, notes: list) -> None:
    alarm.active, alarm.cleared_at, alarm.value = False, change.time, change.value
    notes.append((alarm, "cleared", change))
    if alarm.acknowledged:
        _close(alarm, change.time)


def _record(session: Session, rules: dict[int, Rule], notes: list[tuple[Alarm, str, Change]], actor: str) -> None:
    """The history rows and domain events of the changes, in order; then the cases rules open."""
    now = utcnow()
    session.add_all(
        AlarmEvent(alarm_id=a.id, actor=actor, kind=kind, note=c.detail, value=c.value, at=now) for a, kind, c in notes
    )
    for alarm, kind, change in notes:
        if kind == "cleared":
            events.emit(session, "alerts.alarm_cleared", id=alarm.id, rule=alarm.rule_id, source=change.source)
        else:
            events.emit(session, "alerts.alarm_raised", id=alarm.id, rule=alarm.rule_id, source=change.source,
                        severity=alarm.severity)  # fmt: skip
    for alarm in {id(a): a for a, kind, _ in notes if kind != "cleared"}.values():
        rule = rules[alarm.rule_id]
        if rule.case_template and alarm.case_number is None:
            _try_open_case(session, rule, alarm, actor)


def _close(alarm: Alarm, when: datetime) -> None:
    alarm.open_key, alarm.closed_at = None, when


def _try_open_case(session: Session, rule: Rule, alarm: Alarm, actor: str) -> None:
    """The case is a consequence of the alarm, not a condition of storing the reading: if it cannot be
    opened (the station lies outside every grid, the class was withdrawn) the alarm says why and stands."""
    try:
        with session.begin_nested():
            alarm.case_number = _open_case(session, rule, alarm)
    except Problem as problem:
        _event(session, alarm, actor, "case_not_opened", problem.detail)
        return
    if alarm.case_number:
        _event(session, alarm, actor, "case_opened", alarm.case_number)
    else:
        _event(session, alarm, actor, "case_not_opened", "the station has no location")


def _open_case(session: Session, rule: Rule, alarm: Alarm) -> str | None:
    """A rule may open a grid case (e.g. low hydrant pressure → the water department) through the cases
    module's service, at the place of the alarm's station."""
    from smartcity.sensing import service as sensing

    template = json.loads(rule.case_template or "{}")
    streams = source_datastreams(alarm.source)
    point = sensing.station_point(session, streams[0]) if streams else None
    if point is None:
        return None
    from smartcity.cases import service as cases

    case = cases.report(
        session,
        system_principal(),
        kind=template.get("kind", "event"),
        class_code=template["class_code"],
        description=f"{rule.name}: {alarm.detail}"[:1000],
        lon=point[0],
        lat=point[1],
        source="sensor",
        urgency=template.get("urgency", "urgent"),
    )
    return case.number


def system_principal() -> Principal:
    """The rules engine acting on its own (it reports cases as a sensor would)."""
    from smartcity.security.roles import ROLES

    return Principal(None, "alerts", "预警规则 / rules", ROLES["device"], None, "/", "zh-CN", "system")


# ---------------------------------------------------------------- people's actions


def get(session: Session, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound("alarm", alarm_id)
    return alarm


def acknowledge(session: Session, principal: Principal, alarm_id: int, note: str = "") -> Alarm:
    alarm = get(session, alarm_id)
    if alarm.acknowledged:
        raise Conflict(f"Alarm {alarm_id} is already acknowledged (by {alarm.acknowledged_by}).", code="acknowledged")
    now = utcnow()
    alarm.acknowledged, alarm.acknowledged_at, alarm.acknowledged_by = True, now, principal.username
    _event(session, alarm, principal.username, "acknowledged", note)
    if not alarm.active:
        _close(alarm, now)
    events.emit(session, "alerts.alarm_acknowledged", id=alarm.id)
    return alarm


def shelve(session: Session, principal: Principal, alarm_id: int, reason: str, until: datetime) -> Alarm:
    alarm = get(session, alarm_id)
    now = utcnow()
    problems = []
    if not reason.strip():
        problems.append({"field": "reason", "message": "say why the alarm is shelved"})
    if until <= now:
        problems.append({"field": "until", "message": "must be in the future"})
    elif until > now + MAX_SHELVE:
        problems.append({"field": "until", "message": "at most 7 days ahead"})
    if alarm.open_key is None:
        problems.append({"field": "alarm", "message": "the alarm is closed"})
    if problems:
        raise Problem(422, "The alarm cannot be shelved: " + "; ".join(p["message"] for p in problems) + ".",
                      errors=problems)  # fmt: skip
    alarm.shelved_until, alarm.shelved_reason, alarm.shelved_by = until, reason.strip(), principal.username
    _event(session, alarm, principal.username, "shelved", f"{reason.strip()} (until {until.isoformat()})")
    return alarm


def unshelve(session: Session, principal: Principal | None, alarm_id: int, note: str = "") -> Alarm:
    alarm = get(session, alarm_id)
    if alarm.shelved_until is None:
        raise Conflict(f"Alarm {alarm_id} is not shelved.", code="not-shelved")
    alarm.shelved_until, alarm.shelved_reason, alarm.shelved_by = None, None, None
    _event(session, alarm, principal.username if principal else "system", "unshelved", note)
    return alarm


def comment(session: Session, principal: Principal, alarm_id: int, text: str) -> AlarmEvent:
    alarm = get(session, alarm_id)
    if not text.strip():
        raise Problem(422, "Write a comment.", errors=[{"field": "text", "message": "empty"}])
    entry = AlarmEvent(alarm_id=alarm.id, actor=principal.username, kind="comment", note=text.strip(), at=utcnow())
    session.add(entry)
    session.flush()
    audit.append(session, "alert_alarm.commented", "alert_alarm", alarm.id, after={"note": entry.note})
    return entry


def history(session: Session, alarm_id: int) -> list[AlarmEvent]:
    get(session, alarm_id)
    return list(session.scalars(select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)))


def listing(
    session: Session, *, state: str | None = None, shelved: bool | None = False, limit: int = 200
) -> list[Alarm]:
    """The console's list: open alarms (not closed) by default, most severe and oldest unacknowledged first."""
    statement = select(Alarm)
    if state == "closed":
        statement = statement.where(Alarm.open_key.is_(None))
    elif state is not None:
        active, acknowledged = _STATES[state]
        statement = statement.where(Alarm.active == active, Alarm.acknowledged == acknowledged)
        if state != "cleared_acknowledged":
            statement = statement.where(Alarm.open_key.is_not(None))
    else:
        statement = statement.where(Alarm.open_key.is_not(None))
    if shelved is True:
        statement = statement.where(Alarm.shelved_until.is_not(None))
    elif shelved is False:
        statement = statement.where(Alarm.shelved_until.is_(None))
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    alarms = list(session.scalars(statement.order_by(Alarm.raised_at.desc()).limit(limit)))
    return sorted(alarms, key=lambda a: (a.acknowledged, not a.active, rank.get(a.severity, 9)))


_STATES = {
    "active_unacknowledged": (True, False),
    "active_acknowledged": (True, True),
    "cleared_unacknowledged": (False, False),
    "cleared_acknowledged": (False, True),
}
STATES = (*_STATES, "closed")


# ---------------------------------------------------------------- on a schedule


def housekeeping(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Shelving that has expired ends; active alarms left unacknowledged escalate one level per
    ``alarm_escalation_minutes`` (not while shelved)."""
    now = now or utcnow()
    expired = list(session.scalars(select(Alarm).where(Alarm.shelved_until.is_not(None), Alarm.shelved_until <= now)))
    for alarm in expired:
        alarm.shelved_until, alarm.shelved_reason, alarm.shelved_by = None, None, None
        _event(session, alarm, "system", "unshelved", "shelving expired")
    step = timedelta(minutes=settings.alarm_escalation_minutes)
    escalated = 0
    waiting = session.scalars(
        select(Alarm).where(Alarm.active.is_(True), Alarm.acknowledged.is_(False), Alarm.shelved_until.is_(None))
    )
    for alarm in waiting:
        due = alarm.raised_at + step * (alarm.escalation_level + 1)
        if now >= due and alarm.escalation_level < settings.alarm_escalation_levels:
            alarm.escalation_level += 1
            alarm.escalated_at = now
            _event(
                session,
                alarm,
                "system",
                "escalated",
                f"unacknowledged for {(now - alarm.raised_at) // timedelta(minutes=1)} min; "
                f"level {alarm.escalation_level}",
            )
            events.emit(session, "alerts.alarm_escalated", id=alarm.id, level=alarm.escalation_level)
            escalated += 1
    return {"unshelved": len(expired), "escalated": escalated}


# ---------------------------------------------------------------- the case a rule opened


@events.react("cases.check_pass")
@events.react("cases.cancel")
def _case_closed(session: Session, event: events.DomainEvent) -> None:
    """Closing the case an alarm opened: a cleared alarm is acknowledged and closes; one whose condition
    persists is annotated (the case is closed, the sensor still says otherwise)."""
    number = event.payload.get("number")
    for alarm in session.scalars(select(Alarm).where(Alarm.case_number == number, Alarm.open_key.is_not(None))):
        if alarm.active:
            _event(session, alarm, event.actor, "case_closed", f"case {number} closed; the condition persists")
        else:
            _event(session, alarm, event.actor, "case_closed", f"case {number} closed")
            if not alarm.acknowledged:
                alarm.acknowledged, alarm.acknowledged_at, alarm.acknowledged_by = True, utcnow(), event.actor
            _close(alarm, utcnow())


def as_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.id,
        "rule": alarm.rule_id,
        "rule_version": alarm.rule_version,
        "source": alarm.source,
        "title": alarm.title,
        "severity": alarm.severity,
        "state": alarm.state,
        "closed": alarm.open_key is None,
        "detail": alarm.detail,
        "value": alarm.value,
        "occurrences": alarm.occurrences,
        "raised_at": alarm.raised_at.isoformat(),
        "cleared_at": alarm.cleared_at.isoformat() if alarm.cleared_at else None,
        "acknowledged_at": alarm.acknowledged_at.isoformat() if alarm.acknowledged_at else None,
        "acknowledged_by": alarm.acknowledged_by,
        "shelved_until": alarm.shelved_until.isoformat() if alarm.shelved_until else None,
        "shelved_reason": alarm.shelved_reason,
        "escalation_level": alarm.escalation_level,
        "case": alarm.case_number,
    }
