"""Set-up of the operations centre's tests, made through the modules' own APIs: a water-level station inside
Huangpu and one outside it, an alarm raised on a station, a warning published by two emergency officers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer
from tests.sensing.test_sta import STA, _station

HUANGPU_POINT = (121.4846, 31.2317)  # People's Square, inside Huangpu (and its test grids)
PUTUO_POINT = (121.4305, 31.2398)  # Wuning Road bridge, outside Huangpu


def make_station(client, name: str, point: tuple[float, float]) -> int:  # type: ignore[no-untyped-def]
    """A station with one water-level datastream, made through SensorThings; returns the datastream's id."""
    response = client.post(f"{STA}/Things", json=_station(name, *point), headers=bearer(client, "supervisor"))
    assert response.status_code == 201, response.text
    thing = response.json()["@iot.id"]
    return client.get(f"{STA}/Things({thing})/Datastreams").json()["value"][0]["@iot.id"]


def raise_alarm(client, datastream: int, name: str, value: float = 4.3) -> int:  # type: ignore[no-untyped-def]
    """A threshold rule on the datastream (as the supervisor) and a reading above it; returns the alarm's id."""
    spec = {"kind": "threshold", "name": name, "severity": "high", "datastream": datastream, "op": "ge",
            "value": 4.0, "clear": {"value": 3.8}, "label": "水位", "unit": "m"}  # fmt: skip
    supervisor = bearer(client, "supervisor")
    assert client.post("/api/alerts/rules", json={"spec": spec}, headers=supervisor).status_code == 201
    moment = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    observed = client.post(f"{STA}/Datastreams({datastream})/Observations",
                           json={"phenomenonTime": moment, "result": value}, headers=supervisor)  # fmt: skip
    assert observed.status_code == 201, observed.text
    alarms = client.get("/api/alerts/alarms", headers=supervisor).json()
    return next(a["id"] for a in alarms if a["title"].startswith(name))


def _when(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def publish_warning(client, *, colour: str = "yellow", district: str = "310101") -> dict:  # type: ignore[no-untyped-def]
    """A rainstorm warning for a district, drafted and approved by two emergency officers and published."""
    body = {
        "hazard": "rainstorm",
        "colour": colour,
        "area_codes": [district],
        "area_polygons": [],
        "area_desc": "黄浦区",
        "onset": _when(0),
        "expires": _when(6),
        "headline": "黄浦区发布暴雨黄色预警",
        "description": "预计未来6小时黄浦区降雨量将达50毫米以上。",
        "instruction": "注意防范城市积水，避免前往低洼地带。",
        "headline_en": "Yellow rainstorm warning for Huangpu",
        "description_en": "More than 50 mm of rain is expected within 6 hours.",
    }
    drafted = client.post("/api/alerts/bulletins", json=body, headers=bearer(client, "emergency"))
    assert drafted.status_code == 201, drafted.text
    second = bearer(client, "second_emergency")
    bulletin = drafted.json()
    approved = client.post(f"/api/alerts/bulletins/{bulletin['id']}/approve", json={"version": bulletin["version"]},
                           headers=second)  # fmt: skip
    assert approved.status_code == 200, approved.text
    published = client.post(f"/api/alerts/bulletins/{bulletin['id']}/publish",
                            json={"version": approved.json()["version"]}, headers=second)  # fmt: skip
    assert published.status_code == 200, published.text
    return published.json()


def tiles(response) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """The tiles of a figures answer by code, each with its figures' texts by key."""
    assert response.status_code == 200, response.text
    return {t["code"]: t | {"texts": {f["key"]: f["text"] for f in t["figures"]}} for t in response.json()["tiles"]}


@pytest.fixture
def stations(client, city, gridded) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A station inside Huangpu and one outside; datastream ids by name."""
    return {
        "人民广场水位站": make_station(client, "人民广场水位站", HUANGPU_POINT),
        "武宁路桥站": make_station(client, "武宁路桥站", PUTUO_POINT),
    }
