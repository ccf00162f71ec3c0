"""Pages of the alerts module: the alarm console and an alarm's page (acknowledge, shelve, comment), the rules
with their versions and a form to write one, the bulletins with their editor (area drawn on a map) and the
four-eyes steps, who receives the published warnings and their deliveries, and the public page of the warnings
in force. Every rule lives in the services; a refused step comes back to its page with the reasons beside the
fields, never as a stack trace."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.alerts import alarms, bulletins, cap, dissemination, hazards, service, suggestions
from smartcity.alerts import forms as f
from smartcity.alerts.models import CapMessage, Subscriber
from smartcity.alerts.rules import COMBINATIONS
from smartcity.config import Settings
from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, add_templates, language_of, render
from smartcity.security import Principal, public, require

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Alarms", "alerts_alarms", "alerts.read", order=600))
add_nav(NavItem("Alarm rules", "alerts_rules", "alerts.read", order=610))
add_nav(NavItem("Warning bulletins", "alerts_bulletins", "alerts.read", order=620))
add_nav(NavItem("Warning subscribers", "alerts_subscribers", "alerts.subscribers", order=624))
add_nav(NavItem("Warning deliveries", "alerts_deliveries", "alerts.subscribers", order=626))
add_nav(NavItem("Warnings in force", "warnings_page", None, order=630))
router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, require("alerts.read")]
Responder = Annotated[Principal, require("alerts.respond")]
RuleWriter = Annotated[Principal, require("alerts.rules")]
Drafter = Annotated[Principal, require("alerts.draft")]
Approver = Annotated[Principal, require("alerts.approve")]
Disseminator = Annotated[Principal, require("alerts.subscribers")]
Notice = Annotated[str, Query(pattern="^[a-z_]{0,30}$", description="the step just done, said on the page")]
Note = Annotated[str, Form(max_length=2000)]
Version = Annotated[int, Form(ge=1)]

SHELVED = {"no": False, "yes": True, "all": None}
CONSOLE_STATES = ("active_unacknowledged", "active_acknowledged", "cleared_unacknowledged", "closed")
BULLETIN_STATES = ("draft", "approved", "published", "rejected")
DELIVERY_STATES = ("pending", "delivered", "dead")
SHELVE_DEFAULT = timedelta(hours=4)


def _zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def _attempt(session: Session, action: Callable[[], Any]) -> tuple[Any, Problem | None]:
    """Run a service call in a savepoint: a refused step leaves nothing behind and is returned to be shown."""
    try:
        with session.begin_nested():
            return action(), None
    except Problem as problem:
        return None, problem


def _status(problem: Problem | None) -> int:
    return problem.status if problem is not None else 200


def _redirect(path: str, done: str) -> RedirectResponse:
    """Back to a page after a step (POST-redirect-GET), which then says what was done."""
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _districts(session: Session) -> list[Any]:
    from smartcity.places import service as places

    return places.list_divisions(session, level="district")


def _stream_ids(source: str) -> list[int]:
    """The datastreams of an alarm's source: ``"12"``, or a combination's ``"all_of:40+12"``."""
    return [int(part) for part in source.rpartition(":")[2].split("+") if part.isdigit()]


def _streams(session: Session, ids: set[int]) -> dict[int, Any]:
    from smartcity.sensing import service as sensing

    return {s.datastream_id: s for s in sensing.numeric_datastream_names(session, ids)} if ids else {}


def _source_labels(session: Session, sources: list[str]) -> dict[str, str]:
    """Each alarm source as people know it: ``station · datastream``, several for a combination."""
    names = _streams(session, {i for source in sources for i in _stream_ids(source)})

    def label(i: int) -> str:
        return f"{names[i].station} · {names[i].name}" if i in names else f"#{i}"

    return {source: "; ".join(label(i) for i in _stream_ids(source)) or source for source in sources}


# ---------------------------------------------------------------- alarms


@router.get("/alerts/alarms", name="alerts_alarms")
def alarm_console(
    request: Request,
    session: SessionDep,
    principal: Reader,
    state: Annotated[str, Query(pattern="^(|" + "|".join(CONSOLE_STATES) + ")$")] = "",
    shelved: Annotated[str, Query(pattern="^(no|yes|all)$")] = "no",
    done: Notice = "",
) -> Response:
    """Open alarms (not shelved) by default, most urgent first; acknowledged from the list or the alarm's page."""
    found = alarms.listing(session, state=state or None, shelved=SHELVED[shelved])
    context = {"alarms": found, "sources": _source_labels(session, [a.source for a in found]), "state": state,
               "shelved": shelved, "states": CONSOLE_STATES, "can_respond": principal.can("alerts.respond"),
               "done": done}  # fmt: skip
    return render(request, "alerts/alarms.html", context)


@router.get("/alerts/alarms/{alarm_id}", name="alerts_alarm")
def alarm_page(
    alarm_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Reader, done: Notice = ""
) -> Response:
    return _alarm_page(request, session, settings, principal, alarm_id, done=done)


def _alarm_page(
    request: Request, session: Session, settings: Settings, principal: Principal, alarm_id: int, *, done: str = "",
    problem: Problem | None = None, form: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    alarm = alarms.get(session, alarm_id)
    now, zone = utcnow(), _zone(settings)
    return render(
        request,
        "alerts/alarm.html",
        {
            "alarm": alarm,
            "rule": service.get(session, alarm.rule_id),
            "source": _source_labels(session, [alarm.source])[alarm.source],
            "history": alarms.history(session, alarm_id),
            "can_respond": principal.can("alerts.respond"),
            "can_read_cases": principal.can("cases.read"),
            "until_default": f.local_input(now + SHELVE_DEFAULT, zone),
            "until_min": f.local_input(now, zone),
            "until_max": f.local_input(now + alarms.MAX_SHELVE, zone),
            "form": form or {},
            "done": done,
            "trouble": f.Trouble.of(problem, lambda field: field if field in ("reason", "until", "text") else ""),
        },
        status=_status(problem),
    )


def _alarm_step(
    request: Request, session: Session, settings: Settings, principal: Principal, alarm_id: int, done: str,
    action: Callable[[], Any], *, back: str = "", form: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    _, problem = _attempt(session, action)
    if problem is not None:
        return _alarm_page(request, session, settings, principal, alarm_id, problem=problem, form=form)
    return _redirect("/alerts/alarms" if back == "console" else f"/alerts/alarms/{alarm_id}", done)


@router.post("/alerts/alarms/{alarm_id}/acknowledge", name="alerts_alarm_acknowledge")
def acknowledge(
    alarm_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Responder,
    note: Note = "",
    back: Annotated[str, Form(pattern="^(console|)$")] = "",
) -> Response:
    return _alarm_step(request, session, settings, principal, alarm_id, "acknowledged",
                       lambda: alarms.acknowledge(session, principal, alarm_id, note.strip()), back=back)  # fmt: skip


@router.post("/alerts/alarms/{alarm_id}/shelve", name="alerts_alarm_shelve")
def shelve(
    alarm_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Responder,
    reason: Note = "",
    until: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Shelve until a time in the city's zone (at most 7 days ahead, with a reason)."""
    errors: f.Errors = []
    moment = f.parse_local(until, _zone(settings), "until", errors)
    if moment is None and not errors:
        errors.append({"field": "until", "message": "say until when"})

    def act() -> Any:
        if errors:
            raise Problem(422, "The alarm cannot be shelved.", errors=errors)
        return alarms.shelve(session, principal, alarm_id, reason, moment)  # type: ignore[arg-type]

    form = {"reason": reason, "until": until}
    return _alarm_step(request, session, settings, principal, alarm_id, "shelved", act, form=form)


@router.post("/alerts/alarms/{alarm_id}/unshelve", name="alerts_alarm_unshelve")
def unshelve(
    alarm_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Responder, note: Note = ""
) -> Response:
    return _alarm_step(request, session, settings, principal, alarm_id, "unshelved",
                       lambda: alarms.unshelve(session, principal, alarm_id, note.strip()))  # fmt: skip


@router.post("/alerts/alarms/{alarm_id}/comment", name="alerts_alarm_comment")
def comment(
    alarm_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Responder,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _alarm_step(request, session, settings, principal, alarm_id, "commented",
                       lambda: alarms.comment(session, principal, alarm_id, text), form={"text": text})  # fmt: skip


# ---------------------------------------------------------------- rules


@router.get("/alerts/rules", name="alerts_rules")
def rules_page(request: Request, session: SessionDep, principal: Reader, done: Notice = "") -> Response:
    context = {"rules": service.listing(session), "can_edit": principal.can("alerts.rules"), "done": done}
    return render(request, "alerts/rules.html", context)


def _rule_form(
    request: Request, session: Session, *, rule: Any = None, form: dict[str, str] | None = None,
    chosen: list[str] | None = None, trouble: f.Trouble | None = None, status: int = 200,
) -> Response:  # fmt: skip
    from smartcity.cases import catalogue
    from smartcity.sensing import service as sensing

    if form is None and rule is not None:
        template = json.loads(rule.case_template) if rule.case_template else None
        form, chosen = f.form_from_rule(json.loads(rule.spec), template)
    context = {
        "rule": rule,
        "form": form or dict.fromkeys(f.RULE_FIELDS, ""),
        "chosen": set(chosen or []),
        "streams": sensing.numeric_datastream_names(session),
        "classes": [c for c in catalogue.list_classes(session) if len(c.code) >= 4],
        "kinds": (*f.KIND_FIELDS, *COMBINATIONS),
        "trouble": trouble or f.Trouble(),
    }
    return render(request, "alerts/rule_form.html", context, status=status)


def _save_rule(
    request: Request, session: Session, principal: Principal, rule_id: int | None, body: f.RuleForm
) -> Response:
    form = body.texts()
    spec, errors = f.spec_from_form(form, body.datastreams)
    rule = service.get(session, rule_id) if rule_id is not None else None

    def save() -> Any:
        if errors:
            raise Problem(422, "The rule cannot be saved.", errors=errors)
        if rule is None:
            return service.create(session, principal, spec, f.open_case_of(form), form["note"])
        return service.change(session, principal, rule.id, spec_data=spec, open_case=f.open_case_of(form),
                              note=form["note"])  # fmt: skip

    saved, problem = _attempt(session, save)
    if problem is not None:
        trouble = f.Trouble.of(problem, f.rule_field(bool(form["spec_json"].strip())))
        return _rule_form(request, session, rule=rule, form=form, chosen=body.datastreams, trouble=trouble,
                          status=problem.status)  # fmt: skip
    return _redirect(f"/alerts/rules/{saved.id}", "rule_saved")


@router.get("/alerts/rules/new", name="alerts_rule_new")
def rule_new(request: Request, session: SessionDep, _: RuleWriter) -> Response:
    return _rule_form(request, session)


@router.post("/alerts/rules/new", name="alerts_rule_create")
def rule_create(
    request: Request, session: SessionDep, principal: RuleWriter, body: Annotated[f.RuleForm, Form()]
) -> Response:
    return _save_rule(request, session, principal, None, body)


def _spec_streams(spec: dict[str, Any]) -> list[int]:
    found = list(spec.get("datastreams") or [])
    found += [c["datastream"] for c in spec.get("conditions") or [] if "datastream" in c]
    return list(dict.fromkeys(found))


@router.get("/alerts/rules/{rule_id}", name="alerts_rule")
def rule_page(rule_id: int, request: Request, session: SessionDep, principal: Reader, done: Notice = "") -> Response:
    """A rule, its datastreams by station, its document and every version (newest first)."""
    rule = service.get(session, rule_id)
    spec = json.loads(rule.spec)
    names = _streams(session, set(_spec_streams(spec)))
    return render(
        request,
        "alerts/rule.html",
        {
            "rule": rule,
            "spec": json.dumps(spec, ensure_ascii=False, indent=2),
            "versions": list(reversed(service.versions(session, rule_id))),
            "pretty": lambda text: json.dumps(json.loads(text), ensure_ascii=False, indent=2),
            "streams": [names.get(d, d) for d in _spec_streams(spec)],
            "open_case": json.loads(rule.case_template) if rule.case_template else None,
            "can_edit": principal.can("alerts.rules"),
            "done": done,
        },
    )


@router.get("/alerts/rules/{rule_id}/edit", name="alerts_rule_edit")
def rule_edit(rule_id: int, request: Request, session: SessionDep, _: RuleWriter) -> Response:
    return _rule_form(request, session, rule=service.get(session, rule_id))


@router.post("/alerts/rules/{rule_id}/edit", name="alerts_rule_change")
def rule_change(
    rule_id: int, request: Request, session: SessionDep, principal: RuleWriter, body: Annotated[f.RuleForm, Form()]
) -> Response:
    return _save_rule(request, session, principal, rule_id, body)


@router.post("/alerts/rules/{rule_id}/enabled", name="alerts_rule_enabled")
def rule_enabled(
    rule_id: int,
    session: SessionDep,
    principal: RuleWriter,
    enabled: Annotated[str, Form(pattern="^(true|false)$")],
    note: Note = "",
) -> Response:
    """Enable or disable a rule (a new version; disabling clears its active alarms)."""
    on = enabled == "true"
    service.change(session, principal, rule_id, enabled=on, note=note)
    return _redirect(f"/alerts/rules/{rule_id}", "enabled" if on else "disabled")


# ---------------------------------------------------------------- bulletins


def _editor(
    request: Request, session: Session, *, bulletin: Any = None, form: dict[str, str], codes: list[str],
    trouble: f.Trouble | None = None, status: int = 200, done: str = "",
) -> Response:  # fmt: skip
    language = language_of(request)
    catalogue = hazards.catalogue()
    choices = [{"code": h.code, "name": hazards.hazard_name(h.code, language),
                "colours": " ".join(hazards.colours_for(h.code))} for h in catalogue.hazards]  # fmt: skip
    context = {"bulletin": bulletin, "form": form, "codes": set(codes), "hazards": choices,
               "colours": hazards.colour_names(language), "districts": _districts(session),
               "sms_limit": bulletins.SMS_CHARACTERS, "trouble": trouble or f.Trouble(), "done": done}  # fmt: skip
    return render(request, "alerts/bulletin_form.html", context, status=status)


def _save_bulletin(
    request: Request, session: Session, settings: Settings, principal: Principal, bulletin_id: int | None,
    body: f.BulletinForm,
) -> Response:  # fmt: skip
    form = body.texts()
    names = {d.code: d.name for d in _districts(session)}
    data, errors = f.bulletin_content(form, body.area_codes, _zone(settings), names)
    bulletin = bulletins.get(session, bulletin_id) if bulletin_id is not None else None

    def save() -> Any:
        if errors:
            raise Problem(422, "The bulletin cannot be saved.", errors=errors)
        if bulletin is None:
            return bulletins.draft(session, principal, data)
        return bulletins.edit(session, principal, bulletin.id, body.version, data)

    saved, problem = _attempt(session, save)
    if problem is not None:
        trouble = f.Trouble.of(problem, f.bulletin_field)
        return _editor(request, session, bulletin=bulletin, form=form, codes=body.area_codes, trouble=trouble,
                       status=problem.status)  # fmt: skip
    return _redirect(f"/alerts/bulletins/{saved.id}", "saved")


@router.get("/alerts/bulletins", name="alerts_bulletins")
def bulletins_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    state: Annotated[str, Query(pattern="^(|draft|approved|published|rejected)$")] = "",
    done: Notice = "",
) -> Response:
    return _bulletin_list(request, session, principal, state, done)


def _bulletin_list(
    request: Request, session: Session, principal: Principal, state: str, done: str = "",
    problem: Problem | None = None,
) -> Response:  # fmt: skip
    """Bulletins by state, newest first; for those who draft, the suggested warnings above them."""
    language = language_of(request)
    can_draft = principal.can("alerts.draft")
    context = {
        "bulletins": bulletins.listing(session, state or None),
        "state": state,
        "states": BULLETIN_STATES,
        "event": lambda b: _event(b.hazard, b.colour, language),
        "suggestions": suggestions.suggest(session) if can_draft else [],
        "district_names": {d.code: d.name for d in _districts(session)},
        "hazard_name": lambda code: hazards.hazard_name(code, language),
        "colours": hazards.colour_names(language),
        "can_draft": can_draft,
        "done": done,
        "trouble": f.Trouble.of(problem),
    }
    return render(request, "alerts/bulletins.html", context, status=_status(problem))


def _event(hazard: str, colour: str, language: str) -> str:
    try:
        return hazards.event_text(hazard, colour, language)
    except ValueError:
        return f"{hazards.hazard_name(hazard, language)} {colour}"


@router.post("/alerts/bulletins/suggestions", name="alerts_suggestion_draft")
def draft_from_suggestion(
    request: Request,
    session: SessionDep,
    principal: Drafter,
    hazard: Annotated[str, Form(max_length=40)],
    colour: Annotated[str, Form(max_length=10)],
    district: Annotated[str, Form(max_length=12)],
) -> Response:
    """A suggestion that still stands becomes a draft, opened in the editor for the officer to check."""
    made, problem = _attempt(session, lambda: suggestions.draft_from(session, principal, hazard, colour, district))
    if problem is not None:
        return _bulletin_list(request, session, principal, "", problem=problem)
    return _redirect(f"/alerts/bulletins/{made.id}/edit", "drafted")


@router.get("/alerts/bulletins/new", name="alerts_bulletin_new")
def bulletin_new(request: Request, session: SessionDep, settings: SettingsDep, _: Drafter) -> Response:
    return _editor(request, session, form=f.blank_bulletin(_zone(settings)), codes=[])


@router.post("/alerts/bulletins/new", name="alerts_bulletin_create")
def bulletin_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Drafter,
    body: Annotated[f.BulletinForm, Form()],
) -> Response:
    return _save_bulletin(request, session, settings, principal, None, body)


@router.get("/alerts/bulletins/{bulletin_id}", name="alerts_bulletin")
def bulletin_page(
    bulletin_id: int, request: Request, session: SessionDep, principal: Reader, done: Notice = ""
) -> Response:
    return _bulletin_page(request, session, principal, bulletin_id, done=done)


def _bulletin_page(
    request: Request, session: Session, principal: Principal, bulletin_id: int, *, done: str = "",
    problem: Problem | None = None,
) -> Response:  # fmt: skip
    """A bulletin as the approver checks it: its content, its area on a map, the next step and its message."""
    language = language_of(request)
    bulletin = bulletins.get(session, bulletin_id)
    message = bulletins.published_message(session, bulletin)
    codes, names = json.loads(bulletin.area_codes), {d.code: d.name for d in _districts(session)}
    context = {
        "bulletin": bulletin,
        "message": message,
        "active": message is not None and message.id in {m.id for m in bulletins.active_messages(session)},
        "event": _event(bulletin.hazard, bulletin.colour, language),
        "districts": [f"{names.get(c, c)} ({c})" for c in codes],
        "areas": [_map_area(bulletin.colour, codes, json.loads(bulletin.area_polygons), bulletin.headline)],
        "can_draft": principal.can("alerts.draft"),
        "can_approve": principal.can("alerts.approve"),
        "is_drafter": bulletin.drafted_by == principal.username,
        "done": done,
        "trouble": f.Trouble.of(problem),
    }
    return render(request, "alerts/bulletin.html", context, status=_status(problem))


@router.get("/alerts/bulletins/{bulletin_id}/edit", name="alerts_bulletin_edit")
def bulletin_edit(
    bulletin_id: int, request: Request, session: SessionDep, settings: SettingsDep, _: Drafter, done: Notice = ""
) -> Response:
    bulletin = bulletins.get(session, bulletin_id)
    if bulletin.state != "draft":
        raise Problem(409, f"Bulletin {bulletin_id} is {bulletin.state}: only a draft can be changed.",
                      code="wrong-state")  # fmt: skip
    form, codes = f.form_from_bulletin(bulletin, _zone(settings))
    return _editor(request, session, bulletin=bulletin, form=form, codes=codes, done=done)


@router.post("/alerts/bulletins/{bulletin_id}/edit", name="alerts_bulletin_change")
def bulletin_change(
    bulletin_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Drafter,
    body: Annotated[f.BulletinForm, Form()],
) -> Response:
    return _save_bulletin(request, session, settings, principal, bulletin_id, body)


def _step(
    request: Request, session: Session, principal: Principal, bulletin_id: int, done: str, action: Callable[[], Any]
) -> Response:
    made, problem = _attempt(session, action)
    if problem is not None:
        return _bulletin_page(request, session, principal, bulletin_id, problem=problem)
    if done == "drafted":  # an update or cancellation: a new draft, opened in the editor
        return _redirect(f"/alerts/bulletins/{made.id}/edit", done)
    return _redirect(f"/alerts/bulletins/{bulletin_id}", done)


@router.post("/alerts/bulletins/{bulletin_id}/approve", name="alerts_bulletin_approve")
def bulletin_approve(
    bulletin_id: int, request: Request, session: SessionDep, principal: Approver, version: Version
) -> Response:
    return _step(request, session, principal, bulletin_id, "approved",
                 lambda: bulletins.approve(session, principal, bulletin_id, version))  # fmt: skip


@router.post("/alerts/bulletins/{bulletin_id}/reject", name="alerts_bulletin_reject")
def bulletin_reject(
    bulletin_id: int, request: Request, session: SessionDep, principal: Approver, version: Version, reason: Note = ""
) -> Response:
    return _step(request, session, principal, bulletin_id, "rejected",
                 lambda: bulletins.reject(session, principal, bulletin_id, version, reason))  # fmt: skip


@router.post("/alerts/bulletins/{bulletin_id}/publish", name="alerts_bulletin_publish")
def bulletin_publish(
    bulletin_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Approver,
    version: Version,
) -> Response:  # fmt: skip
    return _step(request, session, principal, bulletin_id, "published",
                 lambda: bulletins.publish(session, settings, principal, bulletin_id, version))  # fmt: skip


@router.post("/alerts/bulletins/{bulletin_id}/replace", name="alerts_bulletin_replace")
def bulletin_replace(
    bulletin_id: int,
    request: Request,
    session: SessionDep,
    principal: Drafter,
    kind: Annotated[str, Form(pattern="^(update|cancel)$")],
) -> Response:
    """Draft an update or a cancellation of a published warning still in force (a new bulletin)."""
    message = bulletins.published_message(session, bulletins.get(session, bulletin_id))
    if message is None:
        raise Problem(409, f"Bulletin {bulletin_id} is not published.", code="not-published")
    replacement = {"kind": kind, "replaces": message.identifier}
    return _step(request, session, principal, bulletin_id, "drafted",
                 lambda: bulletins.draft(session, principal, replacement))  # fmt: skip


# ---------------------------------------------------------------- dissemination: subscribers and deliveries


def _subscriber_view(subscriber: Subscriber, language: str, district_names: dict[str, str]) -> dict[str, Any]:
    """A subscriber as the list shows it: its target partly masked, hazards and districts by name."""
    codes = json.loads(subscriber.area_codes) if subscriber.area_codes else []
    chosen = json.loads(subscriber.hazards) if subscriber.hazards else []
    return {
        "id": subscriber.id,
        "name": subscriber.name,
        "channel": subscriber.channel,
        "target": f.shown_target(subscriber.channel, subscriber.target),
        "hazards": [hazards.hazard_name(code, language) for code in chosen],
        "districts": [district_names.get(code, code) for code in codes],
        "min_colour": subscriber.min_colour,
        "active": subscriber.active,
    }


def _subscribers_page(
    request: Request, session: Session, *, form: dict[str, str] | None = None, chosen: list[str] | None = None,
    codes: list[str] | None = None, problem: Problem | None = None, done: str = "",
) -> Response:  # fmt: skip
    """Every subscriber, then the form to add one (shown back as typed, with its problems, when refused)."""
    language = language_of(request)
    districts = _districts(session)
    names = {d.code: (d.name if language == "zh-CN" else d.name_en or d.name) for d in districts}
    subscribers = session.scalars(select(Subscriber).order_by(Subscriber.id))
    context = {
        "subscribers": [_subscriber_view(s, language, names) for s in subscribers],
        "form": form or f.blank_subscriber(),
        "chosen": set(chosen or []),
        "codes": set(codes or []),
        "channels": dissemination.CHANNELS,
        "hazards": [(h.code, hazards.hazard_name(h.code, language)) for h in hazards.catalogue().hazards],
        "districts": districts,
        "colours": hazards.colour_names(language),
        "done": done,
        "trouble": f.Trouble.of(problem, lambda field: field if field in f.SubscriberForm.model_fields else ""),
    }
    return render(request, "alerts/subscribers.html", context, status=_status(problem))


@router.get("/alerts/subscribers", name="alerts_subscribers")
def subscribers_page(request: Request, session: SessionDep, _: Disseminator, done: Notice = "") -> Response:
    return _subscribers_page(request, session, done=done)


@router.post("/alerts/subscribers", name="alerts_subscriber_create")
def subscriber_create(
    request: Request, session: SessionDep, principal: Disseminator, body: Annotated[f.SubscriberForm, Form()]
) -> Response:
    """Add a subscriber; a webhook's signing secret is shown on the page this answers with, and never again."""
    form = body.texts()
    errors = f.subscriber_problems(form, body.area_codes)

    def save() -> Any:
        problems = list(errors)
        try:  # the service's reasons are listed with the form's own, all at once
            made = dissemination.subscribe(
                session, principal, name=form["name"], channel=form["channel"], target=form["target"],
                hazard_codes=body.hazards or None, area_codes=body.area_codes or None, min_colour=form["min_colour"],
            )  # fmt: skip
        except Problem as refused:
            if not refused.errors:
                raise
            problems += refused.errors
        if problems:
            raise Problem(422, "The subscriber cannot be saved.", errors=problems)
        return made

    made, problem = _attempt(session, save)
    if problem is not None:
        return _subscribers_page(request, session, form=form, chosen=body.hazards, codes=body.area_codes,
                                 problem=problem)  # fmt: skip
    subscriber, secret = made
    if secret is None:
        return _redirect("/alerts/subscribers", "subscribed")
    context = {"subscriber": subscriber, "target": f.shown_target(subscriber.channel, subscriber.target),
               "secret": secret, "header": dissemination.SIGNATURE_HEADER}  # fmt: skip
    response = render(request, "alerts/subscriber_added.html", context)
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once: no copy in any cache
    return response


@router.post("/alerts/subscribers/{subscriber_id}/active", name="alerts_subscriber_active")
def subscriber_active(
    subscriber_id: int,
    request: Request,
    session: SessionDep,
    _: Disseminator,
    active: Annotated[str, Form(pattern="^(true|false)$")],
) -> Response:
    """Pause a subscriber (it receives nothing until resumed: no delivery is made for it) or resume it."""
    on = active == "true"
    _, problem = _attempt(session, lambda: dissemination.set_active(session, subscriber_id, on))
    if problem is not None:
        return _subscribers_page(request, session, problem=problem)
    return _redirect("/alerts/subscribers", "resumed" if on else "paused")


def _deliveries_page(
    request: Request, session: Session, state: str, *, done: str = "", problem: Problem | None = None
) -> Response:
    """Deliveries by state, newest first, with their message and subscriber; the dead ones can be sent again."""
    found = dissemination.deliveries(session, state or None)
    message_ids, subscriber_ids = {d.message_id for d in found}, {d.subscriber_id for d in found}
    rows = session.execute(select(CapMessage.id, CapMessage.identifier).where(CapMessage.id.in_(message_ids)))
    messages = {row.id: row.identifier for row in rows}
    subscribers = {s.id: s for s in session.scalars(select(Subscriber).where(Subscriber.id.in_(subscriber_ids)))}
    context = {
        "deliveries": found,
        "messages": messages,
        "subscribers": subscribers,
        "state": state,
        "states": DELIVERY_STATES,
        "max_attempts": dissemination.MAX_ATTEMPTS,
        "done": done,
        "trouble": f.Trouble.of(problem),
    }
    return render(request, "alerts/deliveries.html", context, status=_status(problem))


DeliveryState = Annotated[str, Query(pattern="^(|" + "|".join(DELIVERY_STATES) + ")$")]


@router.get("/alerts/deliveries", name="alerts_deliveries")
def deliveries_page(
    request: Request, session: SessionDep, _: Disseminator, state: DeliveryState = "", done: Notice = ""
) -> Response:
    return _deliveries_page(request, session, state, done=done)


@router.post("/alerts/deliveries/{delivery_id}/retry", name="alerts_delivery_retry")
def delivery_retry(
    delivery_id: int,
    request: Request,
    session: SessionDep,
    _: Disseminator,
    back: Annotated[str, Form(pattern="^(|" + "|".join(DELIVERY_STATES) + ")$")] = "",
) -> Response:
    """Send a dead delivery again (a fresh round of attempts), back to the list it was sent from."""
    _, problem = _attempt(session, lambda: dissemination.retry(session, delivery_id))
    if problem is not None:
        return _deliveries_page(request, session, back, problem=problem)
    return RedirectResponse(f"/alerts/deliveries?{'state=' + back + '&' if back else ''}done=retried", status_code=303)


# ---------------------------------------------------------------- the public warnings page


def _map_area(colour: str, codes: list[str], rings: f.Rings, label: str) -> dict[str, Any]:
    """What an area map draws: the districts by code and the drawn rings (``[lon, lat]``), in the colour."""
    return {"colour": colour, "hex": hazards.colour_hex(colour), "codes": codes, "rings": rings, "label": label}


@dataclass(frozen=True)
class Said:
    """A text of a warning and the language it is in (marked on the page, where it differs from the page's)."""

    text: str
    language: str


@dataclass(frozen=True)
class Warning:
    """A warning in force as the public page shows it, read from its published CAP message: each text in the
    page's language where the message has it, else in the message's other language."""

    identifier: str
    colour: str
    event: str
    sent: datetime
    onset: datetime | None
    expires: datetime | None
    sender: str
    texts: dict[str, Said]
    codes: list[str]
    rings: f.Rings


def _texts(infos: list[cap.Info]) -> dict[str, Said]:
    found: dict[str, Said] = {}
    for info in infos:
        area = info.areas[0].area_desc if info.areas else None
        for name, text in (("headline", info.headline), ("description", info.description),
                           ("instruction", info.instruction), ("area", area)):  # fmt: skip
            if text and name not in found:
                found[name] = Said(text, info.language)
    return found


def _warning(message: Any, language: str) -> Warning:
    wanted = "zh" if language == "zh-CN" else "en"
    alert = cap.from_xml(message.xml.encode("utf-8"))
    infos = sorted(alert.infos, key=lambda i: not i.language.lower().startswith(wanted))
    first = infos[0]
    area = first.areas[0] if first.areas else None
    return Warning(
        identifier=message.identifier,
        colour=message.colour,
        event=_event(message.hazard, message.colour, language),
        sent=message.sent,
        onset=first.onset,
        expires=first.expires,
        sender=first.sender_name or "",
        texts=_texts(infos),
        codes=[value for _, value in area.geocodes] if area else [],
        rings=[[[lon, lat] for lat, lon in ring] for ring in area.polygons] if area else [],
    )


@router.get("/warnings", name="warnings_page")
def warnings_page(request: Request, session: SessionDep, _: Annotated[Principal, public()]) -> Response:
    """The warnings in force, for everyone, most severe first: colour in words, hazard, headline, area,
    validity, what to do; their areas on a map; the CAP messages and the Atom feed."""
    language = language_of(request)
    found = [_warning(m, language) for m in bulletins.active_messages(session)]
    rank = {str(level.code): level.rank for level in hazards.catalogue().colours.levels}
    found.sort(key=lambda w: (-rank.get(w.colour, 0), w.sent))
    areas = [_map_area(w.colour, w.codes, w.rings, w.event) for w in reversed(found)]  # the most severe on top
    return render(request, "alerts/warnings.html", {"warnings": found, "areas": areas})
