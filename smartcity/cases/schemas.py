"""Request and response bodies of the cases API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from smartcity.core.schemas import Response


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
