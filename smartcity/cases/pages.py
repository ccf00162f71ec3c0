"""Web pages of the cases module (so far: the evaluation table)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartcity.cases import evaluation, service
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.web import NavItem, add_nav, add_templates, render
from smartcity.security import Principal, require

add_templates(Path(__file__).resolve().parent / "templates")
add_nav(NavItem("Evaluation", "cases_evaluation", "cases.evaluate", order=300))
router = APIRouter(include_in_schema=False)
SHOWN = ("reports", "registrations", "closures", "closure_rate", "on_time_closure_rate", "rework_rate", "overdue")


@router.get("/cases/evaluation", name="cases_evaluation")
def evaluation_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.evaluate")],
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: Annotated[str, Query(pattern="^(city|district|street|department|class|source)$")] = "district",
) -> Response:
    """Indicators for a period of days (Asia/Shanghai), by group, with a CSV of everything."""
    tz = ZoneInfo(settings.timezone)
    end = end or datetime.now(tz).date()
    start = start or end.replace(day=1)
    if end < start:
        start, end = end, start
    since = datetime.combine(start, time.min, tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tz)
    rows = evaluation.evaluate(session, start=since, end=until, group_by=group_by, scope=service.visible(principal))
    csv_url = "/api/cases/evaluation?" + urlencode(
        {"from": since.isoformat(), "to": until.isoformat(), "group_by": group_by, "format": "csv"}
    )
    return render(
        request,
        "cases/evaluation.html",
        {
            "rows": rows,
            "shown": [evaluation.INDICATORS[c] for c in SHOWN],
            "start": start,
            "end": end,
            "group_by": group_by,
            "csv_url": csv_url,
        },
    )
