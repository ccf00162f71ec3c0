"""Early-warning bulletins: drafted, approved by a second person, published as immutable CAP 1.2 messages.
An update or a cancellation is a new bulletin naming the message it replaces; the set of active warnings
is derived from the published messages, never edited. Never commits."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcity.alerts import cap, hazards
from smartcity.alerts.models import Bulletin, CapMessage
from smartcity.config import Settings
from smartcity.core import events
from smartcity.core.db import utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.security import Principal

KINDS = {"alert": cap.MsgType.ALERT, "update": cap.MsgType.UPDATE, "cancel": cap.MsgType.CANCEL}
SMS_CHARACTERS = 70  # one SMS in UCS-2 (Chinese); the CAP headline should fit in it


def _invalid(problems: list[dict[str, str]]) -> Problem:
    return Problem(422, "The bulletin cannot be saved: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
                   + ".", errors=problems)  # fmt: skip


def _check(session: Session, data: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem of a bulletin's content, each naming its field."""
    problems: list[dict[str, str]] = []
    try:
        allowed = hazards.colours_for(data["hazard"])
        if data["colour"] not in allowed:
            problems.append({"field": "colour", "message": f"{data['hazard']} warnings are {', '.join(allowed)}"})
    except ValueError as error:
        problems.append({"field": "hazard", "message": str(error)})
    codes, polygons = data.get("area_codes") or [], data.get("area_polygons") or []
    if not codes and not polygons:
        problems.append({"field": "area_codes", "message": "give the districts (GB/T 2260 codes) or draw an area"})
    from smartcity.places import service as places

    for code in codes:
        try:
            places.get_division(session, code)
        except NotFound:
            problems.append({"field": "area_codes", "message": f"{code} is not a division of the city"})
    for i, ring in enumerate(polygons):
        problems += _ring_problems(i, ring)
    if data["expires"] <= data["onset"]:
        problems.append({"field": "expires", "message": "must be after onset"})
    if data["expires"] <= utcnow():
        problems.append({"field": "expires", "message": "is already past"})
    if len(data["headline"]) > SMS_CHARACTERS:
        problems.append({"field": "headline", "message": f"at most {SMS_CHARACTERS} characters, to fit in one SMS"})
    return problems


def _ring_problems(i: int, ring: Any) -> list[dict[str, str]]:
    field = f"area_polygons[{i}]"
    if not isinstance(ring, list) or len(ring) < 3:
        return [{"field": field, "message": "a polygon needs at least three [lon, lat] points"}]
    for point in ring:
        if not (isinstance(point, list) and len(point) == 2 and all(isinstance(v, int | float) for v in point)):
            return [{"field": field, "message": "points must be [lon, lat] numbers"}]
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            return [{"field": field, "message": "points must be WGS-84 longitude and latitude"}]
    import shapely

    shape = shapely.Polygon(ring)
    if not shape.is_valid or shape.area == 0:
        return [{"field": field, "message": "the polygon crosses itself or has no area"}]
    return []


FIELDS = ("hazard", "colour", "area_codes", "area_polygons", "area_desc", "onset", "expires", "headline",
          "description", "instruction", "headline_en", "description_en", "instruction_en", "area_desc_en")  # fmt: skip


def _assign(bulletin: Bulletin, data: dict[str, Any]) -> None:
    for name in FIELDS:
        if name in data:
            value = data[name]
            setattr(bulletin, name, json.dumps(value) if name in ("area_codes", "area_polygons") else value)


def _content(bulletin: Bulletin) -> dict[str, Any]:
    data = {name: getattr(bulletin, name) for name in FIELDS}
    data["area_codes"], data["area_polygons"] = json.loads(bulletin.area_codes), json.loads(bulletin.area_polygons)
    return data


def draft(session: Session, principal: Principal, data: dict[str, Any]) -> Bulletin:
    """A new draft. ``kind`` update or cancel names the published message (``replaces``) it replaces; the
    replaced warning's content is the starting point for what is not given."""
    kind = data.pop("kind", "alert")
    replaces = data.pop("replaces", None)
    base: dict[str, Any] = {}
    replaced = None
    if kind != "alert":
        replaced = _replaceable(session, replaces)
        source = session.get(Bulletin, _bulletin_of(session, replaced))
        base = _content(source) if source is not None else {}
    merged = {**base, **{k: v for k, v in data.items() if v is not None}}
    missing = [f for f in ("hazard", "colour", "area_desc", "onset", "expires", "headline", "description")
               if merged.get(f) in (None, "")]  # fmt: skip
    if missing:
        raise _invalid([{"field": f, "message": "is required"} for f in missing])
    problems = _check(session, merged)
    if problems:
        raise _invalid(problems)
    bulletin = Bulletin(kind=kind, replaces_id=replaced.id if replaced else None, state="draft",
                        drafted_by=principal.username, drafted_at=utcnow(), version=1)  # fmt: skip
    _assign(bulletin, {"instruction": "", "headline_en": "", "description_en": "", "instruction_en": "",
                       "area_desc_en": "", "area_polygons": [], "area_codes": [], **merged})  # fmt: skip
    session.add(bulletin)
    session.flush()
    events.emit(session, "alerts.bulletin_drafted", id=bulletin.id)
    return bulletin


def _replaceable(session: Session, identifier: Any) -> CapMessage:
    message = session.scalar(select(CapMessage).where(CapMessage.identifier == str(identifier or "")))
    if message is None:
        raise _invalid([{"field": "replaces", "message": "name the identifier of a published message"}])
    if message.id not in {m.id for m in active_messages(session)}:
        raise _invalid([{"field": "replaces", "message": f"{message.identifier} is not an active warning"}])
    return message


def _bulletin_of(session: Session, message: CapMessage) -> int | None:
    return session.scalar(select(Bulletin.id).where(Bulletin.message_id == message.id))


def get(session: Session, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFound("bulletin", bulletin_id)
    return bulletin


def _expect(bulletin: Bulletin, version: int, *states: str) -> None:
    if bulletin.state not in states:
        raise Conflict(f"Bulletin {bulletin.id} is {bulletin.state}; this needs it {' or '.join(states)}.",
                       code="wrong-state")  # fmt: skip
    if bulletin.version != version:
        raise Conflict(f"Bulletin {bulletin.id} changed since you read it (version {bulletin.version}); reload.",
                       code="stale")  # fmt: skip


def edit(session: Session, principal: Principal, bulletin_id: int, version: int, data: dict[str, Any]) -> Bulletin:
    bulletin = get(session, bulletin_id)
    _expect(bulletin, version, "draft")
    merged = {**_content(bulletin), **{k: v for k, v in data.items() if v is not None}}
    problems = _check(session, merged)
    if problems:
        raise _invalid(problems)
    _assign(bulletin, merged)
    bulletin.version += 1
    return bulletin


def approve(session: Session, principal: Principal, bulletin_id: int, version: int) -> Bulletin:
    """The second person's check: whoever drafted a bulletin may not approve it."""
    bulletin = get(session, bulletin_id)
    _expect(bulletin, version, "draft")
    if bulletin.drafted_by == principal.username:
        raise Problem(403, "A bulletin is approved by a second person, not by the one who drafted it.",
                      code="four-eyes")  # fmt: skip
    problems = _check(session, _content(bulletin))
    if problems:
        raise _invalid(problems)
    bulletin.state, bulletin.approved_by, bulletin.approved_at = "approved", principal.username, utcnow()
    bulletin.version += 1
    events.emit(session, "alerts.bulletin_approved", id=bulletin.id)
    return bulletin


def reject(session: Session, principal: Principal, bulletin_id: int, version: int, reason: str) -> Bulletin:
    bulletin = get(session, bulletin_id)
    _expect(bulletin, version, "draft", "approved")
    if not reason.strip():
        raise Problem(422, "Say why the bulletin is rejected.", errors=[{"field": "reason", "message": "empty"}])
    bulletin.state, bulletin.rejected_reason = "rejected", reason.strip()
    bulletin.version += 1
    return bulletin


def publish(session: Session, settings: Settings, principal: Principal, bulletin_id: int, version: int) -> CapMessage:
    """Publish an approved bulletin: its CAP 1.2 message is made, validated and stored, never to change."""
    bulletin = get(session, bulletin_id)
    _expect(bulletin, version, "approved")
    if bulletin.replaces_id is not None and bulletin.replaces_id not in {m.id for m in active_messages(session)}:
        raise Conflict("The warning this bulletin replaces is no longer active (it expired or was replaced).",
                       code="not-active")  # fmt: skip
    now = utcnow()
    identifier = _identifier(session, settings, now)
    replaced = session.get(CapMessage, bulletin.replaces_id) if bulletin.replaces_id else None
    alert = build_alert(settings, bulletin, identifier, now, replaced, _english_area(session, bulletin))
    message = CapMessage(
        identifier=identifier,
        sender=settings.cap_sender,
        sent=now,
        msg_type=str(alert.msg_type),
        status=str(alert.status),
        hazard=bulletin.hazard,
        colour=bulletin.colour,
        area_codes=bulletin.area_codes,
        expires=bulletin.expires if bulletin.kind != "cancel" else now,
        headline=bulletin.headline,
        xml=cap.to_xml(alert).decode("utf-8"),
        replaces_id=bulletin.replaces_id,
    )
    session.add(message)
    session.flush()
    bulletin.state, bulletin.message_id = "published", message.id
    bulletin.published_by, bulletin.published_at = principal.username, now
    bulletin.version += 1
    events.emit(session, "alerts.message_published", id=message.id, identifier=identifier, kind=bulletin.kind)
    return message


def _identifier(session: Session, settings: Settings, now: datetime) -> str:
    """``<prefix>-YYYYMMDD-NNNN``: unique per sender, without spaces, commas or markup (CAP 1.2)."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    prefix = f"{settings.cap_identifier_prefix}-{local:%Y%m%d}-"
    count = session.scalar(select(func.count()).select_from(CapMessage).where(CapMessage.identifier.like(prefix + "%")))
    return f"{prefix}{(count or 0) + 1:04d}"


def _english_area(session: Session, bulletin: Bulletin) -> str:
    """The area in English: as written, else the districts' English names, else (drawn areas only) the Chinese."""
    from smartcity.places import service as places

    if bulletin.area_desc_en:
        return bulletin.area_desc_en
    names = []
    for code in json.loads(bulletin.area_codes):
        try:
            division = places.get_division(session, code)
        except NotFound:
            return bulletin.area_desc
        names.append(division.name_en or division.name)
    return ", ".join(names) if names else bulletin.area_desc


def build_alert(
    settings: Settings,
    bulletin: Bulletin,
    identifier: str,
    sent: datetime,
    replaced: CapMessage | None,
    area_en: str | None = None,
) -> cap.Alert:
    zone = ZoneInfo(settings.timezone)
    catalogue = hazards.catalogue()
    hazard, conventions = catalogue.hazard(bulletin.hazard), catalogue.cap
    in_cap = conventions.by_colour[hazards.Colour(bulletin.colour)]
    codes = json.loads(bulletin.area_codes)
    rings = [[(lat, lon) for lon, lat in ring] for ring in json.loads(bulletin.area_polygons)]
    polygons = [cap.closed_ring(ring) for ring in rings]
    geocodes = [(conventions.geocode_value_name, code) for code in codes]
    areas = {
        "zh-CN": cap.Area(area_desc=bulletin.area_desc, polygons=polygons, geocodes=geocodes),
        "en-US": cap.Area(area_desc=area_en or bulletin.area_desc, polygons=polygons, geocodes=geocodes),
    }
    infos = []
    for language, headline, description, instruction in (
        ("zh-CN", bulletin.headline, bulletin.description, bulletin.instruction),
        ("en-US", bulletin.headline_en, bulletin.description_en, bulletin.instruction_en),
    ):
        if language != "zh-CN" and not headline:
            continue
        infos.append(
            cap.Info(
                language=language,
                categories=hazard.cap_categories,
                event=hazards.event_text(bulletin.hazard, bulletin.colour, language),
                response_types=(cap.ResponseType.ALL_CLEAR,)
                if bulletin.kind == "cancel"
                else (cap.ResponseType.PREPARE,),
                urgency=in_cap.urgency,
                severity=in_cap.severity,
                certainty=in_cap.certainty,
                event_codes=[(conventions.hazard_event_code, bulletin.hazard)],
                effective=sent.astimezone(zone),
                onset=bulletin.onset.astimezone(zone),
                expires=bulletin.expires.astimezone(zone),
                sender_name=settings.cap_sender_name,
                headline=headline,
                description=description,
                instruction=instruction or None,
                parameters=[(conventions.colour_parameter, in_cap.value)],
                areas=[areas[language]],
            )
        )
    references = []
    if replaced is not None:
        references = [(replaced.sender, replaced.identifier, replaced.sent.astimezone(zone))]
    return cap.Alert(
        identifier=identifier,
        sender=settings.cap_sender,
        sent=sent.astimezone(zone),
        status=cap.Status.ACTUAL,
        msg_type=KINDS[bulletin.kind],
        scope=cap.Scope.PUBLIC,
        references=references,
        infos=infos,
    )


def active_messages(session: Session, now: datetime | None = None) -> list[CapMessage]:
    """The warnings in force: Actual Alert/Update messages not yet expired and not replaced by a later one."""
    now = now or utcnow()
    replaced = select(CapMessage.replaces_id).where(CapMessage.replaces_id.is_not(None))
    return list(
        session.scalars(
            select(CapMessage)
            .where(
                CapMessage.status == str(cap.Status.ACTUAL),
                CapMessage.msg_type.in_((str(cap.MsgType.ALERT), str(cap.MsgType.UPDATE))),
                CapMessage.expires > now,
                CapMessage.id.not_in(replaced),
            )
            .order_by(CapMessage.sent.desc())
        )
    )


def message_rings(message: CapMessage) -> list[list[list[float]]]:
    """The polygons drawn for a published message, as ``[lon, lat]`` rings (GeoJSON order) read from its CAP
    XML — the districts it names are in ``area_codes``."""
    alert = cap.from_xml(message.xml.encode("utf-8"))
    first = alert.infos[0] if alert.infos else None
    if first is None or not first.areas:
        return []
    return [[[lon, lat] for lat, lon in ring] for area in first.areas for ring in area.polygons]


def message(session: Session, identifier: str) -> CapMessage:
    found = session.scalar(select(CapMessage).where(CapMessage.identifier == identifier))
    if found is None:
        raise NotFound("CAP message", identifier)
    return found


def published_message(session: Session, bulletin: Bulletin) -> CapMessage | None:
    """The CAP message a published bulletin became (None before it is published)."""
    return session.get(CapMessage, bulletin.message_id) if bulletin.message_id is not None else None


def listing(session: Session, state: str | None = None) -> list[Bulletin]:
    statement = select(Bulletin).order_by(Bulletin.id.desc())
    if state:
        statement = statement.where(Bulletin.state == state)
    return list(session.scalars(statement.limit(500)))


def published_between(session: Session, start: datetime, end: datetime, kind: str = "alert") -> list[Bulletin]:
    """Every bulletin of ``kind`` published in [start, end), oldest first — all of them, for counting."""
    statement = (
        select(Bulletin)
        .where(Bulletin.state == "published", Bulletin.kind == kind)
        .where(Bulletin.published_at >= start, Bulletin.published_at < end)
        .order_by(Bulletin.published_at, Bulletin.id)
    )
    return list(session.scalars(statement))


def as_json(bulletin: Bulletin) -> dict[str, Any]:
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {
        "id": bulletin.id,
        "kind": bulletin.kind,
        "state": bulletin.state,
        "version": bulletin.version,
        "replaces": bulletin.replaces_id,
        **{name: value for name, value in _content(bulletin).items() if name not in ("onset", "expires")},
        "onset": iso(bulletin.onset),
        "expires": iso(bulletin.expires),
        "drafted_by": bulletin.drafted_by,
        "approved_by": bulletin.approved_by,
        "published_by": bulletin.published_by,
        "published_at": iso(bulletin.published_at),
        "rejected_reason": bulletin.rejected_reason,
        "message": bulletin.message_id,
    }
