"""The hotline's indicators per department, district, order type or matter and period, in one SQL aggregate.

Definitions follow published local practice (docs/hotline.md cites them): 直接答复率 = 直接答复量 / 受理量,
按时签收率 = 按时签收量 / 应签收量, 按时办结率 = 按时办结量 / 应办结量, 回访率 = 回访量 / 已答复量, 满意率 =
(满意 + 基本满意) / 回访量, 重办率 = 重办工单 / 回访量, 答复率 = 已答复 / 已办结, 解决率 = 已解决 / 回访中问及,
重复来电率 = 30 天内再次来电的工单 / 受理量. Orders merged into another are counted once, on the
order that was handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.core.errors import Problem
from smartcity.hotline.models import WorkOrder


def _conditions(now: datetime) -> dict[str, Any]:
    o = WorkOrder
    dispatched = o.first_dispatched_at.is_not(None)
    return {
        "received": o.merged_into.is_(None),
        "answered": o.answered_directly.is_(True),
        "dispatched": dispatched,
        "due_for_sign": and_(dispatched, o.signed_at.is_not(None) | (o.sign_due_at <= now)),
        "signed_on_time": and_(o.signed_at.is_not(None), o.signed_late.is_(False)),
        "due_for_handling": and_(dispatched, o.handled_at.is_not(None) | (o.due_at <= now)),
        "handled_on_time": and_(dispatched, o.handled_at.is_not(None), o.handled_at <= o.due_at),
        "replied": and_(o.merged_into.is_(None), o.replied_at.is_not(None)),
        "called_back": and_(o.merged_into.is_(None), o.called_back_at.is_not(None)),
        "satisfied": and_(o.merged_into.is_(None), o.satisfaction.in_(("satisfied", "basically_satisfied"))),
        "rehandled": and_(o.merged_into.is_(None), o.rehandle_count > 0),
        "handled": and_(o.merged_into.is_(None), o.handled_at.is_not(None)),
        "asked_resolved": and_(o.merged_into.is_(None), o.resolved.is_not(None)),
        "resolved": and_(o.merged_into.is_(None), o.resolved.is_(True)),
        "repeat_caller": and_(o.merged_into.is_(None), o.repeat_caller.is_(True)),
        "escalated": o.escalated.is_(True),
        "returned": o.return_count > 0,
        "in_case": o.case_number.is_not(None),
    }


@dataclass(frozen=True)
class Metric:
    code: str
    name_zh: str
    name_en: str
    numerator: str
    denominator: str | None = None
    lower_is_better: bool = False

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None


METRICS: dict[str, Metric] = {
    m.code: m
    for m in (
        Metric("received", "受理量", "Orders received", "received"),
        Metric("direct_answer_rate", "直接答复率", "Direct-answer rate", "answered", "received"),
        Metric("dispatched", "转办量", "Orders dispatched", "dispatched"),
        Metric("to_grid_cases", "转数字城管量", "Sent to grid management", "in_case"),
        Metric("on_time_sign_rate", "按时签收率", "On-time sign-for rate", "signed_on_time", "due_for_sign"),
        Metric("on_time_handling_rate", "按时办结率", "On-time handling rate", "handled_on_time", "due_for_handling"),
        Metric("returned", "退单工单数", "Orders returned", "returned", lower_is_better=True),
        Metric("reply_rate", "答复率", "Reply rate", "replied", "handled"),
        Metric("callback_rate", "回访率", "Callback rate", "called_back", "replied"),
        Metric("satisfaction_rate", "满意率", "Satisfaction rate", "satisfied", "called_back"),
        Metric("rehandle_rate", "重办率", "Re-handling rate", "rehandled", "called_back", lower_is_better=True),
        Metric("resolution_rate", "解决率", "Resolution rate", "resolved", "asked_resolved"),
        Metric(
            "repeat_caller_rate", "重复来电率", "Repeat-caller rate", "repeat_caller", "received", lower_is_better=True
        ),
        Metric("escalated", "提级督办数", "Escalated", "escalated", lower_is_better=True),
    )
}
GROUPS = {
    "city": None,
    "department": WorkOrder.department_code,
    "district": WorkOrder.district_code,
    "type": WorkOrder.order_type,
    "matter": WorkOrder.matter_code,
    "channel": WorkOrder.channel,
}


def compute(
    session: Session, *, start: datetime, end: datetime, group_by: str = "city", scope: Any = True
) -> list[dict[str, Any]]:
    """One row per group with every metric (rates 0–1, None without a denominator)."""
    if group_by not in GROUPS:
        raise Problem(
            422, f"group_by must be one of {', '.join(GROUPS)}.", errors=[{"field": "group_by", "message": "unknown"}]
        )
    if end <= start:
        raise Problem(422, "The period must end after it starts.", errors=[{"field": "to", "message": "before from"}])
    conditions = _conditions(utcnow())
    columns = [func.sum(sql_case((cond, 1), else_=0)).label(name) for name, cond in conditions.items()]
    group = GROUPS[group_by]
    stmt = select(*([group.label("group")] if group is not None else []), *columns).where(
        WorkOrder.created_at >= start, WorkOrder.created_at < end, scope
    )
    if group is not None:
        stmt = stmt.group_by(group).order_by(group)
    rows = []
    for row in session.execute(stmt):
        sums = {name: int(getattr(row, name) or 0) for name in conditions}
        values = {m.code: _value(m, sums) for m in METRICS.values()}
        rows.append({"group": getattr(row, "group", None) if group is not None else "city", **values})
    return rows


def _value(metric: Metric, sums: dict[str, int]) -> float | int | None:
    if not metric.is_rate:
        return sums[metric.numerator]
    denominator = sums[metric.denominator]  # type: ignore[index]
    return round(sums[metric.numerator] / denominator, 4) if denominator else None


def ranked(rows: list[dict[str, Any]], metric: Metric) -> list[dict[str, Any]]:
    """Rows best first by one metric (its direction decides), groups without a value last; each gets its
    rank (ties share one)."""
    valued = [r for r in rows if r[metric.code] is not None]
    valued.sort(key=lambda r: r[metric.code], reverse=not metric.lower_is_better)
    result, previous, rank = [], None, 0
    for position, row in enumerate(valued, start=1):
        if row[metric.code] != previous:
            rank, previous = position, row[metric.code]
        result.append({**row, "rank": rank})
    return result + [{**r, "rank": None} for r in rows if r[metric.code] is None]
