"""Evaluation (综合评价): indicators as declarative definitions, computed in one SQL aggregate.

Every indicator is a count (a condition) or a rate (numerator condition over denominator condition) on
the cases reported in the period, grouped by district, street, grid, department, class, source or
reporter. The formulas follow published local practice (docs/cases.md cites them): 结案率 = 结案数 /
应结案数, 按期结案率 = 按期结案数 / 应结案数, with suspended (缓办) and cancelled cases left out of 应结案.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, func, literal, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from smartcity.cases.models import Case
from smartcity.core.db import utcnow
from smartcity.core.errors import Problem

CLOSED, SUSPENDED = "closed", "suspended"
UNDECIDED = ("reported", "verifying")
FINAL = ("closed", "cancelled")


def _conditions(now: datetime) -> dict[str, Any]:
    """The named conditions the indicators combine (SQL on the case table)."""
    dispatched = Case.dispatched_at.is_not(None)
    due = and_(dispatched, Case.state != SUSPENDED, (Case.deadline <= now) | (Case.state == CLOSED))
    return {
        "all": Case.id.is_not(None),
        "decided": Case.state.not_in(UNDECIDED),
        "registered": Case.registered_at.is_not(None),
        "dispatched": dispatched,
        "handled": Case.first_feedback_at.is_not(None),
        "handled_on_time": and_(Case.first_feedback_at.is_not(None), Case.first_feedback_at <= Case.deadline),
        "due_for_handling": and_(
            dispatched, Case.state != SUSPENDED, (Case.deadline <= now) | Case.first_feedback_at.is_not(None)
        ),
        "closed": Case.state == CLOSED,
        "closed_on_time": and_(Case.state == CLOSED, Case.closed_at <= Case.deadline),
        "due_for_closure": due,
        "reworked": and_(Case.first_feedback_at.is_not(None), Case.rework_count > 0),
        "overdue": and_(Case.state.not_in((*FINAL, SUSPENDED)), Case.deadline < now),
        "due_for_dispatch": and_(Case.registered_at.is_not(None), dispatched | (Case.dispatch_due_at <= now)),
        "dispatched_on_time": and_(dispatched, Case.dispatched_at <= Case.dispatch_due_at),
        "due_for_check": Case.checked_at.is_not(None) | and_(Case.state == "checking", Case.check_due_at <= now),
        "checked_on_time": and_(Case.checked_at.is_not(None), Case.late_checks == 0),
        "inspector_decided": and_(Case.source == "inspector", Case.state.not_in(UNDECIDED)),
        "inspector_registered": and_(Case.source == "inspector", Case.registered_at.is_not(None)),
    }


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    numerator: str
    denominator: str | None = None  # None: a count
    formula: str = ""

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in (
        Indicator("reports", "上报数", "Reports", "all", formula="cases reported in the period"),
        Indicator("registrations", "立案数", "Registrations", "registered"),
        Indicator(
            "registration_rate", "立案率", "Registration rate", "registered", "decided", "立案数 / (上报数 − 待定)"
        ),
        Indicator("dispatches", "派遣数", "Dispatches", "dispatched"),
        Indicator(
            "on_time_dispatch_rate",
            "按时派遣率",
            "On-time dispatch rate",
            "dispatched_on_time",
            "due_for_dispatch",
            "按时派遣数 / 应派遣数 (registered and dispatched, or past the dispatch limit)",
        ),
        Indicator("disposals", "处置数", "Disposals", "handled", formula="cases with a feedback"),
        Indicator(
            "on_time_disposal_rate",
            "按期处置率",
            "On-time disposal rate",
            "handled_on_time",
            "due_for_handling",
            "按期处置数 / 应处置数 (dispatched, not suspended, deadline passed or fed back)",
        ),
        Indicator("closures", "结案数", "Closures", "closed"),
        Indicator(
            "due_for_closure",
            "应结案数",
            "Due for closure",
            "due_for_closure",
            formula="dispatched, not suspended, deadline passed or closed",
        ),
        Indicator("closure_rate", "结案率", "Closure rate", "closed", "due_for_closure", "结案数 / 应结案数"),
        Indicator(
            "on_time_closure_rate",
            "按期结案率",
            "On-time closure rate",
            "closed_on_time",
            "due_for_closure",
            "按期结案数 / 应结案数",
        ),
        Indicator("rework_rate", "返工率", "Rework rate", "reworked", "handled", "返工案件数 / 处置数"),
        Indicator("overdue", "超期未结案数", "Overdue open cases", "overdue"),
        Indicator(
            "valid_report_rate",
            "有效上报率",
            "Inspectors' valid-report rate",
            "inspector_registered",
            "inspector_decided",
            "监督员上报立案数 / 监督员上报已定数",
        ),
        Indicator(
            "on_time_check_rate",
            "按时核查率",
            "On-time check rate",
            "checked_on_time",
            "due_for_check",
            "按时核查数 / 应核查数 (checked with no check after its limit; or waiting past the limit)",
        ),
    )
}


class LocalMonth(FunctionElement[str]):
    """``YYYY-MM`` of a UTC time in the city's zone: by name on PostgreSQL, by its current UTC offset on
    SQLite (exact for zones without daylight saving, like Asia/Shanghai)."""

    type = String()
    inherit_cache = True
    name = "local_month"

    def __init__(self, column: Any, tz: str) -> None:
        super().__init__(column, literal(tz))
        self.offset_minutes = int(utcnow().astimezone(ZoneInfo(tz)).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]


@compiles(LocalMonth, "postgresql")
def _month_postgresql(element: LocalMonth, compiler: Any, **kw: Any) -> str:
    column, tz = element.clauses
    return f"to_char(timezone({compiler.process(tz, **kw)}, {compiler.process(column, **kw)}), 'YYYY-MM')"


@compiles(LocalMonth, "sqlite")
def _month_sqlite(element: LocalMonth, compiler: Any, **kw: Any) -> str:
    column, _ = element.clauses
    return f"strftime('%Y-%m', {compiler.process(column, **kw)}, '{element.offset_minutes:+d} minutes')"


GROUPS = {
    "city": None,
    "district": Case.district_code,
    "street": func.substr(Case.grid_code, 1, 9),
    "grid": Case.grid_code,
    "department": Case.department_code,
    "class": Case.class_code,
    "source": Case.source,
    "reporter": Case.reporter,
    "month": "month",  # by the month of reporting, in the city's time zone (for trends)
}
DEFAULT_WEIGHTS = {"on_time_closure_rate": 0.5, "closure_rate": 0.3, "on_time_disposal_rate": 0.2}


def evaluate(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    group_by: str = "city",
    codes: list[str] | None = None,
    weights: dict[str, float] | None = None,
    scope: Any = True,
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """One row per group: each indicator's value (rates as 0–1, None when the denominator is 0) and the
    composite score (weighted mean of the weighted rates that have a value, 0–100)."""
    if group_by not in GROUPS:
        raise Problem(
            422, f"group_by must be one of {', '.join(GROUPS)}.", errors=[{"field": "group_by", "message": "unknown"}]
        )
    unknown = [c for c in codes or [] if c not in INDICATORS]
    if unknown:
        raise Problem(
            422, f"Unknown indicators: {', '.join(unknown)}.", errors=[{"field": "indicators", "message": "unknown"}]
        )
    bad_weights = [c for c in weights or {} if c not in INDICATORS or not INDICATORS[c].is_rate]
    if bad_weights:
        raise Problem(
            422,
            f"Weights apply to rates only: {', '.join(bad_weights)}.",
            errors=[{"field": "weights", "message": "not a rate"}],
        )
    if end <= start:
        raise Problem(422, "The period must end after it starts.", errors=[{"field": "to", "message": "before from"}])
    chosen = [INDICATORS[c] for c in codes] if codes else list(INDICATORS.values())
    conditions = _conditions(utcnow())
    needed = sorted({c for i in chosen for c in (i.numerator, i.denominator) if c} | _weighted_needs(weights))
    columns = [func.sum(sql_case((conditions[name], 1), else_=0)).label(name) for name in needed]
    group_col = LocalMonth(Case.created_at, tz) if group_by == "month" else GROUPS[group_by]
    stmt = select(*([group_col.label("group")] if group_col is not None else []), *columns).where(
        Case.created_at >= start, Case.created_at < end, scope
    )
    if group_col is not None:
        stmt = stmt.group_by(group_col).order_by(group_col)
    rows = []
    for row in session.execute(stmt):
        sums = {name: int(getattr(row, name) or 0) for name in needed}
        values = {i.code: _value(i, sums) for i in chosen}
        rows.append(
            {
                "group": getattr(row, "group", "city") if group_col is not None else "city",
                **values,
                "score": composite(sums, weights or DEFAULT_WEIGHTS),
            }
        )
    return rows


def parse_weights(text: str) -> dict[str, float]:
    """ "on_time_closure_rate:0.5,closure_rate:0.5" → weights; ValueError names what is wrong."""
    weights = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        code, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"weight {part!r} must look like code:0.5")
        if code not in INDICATORS or not INDICATORS[code].is_rate:
            raise ValueError(f"{code!r} is not a rate indicator; weights apply to rates")
        weights[code] = float(value)
        if weights[code] < 0:
            raise ValueError(f"weight of {code} is negative")
    if not weights or not sum(weights.values()):
        raise ValueError("give at least one positive weight")
    return weights


def _weighted_needs(weights: dict[str, float] | None) -> set[str]:
    return {
        c
        for code in (weights or DEFAULT_WEIGHTS)
        for c in (INDICATORS[code].numerator, INDICATORS[code].denominator)
        if c
    }


def _value(indicator: Indicator, sums: dict[str, int]) -> float | int | None:
    if not indicator.is_rate:
        return sums[indicator.numerator]
    denominator = sums[indicator.denominator]
    return round(sums[indicator.numerator] / denominator, 4) if denominator else None


def composite(sums: dict[str, int], weights: dict[str, float]) -> float | None:
    """Weighted mean of the rates, 0–100; rates without cases are left out (and their weight with them)."""
    parts = [(weights[c], _value(INDICATORS[c], sums)) for c in weights if INDICATORS[c].is_rate]
    parts = [(w, v) for w, v in parts if v is not None]
    total = sum(w for w, _ in parts)
    return round(100 * sum(w * v for w, v in parts) / total, 2) if total else None
