"""The clock of a case under configurable local rules: suspension pauses it, rework and re-dispatch keep or
restart it, suspended cases are never overdue; on-time dispatch and on-time check are judged on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from smartcity.cases import calendar, evaluation, service
from smartcity.cases.models import Case
from smartcity.security import service as security

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)  # a working day, inside working hours
# Every case here is event 0102 (exposed rubbish): a time limit of one working day.
WIDE = {"start": datetime(2000, 1, 1, tzinfo=UTC), "end": datetime(2100, 1, 1, tzinfo=UTC)}


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = MONDAY
        monkeypatch.setattr(service, "utcnow", lambda: self.now.astimezone(UTC))

    def at(self, moment: datetime) -> Clock:
        self.now = moment
        return self


@pytest.fixture
def clock(monkeypatch, case_setup) -> Clock:
    return Clock(monkeypatch)


def _principal(s, name: str):
    return security.principal_for(s, security.user_by_name(s, name), via="test")


def _step(database, settings, who: str, number: str, action: str, **inputs):
    with database.session() as s:
        actor = _principal(s, who)
        case = service.get_case(s, actor, number)
        service.act(s, settings, actor, number, action, service.Step(version=case.version, **inputs))


def _case(database, number: str):
    with database.session() as s:
        case = service.get_case(s, _principal(s, "admin"), number)
        s.expunge(case)
        return case


def _report(database) -> str:
    with database.session() as s:
        return service.report(
            s,
            _principal(s, "inspector"),
            kind="event",
            class_code="0102",
            description="垃圾",
            lon=121.4846,
            lat=31.2317,
        ).number


def _dispatched(database, settings, clock: Clock) -> str:
    number = _report(database)
    _step(database, settings, "operator", number, "register")
    _step(database, settings, "dispatcher", number, "dispatch")
    _step(database, settings, "handler", number, "accept")
    return number


def _calendar(database, settings) -> calendar.WorkingCalendar:
    with database.session() as s:
        return calendar.load(s, settings.working_hours, settings.timezone)


@pytest.mark.parametrize("pauses", [True, False])
def test_suspension_pauses_the_clock_when_configured(database, settings, clock, pauses) -> None:
    rules = settings.model_copy(update={"case_suspension_pauses_clock": pauses})
    number = _dispatched(database, rules, clock)
    first = _case(database, number).deadline
    clock.at(MONDAY + timedelta(hours=1))
    _step(database, rules, "supervisor", number, "suspend", note="等待管线迁改")
    clock.at(MONDAY + timedelta(days=1, hours=1))  # Tuesday 11:00
    assert not service.is_overdue(_case(database, number), now=first + timedelta(days=30))  # held, not overdue
    _step(database, rules, "supervisor", number, "resume")
    # Monday 11–12 and 13–17, Tuesday 9–11: seven working hours suspended
    expected = _calendar(database, settings).add_working_time(first, timedelta(hours=7)) if pauses else first
    case = _case(database, number)
    assert (case.deadline, case.suspended_at, case.state) == (expected, None, "processing")


@pytest.mark.parametrize("rule", ["continue", "restart"])
def test_rework_keeps_or_restarts_the_deadline(database, settings, clock, rule) -> None:
    rules = settings.model_copy(update={"case_clock_after_rework": rule})
    number = _dispatched(database, rules, clock)
    first = _case(database, number).deadline
    _step(database, rules, "handler", number, "feedback", note="已清除")
    failed_at = MONDAY + timedelta(days=2)
    clock.at(failed_at)
    _step(database, rules, "inspector", number, "check_fail", note="仍有残留")
    expected = _calendar(database, settings).deadline(failed_at, 1, "working_days") if rule == "restart" else first
    assert _case(database, number).deadline == expected


@pytest.mark.parametrize("rule", ["continue", "restart"])
def test_redispatch_after_a_return_keeps_or_restarts_the_deadline(database, settings, clock, rule) -> None:
    rules = settings.model_copy(update={"case_clock_after_return": rule})
    number = _dispatched(database, rules, clock)
    first = _case(database, number).deadline
    _step(database, rules, "handler", number, "return", note="非本单位职责")
    again = MONDAY + timedelta(days=1)
    clock.at(again)
    _step(database, rules, "dispatcher", number, "dispatch")
    case = _case(database, number)
    expected = _calendar(database, settings).deadline(again, 1, "working_days") if rule == "restart" else first
    assert case.deadline == expected
    assert case.dispatched_at == MONDAY.astimezone(UTC)  # on-time dispatch is judged on the first dispatch


def test_on_time_dispatch_and_check_rates(database, settings, clock) -> None:
    prompt, slow = _report(database), _report(database)
    for number, dispatch_after in ((prompt, 20), (slow, 45)):  # the limit is 30 working minutes
        clock.at(MONDAY)
        _step(database, settings, "operator", number, "register")
        clock.at(MONDAY + timedelta(minutes=dispatch_after))
        _step(database, settings, "dispatcher", number, "dispatch")
        _step(database, settings, "handler", number, "accept")
        clock.at(MONDAY + timedelta(hours=1))
        _step(database, settings, "handler", number, "feedback", note="已清除")
    clock.at(MONDAY + timedelta(hours=2))  # within the 120-minute check limit
    _step(database, settings, "inspector", prompt, "check_pass")
    clock.at(MONDAY + timedelta(hours=5))  # Monday 15:00: four working hours after the feedback
    _step(database, settings, "inspector", slow, "check_fail", note="未清理干净")
    assert _case(database, slow).late_checks == 1
    with database.session() as s:
        (row,) = evaluation.evaluate(s, **WIDE, codes=["on_time_dispatch_rate", "on_time_check_rate", "overdue"])
    assert row["on_time_dispatch_rate"] == pytest.approx(0.5)
    assert row["on_time_check_rate"] == pytest.approx(0.5)


def test_suspended_cases_are_not_counted_overdue(database, settings, clock) -> None:
    suspended, open_case = (_dispatched(database, settings, clock) for _ in range(2))
    _step(database, settings, "supervisor", suspended, "suspend", note="等待审批")
    with database.session() as s:
        s.execute(
            update(Case)
            .where(Case.number.in_([suspended, open_case]))
            .values(deadline=datetime(2020, 1, 1, tzinfo=UTC))
        )
    with database.session() as s:
        (row,) = evaluation.evaluate(s, **WIDE, codes=["overdue"])
        listed, _ = service.list_cases(s, _principal(s, "admin"), overdue=True)
    assert row["overdue"] == 1
    assert [c.number for c in listed] == [open_case]
