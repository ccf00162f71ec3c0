"""HTTP API of the alerts module: rules (versioned) and alarms (acknowledge, shelve, comment, history)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from smartcity.alerts import alarms, service
from smartcity.core.deps import SessionDep
from smartcity.core.errors import Problem
from smartcity.core.schemas import Request
from smartcity.security import Principal, grant, require

grant("alerts.read", "see alarm rules and alarms", "supervisor", "dispatcher", "operator", "viewer")
grant("alerts.rules", "create and change alarm rules", "supervisor")
grant("alerts.respond", "acknowledge, shelve and comment alarms", "supervisor", "dispatcher", "operator")

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
