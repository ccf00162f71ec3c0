"""The hotline's closed loop as data: 受理 → 转办 → 签收/办理 → 办结 → 回复 → 回访 → 归档, with direct answers,
returns, extensions, joint handling, supervision, merging, and urban-management matters that run through a
grid case. States, actions and who may take them; the rules that need data live in service.py."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"  # 已受理
    DISPATCHED = "dispatched"  # 已转办 (waiting for sign-for)
    HANDLING = "handling"  # 办理中
    RETURNED = "returned"  # 已退单
    IN_CASE = "in_case"  # 数字城管办理中
    HANDLED = "handled"  # 已办结 (reply due)
    REPLIED = "replied"  # 已答复 (callback due)
    CLOSED = "closed"  # 已归档
    MERGED = "merged"  # 已并单


LABELS = {
    State.RECEIVED: ("已受理", "Received"),
    State.DISPATCHED: ("已转办", "Dispatched"),
    State.HANDLING: ("办理中", "Being handled"),
    State.RETURNED: ("已退单", "Returned"),
    State.IN_CASE: ("数字城管办理中", "In the grid-management loop"),
    State.HANDLED: ("已办结", "Handled"),
    State.REPLIED: ("已答复", "Replied"),
    State.CLOSED: ("已归档", "Closed"),
    State.MERGED: ("已并单", "Merged"),
}
FINAL = frozenset({State.CLOSED})
OPEN = frozenset(State) - FINAL
DESK = ("operator", "supervisor")  # the hotline centre


@dataclass(frozen=True)
class Action:
    """``own_department``: a handler of the lead department (or above it); ``co_department``: also a
    department handling jointly. ``needs_note``: text is required (the answer, the reason, the result)."""

    name: str
    label_zh: str
    sources: frozenset[State]
    target: State | None
    roles: frozenset[str]
    needs_note: bool = False
    own_department: bool = False
    co_department: bool = False


def _action(
    name: str, label: str, sources: set[State], target: State | None, roles: tuple[str, ...], **flags: bool
) -> Action:
    return Action(name, label, frozenset(sources), target, frozenset(roles), **flags)


HANDLED_BY_DEPARTMENT = {State.DISPATCHED, State.HANDLING}
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action("answer", "直接答复", {State.RECEIVED}, State.REPLIED, DESK, needs_note=True),
        _action("dispatch", "转办", {State.RECEIVED, State.RETURNED}, State.DISPATCHED, DESK),
        _action("to_case", "转数字城管", {State.RECEIVED, State.RETURNED}, State.IN_CASE, DESK),
        _action("merge", "并单", {State.RECEIVED}, State.MERGED, DESK),
        _action("sign", "签收", {State.DISPATCHED}, State.HANDLING, ("handler",), own_department=True),
        _action(
            "return", "退单", HANDLED_BY_DEPARTMENT, State.RETURNED, ("handler",), needs_note=True, own_department=True
        ),
        _action(
            "contribute",
            "会办意见",
            HANDLED_BY_DEPARTMENT,
            None,
            ("handler",),
            needs_note=True,
            co_department=True,
        ),
        _action(
            "request_extension",
            "申请延期",
            {State.HANDLING},
            None,
            ("handler",),
            needs_note=True,
            own_department=True,
        ),
        _action("approve_extension", "批准延期", {State.HANDLING}, None, ("supervisor",)),
        _action(
            "complete", "办结", {State.HANDLING}, State.HANDLED, ("handler",), needs_note=True, own_department=True
        ),
        _action("reply", "答复市民", {State.HANDLED}, State.REPLIED, DESK, needs_note=True),
        _action("callback", "回访", {State.REPLIED}, State.CLOSED, DESK),
        _action("supervise", "督办", set(OPEN - {State.MERGED}), None, ("supervisor",), needs_note=True),
    )
}
