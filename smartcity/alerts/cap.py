"""CAP 1.2 (OASIS Common Alerting Protocol, ITU-T X.1303) messages: dataclasses, XML and JSON out, XML in, a checker.

One ordered list of (element, value) pairs per message feeds both the XML and the JSON writer, so the two
always carry the same content. ``to_xml`` runs ``validate`` on what it wrote and refuses to hand out a
message that breaks a CAP 1.2 rule; ``from_xml`` refuses one it receives.
"""

from __future__ import annotations

import binascii
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from smartcity.core.errors import Problem

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"


class Status(StrEnum):
    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


class Category(StrEnum):
    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class ResponseType(StrEnum):
    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class Urgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


LatLon = tuple[float, float]
Ring = tuple[LatLon, ...]
Circle = tuple[LatLon, float]  # (centre, radius in km)
Pair = tuple[str, str]  # (valueName, value)
Reference = tuple[str, str, datetime]  # (sender, identifier, sent)


class InvalidCap(Problem):
    """A message that breaks CAP 1.2 rules; ``problems`` holds one "element/path: what is wrong" per rule."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        errors = [dict(zip(("field", "message"), p.split(": ", 1), strict=False)) for p in self.problems]
        detail = f"The CAP 1.2 message breaks {len(self.problems)} rule(s): " + "; ".join(self.problems[:5])
        super().__init__(422, detail, code="invalid-cap", title="Invalid CAP message", errors=errors)


# --- the message --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Resource:
    resource_desc: str
    mime_type: str
    size: int | None = None  # bytes
    uri: str | None = None
    deref_uri: str | None = None  # base64 of the resource itself
    digest: str | None = None  # SHA-1, hex


@dataclass(frozen=True, kw_only=True)
class Area:
    """A place; its shapes are a union. Polygons are (lat, lon) rings in WGS 84 — lat first, unlike GeoJSON.

    An open ring is closed here; a ring with fewer than 4 pairs once closed is refused (ValueError).
    ``altitude`` and ``ceiling`` are in feet, as CAP 1.2 has them.
    """

    area_desc: str
    polygons: Sequence[Sequence[LatLon]] = ()
    circles: Sequence[Circle] = ()
    geocodes: Sequence[Pair] = ()
    altitude: float | None = None
    ceiling: float | None = None

    def __post_init__(self) -> None:
        _freeze(self, "polygons", tuple(closed_ring(p) for p in self.polygons))
        _freeze(self, "circles", tuple(((float(c[0][0]), float(c[0][1])), float(c[1])) for c in self.circles))
        _freeze(self, "geocodes", _pairs(self.geocodes))
        for name in ("altitude", "ceiling"):
            if getattr(self, name) is not None:
                _freeze(self, name, float(getattr(self, name)))


@dataclass(frozen=True, kw_only=True)
class Info:
    """One language's text of the message. ``language`` defaults to zh-CN here (CAP's own default is en-US)."""

    language: str = "zh-CN"
    categories: Sequence[Category]
    event: str
    response_types: Sequence[ResponseType] = ()
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    audience: str | None = None
    event_codes: Sequence[Pair] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: Sequence[Pair] = ()
    resources: Sequence[Resource] = ()
    areas: Sequence[Area] = ()

    def __post_init__(self) -> None:
        _freeze(self, "categories", tuple(Category(c) for c in self.categories))
        _freeze(self, "response_types", tuple(ResponseType(r) for r in self.response_types))
        _freeze(self, "urgency", Urgency(self.urgency))
        _freeze(self, "severity", Severity(self.severity))
        _freeze(self, "certainty", Certainty(self.certainty))
        for name in ("effective", "onset", "expires"):
            if getattr(self, name) is not None:
                _freeze(self, name, _instant(getattr(self, name), name))
        _freeze(self, "event_codes", _pairs(self.event_codes))
        _freeze(self, "parameters", _pairs(self.parameters))
        _freeze(self, "resources", tuple(self.resources))
        _freeze(self, "areas", tuple(self.areas))

    def parameter(self, value_name: str) -> str | None:
        """The value of the first parameter with this valueName, or None."""
        return next((v for n, v in self.parameters if n == value_name), None)


@dataclass(frozen=True, kw_only=True)
class Alert:
    """A CAP 1.2 message. Immutable: an update or a cancellation is a new Alert whose ``references`` name
    the earlier ones (CAP 1.2 §3.2.1 ``references``). Times must carry a UTC offset; seconds are the
    finest unit CAP writes, so fractions are dropped."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: Sequence[str] = ()
    codes: Sequence[str] = ()
    note: str | None = None
    references: Sequence[Reference] = ()
    incidents: Sequence[str] = ()
    infos: Sequence[Info] = ()

    def __post_init__(self) -> None:
        _freeze(self, "sent", _instant(self.sent, "sent"))
        _freeze(self, "status", Status(self.status))
        _freeze(self, "msg_type", MsgType(self.msg_type))
        _freeze(self, "scope", Scope(self.scope))
        _freeze(self, "addresses", tuple(self.addresses))
        _freeze(self, "codes", tuple(self.codes))
        _freeze(self, "incidents", tuple(self.incidents))
        _freeze(self, "references", tuple((s, i, _instant(t, "references")) for s, i, t in self.references))
        _freeze(self, "infos", tuple(self.infos))

    def reference(self) -> Reference:
        """This message as another message's ``references`` entry names it."""
        return (self.sender, self.identifier, self.sent)


def _freeze(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


def _pairs(pairs: Iterable[Sequence[str]]) -> tuple[Pair, ...]:
    return tuple((str(name), str(value)) for name, value in pairs)


def _instant(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a UTC offset: CAP 1.2 writes every time with one")
    offset = value.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise ValueError(f"{name} has an offset of {offset}; CAP writes offsets in whole minutes")
    return value.replace(microsecond=0)


def closed_ring(points: Sequence[Sequence[float]]) -> Ring:
    """The points as a closed (lat, lon) ring: the first pair repeated at the end if it is not already.

    Raises ValueError when the ring has fewer than 4 pairs once closed (CAP 1.2 §3.2.4 ``polygon``)."""
    ring = tuple((float(p[0]), float(p[1])) for p in points)
    if ring and ring[0] != ring[-1]:
        ring = (*ring, ring[0])
    if len(ring) < 4:
        raise ValueError(f"a polygon needs at least 4 (lat, lon) pairs once closed, not {len(ring)}")
    return ring


# --- writing ------------------------------------------------------------------------------------------

Value = str | int | float
Node = tuple[str, "Value | list[Node]"]
REPEATED = frozenset(
    {"code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area"}
    | {"polygon", "circle", "geocode"}
)


def format_time(value: datetime) -> str:
    """``2025-07-01T14:00:00+08:00``: CAP 1.2 forbids ``Z`` and writes UTC as ``-00:00``."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("a CAP time needs a UTC offset")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{value.replace(tzinfo=None).isoformat(timespec='seconds')}{sign}{hours:02d}:{mins:02d}"


def parse_time(text: str) -> datetime:
    """The datetime of a CAP 1.2 time string; ValueError when it is not one (``Z``, no offset, fractions)."""
    if not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a CAP time like 2025-07-01T14:00:00+08:00")
    return datetime.fromisoformat(text)


def _number(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    return text if "e" not in text else f"{value:.10f}".rstrip("0")


def _latlon(point: LatLon) -> str:
    return f"{_number(point[0])},{_number(point[1])}"


def _spaced(items: Sequence[str]) -> str | None:
    """CAP's space-delimited list: an entry containing a space is put in double quotes."""
    return " ".join(f'"{i}"' if " " in i else i for i in items) or None


def _opt(tag: str, value: Value | None) -> list[Node]:
    return [] if value is None else [(tag, value)]


def _pair_nodes(tag: str, pairs: Sequence[Pair]) -> list[Node]:
    return [(tag, [("valueName", name), ("value", value)]) for name, value in pairs]


def _alert_nodes(alert: Alert) -> list[Node]:
    references = " ".join(f"{s},{i},{format_time(t)}" for s, i, t in alert.references) or None
    return [
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", format_time(alert.sent)),
        ("status", str(alert.status)),
        ("msgType", str(alert.msg_type)),
        *_opt("source", alert.source),
        ("scope", str(alert.scope)),
        *_opt("restriction", alert.restriction),
        *_opt("addresses", _spaced(alert.addresses)),
        *[("code", c) for c in alert.codes],
        *_opt("note", alert.note),
        *_opt("references", references),
        *_opt("incidents", _spaced(alert.incidents)),
        *[("info", _info_nodes(i)) for i in alert.infos],
    ]


def _info_nodes(info: Info) -> list[Node]:
    times = [(tag, getattr(info, tag)) for tag in ("effective", "onset", "expires")]
    return [
        ("language", info.language),
        *[("category", str(c)) for c in info.categories],
        ("event", info.event),
        *[("responseType", str(r)) for r in info.response_types],
        ("urgency", str(info.urgency)),
        ("severity", str(info.severity)),
        ("certainty", str(info.certainty)),
        *_opt("audience", info.audience),
        *_pair_nodes("eventCode", info.event_codes),
        *[(tag, format_time(t)) for tag, t in times if t is not None],
        *_opt("senderName", info.sender_name),
        *_opt("headline", info.headline),
        *_opt("description", info.description),
        *_opt("instruction", info.instruction),
        *_opt("web", info.web),
        *_opt("contact", info.contact),
        *_pair_nodes("parameter", info.parameters),
        *[("resource", _resource_nodes(r)) for r in info.resources],
        *[("area", _area_nodes(a)) for a in info.areas],
    ]


def _resource_nodes(resource: Resource) -> list[Node]:
    return [
        ("resourceDesc", resource.resource_desc),
        ("mimeType", resource.mime_type),
        *_opt("size", resource.size),
        *_opt("uri", resource.uri),
        *_opt("derefUri", resource.deref_uri),
        *_opt("digest", resource.digest),
    ]


def _area_nodes(area: Area) -> list[Node]:
    return [
        ("areaDesc", area.area_desc),
        *[("polygon", " ".join(_latlon(p) for p in ring)) for ring in area.polygons],
        *[("circle", f"{_latlon(centre)} {_number(radius)}") for centre, radius in area.circles],
        *_pair_nodes("geocode", area.geocodes),
        *_opt("altitude", area.altitude),
        *_opt("ceiling", area.ceiling),
    ]


def _text(value: Value) -> str:
    return _number(value) if isinstance(value, float) else str(value)


def _build(parent: ET.Element, nodes: list[Node]) -> None:
    for tag, value in nodes:
        child = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _build(child, value)
        else:
            child.text = _text(value)


def _document(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def to_xml(alert: Alert) -> bytes:
    """The message as CAP 1.2 XML (UTF-8, with an XML declaration, elements in the standard's order).

    Raises InvalidCap when the message breaks a CAP 1.2 rule (our ``validate`` is run on the output)."""
    # Unprefixed children under a root carrying the default namespace: no global register_namespace.
    root = ET.Element("alert", {"xmlns": CAP_NS})
    _build(root, _alert_nodes(alert))
    data = _document(root)
    problems = validate(data)
    if problems:
        raise InvalidCap(problems)
    return data


def _as_dict(nodes: list[Node]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag, value in nodes:
        item = _as_dict(value) if isinstance(value, list) else value
        if tag in REPEATED:
            out.setdefault(tag, []).append(item)
        else:
            out[tag] = item
    return out


def to_json(alert: Alert) -> dict[str, Any]:
    """The message as JSON with CAP's element names: repeatable elements (code, info, category, area,
    polygon, …) are lists; texts are as in the XML (polygon "lat,lon …", references triplets); size,
    altitude and ceiling are numbers. Absent optional elements are left out. Raises InvalidCap as to_xml."""
    to_xml(alert)  # one set of rules for both formats
    return _as_dict(_alert_nodes(alert))


# --- reading ------------------------------------------------------------------------------------------


class _Reader:
    """Children of one CAP element by local name (validation has already vouched for the structure)."""

    def __init__(self, element: ET.Element) -> None:
        self.by_name: dict[str, list[ET.Element]] = {}
        for child in element:
            if child.tag.startswith("{" + CAP_NS + "}"):
                self.by_name.setdefault(child.tag.split("}", 1)[1], []).append(child)

    def text(self, name: str) -> str | None:
        found = self.by_name.get(name)
        return None if not found else (found[0].text or "").strip()

    def texts(self, name: str) -> list[str]:
        return [(e.text or "").strip() for e in self.by_name.get(name, [])]

    def time(self, name: str) -> datetime | None:
        text = self.text(name)
        return None if text is None else parse_time(text)

    def number(self, name: str) -> float | None:
        text = self.text(name)
        return None if text is None else float(text)

    def all(self, name: str) -> list[_Reader]:
        return [_Reader(e) for e in self.by_name.get(name, [])]

    def pairs(self, name: str) -> list[Pair]:
        return [(r.text("valueName") or "", r.text("value") or "") for r in self.all(name)]


def _split_spaced(text: str | None) -> list[str]:
    return [] if not text else [quoted or bare for quoted, bare in _SPACED_ITEM.findall(text)]


def _point(text: str) -> LatLon:
    lat, lon = text.split(",")
    return (float(lat), float(lon))


def _read_alert(r: _Reader) -> Alert:
    references = [ref.split(",") for ref in (r.text("references") or "").split()]
    return Alert(
        identifier=r.text("identifier") or "",
        sender=r.text("sender") or "",
        sent=r.time("sent"),  # type: ignore[arg-type]  # required, validated
        status=Status(r.text("status")),
        msg_type=MsgType(r.text("msgType")),
        source=r.text("source"),
        scope=Scope(r.text("scope")),
        restriction=r.text("restriction"),
        addresses=_split_spaced(r.text("addresses")),
        codes=r.texts("code"),
        note=r.text("note"),
        references=[(s, i, parse_time(t)) for s, i, t in references],
        incidents=_split_spaced(r.text("incidents")),
        infos=[_read_info(i) for i in r.all("info")],
    )


def _read_info(r: _Reader) -> Info:
    return Info(
        language=r.text("language") or "en-US",  # CAP 1.2's default when the element is absent
        categories=[Category(c) for c in r.texts("category")],
        event=r.text("event") or "",
        response_types=[ResponseType(t) for t in r.texts("responseType")],
        urgency=Urgency(r.text("urgency")),
        severity=Severity(r.text("severity")),
        certainty=Certainty(r.text("certainty")),
        audience=r.text("audience"),
        event_codes=r.pairs("eventCode"),
        effective=r.time("effective"),
        onset=r.time("onset"),
        expires=r.time("expires"),
        sender_name=r.text("senderName"),
        headline=r.text("headline"),
        description=r.text("description"),
        instruction=r.text("instruction"),
        web=r.text("web"),
        contact=r.text("contact"),
        parameters=r.pairs("parameter"),
        resources=[_read_resource(x) for x in r.all("resource")],
        areas=[_read_area(a) for a in r.all("area")],
    )


def _read_resource(r: _Reader) -> Resource:
    size = r.text("size")
    return Resource(
        resource_desc=r.text("resourceDesc") or "",
        mime_type=r.text("mimeType") or "",
        size=None if size is None else int(size),
        uri=r.text("uri"),
        deref_uri=r.text("derefUri"),
        digest=r.text("digest"),
    )


def _read_area(r: _Reader) -> Area:
    circles = [text.split() for text in r.texts("circle")]
    return Area(
        area_desc=r.text("areaDesc") or "",
        polygons=[[_point(p) for p in text.split()] for text in r.texts("polygon")],
        circles=[(_point(centre), float(radius)) for centre, radius in circles],
        geocodes=r.pairs("geocode"),
        altitude=r.number("altitude"),
        ceiling=r.number("ceiling"),
    )


def from_xml(data: bytes) -> Alert:
    """The Alert in a CAP 1.2 XML document. Raises InvalidCap (with every problem found) when the document
    breaks a CAP 1.2 rule. An XML signature (xmldsig) after the last info is allowed and not kept."""
    problems = validate(data)
    if problems:
        raise InvalidCap(problems)
    return _read_alert(_Reader(ET.fromstring(data)))


# --- checking -----------------------------------------------------------------------------------------

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")  # xs:language (RFC 3066)
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_SPACED_ITEM = re.compile(r'"([^"]*)"|(\S+)')
_FORBIDDEN_IN_IDS = frozenset(" \t\r\n,<&")  # CAP 1.2 §3.2.1 identifier and sender

Check = Callable[[str], list[str]]


@dataclass(frozen=True)
class _Element:
    """One element of the CAP 1.2 sequence: cardinality, a check of its text or its own children."""

    name: str
    min: int = 0
    max: int | None = 1  # None: unbounded
    check: Check | None = None
    children: tuple[_Element, ...] = ()
    strip: bool = True  # enumerations are compared as written, other texts without surrounding blanks


def _one_of(enum: type[StrEnum]) -> Check:
    allowed = [str(e) for e in enum]
    return lambda text: [] if text in allowed else [f"{text!r} is not one of {', '.join(allowed)}"]


def _not_empty(text: str) -> list[str]:
    return [] if text else ["is empty"]


def _identifier(text: str) -> list[str]:
    if not text:
        return ["is empty"]
    bad = sorted({c for c in text if c in _FORBIDDEN_IN_IDS})
    return [f"contains {', '.join(map(repr, bad))}; CAP 1.2 forbids spaces, commas, '<' and '&' here"] if bad else []


def _time(text: str) -> list[str]:
    if text.endswith(("Z", "z")):
        return [f"{text!r} uses 'Z'; CAP 1.2 requires a numeric offset such as +08:00 (UTC is written -00:00)"]
    if not _TIME.fullmatch(text):
        return [f"{text!r} is not a CAP time with a UTC offset, like 2025-07-01T14:00:00+08:00"]
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return [f"{text!r} is not a real date and time"]
    return []


def _references(text: str) -> list[str]:
    if not text:
        return ["is empty"]
    problems = []
    for triplet in text.split():
        parts = triplet.split(",")
        if len(parts) != 3:
            problems.append(f"{triplet!r} is not a sender,identifier,sent triplet")
            continue
        for label, part in zip(("sender", "identifier"), parts[:2], strict=True):
            problems += [f"{label} in {triplet!r} {p}" for p in _identifier(part)]
        problems += _time(parts[2])
    return problems


def _coordinate(text: str) -> tuple[LatLon | None, list[str]]:
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        return None, [f"{text!r} is not a lat,lon pair"]
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None, [f"{text!r} is not a lat,lon pair"]
    problems = [] if -90 <= lat <= 90 else [f"latitude {lat} in {text!r} is outside -90…90"]
    problems += [] if -180 <= lon <= 180 else [f"longitude {lon} in {text!r} is outside -180…180"]
    return (lat, lon), problems


def _polygon(text: str) -> list[str]:
    pairs = text.split()
    problems: list[str] = []
    points = []
    for pair in pairs:
        point, found = _coordinate(pair)
        problems += found
        points.append(point)
    if len(pairs) < 4:
        problems.append(f"has {len(pairs)} lat,lon pairs; a closed ring needs at least 4")
    elif None not in points and points[0] != points[-1]:
        problems.append(f"is not closed: the first pair {pairs[0]} must be repeated at the end (last is {pairs[-1]})")
    return problems


def _circle(text: str) -> list[str]:
    parts = text.split()
    if len(parts) != 2:
        return [f"{text!r} is not 'lat,lon radius'"]
    problems = _coordinate(parts[0])[1]
    try:
        radius = float(parts[1])
    except ValueError:
        return [*problems, f"radius {parts[1]!r} is not a number of kilometres"]
    return problems + ([] if math.isfinite(radius) and radius >= 0 else [f"radius {parts[1]!r} must be ≥ 0 km"])


def _decimal(text: str) -> list[str]:
    return [] if _DECIMAL.fullmatch(text) else [f"{text!r} is not a decimal number"]


def _size(text: str) -> list[str]:
    return [] if _INTEGER.fullmatch(text) and int(text) >= 0 else [f"{text!r} is not a whole number of bytes"]


def _language(text: str) -> list[str]:
    return [] if _LANGUAGE.fullmatch(text) else [f"{text!r} is not a language code such as zh-CN"]


def _absolute_uri(text: str) -> list[str]:
    ok = text and not any(c.isspace() for c in text) and urlsplit(text).scheme
    return [] if ok else [f"{text!r} is not a full, absolute URI"]


def _uri(text: str) -> list[str]:
    # CAP 1.2 allows a relative uri that names the content of derefUri in the same resource
    return [] if text and not any(c.isspace() for c in text) else [f"{text!r} is not a URI"]


def _base64(text: str) -> list[str]:
    try:
        binascii.a2b_base64("".join(text.split()).encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return ["is not base64 data"]
    return []


def _sha1(text: str) -> list[str]:
    return [] if _SHA1.fullmatch(text) else [f"{text!r} is not a SHA-1 digest (40 hex digits)"]


def _pair_spec(name: str) -> _Element:
    return _Element(name, 0, None, children=(_Element("valueName", 1, 1, _not_empty), _Element("value", 1, 1)))


def _times(*names: str) -> tuple[_Element, ...]:
    return tuple(_Element(n, 0, 1, _time) for n in names)


RESOURCE = _Element(
    "resource",
    0,
    None,
    children=(
        _Element("resourceDesc", 1, 1, _not_empty),
        _Element("mimeType", 1, 1, _not_empty),
        _Element("size", 0, 1, _size),
        _Element("uri", 0, 1, _uri),
        _Element("derefUri", 0, 1, _base64),
        _Element("digest", 0, 1, _sha1),
    ),
)
AREA = _Element(
    "area",
    0,
    None,
    children=(
        _Element("areaDesc", 1, 1, _not_empty),
        _Element("polygon", 0, None, _polygon),
        _Element("circle", 0, None, _circle),
        _pair_spec("geocode"),
        _Element("altitude", 0, 1, _decimal),
        _Element("ceiling", 0, 1, _decimal),
    ),
)
INFO = _Element(
    "info",
    0,
    None,
    children=(
        _Element("language", 0, 1, _language),
        _Element("category", 1, None, _one_of(Category), strip=False),
        _Element("event", 1, 1, _not_empty),
        _Element("responseType", 0, None, _one_of(ResponseType), strip=False),
        _Element("urgency", 1, 1, _one_of(Urgency), strip=False),
        _Element("severity", 1, 1, _one_of(Severity), strip=False),
        _Element("certainty", 1, 1, _one_of(Certainty), strip=False),
        _Element("audience"),
        _pair_spec("eventCode"),
        *_times("effective", "onset", "expires"),
        _Element("senderName"),
        _Element("headline"),
        _Element("description"),
        _Element("instruction"),
        _Element("web", 0, 1, _absolute_uri),
        _Element("contact"),
        _pair_spec("parameter"),
        RESOURCE,
        AREA,
    ),
)
ALERT = _Element(
    "alert",
    1,
    1,
    children=(
        _Element("identifier", 1, 1, _identifier, strip=False),
        _Element("sender", 1, 1, _identifier, strip=False),
        _Element("sent", 1, 1, _time),
        _Element("status", 1, 1, _one_of(Status), strip=False),
        _Element("msgType", 1, 1, _one_of(MsgType), strip=False),
        _Element("source"),
        _Element("scope", 1, 1, _one_of(Scope), strip=False),
        _Element("restriction"),
        _Element("addresses"),
        _Element("code", 0, None),
        _Element("note"),
        _Element("references", 0, 1, _references),
        _Element("incidents"),
        INFO,
    ),
)
# The element order of CAP 1.2 (§3.2 data dictionary, and the sequences of the OASIS schema).
ELEMENT_ORDER = {spec.name: tuple(c.name for c in spec.children) for spec in (ALERT, INFO, RESOURCE, AREA)}


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, name = tag[1:].split("}", 1)
        return namespace, name
    return "", tag


def _check_children(element: ET.Element, path: str, spec: _Element) -> list[str]:
    positions = {child.name: i for i, child in enumerate(spec.children)}
    counts: Counter[str] = Counter()
    problems: list[str] = []
    furthest, signed = -1, False
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        namespace, name = _local(child.tag)
        if spec.name == "alert" and namespace == XMLDSIG_NS:
            signed = True  # the OASIS schema lets an XML signature follow the last info
            continue
        if namespace != CAP_NS or name not in positions:
            problems.append(f"{path}: <{name}> ({namespace or 'no namespace'}) is not a CAP 1.2 element here")
            continue
        at = positions[name]
        child_spec = spec.children[at]
        counts[name] += 1
        child_path = f"{path}/{name}" + ("" if child_spec.max == 1 else f"[{counts[name]}]")
        if at < furthest:
            problems.append(
                f"{child_path}: out of order; CAP 1.2 puts <{name}> before <{spec.children[furthest].name}>"
            )
        elif signed:
            problems.append(f"{child_path}: comes after the XML signature, which must be last")
        furthest = max(furthest, at)
        problems += _check_element(child, child_path, child_spec)
    return problems + _cardinality(path, spec, counts)


def _cardinality(path: str, spec: _Element, counts: Counter[str]) -> list[str]:
    problems = []
    for child in spec.children:
        seen = counts[child.name]
        if seen < child.min:
            problems.append(f"{path}/{child.name}: required, but missing")
        elif child.max is not None and seen > child.max:
            problems.append(f"{path}/{child.name}: appears {seen} times; CAP 1.2 allows {child.max}")
    return problems


def _check_element(element: ET.Element, path: str, spec: _Element) -> list[str]:
    if spec.children:
        return _check_children(element, path, spec) + _RULES.get(spec.name, _no_rules)(_Reader(element), path)
    if len(element):
        return [f"{path}: holds elements; CAP 1.2 has text here"]
    text = element.text or ""
    text = text.strip() if spec.strip else text
    return [f"{path}: {p}" for p in (spec.check(text) if spec.check else [])]


def _no_rules(_: _Reader, __: str) -> list[str]:
    return []


def _alert_rules(r: _Reader, path: str) -> list[str]:
    # CAP 1.2 §3.2.1: restriction is used when scope is Restricted; addresses are required when Private.
    problems = []
    if r.text("scope") == Scope.RESTRICTED and not r.text("restriction"):
        problems.append(f"{path}/restriction: required when scope is Restricted")
    if r.text("scope") == Scope.PRIVATE and not r.text("addresses"):
        problems.append(f"{path}/addresses: required when scope is Private")
    return problems


def _area_rules(r: _Reader, path: str) -> list[str]:
    # CAP 1.2 §3.2.4 ceiling: only together with altitude (the RCAP validator checks the same).
    if r.text("ceiling") is not None and r.text("altitude") is None:
        return [f"{path}/ceiling: given without altitude; CAP 1.2 uses ceiling only with altitude"]
    return []


_RULES: dict[str, Callable[[_Reader, str], list[str]]] = {"alert": _alert_rules, "area": _area_rules}


def validate(xml: bytes) -> list[str]:
    """Every CAP 1.2 rule the document breaks, as "element/path: what is wrong"; empty when it is valid.

    Checks element order, required elements and how often each may appear, enumerations, times with a
    numeric offset, identifier and sender characters, restriction / addresses for the scope, references
    triplets, closed polygons of ≥ 4 in-range pairs, circles, ceiling with altitude."""
    if _DOCTYPE.search(xml):
        # CAP needs no DTD; refusing one keeps entity expansion out of our parser entirely
        return ["document: has a DOCTYPE; CAP 1.2 messages carry none"]
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        return [f"document: not well-formed XML ({error})"]
    namespace, name = _local(root.tag)
    if name != "alert":
        return [f"document: the root element is <{name}>, not a CAP <alert>"]
    if namespace != CAP_NS:
        return [f"alert: namespace is {namespace or 'missing'!r}; CAP 1.2 uses {CAP_NS!r}"]
    return _check_element(root, "alert", ALERT)


# --- the Atom feed of active alerts --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FeedEntry:
    """One Atom entry: a CAP message, linked at its stable URL."""

    id: str  # an IRI that never changes for this message; by default its URL
    title: str
    updated: datetime
    url: str  # where the CAP XML of the message is served
    author: str
    summary: str | None = None

    @classmethod
    def from_alert(cls, alert: Alert, url: str, *, language: str = "zh-CN") -> FeedEntry:
        """An entry for the message: title from the headline (or event) of the info in ``language``
        (or the first info), summary from its description, author its senderName (or sender)."""
        info = next((i for i in alert.infos if i.language == language), alert.infos[0] if alert.infos else None)
        title = (info and (info.headline or info.event)) or alert.identifier
        return cls(
            id=url,
            title=title,
            updated=alert.sent,
            url=url,
            author=(info and info.sender_name) or alert.sender,
            summary=(info and (info.description or info.headline)) or None,
        )


def _atom_time(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Atom times need a UTC offset (RFC 4287 §3.3)")
    return value.isoformat(timespec="seconds")


def atom_feed(entries: Iterable[FeedEntry], *, feed_id: str, title: str, self_url: str, updated: datetime) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the entries, each linking its CAP message as ``application/cap+xml``."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    ET.SubElement(feed, "id").text = feed_id
    ET.SubElement(feed, "title").text = title
    ET.SubElement(feed, "updated").text = _atom_time(updated)
    ET.SubElement(feed, "link", {"rel": "self", "href": self_url, "type": ATOM_MEDIA_TYPE})
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        ET.SubElement(item, "id").text = entry.id
        ET.SubElement(item, "title").text = entry.title
        ET.SubElement(item, "updated").text = _atom_time(entry.updated)
        ET.SubElement(ET.SubElement(item, "author"), "name").text = entry.author
        ET.SubElement(item, "link", {"rel": "alternate", "href": entry.url, "type": CAP_MEDIA_TYPE})
        if entry.summary:
            ET.SubElement(item, "summary").text = entry.summary
    return _document(feed)
