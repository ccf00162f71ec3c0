"""Observations in bulk (CreateObservations and MQTT messages, smartcity/sensing/ingest.py): one reading per
datastream and time kept by INSERT … ON CONFLICT DO NOTHING — stored repeats, repeats inside the batch and the
same instant written with another offset all answer "error" — each link names the row it was given for,
whatever mix of columns the rows fill, and the extents, the audit record and the event count only what was
stored. Run on SQLite and, with SMARTCITY_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from smartcity.core import events
from smartcity.core.audit import AuditRecord
from smartcity.sensing import ingest, service
from smartcity.sensing.models import Datastream, Observation
from tests.conftest import bearer
from tests.sensing.test_sta import STA

NOW = datetime.now(UTC).replace(microsecond=0)


def _stamp(minutes: float, offset_hours: int = 0) -> str:
    moment = (NOW - timedelta(minutes=minutes)).astimezone(UTC)
    if offset_hours:
        from datetime import timezone

        return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _batch(client, datastream: int, components: list[str], rows: list[list[Any]]) -> list[str]:  # type: ignore[no-untyped-def]
    body = [{"Datastream": {"@iot.id": datastream}, "components": components, "dataArray": rows}]
    response = client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def heard() -> Any:
    """The ``sensing.observations_created`` events delivered after commit."""
    got: list[events.DomainEvent] = []
    handler = events.subscribe(ingest.EVENT)(got.append)
    yield got
    events.unsubscribe(ingest.EVENT, handler)


def test_repeats_stored_in_the_batch_and_at_another_offset_answer_error(client, stations, heard) -> None:
    ds = stations["外白渡桥站"]
    first = _batch(client, ds, ["phenomenonTime", "result"], [[_stamp(30), 1.0], [_stamp(20), 2.0]])
    assert all(link != "error" for link in first)
    rows = [
        [_stamp(30), 9.0],  # stored before
        [_stamp(15), 3.0],  # new
        [_stamp(15), 9.1],  # repeats the row before it
        [_stamp(20, offset_hours=8), 9.2],  # the stored 20-minute reading, written in Beijing time
        [_stamp(10), 4.0],  # new
    ]
    links = _batch(client, ds, ["phenomenonTime", "result"], rows)
    assert [link == "error" for link in links] == [True, False, True, True, False]
    for link, expected in ((links[1], 3.0), (links[4], 4.0)):  # each link names its own row
        assert client.get(link).json()["result"] == expected
    values = client.get(f"{STA}/Datastreams({ds})/Observations", params={"$orderby": "phenomenonTime"}).json()
    assert [o["result"] for o in values["value"]] == [1.0, 2.0, 3.0, 4.0]  # the first of each time is kept
    event = heard[-1]
    assert event.payload["count"] == 2 and event.payload["datastreams"] == [ds]
    assert [o["@iot.id"] for o in event.payload["observations"]] == [
        int(links[1].rsplit("(", 1)[1].rstrip(")")),
        int(links[4].rsplit("(", 1)[1].rstrip(")")),
    ]
    assert event.payload["observations"][0]["phenomenonTime"] == _stamp(15).replace("Z", ".000Z")


def test_a_batch_of_repeats_only_stores_nothing_and_records_nothing(client, database, stations, heard) -> None:
    ds = stations["外白渡桥站"]
    _batch(client, ds, ["phenomenonTime", "result"], [[_stamp(5), 1.0]])
    sensing_records = select(AuditRecord).where(AuditRecord.object_type.like("sta_%"))  # not the logins
    with database.session() as s:
        records = len(s.scalars(sensing_records).all())
        latest = s.get(Datastream, ds).latest_result
    heard.clear()
    assert _batch(client, ds, ["phenomenonTime", "result"], [[_stamp(5), 7.0], [_stamp(5), 8.0]]) == ["error"] * 2
    with database.session() as s:
        assert len(s.scalars(sensing_records).all()) == records  # nothing written, nothing chained
        assert s.get(Datastream, ds).latest_result == latest
    assert heard == []


def test_rows_filling_different_columns_read_back_as_given(client, stations) -> None:
    """Columns NULL throughout a batch are left out of its INSERT; here each column is filled by some rows
    only, and every row must read back exactly as a single POST of it would."""
    ds = stations["外白渡桥站"]
    components = ["phenomenonTime", "result", "resultTime", "parameters", "resultQuality"]
    rows = [
        [_stamp(50), 3, None, None, None],
        [f"{_stamp(45)}/{_stamp(40)}", 2.75, _stamp(39), {"n": 1}, {"flag": "ok"}],
        [_stamp(35), "offline", None, None, None],
        [_stamp(30), {"level": 3.1}, None, None, None],
        [_stamp(25), False, None, None, None],
        [_stamp(20), 12345678901234567891, None, None, None],  # stored as a number: read back as its float
    ]
    links = _batch(client, ds, components, rows)
    assert "error" not in links
    got = client.get(
        f"{STA}/Datastreams({ds})/Observations",
        params={"$orderby": "phenomenonTime", "$select": "phenomenonTime,result,resultTime,parameters,resultQuality"},
    ).json()["value"]
    assert [o["result"] for o in got] == [3, 2.75, "offline", {"level": 3.1}, False, int(float(12345678901234567891))]
    assert got[1]["phenomenonTime"].count("/") == 1 and got[1]["resultTime"].endswith("Z")
    assert got[1]["parameters"] == {"n": 1} and got[1]["resultQuality"] == {"flag": "ok"}
    assert got[0].get("resultTime") is None and got[0].get("parameters") is None
    as_array = {"$resultFormat": "dataArray", "$orderby": "phenomenonTime"}
    default = client.get(f"{STA}/Datastreams({ds})/Observations", params=as_array).json()
    chosen = client.get(  # the same components named: the general path, property by property
        f"{STA}/Datastreams({ds})/Observations", params={**as_array, "$select": "id,phenomenonTime,result"}
    ).json()
    assert default == chosen and len(default["value"][0]["dataArray"]) == len(rows)


def test_bad_rows_answer_error_in_their_place_and_the_rest_is_stored(client, stations) -> None:
    ds = stations["外白渡桥站"]
    future = (NOW + timedelta(hours=1)).isoformat()
    rows = [[_stamp(9), 1.0], ["not a time", 1.0], [future, 1.0], [_stamp(8)], [_stamp(7), None], [_stamp(6), 2.0]]
    links = _batch(client, ds, ["phenomenonTime", "result"], rows)
    assert [link == "error" for link in links] == [False, True, True, True, True, False]


def test_messages_repeating_a_reading_are_refused_as_repeated_sends(database, stations) -> None:
    ds = stations["外白渡桥站"]
    items = [
        (ds, {"phenomenonTime": _stamp(3), "result": 1.0}),
        (ds, {"phenomenonTime": _stamp(3), "result": 2.0}),  # a retry inside the batch
        (ds, {"phenomenonTime": _stamp(2), "result": 3.0}),
        (ds, {"result": "no time"}),  # the arrival time stands in (the bridge sets it; here: now)
        (ds, {"phenomenonTime": _stamp(1), "result": 4.0, "colour": "red"}),
        (999, {"phenomenonTime": _stamp(1), "result": 4.0}),
    ]
    with database.session() as s:
        outcome = service.ingest(s, items)
    assert outcome == [
        None,
        "a reading at that time is already stored (repeated send)",
        None,
        None,
        "Observation has no property 'colour'",
        "no Datastream 999",
    ]
    with database.session() as s:
        again = service.ingest(s, items[:1])
        assert again == ["a reading at that time is already stored (repeated send)"]
        stored = s.scalars(select(Observation.result_number).where(Observation.datastream_id == ds)).all()
        assert sorted(v for v in stored if v is not None) == [1.0, 3.0]


def test_the_cycle_collector_is_paused_for_a_batch_and_restored(database, stations) -> None:
    assert gc.isenabled()
    with ingest.cycle_collection_paused():
        assert not gc.isenabled()
        with ingest.cycle_collection_paused():  # nested: the outer one restores
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), ingest.cycle_collection_paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()
