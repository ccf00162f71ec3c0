"""Progress against a target, aware of the direction: the share of the way from the baseline (the first value) to
the target, capped to 0–100 %, and whether the target is met. Pure arithmetic: no database.

- *met* compares the latest value with the target by the plan's own comparison (≥, >, ≤, <; "about" — 左右, 约 —
  counts as reached once the target itself is reached, the cautious reading);
- *share* is ``(latest − baseline) / (target − baseline)``: the same formula serves both directions, since for
  lower-is-better the target lies below the baseline. A met target is 100 %; a value gone the wrong way is 0 %;
  when the baseline already stood at or beyond the target but the latest value does not meet it, 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["met", "not_met", "no_data", "no_target"]


@dataclass(frozen=True)
class Progress:
    baseline: float | None
    latest: float | None
    target: float | None
    share: float | None  # 0–1, None when there is no target or no value
    met: bool | None
    status: Status

    @property
    def percent(self) -> float | None:
        """The share as a percentage rounded to one place (what pages and exports show)."""
        return None if self.share is None else round(self.share * 100, 1)


def reached(value: float, op: str, target: float) -> bool:
    """Whether ``value`` meets ``target`` by the comparison ``op``."""
    if op in ("at_least", "about"):
        return value >= target
    if op == "more_than":
        return value > target
    if op == "at_most":
        return value <= target
    if op == "less_than":
        return value < target
    raise ValueError(f"unknown comparison {op!r}")


def measure(
    *, direction: str, target: float | None, op: str | None, baseline: float | None, latest: float | None
) -> Progress:
    """The progress from ``baseline`` to ``latest`` towards ``target`` (see the module's rules)."""
    if target is None or op is None or direction == "neutral":
        return Progress(baseline, latest, target, None, None, "no_target")
    if latest is None:
        return Progress(baseline, latest, target, None, None, "no_data")
    if baseline is None:
        baseline = latest
    met = reached(latest, op, target)
    if met:
        share = 1.0
    else:
        span = target - baseline
        wrong_side = span == 0 or (span < 0 if direction == "higher" else span > 0)
        # not met is never shown as 100 % (a strict "more than" reached exactly is 99.9 %)
        share = 0.0 if wrong_side else min(0.999, max(0.0, (latest - baseline) / span))
    return Progress(baseline, latest, target, share, met, "met" if met else "not_met")
