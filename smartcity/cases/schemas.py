"""Request and response bodies of the cases API."""

from __future__ import annotations

from datetime import datetime

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
