"""HTTP API of the hotline: orders, actions, duplicates, the dispatch catalogue, the knowledge base, and the
citizen's own submit-and-track endpoints (no account, rate limited)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from smartcity.core import audit, ratelimit
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.privacy import mask_email, mask_name, mask_phone
from smartcity.core.schemas import Page
from smartcity.hotline import catalogue, knowledge, photos, schemas, service
from smartcity.hotline import metrics as metrics_service
from smartcity.hotline.models import WorkOrder
from smartcity.hotline.workflow import LABELS, State
from smartcity.security import Principal, grant, public, require

grant("hotline.read", "read hotline orders in scope", "supervisor", "operator", "dispatcher", "handler", "viewer")
grant("hotline.intake", "take orders from callers (受理)", "supervisor", "operator")
grant(
    "hotline.act",
    "move orders through the loop (each action checks the role itself)",
    "supervisor",
    "operator",
    "handler",
)
grant("hotline.knowledge", "search the hotline knowledge base", "supervisor", "operator", "handler", "viewer")
grant("hotline.manage", "edit the dispatch catalogue and the knowledge base", "supervisor")
grant("hotline.metrics", "see the hotline's indicators", "supervisor", "operator", "viewer")

router = APIRouter(prefix="/api/hotline", tags=["hotline"])
PUBLIC_LIMIT = ratelimit.limited("hotline-public", lambda s: s.hotline_public_per_hour)


def _has_contact(order: WorkOrder) -> bool:
    return bool(order.caller_phone or order.caller_email or order.caller_name)


def order_out(
    session: SessionDep, principal: Principal, order: WorkOrder, *, with_history: bool = False, audited: bool = True
) -> schemas.OrderOut:
    """The order as the principal may see it: the caller's contact masked unless the role needs it; an
    unmasked read of someone's contact data is audited (``audited=False``: the caller audits a batch)."""
    unmasked = principal.can("personal_data.read")
    if audited and unmasked and _has_contact(order):
        audit.append(session, "personal_data.read", "hotline_order", order.number)
    fields = {k: getattr(order, k) for k in schemas.OrderOut.model_fields if hasattr(WorkOrder, k)}
    fields["co_departments"] = service._co(order)
    if not unmasked:
        fields["caller_name"] = mask_name(order.caller_name)
        fields["caller_phone"] = mask_phone(order.caller_phone)
        fields["caller_email"] = mask_email(order.caller_email)
    history = [schemas.OrderEventOut.model_validate(e) for e in service.history(session, order)] if with_history else []
    return schemas.OrderOut(**fields, contact_masked=not unmasked, overdue=service.is_overdue(order), history=history)


# ---------------------------------------------------------------- the dispatch catalogue


@router.get("/matters", response_model=list[schemas.MatterOut], summary="The dispatch catalogue (派单目录)")
def list_matters(session: SessionDep, _: Annotated[Principal, require("hotline.read")]) -> list[schemas.MatterOut]:
    return [schemas.MatterOut.model_validate(m) for m in catalogue.list_matters(session)]


@router.post("/matters/import", summary="Import matters (JSON list), all or nothing")
def import_matters(
    session: SessionDep,
    _: Annotated[Principal, require("hotline.manage")],
    rows: Annotated[list[dict[str, Any]], Body(max_length=5000)],
) -> dict[str, list[str]]:
    report = catalogue.import_matters(session, rows)
    return {"added": report.added, "updated": report.updated, "unchanged": report.unchanged}


# ---------------------------------------------------------------- knowledge base


@router.get("/knowledge", response_model=list[schemas.HitOut], summary="Search the knowledge base")
def search_knowledge(
    session: SessionDep,
    _: Annotated[Principal, require("hotline.knowledge")],
    q: Annotated[str, Query(min_length=1, max_length=200, description="words or characters, Chinese or not")],
    department_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[schemas.HitOut]:
    hits = knowledge.search(session, q, limit=limit, department_code=department_code)
    return [schemas.HitOut(score=h.score, article=schemas.ArticleOut.model_validate(h.article)) for h in hits]


@router.post("/knowledge", response_model=schemas.ArticleOut, status_code=201, summary="Add an article")
def add_article(
    session: SessionDep, principal: Annotated[Principal, require("hotline.manage")], body: schemas.ArticleIn
) -> schemas.ArticleOut:
    return schemas.ArticleOut.model_validate(knowledge.create(session, principal.username, body.model_dump()))


@router.get("/knowledge/{article_id}", response_model=schemas.ArticleOut, summary="One article")
def get_article(
    article_id: int, session: SessionDep, _: Annotated[Principal, require("hotline.knowledge")]
) -> schemas.ArticleOut:
    return schemas.ArticleOut.model_validate(knowledge.get(session, article_id))


@router.put("/knowledge/{article_id}", response_model=schemas.ArticleOut, summary="Change an article")
def change_article(
    article_id: int,
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.manage")],
    body: schemas.ArticleIn,
) -> schemas.ArticleOut:
    article = knowledge.update(session, principal.username, article_id, body.model_dump())
    return schemas.ArticleOut.model_validate(article)


@router.delete("/knowledge/{article_id}", response_model=schemas.ArticleOut, summary="Retire an article")
def retire_article(
    article_id: int, session: SessionDep, principal: Annotated[Principal, require("hotline.manage")]
) -> schemas.ArticleOut:
    return schemas.ArticleOut.model_validate(knowledge.retire(session, principal.username, article_id))


# ---------------------------------------------------------------- the citizen's own endpoints


@router.post(
    "/public/orders",
    status_code=201,
    dependencies=[PUBLIC_LIMIT],
    summary="A citizen submits a matter (no account; rate limited per address)",
)
def public_submit(
    session: SessionDep, _: Annotated[Principal, public()], body: schemas.PublicOrderIn
) -> dict[str, str]:
    intake = service.Intake(channel="web", **body.model_dump())
    order = service.receive(session, intake, actor="public", role="citizen")
    return {"number": order.number, "track": "/hotline/track"}


@router.get(
    "/public/track",
    response_model=schemas.TrackOut,
    dependencies=[PUBLIC_LIMIT],
    summary="A citizen tracks an order by its number and the last four digits of the phone",
)
def public_track(
    session: SessionDep,
    _: Annotated[Principal, public()],
    number: Annotated[str, Query(min_length=5, max_length=20)],
    phone_last4: Annotated[str, Query(pattern=r"^\d{4}$")],
) -> schemas.TrackOut:
    order = service.track(session, number, phone_last4)
    return _track_out(order, "zh-CN")


def _track_out(order: WorkOrder, language: str) -> schemas.TrackOut:
    state = State(order.state)
    shown = State.HANDLING if state in (State.RETURNED, State.IN_CASE, State.HANDLED) else state
    label = LABELS[shown][0 if language == "zh-CN" else 1]
    return schemas.TrackOut(
        number=order.number,
        title=order.title,
        state=shown.value,
        state_label=label,
        created_at=order.created_at,
        replied_at=order.replied_at,
        reply=order.reply,
        closed_at=order.closed_at,
    )


# ---------------------------------------------------------------- orders
# Fixed paths before /orders/{number}: routes match in the order they are declared.


@router.post("/orders", response_model=schemas.OrderOut, status_code=201, summary="Take an order (受理)")
def create_order(
    session: SessionDep, principal: Annotated[Principal, require("hotline.intake")], body: schemas.OrderIn
) -> schemas.OrderOut:
    order = service.receive(
        session, service.Intake(**body.model_dump()), actor=principal.username, role=principal.role.code
    )
    return order_out(session, principal, order, with_history=True)


@router.get("/orders", response_model=Page[schemas.OrderOut], summary="Orders in scope")
def list_orders(
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.read")],
    state: Annotated[Literal[tuple(s.value for s in State)] | None, Query()] = None,  # type: ignore[valid-type]
    overdue: Annotated[bool, Query()] = False,
    q: Annotated[str | None, Query(max_length=60, description="an order number or words of its title")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[schemas.OrderOut]:
    orders, total = service.list_orders(
        session, principal, state=state, overdue=overdue, query=q, limit=limit, offset=offset
    )
    read = [o.number for o in orders if principal.can("personal_data.read") and _has_contact(o)]
    if read:  # one record for the page: which orders' contact data was shown
        audit.append(session, "personal_data.read", "hotline_order", ",".join(read[:50]), after={"count": len(read)})
    items = [order_out(session, principal, o, audited=False) for o in orders]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/orders/{number}", response_model=schemas.OrderOut, summary="One order with its history")
def get_order(
    number: str, session: SessionDep, principal: Annotated[Principal, require("hotline.read")]
) -> schemas.OrderOut:
    return order_out(session, principal, service.get_order(session, principal, number), with_history=True)


@router.get("/orders/{number}/proposal", summary="The department the dispatch catalogue names")
def proposal(
    number: str, session: SessionDep, principal: Annotated[Principal, require("hotline.read")]
) -> dict[str, str | None]:
    order = service.get_order(session, principal, number)
    return {"department_code": service.proposed_department(session, order)}


@router.get("/orders/{number}/duplicates", response_model=list[schemas.DuplicateOut], summary="Likely duplicates")
def duplicates(
    number: str, session: SessionDep, principal: Annotated[Principal, require("hotline.read")]
) -> list[schemas.DuplicateOut]:
    order = service.get_order(session, principal, number)
    return [
        schemas.DuplicateOut(
            number=d.order.number,
            title=d.order.title,
            state=d.order.state,
            created_at=d.order.created_at,
            reasons=list(d.reasons),
            score=d.score,
        )
        for d in service.likely_duplicates(session, principal, order)
    ]


@router.get("/orders/{number}/photos", response_model=list[schemas.PhotoOut], summary="Photos of an order")
def list_photos(
    number: str, session: SessionDep, principal: Annotated[Principal, require("hotline.read")]
) -> list[schemas.PhotoOut]:
    order = service.get_order(session, principal, number)
    return [schemas.PhotoOut.model_validate(p) for p in photos.photos_of(session, order)]


@router.post("/orders/{number}/photos", response_model=schemas.PhotoOut, status_code=201, summary="Attach a photo")
async def add_photo(
    number: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.act")],
    file: Annotated[UploadFile, File(description="JPEG or PNG; metadata is removed")],
) -> schemas.PhotoOut:
    data = await file.read(settings.max_photo_bytes + 1)

    def attach() -> schemas.PhotoOut:
        order = service.get_order(session, principal, number)
        return schemas.PhotoOut.model_validate(photos.store(session, settings, order, data, actor=principal.username))

    return await run_in_threadpool(attach)


@router.get("/orders/{number}/photos/{photo_id}", summary="One photo (the image itself)")
def get_photo(
    number: str,
    photo_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.read")],
) -> FileResponse:
    order = service.get_order(session, principal, number)
    path, photo = photos.photo_file(session, settings, order, photo_id)
    return FileResponse(path, media_type=photo.content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.post("/orders/{number}/actions/{action}", response_model=schemas.OrderOut, summary="Take a step")
def act(
    number: str,
    action: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("hotline.act")],
    body: schemas.ActionIn,
) -> schemas.OrderOut:
    """One step of the loop; 409 with the current state if someone acted first or the step does not apply."""
    step = service.Step(**body.model_dump())
    order = service.act(session, settings, principal, number, action, step)
    return order_out(session, principal, order, with_history=True)


@router.get("/metrics", summary="Hotline indicators by group and period (JSON or CSV)")
def metrics(
    session: SessionDep,
    principal: Annotated[Principal, require("hotline.metrics")],
    start: Annotated[datetime, Query(alias="from", description="orders received from, with offset")],
    end: Annotated[datetime, Query(alias="to", description="until (exclusive), with offset")],
    group_by: Annotated[str, Query(description="city, department, district, type, matter, channel")] = "city",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """See docs/hotline.md for every definition. Rates are 0–1, null without a denominator."""
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(
            422,
            "Give from and to with their offset, e.g. 2026-11-01T00:00:00+08:00.",
            errors=[{"field": "from", "message": "no time-zone offset"}],
        )
    rows = metrics_service.compute(session, start=start, end=end, group_by=group_by, scope=service.visible(principal))
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["group", *metrics_service.METRICS])
        writer.writeheader()
        writer.writerows(rows)
        return Response(
            "\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="hotline-metrics.csv"'},
        )
    return JSONResponse({"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by, "rows": rows})
