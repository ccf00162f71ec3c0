"""Rules of the alerts module: create and change them (every change a new version, kept), enable and
disable, and what they may do besides raising an alarm (open a grid case). Never commits."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smartcity.alerts import rules as r
from smartcity.alerts.models import Alarm, Rule, RuleDatastream, RuleVersion
from smartcity.core import events
from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound, Problem
from smartcity.security import Principal


def _known_datastreams(session: Session, spec_data: Any) -> set[int]:
    from smartcity.sensing import service as sensing

    wanted: set[int] = set()
    if isinstance(spec_data, dict):
        if isinstance(spec_data.get("datastream"), int):
            wanted.add(spec_data["datastream"])
        wanted |= {d for d in spec_data.get("datastreams") or [] if isinstance(d, int)}
        for condition in spec_data.get("conditions") or []:
            if isinstance(condition, dict) and isinstance(condition.get("datastream"), int):
                wanted.add(condition["datastream"])
    return sensing.numeric_datastreams(session, wanted) if wanted else set()


def check(session: Session, spec_data: Any) -> r.Spec:
    """The rule document, validated against the datastreams that exist (a 422 lists every problem)."""
    return r.validate_spec(spec_data, _known_datastreams(session, spec_data))


def _case_template(session: Session, value: Any) -> str | None:
    """Optional {"class_code": "…", "kind": "event"|"component", "urgency": …}: the class must exist."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("class_code"), str):
        raise Problem(422, "open_case must be an object naming the case class: {\"class_code\": \"…\"}.",
                      errors=[{"field": "open_case", "message": "malformed"}])  # fmt: skip
    from smartcity.cases import catalogue

    kind = value.get("kind", "event")
    try:
        catalogue.get_class(session, kind, value["class_code"])
    except Problem as problem:
        raise Problem(422, f"open_case: {problem.detail}", errors=[{"field": "open_case.class_code",
                      "message": "not in the catalogue"}]) from problem  # fmt: skip
    return json.dumps({"kind": kind, "class_code": value["class_code"], "urgency": value.get("urgency", "urgent")})


def create(session: Session, principal: Principal, spec_data: Any, open_case: Any = None, note: str = "") -> Rule:
    spec = check(session, spec_data)
    now = utcnow()
    rule = Rule(
        name=spec.name,
        kind=spec.kind,
        severity=str(spec.severity),
        spec=json.dumps(r.spec_json(spec), ensure_ascii=False),
        version=1,
        enabled=True,
        case_template=_case_template(session, open_case),
        created_by=principal.username,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    _record_version(session, rule, principal, note)
    _index(session, rule, spec)
    events.emit(session, "alerts.rule_created", id=rule.id)
    return rule


def change(
    session: Session,
    principal: Principal,
    rule_id: int,
    *,
    spec_data: Any = None,
    enabled: bool | None = None,
    open_case: Any = ...,
    note: str = "",
) -> Rule:
    """A new version of the rule. Its open alarms stay; the new version clears them when its condition no
    longer holds (the evaluation state carries which sources are active)."""
    rule = get(session, rule_id)
    if spec_data is None and enabled is None and open_case is ...:
        raise Problem(422, "Send spec, enabled or open_case to change.", errors=[{"field": "body", "message": "empty"}])
    if spec_data is not None:
        spec = check(session, spec_data)
        rule.spec = json.dumps(r.spec_json(spec), ensure_ascii=False)
        rule.name, rule.kind, rule.severity = spec.name, spec.kind, str(spec.severity)
        _index(session, rule, spec)
    if enabled is not None:
        rule.enabled = enabled
    if open_case is not ...:
        rule.case_template = _case_template(session, open_case)
    rule.version += 1
    rule.updated_at = utcnow()
    _record_version(session, rule, principal, note)
    if enabled is False:
        _clear_open_alarms(session, rule, f"rule disabled by {principal.username}")
    events.emit(session, "alerts.rule_changed", id=rule.id, version=rule.version)
    return rule


def _clear_open_alarms(session: Session, rule: Rule, reason: str) -> None:
    from smartcity.alerts import alarms

    for alarm in session.scalars(select(Alarm).where(Alarm.rule_id == rule.id, Alarm.active.is_(True))):
        alarms.apply(session, rule, alarms.Change(rule.id, alarm.source, False, utcnow(), None, reason))


def _record_version(session: Session, rule: Rule, principal: Principal, note: str) -> None:
    session.add(
        RuleVersion(
            rule_id=rule.id,
            version=rule.version,
            name=rule.name,
            severity=rule.severity,
            spec=rule.spec,
            case_template=rule.case_template,
            enabled=rule.enabled,
            changed_by=principal.username,
            changed_at=utcnow(),
            note=note,
        )
    )


def _index(session: Session, rule: Rule, spec: r.Spec) -> None:
    session.execute(delete(RuleDatastream).where(RuleDatastream.rule_id == rule.id))
    for datastream in spec.datastreams:
        session.add(RuleDatastream(rule_id=rule.id, datastream_id=datastream))
    session.flush()


def get(session: Session, rule_id: int) -> Rule:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound("rule", rule_id)
    return rule


def listing(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).order_by(Rule.id)))


def versions(session: Session, rule_id: int) -> list[RuleVersion]:
    get(session, rule_id)
    return list(
        session.scalars(select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version))
    )


def as_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "version": rule.version,
        "enabled": rule.enabled,
        "spec": json.loads(rule.spec),
        "open_case": json.loads(rule.case_template) if rule.case_template else None,
        "created_by": rule.created_by,
        "updated_at": rule.updated_at.isoformat(),
    }


def warnings_in_force(session: Session) -> list[dict[str, Any]]:
    """The published warnings in force as other modules need them (a transit alert, a map layer): identifier,
    hazard, colour, headline and description per language (``zh``/``en``), CAP severity, onset and expiry
    (epoch seconds), the districts' codes, the drawn polygons as ``[lon, lat]`` rings, and the CAP message's URL."""
    from smartcity.alerts import bulletins, cap

    found = []
    for message in bulletins.active_messages(session):
        infos = cap.from_xml(message.xml.encode("utf-8")).infos
        by_language = {info.language.split("-")[0].lower(): info for info in infos}
        first = infos[0]
        found.append(
            {
                "identifier": message.identifier,
                "hazard": message.hazard,
                "colour": message.colour,
                "headlines": {lang: info.headline or "" for lang, info in by_language.items()},
                "descriptions": {lang: info.description or "" for lang, info in by_language.items()},
                "severity": str(first.severity),
                "onset": int(first.onset.timestamp()) if first.onset else None,
                "expires": int(message.expires.timestamp()),
                "areas": json.loads(message.area_codes),
                "polygons": bulletins.message_rings(message),
                "url": f"/alerts/cap/{message.identifier}.xml",
            }
        )
    return found
