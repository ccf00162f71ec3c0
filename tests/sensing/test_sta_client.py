"""The frost-sta-client package (PyPI, Fraunhofer's SensorThings client) works against our server
unchanged: deep insert, observations one by one and as a data array, queries with $filter and $expand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartcity.security import service as security


@pytest.fixture
def client_service(live_server, database, city):  # type: ignore[no-untyped-def]
    import frost_sta_client as fsc

    with database.session() as s:
        key, _ = security.create_api_key(s, name="frost client", user=security.user_by_name(s, "supervisor"))
    return fsc.SensorThingsService(f"{live_server}/sta/v1.1", auth_handler=fsc.AuthHandler("supervisor", key))


def test_frost_client_creates_and_reads(client_service) -> None:
    import frost_sta_client as fsc
    import geojson

    location = fsc.Location(
        name="苏州河梦清园站位置",
        description="站点位置",
        encoding_type="application/geo+json",
        location=geojson.Point((121.4379, 31.2451)),
    )
    datastream = fsc.Datastream(
        name="梦清园 溶解氧",
        description="溶解氧",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=fsc.UnitOfMeasurement(name="milligram per litre", symbol="mg/L", definition="-"),
        sensor=fsc.Sensor(name="光学溶解氧传感器", description="-", encoding_type="text/plain", metadata="-"),
        observed_property=fsc.ObservedProperty(name="溶解氧", definition="http://vocab.example/do", description="-"),
    )
    thing = fsc.Thing(name="梦清园站", description="水质站", properties={"river": "苏州河"})
    thing.locations = [location]
    thing.datastreams = [datastream]
    client_service.create(thing)
    assert thing.id is not None

    found = client_service.things().query().filter("name eq '梦清园站'").expand("Datastreams").list()
    (read,) = list(found)
    (stream,) = list(read.datastreams)
    now = datetime.now(UTC).replace(microsecond=0)
    for minutes, value in ((20, 6.1), (10, 5.8)):
        observation = fsc.Observation(
            result=value, phenomenon_time=(now - timedelta(minutes=minutes)).isoformat(), datastream=stream
        )
        client_service.create(observation)
        assert observation.id is not None

    batch = fsc.DataArrayValue()
    batch.datastream = stream
    batch.components = {fsc.DataArrayValue.Property.PHENOMENON_TIME, fsc.DataArrayValue.Property.RESULT}
    batch.add_observation(fsc.Observation(result=5.5, phenomenon_time=now.isoformat(), datastream=stream))
    array = fsc.DataArrayDocument()
    array.add_data_array_value(batch)
    created = client_service.observations().create(array)
    assert len(created) == 1

    observations = client_service.observations().query().filter("result lt 6").orderby("phenomenonTime", "ASC").list()
    assert [o.result for o in observations] == [5.8, 5.5]
