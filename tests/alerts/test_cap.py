"""CAP 1.2 messages: XML and JSON out, XML back in, and our own checker of the standard's rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from smartcity.alerts import cap
from smartcity.alerts.cap import Alert, Area, InvalidCap, from_xml, to_json, to_xml, validate
from tests.alerts.factories import SENT, make_alert, make_area, make_full_alert, make_info

NS = {"cap": cap.CAP_NS}
# Written out here from CAP 1.2 §3.2 rather than read from the module, so the test is a second opinion.
ORDER = {
    "alert": "identifier sender sent status msgType source scope restriction addresses code note references "
    "incidents info",
    "info": "language category event responseType urgency severity certainty audience eventCode effective onset "
    "expires senderName headline description instruction web contact parameter resource area",
    "resource": "resourceDesc mimeType size uri derefUri digest",
    "area": "areaDesc polygon circle geocode altitude ceiling",
    "eventCode": "valueName value",
    "parameter": "valueName value",
    "geocode": "valueName value",
}


def _local(element: ET.Element) -> str:
    return element.tag.split("}", 1)[1]


def _text(xml: bytes, path: str) -> str:
    found = ET.fromstring(xml).find(path, NS)
    assert found is not None, path
    return found.text or ""


def _swap(xml: bytes, old: str, new: str) -> bytes:
    text = xml.decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


def _problems_at(problems: list[str], path: str) -> list[str]:
    return [p for p in problems if p.startswith(path)]


# --- writing and reading back -------------------------------------------------------------------------


def test_round_trip_of_a_minimal_message() -> None:
    alert = make_alert()
    assert from_xml(to_xml(alert)) == alert


def test_round_trip_of_every_element() -> None:
    alert = make_full_alert()
    xml = to_xml(alert)
    assert validate(xml) == []
    assert from_xml(xml) == alert
    assert to_xml(from_xml(xml)) == xml


def test_document_is_utf8_with_a_declaration_and_the_cap_namespace() -> None:
    xml = to_xml(make_alert())
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)
    assert root.tag == f"{{{cap.CAP_NS}}}alert"
    assert all(e.tag.startswith(f"{{{cap.CAP_NS}}}") for e in root.iter())
    assert "暴雨橙色预警".encode() in xml  # written as UTF-8, not as character references


@pytest.mark.parametrize("element", ["alert", "info", "resource", "area", "eventCode", "parameter", "geocode"])
def test_elements_come_in_the_standards_order(element: str) -> None:
    xml = to_xml(make_full_alert())
    order = ORDER[element].split()
    nodes = [ET.fromstring(xml)] if element == "alert" else ET.fromstring(xml).iter(f"{{{cap.CAP_NS}}}{element}")
    seen = 0
    for node in nodes:
        names = [_local(child) for child in node]
        assert names == sorted(names, key=order.index), f"{element}: {names}"
        seen += 1
    assert seen


def test_the_full_message_uses_every_element() -> None:
    written = {_local(e) for e in ET.fromstring(to_xml(make_full_alert())).iter()}
    assert written == {"alert"} | {name for names in ORDER.values() for name in names.split()}


def test_times_carry_a_numeric_offset_and_utc_is_minus_zero() -> None:
    alert = make_alert(sent=datetime(2025, 7, 1, 6, 0, 0, 123456, tzinfo=UTC))
    xml = to_xml(alert)
    assert _text(xml, "cap:sent") == "2025-07-01T06:00:00-00:00"
    assert _text(xml, "cap:info/cap:expires") == "2025-07-01T20:00:00+08:00"
    assert b"Z<" not in xml
    assert cap.format_time(datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-5)))) == "2025-01-01T00:00:00-05:00"
    assert cap.format_time(datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=45)))).endswith("+05:45")


def test_a_time_without_offset_is_refused_when_building() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        make_alert(sent=datetime(2025, 7, 1, 14, 0))
    with pytest.raises(ValueError, match="UTC offset"):
        make_info(expires=datetime(2025, 7, 1, 20, 0))


def test_parse_time_refuses_z_and_missing_offset() -> None:
    assert cap.parse_time("2025-07-01T06:00:00-00:00") == datetime(2025, 7, 1, 6, tzinfo=UTC)
    for text in ("2025-07-01T06:00:00Z", "2025-07-01T06:00:00", "2025-07-01T06:00:00.5+08:00"):
        with pytest.raises(ValueError):
            cap.parse_time(text)


def test_an_open_ring_is_closed() -> None:
    open_ring = [(31.25, 121.46), (31.25, 121.51), (31.20, 121.51)]
    xml = to_xml(make_alert(infos=[make_info(areas=[make_area(polygons=[open_ring])])]))
    pairs = _text(xml, "cap:info/cap:area/cap:polygon").split(" ")
    assert pairs == ["31.25,121.46", "31.25,121.51", "31.2,121.51", "31.25,121.46"]


@pytest.mark.parametrize(
    "ring",
    [
        [(31.2, 121.4), (31.3, 121.5), (31.2, 121.4)],  # closed, 3 pairs
        [(31.2, 121.4), (31.3, 121.5)],  # open, 3 pairs once closed
        [],
    ],
)
def test_a_ring_of_fewer_than_four_pairs_is_refused(ring: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="at least 4"):
        make_area(polygons=[ring])


def test_addresses_and_incidents_with_spaces_are_quoted() -> None:
    alert = make_alert(scope="Private", addresses=["a@example.org", "防汛 值班室"], incidents=["x", "y z"])
    xml = to_xml(alert)
    assert _text(xml, "cap:addresses") == 'a@example.org "防汛 值班室"'
    assert _text(xml, "cap:incidents") == 'x "y z"'
    assert from_xml(xml) == alert


def test_a_cancel_references_the_earlier_message() -> None:
    original = make_alert()
    cancel = make_alert(
        identifier="SH-MET-20250701-0002",
        sent=SENT + timedelta(hours=2),
        msg_type="Cancel",
        references=[original.reference()],
        infos=[make_info(response_types=["AllClear"], urgency="Past", severity="Minor", certainty="Observed")],
    )
    xml = to_xml(cancel)
    assert _text(xml, "cap:msgType") == "Cancel"
    assert (
        _text(xml, "cap:references")
        == "warning@smartcity.example.gov.cn,SH-MET-20250701-0001,2025-07-01T14:00:00+08:00"
    )
    assert from_xml(xml).references == (original.reference(),)


def test_an_update_may_reference_several_messages() -> None:
    earlier = [make_alert(identifier=f"SH-MET-{n}", sent=SENT + timedelta(minutes=n)) for n in (1, 2)]
    xml = to_xml(make_alert(identifier="SH-MET-3", msg_type="Update", references=[a.reference() for a in earlier]))
    assert len(_text(xml, "cap:references").split(" ")) == 2
    assert from_xml(xml).references == tuple(a.reference() for a in earlier)


def test_a_chinese_warning_with_a_division_geocode_and_its_colour_as_a_parameter() -> None:
    xml = to_xml(make_alert(infos=[make_info(colour="red")]))
    info = "cap:info"
    assert _text(xml, f"{info}/cap:language") == "zh-CN"
    assert _text(xml, f"{info}/cap:event") == "暴雨红色预警"
    assert _text(xml, f"{info}/cap:severity") == "Extreme"
    assert _text(xml, f"{info}/cap:eventCode/cap:valueName") == "hazard"
    assert _text(xml, f"{info}/cap:eventCode/cap:value") == "rainstorm"
    assert _text(xml, f"{info}/cap:parameter/cap:valueName") == "alertColor"
    assert _text(xml, f"{info}/cap:parameter/cap:value") == "红"
    assert _text(xml, f"{info}/cap:area/cap:geocode/cap:valueName") == "GB/T 2260"
    assert _text(xml, f"{info}/cap:area/cap:geocode/cap:value") == "310101"
    assert from_xml(xml).infos[0].parameter("alertColor") == "红"


def test_a_missing_language_reads_as_cap_default() -> None:
    xml = re.sub(rb"\s*<language>zh-CN</language>", b"", to_xml(make_alert()))
    assert validate(xml) == []
    assert from_xml(xml).infos[0].language == "en-US"


def test_an_xml_signature_may_close_the_message() -> None:
    signature = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>'
    xml = to_xml(make_alert())
    assert validate(_swap(xml, "</alert>", signature + "</alert>")) == []
    assert from_xml(_swap(xml, "</alert>", signature + "</alert>")) == make_alert()
    problems = validate(_swap(xml, "<info>", signature + "<info>"))
    assert problems == ["alert/info[1]: comes after the XML signature, which must be last"]


# --- JSON ---------------------------------------------------------------------------------------------


def _xml_as_dict(element: ET.Element) -> dict:
    out: dict = {}
    for child in element:
        name = _local(child)
        value = _xml_as_dict(child) if len(child) else child.text
        if name in cap.REPEATED:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _stringify(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value if isinstance(value, str) else str(value)


def test_json_has_the_same_content_as_the_xml() -> None:
    alert = make_full_alert()
    assert _stringify(to_json(alert)) == _xml_as_dict(ET.fromstring(to_xml(alert)))


def test_json_uses_cap_names_lists_and_numbers() -> None:
    as_json = to_json(make_full_alert())
    info = as_json["info"][0]
    assert (as_json["msgType"], as_json["scope"], as_json["code"]) == (
        "Alert",
        "Restricted",
        ["profile:CN-SH:1.0", "exercise-2025"],
    )
    assert info["category"] == ["Met", "Transport"] and info["senderName"] == "上海中心气象台"
    assert info["resource"][0]["size"] == 12 and info["resource"][0]["mimeType"] == "image/png"
    assert info["area"][0]["altitude"] == 12.5 and info["area"][0]["ceiling"] == 1000.5
    assert info["area"][0]["polygon"][0].startswith("31.25,121.46 ")
    assert "restriction" in as_json and "source" not in to_json(make_alert())


def test_json_refuses_what_xml_refuses() -> None:
    with pytest.raises(InvalidCap):
        to_json(make_alert(scope="Restricted"))


# --- the checker --------------------------------------------------------------------------------------

ENUMERATED = [
    ("<status>Actual</status>", "<status>{}</status>", "alert/status"),
    ("<msgType>Alert</msgType>", "<msgType>{}</msgType>", "alert/msgType"),
    ("<scope>Public</scope>", "<scope>{}</scope>", "alert/scope"),
    ("<category>Met</category>", "<category>{}</category>", "alert/info[1]/category[1]"),
    ("<responseType>Prepare</responseType>", "<responseType>{}</responseType>", "alert/info[1]/responseType[1]"),
    ("<urgency>Immediate</urgency>", "<urgency>{}</urgency>", "alert/info[1]/urgency"),
    ("<severity>Severe</severity>", "<severity>{}</severity>", "alert/info[1]/severity"),
    ("<certainty>Likely</certainty>", "<certainty>{}</certainty>", "alert/info[1]/certainty"),
]


@pytest.mark.parametrize(("old", "template", "path"), ENUMERATED, ids=[e[2] for e in ENUMERATED])
@pytest.mark.parametrize("wrong", ["Bogus", "actual", " Met", "Very Likely", ""])
def test_every_enumeration_refuses_a_value_it_does_not_have(old: str, template: str, path: str, wrong: str) -> None:
    problems = validate(_swap(to_xml(make_alert()), old, template.format(wrong)))
    assert len(problems) == 1 and problems[0].startswith(f"{path}: ") and "is not one of" in problems[0]


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("status", "alert"),
        ("msg_type", "alert"),
        ("scope", "alert"),
        ("categories", "info"),
        ("response_types", "info"),
        ("urgency", "info"),
        ("severity", "info"),
        ("certainty", "info"),
    ],
)
def test_every_enumeration_is_refused_when_building(field: str, where: str) -> None:
    value = ["Bogus"] if field in ("categories", "response_types") else "Bogus"
    with pytest.raises(ValueError):
        make_alert(**{field: value}) if where == "alert" else make_info(**{field: value})


@pytest.mark.parametrize(
    ("sent", "expect"),
    [
        ("2025-07-01T06:00:00Z", "uses 'Z'"),
        ("2025-07-01T14:00:00", "with a UTC offset"),
        ("2025-07-01T14:00:00.250+08:00", "with a UTC offset"),
        ("2025-07-01 14:00:00+08:00", "with a UTC offset"),
        ("2025-13-01T14:00:00+08:00", "not a real date"),
    ],
)
def test_sent_needs_a_numeric_offset(sent: str, expect: str) -> None:
    problems = validate(_swap(to_xml(make_alert()), "2025-07-01T14:00:00+08:00", sent))
    assert len(problems) == 1 and problems[0].startswith("alert/sent: ") and expect in problems[0]


def test_info_times_need_a_numeric_offset_too() -> None:
    problems = validate(_swap(to_xml(make_alert()), "2025-07-01T20:00:00+08:00", "2025-07-01T12:00:00Z"))
    assert _problems_at(problems, "alert/info[1]/expires: ") == problems != []


@pytest.mark.parametrize("bad", ["SH MET 1", "SH,MET,1", "SH&lt;1", "SH&amp;1", ""])
@pytest.mark.parametrize("element", ["identifier", "sender"])
def test_identifier_and_sender_characters(element: str, bad: str) -> None:
    xml = to_xml(make_alert())
    old = _text(xml, f"cap:{element}")
    problems = validate(_swap(xml, f"<{element}>{old}</{element}>", f"<{element}>{bad}</{element}>"))
    assert len(problems) == 1 and problems[0].startswith(f"alert/{element}: ")


def test_restriction_is_required_when_restricted_and_addresses_when_private() -> None:
    with pytest.raises(InvalidCap) as refused:
        to_xml(make_alert(scope="Restricted"))
    assert refused.value.problems == ["alert/restriction: required when scope is Restricted"]
    assert refused.value.status == 422 and refused.value.errors[0]["field"] == "alert/restriction"
    with pytest.raises(InvalidCap, match="alert/addresses: required when scope is Private"):
        to_xml(make_alert(scope="Private"))
    assert to_xml(make_alert(scope="Private", addresses=["ops@example.org"]))


@pytest.mark.parametrize(
    "references",
    [
        "warning@x,SH-1",
        "warning@x,SH-1,2025-07-01T14:00:00Z",
        "warning@x,SH 1,2025-07-01T14:00:00+08:00",
        "warning@x,SH-1,2025-07-01T14:00:00+08:00,extra",
    ],
)
def test_references_must_be_sender_identifier_sent_triplets(references: str) -> None:
    xml = _swap(
        to_xml(make_alert()), "<scope>Public</scope>", f"<scope>Public</scope><references>{references}</references>"
    )
    problems = validate(xml)
    assert problems and all(p.startswith("alert/references: ") for p in problems)


@pytest.mark.parametrize(
    ("polygon", "expect"),
    [
        ("31.25,121.46 31.25,121.51 31.20,121.51 31.20,121.46", "not closed"),
        ("31.25,121.46 31.25,121.51 31.25,121.46", "at least 4"),
        ("91,121.46 31.25,121.51 31.20,121.51 91,121.46", "latitude 91.0"),
        ("31.25,181 31.25,121.51 31.20,121.51 31.25,181", "longitude 181.0"),
        ("121.46 31.25,121.51 31.20,121.51 121.46", "not a lat,lon pair"),
        ("31.25;121.46 31.25,121.51 31.20,121.51 31.25;121.46", "not a lat,lon pair"),
    ],
)
def test_polygons_are_closed_rings_of_four_pairs_in_range(polygon: str, expect: str) -> None:
    xml = to_xml(make_alert())
    problems = validate(_swap(xml, _text(xml, "cap:info/cap:area/cap:polygon"), polygon))
    assert problems and all(p.startswith("alert/info[1]/area[1]/polygon[1]: ") for p in problems)
    assert any(expect in p for p in problems), problems


@pytest.mark.parametrize(
    "circle", ["31.23,121.47", "31.23,121.47 -1", "31.23,121.47 ten", "31.23 121.47 10", "95,121 1"]
)
def test_circles_are_a_point_and_a_radius(circle: str) -> None:
    xml = _swap(to_xml(make_alert()), "</polygon>", f"</polygon><circle>{circle}</circle>")
    problems = validate(xml)
    assert problems and all(p.startswith("alert/info[1]/area[1]/circle[1]: ") for p in problems)


def test_ceiling_requires_altitude() -> None:
    with pytest.raises(InvalidCap, match="area\\[1\\]/ceiling: given without altitude"):
        to_xml(make_alert(infos=[make_info(areas=[make_area(ceiling=100)])]))
    assert to_xml(make_alert(infos=[make_info(areas=[make_area(altitude=0, ceiling=100)])]))


def test_an_area_needs_its_description() -> None:
    problems = validate(re.sub(rb"\s*<areaDesc>.*?</areaDesc>", b"", to_xml(make_alert())))
    assert problems == ["alert/info[1]/area[1]/areaDesc: required, but missing"]
    with pytest.raises(InvalidCap, match="areaDesc: is empty"):
        to_xml(make_alert(infos=[make_info(areas=[make_area(area_desc="")])]))


@pytest.mark.parametrize("element", ["category", "event", "urgency", "severity", "certainty"])
def test_an_info_needs_its_required_elements(element: str) -> None:
    xml = re.sub(rf"\s*<{element}>[^<]*</{element}>".encode(), b"", to_xml(make_alert()))
    assert validate(xml) == [f"alert/info[1]/{element}: required, but missing"]


@pytest.mark.parametrize("element", ["identifier", "sender", "sent", "status", "msgType", "scope"])
def test_an_alert_needs_its_required_elements(element: str) -> None:
    xml = re.sub(rf"\s*<{element}>[^<]*</{element}>".encode(), b"", to_xml(make_alert()))
    assert f"alert/{element}: required, but missing" in validate(xml)


def test_elements_out_of_order_are_named() -> None:
    xml = _swap(to_xml(make_alert()), "<status>Actual</status>", "")
    xml = _swap(xml, "</scope>", "</scope><status>Actual</status>")
    assert validate(xml) == ["alert/status: out of order; CAP 1.2 puts <status> before <scope>"]
    xml = _swap(to_xml(make_alert()), "<language>zh-CN</language>", "")
    xml = _swap(xml, "</certainty>", "</certainty><language>zh-CN</language>")
    assert validate(xml) == ["alert/info[1]/language: out of order; CAP 1.2 puts <language> before <certainty>"]


def test_an_element_given_twice_or_unknown_is_named() -> None:
    xml = _swap(to_xml(make_alert()), "</sent>", "</sent><sent>2025-07-01T15:00:00+08:00</sent>")
    assert "alert/sent: appears 2 times; CAP 1.2 allows 1" in validate(xml)
    xml = _swap(to_xml(make_alert()), "</event>", "</event><colour>red</colour>")
    assert validate(xml) == [f"alert/info[1]: <colour> ({cap.CAP_NS}) is not a CAP 1.2 element here"]


@pytest.mark.parametrize(
    ("document", "expect"),
    [
        (b"<alert", "not well-formed"),
        (b"<feed/>", "not a CAP <alert>"),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>', "namespace"),
        (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "aaaa">]><alert>&a;</alert>', "DOCTYPE"),
    ],
)
def test_what_is_not_cap_12_at_all(document: bytes, expect: str) -> None:
    problems = validate(document)
    assert len(problems) == 1 and expect in problems[0]


def test_from_xml_refuses_an_invalid_message_with_every_problem() -> None:
    xml = _swap(to_xml(make_alert()), "<status>Actual</status>", "<status>Real</status>")
    xml = _swap(xml, "<urgency>Immediate</urgency>", "<urgency>Now</urgency>")
    with pytest.raises(InvalidCap) as refused:
        from_xml(xml)
    assert [p.split(":")[0] for p in refused.value.problems] == ["alert/status", "alert/info[1]/urgency"]


def test_the_example_in_the_domain_standards_is_valid() -> None:
    example = """<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>SH-MET-20250701-0001</identifier>
      <sender>shmet@example.gov.cn</sender>
      <sent>2025-07-01T14:00:00+08:00</sent>
      <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
      <info>
        <language>zh-CN</language><category>Met</category><event>暴雨橙色预警</event>
        <responseType>Prepare</responseType>
        <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
        <expires>2025-07-01T20:00:00+08:00</expires>
        <headline>上海市气象台发布暴雨橙色预警信号</headline>
        <parameter><valueName>alertColor</valueName><value>橙</value></parameter>
        <area>
          <areaDesc>浦东新区</areaDesc>
          <polygon>31.30,121.50 31.30,121.90 31.00,121.90 31.00,121.50 31.30,121.50</polygon>
          <geocode><valueName>GB/T 2260</valueName><value>310115</value></geocode>
        </area>
      </info>
    </alert>""".encode()
    assert validate(example) == []
    alert = from_xml(example)
    assert isinstance(alert, Alert) and alert.infos[0].areas[0] == Area(
        area_desc="浦东新区",
        polygons=[[(31.3, 121.5), (31.3, 121.9), (31.0, 121.9), (31.0, 121.5)]],
        geocodes=[("GB/T 2260", "310115")],
    )
    assert validate(to_xml(alert)) == []
