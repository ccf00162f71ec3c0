"""The alert rule engine: each kind raises and clears on the right reading, delays and hysteresis, no data and the
clock, ordering and idempotent replay, snapshots, new rule versions — and random streams checked against a slow,
obviously-correct evaluator written here."""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Iterable
from typing import Any

import pytest

from smartcity.alerts.engine import Engine, Transition, readings
from smartcity.alerts.rules import Spec, validate_spec

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z
MIN = 60.0
RAIN, RIVER, PH = 1, 2, 3


def rule(kind: str, **fields: Any) -> Spec:
    return validate_spec({"kind": kind, "name": f"a {kind} rule", **fields})


def at(minutes: float) -> float:
    return T0 + minutes * MIN


def series(datastream: int, values: Iterable[float], every: float = 1.0, start: float = 0.0) -> list:
    """Readings of one datastream, one every ``every`` minutes from ``start``."""
    return [(datastream, at(start + i * every), float(v)) for i, v in enumerate(values)]


def changes(transitions: list[Transition]) -> list[tuple[Any, bool, float]]:
    """(source, raised, minute) of each transition."""
    return [(t.source, t.raised, round((t.time - T0) / MIN, 6)) for t in transitions]


def one(spec: Spec) -> Engine:
    return Engine({1: spec})


# ---------------------------------------------------------------- each kind


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [
        ("gt", [4, 5, 5.5, 5, 4], [(True, 2), (False, 3)]),  # equal to the limit is not above it
        ("ge", [4, 5, 5.5, 5, 4], [(True, 1), (False, 4)]),
        ("lt", [6, 5, 4.5, 5, 6], [(True, 2), (False, 3)]),
        ("le", [6, 5, 4.5, 5, 6], [(True, 1), (False, 4)]),
    ],
)
def test_threshold_raises_and_clears_on_the_right_reading(op: str, values: list, expected: list) -> None:
    engine = one(rule("threshold", datastream=RIVER, op=op, value=5))
    got = engine.feed_many(series(RIVER, values))
    assert changes(got) == [(RIVER, raised, minute) for raised, minute in expected]


def test_a_transition_carries_the_rule_the_value_and_a_readable_reason() -> None:
    spec = rule("threshold", datastream=RIVER, op="ge", value=4.5, severity="high", label="water level", unit="m")
    raised, cleared = Engine({"r7": spec}).feed_many(series(RIVER, [4.2, 4.62, 4.4]))
    assert (raised.rule_id, raised.source, raised.raised, raised.value) == ("r7", RIVER, True, 4.62)
    assert raised.detail == "water level 4.62 m ≥ 4.5 m"
    assert raised.severity == "high"
    assert raised.at.isoformat() == "2026-05-28T20:27:40+00:00"
    assert cleared.detail == "water level 4.4 m < 4.5 m"


@pytest.mark.parametrize(
    ("alarm", "values", "expected"),
    [
        ("outside", [7, 8.6, 8.4, 6.4, 6.6, 7], [(True, 1), (False, 2), (True, 3), (False, 4)]),
        ("inside", [1, 6.5, 7, 8.5, 9, 7], [(True, 1), (False, 4), (True, 5)]),
    ],
)
def test_band_raises_outside_or_inside_its_limits(alarm: str, values: list, expected: list) -> None:
    engine = one(rule("band", datastream=PH, low=6.5, high=8.5, alarm=alarm))
    assert changes(engine.feed_many(series(PH, values))) == [(PH, r, m) for r, m in expected]


def test_band_detail_names_the_limits() -> None:
    engine = one(rule("band", datastream=PH, low=6.5, high=8.5, clear={"deadband": 0.2}, label="pH"))
    raised, cleared = engine.feed_many(series(PH, [7, 8.7, 8.4, 8.2]))
    assert raised.detail == "pH 8.7 outside 6.5–8.5"
    assert cleared.detail == "pH 8.2 back within 6.7–8.3"
    assert changes([raised, cleared]) == [(PH, True, 1), (PH, False, 3)]


@pytest.mark.parametrize(
    ("direction", "values", "expected"),
    [
        # readings every 10 min, window 30 min: the change is from the reading 30 min earlier
        ("rising", [3.0, 3.1, 3.3, 3.5, 3.6, 3.6, 3.6], [(True, 30), (False, 50)]),
        ("falling", [3.6, 3.5, 3.3, 3.1, 3.1, 3.1], [(True, 30), (False, 40)]),
        ("either", [3.0, 3.3, 3.6, 3.6, 3.0, 3.0, 3.0], [(True, 20), (False, 40), (True, 50)]),
    ],
)
def test_rate_of_change_over_its_window(direction: str, values: list, expected: list) -> None:
    spec = rule("rate_of_change", datastream=RIVER, delta=0.5, window_minutes=30, direction=direction)
    got = one(spec).feed_many(series(RIVER, values, every=10))
    assert changes(got) == [(RIVER, r, m) for r, m in expected]


def test_rate_of_change_detail() -> None:
    spec = rule("rate_of_change", datastream=RIVER, delta=0.5, window_minutes=30, direction="rising", label="river")
    raised, cleared = one(spec).feed_many(series(RIVER, [3.0, 3.2, 3.4, 3.6, 3.6, 3.6, 3.6], every=10))
    assert raised.detail == "river rose by 0.6 in 30 min ≥ 0.5"
    assert raised.value == pytest.approx(0.6)
    assert cleared.detail == "river changed by 0.4 in 30 min; the rise is now < 0.5"


# A rain gauge every 10 minutes (mm in the last 10 minutes): a storm from 01:00 to 02:50.
RAIN_MM = [0] * 6 + [2, 4, 6, 8, 9, 8, 7, 5, 3, 2, 1, 0.5] + [0] * 24


def test_accumulation_over_one_and_three_hours_on_a_rain_series() -> None:
    engine = Engine(
        {
            "1h": rule("accumulation", datastream=RAIN, window_minutes=60, value=35, label="rainfall", unit="mm"),
            "3h": rule("accumulation", datastream=RAIN, window_minutes=180, value=50, label="rainfall", unit="mm"),
        }
    )
    got = engine.feed_many(series(RAIN, RAIN_MM, every=10))
    # 1 h = the six readings in (t − 60 min, t]: 29 mm at 01:40, 37 at 01:50 (raised), then 42, 43, 40 and
    # 34 at 02:30 (cleared). 3 h: 49 mm at 02:10, 52 at 02:20 (raised); the storm's 55.5 mm lose the first
    # 2 mm at 04:00 (53.5) and the next 4 at 04:10 (49.5: cleared).
    assert [(t.rule_id, t.raised, (t.time - T0) / MIN) for t in got] == [
        ("1h", True, 110),
        ("3h", True, 140),
        ("1h", False, 150),
        ("3h", False, 250),
    ]
    assert got[0].detail == "rainfall 37 mm over 1 h ≥ 35 mm"
    assert got[1].detail == "rainfall 52 mm over 3 h ≥ 50 mm"
    assert got[3].detail == "rainfall 49.5 mm over 3 h < 50 mm"


def test_accumulation_hysteresis_keeps_it_raised_until_well_under() -> None:
    spec = rule("accumulation", datastream=RAIN, window_minutes=180, value=50, clear={"value": 30})
    got = one(spec).feed_many(series(RAIN, RAIN_MM, every=10))
    # 49.5 mm at 04:10, 43.5 at 04:20, 35.5 at 04:30, 26.5 at 04:40: under the clear level of 30
    assert changes(got) == [(RAIN, True, 140), (RAIN, False, 280)]


def test_no_data_is_raised_by_tick_after_n_minutes_and_cleared_by_the_next_reading() -> None:
    engine = one(rule("no_data", datastream=RIVER, minutes=15, label="river gauge"))
    assert engine.feed_many(series(RIVER, [3, 3, 3], every=5)) == []  # last at minute 10
    assert engine.tick(at(25)) == []  # exactly 15 minutes is not "more than"
    (raised,) = engine.tick(at(26))
    assert (raised.raised, raised.time, raised.value) == (True, at(25), None)  # dated when it fell due
    assert raised.detail == "no data from river gauge for more than 15 min (last reading at 2026-05-28T20:36:40Z)"
    assert engine.tick(at(40)) == []  # raised once
    (cleared,) = engine.feed(RIVER, at(41), 3.2)
    assert (cleared.raised, cleared.time, cleared.value) == (False, at(41), 3.2)
    assert cleared.detail == "data again from river gauge: 3.2"


def test_a_gap_found_without_a_tick_gives_the_same_raise_then_the_clear() -> None:
    engine = one(rule("no_data", datastream=RIVER, minutes=15))
    got = engine.feed_many([(RIVER, at(0), 1.0), (RIVER, at(10), 1.0), (RIVER, at(40), 1.0), (RIVER, at(55), 1.0)])
    assert changes(got) == [(RIVER, True, 25), (RIVER, False, 40)]  # 15 min exactly (40→55) is no gap


def test_no_data_for_a_datastream_never_heard_from_counts_from_the_first_tick() -> None:
    engine = one(rule("no_data", datastream=RIVER, minutes=15))
    assert engine.tick(at(0)) == []
    assert engine.tick(at(15)) == []
    (raised,) = engine.tick(at(16))
    assert changes([raised]) == [(RIVER, True, 15)]
    assert raised.detail == "no data from datastream 2 for more than 15 min (watching since 2026-05-28T20:26:40Z)"


def test_stuck_by_readings_and_by_minutes() -> None:
    engine = Engine(
        {
            "n": rule("stuck", datastream=RIVER, readings=4, tolerance=0.01),
            "min": rule("stuck", datastream=RIVER, minutes=20),
        }
    )
    values = [3.0, 3.1, 3.105, 3.1, 3.095, 3.1, 3.1, 3.4, 3.5]
    got = engine.feed_many(series(RIVER, values, every=5))
    # within ±0.01 of 3.1 from minute 5; the 4th such reading at minute 20. Exactly equal (tolerance 0):
    # 3.1 at 25 and 30 only — 5 minutes, never 20. The move to 3.4 at minute 35 clears.
    assert [(t.rule_id, t.raised, (t.time - T0) / MIN) for t in got] == [("n", True, 20), ("n", False, 35)]
    assert got[0].detail == "datastream 2 stuck at 3.1 (±0.01) for 4 readings over 15 min"
    assert got[1].detail == "datastream 2 moved to 3.4"
    flat = one(rule("stuck", datastream=RIVER, minutes=20)).feed_many(series(RIVER, [1, 2, 2, 2, 2, 2, 3], every=5))
    assert changes(flat) == [(RIVER, True, 25), (RIVER, False, 30)]


def test_all_of_across_a_rain_gauge_and_a_river_level() -> None:
    spec = rule(
        "all_of",
        conditions=[
            {
                "kind": "accumulation",
                "datastream": RAIN,
                "window_minutes": 60,
                "value": 20,
                "label": "rain",
                "unit": "mm",
            },
            {"kind": "threshold", "datastream": RIVER, "op": "ge", "value": 4.2, "label": "river", "unit": "m"},
        ],
        severity="critical",
    )
    engine = one(spec)
    stream = [
        (RAIN, at(0), 15.0),
        (RIVER, at(1), 4.3),  # river high, rain 15 mm: not both
        (RAIN, at(10), 8.0),  # 23 mm in the hour and the river still 4.3: raised
        (RIVER, at(11), 4.4),
        (RIVER, at(21), 4.1),  # the river falls: cleared
        (RIVER, at(31), 4.25),  # up again, rain still 23 mm in (−29, 31]: raised
        (RAIN, at(70), 0.0),  # the rain leaves the window: cleared
    ]
    got = engine.feed_many(stream)
    assert changes(got) == [
        ("all_of:1+2", True, 10),
        ("all_of:1+2", False, 21),
        ("all_of:1+2", True, 31),
        ("all_of:1+2", False, 70),
    ]
    assert got[0].detail == "all of: rain 23 mm over 1 h ≥ 20 mm; river 4.3 m ≥ 4.2 m"
    assert got[1].detail == "cleared: river 4.1 m < 4.2 m"
    assert got[0].severity == "critical"
    assert got[0].value == 8.0  # the reading that completed it


def test_any_of_raises_on_either_and_clears_when_none_holds() -> None:
    spec = rule(
        "any_of",
        conditions=[
            {"kind": "threshold", "datastream": RAIN, "op": "gt", "value": 10},
            {"kind": "threshold", "datastream": RIVER, "op": "gt", "value": 4},
        ],
    )
    stream = [(RAIN, at(0), 11.0), (RIVER, at(1), 5.0), (RAIN, at(2), 0.0), (RIVER, at(3), 3.0), (RIVER, at(4), 5.0)]
    assert changes(one(spec).feed_many(stream)) == [
        ("any_of:1+2", True, 0),
        ("any_of:1+2", False, 3),
        ("any_of:1+2", True, 4),
    ]


def test_a_rule_on_several_datastreams_keeps_one_alarm_each() -> None:
    engine = one(rule("threshold", datastreams=[RAIN, RIVER], op="gt", value=5))
    got = engine.feed_many([(RAIN, at(0), 6.0), (RIVER, at(0), 6.0), (RAIN, at(1), 7.0), (RAIN, at(2), 1.0)])
    assert changes(got) == [(RAIN, True, 0), (RIVER, True, 0), (RAIN, False, 2)]
    assert engine.active() == [(1, RIVER)]


# ---------------------------------------------------------------- duration and hysteresis


def test_for_seconds_suppresses_a_short_spike() -> None:
    spec = rule("threshold", datastream=RIVER, op="gt", value=5, for_seconds=600)
    engine = one(spec)
    assert engine.feed_many(series(RIVER, [4, 6, 7, 6, 4, 4], every=3)) == []  # above for 6 minutes only
    # above from minute 18 on: raised by the reading that completes the 10 minutes (minute 30)
    assert changes(engine.feed_many(series(RIVER, [6, 6, 6, 6, 6], every=3, start=18))) == [(RIVER, True, 30)]


def test_clear_for_seconds_holds_the_alarm_through_a_short_dip() -> None:
    spec = rule("threshold", datastream=RIVER, op="gt", value=5, clear_for_seconds=600)
    got = one(spec).feed_many(series(RIVER, [6, 4, 6, 4, 4, 4, 4, 4], every=5))
    assert changes(got) == [(RIVER, True, 0), (RIVER, False, 25)]  # below from 15, clear 10 min later


def test_hysteresis_stops_flapping_on_a_noisy_signal_around_the_limit() -> None:
    rng = random.Random(3)
    noisy = [5 + 0.2 * i / 50 + rng.uniform(-0.15, 0.15) for i in range(50)] + [
        4.6 + rng.uniform(-0.15, 0.15) for _ in range(10)
    ]
    bare = one(rule("threshold", datastream=RIVER, op="gt", value=5)).feed_many(series(RIVER, noisy))
    damped = one(rule("threshold", datastream=RIVER, op="gt", value=5, clear={"deadband": 0.3}))
    assert len(bare) > 6  # flaps
    assert [t.raised for t in damped.feed_many(series(RIVER, noisy))] == [True, False]


# ---------------------------------------------------------------- ordering and idempotency


def test_a_reading_not_newer_than_the_last_is_ignored() -> None:
    engine = one(rule("threshold", datastream=RIVER, op="gt", value=5))
    assert changes(engine.feed(RIVER, at(10), 6)) == [(RIVER, True, 10)]
    assert engine.feed(RIVER, at(10), 1) == []  # the same time again
    assert engine.feed(RIVER, at(5), 1) == []  # an older one, arriving late
    assert changes(engine.feed(RIVER, at(11), 1)) == [(RIVER, False, 11)]


def test_feeding_the_same_readings_twice_changes_nothing() -> None:
    engine = Engine({1: rule("accumulation", datastream=RAIN, window_minutes=60, value=35)})
    stream = series(RAIN, RAIN_MM, every=10)
    first = engine.feed_many(stream)
    assert first and engine.feed_many(stream) == []
    assert engine.feed_many(stream[:20]) == []


def test_a_reading_that_is_not_a_finite_number_is_ignored() -> None:
    engine = one(rule("accumulation", datastream=RAIN, window_minutes=60, value=10))
    got = engine.feed_many([(RAIN, at(0), float("nan")), (RAIN, at(1), float("inf")), (RAIN, at(2), 4.0)])
    assert got == [] and engine.feed(RAIN, at(3), 6.0)[0].value == 10.0


def test_readings_from_the_sensing_event() -> None:
    observations = [
        {"phenomenonTime": "2026-12-02T08:00:00Z", "result": 3.5, "datastream": 7, "multi": False},
        {"phenomenonTime": "2026-12-02T08:00:00Z/2026-12-02T08:05:00Z", "result": 2, "datastream": 8, "multi": False},
        {"phenomenonTime": "2026-12-02T08:00:00Z", "result": [1, 2], "datastream": 9, "multi": True},
        {"phenomenonTime": "2026-12-02T08:00:00Z", "result": "open", "datastream": 10, "multi": False},
        {"phenomenonTime": "2026-12-02T08:00:00Z", "result": True, "datastream": 11, "multi": False},
    ]
    moment = 1_796_198_400.0  # 2026-12-02T08:00:00Z
    assert readings(observations) == [(7, moment, 3.5), (8, moment, 2.0)]


# ---------------------------------------------------------------- state: snapshots, versions


def _mixed_rules() -> dict[int, Spec]:
    return {
        1: rule("threshold", datastreams=[RIVER, PH], op="gt", value=4, clear={"deadband": 0.5}, for_seconds=300),
        2: rule("accumulation", datastream=RAIN, window_minutes=60, value=10, clear={"value": 6}),
        3: rule("rate_of_change", datastream=RIVER, delta=1, window_minutes=30, clear_for_seconds=600),
        4: rule("band", datastream=PH, low=1, high=6, clear={"deadband": 0.5}),
        5: rule("no_data", datastreams=[RAIN, RIVER], minutes=20),
        6: rule("stuck", datastream=PH, readings=3, tolerance=0.25),
        7: rule(
            "all_of",
            for_seconds=120,
            conditions=[
                {"kind": "accumulation", "datastream": RAIN, "window_minutes": 30, "value": 5},
                {"kind": "threshold", "datastream": RIVER, "op": "ge", "value": 3},
            ],
        ),
        8: rule(
            "any_of",
            conditions=[
                {"kind": "stuck", "datastream": RAIN, "minutes": 30},
                {"kind": "rate_of_change", "datastream": PH, "delta": 2, "window_minutes": 20},
            ],
        ),
    }


def _events(seed: int, count: int = 600) -> list[tuple]:
    """A random stream: readings on three datastreams (some repeated, some late, some gaps) and ticks."""
    rng = random.Random(seed)
    t, level, events = T0, {RAIN: 0.0, RIVER: 3.0, PH: 4.0}, []
    for _ in range(count):
        t += rng.choice([10, 60, 60, 120, 300, 900, 2400])
        if rng.random() < 0.12:
            events.append(("tick", t + rng.uniform(0, 120)))
            continue
        ds = rng.choice([RAIN, RIVER, PH])
        if ds == RAIN:
            level[ds] = rng.choice([0, 0, 0, 0.5, 1, 2.5, 4]) if rng.random() < 0.6 else level[ds]
        else:
            level[ds] = max(0.0, level[ds] + rng.choice([-0.75, -0.25, 0, 0, 0.25, 0.75]))
        when = t
        if rng.random() < 0.05:
            when = t - rng.choice([0, 30, 3000])  # repeated or late
        events.append(("obs", ds, when, level[ds]))
    return events


def _play(engine: Engine, events: list[tuple]) -> list[Transition]:
    out: list[Transition] = []
    for event in events:
        out += engine.tick(event[1]) if event[0] == "tick" else engine.feed(*event[1:])
    return out


@pytest.mark.parametrize("seed", range(6))
def test_snapshot_restore_and_replay_from_earlier_gives_exactly_the_uninterrupted_transitions(seed: int) -> None:
    rules, events = _mixed_rules(), _events(seed)
    whole = _play(Engine(rules), events)
    assert len({t.rule_id for t in whole}) >= 6  # the stream exercises most rules
    rng = random.Random(seed)
    for _ in range(5):
        cut = rng.randrange(1, len(events))
        back = rng.randrange(0, cut)
        engine = Engine(rules)
        before = _play(engine, events[:cut])
        saved = json.loads(json.dumps(engine.snapshot()))  # through JSON, as it is stored
        # the restart: a new engine from the snapshot, and the readings since an earlier point fed again
        # (ticks are the clock: replayed ticks from before the cut are not re-run, as time does not go back)
        resumed = Engine.restore(rules, saved)
        replayed = [e for e in events[back:cut] if e[0] == "obs"]
        assert _play(resumed, replayed) == []  # nothing lost, nothing doubled
        assert before + _play(resumed, events[cut:]) == whole


def test_snapshot_of_some_rules_merges_into_a_whole() -> None:
    rules, events = _mixed_rules(), _events(11)
    engine = Engine(rules)
    _play(engine, events[:300])
    parts = [engine.snapshot([1, 2, 3]), engine.snapshot([4, 5, 6, 7, 8])]
    merged = {"format": 1, "rules": parts[0]["rules"] | parts[1]["rules"]}
    assert merged == engine.snapshot()
    assert engine.rules_watching([PH]) == {1, 4, 6, 8}


def test_restore_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="snapshot format"):
        Engine.restore({}, {"format": 99, "rules": {}})


def test_a_new_version_of_one_rule_leaves_the_others_alone() -> None:
    river = rule("threshold", datastream=RIVER, op="gt", value=5)
    rain = rule("accumulation", datastream=RAIN, window_minutes=60, value=10)
    engine = Engine({"river": river, "rain": rain})
    assert len(engine.feed_many([(RIVER, at(0), 6.0), (RAIN, at(0), 8.0)])) == 1
    assert (
        engine.replace_rule("rain", rule("accumulation", datastream=RAIN, window_minutes=60, value=12), now=at(1)) == []
    )
    assert engine.feed(RIVER, at(2), 7.0) == []  # still active: no second raise
    assert [t.rule_id for t in engine.feed(RAIN, at(3), 5.0)] == []  # new version: a fresh window, 5 < 12
    assert changes(engine.feed(RIVER, at(4), 1.0)) == [(RIVER, False, 4)]


def test_a_new_version_without_history_keeps_its_active_alarms() -> None:
    engine = one(rule("threshold", datastream=RIVER, op="gt", value=5))
    engine.feed(RIVER, at(0), 6.0)
    assert engine.replace_rule(1, rule("threshold", datastream=RIVER, op="gt", value=5.5), now=at(1)) == []
    assert engine.active() == [(1, RIVER)]
    assert engine.feed(RIVER, at(2), 5.8) == []
    assert changes(engine.feed(RIVER, at(3), 5.2)) == [(RIVER, False, 3)]


def test_a_new_version_with_history_changes_alarms_only_where_it_disagrees() -> None:
    engine = Engine(
        {
            1: rule("accumulation", datastream=RAIN, window_minutes=60, value=20),
            2: rule("accumulation", datastream=RAIN, window_minutes=60, value=20),
        }
    )
    history = series(RAIN, [5, 5, 5, 5, 2], every=10)  # 22 mm in the hour
    assert len(engine.feed_many(history)) == 2
    higher = rule("accumulation", datastream=RAIN, window_minutes=60, value=30)
    (cleared,) = engine.replace_rule(1, higher, now=at(45), history=history)
    assert (cleared.rule_id, cleared.raised, cleared.time) == (1, False, at(45))
    assert cleared.detail == "the rule's new version: datastream 1 22 over 1 h < 30"
    longer = rule("accumulation", datastream=RAIN, window_minutes=180, value=20)
    assert engine.replace_rule(2, longer, now=at(45), history=history) == []  # agrees: still active
    assert engine.feed_many(history) == []  # the history is not taken twice
    assert changes(engine.feed(RAIN, at(50), 10.0)) == [(RAIN, True, 50)]  # rule 1: 32 mm over (−10, 50]


def test_a_new_version_without_a_datastream_clears_it_and_removal_clears_all() -> None:
    engine = one(rule("threshold", datastreams=[RAIN, RIVER], op="gt", value=5))
    engine.feed_many([(RAIN, at(0), 6.0), (RIVER, at(0), 6.0)])
    (gone,) = engine.replace_rule(1, rule("threshold", datastreams=[RIVER], op="gt", value=5), now=at(1))
    assert (gone.source, gone.raised, gone.detail) == (RAIN, False, "no longer watched by the rule's new version")
    (removed,) = engine.remove_rule(1, now=at(2))
    assert (removed.source, removed.raised, removed.detail) == (RIVER, False, "the rule was removed")
    assert engine.feed(RIVER, at(3), 9.0) == [] and engine.active() == []


def test_restore_with_a_changed_rule_keeps_only_its_active_flags() -> None:
    old = rule("accumulation", datastream=RAIN, window_minutes=60, value=10)
    engine = one(old)
    engine.feed_many(series(RAIN, [6, 6], every=10))
    saved = engine.snapshot()
    changed = rule("accumulation", datastream=RAIN, window_minutes=60, value=11)
    resumed = Engine.restore({1: changed}, saved)
    assert resumed.active() == [(1, RAIN)]
    assert changes(resumed.feed(RAIN, at(20), 1.0)) == [(RAIN, False, 20)]  # its window started afresh
    same = Engine.restore({1: old}, saved)
    assert same.feed(RAIN, at(20), 1.0) == []  # 13 mm: still active


# ---------------------------------------------------------------- against a slow, obviously-correct evaluator

OPS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


def _trips(spec: Any, history: list[tuple[float, float]], holding: bool) -> bool:
    """Does the condition hold on this datastream history (all accepted readings, oldest first)?

    ``holding``: judge by the clear side (hysteresis) rather than the raise side. Recomputed from scratch.
    """
    if not history:
        return False
    t, v = history[-1]
    kind = spec.kind
    if kind == "threshold":
        return OPS[spec.op](v, spec.clear_level() if holding else spec.value)
    if kind == "band":
        d = spec.clear.deadband if holding and spec.clear else 0.0
        if spec.alarm == "inside":
            return spec.low - d <= v <= spec.high + d
        return v < spec.low + d or v > spec.high - d
    if kind == "rate_of_change":
        window = [x for s, x in history if s >= t - spec.window_minutes * 60]
        change = v - window[0]
        size = {"rising": change, "falling": -change, "either": abs(change)}[spec.direction]
        return size >= (spec.clear_level() if holding else spec.delta)
    if kind == "accumulation":
        total = sum(x for s, x in history if s > t - spec.window_minutes * 60)
        return total >= (spec.clear_level() if holding else spec.value)
    if kind == "stuck":
        start, first, count = history[0][0], history[0][1], 0
        for s, x in history:
            if abs(x - first) <= spec.tolerance:
                count += 1
            else:
                start, first, count = s, x, 1
        return count >= spec.readings if spec.readings else t - start >= spec.minutes * 60
    raise AssertionError(kind)


def _quantity(spec: Any, history: list[tuple[float, float]]) -> float:
    t, v = history[-1]
    if spec.kind == "rate_of_change":
        return v - next(x for s, x in history if s >= t - spec.window_minutes * 60)
    if spec.kind == "accumulation":
        return sum(x for s, x in history if s > t - spec.window_minutes * 60)
    return v


class Reference:
    """One rule over the events, the plain way; ``out``: (rule, source, raised, time, value) in event order."""

    def __init__(self, rule_id: int, spec: Any) -> None:
        self.rule_id, self.spec, self.out = rule_id, spec, []
        combination = spec.kind in ("all_of", "any_of")
        self.conditions = list(spec.conditions) if combination else None
        self.sources = [spec.source] if combination else list(spec.datastreams)
        self.active = dict.fromkeys(self.sources, False)
        self.since: dict[Any, float | None] = dict.fromkeys(self.sources)
        count = len(self.conditions) if combination else len(self.sources)
        self.histories: list[list[tuple[float, float]]] = [[] for _ in range(count)]
        self.started: dict[Any, float] = {}
        self.raised_at: dict[Any, float] = {}

    def _take(self, slot: int, t: float, v: float) -> bool:
        history = self.histories[slot]
        if history and t <= history[-1][0]:
            return False
        history.append((t, v))
        return True

    def _decide(self, source: Any, t: float, wanted: bool, value: Any) -> None:
        # wanted: the condition (raise side if inactive, clear side if active) says "be active"
        active = self.active[source]
        if wanted == active:
            self.since[source] = None
            return
        if self.since[source] is None:
            self.since[source] = t
        delay = self.spec.clear_for_seconds if active else self.spec.for_seconds
        if t - self.since[source] >= delay:
            self.active[source], self.since[source] = not active, None
            self.out.append((self.rule_id, source, not active, t, value))

    def reading(self, ds: int, t: float, v: float) -> None:
        if self.spec.kind == "no_data":
            self._reading_no_data(ds, t, v)
        elif self.conditions is not None:
            took = [self._take(i, t, v) for i, c in enumerate(self.conditions) if c.datastream == ds]
            if any(took):
                source = self.sources[0]
                holding = self.active[source]
                verdicts = [_trips(c, self.histories[i], holding) for i, c in enumerate(self.conditions)]
                every = self.spec.kind == "all_of"
                self._decide(source, t, all(verdicts) if every else any(verdicts), v)
        elif ds in self.sources:
            slot = self.sources.index(ds)
            if self._take(slot, t, v):
                history = self.histories[slot]
                wanted = _trips(self.spec, history, self.active[ds])
                self._decide(ds, t, wanted, _quantity(self.spec, history))

    def _reading_no_data(self, ds: int, t: float, v: float) -> None:
        if ds not in self.sources:
            return
        history = self.histories[self.sources.index(ds)]
        previous = history[-1][0] if history else None
        if not self._take(self.sources.index(ds), t, v):
            return
        span = self.spec.minutes * 60
        if not self.active[ds] and previous is not None and t - previous > span:
            self.active[ds], self.raised_at[ds] = True, previous + span
            self.out.append((self.rule_id, ds, True, previous + span, None))
        if self.active[ds]:
            self.active[ds] = False
            self.out.append((self.rule_id, ds, False, max(t, self.raised_at[ds]), v))

    def tick(self, now: float) -> None:
        if self.spec.kind != "no_data":
            return
        for i, ds in enumerate(self.sources):
            if self.active[ds]:
                continue
            reference = self.histories[i][-1][0] if self.histories[i] else self.started.get(ds)
            if reference is None:
                self.started[ds] = now
            elif now - reference > self.spec.minutes * 60:
                self.active[ds], self.raised_at[ds] = True, reference + self.spec.minutes * 60
                self.out.append((self.rule_id, ds, True, reference + self.spec.minutes * 60, None))


def _random_condition(rng: random.Random, kinds: list[str], datastream: int) -> dict[str, Any]:
    kind = rng.choice(kinds)
    level = rng.choice([0.5, 1, 2, 2.5, 3, 4])
    clear = rng.random() < 0.5
    doc: dict[str, Any] = {"kind": kind, "datastream": datastream}
    if kind == "threshold":
        op = rng.choice(["gt", "ge", "lt", "le"])
        doc |= {"op": op, "value": level}
        if clear:
            doc["clear"] = rng.choice(
                [{"deadband": 0.5}, {"value": level - 0.5 if op in ("gt", "ge") else level + 0.75}]
            )
    elif kind == "band":
        doc |= {"low": level, "high": level + 2, "alarm": rng.choice(["outside", "inside"])}
        if clear:
            doc["clear"] = {"deadband": 0.5}
    elif kind == "rate_of_change":
        doc |= {
            "delta": level,
            "window_minutes": rng.choice([5, 30, 60]),
            "direction": rng.choice(["rising", "falling", "either"]),
        }
        if clear:
            doc["clear"] = {"deadband": level / 2}
    elif kind == "accumulation":
        doc |= {"window_minutes": rng.choice([10, 30, 60, 180]), "value": level * 2}
        if clear:
            doc["clear"] = rng.choice([{"deadband": 1}, {"value": level}])
    elif kind == "stuck":
        doc |= {"tolerance": rng.choice([0, 0.25])} | rng.choice(
            [{"readings": rng.randrange(2, 5)}, {"minutes": rng.choice([5, 30])}]
        )
    return doc


def _random_rules(rng: random.Random) -> dict[int, Spec]:
    leaves = ["threshold", "band", "rate_of_change", "accumulation", "stuck"]
    specs: dict[int, Spec] = {}
    for rule_id in range(1, 13):
        timing = {"for_seconds": rng.choice([0, 0, 120, 600]), "clear_for_seconds": rng.choice([0, 0, 300])}
        shape = rng.random()
        if shape < 0.15:
            doc = {"kind": "no_data", "datastreams": rng.sample([RAIN, RIVER, PH], 2), "minutes": rng.choice([5, 20])}
        elif shape < 0.35:
            count = rng.randrange(2, 4)
            conditions = [_random_condition(rng, leaves, rng.choice([RAIN, RIVER, PH])) for _ in range(count)]
            doc = {"kind": rng.choice(["all_of", "any_of"]), "conditions": conditions} | timing
        else:
            doc = _random_condition(rng, leaves, RAIN)
            doc.pop("datastream")
            doc |= {"datastreams": rng.sample([RAIN, RIVER, PH], rng.randrange(1, 4))} | timing
        specs[rule_id] = rule(doc.pop("kind"), **doc)
    return specs


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_agree_with_the_reference_evaluator(seed: int) -> None:
    rng = random.Random(1000 + seed)
    specs = _random_rules(rng)
    events = _events(seed, count=400)
    references = [Reference(rule_id, spec) for rule_id, spec in specs.items()]
    for event in events:
        for reference in references:
            reference.tick(event[1]) if event[0] == "tick" else reference.reading(*event[1:])
    got = _play(Engine(specs), events)
    actual = [(t.rule_id, t.source, t.raised, t.time, t.value) for t in got]
    for reference in references:  # each in event order
        assert [a for a in actual if a[0] == reference.rule_id] == reference.out, reference.spec
    assert len(actual) == sum(len(r.out) for r in references) > 0
