"""Benchmark of the road traffic computations (smartcity/traffic: index.py, mapmatch.py), each beside a reference
measured in the same run. Pure NumPy: no database.

    .venv/bin/python bench/bench_traffic.py [--segments 50000] [--cycles 20] [--probes 50000] [--sample 2000]

1. Traffic index: --segments segments (the synthetic Shanghai network tiled up to that size, in 16 districts),
   speeds from ``synthetic_speeds`` for --cycles 5-minute cycles through a day. Per cycle, ``compute_index`` with
   every scheme, by district and for the city, weighted by class shares, and again with volumes (target < 0.5 s
   a cycle); beside the floor: one plain NumPy pass over the same arrays — the threshold lookup, the congested
   share and TTI as weighted sums — with no configuration, groups, coverage or schemes.
2. Map-matching: about --probes GPS points of synthetic probe vehicles (one every 10 s for 5 minutes) on the
   synthetic network. Points/s of the whole cycle (``cycle_speeds``: candidates, Viterbi per vehicle, per-segment
   speeds), of ``match_points`` and of the grid lookup alone (``MatchIndex.candidates``); beside a brute-force
   nearest segment (every leg of every segment, per point, in NumPy) over --sample points, whose answers the grid
   must reproduce. Accuracy against the segments the probes really drove, and the speed error.
3. Public transport (``bench_transit.py``, runnable on its own; skip with --no-transit): TripUpdates for 5,000
   vehicles (target < 0.5 s) beside building the same feed from precomputed predictions, and the arrival
   prediction accuracy by horizon, baseline against the run-time model, on a replay of the demo feed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartcity.traffic import synthetic
from smartcity.traffic.index import IndexConfig, compute_index, load_config
from smartcity.traffic.mapmatch import UNMATCHED, MatchIndex, cycle_speeds, match_points
from smartcity.traffic.network import Segment, SegmentArrays, pack, parse_feature_collection

DISTRICTS = 16


sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_transit  # noqa: E402 - the transit half of the traffic benchmark, runnable on its own


def timed(run: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def tiled(arrays: SegmentArrays, size: int) -> SegmentArrays:
    """The network's arrays repeated up to ``size`` segments (what the index sees of a bigger city)."""
    take = np.arange(size) % len(arrays)
    return SegmentArrays(
        ids=tuple(f"t{i}" for i in range(size)),
        class_code=arrays.class_code[take],
        length_m=arrays.length_m[take],
        free_flow_kmh=arrays.free_flow_kmh[take],
        mid_lon=arrays.mid_lon[take],
        mid_lat=arrays.mid_lat[take],
    )


def districts(arrays: SegmentArrays) -> NDArray[np.intp]:
    """16 made-up districts: 8 sectors around People's Square, inside and outside the Middle Ring."""
    x, y = synthetic.to_xy(arrays.mid_lon, arrays.mid_lat)
    sector = ((np.arctan2(y, x) + np.pi) / (2 * np.pi) * 8).astype(np.intp) % 8
    return sector * 2 + (synthetic.ring_radius(x, y, "middle") > 1.0)


def plain_pass(config: IndexConfig, arrays: SegmentArrays, speed: NDArray[np.float64]) -> tuple[float, float]:
    """The floor: levels by threshold lookup, then length-weighted congested share and TTI, nothing else."""
    level = 1 + (speed[:, None] <= config.threshold_matrix[arrays.class_code]).sum(axis=1)
    ok = ~np.isnan(speed)
    w = arrays.length_m * ok
    ratio = (w * (level >= 4)).sum() / w.sum()
    tti = (w * np.maximum(arrays.free_flow_kmh / np.where(ok, np.maximum(speed, 2.0), 1.0), 1.0)).sum() / w.sum()
    return float(ratio), float(tti)


def bench_index(args: argparse.Namespace, segments: list[Segment]) -> None:
    config = load_config()
    arrays = tiled(pack(segments), args.segments)
    group = districts(arrays)
    minutes = np.linspace(0, 24 * 60, args.cycles, endpoint=False)
    speeds = [synthetic.synthetic_speeds(arrays, float(m)) for m in minutes]
    rng = np.random.default_rng(args.seed)
    volumes = rng.uniform(20, 600, len(arrays)) * np.array([4.0, 2.0, 1.0, 0.5])[arrays.class_code]

    def index_cycles(by_district: bool = True, **kwargs: Any) -> Callable[[], Any]:
        def run() -> None:
            for speed in speeds:
                if by_district:
                    compute_index(config, arrays, speed, groups=group, n_groups=DISTRICTS, **kwargs)
                compute_index(config, arrays, speed, **kwargs)

        return run

    city_s, _ = timed(index_cycles(by_district=False), args.repeat)
    shares_s, _ = timed(index_cycles(), args.repeat)
    volume_s, _ = timed(index_cycles(volumes=volumes), args.repeat)
    floor_s, _ = timed(lambda: [plain_pass(config, arrays, s) for s in speeds], args.repeat)
    per = {
        name: s / args.cycles
        for name, s in (("city", city_s), ("shares", shares_s), ("volume", volume_s), ("floor", floor_s))
    }
    print(
        f"\n1. traffic index: {len(arrays):,} segments, {DISTRICTS} districts + city, {len(config.schemes)} schemes, "
        f"{args.cycles} cycles through a day"
    )
    print(f"   floor, one plain NumPy pass (city):       {per['floor'] * 1000:7.2f} ms a cycle")
    print(
        f"   compute_index, city, class shares:        {per['city'] * 1000:7.2f} ms a cycle  "
        f"({per['city'] / per['floor']:.1f}× the floor)   target < 500 ms"
    )
    print(
        f"   compute_index, districts + city, shares:  {per['shares'] * 1000:7.2f} ms a cycle  "
        f"({per['shares'] / per['floor']:.1f}× the floor)"
    )
    print(
        f"   compute_index, districts + city, volumes: {per['volume'] * 1000:7.2f} ms a cycle  "
        f"({per['volume'] / per['floor']:.1f}× the floor)"
    )
    peak = compute_index(config, arrays, synthetic.synthetic_speeds(arrays, 8 * 60 + 15))
    values = ", ".join(f"{code} {v.value[0]:.2f}" for code, v in peak.schemes.items())
    print(
        f"   08:15, city: {values}; TTI {peak.tti[0]:.3f} (TomTom {peak.congestion_pct[0]:.0f} %), "
        f"R {peak.congested_ratio[0]:.3f}, coverage {peak.coverage[0]:.1%}"
    )


def full_scan(
    segments: list[Segment], index: MatchIndex, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.int64]:
    """The reference: for each point, its distance to every leg of every segment; the nearest within the radius."""
    starts, ends, owner = [], [], []
    for k, s in enumerate(segments):
        x, y = index.to_local(*np.asarray(s.geometry).T)
        xy = np.column_stack((x, y))
        starts.append(xy[:-1])
        ends.append(xy[1:])
        owner.append(np.full(len(xy) - 1, k))
    a, b, seg = np.concatenate(starts), np.concatenate(ends), np.concatenate(owner)
    d = b - a
    dd = np.maximum((d * d).sum(axis=1), 1e-12)
    px, py = index.to_local(lon, lat)
    out = np.full(len(px), UNMATCHED, np.int64)
    for i in range(len(px)):
        r = np.array([px[i], py[i]]) - a
        t = np.clip((r * d).sum(axis=1) / dd, 0.0, 1.0)
        dist = np.hypot(r[:, 0] - t * d[:, 0], r[:, 1] - t * d[:, 1])
        best = int(dist.argmin())
        if dist[best] <= index.params.radius_m:
            out[i] = seg[best]
    return out


def bench_mapmatch(args: argparse.Namespace, segments: list[Segment]) -> None:
    build_s, index = timed(lambda: MatchIndex(segments))
    arrays = pack(segments)
    speeds = synthetic.synthetic_speeds(arrays, 8 * 60 + 15, missing_share=0.0)
    vehicles = max(1, args.probes // 30)
    made = time.perf_counter()
    probes = synthetic.synthetic_probes(
        segments, speeds, vehicles=vehicles, duration_s=300, interval_s=10, seed=args.seed
    )
    made = time.perf_counter() - made
    n = len(probes)
    p = probes
    cycle_s, (matches, measured) = timed(
        lambda: cycle_speeds(index, p.vehicle, p.t_s, p.lon, p.lat, p.heading_deg, p.speed_ms), args.repeat
    )
    points_s, alone = timed(lambda: match_points(index, p.lon, p.lat, p.heading_deg, p.speed_ms), args.repeat)
    grid_s, _ = timed(lambda: index.candidates(p.lon, p.lat, p.heading_deg, p.speed_ms), args.repeat)
    sample = np.random.default_rng(args.seed).choice(n, size=min(args.sample, n), replace=False)
    scan_s, scanned = timed(lambda: full_scan(segments, index, p.lon[sample], p.lat[sample]))
    nearest = match_points(index, p.lon[sample], p.lat[sample])  # distance only, like the scan
    agree = int((nearest.segment == scanned).sum())
    seen = measured.samples >= 3
    error = np.abs(measured.mean_kmh[seen] - speeds[seen]) / speeds[seen]
    print(
        f"\n2. map-matching: {n:,} probe points of {vehicles:,} vehicles (10 s apart, 5 min) on {len(segments):,} "
        f"segments; index built in {build_s * 1000:.0f} ms, probes made in {made:.1f} s"
    )
    print(f"   cycle_speeds (grid + Viterbi + speeds): {n / cycle_s:>11,.0f} points/s  ({cycle_s * 1000:.0f} ms)")
    print(f"   match_points (grid, no continuity):     {n / points_s:>11,.0f} points/s  ({points_s * 1000:.0f} ms)")
    print(f"   candidates (grid, distance, heading):   {n / grid_s:>11,.0f} points/s  ({grid_s * 1000:.0f} ms)")
    print(
        f"   reference, brute-force nearest leg:     {len(sample) / scan_s:>11,.0f} points/s  "
        f"({len(sample):,} points in {scan_s:.2f} s; ours {(n / cycle_s) / (len(sample) / scan_s):,.0f}× with Viterbi)"
    )
    print(f"   agreement with the brute force (nearest by distance): {agree:,}/{len(sample):,}")
    print(
        f"   right segment: traces {(matches.segment == p.true_segment).mean():.2%}, "
        f"points alone {(alone.segment == p.true_segment).mean():.2%}; speed error, median over "
        f"{int(seen.sum()):,} segments with ≥ 3 samples: {np.median(error):.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=50_000, help="segments in the index computation")
    parser.add_argument("--cycles", type=int, default=20, help="5-minute cycles timed")
    parser.add_argument("--probes", type=int, default=50_000, help="probe points to map-match (about)")
    parser.add_argument("--sample", type=int, default=2_000, help="points for the brute-force reference")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the median is shown)")
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument("--no-transit", action="store_true", help="skip the GTFS-Realtime part (bench_transit.py)")
    args = parser.parse_args()
    made = time.perf_counter()
    segments = parse_feature_collection(synthetic.synthetic_network(args.seed))
    print(f"synthetic network: {len(segments):,} segments, generated and parsed in {time.perf_counter() - made:.2f} s")
    bench_index(args, segments)
    bench_mapmatch(args, segments)
    if not args.no_transit:  # 3. TripUpdates for 5,000 vehicles and prediction accuracy: bench_transit.py
        print("\n--- public transport (bench_transit.py, its defaults) ---")
        bench_transit.main([])


if __name__ == "__main__":
    main()
