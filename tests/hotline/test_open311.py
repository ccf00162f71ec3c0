"""Open311 GeoReport v2: shapes in XML and JSON, the spec's filters, defaults and errors, the
servicerequestupdates extension — with our own requests, and with the `georeport` client from PyPI against
the running server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict

from smartcity.hotline import service
from smartcity.security import service as security

HUANGPU = {"lat": "31.2317", "long": "121.4846"}
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]  # fmt: skip


@pytest.fixture
def api_key(database, hotline_setup) -> str:
    with database.session() as s:
        plain, _ = security.create_api_key(s, name="citizen app", user=security.user_by_name(s, "citizen"))
    return plain


def _post(client, api_key: str | None, fmt: str = "json", **fields):
    data = {"service_code": "CG03", "description": "人行道井盖缺失", "phone": "13912345678", **HUANGPU, **fields}
    if api_key:
        data["api_key"] = api_key
    return client.post(f"/open311/v2/requests.{fmt}", data=data)


def test_services_in_both_formats(client, api_key) -> None:
    listed = client.get("/open311/v2/services.json").json()
    sewer = next(s for s in listed if s["service_code"] == "CG03")
    assert sewer == {
        "service_code": "CG03",
        "service_name": "井盖缺失破损",
        "description": "Missing or broken manhole cover",
        "metadata": True,
        "type": "realtime",
        "keywords": "井盖, 窨井, 缺失, 破损",
        "group": "城市管理",
    }
    xml = client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and len(root) == len(listed)
    assert [c.tag for c in root[0]] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    definition = xmltodict.parse(client.get("/open311/v2/services/CG03.xml").content)["service_definition"]
    attribute = definition["attributes"]["attribute"]
    assert (attribute["code"], attribute["datatype"], attribute["required"]) == (
        "order_type",
        "singlevaluelist",
        "false",
    )
    assert len(attribute["values"]["value"]) == 6


def test_errors_are_the_specs_error_list(client, api_key) -> None:
    missing = client.get("/open311/v2/services/NOPE.xml")
    error = ET.fromstring(missing.content)
    assert missing.status_code == 404 and error.tag == "errors" and error[0].find("code").text == "404"
    assert client.get("/open311/v2/services.json", params={"jurisdiction_id": "beijing"}).status_code == 404
    assert client.get("/open311/v2/services.yaml").status_code == 404


def test_post_a_request_then_read_it(client, database, api_key) -> None:
    created = _post(client, api_key, media_url="https://example.org/p.jpg", first_name="三", last_name="张")
    assert created.status_code == 201, created.text
    (row,) = created.json()
    number = row["service_request_id"]
    assert set(row) == {"service_request_id", "service_notice", "account_id"} and "token" not in row
    (read,) = client.get(f"/open311/v2/requests/{number}.json").json()
    assert list(read) == REQUEST_FIELDS
    assert (read["status"], read["service_code"], read["media_url"]) == ("open", "CG03", "https://example.org/p.jpg")
    assert read["requested_datetime"].endswith("+08:00") and read["address_id"].startswith("310101")
    assert "13912345678" not in str(read) and "张" not in str(read)  # no caller data is published
    with database.session() as s:
        order = s.scalar(service.select(service.WorkOrder).where(service.WorkOrder.number == number))
        assert (order.channel, order.caller_name, order.created_by) == ("open311", "张 三", "citizen")
    xml = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").content)
    assert xml.tag == "service_requests" and [c.tag for c in xml[0]] == REQUEST_FIELDS


@pytest.mark.parametrize(
    ("key", "fields", "status"),
    [
        (None, {}, 400),  # no api_key
        ("sck_bad_key", {}, 403),
        ("ok", {"service_code": "NOPE"}, 404),
        ("ok", {"lat": "", "long": ""}, 400),  # no location at all
        ("ok", {"lat": "39.9", "long": "116.4"}, 400),  # outside the city
        ("ok", {"description": "<script>x</script>"}, 400),
        ("ok", {"attribute[order_type]": "rant"}, 400),
        ("ok", {"media_url": "javascript:alert(1)"}, 400),
    ],
)
def test_bad_posts_are_refused_and_store_nothing(client, database, api_key, key, fields, status) -> None:
    response = _post(client, api_key if key == "ok" else key, fmt="xml", **fields)
    assert response.status_code == status, response.text
    assert ET.fromstring(response.content).tag == "errors"
    assert client.get("/open311/v2/requests.json").json() == []


def test_request_filters_and_defaults(client, database, api_key) -> None:
    open_one = _post(client, api_key).json()[0]["service_request_id"]
    other = _post(client, api_key, service_code="CG07").json()[0]["service_request_id"]
    with database.session() as s:  # an inquiry without a place is never published
        intake = service.Intake(channel="phone", order_type="inquiry", description="社保怎么交")
        service.receive(s, intake, actor="operator", role="operator")
    everything = client.get("/open311/v2/requests.json").json()
    assert {r["service_request_id"] for r in everything} == {open_one, other}
    by_code = client.get("/open311/v2/requests.json", params={"service_code": "CG07"}).json()
    assert [r["service_request_id"] for r in by_code] == [other]
    assert client.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    by_id = client.get("/open311/v2/requests.json", params={"service_request_id": f"{other},X", "status": "closed"})
    assert [r["service_request_id"] for r in by_id.json()] == [other]  # ids override every other filter
    long_span = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    assert client.get("/open311/v2/requests.json", params=long_span).status_code == 400
    assert client.get("/open311/v2/requests.json", params={"start_date": "2026-01-01"}).status_code == 400
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    window = client.get("/open311/v2/requests.json", params={"start_date": old}).json()
    assert window == []  # 90 days from the start date, all long ago


def test_service_request_updates(client, database, api_key) -> None:
    number = _post(client, api_key).json()[0]["service_request_id"]
    assert client.get("/open311/v2/servicerequestupdates.json").status_code == 400  # needs the api_key
    posted = client.post(
        "/open311/v2/servicerequestupdates.json",
        data={"api_key": api_key, "service_request_id": number, "description": "井盖旁又塌了一块"},
    )
    assert posted.status_code == 201
    updates = client.get("/open311/v2/servicerequestupdates.xml", params={"api_key": api_key})
    parsed = xmltodict.parse(updates.content)["service_request_updates"]["request_update"]
    assert parsed["service_request_id"] == number and parsed["status"] == "OPEN"


def test_georeport_client_from_pypi(live_server, database, api_key) -> None:
    """The `georeport` package (PyPI) reads our endpoint as it reads any city's, in JSON and in XML."""
    import httpx
    from georeport import GeoReport

    number = httpx.post(
        f"{live_server}/open311/v2/requests.json",
        data={"api_key": api_key, "service_code": "CG03", "description": "井盖缺失", **HUANGPU},
    ).json()[0]["service_request_id"]
    for output in ("json", "xml"):
        client = GeoReport(f"{live_server}/open311/v2", jurisdiction="310000", output_format=output)
        services = client.get_service_list()
        assert "CG03" in {s["service_code"] for s in services}
        definition = client.get_service_definition("CG03")
        assert definition["service_code"] == "CG03"
        assert client.get_service_request(number)["service_request_id"] == number
        found = client.get_service_requests(service_code="CG03", status="open")
        found = [found] if isinstance(found, dict) else found  # xmltodict gives one request as a dict
        assert [r["service_request_id"] for r in found] == [number]
