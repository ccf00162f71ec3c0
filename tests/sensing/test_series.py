"""Reading series: min/max/mean per interval in SQL (same answers on both engines), the stations' latest
values with freshness for the map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import bearer
from tests.sensing.test_sta import STA

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _fill(client, ds: int) -> None:
    rows = [[(START + timedelta(minutes=10 * i)).isoformat().replace("+00:00", "Z"), float(i)] for i in range(12)]
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor")).status_code == 201


def test_downsampling_per_hour(client, stations) -> None:
    ds = stations["外白渡桥站"]
    _fill(client, ds)
    response = client.get(
        f"/api/sensing/datastreams/{ds}/series",
        params={"from": START.isoformat(), "to": (START + timedelta(hours=3)).isoformat(), "interval": "1h"},
    )
    assert response.status_code == 200, response.text
    buckets = response.json()["buckets"]
    assert [(b["count"], b["min"], b["max"], b["mean"]) for b in buckets] == [
        (6, 0.0, 5.0, 2.5),
        (6, 6.0, 11.0, 8.5),
    ]
    assert buckets[0]["start"] == START.isoformat()
    too_many = client.get(f"/api/sensing/datastreams/{ds}/series", params={"from": START.isoformat(), "interval": "1s"})
    assert too_many.status_code == 422 and "intervals" in too_many.json()["detail"]
    assert (
        client.get(
            f"/api/sensing/datastreams/{ds}/series", params={"from": START.isoformat(), "interval": "soon"}
        ).status_code
        == 422
    )


def test_stations_with_latest_values_and_freshness(client, stations) -> None:
    ds = stations["外白渡桥站"]
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    client.post(
        f"{STA}/Datastreams({ds})/Observations",
        json={"phenomenonTime": now, "result": 3.6},
        headers=bearer(client, "supervisor"),
    )
    features = client.get("/api/sensing/stations").json()["features"]
    by_name = {f["properties"]["name"]: f for f in features}
    fresh = by_name["外白渡桥站"]["properties"]
    assert (
        fresh["freshness"] == "fresh" and fresh["readings"][0]["value"] == 3.6 and fresh["readings"][0]["unit"] == "m"
    )
    assert by_name["武宁路桥站"]["properties"]["freshness"] == "none"
    assert by_name["外白渡桥站"]["geometry"]["coordinates"] == [121.4906, 31.2452]
    inside = client.get("/api/sensing/stations", params={"bbox": "121.48,31.24,121.50,31.25"}).json()["features"]
    assert [f["properties"]["name"] for f in inside] == ["外白渡桥站"]


def test_latest_value_is_the_newest_reading_not_the_last_sent(client, stations) -> None:
    ds = stations["外白渡桥站"]
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = lambda minutes: (now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")  # noqa: E731
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
             "dataArray": [[stamp(1), 4.0], [stamp(30), 3.0]]}]  # fmt: skip
    client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor"))
    late = {"phenomenonTime": stamp(60), "result": 1.0}  # late data arriving afterwards
    client.post(f"{STA}/Datastreams({ds})/Observations", json=late, headers=bearer(client, "supervisor"))
    reading = client.get("/api/sensing/stations").json()["features"]
    latest = next(f for f in reading if f["properties"]["name"] == "外白渡桥站")["properties"]["readings"][0]
    assert latest["value"] == 4.0 and latest["time"].startswith(stamp(1)[:16])
