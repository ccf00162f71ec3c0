"""The working calendar: deadlines in working hours or working days (处置时限), on Asia/Shanghai time.

Working periods of a day come from settings (SMARTCITY_WORKING_HOURS, e.g. 09:00-12:00,13:00-17:00);
Saturdays and Sundays are off; dated overrides — public holidays and the make-up working days (调休) of
the State Council's annual notice — are data in the ``working_day_override`` table. A working day counts
as the length of one day's working periods, so "1 working day" from Monday 10:00 ends Tuesday 10:00.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.cases.models import TIME_UNITS, WorkingDayOverride
from smartcity.core.errors import Problem

MAX_DAYS_AHEAD = 3660  # a time limit that never fits within ten years is a configuration error


def parse_periods(text: str) -> list[tuple[time, time]]:
    """ "09:00-12:00,13:00-17:00" → ordered, non-overlapping periods; ValueError says what is wrong."""
    periods = []
    for part in text.split(","):
        start_text, sep, end_text = part.strip().partition("-")
        if not sep:
            raise ValueError(f"working period {part!r} must look like 09:00-12:00")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
        if end <= start:
            raise ValueError(f"working period {part!r} ends before it starts")
        periods.append((start, end))
    periods.sort()
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise ValueError("working periods overlap")
    return periods


@dataclass(frozen=True)
class WorkingCalendar:
    periods: tuple[tuple[time, time], ...]
    overrides: dict[date, bool]  # date -> is a working day
    tz: ZoneInfo

    @property
    def day_length(self) -> timedelta:
        return sum((_span(s, e) for s, e in self.periods), timedelta())

    def is_working_day(self, day: date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)

    def deadline(self, start: datetime, amount: int, unit: str) -> datetime:
        """The moment ``amount`` working hours or days after ``start`` (aware), returned in UTC."""
        if unit not in TIME_UNITS or amount <= 0:
            raise Problem(422, f"A time limit needs a positive amount and a unit of {', '.join(TIME_UNITS)}.")
        return self.add_working_time(
            start, timedelta(hours=amount) if unit == "working_hours" else self.day_length * amount
        )

    def add_working_time(self, start: datetime, remaining: timedelta) -> datetime:
        """The moment ``remaining`` working time after ``start`` (aware), in UTC; zero stays at ``start``."""
        if remaining <= timedelta():
            return start.astimezone(ZoneInfo("UTC"))
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS_AHEAD):
            if self.is_working_day(day):
                for begin, end in self.periods:
                    period_start = datetime.combine(day, begin, self.tz)
                    period_end = datetime.combine(day, end, self.tz)
                    begin_at = max(period_start, local)
                    if begin_at >= period_end:
                        continue
                    available = period_end - begin_at
                    if remaining <= available:
                        return (begin_at + remaining).astimezone(ZoneInfo("UTC"))
                    remaining -= available
            day += timedelta(days=1)
        raise Problem(422, "The calendar has no working time within ten years; check the overrides.")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed from ``start`` to ``end`` (zero if end is earlier): for timeliness."""
        total = timedelta()
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        day = local_start.date()
        while day <= local_end.date():
            if self.is_working_day(day):
                for begin, finish in self.periods:
                    a = max(datetime.combine(day, begin, self.tz), local_start)
                    b = min(datetime.combine(day, finish, self.tz), local_end)
                    if b > a:
                        total += b - a
            day += timedelta(days=1)
        return total


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def load(session: Session, periods_text: str, tz_name: str) -> WorkingCalendar:
    overrides = {o.day: o.working for o in session.scalars(select(WorkingDayOverride))}
    return WorkingCalendar(tuple(parse_periods(periods_text)), overrides, ZoneInfo(tz_name))


def set_overrides(session: Session, rows: list[tuple[date, bool, str]]) -> tuple[int, int]:
    """Add or change dated overrides (holidays off, make-up days on); returns (added, changed)."""
    added = changed = 0
    existing = {
        o.day: o
        for o in session.scalars(select(WorkingDayOverride).where(WorkingDayOverride.day.in_([r[0] for r in rows])))
    }
    for day, working, name in rows:
        current = existing.get(day)
        if current is None:
            session.add(WorkingDayOverride(day=day, working=working, name=name))
            added += 1
        elif (current.working, current.name) != (working, name):
            current.working, current.name = working, name
            changed += 1
    session.flush()
    return added, changed
