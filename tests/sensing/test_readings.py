"""A page of bare readings (an instant, a number or no result, nothing else) is written by a path of its own,
``query.Readings``: whatever the rows, options and engine, the answer must be the general writer's, byte for
byte."""

from __future__ import annotations

import json
from datetime import timedelta, timezone

import pytest
from sqlalchemy import select, text

from smartcity.sensing import query
from smartcity.sensing.entities import SETS
from smartcity.sensing.models import Observation
from tests.conftest import bearer
from tests.sensing.test_multi import _thing, _water_quality
from tests.sensing.test_sta import NOW, STA

# numbers whose text orjson writes in every form it has: exponents both ways, the extremes, -0.0, 17 digits
NUMBERS = [3.0, 2.75, 0.1 + 0.2, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, -0.0, 123456789.12345679, -42.5]


def _stamp(seconds_ago: float, hours: float = 0, micro: int = 0) -> str:
    """A moment in ISO 8601 as written in a zone ``hours`` from UTC."""
    moment = (NOW - timedelta(seconds=seconds_ago)).replace(microsecond=micro)
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat().replace("+00:00", "Z")


def _post(client, datastream: int, body: dict, multi: bool = False) -> int:
    series = "MultiDatastreams" if multi else "Datastreams"
    response = client.post(
        f"{STA}/{series}({datastream})/Observations", json=body, headers=bearer(client, "supervisor")
    )
    assert response.status_code == 201, response.text
    return response.json()["@iot.id"]


def _readings(client, datastream: int) -> None:
    """Bare readings of every kind of number (and times given with offsets and microseconds) through the API."""
    for n, number in enumerate(NUMBERS):
        _post(client, datastream, {"phenomenonTime": _stamp(600 - n * 10, micro=n * 99_999), "result": number})
    _post(client, datastream, {"phenomenonTime": _stamp(400, 8, micro=999_999), "result": 7})  # an integer
    _post(client, datastream, {"phenomenonTime": _stamp(390, -3.5), "result": 2**53})  # too big to stay one
    _post(client, datastream, {"phenomenonTime": _stamp(380, micro=1), "result": -1})


def _direct_writes(database, datastream: int) -> None:
    """Readings the API does not make (a migration or another tool may have): no result, and a fraction marked as
    sent as an integer."""
    with database.session() as session:
        feature = session.scalar(
            select(Observation.feature_of_interest_id).where(Observation.datastream_id == datastream).limit(1)
        )
        for seconds, number, document in ((370, None, None), (360, 2.5, "int")):
            moment = NOW - timedelta(seconds=seconds)
            session.add(
                Observation(
                    phenomenon_time_start=moment, result_number=number, result_json=document,
                    datastream_id=datastream, feature_of_interest_id=feature,
                )
            )  # fmt: skip


def _same(client, monkeypatch, path: str, params: dict[str, str] | None = None) -> bytes:
    """The answer of the path with and without ``Readings``; they must be the same bytes."""
    fast = client.get(path, params=params)
    with monkeypatch.context() as patched:
        patched.setattr(query, "read_readings", lambda *args: None)
        general = client.get(path, params=params)
    assert fast.status_code == general.status_code == 200, fast.text
    assert fast.content == general.content
    return fast.content


def _rows(body: bytes) -> int:
    value = json.loads(body)["value"]
    return sum(len(group["dataArray"]) for group in value) if value and "dataArray" in value[0] else len(value)


@pytest.fixture
def taken(monkeypatch) -> list[bool]:
    """Whether each page read went by ``Readings`` (True) or was read whole (False)."""
    seen: list[bool] = []
    original = query.read_readings

    def spy(*args):  # type: ignore[no-untyped-def]
        readings = original(*args)
        seen.append(readings is not None)
        return readings

    monkeypatch.setattr(query, "read_readings", spy)
    return seen


OPTIONS = [
    {},
    {"$orderby": "phenomenonTime"},
    {"$orderby": "phenomenonTime desc", "$top": "4"},
    {"$orderby": "result", "$top": "3", "$skip": "2", "$count": "true"},
    {"$filter": f"phenomenonTime ge {_stamp(550)} and phenomenonTime lt {_stamp(385)}", "$count": "true"},
    {"$filter": "result gt 2.5", "$top": "10000", "$orderby": "phenomenonTime"},
    {"$resultFormat": "dataArray"},
    {"$resultFormat": "dataArray", "$orderby": "phenomenonTime desc", "$top": "5", "$count": "true"},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_bare_readings_read_the_same_by_both_writers(client, database, stations, monkeypatch, taken, options) -> None:
    ds = stations["外白渡桥站"]
    _readings(client, ds)
    _direct_writes(database, ds)
    taken.clear()
    body = _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", options)
    assert taken == [True] and _rows(body) > 1
    _same(client, monkeypatch, f"{STA}/Observations", options)


def test_readings_of_several_series_and_of_a_multidatastream(client, database, stations, monkeypatch, taken) -> None:
    """Each row links to its own kind of series; dataArray groups the rows by series in the order met."""
    a, b = stations["外白渡桥站"], stations["武宁路桥站"]
    _readings(client, a)
    _readings(client, b)
    multi = client.post(
        f"{STA}/MultiDatastreams", json=_water_quality(_thing(client, stations)), headers=bearer(client, "supervisor")
    ).json()["@iot.id"]
    _post(client, multi, {"phenomenonTime": _stamp(500), "result": [6.2, 0.8, 14]}, multi=True)
    with database.engine.begin() as conn:  # a number in a MultiDatastream: only a direct write makes one
        conn.execute(
            text("UPDATE sta_observation SET result_number = 1.5, result_json = NULL WHERE datastream_id = :multi"),
            {"multi": multi},
        )
    taken.clear()
    for options in ({"$orderby": "phenomenonTime"}, {"$resultFormat": "dataArray", "$orderby": "phenomenonTime"}):
        body = _same(client, monkeypatch, f"{STA}/Observations", options)
        assert b"MultiDatastream@iot.navigationLink" in body and b"Datastream@iot.navigationLink" in body
    assert taken == [True, True]
    _same(client, monkeypatch, f"{STA}/Datastreams({a})/Observations/$ref")


def test_pages_with_any_other_observation_are_read_whole(client, stations, monkeypatch, taken) -> None:
    ds = stations["外白渡桥站"]
    _readings(client, ds)
    others = [
        {"phenomenonTime": f"{_stamp(300)}/{_stamp(290)}", "result": 1.0},
        {"phenomenonTime": _stamp(280), "result": 1.0, "resultTime": _stamp(279)},
        {"phenomenonTime": _stamp(270), "result": 1.0, "resultQuality": {"flag": "ok"}},
        {"phenomenonTime": _stamp(260), "result": 1.0, "validTime": f"{_stamp(260)}/{_stamp(0)}"},
        {"phenomenonTime": _stamp(250), "result": 1.0, "parameters": {"n": 1}},
        {"phenomenonTime": _stamp(240), "result": "offline"},
        {"phenomenonTime": _stamp(230), "result": False},
        {"phenomenonTime": _stamp(220), "result": {"level": 3.1, "text": 'a, "b"'}},
    ]
    for body in others:
        other = _post(client, ds, body)
        taken.clear()  # the other one among the readings, the only one of its kind
        among = {"$filter": f"id eq {other} or phenomenonTime lt {_stamp(310)}", "$orderby": "phenomenonTime"}
        _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", among)
        _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {**among, "$resultFormat": "dataArray"})
        assert taken == [False, False], body
    taken.clear()
    _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {"$filter": f"phenomenonTime lt {_stamp(310)}"})
    assert taken == [True]  # the readings alone still go the fast way


def test_select_and_expand_take_the_general_path(client, stations, monkeypatch, taken) -> None:
    ds = stations["外白渡桥站"]
    _readings(client, ds)
    taken.clear()
    _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {"$select": "id,result"})
    _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {"$expand": "FeatureOfInterest"})
    expanded = _same(client, monkeypatch, f"{STA}/Datastreams({ds})", {"$expand": "Observations($top=3)"})
    assert taken == [] and len(json.loads(expanded)["Observations"]) == 3
    _same(client, monkeypatch, f"{STA}/Things", {"$expand": "Datastreams/Observations"})


@pytest.mark.parametrize(
    ("stored", "fast"),
    [
        ("2026-12-01 04:26:48.123456", True),
        ("2026-12-01T04:26:48.123456", True),  # written with a T by some other tool
        ("2026-12-01 04:26:48.123", True),
        ("2026-12-01 04:26:48", False),  # too short for a plain cut: iso pads it
        ('2026-12-01 04:26:48.1"3456', False),  # text JSON escapes
        ("2026-12-01 04:26:48.1\t3456", False),
    ],
)
def test_stored_text_of_any_shape_on_sqlite(client, database, stations, monkeypatch, taken, stored, fast) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores timestamps, not text")
    ds = stations["外白渡桥站"]
    _post(client, ds, {"phenomenonTime": _stamp(10), "result": 1.5})
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sta_observation (phenomenon_time_start, result_number, datastream_id, "
                "feature_of_interest_id) SELECT :stored, 2.5, datastream_id, feature_of_interest_id "
                "FROM sta_observation"
            ),
            {"stored": stored},
        )
    taken.clear()
    _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {"$orderby": "id"})
    _same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", {"$resultFormat": "dataArray"})
    assert taken == [fast, fast]


def test_times_are_written_in_utc_whatever_the_session_zone(client, database, stations) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores UTC text")
    ds = stations["外白渡桥站"]
    _readings(client, ds)
    with database.session() as session:
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Shanghai'"))  # the transaction's only
        statement, _ = query.collection_query(
            SETS["Observations"], query.Options(), "postgresql", Observation.datastream_id == ds
        )
        readings, _ = query.page(session, statement, query.Options())
        stored = session.execute(select(Observation.id, Observation.phenomenon_time_start)).all()
    assert isinstance(readings, query.Readings)
    assert dict(zip(readings.ids, readings.times, strict=True)) == {id_: query.iso(moment) for id_, moment in stored}


def test_an_empty_page_reads_the_same(client, stations, monkeypatch, taken) -> None:
    ds = stations["外白渡桥站"]
    _readings(client, ds)
    taken.clear()
    for options in ({"$filter": "id lt 0", "$count": "true"}, {"$filter": "id lt 0", "$resultFormat": "dataArray"}):
        assert _rows(_same(client, monkeypatch, f"{STA}/Datastreams({ds})/Observations", options)) == 0
    assert taken == [True, True]
