"""The demo city's sensor feeds: realistic, repeatable readings for the synthetic stations of
``data/demo-sensors.json``; the demo Things that carry them; and writing them, live or as back-filled
history, through the ingest service (here) or over the network as a device would (``remote.py``).

The generator is a set of pure functions from (station, quantity, time, seed) to a value, or to None for a
gap: the same seed gives the same city every time, whichever way and at whichever step it is written.
Faults are part of it, so that rules have something real to catch (see docs/sensing.md, "Demo feeds"):

- **stuck sensor**: the turbidity probe of the Huacao station (``SZR-03``) is fouled and repeats one value;
- **dropout**: the Changfeng Park station (``SZR-05``) loses power once a day for 60–90 minutes;
- **spikes**: ammonia nitrogen and turbidity readings of the river stations jump 3–4 times, one reading
  in about 700 (debris on the probe);
- **lost readings**: any reading goes missing with a chance of 1 in 500 (a lost packet).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.sensing import service
from smartcity.sensing.entities import SETS
from smartcity.sensing.models import Datastream, ObservedProperty, Sensor, Thing

LOGGER = logging.getLogger(__name__)
STATIONS_FILE = Path(__file__).parent / "data" / "demo-sensors.json"
DEFAULT_SEED = 2026
DEVICE_ACCOUNT = "device"  # the demo's device account (smartcity/demo/service.py) writes every demo Thing
BATCH_ROWS = 5000  # readings per write: one transaction, one CreateObservations request
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"
QUDT = "http://qudt.org/vocab/unit/"
SHANGHAI = 8 * 3600  # UTC+8, no daylight saving time
DAY, HOUR, MINUTE = 86_400, 3600, 60


# ---------------------------------------------------------------- kinds as data


@dataclass(frozen=True)
class Quantity:
    """What a datastream measures, with its unit (UCUM symbol) and the physical bounds of its values.
    ``decimals`` None: a count, sent as an integer. ``interval``: each reading sums the time since the
    previous one, so its phenomenonTime is an interval ``start/end``."""

    key: str
    name: str
    name_en: str
    unit: str
    symbol: str
    unit_definition: str
    sensor: str
    minimum: float
    maximum: float
    decimals: int | None
    interval: bool = False

    @property
    def definition(self) -> str:
        return f"urn:smartcity:def:quantity:{self.key}"


QUANTITIES = {
    q.key: q
    for q in (
        Quantity("water_level", "水位", "Water level", "metre", "m", QUDT + "M", "water-level", 0, 8, 2),
        Quantity("dissolved_oxygen", "溶解氧", "Dissolved oxygen", "milligram per litre", "mg/L",
                 QUDT + "MilliGM-PER-L", "dissolved-oxygen", 0, 20, 2),
        Quantity("ammonia_nitrogen", "氨氮", "Ammonia nitrogen", "milligram per litre", "mg/L",
                 QUDT + "MilliGM-PER-L", "ammonia", 0, 30, 3),
        Quantity("turbidity", "浊度", "Turbidity", "nephelometric turbidity unit", "NTU", QUDT + "NTU",
                 "turbidity", 0, 1000, 1),
        Quantity("rainfall", "降雨量", "Rainfall", "millimetre", "mm", QUDT + "MilliM", "rain-gauge", 0, 300, 1,
                 interval=True),
        Quantity("load", "负荷", "Load", "kilowatt", "kW", QUDT + "KiloW", "feeder-meter", 0, 20_000, 1),
        Quantity("pressure", "管网压力", "Pressure", "megapascal", "MPa", QUDT + "MegaPA", "hydrant", 0, 1.6, 3),
        Quantity("occupancy", "占用车位", "Occupied spaces", "vehicles", "{vehicles}", QUDT + "NUM",
                 "car-park", 0, 5000, None),
        Quantity("speed", "平均车速", "Mean speed", "kilometre per hour", "km/h", QUDT + "KiloM-PER-HR",
                 "vehicle-detector", 0, 150, 1),
        Quantity("flow", "断面流量", "Flow", "vehicles per hour", "{vehicles}/h", QUDT + "NUM-PER-HR",
                 "vehicle-detector", 0, 12_000, None),
    )
}  # fmt: skip


@dataclass(frozen=True)
class SensorKind:
    key: str
    name: str
    description: str


SENSORS = {
    s.key: s
    for s in (
        SensorKind("water-level", "压力式水位计", "Pressure water-level gauge (Wusong datum)"),
        SensorKind("dissolved-oxygen", "荧光法溶解氧仪", "Optical (luminescence) dissolved-oxygen probe"),
        SensorKind("ammonia", "氨氮在线分析仪", "Online ammonia-nitrogen analyser (salicylate method)"),
        SensorKind("turbidity", "浊度仪", "Nephelometric turbidity meter"),
        SensorKind("rain-gauge", "翻斗式雨量计", "Tipping-bucket rain gauge, 0.1 mm resolution"),
        SensorKind("feeder-meter", "馈线智能电表", "Smart meter on a 10 kV distribution feeder"),
        SensorKind("hydrant", "消火栓压力监测终端", "Pressure sensor on a municipal fire hydrant"),
        SensorKind("car-park", "停车场出入口计数器", "Entry/exit counter of a car park"),
        SensorKind("vehicle-detector", "微波车辆检测器", "Side-fired microwave vehicle detector (speed and flow)"),
    )
}


@dataclass(frozen=True)
class Kind:
    key: str
    name: str
    name_en: str
    quantities: tuple[str, ...]


KINDS = {
    k.key: k
    for k in (
        Kind("river-station", "苏州河水文水质站", "Suzhou River monitoring station",
             ("water_level", "dissolved_oxygen", "ammonia_nitrogen", "turbidity")),
        Kind("rain-gauge", "雨量站", "Rain gauge", ("rainfall",)),
        Kind("smart-meter", "馈线智能电表", "Feeder smart meter", ("load",)),
        Kind("hydrant", "智能消火栓", "Smart fire hydrant", ("pressure",)),
        Kind("car-park", "停车场", "Car park", ("occupancy",)),
        Kind("road-detector", "道路检测器", "Road detector", ("speed", "flow")),
    )
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class Station:
    """One demo Thing: where it is, what it measures, and the parameters of its simulation (``model``)."""

    code: str
    kind: str
    name: str
    name_en: str
    district: str
    lon: float
    lat: float
    properties: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def quantities(self) -> tuple[str, ...]:
        return KINDS[self.kind].quantities

    def thing_properties(self) -> dict[str, Any]:
        """What later modules read (rules, traffic): machine-readable, and marked synthetic."""
        return {
            "kind": self.kind,
            "code": self.code,
            "district": self.district,
            "name_en": self.name_en,
            **self.properties,
            "synthetic": True,
            "note": "Demo city: a plausible placement, not a real asset.",
        }


@lru_cache(maxsize=4)
def load_stations(path: Path = STATIONS_FILE) -> tuple[Station, ...]:
    """The demo stations of the data file, in its order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(Station(**row) for row in data["stations"])


def station(code: str) -> Station:
    found = next((s for s in load_stations() if s.code == code), None)
    if found is None:
        raise KeyError(f"no demo station {code!r}")
    return found


# ---------------------------------------------------------------- repeatable noise


def _uniform(seed: int, *key: object) -> float:
    """A number in [0, 1) fixed by the seed and the key: the same call always gives the same number."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _normal(seed: int, *key: object) -> float:
    """Standard normal, by Box–Muller from two repeatable uniforms."""
    radius = math.sqrt(-2 * math.log(1 - _uniform(seed, *key, "r")))
    return radius * math.cos(2 * math.pi * _uniform(seed, *key, "a"))


def _smooth(seed: int, key: str, t: float, period: float) -> float:
    """Slowly wandering noise: normal values every ``period`` seconds, cosine-interpolated between."""
    knot = math.floor(t / period)
    fraction = t / period - knot
    before, after = _normal(seed, key, knot), _normal(seed, key, knot + 1)
    weight = (1 - math.cos(math.pi * fraction)) / 2
    return before + (after - before) * weight


# ---------------------------------------------------------------- the clock of the city


def _hour(t: float) -> float:
    """Hour of the day in Shanghai, 0 ≤ h < 24."""
    return ((t + SHANGHAI) % DAY) / HOUR


def _local_day(t: float) -> int:
    return int((t + SHANGHAI) // DAY)


def _weekend(t: float) -> bool:
    return (_local_day(t) + 3) % 7 >= 5  # day 0 (1970-01-01) was a Thursday


@lru_cache(maxsize=1024)
def _season(day: int) -> tuple[int, float]:
    """(month, summer): summer is 0 in late January and 1 in late July."""
    date = datetime.fromtimestamp(day * DAY, UTC)
    summer = (1 - math.cos(2 * math.pi * (date.timetuple().tm_yday - 22) / 365.25)) / 2
    return date.month, summer


def _bump(hour: float, centre: float, width: float) -> float:
    """A bell around ``centre`` o'clock, across midnight too."""
    distance = (hour - centre + 12) % 24 - 12
    return math.exp(-0.5 * (distance / width) ** 2)


def _rise(hour: float, at: float, width: float) -> float:
    return 1 / (1 + math.exp(-(hour - at) / width))


# ---------------------------------------------------------------- rain: storm cells drifting over the city

STORM_SLOT = 6 * HOUR  # a storm cell starts within a slot and lasts less than one
STORM_CHANCE = 0.10  # per slot and cell, scaled by the month
RAIN_SEASON = (0.5, 0.6, 0.8, 0.8, 0.9, 1.6, 1.4, 1.5, 1.1, 0.6, 0.5, 0.4)  # plum rains, then typhoons
KM_PER_DEG_LAT, KM_PER_DEG_LON = 111.0, 95.0  # at 31° N


@dataclass(frozen=True)
class Storm:
    start: int
    end: int
    peak_mm_h: float
    lon: float
    lat: float
    radius_km: float
    east_kmh: float
    north_kmh: float


@lru_cache(maxsize=4096)
def _storms(seed: int, slot: int) -> tuple[Storm, ...]:
    """The storm cells that start in a six-hour slot. Each is a few to tens of kilometres wide, so
    neighbouring districts share it; it drifts east, as Shanghai's weather mostly does."""
    month, _ = _season(_local_day(slot * STORM_SLOT))
    cells = []
    for cell in range(2):
        u = partial(_uniform, seed, "storm", slot, cell)
        if u("happens") >= STORM_CHANCE * RAIN_SEASON[month - 1]:
            continue
        start = slot * STORM_SLOT + int(u("start") * STORM_SLOT) // MINUTE * MINUTE
        cells.append(
            Storm(
                start=start,
                end=start + HOUR + int(u("duration") * 4 * HOUR),
                peak_mm_h=3 + 57 * u("peak") ** 2,
                lon=120.75 + 1.3 * u("lon"),
                lat=30.65 + 1.1 * u("lat"),
                radius_km=10 + 25 * u("radius"),
                east_kmh=10 + 30 * u("east"),
                north_kmh=-10 + 20 * u("north"),
            )
        )
    return tuple(cells)


def rain_rate(lon: float, lat: float, t: float, seed: int = DEFAULT_SEED) -> float:
    """Rain intensity (mm/h) at a point and instant."""
    rate = 0.0
    slot = int(t // STORM_SLOT)
    for storm in (*_storms(seed, slot - 1), *_storms(seed, slot)):
        if not storm.start <= t < storm.end:
            continue
        hours = (t - storm.start) / HOUR
        east = (lon - storm.lon) * KM_PER_DEG_LON - storm.east_kmh * hours
        north = (lat - storm.lat) * KM_PER_DEG_LAT - storm.north_kmh * hours
        shape = math.sin(math.pi * (t - storm.start) / (storm.end - storm.start)) ** 2
        rate += storm.peak_mm_h * shape * math.exp(-0.5 * (east**2 + north**2) / storm.radius_km**2)
    return rate


def rainfall(lon: float, lat: float, start: int, end: int, seed: int = DEFAULT_SEED) -> float:
    """Rain (mm) that fell on a point in (start, end], minute by minute: sums over adjoining intervals add up."""
    first, last = start // MINUTE, end // MINUTE
    slots = range((first * MINUTE) // STORM_SLOT - 1, (last * MINUTE) // STORM_SLOT + 1)
    if not any(_storms(seed, slot) for slot in slots):
        return 0.0
    return sum(rain_rate(lon, lat, (m + 0.5) * MINUTE, seed) for m in range(first, last)) / 60


@lru_cache(maxsize=65_536)
def _rate_at_quarter(seed: int, lon: float, lat: float, quarter: int) -> float:
    return rain_rate(lon, lat, quarter * 900, seed)


def _recent_rain(seed: int, lon: float, lat: float, t: float) -> float:
    """Rain of the last eight hours, weighted by how long ago it fell (a three-hour memory): what runs off
    into the river, raising its level and washing in ammonia and silt."""
    now = int(t // 900)
    return sum(_rate_at_quarter(seed, lon, lat, now - k) * 0.25 * math.exp(-k / 12) for k in range(32))


# ---------------------------------------------------------------- the models, one per quantity

M2, S2, K1 = 12.4206012 * HOUR, 12.0 * HOUR, 23.9344696 * HOUR  # principal lunar, solar and diurnal tides


def _tide(t: float) -> float:
    """Semi-diurnal tide with its spring–neap cycle and a diurnal inequality; about ±1.4 at springs."""
    tau = 2 * math.pi
    return math.cos(tau * t / M2) + 0.27 * math.cos(tau * t / S2 + 1.1) + 0.12 * math.cos(tau * t / K1 + 0.4)


def _water_level(s: Station, t: int, _start: int, seed: int) -> float:
    m = s.model
    tide = m["tide_m"] * _tide(t - m["tide_lag_min"] * MINUTE)  # the tide reaches upstream stations later
    runoff = 0.015 * _recent_rain(seed, s.lon, s.lat, t)
    return m["mean_m"] + tide + runoff + 0.03 * _smooth(seed, s.code + "/level", t, 1800)


def _dissolved_oxygen(s: Station, t: int, _start: int, seed: int) -> float:
    _, summer = _season(_local_day(t))
    warm_afternoon = _bump(_hour(t), 15, 3)  # warm water holds less oxygen
    value = s.model["do_mg_l"] - 1.5 * summer - 0.6 * warm_afternoon - 0.04 * _recent_rain(seed, s.lon, s.lat, t)
    return value + 0.3 * _smooth(seed, s.code + "/do", t, 3 * HOUR) + 0.05 * _normal(seed, s.code, "do", t)


def _ammonia(s: Station, t: int, _start: int, seed: int) -> float:
    washed_in = 0.03 * _recent_rain(seed, s.lon, s.lat, t)  # storm overflows after rain
    morning_sewage = 0.15 * _bump(_hour(t), 8.5, 2)
    value = s.model["nh3_mg_l"] * (1 + 0.12 * _smooth(seed, s.code + "/nh3", t, 4 * HOUR))
    return value + washed_in + morning_sewage + 0.01 * _normal(seed, s.code, "nh3", t)


def _turbidity(s: Station, t: int, _start: int, seed: int) -> float:
    silt = 1.5 * _recent_rain(seed, s.lon, s.lat, t)
    value = s.model["turbidity_ntu"] * (1 + 0.15 * _smooth(seed, s.code + "/ntu", t, 2 * HOUR))
    return value + silt + 0.8 * _normal(seed, s.code, "ntu", t)


def _rainfall(s: Station, t: int, start: int, seed: int) -> float:
    return rainfall(s.lon, s.lat, start, t, seed)


@dataclass(frozen=True)
class LoadProfile:
    """A feeder's day as a share of its base load: night valley, morning and evening peaks, afternoon."""

    night: float
    morning: float
    evening: float
    afternoon: float
    morning_at: float
    evening_at: float
    weekend: float


LOAD_PROFILES = {
    "residential": LoadProfile(0.40, 0.30, 0.60, 0.15, 8.0, 20.0, 1.05),
    "commercial": LoadProfile(0.35, 0.55, 0.40, 0.35, 10.5, 19.0, 0.80),
    "mixed": LoadProfile(0.40, 0.45, 0.50, 0.25, 9.5, 19.5, 0.90),
    "industrial": LoadProfile(0.55, 0.35, 0.30, 0.30, 9.0, 18.5, 0.75),
}


def _load(s: Station, t: int, _start: int, seed: int) -> float:
    p = LOAD_PROFILES[s.properties["profile"]]
    h = _hour(t)
    day = p.morning * _bump(h, p.morning_at, 1.8) + p.evening * _bump(h, p.evening_at, 2.0)
    day += p.afternoon * _bump(h, 14.5, 3.0)
    if _weekend(t):
        day *= p.weekend
    _, summer = _season(_local_day(t))
    climate = 1 + 0.3 * summer**2 + 0.12 * (1 - summer) ** 2  # air conditioning, then heating
    noise = 1 + 0.03 * _smooth(seed, s.code + "/load", t, HOUR) + 0.01 * _normal(seed, s.code, "load", t)
    return s.model["base_kw"] * (p.night + day) * climate * noise


PRESSURE_SLOT = 6 * HOUR
PRESSURE_DROP_CHANCE = 0.03  # per hydrant and slot: about one drop a day somewhere among twelve hydrants


def _pressure_drop(s: Station, t: int, seed: int) -> float | None:
    """The pressure a main falls to during a drop (a burst, a fire fighting draw), or None."""
    slot = t // PRESSURE_SLOT
    for candidate in (slot - 1, slot):
        u = partial(_uniform, seed, "drop", s.code, candidate)
        if u("happens") >= PRESSURE_DROP_CHANCE:
            continue
        start = candidate * PRESSURE_SLOT + int(u("start") * PRESSURE_SLOT)
        length = 20 * MINUTE + int(u("length") * 40 * MINUTE)
        if start <= t < start + length:
            return 0.06 + 0.06 * u("depth")
    return None


def _pressure(s: Station, t: int, _start: int, seed: int) -> float:
    h = _hour(t)
    value = s.model["base_mpa"] + 0.035 * _bump(h, 3, 2)  # little demand at night: pressure rises
    value -= 0.02 * _bump(h, 7.5, 1.3) + 0.025 * _bump(h, 19.5, 1.6)
    value += 0.004 * _smooth(seed, s.code + "/mpa", t, 1800) + 0.0015 * _normal(seed, s.code, "mpa", t)
    dropped = _pressure_drop(s, t, seed)
    return value if dropped is None else dropped + 0.005 * _normal(seed, s.code, "drop", t)


def _occupied_share(use: str, h: float, weekend: bool) -> float:
    if use == "park-and-ride":  # commuters park before the first train home
        if weekend:
            return 0.06 + 0.25 * _bump(h, 13, 3)
        return 0.05 + 0.88 * _rise(h, 7.6, 0.4) * (1 - _rise(h, 18.6, 0.5))
    if use == "office":
        return 0.08 + (0.12 if weekend else 0.82) * _rise(h, 8.8, 0.4) * (1 - _rise(h, 18.5, 0.6))
    crowd = 0.55 * _bump(h, 14.5, 2.2) + 0.70 * _bump(h, 19.5, 1.6)  # shopping
    return 0.08 + crowd * (1.25 if weekend else 1.0) * _rise(h, 9.5, 0.5)


def _occupancy(s: Station, t: int, _start: int, seed: int) -> float:
    share = _occupied_share(s.properties["use"], _hour(t), _weekend(t))
    share += 0.03 * _smooth(seed, s.code + "/occ", t, 2700)
    return s.properties["capacity"] * min(max(share, 0.0), 1.0)


def _demand(s: Station, t: int, seed: int) -> float:
    """Traffic demand on a road as a share of its capacity: rush hours on weekdays, a midday hump at weekends."""
    h = _hour(t)
    strength = 0.85 + 0.3 * _uniform(seed, s.code, "rush")
    if _weekend(t):
        return 0.08 + 0.45 * _bump(h, 11, 2.5) + 0.5 * _bump(h, 16.5, 3)
    rush = 0.75 * _bump(h, 8.0, 1.1) + 0.80 * _bump(h, 18.0, 1.3)
    return 0.06 + strength * rush + 0.45 * _bump(h, 13, 3.5) * (1 - _bump(h, 3, 3))


def _congestion(s: Station, t: int, seed: int) -> tuple[float, float]:
    """(congestion 0–1, demand): above 60 % of capacity traffic starts to jam."""
    demand = _demand(s, t, seed) * (1 + 0.05 * _smooth(seed, s.code + "/demand", t, 900))
    return min(max((demand - 0.6) / 0.45, 0.0), 1.0), demand


def _speed(s: Station, t: int, _start: int, seed: int) -> float:
    congestion, _ = _congestion(s, t, seed)
    free_flow = s.properties["free_flow_kmh"]
    return free_flow * (1 - 0.72 * congestion) * (1 + 0.04 * _normal(seed, s.code, "kmh", t))


LANE_CAPACITY = {"expressway": 1800, "arterial": 800}  # vehicles an hour per lane


def _flow(s: Station, t: int, _start: int, seed: int) -> float:
    congestion, demand = _congestion(s, t, seed)
    capacity = s.properties["lanes"] * LANE_CAPACITY[s.properties["road_class"]]
    served = min(demand, 1.0) * (1 - 0.3 * congestion)  # a jam moves fewer vehicles than free flow
    return capacity * served * (1 + 0.05 * _normal(seed, s.code, "veh", t))


MODELS = {
    "water_level": _water_level,
    "dissolved_oxygen": _dissolved_oxygen,
    "ammonia_nitrogen": _ammonia,
    "turbidity": _turbidity,
    "rainfall": _rainfall,
    "load": _load,
    "pressure": _pressure,
    "occupancy": _occupancy,
    "speed": _speed,
    "flow": _flow,
}


# ---------------------------------------------------------------- faults

STUCK = ("SZR-03", "turbidity")  # a fouled probe: repeats the value it read when it stuck
STUCK_SINCE = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
DROPOUT = "SZR-05"  # loses power once a day for 60–90 minutes: every quantity of the station is missing
SPIKES = {"ammonia_nitrogen": 3.0, "turbidity": 4.0}
SPIKE_CHANCE = 0.0015  # per reading minute
LOST_CHANCE = 0.002  # per reading minute, any stream


def dropout_window(day: int, seed: int = DEFAULT_SEED) -> tuple[int, int]:
    """(start, end) in epoch seconds of the dropout on a Shanghai calendar day (days since 1970-01-01)."""
    midnight = day * DAY - SHANGHAI
    start = midnight + HOUR + int(_uniform(seed, "dropout", day) * 20 * HOUR) // MINUTE * MINUTE
    return start, start + HOUR + int(_uniform(seed, "dropout", day, "length") * 30) * MINUTE


def _missing(s: Station, quantity: str, t: int, seed: int) -> bool:
    if s.code == DROPOUT:
        start, end = dropout_window(_local_day(t), seed)
        if start <= t < end:
            return True
    return _uniform(seed, "lost", s.code, quantity, t // MINUTE) < LOST_CHANCE


def _spiked(s: Station, quantity: str, t: int, seed: int) -> bool:
    return quantity in SPIKES and _uniform(seed, "spike", s.code, quantity, t // MINUTE) < SPIKE_CHANCE


# ---------------------------------------------------------------- one reading


def value_at(s: Station, quantity: str, t: int, start: int | None = None, seed: int = DEFAULT_SEED) -> float | None:
    """The reading of a station's quantity at epoch second ``t`` (rounded as the device sends it), or None
    when it is missing. For rainfall it is the rain of (start, t] (default: the minute before)."""
    q = QUANTITIES[quantity]
    if _missing(s, quantity, t, seed):
        return None
    if (s.code, quantity) == STUCK:
        t = STUCK_SINCE
    start = t - MINUTE if start is None else start
    value = MODELS[quantity](s, t, start, seed)
    if _spiked(s, quantity, t, seed) and (s.code, quantity) != STUCK:
        value *= SPIKES[quantity]
    upper = s.properties.get("capacity", q.maximum) if quantity == "occupancy" else q.maximum
    value = min(max(value, q.minimum), upper)
    return round(value) if q.decimals is None else round(value, q.decimals)


def reading(
    s: Station, quantity: str, at: datetime, *, seed: int = DEFAULT_SEED, start: datetime | None = None
) -> float | None:
    """:func:`value_at` with date-times."""
    return value_at(s, quantity, int(at.timestamp()), int(start.timestamp()) if start else None, seed)


# ---------------------------------------------------------------- what to write


@dataclass
class Feed:
    """A demo datastream and the end of its newest stored reading (None: nothing stored yet)."""

    datastream_id: int
    station: Station
    quantity: str
    last: int | None = None


RAIN_CATCH_UP = HOUR  # a gauge back within the hour reports the rain it counted meanwhile


def iso_time(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(feeds: list[Feed], times: list[int], step: int, seed: int = DEFAULT_SEED) -> list[tuple[int, dict[str, Any]]]:
    """The readings to send for ``times`` (epoch seconds, ascending): ``(datastream id, Observation)`` pairs,
    none at or before what a datastream already has. Advances each feed's ``last``."""
    items = []
    for feed in feeds:
        interval = QUANTITIES[feed.quantity].interval
        for t in times:
            if feed.last is not None and t <= feed.last:
                continue
            start = t - step
            if interval and feed.last is not None and t - feed.last <= RAIN_CATCH_UP:
                start = feed.last
            value = value_at(feed.station, feed.quantity, t, start, seed)
            if value is None:
                continue
            moment = f"{iso_time(start)}/{iso_time(t)}" if interval else iso_time(t)
            items.append((feed.datastream_id, {"phenomenonTime": moment, "result": value}))
            feed.last = t
    return items


class Sender(Protocol):
    """Where the readings go: the database, the SensorThings HTTP API or an MQTT broker."""

    def feeds(self) -> list[Feed]: ...

    def send(self, items: list[tuple[int, dict[str, Any]]]) -> int: ...


class FeedError(Exception):
    """A problem a person must fix (the platform is unreachable, the key is wrong…); ``exit_code`` 2 for
    configuration, 1 for everything else."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Progress:
    ticks: int
    sent: int


def floor_time(t: float, step: int) -> int:
    return int(t // step * step)


def backfill_times(hours: float, step: int, now: datetime | None = None) -> list[int]:
    """The instants (epoch seconds, multiples of ``step``) of the last ``hours``, up to now."""
    end = floor_time((now or utcnow()).timestamp(), step)
    return list(range(floor_time(end - hours * HOUR, step) + step, end + step, step))


def backfill_batches(
    sender: Sender, hours: float, step: int = 300, *, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> Iterator[Progress]:
    """Write the history of the last ``hours`` at ``step`` seconds, batch by batch, starting after each
    datastream's newest stored reading (so a second run writes only what is new)."""
    feeds = sender.feeds()
    if not feeds:
        raise FeedError("The demo stations are not there: run `smartcity demo` first.")
    times = backfill_times(hours, step, now)
    per_batch = max(1, BATCH_ROWS // len(feeds))
    for first in range(0, len(times), per_batch):
        chunk = times[first : first + per_batch]
        items = plan(feeds, chunk, step, seed)
        yield Progress(len(chunk), sender.send(items) if items else 0)


def tick(sender: Sender, interval: int = 60, *, seed: int = DEFAULT_SEED, now: datetime | None = None) -> int:
    """Write the readings of the current instant (now, down to a multiple of ``interval``); returns how many
    were taken."""
    feeds = sender.feeds()
    if not feeds:
        raise FeedError("The demo stations are not there: run `smartcity demo` first.")
    items = plan(feeds, [floor_time((now or utcnow()).timestamp(), interval)], interval, seed)
    return sender.send(items) if items else 0


# ---------------------------------------------------------------- the demo Things in the database


def _json(text: str | None) -> dict[str, Any]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def _shared(session: Session, model: Any, key: str) -> dict[str, int]:
    """Ids of the shared Sensors or ObservedProperties the demo made, by their key."""
    rows = session.execute(select(model.id, model.properties)).all()
    return {_json(props)[key]: row_id for row_id, props in rows if key in _json(props)}


def _ensure_shared(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    sensors = _shared(session, Sensor, "sensor")
    for kind in SENSORS.values():
        if kind.key not in sensors:
            body = {"name": kind.name, "description": kind.description, "encodingType": "text/plain",
                    "metadata": kind.description, "properties": {"sensor": kind.key, "synthetic": True}}  # fmt: skip
            sensors[kind.key] = service.create(session, SETS["Sensors"], body).id
    properties = _shared(session, ObservedProperty, "quantity")
    for q in QUANTITIES.values():
        if q.key not in properties:
            body = {"name": q.name, "definition": q.definition, "description": q.name_en,
                    "properties": {"quantity": q.key, "name_en": q.name_en}}  # fmt: skip
            properties[q.key] = service.create(session, SETS["ObservedProperties"], body).id
    return sensors, properties


def _datastream(s: Station, quantity: str, sensors: dict[str, int], properties: dict[str, int]) -> dict[str, Any]:
    q = QUANTITIES[quantity]
    return {
        "name": f"{s.name} {q.name}",
        "description": f"{q.name_en} at {s.name_en}",
        "observationType": COUNT if q.decimals is None else MEASUREMENT,
        "unitOfMeasurement": {"name": q.unit, "symbol": q.symbol, "definition": q.unit_definition},
        "properties": {"quantity": q.key},
        "Sensor": {"@iot.id": sensors[q.sensor]},
        "ObservedProperty": {"@iot.id": properties[q.key]},
    }


def _thing(s: Station, sensors: dict[str, int], properties: dict[str, int]) -> dict[str, Any]:
    kind = KINDS[s.kind]
    return {
        "name": s.name,
        "description": f"{kind.name}（演示，合成） / {kind.name_en} (demo, synthetic)",
        "properties": s.thing_properties(),
        "Locations": [
            {
                "name": s.name,
                "description": s.name_en,
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [s.lon, s.lat]},
            }
        ],
        "Datastreams": [_datastream(s, quantity, sensors, properties) for quantity in s.quantities],
    }


def _demo_things(session: Session) -> dict[str, int]:
    """Thing ids of the demo stations already stored, by station code."""
    codes = {s.code for s in load_stations()}
    found = {}
    for thing_id, text in session.execute(select(Thing.id, Thing.properties)):
        props = _json(text)
        if props.get("synthetic") is True and props.get("code") in codes:
            found[props["code"]] = thing_id
    return found


def ensure_demo_things(session: Session, *, device: str | None = DEVICE_ACCOUNT) -> int:
    """Create whatever of the demo stations is missing — Things with their Location and Datastreams, the
    Sensors and ObservedProperties shared per quantity — and bind every demo Thing to the ``device``
    account. Returns the number of Things created (0 on a second run). Raises NotFound when the device
    account does not exist."""
    sensors, properties = _ensure_shared(session)
    things = _demo_things(session)
    present: dict[int, set[str]] = {}
    for thing_id, text in session.execute(
        select(Datastream.thing_id, Datastream.properties).where(Datastream.thing_id.in_(things.values()))
    ):
        present.setdefault(thing_id, set()).add(_json(text).get("quantity", ""))
    created = 0
    for s in load_stations():
        thing_id = things.get(s.code)
        if thing_id is None:
            thing_id = service.create(session, SETS["Things"], _thing(s, sensors, properties)).id
            created += 1
        else:
            for quantity in s.quantities:
                if quantity not in present.get(thing_id, set()):
                    body = _datastream(s, quantity, sensors, properties) | {"Thing": {"@iot.id": thing_id}}
                    service.create(session, SETS["Datastreams"], body)
        if device:
            service.bind_device(session, thing_id, device)
    return created


def demo_feeds(session: Session) -> list[Feed]:
    """The demo datastreams stored in the database, with the end of each one's newest reading."""
    stations = {s.code: s for s in load_stations()}
    things = {thing_id: stations[code] for code, thing_id in _demo_things(session).items()}
    rows = session.execute(
        select(Datastream.id, Datastream.thing_id, Datastream.properties, Datastream.phenomenon_time_end)
        .where(Datastream.thing_id.in_(things))
        .order_by(Datastream.id)
    )
    feeds = []
    for datastream_id, thing_id, text, end in rows:
        quantity = _json(text).get("quantity")
        if quantity in things[thing_id].quantities:
            last = int(end.timestamp()) if end is not None else None
            feeds.append(Feed(datastream_id, things[thing_id], quantity, last))
    return feeds


@dataclass
class SessionSender:
    """Writes through the ingest service in the caller's transaction (the caller commits)."""

    session: Session

    def feeds(self) -> list[Feed]:
        return demo_feeds(self.session)

    def send(self, items: list[tuple[int, dict[str, Any]]]) -> int:
        return sum(reason is None for reason in service.ingest(self.session, items, via="simulate"))


@dataclass
class DatabaseSender:
    """Writes through the ingest service, one transaction per batch."""

    database: Any  # smartcity.core.db.Database
    actor: str = "simulate"

    def feeds(self) -> list[Feed]:
        with self.database.session(actor=self.actor) as session:
            return demo_feeds(session)

    def send(self, items: list[tuple[int, dict[str, Any]]]) -> int:
        with self.database.session(actor=self.actor) as session:
            return SessionSender(session).send(items)


def backfill(
    session: Session, hours: float, step: int = 300, *, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> int:
    """Write the demo history of the last ``hours`` into the session's transaction; returns the number of
    readings stored. A second run stores only what is newer than what is there."""
    return sum(p.sent for p in backfill_batches(SessionSender(session), hours, step, seed=seed, now=now))


# ---------------------------------------------------------------- live in the app (SMARTCITY_DEMO_FEEDS)


class DemoFeeds:
    """A background thread of the app: first fills the gap since the newest stored reading (up to
    ``catch_up_hours``), then writes one tick through the database every ``interval`` seconds."""

    def __init__(
        self, database: Any, *, interval: int = 60, seed: int = DEFAULT_SEED, catch_up_hours: float = 24
    ) -> None:
        self.sender = DatabaseSender(database, actor="demo-feeds")
        self.interval, self.seed, self.catch_up_hours = interval, seed, catch_up_hours
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="demo-feeds", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)

    def _run(self) -> None:
        try:
            for _ in backfill_batches(self.sender, self.catch_up_hours, 300, seed=self.seed):
                if self.stopping.is_set():
                    return
        except FeedError as exc:
            LOGGER.warning("demo feeds are off: %s", exc)
            return
        except Exception:
            LOGGER.exception("catching up the demo feeds failed")
        while not self.stopping.wait(self.interval - utcnow().timestamp() % self.interval):
            try:
                tick(self.sender, self.interval, seed=self.seed)
            except Exception:  # a failed tick is logged; the next one tries again
                LOGGER.exception("a demo feed tick failed")
