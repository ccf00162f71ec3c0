"""Benchmark of public-transport real time (smartcity/traffic): TripUpdates for a city's buses, and how accurate the
arrival predictions are, each beside a reference measured in the same run.

    .venv/bin/python bench/bench_transit.py [--vehicles 5000] [--stops 20] [--repeat 5] [--replay-routes 36] [--days 8]

1. The synthetic Shanghai demo feed (smartcity/traffic/gtfs_demo.py, 36 routes); --vehicles buses, each placed on a
   weekday trip by a VehiclePosition (stop sequence, IN_TRANSIT_TO, a GPS position between two stops, a few minutes
   late) with --stops stops still ahead of it. ``build_trip_updates`` locates every bus, predicts its downstream
   arrivals and builds the FULL_DATASET TripUpdates FeedMessage; then it is serialised. Timed end to end with the
   schedule-plus-delay baseline and with the historical model (target < 0.5 s for 5,000 vehicles), beside two
   references on the same predictions: building the FeedMessage from the precomputed numbers only, and
   serialising only. The protobuf size, and the JSON mapping's time and size for comparison.
2. Accuracy: --days days of simulated "actual" running (smartcity/traffic/prediction.py ``simulate``: peak
   slowdowns per segment, dwell noise, persistent per-route congestion, a day factor) on --replay-routes routes;
   learn on all days but the last, score the baseline and the historical model on the last: MAE, RMSE and the
   share within ±60 s / ±120 s by prediction horizon.
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from smartcity.traffic.gtfs import Feed
from smartcity.traffic.gtfs_demo import demo_feed
from smartcity.traffic.prediction import HORIZON_BINS, RunTimeModel, replay, simulate
from smartcity.traffic.realtime import VehicleObservation, build_trip_updates, to_json, to_protobuf, trip_updates_feed

MONDAY = date(2026, 3, 9)


def vehicles(feed: Feed, count: int, ahead: int, seed: int) -> tuple[list[VehicleObservation], int]:
    """``count`` buses on weekday trips, each between two stops with ``ahead`` stops to go, 0–5 min late; and the
    latest of their timestamps (the feed's ``now``)."""
    rng = random.Random(seed)
    origin = feed.service_origin(MONDAY)
    trips = [s for s in feed.schedules.values() if s.service_id == "WKDY" and len(s) > ahead]
    out = []
    for k in range(count):
        s = trips[k % len(trips)]
        i = len(s) - ahead - 1  # last stop passed
        share = rng.uniform(0.1, 0.9)
        at = origin + s.departures[i] + round(share * (s.arrivals[i + 1] - s.departures[i])) + rng.randrange(0, 300)
        out.append(
            VehicleObservation(
                entity_id=f"vp-{k}",
                timestamp=at,
                vehicle_id=f"沪B-{k:05d}",
                trip_id=s.trip_id,
                route_id=s.route_id,
                start_date="20260309",
                latitude=s.lats[i] + share * (s.lats[i + 1] - s.lats[i]),
                longitude=s.lons[i] + share * (s.lons[i + 1] - s.lons[i]),
                current_stop_sequence=s.stop_sequences[i + 1],
                current_status="IN_TRANSIT_TO",
            )
        )
    return out, max(o.timestamp for o in out)


def timed(work: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return times, result


def show(label: str, times: list[float], note: str = "") -> None:
    print(f"| {label} | {min(times) * 1000:,.0f} ms | {statistics.median(times) * 1000:,.0f} ms | {note} |")


def bench_trip_updates(feed: Feed, model: RunTimeModel, args: argparse.Namespace) -> None:
    buses, now = vehicles(feed, args.vehicles, args.stops, args.seed)
    horizon = 3 * 3600  # every stop ahead, whatever the horizon
    # the buses are spread over the day's trips, so their timestamps are hours apart: freshness is not checked
    fresh: dict[str, Any] = {"now": now, "until": horizon, "max_age": 86_400}
    print(
        f"\n## TripUpdates: {len(buses):,} vehicles, {args.stops} stops ahead each (best / median of {args.repeat})\n"
    )
    print("| what | best | median | |")
    print("|---|---|---|---|")
    for name, chosen in (("baseline", None), ("historical", model)):

        def end_to_end(chosen: RunTimeModel | None = chosen) -> bytes:
            built = build_trip_updates(feed, buses, model=chosen, **fresh)
            assert not built.skipped, built.skipped[:3]
            return to_protobuf(built.message)

        times, _ = timed(end_to_end, args.repeat)
        verdict = " — met" if min(times) < 0.5 else " — **missed**"
        show(f"vehicles → TripUpdates bytes, {name}", times, "target < 500 ms" + verdict)
    result = build_trip_updates(feed, buses, model=model, **fresh)
    stops = sum(len(p.stop_ids) for p in result.predictions)
    times, message = timed(lambda: trip_updates_feed(result.predictions, timestamp=now), args.repeat)
    show("reference: FeedMessage from the precomputed predictions", times, f"{stops:,} StopTimeUpdates")
    data = to_protobuf(message)
    times, _ = timed(lambda: to_protobuf(message), args.repeat)
    show("reference: serialise only", times, f"{len(data):,} bytes protobuf, {len(gzip.compress(data)):,} gzipped")
    times, text = timed(lambda: to_json(message), 1)
    show("JSON mapping (json_format), for comparison", times, f"{len(text.encode()):,} bytes")


def bench_accuracy(feed: Feed, args: argparse.Namespace) -> RunTimeModel:
    routes = [r.route_id for r in feed.routes[: args.replay_routes]]
    first = MONDAY - timedelta(days=args.days - 1)
    started = time.perf_counter()
    result = replay(feed, first_date=first, days=args.days, seed=args.seed, route_ids=routes)
    elapsed = time.perf_counter() - started
    trained = f"trained on {result.train_days[0]}…{result.train_days[-1]} ({result.trips_trained:,} trips)"
    tested = f"tested on {result.test_day} ({result.trips_tested:,} trips)"
    print(f"\n## Accuracy: {len(routes)} routes, {trained}, {tested}; {elapsed:.1f} s\n")
    print("| horizon | model | predictions | MAE | RMSE | within ±60 s | within ±120 s |")
    print("|---|---|---|---|---|---|---|")
    rows = {(r.model, r.horizon): r for r in result.rows}
    for _, _, label in HORIZON_BINS:
        for name in ("baseline", "historical"):
            r = rows[(name, label)]
            shares = f"{r.within_60:.1%} | {r.within_120:.1%}"
            print(f"| {label} | {name} | {r.count:,} | {r.mae:.1f} s | {r.rmse:.1f} s | {shares} |")
    return result.model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=5000)
    parser.add_argument("--stops", type=int, default=20, help="stops ahead of each vehicle")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--routes", type=int, default=36, help="routes in the demo feed")
    parser.add_argument("--replay-routes", type=int, default=36, help="routes simulated for the accuracy table")
    parser.add_argument("--days", type=int, default=8, help="days simulated: all but the last train, the last tests")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    feed = demo_feed(routes=args.routes)
    sizes = f"{len(feed.stops)} stops, {len(feed.schedules):,} trips, {len(feed.stop_times):,} stop times"
    print(f"demo feed: {len(feed.routes)} routes, {sizes}")
    print(f"built in {time.perf_counter() - started:.1f} s")
    model = bench_accuracy(feed, args)
    if args.replay_routes < args.routes:  # the TripUpdates bench needs history for every route
        history = simulate(feed, first_date=MONDAY - timedelta(days=7), days=7, seed=args.seed)
        model = RunTimeModel.learn([t for day in history for t in day], feed.schedules)
    bench_trip_updates(feed, model, args)


if __name__ == "__main__":
    main()
