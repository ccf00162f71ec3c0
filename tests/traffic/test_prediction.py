"""Arrival prediction: the GTFS-RT propagation rules (the spec's worked example, SKIPPED, NO_DATA, time over delay),
placing a vehicle on its trip, the baseline against the rules, the historical model — and on a seeded replay of the
demo feed, whether history beats the schedule."""

from __future__ import annotations

import math
from datetime import date

import pytest

from smartcity.traffic.gtfs import Feed, TripSchedule
from smartcity.traffic.gtfs_demo import demo_feed
from smartcity.traffic.prediction import (
    HORIZON_BINS,
    ObservedTrip,
    RunTimeModel,
    StopUpdate,
    VehicleLocation,
    evaluate,
    locate,
    observed_delay,
    predict_baseline,
    propagate,
    replay,
    simulate,
)

ORIGIN = 1_772_380_800  # 2026-03-02 00:00 Asia/Shanghai: the service day's origin
MONDAY = date(2026, 3, 2)


def line(stops: int = 20, *, run: int = 120, dwell: int = 0, stop_ids: list[str] | None = None) -> TripSchedule:
    """A straight trip east along 31.2° N: stop k (sequence k + 1) every ~570 m, ``run`` s apart, from 08:00."""
    arrivals, departures, t = [], [], 8 * 3600
    for k in range(stops):
        arrivals.append(t)
        t += dwell if 0 < k < stops - 1 else 0
        departures.append(t)
        t += run
    lons = tuple(121.40 + 0.006 * k for k in range(stops))
    return TripSchedule(
        trip_id="T",
        route_id="R",
        service_id="WK",
        direction_id=0,
        shape_id=None,
        block_id=None,
        headsign=None,
        stop_ids=tuple(stop_ids or [f"S{k + 1}" for k in range(stops)]),
        stop_sequences=tuple(range(1, stops + 1)),
        arrivals=tuple(arrivals),
        departures=tuple(departures),
        distances=tuple(571.0 * k for k in range(stops)),
        lats=(31.2,) * stops,
        lons=lons,
    )


def delays(schedule: TripSchedule, updates: list[StopUpdate]) -> dict[int, int | None]:
    return {e.stop_sequence: e.arrival_delay for e in propagate(schedule, ORIGIN, updates)}


# ---------------------------------------------------------------- propagation (trip-updates.md)


def test_the_specs_worked_example() -> None:
    """Delays of 300 s at seq 3 and 60 s at seq 8, NO_DATA at seq 10 → 1–2 unknown, 3–7 +300, 8–9 +60, 10–20
    unknown."""
    updates = [
        StopUpdate(stop_sequence=3, arrival_delay=300),
        StopUpdate(stop_sequence=8, arrival_delay=60),
        StopUpdate(stop_sequence=10, relationship="NO_DATA"),
    ]
    estimates = propagate(line(), ORIGIN, updates)
    got = {e.stop_sequence: e.arrival_delay for e in estimates}
    assert got == {seq: 300 if 3 <= seq <= 7 else 60 if seq in (8, 9) else None for seq in range(1, 21)}
    by_seq = {e.stop_sequence: e for e in estimates}
    assert by_seq[5].arrival == ORIGIN + line().arrivals[4] + 300
    assert not by_seq[1].known and not by_seq[15].known and by_seq[15].arrival is None  # unknown is not on time


def test_skipped_does_not_stop_propagation() -> None:
    updates = [StopUpdate(stop_sequence=3, arrival_delay=120), StopUpdate(stop_sequence=5, relationship="SKIPPED")]
    estimates = {e.stop_sequence: e for e in propagate(line(), ORIGIN, updates)}
    assert estimates[5].skipped and estimates[5].arrival is None
    assert [estimates[s].arrival_delay for s in (3, 4, 6, 7, 20)] == [120, 120, 120, 120, 120]


def test_a_scheduled_update_stops_the_previous_delay() -> None:
    updates = [StopUpdate(stop_sequence=3, arrival_delay=300), StopUpdate(stop_sequence=6, arrival_delay=0)]
    got = delays(line(), updates)
    assert [got[s] for s in (2, 3, 5, 6, 7, 20)] == [None, 300, 300, 0, 0, 0]


def test_time_wins_over_delay() -> None:
    schedule = line()
    scheduled = ORIGIN + schedule.arrivals[3]
    estimates = propagate(
        schedule, ORIGIN, [StopUpdate(stop_sequence=4, arrival_time=scheduled + 200, arrival_delay=50)]
    )
    assert estimates[3].arrival == scheduled + 200 and estimates[3].arrival_delay == 200
    assert estimates[10].arrival_delay == 200


def test_departure_delay_is_what_propagates() -> None:
    schedule = line(dwell=30)
    update = StopUpdate(stop_sequence=4, arrival_delay=120, departure_delay=60)  # made up time at the stop
    estimates = propagate(schedule, ORIGIN, [update])
    assert (estimates[3].arrival_delay, estimates[3].departure_delay) == (120, 60)
    assert estimates[4].arrival_delay == 60
    only_departure = propagate(schedule, ORIGIN, [StopUpdate(stop_sequence=4, departure_delay=90)])
    assert only_departure[3].arrival_delay == 90 and only_departure[3].departure_delay == 90


def test_updates_matched_by_stop_id_in_order_on_a_loop() -> None:
    loop = line(6, stop_ids=["A", "B", "C", "A", "D", "E"])  # A is visited twice
    got = delays(loop, [StopUpdate(stop_id="B", arrival_delay=30), StopUpdate(stop_id="A", arrival_delay=90)])
    assert got == {1: None, 2: 30, 3: 30, 4: 90, 5: 90, 6: 90}


def test_an_update_for_a_stop_not_on_the_trip_is_an_error() -> None:
    with pytest.raises(ValueError, match="stop_sequence 99 is not a stop of trip 'T'"):
        propagate(line(), ORIGIN, [StopUpdate(stop_sequence=99, arrival_delay=10)])
    with pytest.raises(ValueError, match="neither a time nor a delay"):
        propagate(line(), ORIGIN, [StopUpdate(stop_sequence=2)])


# ---------------------------------------------------------------- placing a vehicle


def test_locate_by_stop_sequence_and_status() -> None:
    schedule = line()
    at = ORIGIN + 8 * 3600
    assert locate(schedule, observed_at=at, origin=ORIGIN, stop_sequence=5, status="STOPPED_AT") == VehicleLocation(
        4, 0.0, True, at
    )
    halfway = (31.2, 121.40 + 0.006 * 3.5)  # between stop 4 and stop 5
    moving = locate(
        schedule,
        observed_at=at,
        origin=ORIGIN,
        stop_sequence=5,
        status="IN_TRANSIT_TO",
        latitude=halfway[0],
        longitude=halfway[1],
    )
    assert moving is not None and moving.index == 3 and moving.fraction == pytest.approx(0.5, abs=0.01)
    assert moving.off_route_m == pytest.approx(0.0, abs=1.0)
    blind = locate(schedule, observed_at=at, stop_sequence=5, status="INCOMING_AT")
    assert blind is not None and (blind.index, blind.fraction) == (3, 0.9)


def test_locate_by_position_alone() -> None:
    schedule = line()
    t = schedule.departures[6] + 60  # scheduled halfway between stop 7 and 8
    at = ORIGIN + t
    found = locate(schedule, observed_at=at, origin=ORIGIN, latitude=31.2003, longitude=121.40 + 0.006 * 6.25)
    assert found is not None and found.index == 6 and found.fraction == pytest.approx(0.25, abs=0.01)
    assert found.off_route_m == pytest.approx(33, abs=2)
    assert locate(schedule, observed_at=at, origin=ORIGIN, latitude=31.25, longitude=121.45) is None  # 5 km off
    assert locate(schedule, observed_at=at, origin=ORIGIN) is None


def test_locate_on_a_loop_uses_the_schedule() -> None:
    loop = line(6, stop_ids=["A", "B", "C", "A", "D", "E"])
    late_in_trip = ORIGIN + loop.arrivals[3] + 10
    found = locate(loop, observed_at=late_in_trip, origin=ORIGIN, stop_id="A", status="STOPPED_AT")
    assert found is not None and found.index == 3


def test_observed_delay() -> None:
    schedule = line(dwell=30)
    at_stop = VehicleLocation(4, 0.0, True, schedule.arrivals[4] + 10)  # within the scheduled dwell: on time
    assert observed_delay(schedule, at_stop) == 0
    assert observed_delay(schedule, VehicleLocation(4, 0.0, True, schedule.departures[4] + 45)) == 45
    assert observed_delay(schedule, VehicleLocation(4, 0.0, True, schedule.arrivals[4] - 20)) == -20
    between = VehicleLocation(4, 0.5, False, schedule.departures[4] + 60 + 100)
    assert observed_delay(schedule, between) == 100


# ---------------------------------------------------------------- the two models


def test_the_baseline_is_what_a_consumer_computes_from_one_update() -> None:
    schedule = line(dwell=20)
    location = VehicleLocation(6, 0.3, False, ORIGIN + schedule.departures[6] + 200)
    prediction = predict_baseline(schedule, location, ORIGIN, MONDAY)
    delay = observed_delay(schedule, location, ORIGIN)
    consumer = propagate(schedule, ORIGIN, [StopUpdate(stop_sequence=8, arrival_delay=delay)])[7:]
    assert prediction.stop_sequences == [e.stop_sequence for e in consumer]
    assert prediction.arrivals == [e.arrival for e in consumer]
    assert prediction.departures == [e.departure for e in consumer]
    assert prediction.uncertainties is None and prediction.start_date == "20260302"


def test_stops_passed_early_stay_in_the_prediction_while_their_time_is_ahead() -> None:
    """trip-updates.md: a consumer must not show a stop the bus has already left as still to be served."""
    schedule = line()
    early = VehicleLocation(6, 0.5, False, ORIGIN + schedule.departures[6] + 60 - 250)  # past stop 7, 250 s early
    for prediction in (
        predict_baseline(schedule, early, ORIGIN, MONDAY),
        RunTimeModel.learn([], {}).predict(schedule, early, ORIGIN, MONDAY),
    ):
        assert prediction.delay == -250
        assert prediction.stop_sequences[:3] == [6, 7, 8]  # stop 6 is due 10 s from now, stop 7 in 130 s
        assert prediction.departures[0] < early.observed_at and prediction.departures[1] < early.observed_at
        assert prediction.arrivals[2] > early.observed_at
    on_time = VehicleLocation(6, 0.5, False, ORIGIN + schedule.departures[6] + 60)
    assert predict_baseline(schedule, on_time, ORIGIN, MONDAY).stop_sequences[0] == 8


def test_predictions_stop_at_the_horizon() -> None:
    schedule = line()
    location = VehicleLocation(0, 0.0, False, ORIGIN + schedule.departures[0])
    prediction = predict_baseline(schedule, location, ORIGIN, MONDAY, until=600)
    assert prediction.stop_sequences == [2, 3, 4, 5, 6]  # 120 s apart: five stops within 10 minutes


def observed(schedule: TripSchedule, day: date, run: int, dwell: int, start: int | None = None) -> ObservedTrip:
    arrivals, departures, t = [], [], schedule.departures[0] if start is None else start
    for k in range(len(schedule)):
        if k:
            t += run
        arrivals.append(t)
        t += dwell if 0 < k < len(schedule) - 1 else 0
        departures.append(t)
    return ObservedTrip(schedule.trip_id, day, tuple(arrivals), tuple(departures))


def test_the_historical_model_learns_run_and_dwell_times() -> None:
    schedule = line(dwell=20)
    past = [observed(schedule, date(2026, 2, d), run=200, dwell=40) for d in (23, 24, 25)]  # Mon–Wed
    model = RunTimeModel.learn(past, {"T": schedule})
    location = VehicleLocation(2, 0.0, False, ORIGIN + schedule.departures[2] + 50)
    prediction = model.predict(schedule, location, ORIGIN, MONDAY)
    start = location.observed_at
    assert prediction.arrivals[:3] == [start + 200, start + 440, start + 680]
    assert prediction.departures[0] == start + 240
    assert prediction.uncertainties is not None and all(u >= 1 for u in prediction.uncertainties)
    # no weekend history: on a Saturday it falls back to the schedule — exactly the baseline
    saturday = date(2026, 3, 7)
    assert (
        model.predict(schedule, location, ORIGIN, saturday).arrivals
        == predict_baseline(schedule, location, ORIGIN, saturday).arrivals
    )


def test_without_history_the_historical_model_is_the_baseline() -> None:
    schedule = line(dwell=20)
    empty = RunTimeModel.learn([], {"T": schedule})
    for location in (
        VehicleLocation(3, 0.4, False, ORIGIN + schedule.departures[3] + 90),
        VehicleLocation(5, 0.0, True, ORIGIN + schedule.departures[5] + 30),
    ):
        historical = empty.predict(schedule, location, ORIGIN, MONDAY)
        baseline = predict_baseline(schedule, location, ORIGIN, MONDAY)
        assert historical.arrivals == baseline.arrivals and historical.departures == baseline.departures


def test_the_historical_uncertainty_grows_with_the_horizon() -> None:
    schedule = line(dwell=20)
    past = [observed(schedule, date(2026, 2, 23), run=run, dwell=30) for run in (100, 130, 160, 190)]
    model = RunTimeModel.learn(past, {"T": schedule})
    prediction = model.predict(
        schedule, VehicleLocation(0, 0.0, False, ORIGIN + schedule.departures[0]), ORIGIN, MONDAY
    )
    assert prediction.uncertainties == sorted(prediction.uncertainties)  # type: ignore[type-var]
    assert prediction.uncertainties[-1] > prediction.uncertainties[0]  # type: ignore[index]


def test_evaluate_counts_both_models_on_the_same_predictions() -> None:
    schedule = line()
    actual = observed(schedule, MONDAY, run=150, dwell=0)
    rows = evaluate({"T": schedule}, [actual], {"baseline": predict_baseline})
    assert [r.horizon for r in rows] == [label for _, _, label in HORIZON_BINS]
    # the bus runs 150 s a stop against 120 scheduled: 30 s more error per stop ahead; 0–5 min holds the next
    # stop (150 s away) from each of 19 departures, 5–10 min the 2nd and 3rd (300 and 450 s away)
    first, second = rows[0], rows[1]
    assert (first.count, first.mae, first.within_60) == (19, 30.0, 1.0)
    assert second.count == 18 + 17 and second.mae == pytest.approx((60 * 18 + 90 * 17) / 35)
    assert second.within_60 == pytest.approx(18 / 35) and second.within_120 == 1.0


# ---------------------------------------------------------------- replay of the demo feed


@pytest.fixture(scope="module")
def demo() -> Feed:
    return demo_feed()


def test_the_simulator_is_seeded_and_plausible(demo: Feed) -> None:
    routes = ["R801", "R802"]
    first = simulate(demo, first_date=MONDAY, days=2, seed=3, route_ids=routes)
    again = simulate(demo, first_date=MONDAY, days=2, seed=3, route_ids=routes)
    assert first == again
    trips = first[0]
    assert trips and {demo.schedules[t.trip_id].service_id for t in trips} == {"WKDY"}
    for trip in trips:
        schedule = demo.schedules[trip.trip_id]
        if trip.departures[0] is not None:
            assert trip.departures[0] >= schedule.departures[0]  # never leaves the terminus early
        times = [t for pair in zip(trip.arrivals, trip.departures, strict=True) for t in pair if t is not None]
        assert times == sorted(times)


def test_history_beats_the_schedule_on_a_seeded_replay(demo: Feed) -> None:
    result = replay(demo, route_ids=[r.route_id for r in demo.routes[:6]], days=8, seed=7)
    assert result.test_day == date(2026, 3, 9) and len(result.train_days) == 7
    rows = {(r.model, r.horizon): r for r in result.rows}
    for _, _, label in HORIZON_BINS:
        baseline, historical = rows[("baseline", label)], rows[("historical", label)]
        assert baseline.count == historical.count > 1000
        assert historical.mae < baseline.mae, label
        assert not math.isnan(historical.within_120)
