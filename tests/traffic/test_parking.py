"""Parking guidance: car parks registered from the sensing hub's occupancy stations, free spaces from their
latest reading, the nearest with room first; occupancy history; bad input refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer
from tests.sensing.test_sta import STA

PEOPLES_SQUARE = (121.4737, 31.2304)


def _car_park(name: str, code: str, lon: float, lat: float, capacity: int, park_and_ride: bool) -> dict:
    properties = {"kind": "car-park", "code": code, "name_en": f"{code} car park", "capacity": capacity,
                  "park_and_ride": park_and_ride}  # fmt: skip
    if park_and_ride:
        properties |= {"metro_station": "七宝站", "metro_station_en": "Qibao station", "metro_lines": ["9"]}
    return {
        "name": name,
        "description": "停车场",
        "properties": properties,
        "Locations": [
            {
                "name": name,
                "description": "入口",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} 占用车位",
                "description": "占用车位数",
                "properties": {"quantity": "occupancy"},
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation",
                "unitOfMeasurement": {"name": "space", "symbol": "个", "definition": "-"},
                "Sensor": {"name": "车位检测器", "description": "-", "encodingType": "text/plain", "metadata": "-"},
                "ObservedProperty": {
                    "name": "占用车位",
                    "definition": "http://vocab.example/occupancy",
                    "description": "-",
                },
            }
        ],
    }


def _read(client, datastream: int, value: float, minutes_ago: float) -> None:
    moment = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    body = {"phenomenonTime": moment, "result": value}
    response = client.post(
        f"{STA}/Datastreams({datastream})/Observations", json=body, headers=bearer(client, "supervisor")
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def car_parks(client, city, gridded) -> dict[str, int]:
    """Three car parks around People's Square: near and full, near with room, farther P+R with room; one
    more with only an old reading."""
    made = {}
    for name, code, lon, lat, capacity, pr in (
        ("人民广场停车场", "CP-A", 121.4745, 31.2310, 600, False),  # ≈ 110 m
        ("南京东路停车场", "CP-B", 121.4840, 31.2370, 300, False),  # ≈ 1.2 km
        ("七宝P+R停车场", "CP-C", 121.4950, 31.2450, 400, True),  # ≈ 2.6 km
        ("老旧数据停车场", "CP-D", 121.4750, 31.2320, 100, False),  # near, but its reading is 2 h old
    ):
        thing = client.post(f"{STA}/Things", json=_car_park(name, code, lon, lat, capacity, pr),
                            headers=bearer(client, "supervisor"))  # fmt: skip
        assert thing.status_code == 201, thing.text
        ds = client.get(f"{STA}/Things({thing.json()['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
        made[code] = ds
    _read(client, made["CP-A"], 600, 3)
    _read(client, made["CP-B"], 120, 3)
    _read(client, made["CP-C"], 100, 3)
    _read(client, made["CP-D"], 10, 120)
    synced = client.post("/api/traffic/parking/sync", headers=bearer(client, "traffic"))
    assert synced.status_code == 200 and synced.json() == {"registered": 4}
    return made


def test_nearby_lists_car_parks_with_free_spaces_nearest_first(client, car_parks) -> None:
    lon, lat = PEOPLES_SQUARE
    found = client.get("/api/traffic/parking/nearby", params={"lon": lon, "lat": lat, "radius": 5000}).json()
    assert [c["code"] for c in found] == ["CP-B", "CP-C"]  # A is full, D's reading is too old to guide anyone
    first = found[0]
    assert first["free"] == 180 and first["capacity"] == 300 and 1000 < first["distance_m"] < 1400
    assert first["district"] == "310101"  # located through the city's grids
    only_pr = client.get("/api/traffic/parking/nearby",
                         params={"lon": lon, "lat": lat, "radius": 5000, "park_and_ride": "true"}).json()  # fmt: skip
    assert [c["code"] for c in only_pr] == ["CP-C"]
    assert only_pr[0]["stations"] == [{"name": "七宝站", "name_en": "Qibao station", "lines": ["9"]}]
    short = client.get("/api/traffic/parking/nearby", params={"lon": lon, "lat": lat, "radius": 1000}).json()
    assert short == []
    everything = {c["code"]: c for c in client.get("/api/traffic/parking").json()}
    assert everything["CP-A"]["free"] == 0 and everything["CP-D"]["stale"] is True


def test_occupancy_history_in_intervals(client, car_parks) -> None:
    _read(client, car_parks["CP-B"], 200, 30)
    history = client.get("/api/traffic/parking/CP-B/occupancy", params={"interval": 86_400}).json()
    assert history["capacity"] == 300
    (bucket,) = [b for b in history["buckets"] if b["readings"]]
    assert bucket["readings"] == 2 and bucket["occupied_min"] == 120 and bucket["occupied_max"] == 200
    assert bucket["occupancy_share"] == pytest.approx(160 / 300, abs=1e-4)
    assert client.get("/api/traffic/parking/CP-X/occupancy").status_code == 404


def test_bad_input_is_refused_and_changes_nothing(client, car_parks) -> None:
    lon, lat = PEOPLES_SQUARE
    far = client.get("/api/traffic/parking/nearby", params={"lon": 200, "lat": lat})
    assert far.status_code == 422 and far.headers["content-type"].startswith("application/problem+json")
    manager = bearer(client, "traffic")
    body = {"code": "CP-E", "name": "新停车场", "capacity": 50, "lon": lon, "lat": lat, "datastream_id": 999_999}
    missing = client.post("/api/traffic/parking", json=body, headers=manager)
    assert missing.status_code == 422 and "999999" in missing.json()["detail"]
    zero = client.post("/api/traffic/parking", json=body | {"capacity": 0, "datastream_id": None}, headers=manager)
    assert zero.status_code == 422
    assert "CP-E" not in {c["code"] for c in client.get("/api/traffic/parking").json()}
    viewer = client.post("/api/traffic/parking", json=body | {"datastream_id": None}, headers=bearer(client, "viewer"))
    assert viewer.status_code == 403
    made = client.post("/api/traffic/parking", json=body | {"datastream_id": car_parks["CP-A"]}, headers=manager)
    assert made.status_code == 201 and made.json()["code"] == "CP-E"
