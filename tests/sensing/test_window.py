"""The chart read — one Datastream's readings over a time window, oldest first — served from rendered hours
(smartcity/sensing/window.py, sensing/hours.py): the answer must be the general read's, byte for byte, before
and after any write, whichever way the write came."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from smartcity.sensing import filter as stafilter
from smartcity.sensing import hours, partitions, query
from smartcity.sensing import window as sta_window
from smartcity.sensing.models import Observation, ObservationHour
from tests.conftest import bearer
from tests.sensing.test_sta import NOW, STA, _station

START = (NOW - timedelta(hours=26)).replace(second=0)  # four hours of readings a minute apart, a day ago
READINGS = 240


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _window(low: datetime = START + timedelta(seconds=30), high: datetime = START + timedelta(hours=4)) -> dict:
    return {
        "$filter": f"phenomenonTime ge {_iso(low)} and phenomenonTime lt {_iso(high)}",
        "$orderby": "phenomenonTime",
        "$top": "10000",
    }


def _load(client, datastream: int) -> None:
    rows = [[_iso(START + timedelta(minutes=k)), round(3 + (k * 37 % 100) / 100, 2)] for k in range(READINGS)]
    body = [{"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    response = client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor"))
    assert response.status_code == 201, response.text


@pytest.fixture
def series(client, stations) -> int:
    datastream = stations["外白渡桥站"]
    _load(client, datastream)
    return datastream


@pytest.fixture
def cache(client) -> sta_window.WindowCache:
    """A cache of this test's own (the app outlives the test), of the configured size."""
    fresh = client.app.state.sta_window_cache = sta_window.WindowCache(
        client.app.state.settings.sta_read_cache_mb * 2**20
    )
    return fresh


def _general(client, monkeypatch, path: str, params: dict) -> bytes:
    with monkeypatch.context() as patched:
        patched.setattr(sta_window, "recognise", lambda *args: None)
        response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.content


def _read(client, monkeypatch, datastream: int, params: dict | None = None) -> bytes:
    """The chart read, checked against the general read of the same request."""
    path, params = f"{STA}/Datastreams({datastream})/Observations", params or _window()
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.content == _general(client, monkeypatch, path, params)
    return response.content


def _values(body: bytes) -> list:
    value = json.loads(body)["value"]
    return value[0]["dataArray"] if value and "dataArray" in value[0] else value


FORMS = [
    {},
    {"$count": "true"},
    {"$resultFormat": "dataArray"},
    {"$resultFormat": "dataArray", "$count": "true"},
]


@pytest.mark.parametrize("form", FORMS)
def test_the_first_read_renders_the_hours_and_the_next_serves_them(client, series, cache, monkeypatch, form) -> None:
    params = {**_window(), **form}
    first = _read(client, monkeypatch, series, params)
    assert (cache.hits, cache.misses) == (0, 3)  # three whole hours inside the window, none rendered before
    second = _read(client, monkeypatch, series, params)
    assert (cache.hits, cache.misses) == (3, 3)
    assert first == second and len(_values(first)) == READINGS - 1


@pytest.mark.parametrize(
    "condition",
    [
        "phenomenonTime gt {low} and phenomenonTime le {high}",
        "{low} lt phenomenonTime and {high} ge phenomenonTime",
        "phenomenonTime ge {low}",  # open to now
        "phenomenonTime ge {early} and phenomenonTime ge {low} and phenomenonTime lt {high}",
        "phenomenonTime ge {hour} and phenomenonTime lt {high}",  # on the hour, inclusive
        "phenomenonTime gt {hour} and phenomenonTime lt {high}",  # on the hour, exclusive
    ],
)
def test_bounds_of_every_kind_read_as_the_general_read(client, series, cache, monkeypatch, condition) -> None:
    hour = START.replace(minute=0) + timedelta(hours=1)
    moments = {"low": START + timedelta(minutes=5), "high": START + timedelta(hours=3, minutes=1), "hour": hour,
               "early": START - timedelta(days=1)}  # fmt: skip
    params = {**_window(), "$filter": condition.format(**{k: _iso(v) for k, v in moments.items()})}
    for _ in range(2):
        body = _read(client, monkeypatch, series, params)
    assert cache.hits > 0 and len(_values(body)) > 100


def _ids_in_hour(body: bytes, hour: str) -> list[int]:
    return [row["@iot.id"] for row in _values(body) if row["phenomenonTime"].startswith(hour)]


def _middle_hour() -> str:
    return hours.hour_of(START + timedelta(hours=2))


def _write_post(client, database, series: int, body: bytes) -> None:
    moment = datetime.fromisoformat(f"{_middle_hour()}:30:05+00:00")
    response = client.post(f"{STA}/Datastreams({series})/Observations", json={"phenomenonTime": _iso(moment),
                           "result": 42.5}, headers=bearer(client, "supervisor"))  # fmt: skip
    assert response.status_code == 201, response.text


def _write_batch(client, database, series: int, body: bytes) -> None:
    moment = datetime.fromisoformat(f"{_middle_hour()}:30:05+00:00")
    rows = [{"Datastream": {"@iot.id": series}, "components": ["phenomenonTime", "result"],
             "dataArray": [[_iso(moment), 42.5]]}]  # fmt: skip
    assert client.post(f"{STA}/CreateObservations", json=rows, headers=bearer(client, "supervisor")).status_code == 201


def _write_patch_result(client, database, series: int, body: bytes) -> None:
    target = _ids_in_hour(body, _middle_hour())[7]
    response = client.patch(f"{STA}/Observations({target})", json={"result": 99.25},
                            headers=bearer(client, "supervisor"))  # fmt: skip
    assert response.status_code == 200, response.text


def _write_patch_time(client, database, series: int, body: bytes) -> None:
    """Moves a reading from one kept hour to another."""
    target = _ids_in_hour(body, _middle_hour())[7]
    moment = datetime.fromisoformat(f"{_middle_hour()}:00:00+00:00") - timedelta(minutes=30, seconds=-7)
    response = client.patch(f"{STA}/Observations({target})", json={"phenomenonTime": _iso(moment)},
                            headers=bearer(client, "supervisor"))  # fmt: skip
    assert response.status_code == 200, response.text


def _write_delete(client, database, series: int, body: bytes) -> None:
    target = _ids_in_hour(body, _middle_hour())[7]
    assert client.delete(f"{STA}/Observations({target})", headers=bearer(client, "supervisor")).status_code == 200


def _write_delete_feature(client, database, series: int, body: bytes) -> None:
    feature = client.get(f"{STA}/Observations({_values(body)[0]['@iot.id']})/FeatureOfInterest").json()["@iot.id"]
    headers = bearer(client, "supervisor")
    assert client.delete(f"{STA}/FeaturesOfInterest({feature})", headers=headers).status_code == 200


def _write_another_process(client, database, series: int, body: bytes) -> None:
    """Not through this app at all: the ORM in a session of its own, as a script or another worker would."""
    with database.session() as session:
        row = session.get(Observation, _ids_in_hour(body, _middle_hour())[3])
        row.result_number = -7.5
        session.add(Observation(phenomenon_time_start=datetime.fromisoformat(f"{_middle_hour()}:45:01+00:00"),
                                result_number=1.5, datastream_id=series,
                                feature_of_interest_id=row.feature_of_interest_id))  # fmt: skip


def _write_retention(client, database, series: int, body: bytes) -> None:
    """Retention as run two months from now: SQLite deletes the rows, PostgreSQL drops their month."""
    applied = partitions.maintain(database, retention_days=1, now=NOW + timedelta(days=62))
    assert applied.deleted_rows or applied.dropped


WRITES = [_write_post, _write_batch, _write_patch_result, _write_patch_time, _write_delete, _write_delete_feature,
          _write_another_process, _write_retention]  # fmt: skip


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__[7:])
@pytest.mark.parametrize("form", [{}, {"$resultFormat": "dataArray"}], ids=["json", "dataArray"])
def test_a_write_is_seen_by_the_next_read(client, database, series, cache, monkeypatch, write, form) -> None:
    params = {**_window(), **form}
    before = _read(client, monkeypatch, series, params)
    _read(client, monkeypatch, series, params)  # every whole hour now kept
    write(client, database, series, _json_body(client, series))
    after = _read(client, monkeypatch, series, params)  # the same bytes as the general read: asserted in _read
    assert after != before


def _json_body(client, series: int) -> bytes:
    return client.get(f"{STA}/Datastreams({series})/Observations", params=_window()).content


def test_a_series_made_again_under_the_same_id_never_meets_the_old_hours(client, stations, cache, monkeypatch) -> None:
    """SQLite gives a new row the largest id + 1: delete the newest series and its successor may take its id."""
    headers = bearer(client, "supervisor")
    thing = client.post(f"{STA}/Things", json=_station("临时站", 121.45, 31.24), headers=headers).json()["@iot.id"]
    first = client.get(f"{STA}/Things({thing})/Datastreams").json()["value"][0]
    _load(client, first["@iot.id"])
    _read(client, monkeypatch, first["@iot.id"])
    _read(client, monkeypatch, first["@iot.id"])
    assert client.delete(f"{STA}/Things({thing})", headers=headers).status_code == 200
    again = client.post(f"{STA}/Things", json=_station("临时站", 121.45, 31.24), headers=headers).json()["@iot.id"]
    second = client.get(f"{STA}/Things({again})/Datastreams").json()["value"][0]["@iot.id"]
    rows = [[_iso(START + timedelta(minutes=k, seconds=20)), 1.0] for k in range(READINGS)]
    body = [{"Datastream": {"@iot.id": second}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=headers).status_code == 201
    assert {row["result"] for row in _values(_read(client, monkeypatch, second))} == {1.0}


@pytest.mark.parametrize(
    "extra",
    [
        {"$skip": "1"},
        {"$top": "5"},
        {"$orderby": "phenomenonTime desc"},
        {"$orderby": "result"},
        {"$select": "result"},
        {"$expand": "Datastream"},
        {"$resultFormat": "dataArray", "$select": "result,phenomenonTime"},
    ],
)
def test_requests_it_does_not_fit_take_the_general_read(client, series, cache, monkeypatch, extra) -> None:
    for _ in range(2):
        _read(client, monkeypatch, series, {**_window(), **extra})
    assert cache.hits == 0


def test_a_window_holding_other_observations_takes_the_general_read(client, series, cache, monkeypatch) -> None:
    moment = datetime.fromisoformat(f"{_middle_hour()}:30:05+00:00")
    body = {"phenomenonTime": _iso(moment), "result": "flooded", "resultTime": _iso(moment)}
    response = client.post(f"{STA}/Datastreams({series})/Observations", json=body, headers=bearer(client, "supervisor"))
    assert response.status_code == 201
    for _ in range(2):
        _read(client, monkeypatch, series)
    assert cache.hits == 0


def test_rows_written_by_hand_are_read_live_until_the_hours_are_rebuilt(client, database, series, cache,
                                                                        monkeypatch) -> None:  # fmt: skip
    with database.session() as session:
        session.execute(text("DELETE FROM sta_observation_hour"))
    _read(client, monkeypatch, series)
    _read(client, monkeypatch, series)
    assert (cache.hits, cache.misses) == (0, 0)  # no hour has a revision: nothing is kept
    with database.engine.begin() as connection:
        made = hours.rebuild(connection)
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(ObservationHour))
    assert made == stored == len({hours.hour_of(START + timedelta(minutes=k)) for k in range(READINGS)})
    _read(client, monkeypatch, series)
    _read(client, monkeypatch, series)
    assert cache.hits == 3


def test_a_cache_of_no_size_is_off(client, series, cache, monkeypatch) -> None:
    monkeypatch.setattr(cache, "budget", 0)
    _read(client, monkeypatch, series)
    _read(client, monkeypatch, series)
    assert (cache.hits, cache.misses) == (0, 0)


def test_the_least_recently_used_hours_go_first() -> None:
    cache = sta_window.WindowCache(budget=3 * (100 + 200))
    for key in "abc":
        cache.put((key,), 1, (1, b"x" * 100))
    assert cache.get(("a",), 1) is not None  # a is now the most recent
    cache.put(("d",), 1, (1, b"x" * 100))
    assert cache.get(("b",), 1) is None and cache.get(("a",), 1) and cache.get(("c",), 1) and cache.get(("d",), 1)
    cache.put(("huge",), 1, (1, b"x" * 10_000))  # larger than the budget: not kept, nothing dropped for it
    assert cache.get(("huge",), 1) is None and cache.used == 3 * 300


def test_a_new_revision_of_an_hour_takes_the_old_ones_place() -> None:
    cache = sta_window.WindowCache(budget=10_000)
    cache.put(("a",), 1, (1, b"x" * 100))
    cache.put(("a",), 2, (2, b"y" * 50))
    assert cache.get(("a",), 1) is None and cache.get(("a",), 2) == (2, b"y" * 50)
    assert cache.used == 50 + 200


def _options(condition: str) -> query.Options:
    return query.Options(filter=stafilter.parse(condition), orderby=stafilter.parse_orderby("phenomenonTime"))


class _Link:
    class parent_set:  # stands for an EntitySet
        name = "Datastreams"

    parent_id = 9


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            "phenomenonTime ge 2026-01-01T00:00:00Z and phenomenonTime lt 2026-01-02T00:00:00Z",
            ("2026-01-01T00:00:00+00:00", True, "2026-01-02T00:00:00+00:00", False),
        ),
        ("2026-01-01T08:00:00+08:00 le phenomenonTime", ("2026-01-01T00:00:00+00:00", True, None, False)),
        (
            "phenomenonTime gt 2026-01-01T00:00:00Z and phenomenonTime ge 2026-01-01T00:00:00Z",
            ("2026-01-01T00:00:00+00:00", False, None, False),
        ),
        ("phenomenonTime lt 2026-01-02T00:00:00Z", None),  # no lower bound: the whole series
        ("phenomenonTime ge 2026-01-01T00:00:00Z or phenomenonTime lt 2025-01-01T00:00:00Z", None),
        ("phenomenonTime ge 2026-01-01T00:00:00Z and result gt 3", None),
        ("phenomenonTime eq 2026-01-01T00:00:00Z", None),
        ("resultTime ge 2026-01-01T00:00:00Z", None),
    ],
)
def test_which_requests_are_chart_reads(condition: str, expected: tuple | None) -> None:
    found = sta_window.recognise("Observations", _Link, False, _options(condition))
    if expected is None:
        assert found is None
        return
    low, low_inclusive, high, high_inclusive = expected
    assert found == sta_window.Window(9, datetime.fromisoformat(low), low_inclusive,
                                      datetime.fromisoformat(high) if high else None, high_inclusive)  # fmt: skip


def test_whole_hours_of_a_window() -> None:
    start = datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    window = sta_window.Window(1, start, True, start + timedelta(hours=3), False)
    later = start + timedelta(days=1)
    assert window.full_hours(later) == [start, start + timedelta(hours=1), start + timedelta(hours=2)]
    exclusive = sta_window.Window(1, start, False, start + timedelta(hours=3, minutes=59), True)
    assert exclusive.full_hours(later) == [start + timedelta(hours=1), start + timedelta(hours=2)]
    too_long = sta_window.Window(1, start, True, start + timedelta(days=60), False)
    assert too_long.full_hours(start + timedelta(days=60)) == []
    open_ended = sta_window.Window(1, start, True, None, False)  # up to now: the hour being written is not whole
    assert open_ended.full_hours(start + timedelta(hours=2, minutes=30)) == [start, start + timedelta(hours=1)]
    beyond_now = sta_window.Window(1, start, True, start + timedelta(days=1), False)
    assert beyond_now.full_hours(start + timedelta(hours=1, minutes=5)) == [start]


def test_a_backfill_wider_than_two_days_marks_only_the_hours_it_wrote(client, stations, cache, monkeypatch) -> None:
    """One batch of a series spanning three days: its hours are found row by row, not as a range."""
    datastream = stations["武宁路桥站"]
    moments = [START - timedelta(days=3), *(START + timedelta(minutes=k) for k in range(READINGS))]
    rows = [[_iso(moment), 2.5] for moment in moments]
    body = [{"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor")).status_code == 201
    with client.app.state.database.session() as session:
        marked = set(session.scalars(select(ObservationHour.hour).where(ObservationHour.datastream_id == datastream)))
    assert marked == {hours.hour_of(moment) for moment in moments}
    _read(client, monkeypatch, datastream)
    _read(client, monkeypatch, datastream)
    assert cache.hits == 3


def test_a_narrow_batch_marks_every_hour_it_spans(client, stations) -> None:
    """Readings two hours apart mark the hour between them too: no work per row, and an hour marked without
    rows only costs a reader's rendering of it."""
    datastream = stations["武宁路桥站"]
    rows = [[_iso(START), 1.0], [_iso(START + timedelta(hours=2)), 2.0]]
    body = [{"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=bearer(client, "supervisor")).status_code == 201
    with client.app.state.database.session() as session:
        marked = set(session.scalars(select(ObservationHour.hour).where(ObservationHour.datastream_id == datastream)))
    assert marked == {hours.hour_of(START + timedelta(hours=n)) for n in range(3)}


def test_a_page_of_a_longer_window_is_paged_by_the_general_read(client, series, cache, monkeypatch) -> None:
    _read(client, monkeypatch, series)
    _read(client, monkeypatch, series)  # every whole hour kept
    hits = cache.hits
    page = _read(client, monkeypatch, series, {**_window(), "$top": "100"})
    assert len(_values(page)) == 100 and "@iot.nextLink" in json.loads(page) and cache.hits == hits
