"""GTFS static: typed reading, every problem reported at once with file, line and field, references across files,
service days and after-midnight times, zip round trips — and the synthetic Shanghai demo feed, checked by our
reader and by an independent validator from PyPI."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import fields
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from smartcity.core.errors import Problem
from smartcity.traffic import gtfs
from smartcity.traffic.gtfs import GtfsIssue, GtfsValidationError, read_feed, write_zip
from smartcity.traffic.gtfs_demo import demo_feed, demo_zip

CALENDAR_HEADER = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date"
FILES = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Bus,https://example.org,Asia/Shanghai\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "ST,Station,31.2,121.4,1,\n"
        "S1,One,31.2,121.4,0,ST\n"
        "S2,Two,31.21,121.41,,\n"
        "S3,Three,31.22,121.42,,\n"
    ),
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\nR1,A,71,,3\n",
    "trips.txt": "route_id,service_id,trip_id,direction_id,shape_id\nR1,WK,T1,0,SH1\nR1,WK,T2,1,\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,24:50:00,24:50:00,S1,1\n"
        "T1,,,S2,5\n"
        "T1,25:35:00,25:36:00,S3,10\n"
        "T2,8:00:00,08:00:00,S3,1\n"
        "T2,08:10:00,08:10:30,S1,2\n"
    ),
    "calendar.txt": f"{CALENDAR_HEADER}\nWK,1,1,1,1,1,0,0,20260101,20261231\n",
    "calendar_dates.txt": "service_id,date,exception_type\nWK,20261001,2\nWK,20261003,1\n",
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\nSH1,31.2,121.4,1\nSH1,31.22,121.42,2\n",
}


def files(**changes: str | None) -> dict[str, str]:
    """The valid little feed above with some files replaced (``stops_txt="…"``) or left out (``=None``)."""
    out = dict(FILES)
    for key, text in changes.items():
        name = key.replace("_txt", ".txt")
        if text is None:
            out.pop(name)
        else:
            out[name] = text
    return out


def issues(source: object) -> list[GtfsIssue]:
    with pytest.raises(GtfsValidationError) as caught:
        read_feed(source)  # type: ignore[arg-type]
    return list(caught.value.issues)


def where(found: list[GtfsIssue]) -> list[tuple[str, int | None, str | None]]:
    return [(i.file, i.line, i.field) for i in found]


# ---------------------------------------------------------------- reading


def test_a_valid_feed_reads_into_typed_records() -> None:
    feed = read_feed(files())
    assert [s.stop_id for s in feed.stops] == ["ST", "S1", "S2", "S3"]
    assert feed.route_by_id["R1"].route_type == 3
    first = feed.stop_times[0]
    assert (first.arrival_time, first.departure_time, first.stop_sequence) == (24 * 3600 + 50 * 60, 89_400, 1)
    assert feed.calendars[0].start_date == date(2026, 1, 1)
    assert feed.calendars[0].weekdays() == (True, True, True, True, True, False, False)
    assert feed.trip_by_id["T1"].direction_id == 0


def test_after_midnight_time_is_accepted_and_counts_on() -> None:
    feed = read_feed(files())
    schedule = feed.schedules["T1"]
    assert schedule.arrivals[-1] == gtfs.parse_time("25:35:00") == 92_100
    assert schedule.departures[-1] == 92_160
    assert gtfs.format_time(92_100) == "25:35:00"
    assert gtfs.parse_time("8:00:00") == 28_800  # H:MM:SS is accepted too


def test_an_impossible_time_is_rejected_with_file_line_and_field() -> None:
    bad = FILES["stop_times.txt"].replace("25:35:00,25:36:00", "25:75:00,25:76:00")
    found = issues(files(stop_times_txt=bad))
    assert where(found) == [("stop_times.txt", 4, "arrival_time"), ("stop_times.txt", 4, "departure_time")]
    assert "25:75:00" in found[0].message and "00–59" in found[0].message
    assert str(found[0]).startswith("stop_times.txt, line 4, arrival_time: ")


def test_missing_stops_txt_is_reported() -> None:
    found = issues(files(stops_txt=None))
    assert where(found) == [("stops.txt", None, None)]
    assert "required file is missing" in found[0].message


def test_missing_calendars_are_reported_and_calendar_dates_alone_is_enough() -> None:
    assert where(issues(files(calendar_txt=None, calendar_dates_txt=None))) == [("calendar.txt", None, None)]
    only_dates = "service_id,date,exception_type\nWK,20260302,1\n"
    feed = read_feed(files(calendar_txt=None, calendar_dates_txt=only_dates))
    assert feed.runs_on("WK", date(2026, 3, 2)) and not feed.runs_on("WK", date(2026, 3, 3))


def test_an_unknown_stop_is_reported_on_its_line() -> None:
    bad = FILES["stop_times.txt"].replace("08:10:30,S1,2", "08:10:30,S9,2")
    found = issues(files(stop_times_txt=bad))
    assert where(found) == [("stop_times.txt", 6, "stop_id")]
    assert found[0].message == "no stop with stop_id 'S9'"


def test_every_problem_is_reported_at_once() -> None:
    found = issues(
        files(
            stops_txt=FILES["stops.txt"].replace("31.21,121.41", "91.5,121.41") + "S1,Again,31.23,121.43,,\n",
            routes_txt="route_id,agency_id,route_short_name,route_long_name,route_type\nR1,A,71,,99\nR2,A,,,3\n",
            trips_txt=FILES["trips.txt"] + "R7,WK,T3,2,\nR1,XX,T4,1,\n",
            calendar_dates_txt="service_id,date,exception_type\nWK,20260231,2\nWK,20261003,3\n",
        )
    )
    assert where(found) == [
        ("stops.txt", 4, "stop_lat"),
        ("stops.txt", 6, "stop_id"),
        ("routes.txt", 2, "route_type"),
        ("routes.txt", 3, "route_short_name"),
        ("trips.txt", 4, "direction_id"),
        ("trips.txt", 5, "service_id"),
        ("trips.txt", 5, "trip_id"),
        ("calendar_dates.txt", 2, "date"),
        ("calendar_dates.txt", 3, "exception_type"),
    ]
    assert "duplicate key (S1): already on line 3" in found[1].message


def test_a_row_rejected_for_its_format_is_not_reported_again_as_a_missing_reference() -> None:
    bad_stop = FILES["stops.txt"].replace("S2,Two,31.21", "S2,Two,north")
    assert where(issues(files(stops_txt=bad_stop))) == [("stops.txt", 4, "stop_lat")]


def test_a_utf8_byte_order_mark_is_tolerated_and_other_encodings_are_not() -> None:
    with_bom = {name: "\ufeff" + text for name, text in FILES.items()}
    assert len(read_feed(with_bom).stops) == 4
    latin1 = dict(FILES)
    latin1["stops.txt"] = FILES["stops.txt"].replace("Two", "Zwei Brücken").encode("latin-1")  # type: ignore[assignment]
    assert where(issues(latin1)) == [("stops.txt", 4, None)]


def test_required_columns_and_row_widths() -> None:
    no_lat = "stop_id,stop_name,stop_lon\nS1,One,121.4\n"
    found = issues(files(shapes_txt="shape_id,shape_pt_lat,shape_pt_sequence\nSH1,31.2,1\n", stops_txt=no_lat))
    assert ("shapes.txt", 1, "shape_pt_lon") in where(found)
    short_row = FILES["routes.txt"] + "R2,A,72\n"
    found = issues(files(routes_txt=short_row))
    assert where(found) == [("routes.txt", 3, None)] and "3 values" in found[0].message


def test_stop_times_order_along_a_trip() -> None:
    stop_times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,10:00:00,10:00:00,S1,1\n"
        "T1,10:05:00,10:04:00,S2,2\n"  # leaves before it arrives
        "T1,10:03:00,10:03:00,S3,3\n"  # earlier than the previous stop
        "T1,10:09:00,,S1,4\n"  # only one of the two times
        "T1,,,S2,4\n"  # the same stop_sequence again, and the last stop has no time
        "T2,08:00:00,08:00:00,S3,1\n"
        "T2,08:10:00,08:10:30,S1,2\n"
    )
    found = issues(files(stop_times_txt=stop_times))
    assert where(found) == [
        ("stop_times.txt", 3, "departure_time"),
        ("stop_times.txt", 4, "arrival_time"),
        ("stop_times.txt", 5, "departure_time"),
        ("stop_times.txt", 6, "stop_sequence"),
        ("stop_times.txt", 6, "arrival_time"),
    ]
    assert "last stop of trip 'T1'" in found[-1].message


def test_a_trip_needs_two_stop_times_and_known_references() -> None:
    stop_times = FILES["stop_times.txt"] + "T9,09:00:00,09:00:00,S1,1\n"
    trips = FILES["trips.txt"].replace(",SH1", ",NOSHAPE") + "R1,WK,T5,0,\n"
    found = issues(files(stop_times_txt=stop_times, trips_txt=trips))
    assert where(found) == [("trips.txt", 2, "shape_id"), ("trips.txt", 4, "trip_id"), ("stop_times.txt", 7, "trip_id")]


def test_station_rules() -> None:
    stops = (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "ST,Station,31.2,121.4,1,S2\n"  # a station with a parent
        "S1,One,31.2,121.4,0,S2\n"  # a platform whose parent is not a station
        "S2,Two,31.21,121.41,,\n"
        "S3,Three,31.22,121.42,0,NOPE\n"
        "E1,,,,2,\n"  # an entrance needs a name, a position and a station
    )
    found = issues(files(stops_txt=stops))
    assert where(found) == [
        ("stops.txt", 2, "parent_station"),
        ("stops.txt", 3, "parent_station"),
        ("stops.txt", 5, "parent_station"),
        ("stops.txt", 6, "stop_name"),
        ("stops.txt", 6, "stop_lat"),
        ("stops.txt", 6, "stop_lon"),
        ("stops.txt", 6, "parent_station"),
    ]
    station_in_trip = FILES["stop_times.txt"].replace("S1,1", "ST,1")
    assert "location_type 1" in issues(files(stop_times_txt=station_in_trip))[0].message


def test_route_types_basic_and_extended() -> None:
    for accepted in ("3", "11", "700", "1702"):
        routes = FILES["routes.txt"].replace(",3\n", f",{accepted}\n")
        assert read_feed(files(routes_txt=routes)).routes[0].route_type == int(accepted)
    for refused in ("8", "99", "1703", "bus"):
        routes = FILES["routes.txt"].replace(",3\n", f",{refused}\n")
        assert where(issues(files(routes_txt=routes))) == [("routes.txt", 2, "route_type")]


def test_several_agencies_need_ids_and_one_time_zone() -> None:
    agencies = FILES["agency.txt"] + ",Two,https://example.org/2,Asia/Tokyo\n"
    found = issues(files(agency_txt=agencies))
    assert where(found) == [("agency.txt", 3, "agency_id"), ("agency.txt", 3, "agency_timezone")]


def test_zip_problems() -> None:
    assert issues(b"not a zip")[0].message.startswith("not a zip archive")
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as archive:
        for name, text in FILES.items():
            archive.writestr(f"feed/{name}", text)
    found = issues(nested.getvalue())
    assert "found as feed/agency.txt: GTFS files must be at the top of the zip" in [i.message for i in found]


def test_the_error_is_a_problem_for_the_api() -> None:
    with pytest.raises(Problem) as caught:
        read_feed(files(stops_txt=None))
    assert caught.value.status == 422 and caught.value.code == "gtfs-invalid"
    assert caught.value.errors == [
        {
            "file": "stops.txt",
            "line": None,
            "field": None,
            "message": "required file is missing (no locations.geojson either)",
        }
    ]


def test_records_have_the_columns_of_their_files() -> None:
    for spec in gtfs.SPECS.values():
        assert [f.name for f in fields(spec.record)] == [c.name for c in spec.columns], spec.name


# ---------------------------------------------------------------- schedules and service days


def test_untimed_stops_are_interpolated_by_distance() -> None:
    schedule = read_feed(files()).schedules["T1"]
    assert schedule.stop_sequences == (1, 5, 10)
    start, end = schedule.departures[0], schedule.arrivals[2]
    share = schedule.distances[1] / schedule.distances[2]
    assert schedule.arrivals[1] == round(start + share * (end - start))
    assert schedule.index_of_sequence(5) == 1 and schedule.index_of_sequence(4) is None


def test_service_days_and_trips_past_midnight() -> None:
    feed = read_feed(files())
    assert feed.runs_on("WK", date(2026, 3, 2))  # a Monday
    assert not feed.runs_on("WK", date(2026, 10, 1))  # removed by calendar_dates
    assert feed.runs_on("WK", date(2026, 10, 3))  # a Saturday, added
    tz = feed.timezone
    origin = feed.service_origin(date(2026, 3, 2))
    assert origin == int(datetime(2026, 3, 2, tzinfo=tz).timestamp())  # noon − 12 h: midnight in Shanghai
    at = int(datetime(2026, 3, 3, 1, 0, tzinfo=tz).timestamp())  # Tuesday 01:00 is Monday's 25:00
    assert [(a.trip_id, a.service_date) for a in feed.active_trips(at)] == [("T1", date(2026, 3, 2))]
    assert feed.service_date_for("T1", at) == date(2026, 3, 2)
    assert feed.service_date_for("T2", at) is None


def test_frequency_based_trips_run_every_headway() -> None:
    frequencies = "trip_id,start_time,end_time,headway_secs\nT2,07:00:00,09:00:00,600\n"
    feed = read_feed(files(frequencies_txt=frequencies))

    def offsets(hour: int, minute: int) -> list[int]:
        at = int(datetime(2026, 3, 2, hour, minute, tzinfo=feed.timezone).timestamp())
        return sorted(a.offset for a in feed.active_trips(at) if a.trip_id == "T2")

    # a run leaves every 10 min from 07:00 and takes 10 min; offsets are against the template's 08:00 departure
    assert offsets(8, 0) == [-600, 0]
    assert offsets(8, 5) == [0]
    assert offsets(6, 59) == []


# ---------------------------------------------------------------- writing


def test_write_zip_round_trips_and_leaves_out_empty_columns() -> None:
    feed = read_feed(files())
    data = write_zip(feed)
    assert read_feed(data) == feed
    assert write_zip(read_feed(data)) == data  # byte for byte: a stable ETag
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        header = archive.read("stop_times.txt").decode().splitlines()[0]
        row = archive.read("stop_times.txt").decode().splitlines()[3]
    assert header == "trip_id,arrival_time,departure_time,stop_id,stop_sequence"
    assert row == "T1,25:35:00,25:36:00,S3,10"
    assert gtfs.table_rows(feed)["calendar.txt"][0]["start_date"] == date(2026, 1, 1)


def test_a_folder_reads_like_a_zip(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert read_feed(tmp_path) == read_feed(files())


# ---------------------------------------------------------------- the synthetic demo feed


@pytest.fixture(scope="module")
def demo() -> gtfs.Feed:
    return demo_feed()


@pytest.fixture(scope="module")
def demo_bytes(demo: gtfs.Feed) -> bytes:
    return write_zip(demo)


def test_the_demo_feed_round_trips_through_a_zip(demo: gtfs.Feed, demo_bytes: bytes) -> None:
    assert read_feed(demo_bytes) == demo
    assert gtfs.check_feed(demo) == []


def test_the_demo_feed_looks_like_a_city_bus_network(demo: gtfs.Feed) -> None:
    assert len(demo.routes) == 36 and {r.route_type for r in demo.routes} == {3}
    assert all(121.35 <= s.stop_lon <= 121.60 and 31.12 <= s.stop_lat <= 31.33 for s in demo.stops)  # type: ignore[operator]
    schedules = list(demo.schedules.values())
    assert {(s.route_id, s.direction_id) for s in schedules} == {(r.route_id, d) for r in demo.routes for d in (0, 1)}
    assert {s.service_id for s in schedules} == {"WKDY", "WKND"}
    firsts = [s.departures[0] for s in schedules]
    assert min(firsts) >= 5.5 * 3600 and max(firsts) <= 23.75 * 3600  # ~05:30 to ~23:30, routes staggered
    assert any(s.arrivals[-1] > 24 * 3600 for s in schedules)  # the last trips end after midnight
    assert all(s.shape_id for s in schedules) and demo.shapes
    for route in demo.routes[:5]:
        starts = sorted(
            s.departures[0]
            for s in schedules
            if (s.route_id, s.direction_id, s.service_id) == (route.route_id, 0, "WKDY")
        )
        gaps = {b - a for a, b in pairwise(starts)}
        assert min(gaps) >= 6 * 60 and max(gaps) <= 15 * 60


def test_the_demo_feed_says_it_is_synthetic_and_is_deterministic(demo: gtfs.Feed) -> None:
    assert "synthetic" in demo.agencies[0].agency_name.lower()
    assert demo.feed_info is not None and "synthetic" in demo.feed_info.feed_publisher_name.lower()
    assert all("synthetic" in (s.stop_desc or "") for s in demo.stops)
    assert demo_zip(routes=3) == demo_zip(routes=3)
    assert demo_zip(routes=3, seed=1) != demo_zip(routes=3)


@pytest.mark.timeout(600)
def test_the_demo_zip_passes_an_independent_gtfs_validator(demo_bytes: bytes, tmp_path: Path) -> None:
    """gtfs-validator (PyPI): a pure-Python reimplementation of MobilityData's canonical validator."""
    cli = pytest.importorskip(
        "gtfs_validator.cli", reason="the gtfs-validator package (dev dependency) is not installed"
    )
    (tmp_path / "demo.zip").write_bytes(demo_bytes)
    out = tmp_path / "report"
    status = cli.main(["-i", str(tmp_path / "demo.zip"), "-o", str(out), "-d", "2026-03-02"])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    errors = [n for n in report["notices"] if n["severity"] == "ERROR"]
    assert status == 0
    assert errors == []
    assert json.loads((out / "system_errors.json").read_text(encoding="utf-8"))["notices"] == []
