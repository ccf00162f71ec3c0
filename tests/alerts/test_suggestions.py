"""Suggested warnings: rain accumulated per district against the rainstorm criteria, river levels against
each gauge's flood levels; a suggestion becomes a draft only when a person asks, and is marked covered
once an active warning says as much."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.test_bulletins import _publish
from tests.conftest import bearer
from tests.sensing.test_sta import STA

pytestmark = pytest.mark.usefixtures("huangpu", "city")


def _station(client, name: str, quantity: str, district: str, **properties) -> int:
    body = {
        "name": name,
        "properties": {"district": district, **properties},
        "Locations": [{"name": name, "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [121.48, 31.23]}}],
        "Datastreams": [{"name": f"{name} {quantity}", "properties": {"quantity": quantity},
                         "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                         "unitOfMeasurement": {"name": "-", "symbol": "-", "definition": "-"},
                         "Sensor": {"name": name, "encodingType": "text/plain", "metadata": "-"},
                         "ObservedProperty": {"name": quantity, "definition": f"urn:{quantity}"}}],
    }  # fmt: skip
    thing = client.post(f"{STA}/Things", json=body, headers=bearer(client, "supervisor")).json()
    return client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]


def _rain(client, ds: int, amounts: list[float]) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [[(now - timedelta(minutes=10 * (len(amounts) - i))).isoformat(), mm] for i, mm in enumerate(amounts)]
    response = client.post(f"{STA}/CreateObservations", headers=bearer(client, "supervisor"),
                           json=[{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
                                  "dataArray": rows}])  # fmt: skip
    assert response.status_code == 201 and "error" not in response.json()


def test_rain_and_river_levels_propose_warnings_a_person_turns_into_drafts(client) -> None:
    gauge = _station(client, "人民广场雨量站", "rainfall", "310101")
    other = _station(client, "外滩雨量站", "rainfall", "310101")
    river = _station(client, "外白渡桥站", "water_level", "310101", warning_level_m=4.0,
                     flood_levels_m={"blue": 3.8, "yellow": 4.0, "orange": 4.3})  # fmt: skip
    officer = bearer(client, "emergency")
    assert client.get("/api/alerts/suggestions", headers=officer).json() == []

    _rain(client, gauge, [6.0] * 9)  # 54 mm within 90 minutes: 3 h ≥ 50 mm → orange
    _rain(client, other, [2.0] * 9)
    client.post(f"{STA}/Datastreams({river})/Observations", json={"result": 4.1}, headers=bearer(client, "supervisor"))
    found = {s["hazard"]: s for s in client.get("/api/alerts/suggestions", headers=officer).json()}
    assert found["rainstorm"]["colour"] == "orange" and found["rainstorm"]["district"] == "310101"
    assert found["rainstorm"]["figures"]["3h_mm"] == 54.0 and "人民广场雨量站" in found["rainstorm"]["basis"]
    assert found["river_level"]["colour"] == "yellow" and "4.1" in found["river_level"]["basis"]

    drafted = client.post("/api/alerts/suggestions/draft", headers=officer,
                          json={"hazard": "rainstorm", "colour": "orange", "district": "310101"})  # fmt: skip
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["state"] == "draft" and draft["headline"] == "黄浦区发布暴雨橙色预警"
    gone = client.post("/api/alerts/suggestions/draft", headers=officer,
                       json={"hazard": "rainstorm", "colour": "red", "district": "310101"})  # fmt: skip
    assert gone.status_code == 409

    _publish(client, {"hazard": "rainstorm", "colour": "orange", "area_codes": ["310101"], "area_desc": "黄浦区",
                      "onset": datetime.now(UTC).isoformat(),
                      "expires": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
                      "headline": "黄浦区发布暴雨橙色预警", "description": "3 小时雨量超过 50 毫米。"})  # fmt: skip
    found = {s["hazard"]: s for s in client.get("/api/alerts/suggestions", headers=officer).json()}
    assert found["rainstorm"]["covered"] is True and found["river_level"]["covered"] is False
    assert client.get("/api/alerts/suggestions", headers=bearer(client, "viewer")).status_code == 403
