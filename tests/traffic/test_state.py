"""The traffic state through the API: a network imported (all or nothing) and placed in districts, probe points
matched into segment speeds, a road detector's reading, the 5-minute cycle with every scheme's index per district
and for the city, the map's GeoJSON, the history and the congestion report."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from smartcity.traffic import index, service
from tests.conftest import bearer
from tests.sensing.test_sta import STA

# Three arterials in Huangpu (south of Nanjing East Road), west → east, ≈ 950 m each, one branch road beside them
NETWORK = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"id": "A1", "name": "九江路", "road_class": "arterial",
                                           "free_flow_kmh": 50, "direction": "forward"},
         "geometry": {"type": "LineString", "coordinates": [[121.4700, 31.2350], [121.4800, 31.2350]]}},
        {"type": "Feature", "properties": {"id": "A2", "name": "九江路", "road_class": "arterial",
                                           "free_flow_kmh": 50, "direction": "forward"},
         "geometry": {"type": "LineString", "coordinates": [[121.4800, 31.2350], [121.4900, 31.2350]]}},
        {"type": "Feature", "properties": {"id": "E1", "name": "延安高架", "road_class": "expressway",
                                           "free_flow_kmh": 80, "direction": "forward"},
         "geometry": {"type": "LineString", "coordinates": [[121.4700, 31.2300], [121.4900, 31.2300]]}},
        {"type": "Feature", "properties": {"id": "B1", "name": "汉口路", "road_class": "branch",
                                           "free_flow_kmh": 30, "direction": "both"},
         "geometry": {"type": "LineString", "coordinates": [[121.4700, 31.2330], [121.4800, 31.2330]]}},
    ],
}  # fmt: skip


def _import(client, document=NETWORK, **extra):
    body = {"source": "test network", "network": document, **extra}
    return client.post("/api/traffic/network", json=body, headers=bearer(client, "traffic"))


@pytest.fixture
def network(client, city, gridded) -> None:
    response = _import(client)
    assert response.status_code == 200, response.text
    assert response.json() == {"added": 4, "updated": 0, "unchanged": 0, "retired": 0}


def _points(vehicle: str, lat: float, start: datetime, kmh: float, until: datetime | None = None) -> list[dict]:
    """A car driving east along a latitude at a steady speed, a fix every 10 s (until a time, if given)."""
    metres_per_degree = 111_320 * np.cos(np.radians(lat))
    points, lon, t = [], 121.4705, start
    while lon < 121.4895 and (until is None or t < until):
        points.append({"vehicle": vehicle, "lon": round(lon, 6), "lat": lat, "time": t.isoformat(), "heading": 90.0})
        lon += kmh / 3.6 * 10 / metres_per_degree
        t += timedelta(seconds=10)
    return points


def test_a_network_is_placed_in_districts_and_a_bad_one_changes_nothing(client, database, network) -> None:
    with database.session() as session:
        net = service.current_network(session)
        assert [s.id for s in net.segments] == ["A1", "A2", "E1", "B1"]
        assert net.districts == ["310101"] and set(net.group.tolist()) == {0}
    again = _import(client)
    assert again.json() == {"added": 0, "updated": 0, "unchanged": 4, "retired": 0}
    broken = {"type": "FeatureCollection", "features": [
        NETWORK["features"][0] | {"properties": {"id": "X1", "road_class": "motorway"}},
        {"type": "Feature", "properties": {"id": "X2", "road_class": "branch"},
         "geometry": {"type": "LineString", "coordinates": [[121.47, 31.23]]}},
    ]}  # fmt: skip
    refused = _import(client, broken)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in refused.json()["errors"]]
    assert any(f.startswith("features[0].") for f in fields) and any(f.startswith("features[1].") for f in fields)
    assert "Nothing was imported" in refused.json()["detail"]
    replaced = _import(client, {"type": "FeatureCollection", "features": NETWORK["features"][:3]}, replace=True)
    assert replaced.json()["retired"] == 1
    with database.session() as session:
        assert [s.id for s in service.current_network(session).segments] == ["A1", "A2", "E1"]
    viewer = client.post(
        "/api/traffic/network", json={"source": "x", "network": NETWORK}, headers=bearer(client, "viewer")
    )
    assert viewer.status_code == 403


def _last_cycle_end() -> datetime:
    """The end of the cycle that ended last, at least 30 s before the next one ends: the test's requests and the
    server's "cycle that ended last" then agree (a CI run once crossed a boundary between the two)."""
    now = datetime.now(UTC)
    left = (service.cycle_end(now) - now).total_seconds()
    if left < 30:
        time.sleep(left + 0.5)
        now = datetime.now(UTC)
    return service.cycle_end(now) - service.CYCLE


def test_probe_points_become_segment_speeds_and_the_cycle_index(client, database, network) -> None:
    end = _last_cycle_end()
    start = end - service.CYCLE + timedelta(seconds=5)
    points = _points("taxi-1", 31.2350, start, 12.0, end) + _points("taxi-2", 31.2300, start, 70.0, end)
    sent = client.post("/api/traffic/probes", json={"points": points}, headers=bearer(client, "device"))
    assert sent.status_code == 200, sent.text
    assert sent.json()["matched"] == len(points) and sent.json()["segments"] == 3  # A1, the start of A2, E1
    computed = client.post("/api/traffic/cycles", headers=bearer(client, "traffic"))
    assert computed.status_code == 200, computed.text
    assert computed.json()["at"] == end.isoformat() and computed.json()["segments"] == 3

    features = {f["id"]: f["properties"] for f in client.get("/api/traffic/segments").json()["features"]}
    assert features["A1"]["speed_kmh"] == pytest.approx(12.0, abs=1.5)
    assert features["A1"]["level"] == 5  # arterial at ≤ 15 km/h: 严重拥堵
    assert features["E1"]["level"] == 1  # expressway at 70 km/h: 畅通
    assert features["B1"]["level"] is None and features["B1"]["speed_kmh"] is None
    config = index.load_config()
    assert features["A1"]["colour"] == config.level(5).colour

    result = client.get("/api/traffic/index", params={"scheme": "tti"}).json()
    areas = {a["area"]: a for a in result["areas"]}
    assert set(areas) == {"310000", "310101"} and result["at"] == end.isoformat()
    city = areas["310000"]
    # by class shares: arterial A1+A2 at ≈12 km/h (TTI 50/12) and expressway E1 at 70 (TTI 1), weighted by share
    shares = config.vkt_shares
    expected = (shares["arterial"] * 50 / 12 + shares["expressway"] * 1.0) / (shares["arterial"] + shares["expressway"])
    assert city["tti"] == pytest.approx(expected, rel=0.08)
    assert city["congestion_pct"] == pytest.approx((city["tti"] - 1) * 100, rel=1e-3)
    assert 0 < city["coverage"] < 1  # the branch road had no probe
    history = client.get("/api/traffic/index/history", params={"area": "310101", "scheme": "beijing_tpi"}).json()
    assert [v["at"] for v in history["values"]] == [end.isoformat()]
    assert client.get("/api/traffic/cycles").json() == [end.isoformat()]


def test_a_road_detector_speaks_for_its_segment(client, database, network) -> None:
    detector = {
        "name": "延安高架 检测器", "description": "线圈", "properties": {"kind": "road-detector", "heading": "E"},
        "Locations": [{"name": "检测器", "description": "-", "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": [121.4800, 31.2301]}}],
        "Datastreams": [{"name": "车速", "description": "-", "properties": {"quantity": "speed"},
                         "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                         "unitOfMeasurement": {"name": "km/h", "symbol": "km/h", "definition": "-"},
                         "Sensor": {"name": "线圈", "description": "-", "encodingType": "text/plain", "metadata": "-"},
                         "ObservedProperty": {"name": "车速", "definition": "-", "description": "-"}}],
    }  # fmt: skip
    manager = bearer(client, "supervisor")
    thing = client.post(f"{STA}/Things", json=detector, headers=manager).json()
    ds = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    linked = client.post("/api/traffic/network/detectors", headers=bearer(client, "traffic"))
    assert linked.json() == {"linked": 1}
    end = _last_cycle_end()
    reading = {"phenomenonTime": (end - timedelta(minutes=1)).isoformat(), "result": 18.0}
    assert client.post(f"{STA}/Datastreams({ds})/Observations", json=reading, headers=manager).status_code == 201
    client.post("/api/traffic/cycles", headers=bearer(client, "traffic"))
    features = {f["id"]: f["properties"] for f in client.get("/api/traffic/segments").json()["features"]}
    assert features["E1"]["speed_kmh"] == 18.0 and features["E1"]["level"] == 5  # expressway ≤ 20 km/h
    assert features["A1"]["speed_kmh"] is None


def test_congestion_report_counts_minutes_and_frequent_segments(client, database, network) -> None:
    monday_8am = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    with database.session() as session:
        net = service.current_network(session)
        for day in range(5):
            for k in range(24):  # 07:00–09:00 local, every 5 minutes
                at = monday_8am - timedelta(hours=1) + timedelta(days=day, minutes=5 * (k + 1))
                jammed = np.array([10.0, 45.0, 75.0, np.nan])  # A1 severe all the time, A2 free-flowing
                service.record_cycle(session, at, jammed)
        assert len(net.segments) == 4
    report = client.get("/api/traffic/congestion", params={
        "from": (monday_8am - timedelta(hours=2)).isoformat(), "to": (monday_8am + timedelta(days=5)).isoformat()},
        headers=bearer(client, "viewer")).json()  # fmt: skip
    assert report["cycles"] == 120
    (worst,) = report["segments"]
    assert worst["id"] == "A1" and worst["congested_minutes"] == 120 * 5 and worst["longest_minutes"] == 24 * 5
    assert [s["id"] for s in report["frequent"]] == ["A1"] and report["frequent"][0]["share"] == 1.0
    anonymous = client.get("/api/traffic/congestion")
    assert anonymous.status_code == 401


def test_bad_requests_get_clear_errors(client, database, network) -> None:
    old = datetime.now(UTC) - timedelta(hours=3)
    stale = client.post("/api/traffic/probes", json={"points": _points("taxi-9", 31.235, old, 30.0)[:2]},
                        headers=bearer(client, "device"))  # fmt: skip
    assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "points[0].time"
    with database.session() as session:
        assert session.scalar(service.select(service.func.count()).select_from(service.ProbeSpeed)) == 0
    assert client.get("/api/traffic/index", params={"scheme": "nope"}).status_code in (404, 422)
    assert client.get("/api/traffic/segments", params={"bbox": "1,2,3"}).status_code in (404, 422)
    naive = client.get("/api/traffic/index", params={"at": "2026-07-01T08:00:00"})
    assert naive.status_code == 422 and "offset" in naive.json()["detail"]
    assert client.post("/api/traffic/probes", json={"points": []}, headers=bearer(client, "device")).status_code == 422
    assert client.post("/api/traffic/cycles", headers=bearer(client, "viewer")).status_code == 403
