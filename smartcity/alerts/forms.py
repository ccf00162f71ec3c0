"""The alerts pages' forms, as written and as the services want them: the rule form to a rule document (or the
document typed as JSON), the bulletin editor to a bulletin's content (areas typed or drawn as text), the
subscriber form, times in the city's zone, and each problem placed beside the input it is about. No
database, no HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from smartcity.alerts.rules import COMBINATIONS
from smartcity.core.db import utcnow
from smartcity.core.errors import Problem
from smartcity.core.privacy import mask_email, mask_phone

Errors = list[dict[str, str]]
Line = Annotated[str, Field(max_length=200)]
Paragraph = Annotated[str, Field(max_length=4000)]


def local_input(value: datetime | None, zone: ZoneInfo) -> str:
    """A time as a datetime-local field shows it: in the city's zone, to the minute."""
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def parse_local(text: str, zone: ZoneInfo, field: str, errors: Errors) -> datetime | None:
    """A datetime-local field's value, read in the city's zone (None when empty; a problem goes to ``errors``)."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        errors.append({"field": field, "message": "write the time as YYYY-MM-DD HH:MM"})
        return None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _same(field: str) -> str:
    return field


@dataclass(frozen=True)
class Trouble:
    """What went wrong, as a page shows it: the summary, and each problem with the input (``target``) it is
    about, so that the message stands beside that input and the summary links to it."""

    detail: str | None = None
    errors: tuple[dict[str, str], ...] = ()

    @classmethod
    def of(cls, problem: Problem | None, target: Callable[[str], str] = _same) -> Trouble:
        if problem is None:
            return cls()
        found = tuple({**e, "target": target(e.get("field", ""))} for e in problem.errors)
        return cls(problem.detail, found)

    @property
    def by_field(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for e in self.errors:
            fields.setdefault(e["target"], []).append(e["message"])
        return fields


# ---------------------------------------------------------------- rules

# The form's fields per kind; combinations (all_of, any_of) are written as JSON.
KIND_FIELDS = {
    "threshold": ("op", "value"),
    "band": ("low", "high", "alarm"),
    "rate_of_change": ("delta", "window_minutes", "direction"),
    "accumulation": ("window_minutes", "value"),
    "no_data": ("minutes",),
    "stuck": ("tolerance", "minutes", "readings"),
}
NUMBERS = {"value", "low", "high", "delta", "window_minutes", "minutes", "tolerance", "for_seconds",
           "clear_for_seconds"}  # fmt: skip
WHOLE_NUMBERS = {"readings"}
COMMON_FIELDS = ("for_seconds", "clear_for_seconds", "label", "unit")


class RuleForm(BaseModel):
    """The rule form as written (text: a refused form is shown back as it was typed)."""

    datastreams: list[str] = Field(default_factory=list, max_length=500)
    name: Line = ""
    kind: Line = ""
    severity: Line = ""
    op: Line = ""
    value: Line = ""
    low: Line = ""
    high: Line = ""
    alarm: Line = ""
    delta: Line = ""
    window_minutes: Line = ""
    direction: Line = ""
    minutes: Line = ""
    readings: Line = ""
    tolerance: Line = ""
    clear_mode: Line = ""
    clear_amount: Line = ""
    for_seconds: Line = ""
    clear_for_seconds: Line = ""
    label: Line = ""
    unit: Line = ""
    case_class: Line = ""
    spec_json: str = Field("", max_length=100_000)
    note: Annotated[str, Field(max_length=2000)] = ""

    def texts(self) -> dict[str, str]:
        return self.model_dump(exclude={"datastreams"})


RULE_FIELDS = tuple(name for name in RuleForm.model_fields if name != "datastreams")


def _number(text: str, field: str, errors: Errors) -> float | int | None:
    try:
        return int(text) if field in WHOLE_NUMBERS else float(text)
    except ValueError:
        errors.append(
            {"field": field, "message": "write a whole number" if field in WHOLE_NUMBERS else "write a number"}
        )
        return None


def spec_from_form(form: dict[str, str], datastreams: list[str]) -> tuple[Any, Errors]:
    """The rule document the form describes — the JSON box, when filled, is the document itself — and the
    problems found reading it (the service checks the document itself)."""
    if form["spec_json"].strip():
        try:
            return json.loads(form["spec_json"]), []
        except json.JSONDecodeError as error:
            return None, [{"field": "spec_json", "message": f"not JSON: {error.msg} (line {error.lineno})"}]
    kind = form["kind"]
    if kind not in KIND_FIELDS:
        return None, [{"field": "kind", "message": "choose a kind; combinations (all_of, any_of) are written as JSON"}]
    errors: Errors = []
    spec: dict[str, Any] = {"kind": kind, "name": form["name"], "severity": form["severity"] or "medium",
                            "datastreams": [int(d) for d in datastreams if d.isdigit()]}  # fmt: skip
    for name in (*KIND_FIELDS[kind], *COMMON_FIELDS):
        text = form[name].strip()
        if text:
            spec[name] = _number(text, name, errors) if name in NUMBERS | WHOLE_NUMBERS else text
    if form["clear_mode"] in ("value", "deadband") and kind not in ("no_data", "stuck"):
        amount = form["clear_amount"].strip()
        if amount:
            spec["clear"] = {form["clear_mode"]: _number(amount, "clear_amount", errors)}
        else:
            errors.append({"field": "clear_amount", "message": "give the clear level or deadband"})
    return spec, errors


def open_case_of(form: dict[str, str]) -> dict[str, str] | None:
    """The ``open_case`` of the rule from the chosen case class (``event:0402``), or None."""
    kind, _, code = form["case_class"].partition(":")
    return {"kind": kind, "class_code": code} if code else None


def rule_field(from_json: bool) -> Callable[[str], str]:
    """Which input a problem of the rule is about: ``clear.value`` → the clear amount, ``datastreams.0`` → the
    datastreams; when the rule was typed as JSON, the JSON box."""

    def target(field: str) -> str:
        head = field.split(".")[0]
        if from_json or head == "body":
            return "spec_json"
        return {"open_case": "case_class", "clear": "clear_amount"}.get(head, head)

    return target


def form_from_rule(spec: dict[str, Any], case_template: dict[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """The form filled from a rule's current version: the fields of its kind, or the JSON box for a combination."""
    form = dict.fromkeys(RULE_FIELDS, "")
    if spec["kind"] in COMBINATIONS:
        form.update(kind=spec["kind"], name=spec["name"], severity=spec.get("severity", "medium"))
        form["spec_json"] = json.dumps(spec, ensure_ascii=False, indent=2)
        return form, []
    for name, value in spec.items():
        if name in form and not isinstance(value, dict | list):
            form[name] = f"{value:g}" if isinstance(value, float) else str(value)
    for mode, amount in (spec.get("clear") or {}).items():
        form["clear_mode"], form["clear_amount"] = mode, f"{amount:g}"
    if case_template:
        form["case_class"] = f"{case_template['kind']}:{case_template['class_code']}"
    return form, [str(d) for d in spec.get("datastreams", [])]


# ---------------------------------------------------------------- bulletins


class BulletinForm(BaseModel):
    """The bulletin editor as written; ``version`` is the one the editor saw (0 for a new draft)."""

    version: int = Field(0, ge=0)
    area_codes: list[str] = Field(default_factory=list, max_length=50)
    hazard: Line = ""
    colour: Line = ""
    area_polygons: str = Field("", max_length=100_000)
    area_desc: Annotated[str, Field(max_length=500)] = ""
    onset: Line = ""
    expires: Line = ""
    headline: Line = ""
    description: Paragraph = ""
    instruction: Paragraph = ""
    headline_en: Line = ""
    area_desc_en: Annotated[str, Field(max_length=500)] = ""
    description_en: Paragraph = ""
    instruction_en: Paragraph = ""

    def texts(self) -> dict[str, str]:
        return self.model_dump(exclude={"version", "area_codes"})


BULLETIN_FIELDS = tuple(name for name in BulletinForm.model_fields if name not in ("version", "area_codes"))
Rings = list[list[list[float]]]


def rings_text(rings: Rings) -> str:
    """Drawn areas as the editor writes them: one ``longitude, latitude`` per line, a blank line between areas."""
    return "\n\n".join("\n".join(f"{lon:.6f}, {lat:.6f}" for lon, lat in ring) for ring in rings)


def parse_rings(text: str) -> tuple[Rings, Errors]:
    """The editor's areas: the text above, or the API's JSON (rings of ``[lon, lat]``). A problem names its line;
    the service checks the rings themselves (at least three points, in range, not crossing)."""
    text = text.strip()
    if text.startswith("["):
        try:
            rings = json.loads(text)
        except json.JSONDecodeError as error:
            return [], [{"field": "area_polygons", "message": f"not JSON: {error.msg}"}]
        if isinstance(rings, list) and all(isinstance(ring, list) for ring in rings):
            return rings, []
        return [], [{"field": "area_polygons", "message": "JSON must be a list of rings of [longitude, latitude]"}]
    found: Rings = [[]]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            found.append([])
            continue
        try:
            lon, lat = (float(part) for part in line.replace(",", " ").split())
        except ValueError:
            message = f"line {number}: write longitude, latitude (e.g. 121.47, 31.23)"
            return [], [{"field": "area_polygons", "message": message}]
        found[-1].append([lon, lat])
    return [ring for ring in found if ring], []


def bulletin_content(
    form: dict[str, str], codes: list[str], zone: ZoneInfo, district_names: dict[str, str]
) -> tuple[dict[str, Any], Errors]:
    """A bulletin's content from the editor; left empty, the area description is the districts' names."""
    rings, errors = parse_rings(form["area_polygons"])
    data: dict[str, Any] = {name: form[name].strip() for name in BULLETIN_FIELDS}
    data["area_codes"], data["area_polygons"] = codes, rings
    data["onset"] = parse_local(form["onset"], zone, "onset", errors)
    data["expires"] = parse_local(form["expires"], zone, "expires", errors)
    if not data["area_desc"] and codes:
        data["area_desc"] = "、".join(district_names.get(code, code) for code in codes)
    return data, errors


def form_from_bulletin(bulletin: Any, zone: ZoneInfo) -> tuple[dict[str, str], list[str]]:
    """The editor filled from a draft."""
    form = {name: getattr(bulletin, name) or "" for name in BULLETIN_FIELDS}
    form["area_polygons"] = rings_text(json.loads(bulletin.area_polygons))
    form["onset"], form["expires"] = local_input(bulletin.onset, zone), local_input(bulletin.expires, zone)
    return form, json.loads(bulletin.area_codes)


def blank_bulletin(zone: ZoneInfo, hours: int = 6) -> dict[str, str]:
    """A new editor: in force from now for six hours."""
    now = utcnow()
    return dict.fromkeys(BULLETIN_FIELDS, "") | {
        "onset": local_input(now, zone),
        "expires": local_input(now + timedelta(hours=hours), zone),
    }


def bulletin_field(field: str) -> str:
    """Which input a problem of the bulletin is about: ``area_polygons[0]`` → the drawn areas."""
    head = field.split("[")[0]
    return head if head in (*BULLETIN_FIELDS, "area_codes") else ""


# ---------------------------------------------------------------- subscribers

DIVISION_CODE = re.compile(r"^\d{6,12}$")  # GB/T 2260 and its street and community extensions, as the API takes


class SubscriberForm(BaseModel):
    """The subscriber form as written: the hazards and districts chosen (none: every one)."""

    hazards: list[Line] = Field(default_factory=list, max_length=30)
    area_codes: list[Line] = Field(default_factory=list, max_length=50)
    name: Line = ""
    channel: Line = ""
    target: Annotated[str, Field(max_length=500)] = ""
    min_colour: Line = "blue"

    def texts(self) -> dict[str, str]:
        return {name: value.strip() for name, value in self.model_dump(exclude={"hazards", "area_codes"}).items()}


def blank_subscriber() -> dict[str, str]:
    return {"name": "", "channel": "", "target": "", "min_colour": "blue"}


def subscriber_problems(form: dict[str, str], area_codes: list[str]) -> Errors:
    """What the API's schema checks and the service does not: a name, and districts given by their codes (the
    service checks the channel, the target, the hazards and the colour)."""
    errors: Errors = []
    if not form["name"]:
        errors.append({"field": "name", "message": "give the subscriber a name"})
    errors += [{"field": "area_codes", "message": f"not a division code: {code}"}
               for code in area_codes if not DIVISION_CODE.match(code)]  # fmt: skip
    return errors


def shown_target(channel: str, target: str) -> str:
    """A subscriber's target as lists show it: a phone number or an address partly masked (personal data), a
    webhook without what may carry a credential (a user and password, a query)."""
    if channel == "sms":
        return mask_phone(target) or ""
    if channel == "email":
        return mask_email(target) or ""
    parts = urlsplit(target)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" + ("?…" if parts.query else "") if host else target
