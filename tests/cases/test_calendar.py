"""The working calendar: working hours, weekends, holidays and make-up days, deadlines in both units."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smartcity.cases import calendar
from smartcity.core.errors import Problem
from tests.conftest import bearer

SH = ZoneInfo("Asia/Shanghai")
PERIODS = "09:00-12:00,13:00-17:00"  # 7 working hours a day


def _cal(overrides: dict[date, bool] | None = None) -> calendar.WorkingCalendar:
    return calendar.WorkingCalendar(tuple(calendar.parse_periods(PERIODS)), overrides or {}, SH)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_hours_skip_the_lunch_break_and_the_night() -> None:
    due = _cal().deadline(_at("2026-11-23T11:00"), 2, "working_hours")  # a Monday
    assert due.astimezone(SH) == _at("2026-11-23T14:00")
    late = _cal().deadline(_at("2026-11-23T16:30"), 1, "working_hours")
    assert late.astimezone(SH) == _at("2026-11-24T09:30")


def test_days_skip_the_weekend() -> None:
    due = _cal().deadline(_at("2026-11-27T10:00"), 1, "working_days")  # Friday
    assert due.astimezone(SH) == _at("2026-11-30T10:00")  # Monday
    evening = _cal().deadline(_at("2026-11-27T20:00"), 1, "working_days")  # after hours: counts from Monday
    assert evening.astimezone(SH) == _at("2026-11-30T17:00")


def test_holidays_and_make_up_days() -> None:
    overrides = {date(2026, 10, d): False for d in range(1, 8)} | {date(2026, 10, 10): True}  # a Saturday
    due = _cal(overrides).deadline(_at("2026-09-30T16:00"), 1, "working_days")
    assert due.astimezone(SH) == _at("2026-10-08T16:00")
    longer = _cal(overrides).deadline(_at("2026-10-09T16:00"), 1, "working_days")
    assert longer.astimezone(SH) == _at("2026-10-10T16:00")  # the make-up Saturday counts


def test_working_time_between_matches_deadline() -> None:
    cal = _cal()
    start = _at("2026-11-20T15:00")
    due = cal.deadline(start, 15, "working_hours")
    assert cal.working_time_between(start, due) == timedelta(hours=15)


@pytest.mark.parametrize("text", ["9-12", "12:00-09:00", "09:00-12:00,11:00-13:00", "nine-ten"])
def test_bad_periods_are_refused(text) -> None:
    with pytest.raises(ValueError):
        calendar.parse_periods(text)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(Problem):
        _cal().deadline(_at("2026-11-23T10:00"), 0, "working_days")
    with pytest.raises(Problem):
        _cal().deadline(_at("2026-11-23T10:00"), 1, "fortnights")


def test_overrides_from_the_database_and_the_api(client, city, database) -> None:
    with database.session() as s:
        assert calendar.set_overrides(s, [(date(2026, 11, 30), False, "test holiday")]) == (1, 0)
        assert calendar.set_overrides(s, [(date(2026, 11, 30), False, "test holiday")]) == (0, 0)
    response = client.get(
        "/api/cases/calendar/deadline",
        headers=bearer(client, "dispatcher"),
        params={"start": "2026-11-27T10:00:00+08:00", "amount": 1, "unit": "working_days"},
    )
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["deadline"]).astimezone(SH) == _at("2026-12-01T10:00")
    naive = client.get(
        "/api/cases/calendar/deadline",
        headers=bearer(client, "dispatcher"),
        params={"start": "2026-11-27T10:00:00", "amount": 1},
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "start"


def test_working_hours_setting_is_validated() -> None:
    from pydantic import ValidationError

    from smartcity.config import Settings

    with pytest.raises(ValidationError, match="working period"):
        Settings(working_hours="9 to 5", _env_file=None)
