"""Rules of the plan's indicators: enter a value (versioned, never overwritten), read the current values and every
version, read the computed ones live, progress against the target, the yearly report, snapshots. Never commits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.db import utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.kpi import catalogue as cat
from smartcity.kpi import computed
from smartcity.kpi.catalogue import _
from smartcity.kpi.models import IndicatorValue
from smartcity.kpi.progress import Progress, measure
from smartcity.security import Principal

CITY = computed.CITY
FIRST_YEAR, LAST_YEAR = 2010, 2030  # the plan's baseline (2010, end of the 11th five-year plan) to its successors
_AREA = re.compile(r"^\d{6}$")
_URL = re.compile(r"^https?://[^\s/]+\S*$")


def catalogue() -> cat.Catalogue:
    return cat.load()


def indicator(code: str) -> cat.Indicator:
    """The indicator with ``code``; 404 when the catalogue has none."""
    return catalogue().get(code)


# ---------------------------------------------------------------- periods


def period_key(year: int, quarter: int) -> tuple[int, int]:
    """Sort key: the quarters of a year, then the whole year (which closes it)."""
    return year, quarter or 5


def period_label(year: int, quarter: int, language: str = "en") -> str:
    if not quarter:
        return f"{year}年" if language.startswith("zh") else str(year)
    return f"{year}年第{quarter}季度" if language.startswith("zh") else f"{year} Q{quarter}"


# ---------------------------------------------------------------- entering a value


@dataclass(frozen=True)
class Entry:
    """A value as someone enters it, with the document it comes from; ``corrects`` names the version it replaces."""

    value: float
    year: int
    quarter: int = 0
    area_code: str = CITY
    source_title: str = ""
    source_url: str | None = None
    source_reference: str | None = None
    note: str = ""
    corrects: int | None = None


def check_entry(item: cat.Indicator, entry: Entry) -> list[dict[str, str]]:
    """Every problem with ``entry`` for ``item`` that needs no database, as ``{field, message}``."""
    errors: list[dict[str, str]] = []

    def bad(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not FIRST_YEAR <= entry.year <= LAST_YEAR:
        bad("year", _("the year must lie between 2010 and 2030"))
    if entry.quarter not in (0, 1, 2, 3, 4):
        bad("quarter", _("the quarter is 1 to 4, or empty for the whole year"))
    errors += _value_problems(item, entry.value)
    if not _AREA.match(entry.area_code or ""):
        bad("area_code", _("the area is a 6-digit GB/T 2260 code, 310000 for the city"))
    if not entry.source_title.strip():
        bad("source_title", _("name the document the figure comes from (a statistical bulletin, a report)"))
    elif len(entry.source_title) > 300:
        bad("source_title", _("at most 300 characters"))
    if entry.source_url and (len(entry.source_url) > 500 or not _URL.match(entry.source_url)):
        bad("source_url", _("a web address starting with http:// or https://"))
    if entry.source_reference and len(entry.source_reference) > 200:
        bad("source_reference", _("at most 200 characters"))
    if len(entry.note) > 2000:
        bad("note", _("at most 2,000 characters"))
    if entry.corrects is not None and not entry.note.strip():
        bad("note", _("say why the value is corrected"))
    return errors


def _value_problems(item: cat.Indicator, value: float) -> list[dict[str, str]]:
    def bad(message: str) -> list[dict[str, str]]:
        return [{"field": "value", "message": message}]

    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return bad(_("the value must be a number"))
    unit, low = item.unit, item.minimum
    if unit.maximum is not None and not low <= value <= unit.maximum:
        if unit.code == "percent":
            return bad(_("a percentage lies between 0 and 100"))
        return bad(f"the value lies between {cat.format_number(low)} and {cat.format_number(unit.maximum)}")
    if value < low:
        return bad(_("the value cannot be negative") if low == 0 else f"the value cannot be below {low:g}")
    if unit.whole and value != int(value):
        return bad(_("a count is a whole number"))
    return []


def current_version(session: Session, code: str, area_code: str, year: int, quarter: int) -> IndicatorValue | None:
    """The current (not superseded) version of a period's value, None when it has no value."""
    return session.scalar(
        _current()
        .where(
            IndicatorValue.indicator == code,
            IndicatorValue.area_code == area_code,
            IndicatorValue.year == year,
            IndicatorValue.quarter == quarter,
        )
        .limit(1)
    )


def enter_value(session: Session, principal: Principal, code: str, entry: Entry) -> IndicatorValue:
    """Record an entered value as a new version. Raises 422 listing every problem (unknown or computed indicator,
    a value out of range, no source document …) and 409 when the period has a value and the entry does not say it
    corrects that very version (or someone recorded one at the same moment)."""
    item = catalogue().indicators.get(code)
    if item is None:
        raise Problem(422, f"There is no indicator {code!r}; see the catalogue at /kpi.",
                      errors=[{"field": "indicator", "message": _("unknown indicator")}])  # fmt: skip
    if not item.is_entered:
        raise Problem(422, "This indicator is computed from the platform's own data; its values are not entered.",
                      errors=[{"field": "indicator", "message": _("computed, not entered")}])  # fmt: skip
    errors = check_entry(item, entry)
    if errors:
        raise Problem(422, "The value cannot be recorded: " + "; ".join(e["message"] for e in errors) + ".",
                      code="invalid-value", errors=errors)  # fmt: skip
    previous = current_version(session, code, entry.area_code, entry.year, entry.quarter)
    _check_correction(previous, entry)
    return _append(session, item, entry, origin="entered", actor=principal.username, previous=previous)


def _check_correction(previous: IndicatorValue | None, entry: Entry) -> None:
    if previous is None and entry.corrects is not None:
        raise Problem(422, "There is no value for this period to correct.",
                      errors=[{"field": "corrects", "message": _("nothing to correct for this period")}])  # fmt: skip
    if previous is not None and entry.corrects is None:
        raise Conflict(
            f"This period has a value already ({cat.format_number(previous.value)}, version {previous.version}). "
            f"To correct it, say that you correct version {previous.version} and why.",
            code="value-exists",
        )
    if previous is not None and entry.corrects != previous.version:
        raise Conflict(
            f"Version {entry.corrects} is no longer the current one (version {previous.version} is); "
            "reload the page and check the newer value before correcting it.",
            code="stale-version",
        )


def _append(
    session: Session, item: cat.Indicator, entry: Entry, *, origin: str, actor: str, previous: IndicatorValue | None
) -> IndicatorValue:
    row = IndicatorValue(
        indicator=item.code,
        area_code=entry.area_code,
        year=entry.year,
        quarter=entry.quarter,
        version=previous.version + 1 if previous else 1,
        supersedes_id=previous.id if previous else None,
        value=float(entry.value),
        origin=origin,
        source_title=entry.source_title.strip(),
        source_url=(entry.source_url or "").strip() or None,
        source_reference=(entry.source_reference or "").strip() or None,
        note=entry.note.strip(),
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("Someone recorded a value for this period at the same moment; reload and check it.",
                       code="concurrent-value") from exc  # fmt: skip
    events.emit(session, "kpi.value_recorded", indicator=item.code, area=row.area_code, year=row.year,
                quarter=row.quarter, version=row.version, origin=origin)  # fmt: skip
    return row


# ---------------------------------------------------------------- reading values


def _current() -> Any:
    superseded = select(IndicatorValue.supersedes_id).where(IndicatorValue.supersedes_id.is_not(None))
    return select(IndicatorValue).where(IndicatorValue.id.not_in(superseded))


def current_values(
    session: Session, *, codes: Iterable[str] | None = None, area_code: str = CITY, until: int | None = None
) -> dict[str, list[IndicatorValue]]:
    """The current version of every period's value for an area, per indicator, oldest period first."""
    statement = _current().where(IndicatorValue.area_code == area_code)
    if codes is not None:
        statement = statement.where(IndicatorValue.indicator.in_(list(codes)))
    if until is not None:
        statement = statement.where(IndicatorValue.year <= until)
    found: dict[str, list[IndicatorValue]] = {}
    for row in session.scalars(statement):
        found.setdefault(row.indicator, []).append(row)
    for rows in found.values():
        rows.sort(key=lambda r: period_key(r.year, r.quarter))
    return found


def history(session: Session, code: str, area_code: str | None = None) -> list[IndicatorValue]:
    """Every version of an indicator's values (of one area, or all), newest period first, newest version first."""
    indicator(code)
    statement = select(IndicatorValue).where(IndicatorValue.indicator == code)
    if area_code is not None:
        statement = statement.where(IndicatorValue.area_code == area_code)
    rows = list(session.scalars(statement))
    rows.sort(key=lambda r: (*period_key(r.year, r.quarter), r.area_code, r.version), reverse=True)
    return rows


def all_versions(session: Session) -> list[IndicatorValue]:
    """Every stored version of every indicator, by indicator, area, period and version (for exports)."""
    statement = select(IndicatorValue).order_by(
        IndicatorValue.indicator, IndicatorValue.area_code, IndicatorValue.year, IndicatorValue.quarter,
        IndicatorValue.version,
    )  # fmt: skip
    return list(session.scalars(statement))


def get_value(session: Session, code: str, value_id: int) -> IndicatorValue:
    row = session.get(IndicatorValue, value_id)
    if row is None or row.indicator != code:
        raise NotFound("value of " + code, value_id)
    return row


def is_current(session: Session, row: IndicatorValue) -> bool:
    return session.scalar(select(IndicatorValue.id).where(IndicatorValue.supersedes_id == row.id)) is None


# ---------------------------------------------------------------- status and progress


@dataclass(frozen=True)
class Point:
    """One value on an indicator's trend: a stored version (entered, or a computed snapshot) or a live reading."""

    year: int
    quarter: int
    value: float
    origin: str  # entered, computed, live
    version: int | None = None
    source_title: str = ""
    recorded_at: datetime | None = None

    def label(self, language: str = "en") -> str:
        return period_label(self.year, self.quarter, language)


@dataclass(frozen=True)
class Status:
    """An indicator with its trend, baseline, latest value and progress (as of a year, or now)."""

    indicator: cat.Indicator
    points: tuple[Point, ...]
    progress: Progress
    reading: computed.Reading | None = None  # the live reading of a computed indicator
    as_of_year: int | None = None

    @property
    def baseline(self) -> Point | None:
        return self.points[0] if self.points else None

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


def _point(row: IndicatorValue) -> Point:
    return Point(row.year, row.quarter, row.value, row.origin, row.version, row.source_title, row.recorded_at)


def overview(
    session: Session,
    *,
    year: int | None = None,
    area_code: str = CITY,
    codes: Iterable[str] | None = None,
    detail: bool = False,
    now: datetime | None = None,
) -> list[Status]:
    """Every indicator (or those of ``codes``) with its status: now by default, or as of the end of ``year``.

    Computed indicators read their source live — for the current year, or for a past ``year`` when their source
    can recompute a period and no snapshot of that year was kept; a snapshot of a year wins over a recomputation."""
    items = [indicator(c) for c in codes] if codes is not None else list(catalogue().indicators.values())
    stored = current_values(session, codes=[i.code for i in items], area_code=area_code, until=year)
    when = computed.window(year, now)
    return [_status(session, i, stored.get(i.code, []), when, area_code, year, detail) for i in items]


def _status(
    session: Session,
    item: cat.Indicator,
    rows: list[IndicatorValue],
    when: computed.Window,
    area_code: str,
    year: int | None,
    detail: bool,
) -> Status:
    points = [_point(r) for r in rows]
    reading = None
    if item.computed and area_code == CITY:
        reading = computed.read(session, item.computed, when, item.params, detail=detail)
        kept = any(p.year == when.year for p in points)
        if reading.value is not None and (when.current or not kept):
            points = [p for p in points if p.year != when.year] + [Point(when.year, 0, reading.value, "live")]
    return Status(item, tuple(points), _measure(item, points), reading, year)


def _measure(item: cat.Indicator, points: list[Point]) -> Progress:
    return measure(
        direction=item.direction,
        target=item.target,
        op=item.target_op,
        baseline=points[0].value if points else None,
        latest=points[-1].value if points else None,
    )


def status(session: Session, code: str, *, area_code: str = CITY, detail: bool = True) -> Status:
    """One indicator's status now (with the per-district figures of a computed source when ``detail``)."""
    return overview(session, codes=[code], area_code=area_code, detail=detail)[0]


# ---------------------------------------------------------------- the yearly report


@dataclass(frozen=True)
class Section:
    code: str
    title: cat.Text
    statuses: tuple[Status, ...]


@dataclass(frozen=True)
class Report:
    """The evaluation of a year (plan §6.7): every indicator as of the end of that year, by plan section."""

    year: int
    generated_at: datetime
    sections: tuple[Section, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def statuses(self) -> list[Status]:
        return [s for section in self.sections for s in section.statuses]


def report(session: Session, year: int, *, now: datetime | None = None) -> Report:
    """The evaluation report of ``year`` (2010–2030; 422 otherwise, and for a year still to come)."""
    now = now or utcnow()
    if not FIRST_YEAR <= year <= min(LAST_YEAR, computed.window(None, now).year):
        raise Problem(422, f"A report covers a year from {FIRST_YEAR} to this year.",
                      errors=[{"field": "year", "message": "out of range"}])  # fmt: skip
    statuses = overview(session, year=year, now=now)
    sections = []
    for code, title in catalogue().sections.items():
        members = tuple(s for s in statuses if s.indicator.section == code)
        if members:
            sections.append(Section(code, title, members))
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.progress.status] = counts.get(s.progress.status, 0) + 1
    return Report(year, now, tuple(sections), counts)


# ---------------------------------------------------------------- snapshots and the operations centre


@dataclass(frozen=True)
class Snapshot:
    code: str
    row: IndicatorValue | None
    reason: str = ""


def snapshot(
    session: Session, year: int, actor: str = "kpi-snapshot", *, now: datetime | None = None
) -> list[Snapshot]:
    """Keep the computed indicators' values of ``year`` as versions (origin ``computed``), so the year's report
    reads the same later. A source that cannot say (no data, or the state-now kind for a past year) is skipped
    with its reason; taking a snapshot again supersedes the previous one."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Problem(422, f"The year must lie between {FIRST_YEAR} and {LAST_YEAR}.",
                      errors=[{"field": "year", "message": "out of range"}])  # fmt: skip
    when = computed.window(year, now)
    if when.end <= when.start:
        raise Problem(422, f"{year} has not begun.", errors=[{"field": "year", "message": "in the future"}])
    taken = []
    for item in catalogue().indicators.values():
        if not item.computed:
            continue
        reading = computed.read(session, item.computed, when, item.params)
        if reading.value is None:
            taken.append(Snapshot(item.code, None, reading.reason))
            continue
        as_of = (reading.as_of or when.end).isoformat(timespec="seconds")
        entry = Entry(value=reading.value, year=year, source_title=f"computed:{item.computed}",
                      note=f"snapshot of the platform's data as of {as_of}")  # fmt: skip
        previous = current_version(session, item.code, CITY, year, 0)
        taken.append(Snapshot(item.code, _append(session, item, entry, origin="computed", actor=actor,
                                                  previous=previous)))  # fmt: skip
    return taken


def summary(session: Session) -> list[dict[str, Any]]:
    """The headline indicators now, for the operations centre's tile: code, names, unit, value, target, progress
    (0–100 or None), met, status, as-of time and the page that explains each."""
    headline = [i.code for i in catalogue().indicators.values() if i.headline]
    return [summary_item(s) for s in overview(session, codes=headline)]


def summary_item(s: Status) -> dict[str, Any]:
    item, latest = s.indicator, s.latest
    as_of = s.reading.as_of if s.reading and s.reading.as_of else (latest.recorded_at if latest else None)
    return {
        "code": item.code,
        "name_zh": item.name.zh,
        "name_en": item.name.en,
        "unit_zh": item.unit.label.zh,
        "unit_en": item.unit.label.en,
        "value": latest.value if latest else None,
        "period": latest.label() if latest else None,
        "target": item.target,
        "target_op": item.target_op,
        "progress": s.progress.percent,
        "met": s.progress.met,
        "status": s.progress.status,
        "reason": s.reading.reason if s.reading and s.reading.value is None else "",
        "as_of": as_of.isoformat() if as_of else None,
        "url": f"/kpi/{item.code}",
    }
