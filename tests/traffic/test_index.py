"""The traffic state index: levels, R, TTI and each scheme's value on small networks worked out by hand."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from smartcity.traffic.index import (
    NO_DATA,
    SCHEMES_FILE,
    IndexConfig,
    SchemeError,
    compute_index,
    congested_mask,
    congestion_duration,
    frequently_congested,
    load_config,
    parse_config,
    peak_cycles,
    segment_levels,
)
from smartcity.traffic.network import SegmentArrays

NAN = float("nan")


@pytest.fixture(scope="module")
def config() -> IndexConfig:
    return load_config()


def raw_doc() -> dict[str, Any]:
    return json.loads(SCHEMES_FILE.read_text(encoding="utf-8"))


def arrays(classes: list[int], lengths: list[float], free_flow: list[float]) -> SegmentArrays:
    n = len(classes)
    return SegmentArrays(
        ids=tuple(f"s{i}" for i in range(n)),
        class_code=np.array(classes, np.int8),
        length_m=np.array(lengths, float),
        free_flow_kmh=np.array(free_flow, float),
        mid_lon=np.zeros(n),
        mid_lat=np.zeros(n),
    )


# s0 expressway 1 km at 40 of 80 km/h (level 3, TTI 2); s1 arterial 2 km at 18 of 50 (level 4, TTI 25/9);
# s2 arterial 1 km at 50 of 50 (level 1, TTI 1); s3 branch 0.5 km without a speed
NETWORK = arrays([0, 1, 1, 3], [1000, 2000, 1000, 500], [80, 50, 50, 40])
SPEEDS = [40.0, 18.0, 50.0, NAN]


def test_the_packaged_file_loads_with_its_provenance(config: IndexConfig) -> None:
    assert set(config.schemes) == {"beijing_tpi", "tti", "shanghai_0_100"}
    assert [lv.zh for lv in config.levels] == ["畅通", "基本畅通", "轻度拥堵", "中度拥堵", "严重拥堵"]
    assert config.thresholds_kmh["expressway"] == (65, 50, 35, 20)
    assert config.provenance["speed_thresholds"].confidence == "P"
    assert config.schemes["shanghai_0_100"].confidence == "M"
    assert "UNCERTAIN" in config.schemes["shanghai_0_100"].source
    assert config.threshold_matrix.shape == (4, 4)


def test_levels_follow_the_class_thresholds_at_their_edges(config: IndexConfig) -> None:
    arterial = [45, 40, 35, 30, 25, 20, 17, 15, 10, 0, NAN, -1]
    assert segment_levels(config, [1] * len(arterial), arterial).tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 0, 0]
    expressway = [66, 65, 50.5, 50, 36, 35, 21, 20]
    assert segment_levels(config, [0] * len(expressway), expressway).tolist() == [1, 2, 2, 3, 3, 4, 4, 5]
    assert segment_levels(config, [2, 3, 3], [36, 35, 10]).tolist() == [1, 2, 5]


def test_class_share_weighting_by_hand(config: IndexConfig) -> None:
    result = compute_index(config, NETWORK, SPEEDS)
    # shares 0.35 (expressway) and 0.35 (arterial, split 2:1 by length) → weights 1/2, 1/3, 1/6 of the total
    assert result.weighting == "class_shares"
    assert result.levels.tolist() == [3, 4, 1, NO_DATA]
    assert result.congested_ratio[0] == pytest.approx(1 / 3)
    assert result.tti[0] == pytest.approx(113 / 54)  # 1/2·2 + 1/3·25/9 + 1/6·1
    assert result.congestion_pct[0] == pytest.approx((113 / 54 - 1) * 100)
    assert result.coverage[0] == pytest.approx(4000 / 4500)
    assert (result.covered[0], result.segments[0]) == (3, 4)
    tti = result.schemes["tti"]
    assert tti.value[0] == pytest.approx(6 + (113 / 54 - 1.8) / 0.3 * 2)  # 7.9506, 中度拥堵
    assert tti.band[0] == 3
    assert config.schemes["tti"].bands[tti.band[0]].zh == "中度拥堵"
    assert result.schemes["beijing_tpi"].value[0] == 10.0  # R = 1/3 is past the last breakpoint
    assert result.schemes["beijing_tpi"].band[0] == 4
    shanghai = result.schemes["shanghai_0_100"]
    assert shanghai.value[0] == pytest.approx(70 + (113 / 54 - 2.0) * 30)
    assert config.schemes["shanghai_0_100"].bands[shanghai.band[0]].zh == "堵塞"
    assert result.segment_tti[:3].tolist() == pytest.approx([2.0, 25 / 9, 1.0])
    assert np.isnan(result.segment_tti[3])


def test_volume_weighting_by_hand(config: IndexConfig) -> None:
    result = compute_index(config, NETWORK, SPEEDS, volumes=[600, 100, 900, NAN])
    # VKT 600·1000, 100·2000, 900·1000 = 0.6, 0.2, 0.9 million vehicle-metres
    assert result.weighting == "volume"
    assert result.congested_ratio[0] == pytest.approx(0.2 / 1.7)
    assert result.tti[0] == pytest.approx((0.6 * 2 + 0.2 * 25 / 9 + 0.9) / 1.7)
    r = 0.2 / 1.7
    assert result.schemes["beijing_tpi"].value[0] == pytest.approx(6 + (r - 0.11) / 0.03 * 2)  # 6.51
    assert result.schemes["beijing_tpi"].band[0] == 3


def test_a_segment_without_a_volume_is_not_covered(config: IndexConfig) -> None:
    result = compute_index(config, NETWORK, SPEEDS, volumes=[600, NAN, 900, NAN])
    assert result.covered[0] == 2
    assert result.congested_ratio[0] == 0.0
    assert result.tti[0] == pytest.approx((0.6 * 2 + 0.9) / 1.5)


def test_groups_are_aggregated_separately_and_an_empty_group_has_no_value(config: IndexConfig) -> None:
    result = compute_index(config, NETWORK, SPEEDS, groups=[0, 1, 1, 0], n_groups=3)
    assert result.tti[0] == pytest.approx(2.0)  # only s0 is covered in group 0
    assert result.tti[1] == pytest.approx(59 / 27)  # 2/3·25/9 + 1/3·1
    assert result.congested_ratio[:2].tolist() == pytest.approx([0.0, 2 / 3])
    assert result.coverage[:2].tolist() == pytest.approx([1000 / 1500, 1.0])
    assert result.schemes["tti"].value[0] == pytest.approx(6 + 0.2 / 0.3 * 2)
    assert np.isnan(result.tti[2]) and np.isnan(result.schemes["tti"].value[2])
    assert result.schemes["tti"].band[2] == -1
    assert result.segments.tolist() == [2, 2, 0]


def test_standstill_and_speeding_segments_are_bounded(config: IndexConfig) -> None:
    result = compute_index(config, arrays([1, 1], [1000, 1000], [50, 50]), [0.0, 70.0])
    assert result.segment_tti.tolist() == [25.0, 1.0]  # 50 / min_speed 2; faster than free flow is no delay
    assert result.levels.tolist() == [5, 1]


def test_no_speed_at_all_gives_no_value(config: IndexConfig) -> None:
    result = compute_index(config, NETWORK, [NAN] * 4)
    assert result.coverage[0] == 0.0
    assert np.isnan(result.tti[0]) and np.isnan(result.congested_ratio[0])
    assert result.schemes["beijing_tpi"].band[0] == -1


def test_congested_levels_are_configurable() -> None:
    doc = raw_doc()
    doc["congestion"]["levels"] = [3, 4, 5]
    doc["schemes"][0]["congested_levels"] = [3, 4, 5]
    result = compute_index(parse_config(doc), NETWORK, SPEEDS, schemes=["beijing_tpi"])
    assert result.congested_ratio[0] == pytest.approx(5 / 6)  # s0 (level 3) now counts too
    assert list(result.schemes) == ["beijing_tpi"]


def test_a_scheme_can_count_other_levels_than_the_report(config: IndexConfig) -> None:
    doc = raw_doc()
    doc["schemes"][0]["congested_levels"] = [5]
    result = compute_index(parse_config(doc), NETWORK, SPEEDS)
    assert result.congested_ratio[0] == pytest.approx(1 / 3)  # the report keeps levels 4 and 5
    assert result.schemes["beijing_tpi"].value[0] == 0.0  # no segment is at level 5


def test_mismatched_inputs_are_refused(config: IndexConfig) -> None:
    with pytest.raises(ValueError, match="speed_kmh: expected 4 values"):
        compute_index(config, NETWORK, [1.0, 2.0])
    with pytest.raises(ValueError, match="unknown index scheme 'paris'"):
        compute_index(config, NETWORK, SPEEDS, schemes=["paris"])
    with pytest.raises(ValueError, match="not below n_groups=1"):
        compute_index(config, NETWORK, SPEEDS, groups=[0, 1, 0, 0], n_groups=1)


def test_a_bad_scheme_file_lists_every_problem() -> None:
    doc = raw_doc()
    doc["speed_thresholds"]["kmh"]["arterial"] = [40, 45, 20, 15]
    doc["vkt_shares"]["shares"]["branch"] = 0.22
    del doc["congestion"]["source"]
    doc["frequent_congestion"]["peaks"] = [["07:00", "25:00"]]
    doc["levels"][2]["colour"] = "yellow"
    doc["schemes"][0]["breakpoints"] = [[0.0, 0.0], [0.08, 2.0], [0.04, 4.0]]
    doc["schemes"][1]["method"] = "magic"
    doc["schemes"][2]["code"] = "tti"
    doc["schemes"][2]["bands"][0]["lower"] = 5
    with pytest.raises(SchemeError) as caught:
        parse_config(doc)
    problems = caught.value.problems
    expected = [
        "speed_thresholds.kmh.arterial: must fall strictly",
        "vkt_shares.shares: must add up to 1, not 1.1",
        "congestion.source",
        "frequent_congestion.peaks[0]",
        "levels[2].colour",
        "schemes[0] (beijing_tpi).breakpoints: x must increase strictly",
        "schemes[1] (tti).method",
        "schemes[2].code: 'tti' is used by an earlier scheme",
        "schemes[2] (tti).bands[0].lower",
    ]
    for text in expected:
        assert any(text in p for p in problems), text
    assert len(problems) == len(expected)


def test_a_scheme_file_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SchemeError, match="JSON object"):
        parse_config([])


def test_the_file_is_data_not_code() -> None:
    doc = raw_doc()
    doc["speed_thresholds"]["kmh"]["arterial"] = [60, 45, 30, 20]
    changed = parse_config(copy.deepcopy(doc))
    assert segment_levels(changed, [1], [50]).tolist() == [2]


# --- history -----------------------------------------------------------------------------------------------------


def test_congestion_duration_totals_and_longest_run() -> None:
    mask = np.array(
        [
            [True, False, False],
            [True, False, True],
            [False, False, True],
            [True, False, False],
            [True, False, False],
            [True, False, True],
        ]
    )
    duration = congestion_duration(mask, 5)
    assert duration.total_minutes.tolist() == [25, 0, 15]
    assert duration.longest_minutes.tolist() == [15, 0, 10]


def test_congested_mask_reads_levels() -> None:
    assert congested_mask([[0, 3, 4], [5, 1, 2]], [4, 5]).tolist() == [[False, False, True], [True, False, False]]


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_peak_cycles_use_shanghai_time_and_weekdays(config: IndexConfig) -> None:
    times = [
        utc(2024, 1, 8, 0, 30),  # Monday 08:30 in Shanghai
        utc(2024, 1, 8, 3, 0),  # Monday 11:00
        utc(2024, 1, 8, 9, 0),  # Monday 17:00
        utc(2024, 1, 8, 11, 0),  # Monday 19:00: the window's end is excluded
        utc(2024, 1, 7, 23, 0),  # Monday 07:00 local, still Sunday in UTC
        utc(2024, 1, 13, 0, 30),  # Saturday 08:30
    ]
    assert peak_cycles(times, config.frequent).tolist() == [True, False, True, False, True, False]


def test_frequently_congested_segments(config: IndexConfig) -> None:
    rule = config.frequent
    days = [8, 9, 10, 11]  # Monday to Thursday, January 2024
    times, rows = [], []
    # per day: the 08:00 peak cycle and a 12:00 cycle; columns: s0, s1, s2
    peak_levels = [[5, 1, 0], [4, 4, 0], [4, 1, 4], [1, 2, 5]]
    for day, peak in zip(days, peak_levels, strict=True):
        times += [utc(2024, 1, day, 0, 0), utc(2024, 1, day, 4, 0)]
        rows += [peak, [1, 5, 1]]  # s1 jams at noon every day: not a peak, so it does not count
    result = frequently_congested(rows, times, rule, [4, 5])
    assert result.observed.tolist() == [4, 4, 2]
    assert result.share.tolist() == pytest.approx([0.75, 0.25, 1.0])
    assert result.frequent.tolist() == [True, False, True]
    assert frequently_congested(rows, times, rule, [4, 5], min_observed=3).frequent.tolist() == [True, False, False]
    assert frequently_congested(rows, times, rule, [4, 5], min_share=0.8).frequent.tolist() == [False, False, True]
    recent = frequently_congested(rows, times, rule, [4, 5], days=2)  # Wednesday and Thursday only
    assert recent.observed.tolist() == [2, 2, 2]
    assert recent.share.tolist() == pytest.approx([0.5, 0.0, 1.0])


def test_frequently_congested_needs_one_time_per_cycle(config: IndexConfig) -> None:
    with pytest.raises(ValueError, match="one time per cycle"):
        frequently_congested([[1, 2]], [0.0, 300.0], config.frequent, [4, 5])
