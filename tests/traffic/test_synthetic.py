"""The synthetic demo network, its speeds and probes: labelled, deterministic, plausible, and readable by the rest."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from smartcity.traffic.index import compute_index, load_config
from smartcity.traffic.mapmatch import MatchIndex, cycle_speeds
from smartcity.traffic.network import Segment, pack, parse_feature_collection, to_feature_collection
from smartcity.traffic.synthetic import (
    synthetic_network,
    synthetic_probes,
    synthetic_speeds,
    to_xy,
    zone_of,
)


@pytest.fixture(scope="module")
def doc() -> dict:
    return synthetic_network()


@pytest.fixture(scope="module")
def segments(doc: dict) -> list[Segment]:
    return parse_feature_collection(doc)


def test_the_network_says_it_is_synthetic(doc: dict) -> None:
    assert "SYNTHETIC" in doc["name"]
    assert all(f["properties"]["synthetic"] is True for f in doc["features"])
    assert all("synthetic" in f["properties"]["name"] for f in doc["features"])


def test_the_same_seed_draws_the_same_network_and_another_seed_another(doc: dict) -> None:
    assert json.dumps(synthetic_network(), sort_keys=True) == json.dumps(doc, sort_keys=True)
    other = synthetic_network(seed=9)
    assert other["features"][0]["geometry"] != doc["features"][0]["geometry"]


def test_it_reads_back_through_the_parser(segments: list[Segment]) -> None:
    assert parse_feature_collection(to_feature_collection(segments)) == segments


def test_a_few_thousand_segments_of_every_class_within_300_to_1500_m(segments: list[Segment]) -> None:
    assert 2000 <= len(segments) <= 6000
    classes = Counter(s.road_class for s in segments)
    assert set(classes) == {"expressway", "arterial", "secondary", "branch"}
    lengths = np.array([s.length_m for s in segments])
    assert lengths.min() >= 300.0 and lengths.max() <= 1500.0
    assert all(s.direction == "forward" for s in segments if s.road_class == "expressway")


@pytest.mark.parametrize(("ring", "radius_km"), [("inner", 4.5), ("middle", 8.0), ("outer", 15.0)])
def test_the_rings_lie_at_their_radius_around_peoples_square(
    segments: list[Segment], ring: str, radius_km: float
) -> None:
    coords = np.array([p for s in segments if s.id.startswith(f"syn-{ring}-") for p in s.geometry])
    x, y = to_xy(coords[:, 0], coords[:, 1])
    distance = np.hypot(x, y) / 1000.0
    assert distance.mean() == pytest.approx(radius_km, rel=0.08)
    assert distance.min() > 0.8 * radius_km and distance.max() < 1.2 * radius_km


def test_the_radials_are_there(segments: list[Segment]) -> None:
    named = {s.id.split("-")[1] for s in segments if s.road_class == "expressway"}
    assert {"yanan", "nanbei", "humin", "yixian"} <= named


def test_zones_count_outwards_from_the_centre() -> None:
    x = np.array([0.0, 6000.0, 12000.0, 20000.0])
    assert zone_of(x, np.zeros(4)).tolist() == ["inner", "middle", "outer", "beyond"]


def test_speeds_are_deterministic_and_leave_some_segments_without_data(segments: list[Segment]) -> None:
    arrays = pack(segments)
    morning = synthetic_speeds(arrays, 8 * 60 + 15)
    assert np.array_equal(morning, synthetic_speeds(arrays, 8 * 60 + 15), equal_nan=True)
    assert not np.array_equal(morning, synthetic_speeds(arrays, 8 * 60 + 15, day=1), equal_nan=True)
    missing = np.isnan(morning).mean()
    assert 0.03 < missing < 0.07
    observed = morning[~np.isnan(morning)]
    assert (observed > 0).all() and (observed <= arrays.free_flow_kmh[~np.isnan(morning)]).all()


def test_peaks_and_the_centre_are_slower(segments: list[Segment]) -> None:
    arrays = pack(segments)
    x, y = to_xy(arrays.mid_lon, arrays.mid_lat)
    inner = zone_of(x, y) == "inner"
    outer = zone_of(x, y) == "outer"

    def relative(minute: int, where: np.ndarray) -> float:
        return float(np.nanmean(synthetic_speeds(arrays, minute)[where] / arrays.free_flow_kmh[where]))

    assert relative(8 * 60 + 15, inner) < relative(8 * 60 + 15, outer)
    assert relative(8 * 60 + 15, inner) < relative(3 * 60, inner) - 0.3
    assert relative(17 * 60 + 45, inner) < relative(12 * 60, inner)
    config = load_config()
    night = compute_index(config, arrays, synthetic_speeds(arrays, 3 * 60)).schemes["tti"]
    peak = compute_index(config, arrays, synthetic_speeds(arrays, 17 * 60 + 45)).schemes["tti"]
    assert night.band[0] == 0 and peak.band[0] >= 3


def test_the_same_bottlenecks_jam_every_day(segments: list[Segment]) -> None:
    arrays = pack(segments)
    config = load_config()
    levels = [compute_index(config, arrays, synthetic_speeds(arrays, 8 * 60 + 15, day=d)).levels for d in range(2)]
    jammed = [set(np.flatnonzero(lv >= 4)) for lv in levels]
    assert len(jammed[0] & jammed[1]) > 0.5 * min(len(jammed[0]), len(jammed[1]))


def test_probes_map_match_back_to_their_roads_and_speeds(segments: list[Segment]) -> None:
    arrays = pack(segments)
    speeds = synthetic_speeds(arrays, 8 * 60 + 15, missing_share=0.0)
    probes = synthetic_probes(segments, speeds, vehicles=300, duration_s=300, interval_s=10, seed=5)
    assert len(probes) == 300 * 30
    assert probes.t_s.max() == 290
    index = MatchIndex(segments)
    matches, measured = cycle_speeds(
        index, probes.vehicle, probes.t_s, probes.lon, probes.lat, probes.heading_deg, probes.speed_ms
    )
    assert (matches.segment == probes.true_segment).mean() > 0.97
    seen = measured.samples >= 3
    error = np.abs(measured.mean_kmh[seen] - speeds[seen]) / speeds[seen]
    assert np.median(error) < 0.05
