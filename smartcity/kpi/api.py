"""HTTP API of the plan's indicators. The catalogue, the values with their sources and history, the yearly report
and the exports are published openly — the plan asks for evaluations to be published (§6.7); entering a value needs
``kpi.enter``, and who recorded each version is shown to those holding ``kpi.read``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from smartcity.core.deps import SessionDep
from smartcity.kpi import catalogue as cat
from smartcity.kpi import export, service
from smartcity.kpi.computed import Reading
from smartcity.kpi.models import IndicatorValue
from smartcity.kpi.schemas import ValueIn
from smartcity.kpi.service import Status
from smartcity.security import Principal, grant, public, require

grant("kpi.read", "see who recorded the plan indicators' values (the indicators themselves are public)",
      "supervisor", "viewer", "emergency", "traffic", "dispatcher", "operator")  # fmt: skip
grant("kpi.enter", "enter and correct the plan indicators' values, take yearly snapshots", "supervisor")

router = APIRouter(prefix="/api/kpi", tags=["kpi"])
Anyone = Annotated[Principal, public()]
Enterer = Annotated[Principal, require("kpi.enter")]
Section = Annotated[str | None, Query(max_length=10, description="a plan section, e.g. §2.1 (see /api/kpi/sections)")]
SourceKind = Annotated[Literal["entered", "computed"] | None, Query(description="entered or computed indicators")]
Area = Annotated[str, Query(pattern=r"^\d{6}$", description="GB/T 2260 code; 310000 (the city) by default")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def indicator_json(item: cat.Indicator) -> dict[str, Any]:
    return {
        "code": item.code,
        "name_zh": item.name.zh,
        "name_en": item.name.en,
        "unit": item.unit.code,
        "unit_zh": item.unit.label.zh,
        "unit_en": item.unit.label.en,
        "definition_zh": item.definition.zh,
        "definition_en": item.definition.en,
        "numerator": _text(item.numerator),
        "denominator": _text(item.denominator),
        "direction": item.direction,
        "target": item.target,
        "target_op": item.target_op,
        "target_year": item.target_year,
        "section": item.section,
        "also_in": list(item.also_in),
        "quote": item.quote,
        "source": item.source,
        "periodicity": item.periodicity,
        "frameworks": [
            {
                "framework": r.framework,
                "code": r.code,
                "name": r.name,
                "relation": r.relation,
                "confidence": r.confidence,
            }
            for r in item.refs
        ],
    }


def _text(text: cat.Text | None) -> dict[str, str] | None:
    return {"zh": text.zh, "en": text.en} if text else None


def status_json(s: Status) -> dict[str, Any]:
    return {
        **indicator_json(s.indicator),
        "baseline": _point(s.baseline),
        "latest": _point(s.latest),
        "progress": s.progress.percent,
        "met": s.progress.met,
        "status": s.progress.status,
        "live": _reading(s.reading) if s.reading is not None else None,
    }


def _point(p: service.Point | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"year": p.year, "quarter": p.quarter or None, "period": p.label(), "value": p.value, "origin": p.origin,
            "version": p.version}  # fmt: skip


def _reading(r: Reading) -> dict[str, Any]:
    return {
        "value": r.value,
        "reason": r.reason or None,
        "as_of": r.as_of.isoformat() if r.as_of else None,
        "areas": [{"area": a.area_code, "value": a.value, "of": a.total} for a in r.areas],
    }


def value_json(row: IndicatorValue, *, current: bool, with_recorder: bool) -> dict[str, Any]:
    body = {
        "id": row.id,
        "indicator": row.indicator,
        "area_code": row.area_code,
        "year": row.year,
        "quarter": row.quarter or None,
        "period": service.period_label(row.year, row.quarter),
        "version": row.version,
        "supersedes": row.supersedes_id,
        "current": current,
        "value": row.value,
        "origin": row.origin,
        "source": {"title": row.source_title, "url": row.source_url, "reference": row.source_reference},
        "note": row.note or None,
        "recorded_at": row.recorded_at.isoformat(),
    }
    if with_recorder:
        body["recorded_by"] = row.recorded_by
    return body


def history_json(rows: list[IndicatorValue], principal: Principal) -> list[dict[str, Any]]:
    superseded = {r.supersedes_id for r in rows if r.supersedes_id is not None}
    allowed = principal.can("kpi.read")
    return [value_json(r, current=r.id not in superseded, with_recorder=allowed) for r in rows]


@router.get("/sections", summary="The plan's sections the indicators come from (open data)")
def sections(_: Anyone) -> list[dict[str, str]]:
    return [{"code": code, "zh": text.zh, "en": text.en} for code, text in service.catalogue().sections.items()]


@router.get("/indicators", summary="The catalogue with each indicator's latest value and progress (open data)")
def indicators(session: SessionDep, _: Anyone, section: Section = None, source: SourceKind = None) -> dict[str, Any]:
    codes = [i.code for i in service.catalogue().filtered(section=section, source=source)]
    statuses = service.overview(session, codes=codes)
    return {"version": service.catalogue().version, "indicators": [status_json(s) for s in statuses]}


@router.get("/summary", summary="The headline indicators now, for dashboards (open data)")
def summary(session: SessionDep, _: Anyone) -> list[dict[str, Any]]:
    return service.summary(session)


@router.get("/indicators/{code}", summary="One indicator: definition, progress, trend and every version (open data)")
def indicator(code: str, session: SessionDep, principal: Anyone, area: Area = service.CITY) -> dict[str, Any]:
    s = service.status(session, code, area_code=area)
    return {
        **status_json(s),
        "area_code": area,
        "trend": [_point(p) for p in s.points],
        "history": history_json(service.history(session, code, area), principal),
    }


@router.post(
    "/indicators/{code}/values",
    status_code=201,
    summary="Enter a value with its source document, or correct one (a new version; history is kept)",
)
def enter(code: str, body: ValueIn, session: SessionDep, principal: Enterer) -> dict[str, Any]:
    """422 lists every problem (unknown or computed indicator, a negative count, a percentage over 100, a year
    outside 2010–2030, no source document); 409 when the period has a value and ``corrects`` does not name it."""
    entry = service.Entry(**body.model_dump())
    row = service.enter_value(session, principal, code, entry)
    return value_json(row, current=True, with_recorder=True)


@router.get("/report/{year}", summary="The evaluation of a year: every indicator as of its end (open data)")
def report(year: int, session: SessionDep, _: Anyone) -> dict[str, Any]:
    found = service.report(session, year)
    return {
        "year": found.year,
        "generated_at": found.generated_at.isoformat(),
        "counts": found.counts,
        "sections": [
            {
                "code": sec.code,
                "zh": sec.title.zh,
                "en": sec.title.en,
                "indicators": [status_json(s) | {"trend": [_point(p) for p in s.points]} for s in sec.statuses],
            }
            for sec in found.sections
        ],
    }


def _export_statuses(session: SessionDep, year: int | None) -> list[Status]:
    if year is not None:
        return service.report(session, year).statuses
    return service.overview(session)


ExportYear = Annotated[int | None, Query(description="progress as of the end of this year (default: now)")]


@router.get("/export.csv", summary="The catalogue with latest values and progress as CSV (open data)")
def export_csv(session: SessionDep, _: Anyone, year: ExportYear = None) -> Response:
    return Response(
        export.to_csv(_export_statuses(session, year)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kpi-{year or "latest"}.csv"'},
    )


@router.get("/export.xlsx", summary="The catalogue and every stored version as an Excel workbook (open data)")
def export_xlsx(session: SessionDep, principal: Anyone, year: ExportYear = None) -> Response:
    values = service.all_versions(session)
    body = export.to_xlsx(_export_statuses(session, year), values, with_recorder=principal.can("kpi.read"))
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="kpi-{year or "latest"}.xlsx"'})  # fmt: skip
