"""HTTP API of the cases module (so far: the class catalogue)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from smartcity.cases import calendar, catalogue, components, photos, schemas, service
from smartcity.cases import evaluation as evaluation_service
from smartcity.cases.models import Component
from smartcity.cases.schemas import DeadlineOut
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.schemas import Page
from smartcity.places import ogcapi
from smartcity.security import Principal, grant, require

grant(
    "cases.read",
    "read the case catalogue and cases in scope",
    "supervisor",
    "dispatcher",
    "operator",
    "inspector",
    "handler",
    "viewer",
)
grant("cases.report", "report cases", "supervisor", "operator", "inspector", "device")
grant("cases.evaluate", "see the evaluation indicators", "supervisor", "dispatcher", "operator", "viewer")
grant("cases.supervise", "see the supervision desk: extensions, overdue, suspended, supervised cases", "supervisor")
grant(
    "cases.act",
    "move cases through the closed loop (each action checks the role itself)",
    "supervisor",
    "dispatcher",
    "operator",
    "inspector",
    "handler",
)

router = APIRouter(prefix="/api/cases", tags=["cases"])
ogcapi.add_collection(
    ogcapi.Collection(
        "components",
        "Components 部件",
        "Public facilities with their 16-digit IDs, class, state and grid.",
        Component,
        lambda: Component.id.is_not(None),
        {
            "code": Component.code,
            "class_code": Component.class_code,
            "name": Component.name,
            "grid_code": Component.grid_code,
            "state": Component.state,
        },
    )
)
Kind = Literal["component", "event"]


@router.get("/catalogue", response_model=list[schemas.CaseClassOut], summary="Component and event classes")
def list_classes(
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    kind: Annotated[Kind | None, Query()] = None,
    standard_ref: Annotated[str | None, Query(max_length=160)] = None,
) -> list[schemas.CaseClassOut]:
    return [
        schemas.CaseClassOut.model_validate(c)
        for c in catalogue.list_classes(session, kind=kind, standard_ref=standard_ref)
    ]


@router.get("/catalogue/{kind}/{code}", response_model=schemas.CaseClassOut, summary="One class")
def get_class(
    kind: Kind,
    code: str,
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    standard_ref: Annotated[str | None, Query(max_length=160)] = None,
) -> schemas.CaseClassOut:
    return schemas.CaseClassOut.model_validate(catalogue.get_class(session, kind, code, standard_ref))


@router.get("/calendar/deadline", response_model=DeadlineOut, summary="Deadline of a time limit")
def deadline(
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, require("cases.read")],
    start: Annotated[datetime, Query(description="start, ISO 8601 with offset")],
    amount: Annotated[int, Query(ge=1, le=10_000)],
    unit: Annotated[Literal["working_hours", "working_days"], Query()] = "working_days",
) -> DeadlineOut:
    """When a time limit from ``start`` runs out on the working calendar (holidays and make-up days)."""
    if start.tzinfo is None:
        raise Problem(
            422,
            "Give start with its offset, e.g. 2026-10-09T16:00:00+08:00.",
            errors=[{"field": "start", "message": "no time-zone offset"}],
        )
    due = calendar.load(session, settings.working_hours, settings.timezone).deadline(start, amount, unit)
    return DeadlineOut(start=start, amount=amount, unit=unit, deadline=due)


def _component_out(component) -> schemas.ComponentOut:  # type: ignore[no-untyped-def]
    fields = {k: getattr(component, k) for k in schemas.ComponentOut.model_fields if k != "location"}
    return schemas.ComponentOut(**fields, location=[component.min_lon, component.min_lat])


@router.get("/components", response_model=Page[schemas.ComponentOut], summary="Search the component inventory")
def search_components(
    session: SessionDep,
    _: Annotated[Principal, require("cases.read")],
    class_code: Annotated[str | None, Query(pattern=r"^\d{2,4}$", description="major or minor class")] = None,
    grid: Annotated[str | None, Query(pattern=r"^\d{6,15}$", description="grid or division code prefix")] = None,
    state: Annotated[Literal["intact", "damaged", "lost", "abandoned", "removed"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=60, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[schemas.ComponentOut]:
    found, total = components.search(
        session, class_code=class_code, grid=grid, state=state, text=q, limit=limit, offset=offset
    )
    return Page(items=[_component_out(c) for c in found], total=total, limit=limit, offset=offset)


@router.get("/components/{code}", response_model=schemas.ComponentOut, summary="One component by its 16-digit ID")
def get_component(
    code: str, session: SessionDep, _: Annotated[Principal, require("cases.read")]
) -> schemas.ComponentOut:
    return _component_out(components.get_component(session, code))


def _case_out(session, case, *, with_history: bool = False) -> schemas.CaseOut:  # type: ignore[no-untyped-def]
    fields = {k: getattr(case, k) for k in schemas.CaseOut.model_fields if k not in ("overdue", "history")}
    history = [schemas.CaseEventOut.model_validate(e) for e in service.history(session, case)] if with_history else []
    return schemas.CaseOut(**fields, overdue=service.is_overdue(case), history=history)


# Fixed paths before /{number}: routes match in the order they are declared.
@router.get("/evaluation", summary="Evaluation indicators by group (JSON or CSV)")
def evaluation(
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.evaluate")],
    start: Annotated[datetime, Query(alias="from", description="period start (cases reported from), with offset")],
    end: Annotated[datetime, Query(alias="to", description="period end (exclusive), with offset")],
    group_by: Annotated[
        str, Query(description="city, district, street, grid, department, class, source, reporter, month")
    ] = "city",
    indicators: Annotated[str | None, Query(description="comma-separated codes (default: all)")] = None,
    weights: Annotated[
        str | None, Query(description="composite weights, e.g. on_time_closure_rate:0.6,closure_rate:0.4")
    ] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Counts and rates over the cases reported in [from, to) that you may see; see docs/cases.md for every
    formula. ``score`` is the weighted mean of the weighted rates, 0–100."""
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(
            422,
            "Give from and to with their offset, e.g. 2026-11-01T00:00:00+08:00.",
            errors=[{"field": "from", "message": "no time-zone offset"}],
        )
    rows = evaluation_service.evaluate(
        session,
        start=start,
        end=end,
        group_by=group_by,
        scope=service.visible(principal),
        codes=[c for c in (indicators or "").split(",") if c] or None,
        weights=_weights(weights) or evaluation_service.parse_weights(settings.case_score_weights),
        tz=settings.timezone,
    )
    if format == "csv":
        return _csv(rows)
    if format == "xlsx":
        return _xlsx(rows)
    return JSONResponse({"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by, "rows": rows})


def _weights(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        return {k: float(v) for k, v in (part.split(":", 1) for part in text.split(",") if part)}
    except ValueError as exc:
        raise Problem(
            422, "weights must look like code:0.5,code:0.5.", errors=[{"field": "weights", "message": "malformed"}]
        ) from exc


def _csv(rows: list[dict]) -> Response:
    out = io.StringIO()
    columns = list(rows[0]) if rows else ["group"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="evaluation.csv"'},
    )


@router.get("/map", summary="Open cases in a box, as GeoJSON points (for the map)")
def cases_map(
    session: SessionDep,
    principal: Annotated[Principal, require("cases.read")],
    bbox: Annotated[str, Query(description="minLon,minLat,maxLon,maxLat")],
) -> JSONResponse:
    """Only what a map needs — number, class, state, overdue — and only the cases you may see."""
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError as exc:
        raise Problem(
            422,
            "bbox must be four numbers: minLon,minLat,maxLon,maxLat.",
            errors=[{"field": "bbox", "message": "malformed"}],
        ) from exc
    features = [
        {
            "type": "Feature",
            "id": c.number,
            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
            "properties": {
                "number": c.number,
                "class_code": c.class_code,
                "state": c.state,
                "overdue": service.is_overdue(c),
            },
        }
        for c in service.open_cases_in(session, principal, (west, south, east, north))
    ]
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type="application/geo+json")


@router.post("", response_model=schemas.CaseOut, status_code=201, summary="Report a case")
def report_case(
    body: schemas.CaseIn, session: SessionDep, principal: Annotated[Principal, require("cases.report")]
) -> schemas.CaseOut:
    """Inspectors, operators (hotline and public reports), supervisors and devices report; the point is
    placed on its unit grid (422 outside the city)."""
    return _case_out(session, service.report(session, principal, **body.model_dump()), with_history=True)


@router.get("", response_model=Page[schemas.CaseOut], summary="Cases in your scope, newest first")
def list_cases(
    session: SessionDep,
    principal: Annotated[Principal, require("cases.read")],
    state: Annotated[str | None, Query(pattern="^[a-z]+$")] = None,
    overdue: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[schemas.CaseOut]:
    found, total = service.list_cases(session, principal, state=state, overdue=overdue, limit=limit, offset=offset)
    return Page(items=[_case_out(session, c) for c in found], total=total, limit=limit, offset=offset)


@router.get("/{number}", response_model=schemas.CaseOut, summary="A case with its history")
def get_case(
    number: str, session: SessionDep, principal: Annotated[Principal, require("cases.read")]
) -> schemas.CaseOut:
    return _case_out(session, service.get_case(session, principal, number), with_history=True)


@router.get("/{number}/proposal", summary="The department the responsibility grids propose")
def proposal(
    number: str, session: SessionDep, principal: Annotated[Principal, require("cases.read")]
) -> dict[str, str | None]:
    return {"department_code": service.proposed_department(session, service.get_case(session, principal, number))}


@router.post("/{number}/actions/{action}", response_model=schemas.CaseOut, summary="Move a case on")
def act(
    number: str,
    action: str,
    body: schemas.ActionIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.act")],
) -> schemas.CaseOut:
    """Actions: request_verification, verify, register, cancel, dispatch, accept, return, feedback,
    check_pass, check_fail, request_extension, approve_extension, suspend, resume, supervise. Send the
    ``version`` you saw: 409 if the case moved on or the action does not apply in its state."""
    case = service.act(session, settings, principal, number, action, service.Step(**body.model_dump()))
    return _case_out(session, case, with_history=True)


@router.post("/{number}/photos", response_model=schemas.PhotoOut, status_code=201, summary="Add a photo")
async def add_photo(
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.act")],
    file: Annotated[UploadFile, File(description="JPEG or PNG; metadata (EXIF, GPS) is removed")],
    kind: Annotated[Literal["before", "after", "check"], Form()] = "before",
) -> schemas.PhotoOut:
    """Anyone who may act on a case and can see it adds photos: before (report), after (feedback), check."""
    data = await file.read(settings.max_photo_bytes + 1)
    case = await run_in_threadpool(service.get_case, session, principal, number)
    photo = await run_in_threadpool(
        lambda: photos.store(session, settings, case, data, kind=kind, actor=principal.username)
    )
    return schemas.PhotoOut.model_validate(photo)


@router.get("/{number}/photos", response_model=list[schemas.PhotoOut], summary="Photos of a case")
def list_photos(
    number: str, session: SessionDep, principal: Annotated[Principal, require("cases.read")]
) -> list[schemas.PhotoOut]:
    case = service.get_case(session, principal, number)
    return [schemas.PhotoOut.model_validate(p) for p in photos.photos_of(session, case)]


@router.get("/{number}/photos/{photo_id}", summary="One photo (only for those who may see the case)")
def get_photo(
    number: str,
    photo_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("cases.read")],
) -> FileResponse:
    path, photo = photos.photo_file(session, settings, service.get_case(session, principal, number), photo_id)
    if not path.exists():
        raise Problem(404, "The photo's file is missing from the media directory.", code="file-missing")
    return FileResponse(path, media_type=photo.content_type, headers={"Cache-Control": "private, max-age=3600"})


def _xlsx(rows: list[dict]) -> Response:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "evaluation"
    columns = list(rows[0]) if rows else ["group"]
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="evaluation.xlsx"'},
    )
