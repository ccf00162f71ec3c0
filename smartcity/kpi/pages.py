"""Pages of the plan's indicators: the catalogue with each indicator's progress (said in words and figures, the bar
only repeats it), an indicator's page (definition, the plan's words, target, trend chart beside its table, every
version with its source, and the form to enter or correct a value), and the yearly evaluation report as HTML and
PDF. Reading is public (the plan publishes its evaluations, §6.7); entering needs ``kpi.enter``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from smartcity.core import charts
from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, add_templates, language_of, render, translate
from smartcity.kpi import catalogue as cat
from smartcity.kpi import chart, computed, forms, pdf, service
from smartcity.kpi.service import CITY, Status
from smartcity.security import Principal, public, require

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Plan indicators", "kpi_catalogue", "kpi.read", order=800))
router = APIRouter(include_in_schema=False)

Anyone = Annotated[Principal, public()]
Enterer = Annotated[Principal, require("kpi.enter")]
Notice = Annotated[str, Query(pattern="^[a-z_]{0,30}$", description="the step just done, said on the page")]
Area = Annotated[str, Query(pattern=r"^\d{6}$")]


def _districts(session: Session, language: str) -> dict[str, str]:
    """District names by code (and the city), in the page's language; empty when no divisions are loaded."""
    from smartcity.places import service as places

    names = {CITY: "上海市" if language == "zh-CN" else "Shanghai"}
    for d in places.list_divisions(session, level="district"):
        names[d.code] = d.name if language == "zh-CN" else (d.name_en or d.name)
    return names


def _value_format(item: cat.Indicator) -> Any:
    unit = item.unit.label.en
    return (lambda v: f"{cat.format_number(v)}%") if unit == "%" else cat.format_number


def trend_chart(request: Request, s: Status) -> Any:
    language = language_of(request)
    item = s.indicator
    marks = [chart.Mark(p.label(language), p.value, p.origin == "live") for p in s.points]
    title = translate(request, "%(name)s: values by period", name=item.name.said(language))
    target = translate(request, "target %(target)s (%(year)s)", target=item.target_text, year=item.target_year)
    return chart.trend(title, marks, target=item.target, target_label=target if item.target is not None else "",
                       fmt=_value_format(item), describe_live=translate(request, "live reading"))  # fmt: skip


def _years() -> list[int]:
    """The years a report can be read for: the plan's first year to this one."""
    return list(range(2011, computed.window().year + 1))


# ---------------------------------------------------------------- the catalogue


@router.get("/kpi", name="kpi_catalogue")
def catalogue_page(
    request: Request,
    session: SessionDep,
    _: Anyone,
    section: Annotated[str, Query(max_length=10)] = "",
    source: Annotated[str, Query(pattern="^(|entered|computed)$")] = "",
) -> Response:
    """Every indicator with its latest value and progress, filtered by plan section and kind of source."""
    catalogue = service.catalogue()
    if section and section not in catalogue.sections:
        section = ""
    items = catalogue.filtered(section=section or None, source=source or None)
    statuses = service.overview(session, codes=[i.code for i in items])
    context = {"statuses": statuses, "sections": catalogue.sections, "section": section, "source": source,
               "years": _years(), "plan": catalogue, "fmt": cat.format_number,
               "said": lambda text: translate(request, text)}  # fmt: skip
    return render(request, "kpi/catalogue.html", context)


# ---------------------------------------------------------------- the yearly report (before /kpi/{code})


@router.get("/kpi/report/{year}.pdf", name="kpi_report_pdf")
def report_pdf(year: int, request: Request, session: SessionDep, _: Anyone) -> Response:
    found = service.report(session, year)
    body = pdf.render(found, language_of(request), service.catalogue())
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="kpi-report-{year}.pdf"'})  # fmt: skip


@router.get("/kpi/report/{year}", name="kpi_report")
def report_page(year: int, request: Request, session: SessionDep, _: Anyone) -> Response:
    """The evaluation of a year: the counts, a chart of every target's progress, a table per plan section, and the
    trend of each indicator with two values or more."""
    found = service.report(session, year)
    language = language_of(request)
    targeted = [s for s in found.statuses if s.progress.status in ("met", "not_met")]
    points = [charts.Point(s.indicator.name.said(language), s.progress.share) for s in targeted]
    overview = charts.bar_chart(translate(request, "Progress towards the targets, %(year)s", year=year), points,
                                fmt=charts.percent, maximum=1.0, no_data=translate(request, "no data"))  # fmt: skip
    trends = [(s, trend_chart(request, s)) for s in found.statuses if len(s.points) >= 2]
    context = {"report": found, "overview": overview if targeted else None, "trends": trends,
               "years": _years(), "plan": service.catalogue(), "fmt": cat.format_number}  # fmt: skip
    return render(request, "kpi/report.html", context)


# ---------------------------------------------------------------- one indicator


def _indicator_page(
    request: Request, session: Session, principal: Principal, code: str, *, area: str = CITY, done: str = "",
    form: dict[str, str] | None = None, correcting: Any = None, problem: Problem | None = None,
) -> Response:  # fmt: skip
    language = language_of(request)
    s = service.status(session, code, area_code=area)
    rows = service.history(session, code)
    superseded = {r.supersedes_id: r for r in rows if r.supersedes_id is not None}
    can_enter = principal.can("kpi.enter") and s.indicator.is_entered
    if form is None:
        form = dict.fromkeys(forms.FIELDS, "") | {"area_code": area}
        if correcting is not None:
            form |= {"year": str(correcting.year), "quarter": str(correcting.quarter or ""),
                     "area_code": correcting.area_code, "corrects": str(correcting.version),
                     "source_title": correcting.source_title, "source_url": correcting.source_url or "",
                     "source_reference": correcting.source_reference or ""}  # fmt: skip
    context = {
        "s": s,
        "item": s.indicator,
        "section": service.catalogue().sections.get(s.indicator.section),
        "also_in": [service.catalogue().sections[c] for c in s.indicator.also_in],
        "trend": trend_chart(request, s),
        "history": rows,
        "superseded_by": superseded,
        "areas": _districts(session, language),
        "area": area,
        "can_enter": can_enter,
        "can_see_recorder": principal.can("kpi.read"),
        "form": form,
        "correcting": correcting,
        "trouble": forms.Trouble.of(problem),
        "problem_code": problem.code if problem else "",
        "done": done,
        "fmt": cat.format_number,
        "said": lambda text: translate(request, text),  # a service's marked message, translated and escaped
        "value_fmt": _value_format(s.indicator),
        "source_module": computed.SOURCES.get(s.indicator.computed or ""),
    }
    return render(request, "kpi/indicator.html", context, status=problem.status if problem else 200)


@router.get("/kpi/{code}", name="kpi_indicator")
def indicator_page(
    code: str,
    request: Request,
    session: SessionDep,
    principal: Anyone,
    area: Area = CITY,
    correct: Annotated[int | None, Query(ge=1, description="a value id: fill the form to correct it")] = None,
    done: Notice = "",
) -> Response:
    correcting = None
    if correct is not None and principal.can("kpi.enter"):
        correcting = service.get_value(session, code, correct)
        if not service.is_current(session, correcting):
            correcting = None  # only the current version is corrected; the page shows the newer one
    return _indicator_page(request, session, principal, code, area=area, done=done, correcting=correcting)


@router.post("/kpi/{code}/values", name="kpi_enter")
def enter_value(
    code: str, request: Request, session: SessionDep, principal: Enterer, body: Annotated[forms.ValueForm, Form()]
) -> Response:
    """Record the form's value (a correction when it names the version it corrects); a refused value comes back
    to the page with each problem beside its field."""
    service.indicator(code)
    entry, errors = forms.read(body)
    problem: Problem | None = None
    row = None
    if entry is None:
        problem = Problem(422, "The value cannot be recorded.", code="invalid-value", errors=errors)
    else:
        try:
            with session.begin_nested():
                row = service.enter_value(session, principal, code, entry)
        except Problem as refused:
            problem = refused
    if problem is not None or row is None:
        texts = body.texts()
        correcting = None
        if entry is not None and entry.corrects is not None:
            correcting = service.current_version(session, code, entry.area_code, entry.year, entry.quarter)
        area = texts["area_code"] if re.fullmatch(r"\d{6}", texts["area_code"]) else CITY
        return _indicator_page(request, session, principal, code, area=area, form=texts, correcting=correcting,
                               problem=problem)  # fmt: skip
    done = "corrected" if row.version > 1 else "recorded"
    return RedirectResponse(f"/kpi/{code}?area={row.area_code}&done={done}#history", status_code=303)
