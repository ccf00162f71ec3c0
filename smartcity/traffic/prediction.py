"""Bus arrival prediction at downstream stops: GTFS-RT delay propagation (the baseline) and historical run times.

Times inside this module are seconds after a service day's origin (as in ``TripSchedule``) unless a name says
epoch; a prediction adds the ``origin`` (the epoch second of that origin, ``Feed.service_origin``; pass 0 to stay
in service-day seconds).

- ``propagate`` is the consumer's side of GTFS-RT: StopTimeUpdates → an estimate for every stop of a trip, with
  the propagation rules of ``trip-updates.md`` (domain-standards.md §2.3).
- ``locate`` places a vehicle along its trip from a VehiclePosition; ``observed_delay`` reads its delay there.
- ``predict_baseline`` is the schedule plus that delay, propagated exactly as a consumer would (approach 1, §2.7).
- ``RunTimeModel`` learns mean stop-to-stop run times and dwell times per (route, stop pair, day type,
  time-of-day bin) from past observed trips and projects from the vehicle's position (approach 2, §2.7),
  falling back to the scheduled time of any segment it has no history for — which is the baseline.
- ``simulate`` makes "actual" trips for a feed with realistic delays; ``replay`` trains on the first days and
  scores both models on the last one (``evaluate``: MAE, RMSE, share within ±60 s / ±120 s by horizon).
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Literal

from smartcity.traffic.gtfs import Feed, TripSchedule, format_date

Relationship = Literal["SCHEDULED", "SKIPPED", "NO_DATA", "UNSCHEDULED"]
Status = Literal["INCOMING_AT", "STOPPED_AT", "IN_TRANSIT_TO"]
MAX_OFF_ROUTE_M = 400.0  # a position farther than this from every segment of the trip is not placed on it
IN_TRANSIT_FRACTION = {"INCOMING_AT": 0.9, "IN_TRANSIT_TO": 0.5}  # where on the segment, without a position
HORIZON_BINS = ((0, 300, "0–5 min"), (300, 600, "5–10 min"), (600, 1200, "10–20 min"), (1200, 1800, "20–30 min"))


# ---------------------------------------------------------------- GTFS-RT delay propagation (consumer side)


@dataclass(frozen=True, slots=True)
class StopUpdate:
    """One StopTimeUpdate as received: times are epoch seconds, delays seconds (positive = late)."""

    stop_sequence: int | None = None
    stop_id: str | None = None
    arrival_delay: int | None = None
    arrival_time: int | None = None
    departure_delay: int | None = None
    departure_time: int | None = None
    relationship: Relationship = "SCHEDULED"


@dataclass(frozen=True, slots=True)
class StopEstimate:
    """What the updates say about one stop of the trip; ``arrival``/``departure`` None means unknown — which is
    not "on time" (trip-updates.md: no data must not be shown as the schedule)."""

    stop_sequence: int
    stop_id: str
    arrival: int | None
    departure: int | None
    arrival_delay: int | None
    departure_delay: int | None
    skipped: bool = False

    @property
    def known(self) -> bool:
        return self.arrival is not None


def propagate(schedule: TripSchedule, origin: int, updates: Sequence[StopUpdate]) -> list[StopEstimate]:
    """An estimate for every stop of the trip from its StopTimeUpdates (in stop order), per GTFS-RT:

    - an update's delay propagates to the later stops until the next update;
    - ``SKIPPED`` marks its stop skipped and does not stop the propagation; ``SCHEDULED`` (with its own time or
      delay) and ``NO_DATA`` do — after ``NO_DATA`` stops are unknown until the next update with data;
    - stops before the first update are unknown; when ``time`` and ``delay`` are both given, ``time`` wins.

    Raises ValueError for an update that names no stop of the trip, or a SCHEDULED one with neither time nor delay.
    """
    matched = _match_updates(schedule, updates)
    out, delay = [], None
    for i in range(len(schedule)):
        update = matched.get(i)
        if update is not None and update.relationship == "NO_DATA":
            delay = None
        elif update is not None and update.relationship == "SKIPPED":
            out.append(_estimate(schedule, i, origin, None, None, skipped=True))
            continue
        elif update is not None:
            arrival_delay, delay = _update_delays(schedule, i, origin, update, delay)
            out.append(_estimate(schedule, i, origin, arrival_delay, delay))
            continue
        out.append(_estimate(schedule, i, origin, delay, delay))
    return out


def _match_updates(schedule: TripSchedule, updates: Sequence[StopUpdate]) -> dict[int, StopUpdate]:
    """Stop index → update: by stop_sequence when given, else by stop_id searching on from the previous match
    (a stop visited twice is matched in order)."""
    matched, after = {}, 0
    for u in updates:
        if u.stop_sequence is not None:
            index = schedule.index_of_sequence(u.stop_sequence)
        elif u.stop_id is not None:
            index = schedule.index_of_stop(u.stop_id, after)
        else:
            raise ValueError("a StopTimeUpdate needs stop_sequence or stop_id")
        if index is None:
            named = f"stop_sequence {u.stop_sequence}" if u.stop_sequence is not None else f"stop_id {u.stop_id!r}"
            raise ValueError(f"{named} is not a stop of trip {schedule.trip_id!r}")
        matched[index] = u
        after = index + 1
    return matched


def _update_delays(schedule: TripSchedule, i: int, origin: int, u: StopUpdate, incoming: int | None) -> tuple[int, int]:
    """(arrival delay, departure delay) an update sets at its stop; time wins over delay (reference.md,
    StopTimeEvent). A missing half takes the given half's delay, never leaving before arriving."""
    scheduled_arrival, scheduled_departure = origin + schedule.arrivals[i], origin + schedule.departures[i]
    arrival = u.arrival_time - scheduled_arrival if u.arrival_time is not None else u.arrival_delay
    departure = u.departure_time - scheduled_departure if u.departure_time is not None else u.departure_delay
    if arrival is None and departure is None:
        raise ValueError(f"the update for stop {schedule.stop_sequences[i]} has neither a time nor a delay")
    if arrival is None:  # it came in with the delay it had, unless that would have it leave before arriving
        arrival = departure if incoming is None else min(incoming, departure)  # type: ignore[type-var]
    if departure is None:
        departure = arrival
    return arrival, departure  # type: ignore[return-value]


def _estimate(
    s: TripSchedule, i: int, origin: int, arrival_delay: int | None, departure_delay: int | None, skipped: bool = False
) -> StopEstimate:
    arrival = origin + s.arrivals[i] + arrival_delay if arrival_delay is not None else None
    departure = origin + s.departures[i] + departure_delay if departure_delay is not None else None
    return StopEstimate(s.stop_sequences[i], s.stop_ids[i], arrival, departure, arrival_delay, departure_delay, skipped)


# ---------------------------------------------------------------- where a vehicle is


@dataclass(frozen=True, slots=True)
class VehicleLocation:
    """A vehicle on its trip: at stop ``index`` (``stopped``) or past it by ``fraction`` of the way to the next
    stop (0 = just left); ``observed_at`` in the same time base as the origin passed to the predictors."""

    index: int
    fraction: float
    stopped: bool
    observed_at: int
    off_route_m: float | None = None  # distance from the trip's path, when placed from a position


def locate(
    schedule: TripSchedule,
    *,
    observed_at: int,
    origin: int = 0,
    stop_sequence: int | None = None,
    stop_id: str | None = None,
    status: Status | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> VehicleLocation | None:
    """Place a vehicle on its trip from a VehiclePosition: ``current_stop_sequence`` (or ``stop_id``) with
    ``current_status`` when given (IN_TRANSIT_TO is the default, GTFS-RT reference), the position to say how far
    along the segment it is; else the nearest point of the trip's stop-to-stop path, ties broken by the schedule.
    Returns None when nothing places it (no stop, no position, or a position off the route)."""
    index = _stop_index(schedule, stop_sequence, stop_id, observed_at - origin)
    if index is not None:
        return _located_at_stop(schedule, index, status or "IN_TRANSIT_TO", observed_at, latitude, longitude)
    if latitude is None or longitude is None:
        return None
    return _nearest_on_path(schedule, latitude, longitude, observed_at, observed_at - origin)


def _stop_index(s: TripSchedule, stop_sequence: int | None, stop_id: str | None, t: int) -> int | None:
    if stop_sequence is not None:
        return s.index_of_sequence(stop_sequence)
    if stop_id is None:
        return None
    visits = [i for i, sid in enumerate(s.stop_ids) if sid == stop_id]  # a loop visits a stop twice
    return min(visits, key=lambda i: abs(s.arrivals[i] - t)) if visits else None


def _located_at_stop(
    s: TripSchedule, index: int, status: Status, observed_at: int, lat: float | None, lon: float | None
) -> VehicleLocation:
    if status == "STOPPED_AT" or index == 0:  # heading for the first stop: the trip has not started
        return VehicleLocation(index, 0.0, True, observed_at)
    if lat is None or lon is None:
        return VehicleLocation(index - 1, IN_TRANSIT_FRACTION[status], False, observed_at)
    fraction, off = _project(s, index - 1, lat, lon)
    return VehicleLocation(index - 1, min(fraction, 0.99), False, observed_at, off)


def _nearest_on_path(s: TripSchedule, lat: float, lon: float, observed_at: int, t: int) -> VehicleLocation | None:
    candidates = [(*_project(s, i, lat, lon), i) for i in range(len(s) - 1)]
    best = min(off for _, off, _ in candidates)
    if best > MAX_OFF_ROUTE_M:
        return None
    near = [c for c in candidates if c[1] <= best + 50.0]  # several segments close by: trust the schedule

    def scheduled_gap(c: tuple[float, float, int]) -> float:
        fraction, _, i = c
        return abs(s.departures[i] + fraction * (s.arrivals[i + 1] - s.departures[i]) - t)

    fraction, off, i = min(near, key=scheduled_gap)
    if fraction >= 0.999:
        return VehicleLocation(i + 1, 0.0, False, observed_at, off)
    return VehicleLocation(i, fraction, False, observed_at, off)


def _project(s: TripSchedule, i: int, lat: float, lon: float) -> tuple[float, float]:
    """(fraction along the segment from stop i to stop i+1, distance in metres) of the nearest point to (lat, lon),
    on a local flat projection — exact enough over a few hundred metres."""
    scale = 111_195.0  # metres per degree of latitude
    cos_lat = math.cos(math.radians(lat))
    ax, ay = (s.lons[i] - lon) * scale * cos_lat, (s.lats[i] - lat) * scale
    bx, by = (s.lons[i + 1] - lon) * scale * cos_lat, (s.lats[i + 1] - lat) * scale
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / length2))
    return t, math.hypot(ax + t * dx, ay + t * dy)


def observed_delay(schedule: TripSchedule, location: VehicleLocation, origin: int = 0) -> int:
    """Seconds late (negative: early) where the vehicle is now, against the schedule at that point. A vehicle
    standing at a stop within its scheduled dwell is on time; one standing past its departure is that late."""
    t, i = location.observed_at - origin, location.index
    arrival, departure = schedule.arrivals[i], schedule.departures[i]
    if location.stopped:
        return t - arrival if t < arrival else max(0, t - departure)
    if i >= len(schedule) - 1:
        return t - arrival
    here = departure + location.fraction * (schedule.arrivals[i + 1] - departure)
    return round(t - here)


# ---------------------------------------------------------------- predictions


@dataclass(slots=True)
class TripPrediction:
    """Predicted arrival and departure at the downstream stops of one trip run, as parallel lists (what a
    TripUpdate carries, built without per-stop objects). Times are epoch seconds when made with a real origin."""

    trip_id: str
    route_id: str
    direction_id: int | None
    start_date: str  # YYYYMMDD
    timestamp: int  # when the vehicle was observed
    delay: int  # the vehicle's delay where it was observed
    model: str
    stop_sequences: list[int] = field(default_factory=list)
    stop_ids: list[str] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    departures: list[int] = field(default_factory=list)
    arrival_delays: list[int] = field(default_factory=list)
    departure_delays: list[int] = field(default_factory=list)
    uncertainties: list[int] | None = None  # None: unknown (the baseline does not estimate one)
    vehicle_id: str | None = None
    start_time: str | None = None  # HH:MM:SS, for a frequency-based trip


def predict_baseline(
    schedule: TripSchedule, location: VehicleLocation, origin: int, service_date: date, *, until: int | None = None
) -> TripPrediction:
    """Schedule + the vehicle's current delay at every downstream stop: what a GTFS-RT consumer computes from one
    StopTimeUpdate with that delay at the next stop (``propagate``), without building the update. ``until``:
    leave out stops predicted more than that many seconds after the observation."""
    delay = observed_delay(schedule, location, origin)
    out = _prediction(schedule, location, service_date, delay, "baseline")
    first, end = _first_reported(schedule, location, origin), len(schedule)
    if until is not None:  # the stops whose predicted arrival is within the horizon
        latest = location.observed_at - origin - delay + until
        end = max(first, bisect_right(schedule.arrivals, latest, lo=first))
    arrivals = [a + delay for a in schedule.arrivals[first:end]]
    departures = [d + delay for d in schedule.departures[first:end]]
    _fill(out, schedule, first, arrivals, departures, origin)
    return out


def _first_reported(schedule: TripSchedule, location: VehicleLocation, origin: int) -> int:
    """The first stop to report: the next one — or, for a vehicle running early, the first stop it has already
    passed whose scheduled departure is still to come. Leaving those out would let a consumer show them as still
    to be served (trip-updates.md: keep a past StopTimeUpdate while its scheduled time is in the future)."""
    first = location.index + 1
    passed = location.index if location.stopped else location.index + 1  # stops before this one are behind it
    t = location.observed_at - origin
    while first > 0 and first - 1 < passed and schedule.departures[first - 1] > t:
        first -= 1
    return first


def _prediction(s: TripSchedule, loc: VehicleLocation, service_date: date, delay: int, model: str) -> TripPrediction:
    return TripPrediction(
        s.trip_id, s.route_id, s.direction_id, format_date(service_date), loc.observed_at, delay, model
    )


def _fill(
    out: TripPrediction, s: TripSchedule, first: int, arrivals: list[int], departures: list[int], origin: int
) -> None:
    """Put the predicted stops ``first``… (service-day seconds) into ``out`` as epoch seconds with their delays."""
    end = first + len(arrivals)
    out.stop_sequences = list(s.stop_sequences[first:end])
    out.stop_ids = list(s.stop_ids[first:end])
    out.arrival_delays = [a - sa for a, sa in zip(arrivals, s.arrivals[first:end], strict=True)]
    out.departure_delays = [d - sd for d, sd in zip(departures, s.departures[first:end], strict=True)]
    out.arrivals = [origin + a for a in arrivals]
    out.departures = [origin + d for d in departures]


# ---------------------------------------------------------------- historical run times


@dataclass(frozen=True, slots=True)
class ObservedTrip:
    """One trip as it really ran: arrival and departure seconds after the service day's origin at each stop of
    its schedule (None where no observation was recorded)."""

    trip_id: str
    service_date: date
    arrivals: tuple[int | None, ...]
    departures: tuple[int | None, ...]


def day_type(day: date) -> int:
    """0 for Monday–Friday, 1 for the weekend: traffic differs more between these than within them."""
    return 0 if day.weekday() < 5 else 1


_Bins = list[tuple[float, float] | None]  # per time-of-day bin: (mean seconds, standard deviation)


@dataclass
class RunTimeModel:
    """Mean run time per (route, from stop, to stop, day type) and dwell per (route, stop, day type), by
    time-of-day bin, learned with ``learn``. The tables are plain dicts of lists, storable as rows."""

    bin_seconds: int
    runs: dict[tuple[str, str, str, int], _Bins]
    dwells: dict[tuple[str, str, int], _Bins]
    _tables: dict[tuple[str, int], tuple[list, list]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def bins(self) -> int:
        return 86_400 // self.bin_seconds

    @classmethod
    def learn(
        cls,
        trips: Iterable[ObservedTrip],
        schedules: Mapping[str, TripSchedule],
        *,
        bin_minutes: int = 60,
        min_samples: int = 3,
    ) -> RunTimeModel:
        """Learn from past trips; a bin with fewer than ``min_samples`` observations is left empty (the
        prediction then uses the schedule for that segment). Raises KeyError for a trip not in ``schedules``."""
        bin_seconds = bin_minutes * 60
        bins = 86_400 // bin_seconds
        runs: dict = defaultdict(lambda: [[] for _ in range(bins)])
        dwells: dict = defaultdict(lambda: [[] for _ in range(bins)])
        for trip in trips:
            _collect(schedules[trip.trip_id], trip, bin_seconds, bins, runs, dwells)
        return cls(bin_seconds, _summarise(runs, min_samples), _summarise(dwells, min_samples))

    def predict(
        self,
        schedule: TripSchedule,
        location: VehicleLocation,
        origin: int,
        service_date: date,
        *,
        until: int | None = None,
    ) -> TripPrediction:
        """Arrivals projected from the vehicle's position with the learned run and dwell times of the bin each
        segment is entered in, the schedule's where there is no history; ``uncertainty`` is the width of ±1
        standard deviation of the summed times (0 never: a prediction is never exact)."""
        delay = observed_delay(schedule, location, origin)
        out = _prediction(schedule, location, service_date, delay, "historical")
        runs, dwells = self._trip_tables(schedule, day_type(service_date))
        now = location.observed_at - origin  # service-day seconds from here on
        start = schedule.departures[location.index] + delay if location.stopped else now
        left = 1.0 if location.stopped else 1.0 - location.fraction  # of the segment the vehicle is on
        limit = now + until if until is not None else None
        arrivals, departures, uncertainties = self._project(
            schedule, runs, dwells, location.index + 1, start, left, limit
        )
        first = _first_reported(schedule, location, origin)  # stops passed early: when they were passed
        behind = range(first, location.index + 1)
        arrivals[:0] = [schedule.arrivals[j] + delay for j in behind]
        departures[:0] = [schedule.departures[j] + delay for j in behind]
        out.uncertainties = [1] * len(behind) + uncertainties
        _fill(out, schedule, first, arrivals, departures, origin)
        return out

    def _project(
        self, s: TripSchedule, runs: list, dwells: list, first: int, t: float, left: float, limit: float | None
    ) -> tuple[list[int], list[int], list[int]]:
        """Arrival and departure seconds and uncertainty at stops ``first``… from time ``t`` with ``left`` of the
        first segment to go. One loop with everything local: it runs for every stop of every vehicle."""
        size, bins, sched_arr, sched_dep = self.bin_seconds, self.bins, s.arrivals, s.departures
        last = len(sched_arr) - 1
        arrivals: list[int] = []
        departures: list[int] = []
        uncertainties: list[int] = []
        variance = 0.0
        for j in range(first, last + 1):
            table = runs[j]
            found = table[int(t // size) % bins] if table is not None else None
            if found is None:  # no history: the schedule, and a guess at its spread
                run = sched_arr[j] - sched_dep[j - 1]
                var = (0.15 * run) ** 2
            else:
                run, var = found[0], found[1] * found[1]
            if j == first:
                run, var = run * left, var * left
            arrival = t + run
            if limit is not None and arrival > limit:
                break
            variance += var
            uncertainties.append(max(1, round(2 * math.sqrt(variance))))
            table = dwells[j] if j < last else None
            found = table[int(arrival // size) % bins] if table is not None else None
            if found is None:
                t = arrival + (sched_dep[j] - sched_arr[j] if j < last else 0)
            else:
                t = arrival + found[0]
                variance += found[1] * found[1]
            arrivals.append(round(arrival))
            departures.append(round(t))
        return arrivals, departures, uncertainties

    def _trip_tables(self, s: TripSchedule, kind: int) -> tuple[list, list]:
        """The per-bin tables of each segment and stop of a trip, looked up once per (trip, day type)."""
        key = (s.trip_id, kind)
        tables = self._tables.get(key)
        if tables is None:
            pairs = pairwise(s.stop_ids)
            runs = [None] + [self.runs.get((s.route_id, a, b, kind)) for a, b in pairs]
            dwells = [self.dwells.get((s.route_id, stop, kind)) for stop in s.stop_ids]
            tables = self._tables[key] = (runs, dwells)
        return tables


def _collect(s: TripSchedule, trip: ObservedTrip, bin_seconds: int, bins: int, runs: dict, dwells: dict) -> None:
    kind, route, arr, dep = day_type(trip.service_date), s.route_id, trip.arrivals, trip.departures
    for j in range(1, len(s)):
        if dep[j - 1] is not None and arr[j] is not None:
            key = (route, s.stop_ids[j - 1], s.stop_ids[j], kind)
            runs[key][int(dep[j - 1] // bin_seconds) % bins].append(arr[j] - dep[j - 1])
        if j < len(s) - 1 and arr[j] is not None and dep[j] is not None:
            dwells[(route, s.stop_ids[j], kind)][int(arr[j] // bin_seconds) % bins].append(dep[j] - arr[j])


def _summarise(samples: Mapping, min_samples: int) -> dict:
    return {key: [_mean_spread(b) if len(b) >= min_samples else None for b in bins] for key, bins in samples.items()}


def _mean_spread(values: list[float]) -> tuple[float, float]:
    """Mean and standard deviation, leaving out values more than 5 robust deviations from the median (a lost GPS
    fix, a breakdown). The mean, not the median: an arrival is the sum of many run and dwell times, and the sum's
    expected value is the sum of the means; medians of right-skewed times (red lights, queues) add up to a
    prediction that is early on average, more so the farther ahead it looks."""
    middle = statistics.median(values)
    reach = 5 * max(1.0, 1.4826 * statistics.median(abs(v - middle) for v in values))
    kept = [v for v in values if abs(v - middle) <= reach]
    return statistics.fmean(kept), statistics.pstdev(kept)


# ---------------------------------------------------------------- accuracy on replayed trips


@dataclass(frozen=True, slots=True)
class Accuracy:
    """One model at one prediction horizon: MAE and RMSE in seconds, shares of predictions within ±60 / ±120 s."""

    model: str
    horizon: str
    count: int
    mae: float
    rmse: float
    within_60: float
    within_120: float


Predict = Callable[[TripSchedule, VehicleLocation, int, date], TripPrediction]


def evaluate(
    schedules: Mapping[str, TripSchedule], trips: Iterable[ObservedTrip], models: Mapping[str, Predict]
) -> list[Accuracy]:
    """Score each model on observed trips: from every observed departure, predict the downstream arrivals and
    compare with what happened, binned by horizon (the real time to the arrival, ``HORIZON_BINS``)."""
    sums = {(name, label): [0, 0.0, 0.0, 0, 0] for name in models for _, _, label in HORIZON_BINS}
    horizon_end = HORIZON_BINS[-1][1]
    for trip in trips:
        s = schedules[trip.trip_id]
        for i in range(len(s) - 1):
            t = trip.departures[i]
            if t is None:
                continue
            location = VehicleLocation(i, 0.0, False, t)
            for name, predict in models.items():
                _score(predict(s, location, 0, trip.service_date), trip, s, i, horizon_end, name, sums)
    return [_accuracy(name, label, sums[(name, label)]) for name in models for _, _, label in HORIZON_BINS]


def _score(p: TripPrediction, trip: ObservedTrip, s: TripSchedule, i: int, end: int, name: str, sums: dict) -> None:
    """Add the errors of one prediction made on leaving stop ``i`` to ``sums``, by horizon; stops at or before
    ``i`` (reported because the bus ran early) are not predictions and are not scored."""
    t = trip.departures[i]
    first = s.index_of_sequence(p.stop_sequences[0]) if p.stop_sequences else None
    for k, predicted in enumerate(p.arrivals):
        j = first + k  # type: ignore[operator]
        actual = trip.arrivals[j]
        if j <= i or actual is None:
            continue
        horizon = actual - t  # type: ignore[operator]
        if horizon >= end:
            break
        label = next(lab for lo, hi, lab in HORIZON_BINS if lo <= horizon < hi)
        error = abs(predicted - actual)
        bucket = sums[(name, label)]
        bucket[0] += 1
        bucket[1] += error
        bucket[2] += error * error
        bucket[3] += error <= 60
        bucket[4] += error <= 120


def _accuracy(model: str, horizon: str, sums: list) -> Accuracy:
    n, total, squares, in60, in120 = sums
    if n == 0:
        return Accuracy(model, horizon, 0, math.nan, math.nan, math.nan, math.nan)
    return Accuracy(model, horizon, n, total / n, math.sqrt(squares / n), in60 / n, in120 / n)


# ---------------------------------------------------------------- replay simulator


@dataclass(frozen=True, slots=True)
class _Segment:
    """What a road segment is like, every day: free-flow speed and how much the morning and evening peaks slow it."""

    free_mps: float
    am: float
    pm: float


def simulate(
    feed: Feed,
    *,
    first_date: date,
    days: int,
    seed: int = 7,
    route_ids: Iterable[str] | None = None,
    missing: float = 0.01,
) -> list[list[ObservedTrip]]:
    """Synthetic "actual" runs of the feed's trips over ``days`` days from ``first_date``, one list per day.

    Persistent (the same every day, so history can learn them): each segment's free-flow speed and its own
    morning and evening peak slowdown (a quarter of segments are bottlenecks that slow a lot), a congestion
    factor per route, how busy each stop is. Varying: a day factor (weather), noise on every run and dwell,
    traffic-light waits, a late start from the terminus, and ``missing`` of the observations lost."""
    world = random.Random(seed)
    wanted = set(route_ids) if route_ids is not None else None
    schedules = [s for s in feed.schedules.values() if wanted is None or s.route_id in wanted]
    segments: dict[tuple[str, str, str], _Segment] = {}
    busy: dict[str, float] = {}
    congestion = {s.route_id: world.uniform(1.0, 1.3) for s in schedules}
    out = []
    for d in range(days):
        day = first_date + timedelta(days=d)
        rng = random.Random(f"{seed}-{day.isoformat()}")
        services = feed.services_on(day)
        factor = rng.lognormvariate(0.0, 0.06)
        runs = [
            _run(s, day, world, rng, segments, busy, congestion[s.route_id] * factor, missing)
            for s in schedules
            if s.service_id in services
        ]
        out.append(runs)
    return out


def _segment_of(world: random.Random, segments: dict, key: tuple[str, str, str]) -> _Segment:
    found = segments.get(key)
    if found is None:
        bottleneck = world.random() < 0.25
        peak = (0.8, 1.6) if bottleneck else (0.05, 0.4)
        found = segments[key] = _Segment(world.uniform(20.0, 28.0) / 3.6, world.uniform(*peak), world.uniform(*peak))
    return found


def _slowdown(segment: _Segment, t: float, weekend: bool) -> float:
    """How many times longer than free flow a segment takes when entered at service-day second ``t``."""
    hour = (t / 3600.0) % 24
    am = segment.am * math.exp(-(((hour - 8.0) / 1.0) ** 2) / 2)
    pm = segment.pm * math.exp(-(((hour - 18.0) / 1.2) ** 2) / 2)
    midday = 0.15 * math.exp(-(((hour - 13.0) / 2.0) ** 2) / 2)
    if weekend:
        return 1.0 + 0.4 * (am + pm) + 2 * midday
    return 1.0 + am + pm + midday


def _run(
    s: TripSchedule,
    day: date,
    world: random.Random,
    rng: random.Random,
    segments: dict,
    busy: dict,
    slow: float,
    missing: float,
) -> ObservedTrip:
    weekend = day.weekday() >= 5
    t = s.departures[0] + max(0.0, rng.gauss(20.0, 40.0))  # drivers never leave the terminus early
    arrivals: list[int | None] = [round(s.arrivals[0])]
    departures: list[int | None] = [round(t)]
    for j in range(1, len(s)):
        segment = _segment_of(world, segments, (s.route_id, s.stop_ids[j - 1], s.stop_ids[j]))
        length = s.distances[j] - s.distances[j - 1]
        run = length / segment.free_mps * _slowdown(segment, t, weekend) * slow * rng.lognormvariate(0.0, 0.12)
        run += rng.uniform(0.0, 45.0) if rng.random() < 0.3 else 0.0  # a red light
        t += run
        arrivals.append(round(t))
        if j < len(s) - 1:
            t += _dwell_seconds(s.stop_ids[j], t, world, rng, busy)
        departures.append(round(t))
    lost = [rng.random() < missing for _ in range(len(s))]
    return ObservedTrip(
        s.trip_id,
        day,
        tuple(None if gone else a for a, gone in zip(arrivals, lost, strict=True)),
        tuple(None if gone else d for d, gone in zip(departures, lost, strict=True)),
    )


def _dwell_seconds(stop_id: str, t: float, world: random.Random, rng: random.Random, busy: dict) -> float:
    if stop_id not in busy:
        busy[stop_id] = world.uniform(0.5, 2.0)
    if rng.random() < 0.1:
        return 0.0  # nobody to board or alight: the bus does not stop
    hour = (t / 3600.0) % 24
    peak = 1.5 if 7 <= hour < 9.5 or 16.5 <= hour < 19.5 else 1.0
    return 6.0 + rng.gammavariate(2.0, 6.0 * busy[stop_id] * peak)


@dataclass(frozen=True, slots=True)
class Replay:
    """The accuracy table of a replay and what it was made from."""

    rows: list[Accuracy]
    train_days: tuple[date, ...]
    test_day: date
    trips_trained: int
    trips_tested: int
    model: RunTimeModel


def replay(
    feed: Feed,
    *,
    first_date: date = date(2026, 3, 2),
    days: int = 8,
    seed: int = 7,
    route_ids: Iterable[str] | None = None,
    bin_minutes: int = 60,
) -> Replay:
    """Simulate ``days`` days, learn run times from all but the last, score the baseline and the historical model
    side by side on the last day. The default starts on a Monday, so 8 days test on a Monday."""
    simulated = simulate(feed, first_date=first_date, days=days, seed=seed, route_ids=route_ids)
    schedules = feed.schedules
    train = [trip for day in simulated[:-1] for trip in day]
    model = RunTimeModel.learn(train, schedules, bin_minutes=bin_minutes)
    rows = evaluate(schedules, simulated[-1], {"baseline": predict_baseline, "historical": model.predict})
    train_days = tuple(first_date + timedelta(days=d) for d in range(days - 1))
    return Replay(rows, train_days, first_date + timedelta(days=days - 1), len(train), len(simulated[-1]), model)
