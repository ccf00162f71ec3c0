"""The closed loop as data: states, and the actions that move a case between them, with who may act.

Derived from the seven steps of grid management (see docs/cases.md): collection → registration (with
on-site verification of public reports) → dispatch (the clock starts) → disposal → feedback → on-site
check → closure, with return (退回), rework (返工), suspension (缓办/挂账), extension (延期) and
supervision (督办). Only the supervision side closes a case; the handling department never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    REPORTED = "reported"  # 上报
    VERIFYING = "verifying"  # 核实中
    REGISTERED = "registered"  # 立案
    CANCELLED = "cancelled"  # 注销
    DISPATCHED = "dispatched"  # 已派遣
    PROCESSING = "processing"  # 处置中
    RETURNED = "returned"  # 已退回
    SUSPENDED = "suspended"  # 缓办 / 挂账
    CHECKING = "checking"  # 核查中
    CLOSED = "closed"  # 结案


LABELS = {
    State.REPORTED: ("上报", "Reported"),
    State.VERIFYING: ("核实中", "Being verified"),
    State.REGISTERED: ("立案", "Registered"),
    State.CANCELLED: ("注销", "Cancelled"),
    State.DISPATCHED: ("已派遣", "Dispatched"),
    State.PROCESSING: ("处置中", "Being handled"),
    State.RETURNED: ("已退回", "Returned"),
    State.SUSPENDED: ("缓办", "Suspended"),
    State.CHECKING: ("核查中", "Being checked"),
    State.CLOSED: ("结案", "Closed"),
}
FINAL = frozenset({State.CANCELLED, State.CLOSED})
OPEN = frozenset(State) - FINAL
SOURCES = ("inspector", "public", "hotline", "sensor", "superior")
NEEDS_VERIFICATION = frozenset({"public", "hotline"})  # 公众举报 must be verified on site before 立案
SUPERVISION = ("operator", "supervisor")  # the supervision centre's desk


@dataclass(frozen=True)
class Action:
    """One step: from which states, to which (None: the state stays), by which roles.

    ``own_department``: the actor must belong to the department the case is dispatched to (or above it).
    ``needs_note``: a reason is required (cancel, return, rework, suspension, supervision)."""

    name: str
    label_zh: str
    sources: frozenset[State]
    target: State | None
    roles: frozenset[str]
    needs_note: bool = False
    own_department: bool = False


def _action(
    name: str, label: str, sources: set[State], target: State | None, roles: tuple[str, ...], **flags: bool
) -> Action:
    return Action(name, label, frozenset(sources), target, frozenset(roles), **flags)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action("request_verification", "派核实", {State.REPORTED}, State.VERIFYING, SUPERVISION),
        _action("verify", "核实", {State.VERIFYING}, State.REPORTED, ("inspector", "supervisor")),
        _action("register", "立案", {State.REPORTED}, State.REGISTERED, SUPERVISION),
        _action("cancel", "注销", {State.REPORTED, State.VERIFYING}, State.CANCELLED, SUPERVISION, needs_note=True),
        _action("dispatch", "派遣", {State.REGISTERED, State.RETURNED}, State.DISPATCHED, ("dispatcher", "supervisor")),
        _action("accept", "签收", {State.DISPATCHED}, State.PROCESSING, ("handler",), own_department=True),
        _action(
            "return",
            "退回",
            {State.DISPATCHED, State.PROCESSING},
            State.RETURNED,
            ("handler",),
            needs_note=True,
            own_department=True,
        ),
        _action(
            "feedback", "反馈", {State.PROCESSING}, State.CHECKING, ("handler",), needs_note=True, own_department=True
        ),
        _action("check_pass", "核查通过", {State.CHECKING}, State.CLOSED, ("inspector", *SUPERVISION)),
        _action("check_fail", "返工", {State.CHECKING}, State.PROCESSING, ("inspector", *SUPERVISION), needs_note=True),
        _action(
            "request_extension",
            "申请延期",
            {State.DISPATCHED, State.PROCESSING},
            None,
            ("handler",),
            needs_note=True,
            own_department=True,
        ),
        _action("approve_extension", "批准延期", {State.DISPATCHED, State.PROCESSING}, None, ("supervisor",)),
        _action("suspend", "缓办", {State.PROCESSING}, State.SUSPENDED, ("supervisor",), needs_note=True),
        _action("resume", "恢复处置", {State.SUSPENDED}, State.PROCESSING, ("supervisor",)),
        _action("supervise", "督办", set(OPEN), None, ("supervisor",), needs_note=True),
    )
}
