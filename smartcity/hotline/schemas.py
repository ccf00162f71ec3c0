"""Request and response bodies of the hotline API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from smartcity.core.schemas import Request, Response

OrderType = Literal["inquiry", "help", "complaint", "report", "suggestion", "praise"]


class MatterOut(Response):
    code: str
    name: str
    name_en: str | None
    level: str
    department_code: str | None
    sign_limit_hours: int
    handle_limit: int
    handle_limit_unit: str
    urgent_limit: int
    urgent_limit_unit: str
    case_kind: str | None
    case_class: str | None
    keywords: str | None


class OrderIn(Request):
    order_type: OrderType = Field(description="咨询 inquiry, 求助 help, 投诉 complaint, 举报 report, 建议, 表扬")
    description: str = Field(min_length=1, max_length=4000, description="plain text; HTML is refused")
    title: str | None = Field(None, max_length=120)
    matter_code: str | None = Field(None, max_length=16, description="a code of the dispatch catalogue")
    urgency: Literal["normal", "urgent"] = "normal"
    caller_name: str | None = Field(None, max_length=60)
    caller_phone: str | None = Field(None, max_length=30)
    caller_email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180, description="WGS-84")
    lat: float | None = Field(None, ge=-90, le=90, description="WGS-84")
    channel: Literal["phone", "web", "api"] = "phone"


class PublicOrderIn(Request):
    order_type: OrderType
    description: str = Field(min_length=1, max_length=4000)
    matter_code: str | None = Field(None, max_length=16)
    caller_name: str | None = Field(None, max_length=60)
    caller_phone: str = Field(min_length=5, max_length=30, description="needed to track the order and for the reply")
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class ActionIn(Request):
    version: int = Field(ge=1, description="the order version you saw; a newer one means someone acted first")
    note: str | None = Field(None, max_length=4000, description="answer, reason, result or reply text")
    department_code: str | None = Field(None, max_length=32, description="dispatch: the lead department")
    co_departments: list[str] | None = Field(None, max_length=10, description="dispatch: joint handling")
    extension_amount: int | None = Field(None, ge=1, le=1000)
    extension_unit: Literal["working_hours", "working_days"] | None = None
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] | None = None
    reopen: bool = Field(False, description="callback: a dissatisfied citizen's order is handled again (重办)")
    resolved: bool | None = Field(None, description="callback: the citizen says the matter is solved (解决)")
    target: str | None = Field(None, max_length=20, description="merge: the order that handles this one")
    kind: Literal["component", "event"] | None = Field(None, description="to_case: grid class kind")
    class_code: str | None = Field(None, max_length=8, description="to_case: grid class code")
    case_number: str | None = Field(
        None, max_length=20, description="to_case: join this open grid case instead of reporting a new one"
    )


class OrderEventOut(Response):
    action: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    at: datetime
    note: str | None


class OrderOut(Response):
    number: str
    channel: str
    order_type: str
    matter_code: str | None
    urgency: str
    title: str
    description: str
    caller_name: str | None
    caller_phone: str | None
    caller_email: str | None
    contact_masked: bool
    address: str | None
    lon: float | None
    lat: float | None
    grid_code: str | None
    district_code: str | None
    state: str
    department_code: str | None
    co_departments: list[str]
    case_number: str | None
    merged_into: str | None
    answered_directly: bool
    escalated: bool
    supervised: bool
    extension_requested: bool
    rehandle_count: int
    departments_seen: int
    return_count: int
    created_at: datetime
    sign_due_at: datetime | None
    signed_at: datetime | None
    due_at: datetime | None
    handled_at: datetime | None
    result: str | None
    replied_at: datetime | None
    reply: str | None
    satisfaction: str | None
    resolved: bool | None
    repeat_caller: bool
    media_url: str | None
    closed_at: datetime | None
    overdue: bool
    version: int
    history: list[OrderEventOut] = Field(default_factory=list)


class TrackOut(Response):
    """What a citizen sees of their order: no staff names, no internal notes."""

    number: str
    title: str
    state: str
    state_label: str
    created_at: datetime
    replied_at: datetime | None
    reply: str | None
    closed_at: datetime | None


class DuplicateOut(Response):
    number: str
    title: str
    state: str
    created_at: datetime
    reasons: list[str]
    score: float


class ArticleIn(Request):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    keywords: str | None = Field(None, max_length=300)
    topic: str | None = Field(None, max_length=60)
    department_code: str | None = Field(None, max_length=32)
    matter_code: str | None = Field(None, max_length=16)


class ArticleOut(Response):
    id: int
    title: str
    body: str
    keywords: str | None
    topic: str | None
    department_code: str | None
    matter_code: str | None
    active: bool
    updated_by: str
    updated_at: datetime


class HitOut(Response):
    score: float
    article: ArticleOut


class PhotoOut(Response):
    id: int
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
