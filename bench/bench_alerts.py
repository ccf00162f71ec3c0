"""Benchmark of the alert rule engine (smartcity/alerts/engine.py): rules evaluated on a stream of readings, beside
a loop that only reads the same readings, measured in the same run.

    .venv/bin/python bench/bench_alerts.py [--rules 1000] [--datastreams 500] [--observations 1000000]

1. Synthetic city feeds: --datastreams datastreams (rain gauges, river levels, temperatures, PM2.5, pH), one
   reading every 5 minutes each with a little jitter, in time order; rain storms, river rises, noise around the
   limits, a few gauges that go quiet for hours and a few that stick. --observations readings in all.
2. --rules rules, a city's mix: thresholds with hysteresis and on-delays, bands, rates of change, rainfall
   accumulations over 1 / 3 / 6 / 12 h, no data for 15–60 min, stuck values, and all_of / any_of combinations
   (rain and river level) — validated with validate_spec like the API does.
3. Evaluation: the readings in batches of --batch (as they come from an ingest event) through
   ``Engine.feed_many``, with ``tick`` after each batch at its last time — readings/s and transitions;
   beside the reference, a loop that reads the same batches and does nothing else (target ≥ 200,000/s).
   Then the same through ``feed`` one reading at a time, and the cost of ``snapshot`` / ``restore``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from typing import Any

from smartcity.alerts.engine import Engine, Reading
from smartcity.alerts.rules import validate_spec

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
STEP = 300.0
QUANTITIES = ("rain", "level", "temperature", "pm25", "ph")


def datastream_kinds(count: int) -> dict[int, str]:
    return {i + 1: QUANTITIES[i % len(QUANTITIES)] for i in range(count)}


def _storms(rng: random.Random, steps: int) -> list[tuple[int, int, float]]:
    """(first step, last step, mm per 5 min at the peak) of a few storms over the period."""
    storms, k = [], rng.randrange(0, 200)
    while k < steps:
        length = rng.randrange(12, 96)
        storms.append((k, k + length, rng.uniform(0.5, 6.0)))
        k += length + rng.randrange(150, 900)
    return storms


def readings(kinds: dict[int, str], total: int, seed: int) -> list[list[Reading]]:
    """The readings in time order, grouped by 5-minute step (each step holds one reading per datastream)."""
    rng = random.Random(seed)
    steps = math.ceil(total / len(kinds)) + 200  # a margin for the readings the quiet gauges leave out
    storms = _storms(rng, steps)
    rain = [0.0] * steps
    for first, last, peak in storms:
        for k in range(first, min(last, steps)):
            shape = math.sin(math.pi * (k - first) / (last - first))
            rain[k] = round(peak * shape * rng.uniform(0.3, 1.2), 1)
    wetness, river = 0.0, []
    for k in range(steps):  # the river answers the rain slowly
        wetness = wetness * 0.99 + rain[k] * 0.01
        river.append(wetness)
    quiet = {ds: rng.randrange(steps) for ds in kinds if rng.random() < 0.04}
    stuck = {ds: rng.randrange(steps) for ds in kinds if rng.random() < 0.04}
    state = {ds: rng.uniform(20, 60) for ds in kinds}
    offset = {ds: rng.uniform(0, 60) for ds in kinds}
    held: dict[int, float] = {}  # the value a stuck gauge repeats
    out: list[list[Reading]] = []
    produced = 0
    for k in range(steps):
        if produced >= total:
            break
        hour = (k * STEP / 3600) % 24
        batch = []
        for ds, kind in kinds.items():
            if produced >= total:
                break
            if ds in quiet and quiet[ds] <= k < quiet[ds] + 36:  # 3 h silent
                continue
            value = _value(kind, ds, k, hour, rain[k], river[k], state, rng)
            if ds in stuck and stuck[ds] <= k < stuck[ds] + 48:  # 4 h of the same value
                value = held.setdefault(ds, value)
            batch.append((ds, START + k * STEP + offset[ds], value))
            produced += 1
        batch.sort(key=lambda reading: reading[1])
        out.append(batch)
    return out


def _value(
    kind: str, ds: int, k: int, hour: float, rain: float, river: float, state: dict, rng: random.Random
) -> float:
    if kind == "rain":
        return max(0.0, round(rain * (0.7 + 0.6 * ((ds * 7919) % 100) / 100) + rng.gauss(0, 0.05), 1))
    if kind == "level":
        return round(3.0 + 0.4 * math.sin(2 * math.pi * k / 149) + 2.5 * river + rng.gauss(0, 0.03), 3)
    if kind == "temperature":
        return round(24 + 6 * math.sin(2 * math.pi * (hour - 9) / 24) + rng.gauss(0, 0.4), 2)
    if kind == "pm25":
        state[ds] = min(300.0, max(3.0, state[ds] + rng.gauss(0, 3)))
        return round(state[ds], 1)
    return round(7.3 + 0.25 * math.sin(2 * math.pi * k / 288) + rng.gauss(0, 0.12), 2)


def _pick(rng: random.Random, kinds: dict[int, str], kind: str) -> int:
    return rng.choice([ds for ds, q in kinds.items() if q == kind])


def rule_documents(kinds: dict[int, str], count: int, seed: int) -> list[dict[str, Any]]:
    """A city's mix of rules over the datastreams (each a document as the API would receive it)."""
    rng = random.Random(seed + 1)
    makers = [
        (0.30, _threshold),
        (0.08, _band),
        (0.10, _rate),
        (0.20, _accumulation),
        (0.15, _no_data),
        (0.10, _stuck),
        (0.07, _combination),
    ]
    weights = [w for w, _ in makers]
    docs = []
    for i in range(count):
        make = rng.choices([m for _, m in makers], weights)[0]
        doc = make(rng, kinds)
        doc["name"] = f"{doc['kind']} {i}"
        doc["severity"] = rng.choice(["critical", "high", "medium", "low"])
        docs.append(doc)
    return docs


_LIMITS = {
    "level": (4.2, 0.15, "m"),
    "temperature": (29.0, 1.0, "°C"),
    "pm25": (75.0, 10.0, "µg/m³"),
    "ph": (7.6, 0.15, ""),
}


def _threshold(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    kind = rng.choice(list(_LIMITS))
    value, deadband, unit = _LIMITS[kind]
    return {
        "kind": "threshold",
        "datastream": _pick(rng, kinds, kind),
        "op": rng.choice(["gt", "ge"]),
        "value": value * rng.uniform(0.97, 1.05),
        "clear": {"deadband": deadband},
        "for_seconds": rng.choice([0, 0, 600, 1800]),
        "label": kind,
        "unit": unit,
    }


def _band(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    return {
        "kind": "band",
        "datastream": _pick(rng, kinds, "ph"),
        "low": 6.9,
        "high": 7.7,
        "clear": {"deadband": 0.15},
        "for_seconds": rng.choice([0, 600, 900]),
    }


def _rate(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    return {
        "kind": "rate_of_change",
        "datastream": _pick(rng, kinds, "level"),
        "delta": rng.choice([0.3, 0.5]),
        "window_minutes": rng.choice([30, 60]),
        "direction": "rising",
        "clear": {"deadband": 0.1},
    }


def _accumulation(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    minutes = rng.choice([60, 180, 360, 720])
    return {
        "kind": "accumulation",
        "datastream": _pick(rng, kinds, "rain"),
        "window_minutes": minutes,
        "value": {60: 20, 180: 50, 360: 70, 720: 100}[minutes],
        "clear": {"deadband": 5},
        "label": "rainfall",
        "unit": "mm",
    }


def _no_data(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    return {"kind": "no_data", "datastream": rng.choice(list(kinds)), "minutes": rng.choice([15, 30, 60])}


def _stuck(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    kind = rng.choice(["level", "temperature", "pm25", "ph"])
    length = {"readings": 12} if rng.random() < 0.5 else {"minutes": 120}
    return {"kind": "stuck", "datastream": _pick(rng, kinds, kind), "tolerance": 0.0} | length


def _combination(rng: random.Random, kinds: dict[int, str]) -> dict[str, Any]:
    return {
        "kind": rng.choice(["all_of", "all_of", "any_of"]),
        "for_seconds": 600,
        "conditions": [
            {"kind": "accumulation", "datastream": _pick(rng, kinds, "rain"), "window_minutes": 180, "value": 30},
            {"kind": "threshold", "datastream": _pick(rng, kinds, "level"), "op": "ge", "value": 4.0},
        ],
    }


def reference_loop(batches: list[list[Reading]]) -> tuple[float, int]:
    """Only read the readings: the floor any evaluation pays."""
    began, n = time.perf_counter(), 0
    for batch in batches:
        for _datastream, _t, _value in batch:
            n += 1
    return time.perf_counter() - began, n


def evaluate(engine: Engine, batches: list[list[Reading]]) -> tuple[float, list]:
    began, out = time.perf_counter(), []
    for batch in batches:
        if batch:
            out += engine.feed_many(batch)
            out += engine.tick(batch[-1][1])
    return time.perf_counter() - began, out


def evaluate_one_by_one(engine: Engine, batches: list[list[Reading]]) -> tuple[float, int]:
    began, count = time.perf_counter(), 0
    for batch in batches:
        for datastream, t, value in batch:
            count += len(engine.feed(datastream, t, value))
        if batch:
            count += len(engine.tick(batch[-1][1]))
    return time.perf_counter() - began, count


def evaluate_stateless(rules: dict[int, Any], batches: list[list[Reading]]) -> tuple[float, int, int]:
    """Per batch: restore the rules watching it from per-rule JSON (as rows would hold it), feed, write back."""
    watching: dict[int, set[int]] = {}
    for rule_id, spec in rules.items():
        for datastream in spec.datastreams:
            watching.setdefault(datastream, set()).add(rule_id)
    stored: dict[int, str] = {}
    began, count, touched = time.perf_counter(), 0, 0
    for batch in batches:
        ids = sorted(set().union(*(watching.get(d, set()) for d, _, _ in batch)))
        saved = {str(i): json.loads(stored[i]) for i in ids if i in stored}
        engine = Engine.restore({i: rules[i] for i in ids}, {"format": 1, "rules": saved})
        count += len(engine.feed_many(batch))
        for key, state in engine.snapshot(ids)["rules"].items():
            stored[int(key)] = json.dumps(state)
        touched += len(ids)
    return time.perf_counter() - began, count, touched // max(1, len(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--datastreams", type=int, default=500)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="readings per feed_many call")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument(
        "--stateless-batches", type=int, default=100, help="batches for the restore-per-batch figure (0: skip)"
    )
    args = parser.parse_args()

    kinds = datastream_kinds(args.datastreams)
    began = time.perf_counter()
    steps = readings(kinds, args.observations, args.seed)
    flat = [reading for step in steps for reading in step]
    batches = [flat[i : i + args.batch] for i in range(0, len(flat), args.batch)]
    docs = rule_documents(kinds, args.rules, args.seed)
    rules = {i + 1: validate_spec(doc, set(kinds)) for i, doc in enumerate(docs)}
    mix = Counter(doc["kind"] for doc in docs)
    days = (flat[-1][1] - flat[0][1]) / 86400
    print(f"data: {len(flat):,} readings over {len(kinds)} datastreams ({days:.1f} days), made in "
          f"{time.perf_counter() - began:.1f} s")  # fmt: skip
    print("rules:", len(rules), "=", ", ".join(f"{kind} {n}" for kind, n in mix.most_common()))

    ref_seconds, n = reference_loop(batches)
    seconds, transitions = evaluate(Engine(rules), batches)
    raised = sum(1 for t in transitions if t.raised)
    print(f"reference (read only):       {n / ref_seconds:>12,.0f} readings/s  ({ref_seconds:.3f} s)")
    print(f"engine, feed_many + tick:    {n / seconds:>12,.0f} readings/s  ({seconds:.2f} s; "
          f"{seconds / ref_seconds:.0f}× the reference; target ≥ 200,000/s)")  # fmt: skip
    print(
        f"transitions: {len(transitions):,} ({raised:,} raised, {len(transitions) - raised:,} cleared); by kind: "
        + ", ".join(f"{k} {v}" for k, v in Counter(rules[t.rule_id].kind for t in transitions).most_common())
    )

    one_seconds, one_count = evaluate_one_by_one(Engine(rules), batches)
    print(f"engine, feed one by one:     {n / one_seconds:>12,.0f} readings/s  ({one_seconds:.2f} s; "
          f"same transitions: {one_count == len(transitions)})")  # fmt: skip

    if args.stateless_batches:
        some = batches[: args.stateless_batches]
        some_n = sum(len(b) for b in some)
        st_seconds, st_count, per_batch = evaluate_stateless(rules, some)
        one_engine = Engine(rules)
        same = st_count == sum(len(one_engine.feed_many(batch)) for batch in some)
        print(f"restore + feed_many + snapshot per batch (state as JSON per rule, {per_batch} rules a batch): "
              f"{some_n / st_seconds:,.0f} readings/s over {len(some)} batches ({st_count} transitions, "
              f"the same as one engine without ticks: {same})")  # fmt: skip

    engine = Engine(rules)
    evaluate(engine, batches[: len(batches) // 2])
    began = time.perf_counter()
    text = json.dumps(engine.snapshot())
    snap_seconds = time.perf_counter() - began
    began = time.perf_counter()
    Engine.restore(rules, json.loads(text))
    restore_seconds = time.perf_counter() - began
    print(f"snapshot: {len(text) / 1e6:.1f} MB of JSON in {snap_seconds * 1000:.0f} ms; "
          f"restore in {restore_seconds * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
