"""Request and response bodies of the cases API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from smartcity.core.schemas import Request, Response


class CaseClassOut(Response):
    standard_ref: str
    version: str
    kind: str
    code: str
    parent_code: str | None
    name: str
    name_en: str | None
    registration_condition: str | None
    closing_condition: str | None
    time_limit: int | None
    time_limit_unit: str | None
    default_department: str | None
    professional_grid: str | None


class DeadlineOut(Response):
    start: datetime
    amount: int
    unit: str
    deadline: datetime


class ComponentOut(Response):
    code: str
    class_code: str
    name: str
    grid_code: str
    location: list[float] = Field(description="lon, lat (WGS-84)")
    competent_department: str | None
    owner_department: str | None
    maintenance_department: str | None
    state: str
    initial_date: date
    changed_date: date | None
    data_source: str
    note: str | None


class CaseIn(Request):
    kind: Literal["component", "event"]
    class_code: str = Field(pattern=r"^\d{4}(\d{2})?$", description="minor (4 digits) or local (6) class")
    description: str = Field(min_length=1, max_length=2000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    source: Literal["inspector", "public", "hotline", "sensor", "superior"] | None = None
    urgency: Literal["normal", "urgent"] = "normal"
    component_code: str | None = Field(None, pattern=r"^\d{16}$")


class ActionIn(Request):
    version: int = Field(ge=1, description="the case version you saw; a newer one means someone acted first")
    note: str | None = Field(None, max_length=2000)
    department_code: str | None = Field(None, max_length=32, description="dispatch: the department")
    override_reason: str | None = Field(None, max_length=500, description="dispatch elsewhere than proposed")
    extension_amount: int | None = Field(None, ge=1, le=1000)
    extension_unit: Literal["working_hours", "working_days"] | None = None


class CaseEventOut(Response):
    action: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    at: datetime
    note: str | None
    data: str | None


class CaseOut(Response):
    number: str
    kind: str
    class_code: str
    source: str
    urgency: str
    description: str
    lon: float
    lat: float
    grid_code: str
    district_code: str
    component_code: str | None
    state: str
    verified: bool
    reporter: str
    department_code: str | None
    dispatched_at: datetime | None
    deadline: datetime | None
    closed_at: datetime | None
    rework_count: int
    supervised: bool
    extension_requested: bool
    created_at: datetime
    version: int
    overdue: bool
    history: list[CaseEventOut] = Field(default_factory=list)


class PhotoOut(Response):
    id: int
    kind: str
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
