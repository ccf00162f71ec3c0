"""The alert rule engine: evaluates rule specifications on observations as they arrive; pure Python, no database.

An ``Engine`` holds, per rule and per *source* (a datastream, or a combination's key), one alarm state machine:
inactive → (the raise condition holds for ``for_seconds``) → active → (the clear condition holds for
``clear_for_seconds``) → inactive. ``feed``/``feed_many`` return the ``Transition``s that happened: a raise only
when the source was not active, a clear only when it was, so exactly one condition is open per (rule, source).

Time is a float of seconds since the epoch (UTC) — the observation's phenomenon time (its start, for an
interval). Each source ignores an observation that is not newer than the last one it accepted for that
datastream: a repeated or late reading changes nothing, which makes replaying observations after a restart
idempotent. Durations are measured in observation time, so a result depends only on the readings, never on
when they are fed; only ``no_data`` looks at the clock, through ``tick(now)``.

``snapshot()`` is the whole state as JSON-able data; ``Engine.restore(rules, snapshot)`` resumes from it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smartcity.alerts import rules as r

RuleId = int | str
Source = int | str
Reading = tuple[int, float, float]  # (datastream id, time in epoch seconds, value)
Step = Callable[[float, float, list["Transition"]], None]

SNAPSHOT_FORMAT = 1
_FINGERPRINTS: dict[int, tuple[Any, str]] = {}  # id(spec) → (spec, digest); holding the spec keeps its id unique
INF = math.inf
NAN = math.nan
_ABOVE = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}  # the raise condition, as written in a detail
_BACK = {"gt": "≤", "ge": "<", "lt": "≥", "le": ">"}  # its negation at the clear level


@dataclass(frozen=True, slots=True)
class Transition:
    """A (rule, source) became active (``raised``) or inactive: what the alarm layer opens or clears.

    ``value`` is the quantity the condition judged — a reading, a window's sum or change — or, for a
    combination, the reading that completed it; ``None`` when no reading is involved (no data).
    """

    rule_id: RuleId
    source: Source
    raised: bool
    time: float
    value: float | None
    detail: str
    severity: str

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)


# ---------------------------------------------------------------- formatting details


def _num(x: float) -> str:
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.0f}"


def _span(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes % 60 == 0 else f"{minutes:g} min"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- one source's alarm state machine


class _Watch:
    """The alarm state of one (rule, source), with the on-delay / off-delay timer shared by every kind."""

    __slots__ = ("active", "clear_for", "for_s", "rule_id", "severity", "since", "source")

    def __init__(self) -> None:
        self.rule_id: RuleId = ""
        self.source: Source = ""
        self.severity = ""
        self.for_s = self.clear_for = 0.0
        self.active = False
        self.since: float | None = None  # when the wanted change (raise or clear) started to hold

    def bind(self, rule_id: RuleId, source: Source, spec: Any) -> _Watch:
        self.rule_id, self.source, self.severity = rule_id, source, str(spec.severity)
        self.for_s, self.clear_for = float(spec.for_seconds), float(spec.clear_for_seconds)
        return self

    def _flip(self, t: float, out: list[Transition]) -> None:
        # The condition disagrees with the state: start (or continue) the delay; switch once it has run out.
        since = self.since
        if since is None:
            self.since = since = t
        active = self.active
        if t - since < (self.clear_for if active else self.for_s):
            return
        self.since = None
        self._set_active(not active)
        out.append(self.transition(t, not active))

    def _set_active(self, active: bool) -> None:
        self.active = active

    def transition(self, t: float, raised: bool, detail: str | None = None) -> Transition:
        detail = detail or self.describe(raised)
        return Transition(self.rule_id, self.source, raised, t, self.quantity(), detail, self.severity)

    def quantity(self) -> float | None:
        return None

    def describe(self, raised: bool) -> str:
        raise NotImplementedError

    def entries(self) -> list[tuple[int, Step]]:
        """(datastream, step) pairs: what the engine's index calls for a reading on that datastream."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {"active": self.active, "since": self.since}

    def load(self, state: Mapping[str, Any]) -> None:
        self.load_flags(state)
        self.since = state["since"]

    def load_flags(self, state: Mapping[str, Any]) -> None:
        """Only whether it is active: what survives a change of the rule's version."""
        self._set_active(bool(state["active"]))


# ---------------------------------------------------------------- conditions


class _Condition(_Watch):
    """A condition on one datastream; stands alone as a watch, or serves inside a combination."""

    __slots__ = ("datastream", "label", "t", "unit")

    def __init__(self, params: Any, datastream: int) -> None:
        super().__init__()
        self.datastream = datastream
        self.label = params.label or f"datastream {datastream}"
        self.unit = f" {params.unit}" if params.unit else ""
        self.t = -INF  # the time of the last reading accepted

    def update(self, t: float, v: float) -> bool:
        """Take a reading into the condition's state; False (and nothing changed) if it is not newer."""
        raise NotImplementedError

    def judge(self, holding: bool) -> bool:
        """Does the raise condition hold (``holding`` False), or the stay-active one (True, hysteresis)?"""
        raise NotImplementedError

    def step(self, t: float, v: float, out: list[Transition]) -> None:
        if self.update(t, v):
            active = self.active
            if self.judge(active) is active:
                self.since = None
            else:
                self._flip(t, out)

    def entries(self) -> list[tuple[int, Step]]:
        return [(self.datastream, self.step)]

    def state(self) -> dict[str, Any]:
        return super().state() | {"t": None if self.t == -INF else self.t}

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.t = -INF if state["t"] is None else state["t"]

    def _no_reading(self) -> str:
        return f"{self.label}: no reading yet"


def _saved(x: float) -> float | None:
    return None if math.isnan(x) else x


def _loaded(x: float | None) -> float:
    return NAN if x is None else x


class _Level(_Condition):
    """A condition that raises when a quantity ``x`` reaches ``trip`` and stays active while it is at ``hold``."""

    __slots__ = ("hold", "level", "trip", "x")

    def __init__(self, params: Any, datastream: int, trip: float, hold: float) -> None:
        super().__init__(params, datastream)
        self.trip, self.hold = trip, hold
        self.level = trip  # the one in force: trip while inactive, hold while active
        self.x = -INF

    def _set_active(self, active: bool) -> None:
        self.active = active
        self.level = self.hold if active else self.trip

    def judge(self, holding: bool) -> bool:
        return self.x >= (self.hold if holding else self.trip)


class _Threshold(_Level):
    __slots__ = ("op", "shown", "sign", "v")

    def __init__(self, params: r.ThresholdParams, datastream: int) -> None:
        # x = sign × value turns lt/le into gt/ge; and for floats v > a ⇔ v ≥ nextafter(a, +∞), so every
        # op becomes one comparison "x ≥ level" on the hot path, exactly.
        self.op = params.op
        self.shown = (params.value, params.clear_level())  # the levels as written, for details
        sign = self.sign = 1.0 if params.op in ("gt", "ge") else -1.0
        strict = params.op in ("gt", "lt")

        def level(a: float) -> float:
            return math.nextafter(sign * a, INF) if strict else sign * a

        super().__init__(params, datastream, level(params.value), level(params.clear_level()))
        self.v = NAN

    def update(self, t: float, v: float) -> bool:
        if t <= self.t:
            return False
        self.t, self.v, self.x = t, v, self.sign * v
        return True

    def step(self, t: float, v: float, out: list[Transition]) -> None:
        # update() and judge() inlined: the hot path of the most common kind.
        if t <= self.t:
            return
        self.t, self.v = t, v
        x = self.x = self.sign * v
        active = self.active
        if (x >= self.level) is active:
            self.since = None
        else:
            self._flip(t, out)

    def quantity(self) -> float | None:
        return self.v

    def describe(self, raised: bool) -> str:
        if self.t == -INF:
            return self._no_reading()
        symbol, level = (_ABOVE[self.op], self.shown[0]) if raised else (_BACK[self.op], self.shown[1])
        return f"{self.label} {_num(self.v)}{self.unit} {symbol} {_num(level)}{self.unit}"

    def state(self) -> dict[str, Any]:
        return super().state() | {"v": _saved(self.v)}  # a combination judges on the last reading

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.v = _loaded(state["v"])
        self.x = -INF if math.isnan(self.v) else self.sign * self.v


class _Band(_Condition):
    __slots__ = ("deadband", "hi", "high", "inside", "lo", "low", "v")

    def __init__(self, params: r.BandParams, datastream: int) -> None:
        super().__init__(params, datastream)
        self.low, self.high, self.inside = params.low, params.high, params.alarm == "inside"
        self.deadband = (params.clear.deadband or 0.0) if params.clear else 0.0
        self.v = NAN
        self._set_active(False)

    def _bounds(self, holding: bool) -> tuple[float, float]:
        d = self.deadband if holding else 0.0
        # outside: active while beyond the band shrunk by the deadband; inside: while within it widened
        return (self.low - d, self.high + d) if self.inside else (self.low + d, self.high - d)

    def _set_active(self, active: bool) -> None:
        self.active = active
        self.lo, self.hi = self._bounds(active)

    def update(self, t: float, v: float) -> bool:
        if t <= self.t:
            return False
        self.t, self.v = t, v
        return True

    def judge(self, holding: bool) -> bool:
        lo, hi = self._bounds(holding)
        v = self.v
        return lo <= v <= hi if self.inside else v < lo or v > hi

    def step(self, t: float, v: float, out: list[Transition]) -> None:
        if t <= self.t:
            return
        self.t, self.v = t, v
        on = self.lo <= v <= self.hi if self.inside else v < self.lo or v > self.hi
        if on is self.active:
            self.since = None
        else:
            self._flip(t, out)

    def quantity(self) -> float | None:
        return self.v

    def describe(self, raised: bool) -> str:
        if self.t == -INF:
            return self._no_reading()
        lo, hi = self._bounds(not raised)
        where = ("inside" if raised else "outside") if self.inside else ("outside" if raised else "back within")
        return f"{self.label} {_num(self.v)}{self.unit} {where} {_num(lo)}–{_num(hi)}{self.unit}"

    def state(self) -> dict[str, Any]:
        return super().state() | {"v": _saved(self.v)}

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.v = _loaded(state["v"])


class _Rate(_Level):
    """The change over the window: the latest reading minus the oldest one no older than the window."""

    __slots__ = ("direction", "minutes", "span", "times", "v", "values")

    def __init__(self, params: r.RateParams, datastream: int) -> None:
        super().__init__(params, datastream, params.delta, params.clear_level())
        self.direction, self.minutes, self.span = params.direction, params.window_minutes, params.window_minutes * 60
        self.times: deque[float] = deque()
        self.values: deque[float] = deque()
        self.v = NAN

    def update(self, t: float, v: float) -> bool:
        if t <= self.t:
            return False
        self.t, self.v = t, v
        times, values = self.times, self.values
        times.append(t)
        values.append(v)
        edge = t - self.span
        while times[0] < edge:
            times.popleft()
            values.popleft()
        change = v - values[0]
        direction = self.direction
        self.x = change if direction == "rising" else -change if direction == "falling" else abs(change)
        return True

    def quantity(self) -> float | None:
        return self.v - self.values[0] if self.values else None

    def describe(self, raised: bool) -> str:
        if self.t == -INF:
            return self._no_reading()
        change = self.v - self.values[0]
        window = _span(self.minutes)
        if raised:
            verb = "rose" if change > 0 else "fell"
            return f"{self.label} {verb} by {_num(abs(change))}{self.unit} in {window} ≥ {_num(self.trip)}{self.unit}"
        what = {"rising": "rise", "falling": "fall"}.get(self.direction, "change")
        return (
            f"{self.label} changed by {_num(change)}{self.unit} in {window}; "
            f"the {what} is now < {_num(self.hold)}{self.unit}"
        )

    def state(self) -> dict[str, Any]:
        return super().state() | {"times": list(self.times), "values": list(self.values)}

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.times, self.values = deque(state["times"]), deque(state["values"])
        if self.values:
            self.v = self.values[-1]
            change = self.v - self.values[0]
            direction = self.direction
            self.x = change if direction == "rising" else -change if direction == "falling" else abs(change)


class _Accumulation(_Level):
    """The sum of the readings in (t − window, t]: a deque of the window's readings and a running total."""

    __slots__ = ("evicted", "minutes", "span", "times", "values")

    def __init__(self, params: r.AccumulationParams, datastream: int) -> None:
        super().__init__(params, datastream, params.value, params.clear_level())
        self.minutes, self.span = params.window_minutes, params.window_minutes * 60
        self.times: deque[float] = deque()
        self.values: deque[float] = deque()
        self.x = 0.0
        self.evicted = 0  # readings dropped since the total was last summed afresh (bounds rounding drift)

    def update(self, t: float, v: float) -> bool:
        if t <= self.t:
            return False
        self.t = t
        times, values = self.times, self.values
        times.append(t)
        values.append(v)
        total = self.x + v
        edge = t - self.span
        if times[0] <= edge:
            dropped = 0
            while times[0] <= edge:
                times.popleft()
                total -= values.popleft()
                dropped += 1
            self.evicted += dropped
            if self.evicted > len(values):  # amortised O(1): a fresh sum once per window's worth of drops
                total = math.fsum(values)
                self.evicted = 0
        self.x = total
        return True

    def step(self, t: float, v: float, out: list[Transition]) -> None:
        if self.update(t, v):
            active = self.active
            if (self.x >= self.level) is active:
                self.since = None
            else:
                self._flip(t, out)

    def judge(self, holding: bool) -> bool:
        return bool(self.times) and self.x >= (self.hold if holding else self.trip)

    def quantity(self) -> float | None:
        return self.x

    def describe(self, raised: bool) -> str:
        if self.t == -INF:
            return self._no_reading()
        symbol, level = ("≥", self.trip) if raised else ("<", self.hold)
        return f"{self.label} {_num(self.x)}{self.unit} over {_span(self.minutes)} {symbol} {_num(level)}{self.unit}"

    def state(self) -> dict[str, Any]:
        return super().state() | {
            "times": list(self.times),
            "values": list(self.values),
            "total": self.x,
            "evicted": self.evicted,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.times, self.values = deque(state["times"]), deque(state["values"])
        self.x, self.evicted = state["total"], state["evicted"]


class _Stuck(_Condition):
    """A run of readings each within ``tolerance`` of the run's first; stuck once it is long enough."""

    __slots__ = ("anchor", "anchor_t", "count", "minutes", "readings", "span", "tolerance", "v")

    def __init__(self, params: r.StuckParams, datastream: int) -> None:
        super().__init__(params, datastream)
        self.tolerance = params.tolerance
        self.readings = params.readings or 0
        self.minutes = params.minutes or 0.0
        self.span = self.minutes * 60
        self.anchor = self.v = NAN
        self.anchor_t = -INF
        self.count = 0

    def update(self, t: float, v: float) -> bool:
        if t <= self.t:
            return False
        self.t, self.v = t, v
        if abs(v - self.anchor) <= self.tolerance:
            self.count += 1
        else:
            self.anchor, self.anchor_t, self.count = v, t, 1
        return True

    def judge(self, holding: bool) -> bool:
        if self.readings:
            return self.count >= self.readings
        return self.count > 0 and self.t - self.anchor_t >= self.span

    def quantity(self) -> float | None:
        return self.v

    def describe(self, raised: bool) -> str:
        if self.t == -INF:
            return self._no_reading()
        if not raised:
            return f"{self.label} moved to {_num(self.v)}{self.unit}"
        within = f" (±{_num(self.tolerance)})" if self.tolerance else ""
        duration = _span(round((self.t - self.anchor_t) / 60, 1))
        return f"{self.label} stuck at {_num(self.anchor)}{self.unit}{within} for {self.count} readings over {duration}"

    def state(self) -> dict[str, Any]:
        anchor_t = None if self.anchor_t == -INF else self.anchor_t
        return super().state() | {
            "anchor": _saved(self.anchor),
            "anchor_t": anchor_t,
            "count": self.count,
            "v": _saved(self.v),
        }

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.anchor, self.v = _loaded(state["anchor"]), _loaded(state["v"])
        self.anchor_t = -INF if state["anchor_t"] is None else state["anchor_t"]
        self.count = state["count"]


class _Silence(_Condition):
    """No data: raised by ``tick`` once more than ``minutes`` pass without a reading, cleared by the next one.

    A gap found only when the next reading arrives (no tick ran in between, e.g. the process was down) gives
    the same raise — dated when it fell due — followed by the clear at that reading.
    """

    __slots__ = ("minutes", "raised_at", "span", "started", "v")

    def __init__(self, params: r.NoDataParams, datastream: int) -> None:
        super().__init__(params, datastream)
        self.minutes, self.span = params.minutes, params.minutes * 60
        self.started: float | None = None  # the first tick's time: the clock for a datastream never heard from
        self.raised_at = -INF
        self.v = NAN

    def step(self, t: float, v: float, out: list[Transition]) -> None:
        previous = self.t
        if t <= previous:
            return
        self.t, self.v = t, v
        if not self.active and previous != -INF and t - previous > self.span:
            self._raise(previous + self.span, previous, out)
        if self.active:
            self._set_active(False)
            out.append(self.transition(max(t, self.raised_at), False))

    def tick(self, now: float, out: list[Transition]) -> None:
        if self.active:
            return
        reference = self.t if self.t != -INF else self.started
        if reference is None:
            self.started = now
        elif now - reference > self.span:
            self._raise(reference + self.span, reference, out)

    def _raise(self, due: float, reference: float, out: list[Transition]) -> None:
        self._set_active(True)
        self.raised_at = due
        out.append(self.transition(due, True))

    def transition(self, t: float, raised: bool, detail: str | None = None) -> Transition:
        value = None if raised else self.v
        return Transition(self.rule_id, self.source, raised, t, value, detail or self.describe(raised), self.severity)

    def describe(self, raised: bool) -> str:
        if not raised:
            return f"data again from {self.label}: {_num(self.v)}{self.unit}"
        if self.t == -INF:
            since = f"watching since {_iso(self.started)}" if self.started is not None else "none yet"
            return f"no data from {self.label} for more than {_span(self.minutes)} ({since})"
        return f"no data from {self.label} for more than {_span(self.minutes)} (last reading at {_iso(self.t)})"

    def state(self) -> dict[str, Any]:
        raised_at = None if self.raised_at == -INF else self.raised_at
        return super().state() | {"started": self.started, "raised_at": raised_at}

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self.started = state["started"]

    def load_flags(self, state: Mapping[str, Any]) -> None:
        super().load_flags(state)
        self.raised_at = -INF if state.get("raised_at") is None else state["raised_at"]


class _Combination(_Watch):
    """all_of / any_of: each condition keeps the truth its own datastream's last reading gave it."""

    __slots__ = ("conditions", "every", "v")

    def __init__(self, conditions: list[_Condition], every: bool) -> None:
        super().__init__()
        self.conditions, self.every = conditions, every
        self.v = NAN

    def entries(self) -> list[tuple[int, Step]]:
        # One step per datastream: conditions on the same one all take the reading before the verdict.
        updates: dict[int, list[Callable[[float, float], bool]]] = {}
        for condition in self.conditions:
            updates.setdefault(condition.datastream, []).append(condition.update)
        return [(datastream, self._step(found)) for datastream, found in updates.items()]

    def _step(self, updates: list[Callable[[float, float], bool]]) -> Step:
        evaluate = self.evaluate

        def step(t: float, v: float, out: list[Transition]) -> None:
            took = [update(t, v) for update in updates]
            if any(took):
                evaluate(t, v, out)

        return step

    def evaluate(self, t: float, v: float, out: list[Transition]) -> None:
        active = self.active
        verdicts = [c.judge(active) for c in self.conditions]
        if (all(verdicts) if self.every else any(verdicts)) is active:
            self.since = None
        else:
            self.v = v
            self._flip(t, out)

    def quantity(self) -> float | None:
        return self.v

    def describe(self, raised: bool) -> str:
        # raised: the conditions that hold; cleared: those that no longer do
        named = [c.describe(raised) for c in self.conditions if c.judge(not raised) is raised]
        head = ("all of" if self.every else "any of") if raised else "cleared"
        return f"{head}: {'; '.join(named)}"

    def state(self) -> dict[str, Any]:
        return super().state() | {"conditions": [c.state() for c in self.conditions]}

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        for condition, saved in zip(self.conditions, state["conditions"], strict=True):
            condition.load(saved)


# ---------------------------------------------------------------- building watches from specifications

_CONDITIONS: dict[str, Callable[[Any, int], _Condition]] = {
    "threshold": _Threshold,
    "band": _Band,
    "rate_of_change": _Rate,
    "accumulation": _Accumulation,
    "no_data": _Silence,
    "stuck": _Stuck,
}


def _watches(rule_id: RuleId, spec: r.Spec) -> list[_Watch]:
    """One watch per source: per datastream for a single condition, one for a combination."""
    if isinstance(spec, r.AllOfRule | r.AnyOfRule):
        conditions = [_CONDITIONS[c.kind](c, c.datastream) for c in spec.conditions]
        return [_Combination(conditions, spec.kind == "all_of").bind(rule_id, spec.source, spec)]
    build = _CONDITIONS[spec.kind]
    return [build(spec, datastream).bind(rule_id, datastream, spec) for datastream in spec.datastreams]


# ---------------------------------------------------------------- the engine


class Engine:
    """Evaluates rules on readings. Not thread-safe: one engine per worker, fed from one thread."""

    def __init__(self, rules: Mapping[RuleId, r.Spec] | None = None) -> None:
        self._specs: dict[RuleId, r.Spec] = {}
        self._fingerprints: dict[RuleId, str] = {}
        self._watches: dict[RuleId, list[_Watch]] = {}
        self._index: dict[int, list[Step]] = {}
        self._silences: list[_Silence] = []
        for rule_id, spec in (rules or {}).items():
            self._install(rule_id, spec, _watches(rule_id, spec))
        self._reindex()

    # ------------------------------------------------------------ evaluation

    def feed(self, datastream_id: int, time: float, value: float) -> list[Transition]:
        """Evaluate one reading; returns the transitions it caused (usually none)."""
        out: list[Transition] = []
        steps = self._index.get(datastream_id)
        if steps is not None and -INF < value < INF:
            for step in steps:
                step(time, value, out)
        return out

    def feed_many(self, readings: Iterable[Reading]) -> list[Transition]:
        """Evaluate readings in order; a reading that is not newer than the last one a rule took is ignored.

        A value that is not finite (NaN, ±∞) is ignored as if it had not arrived.
        """
        out: list[Transition] = []
        index = self._index
        inf = INF
        for datastream_id, time, value in readings:
            steps = index.get(datastream_id)
            if steps is not None and -inf < value < inf:
                for step in steps:
                    step(time, value, out)
        return out

    def tick(self, now: float) -> list[Transition]:
        """Raise the no_data conditions whose datastream has been silent for more than their minutes."""
        out: list[Transition] = []
        for silence in self._silences:
            silence.tick(now, out)
        return out

    # ------------------------------------------------------------ rules

    def replace_rule(
        self, rule_id: RuleId, spec: r.Spec, *, now: float, history: Iterable[Reading] = ()
    ) -> list[Transition]:
        """Install a rule or a new version of it; every other rule keeps its state.

        With ``history`` (recent readings of the rule's datastreams, in order) the new version is evaluated
        over it as if it had always been in force, and alarms change — at ``now`` — only where it disagrees
        with the old version. Without history its windows start empty and its active alarms carry over.
        Sources the new version no longer watches are cleared.
        """
        old = {w.source: w for w in self._watches.get(rule_id, [])}
        new = _watches(rule_id, spec)
        warm = _warm(new, history)
        out: list[Transition] = []
        for watch in new:
            before = old.pop(watch.source, None)
            was = before is not None and before.active
            if not warm:
                if was:
                    watch.load_flags(before.state())  # type: ignore[union-attr]
            elif was != watch.active:
                detail = None if watch.active else f"the rule's new version: {watch.describe(False)}"
                out.append(watch.transition(now, watch.active, detail))
        for gone in old.values():
            if gone.active:
                out.append(gone.transition(now, False, "no longer watched by the rule's new version"))
        self._install(rule_id, spec, new)
        self._reindex()
        return out

    def remove_rule(self, rule_id: RuleId, *, now: float) -> list[Transition]:
        """Forget a rule; returns a clear for each of its active sources."""
        gone = self._watches.pop(rule_id, [])
        self._specs.pop(rule_id, None)
        self._fingerprints.pop(rule_id, None)
        self._reindex()
        return [w.transition(now, False, "the rule was removed") for w in gone if w.active]

    def rules_watching(self, datastream_ids: Iterable[int]) -> set[RuleId]:
        """The rules a reading on any of these datastreams can change (whose state to persist after a batch)."""
        wanted = set(datastream_ids)
        return {
            rule_id
            for rule_id, watches in self._watches.items()
            if any(ds in wanted for w in watches for ds, _ in w.entries())
        }

    def active(self) -> list[tuple[RuleId, Source]]:
        """The (rule, source) pairs whose condition is active: what should have an open alarm."""
        return [(w.rule_id, w.source) for watches in self._watches.values() for w in watches if w.active]

    # ------------------------------------------------------------ state

    def snapshot(self, rule_ids: Iterable[RuleId] | None = None) -> dict[str, Any]:
        """The engine's state as JSON-able data (all rules, or only ``rule_ids``); see ``restore``.

        Per rule: the fingerprint of its specification and, per source, whether it is active, since when the
        pending change holds, the time of the last reading taken, and the window's readings.
        """
        wanted = self._watches if rule_ids is None else {i: self._watches[i] for i in rule_ids if i in self._watches}
        return {
            "format": SNAPSHOT_FORMAT,
            "rules": {
                str(rule_id): {
                    "spec": self._fingerprints[rule_id],
                    "sources": {str(w.source): w.state() for w in watches},
                }
                for rule_id, watches in wanted.items()
            },
        }

    @classmethod
    def restore(cls, rules: Mapping[RuleId, r.Spec], snapshot: Mapping[str, Any]) -> Engine:
        """An engine for ``rules`` resumed from ``snapshot`` (or from several partial snapshots merged).

        A rule whose specification is the one the snapshot was taken with resumes exactly. One whose version
        changed since keeps only which sources are active (as ``replace_rule`` without history does); a rule
        missing from the snapshot starts fresh.
        """
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"unknown alert engine snapshot format {snapshot.get('format')!r}")
        engine = cls(rules)
        for rule_id, watches in engine._watches.items():
            saved = snapshot["rules"].get(str(rule_id))
            if saved is None:
                continue
            same = saved["spec"] == engine._fingerprints[rule_id]
            for watch in watches:
                state = saved["sources"].get(str(watch.source))
                if state is not None:
                    watch.load(state) if same else watch.load_flags(state)
        return engine

    # ------------------------------------------------------------ internals

    def _install(self, rule_id: RuleId, spec: r.Spec, watches: list[_Watch]) -> None:
        self._specs[rule_id] = spec
        self._fingerprints[rule_id] = _fingerprint(spec)
        self._watches[rule_id] = watches

    def _reindex(self) -> None:
        # In rule order, so transitions from one reading always come in the same order.
        index: dict[int, list[Step]] = {}
        for watches in self._watches.values():
            for watch in watches:
                for datastream, step in watch.entries():
                    index.setdefault(datastream, []).append(step)
        self._index = index
        self._silences = [w for ws in self._watches.values() for w in ws if isinstance(w, _Silence)]


def _fingerprint(spec: r.Spec) -> str:
    # A caller that restores an engine per batch reuses its parsed specs: digest each once.
    hit = _FINGERPRINTS.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_FINGERPRINTS) >= 10_000:
        _FINGERPRINTS.clear()
    digest = r.fingerprint(spec)
    _FINGERPRINTS[id(spec)] = (spec, digest)
    return digest


def _warm(watches: list[_Watch], history: Iterable[Reading]) -> bool:
    """Feed ``history`` to these watches only, dropping the transitions; False if there was none."""
    index: dict[int, list[Step]] = {}
    for watch in watches:
        for datastream, step in watch.entries():
            index.setdefault(datastream, []).append(step)
    scratch: list[Transition] = []
    seen = False
    for datastream_id, time, value in history:
        seen = True
        if -INF < value < INF:
            for step in index.get(datastream_id, ()):
                step(time, value, scratch)
    return seen


# ---------------------------------------------------------------- from the sensing module's event


def readings(observations: Iterable[Mapping[str, Any]]) -> list[Reading]:
    """(datastream, time, value) from the ``observations`` of a ``sensing.observations_created`` event.

    The time is the phenomenon time (its start, for an interval: the key sensing keeps unique per datastream).
    MultiDatastream observations and results that are not numbers are left out: rules watch numeric
    Datastreams.
    """
    found: list[Reading] = []
    seconds: dict[str, float] = {}  # a batch repeats its times across datastreams: parse each once
    for observation in observations:
        result = observation.get("result")
        if observation.get("multi") or isinstance(result, bool) or not isinstance(result, int | float):
            continue
        text = str(observation["phenomenonTime"])
        moment = seconds.get(text)
        if moment is None:
            start = text.split("/", 1)[0]
            moment = seconds[text] = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
        found.append((int(observation["datastream"]), moment, float(result)))
    return found
