"""Progress against a target in both directions: the share of the way from the baseline, capped to 0–100 %, and
whether the plan's comparison (≥, >, ≤, about) is met."""

from __future__ import annotations

import pytest

from smartcity.kpi.progress import measure, reached


def _share(**kw) -> float | None:
    return measure(**kw).share


@pytest.mark.parametrize(
    ("baseline", "latest", "share", "met"),
    [
        (300, 300, 0.0, False),  # no movement yet
        (300, 475, 0.5, False),  # half-way from 300 to 650
        (300, 650, 1.0, True),  # reached
        (300, 700, 1.0, True),  # beyond: capped at 100 %
        (300, 200, 0.0, False),  # went the wrong way: 0, never negative
    ],
)
def test_higher_is_better(baseline, latest, share, met) -> None:
    p = measure(direction="higher", target=650, op="at_least", baseline=baseline, latest=latest)
    assert p.share == pytest.approx(share) and p.met is met
    assert p.status == ("met" if met else "not_met")


@pytest.mark.parametrize(
    ("baseline", "latest", "share", "met"),
    [
        (11, 11, 0.0, False),
        (11, 7, 0.5, False),  # half-way from 11 exits down to 3
        (11, 3, 1.0, True),  # ≤ 3 met
        (11, 1, 1.0, True),
        (11, 15, 0.0, False),  # more exits than at the start
    ],
)
def test_lower_is_better(baseline, latest, share, met) -> None:
    p = measure(direction="lower", target=3, op="at_most", baseline=baseline, latest=latest)
    assert p.share == pytest.approx(share) and p.met is met


def test_strict_and_about_comparisons() -> None:
    exactly = measure(direction="higher", target=22_000, op="more_than", baseline=10_000, latest=22_000)
    assert exactly.met is False and exactly.percent == 99.9  # "more than" reached exactly is not met
    assert reached(22_001, "more_than", 22_000)
    assert reached(50, "about", 50) and not reached(49, "about", 50)  # 左右: read cautiously
    assert reached(4.9, "less_than", 5) and not reached(5, "less_than", 5)


def test_baseline_already_beyond_the_target_but_latest_not() -> None:
    p = measure(direction="higher", target=80, op="more_than", baseline=85, latest=79)
    assert (p.share, p.met) == (0.0, False)


def test_without_a_target_or_a_value() -> None:
    assert measure(direction="neutral", target=None, op=None, baseline=1, latest=2).status == "no_target"
    assert measure(direction="higher", target=None, op=None, baseline=1, latest=2).share is None
    empty = measure(direction="higher", target=10, op="at_least", baseline=None, latest=None)
    assert (empty.status, empty.share, empty.met) == ("no_data", None, None)
    single = measure(direction="higher", target=10, op="at_least", baseline=None, latest=4)
    assert (single.baseline, single.share) == (4, 0.0)  # the only value is its own baseline
