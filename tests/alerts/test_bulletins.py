"""Early-warning bulletins: draft → approve (a second person) → publish as CAP 1.2; update and cancel as new
messages that reference the earlier one; the active warnings derived, served as CAP XML/JSON and Atom."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import capvalidator
import pytest

from smartcity.alerts import cap, hazards
from tests.conftest import bearer

pytestmark = pytest.mark.usefixtures("huangpu", "city")
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}


def _when(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _rainstorm(**extra) -> dict:
    return {
        "hazard": "rainstorm",
        "colour": "yellow",
        "area_codes": ["310101"],
        "area_polygons": [[[121.47, 31.22], [121.50, 31.22], [121.50, 31.25], [121.47, 31.22]]],
        "area_desc": "黄浦区",
        "onset": _when(0),
        "expires": _when(6),
        "headline": "黄浦区发布暴雨黄色预警",
        "description": "预计未来6小时黄浦区降雨量将达50毫米以上。",
        "instruction": "注意防范城市积水，避免前往低洼地带。",
        "headline_en": "Yellow rainstorm warning for Huangpu",
        "description_en": "More than 50 mm of rain is expected within 6 hours.",
    } | extra


def _publish(client, body: dict, drafter: str = "emergency", approver: str = "second_emergency") -> dict:
    drafted = client.post("/api/alerts/bulletins", json=body, headers=bearer(client, drafter))
    assert drafted.status_code == 201, drafted.text
    bulletin = drafted.json()
    approved = client.post(f"/api/alerts/bulletins/{bulletin['id']}/approve", json={"version": bulletin["version"]},
                           headers=bearer(client, approver))  # fmt: skip
    assert approved.status_code == 200, approved.text
    published = client.post(f"/api/alerts/bulletins/{bulletin['id']}/publish",
                            json={"version": approved.json()["version"]}, headers=bearer(client, approver))  # fmt: skip
    assert published.status_code == 200, published.text
    return published.json()


def test_draft_approve_publish_makes_a_valid_cap_message(client) -> None:
    published = _publish(client, _rainstorm())
    assert published["state"] == "published" and published["identifier"].startswith("SC-WARN-")
    response = client.get(published["cap"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/cap+xml")
    xml = response.content
    assert cap.validate(xml) == [] and capvalidator.check_schema(xml).passed
    root = ET.fromstring(xml)
    assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert root.findtext("cap:sent", namespaces=NS).endswith("+08:00")
    info = root.find("cap:info", NS)
    assert info.findtext("cap:event", namespaces=NS) == "暴雨黄色预警"
    assert info.findtext("cap:severity", namespaces=NS) == "Moderate"
    assert info.find("cap:parameter/cap:valueName", NS).text == "alertColor"
    geocode = info.find("cap:area/cap:geocode", NS)
    assert [geocode.findtext("cap:valueName", namespaces=NS), geocode.findtext("cap:value", namespaces=NS)] == [
        "GB/T 2260",
        "310101",
    ]
    polygon = info.findtext("cap:area/cap:polygon", namespaces=NS).split()
    assert polygon[0] == polygon[-1] == "31.22,121.47"  # lat,lon, closed
    assert [i.findtext("cap:language", namespaces=NS) for i in root.findall("cap:info", NS)] == ["zh-CN", "en-US"]
    # each language names the area in its own words: none given in English, the district's English name
    assert [i.findtext("cap:area/cap:areaDesc", namespaces=NS) for i in root.findall("cap:info", NS)] == [
        "黄浦区",
        "Huangpu District",
    ]
    written = _publish(client, _rainstorm(area_desc_en="Huangpu, along the Bund"))
    english = ET.fromstring(client.get(written["cap"]).content).findall("cap:info", NS)[1]
    assert english.findtext("cap:area/cap:areaDesc", namespaces=NS) == "Huangpu, along the Bund"
    as_json = client.get(published["cap"], params={"format": "json"}).json()
    assert as_json["identifier"] == published["identifier"] and as_json["info"][0]["event"] == "暴雨黄色预警"


def test_the_drafter_cannot_approve_and_bad_content_is_refused_with_reasons(client) -> None:
    emergency = bearer(client, "emergency")
    bad = _rainstorm(colour="red", hazard="hail", area_codes=["999999"], headline="很" * 80, expires=_when(-1))
    response = client.post("/api/alerts/bulletins", json=bad, headers=emergency)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"area_codes", "headline", "expires"} <= fields  # hail has red: the colour is fine
    wrong_colour = client.post("/api/alerts/bulletins", json=_rainstorm(hazard="drought", colour="blue"),
                               headers=emergency)  # fmt: skip
    assert wrong_colour.status_code == 422 and "colour" in wrong_colour.text
    crossing = _rainstorm(area_polygons=[[[121.4, 31.2], [121.5, 31.3], [121.5, 31.2], [121.4, 31.3]]])
    assert client.post("/api/alerts/bulletins", json=crossing, headers=emergency).status_code == 422
    assert client.get("/api/alerts/bulletins", headers=emergency).json() == []  # nothing half-made

    draft = client.post("/api/alerts/bulletins", json=_rainstorm(), headers=emergency).json()
    own = client.post(f"/api/alerts/bulletins/{draft['id']}/approve", json={"version": 1}, headers=emergency)
    assert own.status_code == 403 and "second person" in own.json()["detail"]
    early = client.post(f"/api/alerts/bulletins/{draft['id']}/publish", json={"version": 1},
                        headers=bearer(client, "second_emergency"))  # fmt: skip
    assert early.status_code == 409  # not approved yet
    viewer = client.post("/api/alerts/bulletins", json=_rainstorm(), headers=bearer(client, "viewer"))
    assert viewer.status_code == 403


def test_update_and_cancel_reference_the_earlier_message_and_active_warnings_follow(client) -> None:
    first = _publish(client, _rainstorm())
    active = client.get("/alerts/warnings/active.json").json()
    assert [w["identifier"] for w in active] == [first["identifier"]]
    (warning,) = active  # what a map draws: the districts by code, the drawn ring as [lon, lat], the colour
    assert warning["areas"] == ["310101"] and warning["hex"] == hazards.colour_hex("yellow") != "#4a5561"
    assert warning["polygons"] == [[[121.47, 31.22], [121.5, 31.22], [121.5, 31.25], [121.47, 31.22]]]

    raised = _publish(client, {"kind": "update", "replaces": first["identifier"], "colour": "orange",
                               "headline": "黄浦区暴雨预警升级为橙色"})  # fmt: skip
    root = ET.fromstring(client.get(raised["cap"]).content)
    assert root.findtext("cap:msgType", namespaces=NS) == "Update"
    references = root.findtext("cap:references", namespaces=NS)
    assert references.split(",")[:2] == ["warning@smartcity.example", first["identifier"]]
    active = client.get("/alerts/warnings/active.json").json()
    assert [(w["identifier"], w["colour"]) for w in active] == [(raised["identifier"], "orange")]

    again = client.post("/api/alerts/bulletins", json={"kind": "update", "replaces": first["identifier"]},
                        headers=bearer(client, "emergency"))  # fmt: skip
    assert again.status_code == 422 and "not an active warning" in again.text

    ended = _publish(client, {"kind": "cancel", "replaces": raised["identifier"], "headline": "黄浦区暴雨预警解除"})
    assert ET.fromstring(client.get(ended["cap"]).content).findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert client.get("/alerts/warnings/active.json").json() == []

    feed = ET.fromstring(client.get("/alerts/cap/feed.atom").content)
    assert feed.findall("atom:entry", NS) == []
    _publish(client, _rainstorm(hazard="heat", colour="orange", headline="高温橙色预警"))
    feed = client.get("/alerts/cap/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    (entry,) = ET.fromstring(feed.content).findall("atom:entry", NS)
    link = entry.find("atom:link", NS)
    assert link.get("type") == "application/cap+xml" and client.get(link.get("href")).status_code == 200


def test_unknown_messages_are_404_problems(client) -> None:
    response = client.get("/alerts/cap/NOPE.xml")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
