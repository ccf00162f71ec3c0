"""MultiDatastreams (results as arrays, one value per ObservedProperty), and the observations' storage:
monthly partitions on PostgreSQL made on demand, and retention on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from smartcity.sensing import partitions
from smartcity.sensing.entities import COMPLEX_OBSERVATION
from smartcity.sensing.models import Observation, Stream
from tests.conftest import bearer
from tests.sensing.test_sta import NOW, STA

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def _stamp(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def _water_quality(thing_id: int, properties: int = 3) -> dict:
    names = [("溶解氧", "mg/L"), ("氨氮", "mg/L"), ("浊度", "NTU")][:properties]
    return {
        "name": "外白渡桥站 水质",
        "description": "溶解氧、氨氮、浊度",
        "observationType": COMPLEX_OBSERVATION,
        "multiObservationDataTypes": [MEASUREMENT] * 3,
        "unitOfMeasurements": [{"name": u, "symbol": u, "definition": "-"} for u in ("mg/L", "mg/L", "NTU")],
        "Thing": {"@iot.id": thing_id},
        "Sensor": {"name": "多参数水质仪", "description": "-", "encodingType": "text/plain", "metadata": "-"},
        "ObservedProperties": [
            {"name": n, "definition": f"http://vocab.example/{i}", "description": "-"} for i, (n, _) in enumerate(names)
        ],
    }


def _thing(client, stations) -> int:
    return client.get(f"{STA}/Datastreams({stations['外白渡桥站']})/Thing").json()["@iot.id"]


def test_a_multidatastream_takes_array_results_in_its_properties_order(client, stations) -> None:
    manager = bearer(client, "supervisor")
    created = client.post(f"{STA}/MultiDatastreams", json=_water_quality(_thing(client, stations)), headers=manager)
    assert created.status_code == 201, created.text
    multi = created.json()
    assert multi["unitOfMeasurements"][2]["symbol"] == "NTU"
    assert "ObservedProperties@iot.navigationLink" in multi and "Observations@iot.navigationLink" in multi
    properties = client.get(f"{STA}/MultiDatastreams({multi['@iot.id']})/ObservedProperties").json()["value"]
    assert sorted(p["name"] for p in properties) == ["氨氮", "浊度", "溶解氧"]

    one = client.post(
        f"{STA}/MultiDatastreams({multi['@iot.id']})/Observations",
        json={"phenomenonTime": _stamp(10), "result": [6.2, 0.8, 14]},
        headers=manager,
    )
    assert one.status_code == 201, one.text
    observation = one.json()
    assert observation["result"] == [6.2, 0.8, 14]
    assert "MultiDatastream@iot.navigationLink" in observation and "Datastream@iot.navigationLink" not in observation
    batch = client.post(
        f"{STA}/CreateObservations",
        json=[
            {
                "MultiDatastream": {"@iot.id": multi["@iot.id"]},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[_stamp(5), [6.0, 0.9, 15]], [_stamp(4), [6.1, 1.0]], [_stamp(10), [1, 1, 1]]],
            }
        ],
        headers=manager,
    )
    assert batch.status_code == 201, batch.text
    links = batch.json()
    assert links[0].startswith("http") and links[1:] == ["error", "error"]  # short array; repeated time

    wrong = client.post(
        f"{STA}/Observations",
        json={"MultiDatastream": {"@iot.id": multi["@iot.id"]}, "result": 6.0},
        headers=manager,
    )
    assert wrong.status_code == 400 and "list of 3 values" in wrong.json()["detail"]
    read = client.get(f"{STA}/MultiDatastreams({multi['@iot.id']})/Observations", params={"$orderby": "phenomenonTime"})
    assert [o["result"] for o in read.json()["value"]] == [[6.2, 0.8, 14], [6.0, 0.9, 15]]
    refreshed = client.get(f"{STA}/MultiDatastreams({multi['@iot.id']})").json()
    assert refreshed["phenomenonTime"].startswith(_stamp(10)[:16])
    data = client.get(
        f"{STA}/MultiDatastreams({multi['@iot.id']})/Observations", params={"$resultFormat": "dataArray"}
    ).json()["value"][0]
    assert data["MultiDatastream@iot.navigationLink"].endswith(f"/MultiDatastreams({multi['@iot.id']})")

    # the single Datastreams are not MultiDatastreams, and the other way round
    assert client.get(f"{STA}/Datastreams({multi['@iot.id']})").status_code == 404
    assert client.get(f"{STA}/MultiDatastreams({stations['外白渡桥站']})").status_code == 404
    things = client.get(f"{STA}/Things", params={"$filter": "MultiDatastreams/Observations/result ne null"}).json()
    assert [t["name"] for t in things["value"]] == ["外白渡桥站"]
    expanded = client.get(
        f"{STA}/Things({_thing(client, stations)})", params={"$expand": "Datastreams,MultiDatastreams"}
    )
    assert len(expanded.json()["Datastreams"]) == 1 and len(expanded.json()["MultiDatastreams"]) == 1


def test_properties_types_and_units_must_line_up(client, stations) -> None:
    manager = bearer(client, "supervisor")
    thing = _thing(client, stations)
    short = client.post(f"{STA}/MultiDatastreams", json=_water_quality(thing, properties=2), headers=manager)
    assert short.status_code == 400 and "as many ObservedProperties" in short.json()["detail"]
    wrong_type = {**_water_quality(thing), "observationType": MEASUREMENT}
    response = client.post(f"{STA}/MultiDatastreams", json=wrong_type, headers=manager)
    assert response.status_code == 400 and "OM_ComplexObservation" in response.json()["detail"]
    assert client.get(f"{STA}/MultiDatastreams").json()["value"] == []  # nothing half-made
    assert client.get(f"{STA}/Sensors", params={"$filter": "name eq '多参数水质仪'"}).json()["value"] == []


def test_deleting_a_property_takes_its_multidatastreams_and_their_observations(client, stations) -> None:
    manager = bearer(client, "supervisor")
    multi = client.post(
        f"{STA}/MultiDatastreams", json=_water_quality(_thing(client, stations)), headers=manager
    ).json()
    client.post(f"{STA}/MultiDatastreams({multi['@iot.id']})/Observations", json={"result": [1, 2, 3]}, headers=manager)
    prop = client.get(f"{STA}/MultiDatastreams({multi['@iot.id']})/ObservedProperties").json()["value"][0]
    assert client.delete(f"{STA}/ObservedProperties({prop['@iot.id']})", headers=manager).status_code == 200
    assert client.get(f"{STA}/MultiDatastreams({multi['@iot.id']})").status_code == 404
    assert client.get(f"{STA}/Observations", params={"$filter": "result eq 1"}).json()["value"] == []
    assert client.get(f"{STA}/Datastreams({stations['外白渡桥站']})").status_code == 200  # the others stay


def test_readings_of_any_month_find_their_partition_and_retention_removes_old_ones(client, database, stations) -> None:
    manager = bearer(client, "supervisor")
    ds = stations["外白渡桥站"]
    old = [datetime(2019, 3, 14, 8, tzinfo=UTC) + timedelta(days=d) for d in (0, 30)]  # two old months
    rows = [[moment.isoformat().replace("+00:00", "Z"), 1.0] for moment in old] + [[_stamp(5), 2.0]]
    response = client.post(
        f"{STA}/CreateObservations",
        json=[{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}],
        headers=manager,
    )
    assert response.status_code == 201 and "error" not in response.json(), response.text
    with database.engine.connect() as connection:
        partitioned = partitions.is_partitioned(connection)
        if partitioned:  # months without a partition wait in the default one; the ingest makes no tables
            assert connection.scalar(text(f"SELECT count(*) FROM {partitions.DEFAULT}")) == 2
            assert partitions.partition_name(NOW) in {name for name, _ in partitions.partitions(connection)}
    kept = partitions.maintain(database, retention_days=0)
    assert kept.cutoff is None and kept.dropped == [] and kept.deleted_rows == 0
    if partitioned:
        assert kept.made == ["sta_observation_p201903", "sta_observation_p201904"]
        with database.engine.connect() as connection:  # the rows moved into their months' partitions
            assert connection.scalar(text(f"SELECT count(*) FROM {partitions.DEFAULT}")) == 0
            assert connection.scalar(text("SELECT count(*) FROM sta_observation_p201903")) == 1
    oldest = client.get(f"{STA}/Datastreams({ds})/Observations", params={"$orderby": "phenomenonTime"}).json()
    assert [o["result"] for o in oldest["value"]] == [1.0, 1.0, 2.0]

    result = partitions.maintain(database, retention_days=365)
    with database.session() as session:
        remaining = session.scalars(select(Observation.result_number).order_by(Observation.phenomenon_time_start))
        assert list(remaining) == [2.0]
        stream = session.get(Stream, ds)
        assert stream.phenomenon_time_start > NOW - timedelta(minutes=6)  # the extent follows
        assert session.scalar(select(func.count()).select_from(Stream)) == 2
    if partitioned:
        assert result.dropped == ["sta_observation_p201903", "sta_observation_p201904"]
    else:
        assert result.deleted_rows == 2


def test_the_map_and_the_station_page_show_each_value_of_a_multidatastream(client, database, stations) -> None:
    from smartcity.sensing import series

    manager = bearer(client, "supervisor")
    thing = _thing(client, stations)
    multi = client.post(f"{STA}/MultiDatastreams", json=_water_quality(thing), headers=manager).json()
    for minutes, result in ((50, [6.0, 0.5, 10]), (40, [5.0, "n/a", 30]), (10, [4.0, 1.5, 20])):
        sent = client.post(f"{STA}/MultiDatastreams({multi['@iot.id']})/Observations",
                           json={"phenomenonTime": _stamp(minutes), "result": result}, headers=manager)  # fmt: skip
        assert sent.status_code == 201, sent.text
    features = client.get("/api/sensing/stations").json()["features"]
    readings = {r["name"]: r for f in features if f["id"] == thing for r in f["properties"]["readings"]}
    oxygen, ammonia, turbidity = (readings[f"外白渡桥站 水质 · {n}"] for n in ("溶解氧", "氨氮", "浊度"))
    assert (oxygen["value"], ammonia["value"], turbidity["value"]) == (4.0, 1.5, 20)
    assert (oxygen["unit"], turbidity["unit"]) == ("mg/L", "NTU")
    with database.session() as session:  # each value charted on its own; a non-number is left out
        start, end = NOW - timedelta(hours=2), NOW + timedelta(minutes=1)
        # buckets are aligned to the clock: the readings may fall in one or two of them, so add them up
        ammonia = series.downsample(session, multi["@iot.id"], start, end, timedelta(hours=1), 1)
        assert sum(b.count for b in ammonia) == 2
        assert (min(b.minimum for b in ammonia if b.count), max(b.maximum for b in ammonia if b.count)) == (0.5, 1.5)
        oxygen = series.downsample(session, multi["@iot.id"], start, end, timedelta(hours=1), 0)
        assert sum(b.mean * b.count for b in oxygen if b.count) / sum(b.count for b in oxygen) == 5.0
    page = client.get(f"/sensing/stations/{thing}")
    assert page.status_code == 200 and "外白渡桥站 水质 · 浊度" in page.text
