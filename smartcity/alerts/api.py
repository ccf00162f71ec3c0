"""HTTP API of the alerts module: rules (versioned) and alarms (acknowledge, shelve, comment, history)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy import select

from smartcity.alerts import alarms, bulletins, cap, dissemination, hazards, service, suggestions
from smartcity.alerts.models import CapMessage, Subscriber
from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.schemas import Request
from smartcity.security import Principal, grant, public, require

grant("alerts.read", "see alarm rules, alarms and bulletins", "supervisor", "dispatcher", "operator", "viewer",
      "emergency")  # fmt: skip
grant("alerts.rules", "create and change alarm rules", "supervisor", "emergency")
grant("alerts.respond", "acknowledge, shelve and comment alarms", "supervisor", "dispatcher", "operator", "emergency")
grant("alerts.draft", "draft early-warning bulletins", "supervisor", "emergency")
grant("alerts.approve", "approve (as the second person) and publish early-warning bulletins", "supervisor", "emergency")
grant("alerts.subscribers", "manage who receives published warnings, and the deliveries", "supervisor", "emergency")

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
Reader = Annotated[Principal, require("alerts.read")]
Responder = Annotated[Principal, require("alerts.respond")]


class RuleIn(Request):
    spec: dict[str, Any] = Field(description="the rule document: kind, name, severity, datastream(s), limits…")
    open_case: dict[str, Any] | None = Field(None, description='e.g. {"class_code": "0105"}: open a grid case')
    note: str = Field("", max_length=1000)


class RuleChange(Request):
    spec: dict[str, Any] | None = None
    enabled: bool | None = None
    open_case: dict[str, Any] | None = None
    note: str = Field("", max_length=1000)


class Note(Request):
    note: str = Field("", max_length=2000)


class ShelveIn(Request):
    reason: str = Field(min_length=1, max_length=2000)
    until: datetime = Field(description="with its offset; at most 7 days ahead")


class CommentIn(Request):
    text: str = Field(min_length=1, max_length=4000)


@router.get("/rules", summary="Every rule, with its current version")
def list_rules(session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    return [service.as_json(rule) for rule in service.listing(session)]


@router.post("/rules", status_code=201, summary="Create a rule (checked against the datastreams that exist)")
def create_rule(
    session: SessionDep, principal: Annotated[Principal, require("alerts.rules")], body: RuleIn
) -> dict[str, Any]:
    return service.as_json(service.create(session, principal, body.spec, body.open_case, body.note))


@router.get("/rules/{rule_id}", summary="A rule with all its versions")
def get_rule(rule_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    rule = service.get(session, rule_id)
    versions = [
        {"version": v.version, "name": v.name, "severity": v.severity, "enabled": v.enabled,
         "changed_by": v.changed_by, "changed_at": v.changed_at.isoformat(), "note": v.note}
        for v in service.versions(session, rule_id)
    ]  # fmt: skip
    return {**service.as_json(rule), "versions": versions}


@router.patch("/rules/{rule_id}", summary="Change a rule: a new version (the old ones stay readable)")
def change_rule(
    rule_id: int, session: SessionDep, principal: Annotated[Principal, require("alerts.rules")], body: RuleChange
) -> dict[str, Any]:
    sent = body.model_fields_set
    rule = service.change(
        session,
        principal,
        rule_id,
        spec_data=body.spec,
        enabled=body.enabled,
        open_case=body.open_case if "open_case" in sent else ...,
        note=body.note,
    )
    return service.as_json(rule)


@router.get("/alarms", summary="Alarms: open ones by default, most urgent first")
def list_alarms(
    session: SessionDep,
    _: Reader,
    state: Annotated[Literal[alarms.STATES] | None, Query()] = None,  # type: ignore[valid-type]
    shelved: Annotated[bool | None, Query(description="true: only shelved; false (default): not shelved")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return [alarms.as_json(a) for a in alarms.listing(session, state=state, shelved=shelved, limit=limit)]


@router.get("/alarms/{alarm_id}", summary="An alarm with its history")
def get_alarm(alarm_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    alarm = alarms.get(session, alarm_id)
    history = [
        {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "note": e.note, "value": e.value}
        for e in alarms.history(session, alarm_id)
    ]
    return {**alarms.as_json(alarm), "history": history}


@router.post("/alarms/{alarm_id}/acknowledge", summary="Acknowledge an alarm")
def acknowledge(alarm_id: int, session: SessionDep, principal: Responder, body: Note) -> dict[str, Any]:
    return alarms.as_json(alarms.acknowledge(session, principal, alarm_id, body.note))


@router.post("/alarms/{alarm_id}/shelve", summary="Shelve an alarm for a while, with a reason")
def shelve(alarm_id: int, session: SessionDep, principal: Responder, body: ShelveIn) -> dict[str, Any]:
    if body.until.tzinfo is None:
        raise Problem(422, "Give until with its offset.", errors=[{"field": "until", "message": "no offset"}])
    return alarms.as_json(alarms.shelve(session, principal, alarm_id, body.reason, body.until))


@router.post("/alarms/{alarm_id}/unshelve", summary="Bring a shelved alarm back")
def unshelve(alarm_id: int, session: SessionDep, principal: Responder, body: Note) -> dict[str, Any]:
    return alarms.as_json(alarms.unshelve(session, principal, alarm_id, body.note))


@router.post("/alarms/{alarm_id}/comments", status_code=201, summary="Comment on an alarm")
def comment(alarm_id: int, session: SessionDep, principal: Responder, body: CommentIn) -> dict[str, Any]:
    entry = alarms.comment(session, principal, alarm_id, body.text)
    return {"at": entry.at.isoformat(), "actor": entry.actor, "kind": entry.kind, "note": entry.note}


# ---------------------------------------------------------------- bulletins


class BulletinIn(Request):
    kind: Literal["alert", "update", "cancel"] = "alert"
    replaces: str | None = Field(None, max_length=120, description="update/cancel: the identifier of the message")
    hazard: str | None = Field(None, max_length=40, description="e.g. rainstorm (see the hazards catalogue)")
    colour: Literal["blue", "yellow", "orange", "red"] | None = None
    area_codes: list[Annotated[str, Field(pattern=r"^\d{6,12}$")]] | None = Field(None, max_length=50)
    area_polygons: list[list[list[float]]] | None = Field(None, max_length=20, description="rings of [lon, lat]")
    area_desc: str | None = Field(None, max_length=500)
    onset: datetime | None = None
    expires: datetime | None = None
    headline: str | None = Field(None, max_length=160)
    description: str | None = Field(None, max_length=4000)
    instruction: str | None = Field(None, max_length=4000)
    headline_en: str | None = Field(None, max_length=160)
    area_desc_en: str | None = Field(None, max_length=500, description="left out: the districts' English names")
    description_en: str | None = Field(None, max_length=4000)
    instruction_en: str | None = Field(None, max_length=4000)


class BulletinEdit(BulletinIn):
    version: int = Field(ge=1, description="the version you saw")


class Step(Request):
    version: int = Field(ge=1, description="the version you saw; a newer one means someone acted first")
    reason: str = Field("", max_length=2000)


def _aware(body: BulletinIn) -> dict[str, Any]:
    data = body.model_dump(exclude={"version"}, exclude_unset=True)
    for name in ("onset", "expires"):
        if data.get(name) is not None and data[name].tzinfo is None:
            raise Problem(422, f"Give {name} with its offset.", errors=[{"field": name, "message": "no offset"}])
    return data


@router.get("/bulletins", summary="Bulletins, newest first")
def list_bulletins(
    session: SessionDep,
    _: Reader,
    state: Annotated[Literal["draft", "approved", "published", "rejected"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return [bulletins.as_json(b) for b in bulletins.listing(session, state)]


@router.post("/bulletins", status_code=201, summary="Draft a bulletin (a new warning, an update or a cancellation)")
def draft_bulletin(
    session: SessionDep, principal: Annotated[Principal, require("alerts.draft")], body: BulletinIn
) -> dict[str, Any]:
    return bulletins.as_json(bulletins.draft(session, principal, _aware(body)))


@router.get("/bulletins/{bulletin_id}", summary="One bulletin")
def get_bulletin(bulletin_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    return bulletins.as_json(bulletins.get(session, bulletin_id))


@router.patch("/bulletins/{bulletin_id}", summary="Change a draft")
def edit_bulletin(
    bulletin_id: int, session: SessionDep, principal: Annotated[Principal, require("alerts.draft")], body: BulletinEdit
) -> dict[str, Any]:
    data = _aware(body)
    for name in ("kind", "replaces"):
        if name in data:
            raise Problem(422, f"{name} is fixed when the draft is made.", errors=[{"field": name, "message": "fixed"}])
    return bulletins.as_json(bulletins.edit(session, principal, bulletin_id, body.version, data))


@router.post("/bulletins/{bulletin_id}/approve", summary="Approve a draft (a second person)")
def approve_bulletin(
    bulletin_id: int, session: SessionDep, principal: Annotated[Principal, require("alerts.approve")], body: Step
) -> dict[str, Any]:
    return bulletins.as_json(bulletins.approve(session, principal, bulletin_id, body.version))


@router.post("/bulletins/{bulletin_id}/reject", summary="Reject a draft or an approved bulletin, with a reason")
def reject_bulletin(
    bulletin_id: int, session: SessionDep, principal: Annotated[Principal, require("alerts.approve")], body: Step
) -> dict[str, Any]:
    return bulletins.as_json(bulletins.reject(session, principal, bulletin_id, body.version, body.reason))


@router.post("/bulletins/{bulletin_id}/publish", summary="Publish an approved bulletin as a CAP 1.2 message")
def publish_bulletin(
    bulletin_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require("alerts.approve")],
    body: Step,
) -> dict[str, Any]:
    message = bulletins.publish(session, settings, principal, bulletin_id, body.version)
    return {**bulletins.as_json(bulletins.get(session, bulletin_id)), "identifier": message.identifier,
            "cap": f"/alerts/cap/{message.identifier}.xml"}  # fmt: skip


# ---------------------------------------------------------------- public: CAP messages, the feed, active warnings

public_router = APIRouter(prefix="/alerts", tags=["alerts"])
Anyone = Annotated[Principal, public()]


def _message_json(message: CapMessage) -> dict[str, Any]:
    return cap.to_json(cap.from_xml(message.xml.encode("utf-8")))


@public_router.get("/cap/feed.atom", summary="Atom feed of the warnings in force (each links its CAP message)")
def cap_feed(request: HttpRequest, session: SessionDep, settings: SettingsDep, _: Anyone) -> Response:
    base = str(request.base_url).rstrip("/")
    active = bulletins.active_messages(session)
    entries = [
        cap.FeedEntry.from_alert(cap.from_xml(m.xml.encode("utf-8")), f"{base}/alerts/cap/{m.identifier}.xml")
        for m in active
    ]
    updated = max((m.sent for m in active), default=utcnow())
    body = cap.atom_feed(entries, feed_id=f"{base}/alerts/cap/feed.atom", title=settings.cap_sender_name,
                         self_url=f"{base}/alerts/cap/feed.atom", updated=updated)  # fmt: skip
    return Response(body, media_type=cap.ATOM_MEDIA_TYPE)


@public_router.get("/cap/{identifier}.xml", summary="One CAP 1.2 message, exactly as published")
def cap_message(
    identifier: str,
    session: SessionDep,
    _: Anyone,
    format: Annotated[Literal["xml", "json"], Query(description="json for debugging and web clients")] = "xml",
) -> Response:
    message = bulletins.message(session, identifier)
    if format == "json":
        return JSONResponse(_message_json(message))
    return Response(message.xml.encode("utf-8"), media_type=cap.CAP_MEDIA_TYPE)


@public_router.get(
    "/warnings/active.json",
    summary="The warnings in force, as JSON (public): district codes, [lon, lat] rings, colour",
)
def active_warnings(session: SessionDep, _: Anyone) -> list[dict[str, Any]]:
    return [
        {
            "identifier": m.identifier,
            "hazard": m.hazard,
            "colour": m.colour,
            "headline": m.headline,
            "sent": m.sent.isoformat(),
            "expires": m.expires.isoformat(),
            "areas": json.loads(m.area_codes),
            "polygons": bulletins.message_rings(m),
            "hex": hazards.colour_hex(m.colour),
            "cap": f"/alerts/cap/{m.identifier}.xml",
        }
        for m in bulletins.active_messages(session)
    ]


# ---------------------------------------------------------------- suggested warnings


class SuggestionPick(Request):
    hazard: Literal["rainstorm", "river_level"]
    colour: Literal["blue", "yellow", "orange", "red"]
    district: str = Field(pattern=r"^\d{6}$")


@router.get("/suggestions", summary="Suggested warnings from the rain gauges and river stations (a person decides)")
def list_suggestions(session: SessionDep, _: Annotated[Principal, require("alerts.draft")]) -> list[dict[str, Any]]:
    return [s.as_json() for s in suggestions.suggest(session)]


@router.post("/suggestions/draft", status_code=201, summary="Draft a bulletin from a suggestion")
def draft_from_suggestion(
    session: SessionDep, principal: Annotated[Principal, require("alerts.draft")], body: SuggestionPick
) -> dict[str, Any]:
    return bulletins.as_json(suggestions.draft_from(session, principal, body.hazard, body.colour, body.district))


# ---------------------------------------------------------------- dissemination


class SubscriberIn(Request):
    name: str = Field(min_length=1, max_length=200)
    channel: str = Field(max_length=10, description="webhook, email or sms")
    target: str = Field(min_length=1, max_length=500, description="the URL, address or phone number")
    hazards: list[str] | None = Field(None, max_length=30, description="only these hazards (default: all)")
    area_codes: list[Annotated[str, Field(pattern=r"^\d{6,12}$")]] | None = Field(None, max_length=50)
    min_colour: str = Field("blue", max_length=10)


class ActiveIn(Request):
    active: bool


Disseminator = Annotated[Principal, require("alerts.subscribers")]


@router.get("/subscribers", summary="Who receives published warnings")
def list_subscribers(session: SessionDep, _: Disseminator) -> list[dict[str, Any]]:
    return [dissemination.subscriber_json(s) for s in session.scalars(select(Subscriber).order_by(Subscriber.id))]


@router.post("/subscribers", status_code=201, summary="Add a subscriber (a webhook's signing secret is shown once)")
def add_subscriber(session: SessionDep, principal: Disseminator, body: SubscriberIn) -> dict[str, Any]:
    subscriber, secret = dissemination.subscribe(
        session, principal, name=body.name, channel=body.channel, target=body.target, hazard_codes=body.hazards,
        area_codes=body.area_codes, min_colour=body.min_colour,
    )  # fmt: skip
    return {**dissemination.subscriber_json(subscriber), "secret": secret}


@router.patch("/subscribers/{subscriber_id}", summary="Pause or resume a subscriber")
def pause_subscriber(subscriber_id: int, session: SessionDep, _: Disseminator, body: ActiveIn) -> dict[str, Any]:
    return dissemination.subscriber_json(dissemination.set_active(session, subscriber_id, body.active))


@router.get("/deliveries", summary="Deliveries of warnings to subscribers (state=dead: the dead-letter list)")
def list_deliveries(
    session: SessionDep,
    _: Disseminator,
    state: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return [dissemination.delivery_json(d) for d in dissemination.deliveries(session, state)]


@router.post("/deliveries/{delivery_id}/retry", summary="Send a dead-lettered delivery again")
def retry_delivery(delivery_id: int, session: SessionDep, _: Disseminator) -> dict[str, Any]:
    return dissemination.delivery_json(dissemination.retry(session, delivery_id))
