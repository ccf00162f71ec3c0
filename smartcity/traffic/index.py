"""Road traffic state index: segment levels 1–5, network index per scheme (data/index-schemes.json), and history.

One cycle (5 or 15 min) at a time, vectorised over the segments (docs/standards §1):

- a segment's level comes from its average speed and the thresholds of its road class (§1.2);
- each covered segment weighs by its vehicle-km (VKT): volume × length when volumes are known, otherwise the
  class-weighted form of DB11/T 785 (§1.3), ``w_i = share[c] · L_i / L_c`` with ``L_c`` the covered length of
  class c in the group, so each class counts with its configured VKT share whatever its mileage;
- per group (a district, the city): congested-mileage ratio R = Σ w·congested / Σ w, travel time index
  TTI = Σ w·(free-flow / speed) / Σ w, TomTom's congestion % = (TTI − 1) × 100 (§1.6), and each scheme's value:
  R or TTI through piecewise-linear breakpoints, then its band.

Segments without a speed this cycle are left out, and the share of the network's length that had one is reported.
Schemes, thresholds, breakpoints and shares are data, not code; several constants are unverified (the file says
which and why).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartcity.traffic.network import ROAD_CLASSES, SegmentArrays

SCHEMES_FILE = Path(__file__).resolve().parent / "data" / "index-schemes.json"
METHODS = ("congested_ratio", "tti")
CONFIDENCES = ("V", "P", "M")
LEVELS = (1, 2, 3, 4, 5)
NO_DATA = 0  # the level of a segment without a speed this cycle
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# --- the scheme file -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    level: int  # 1 畅通 … 5 严重拥堵
    code: str
    zh: str
    en: str
    colour: str  # "#rrggbb"


@dataclass(frozen=True)
class Band:
    lower: float  # the band holds values from here up to the next band's lower (the last one up to the range end)
    code: str
    zh: str
    en: str
    colour: str


@dataclass(frozen=True)
class Scheme:
    code: str
    zh: str
    en: str
    method: str  # "congested_ratio": R → value; "tti": TTI → value
    range: tuple[float, float]
    breakpoints: tuple[tuple[float, float], ...]  # (R or TTI, value), x increasing; clamped at both ends
    bands: tuple[Band, ...]
    congested_levels: tuple[int, ...]  # the levels counted in R (method congested_ratio)
    confidence: str
    source: str

    def value_of(self, x: ArrayLike) -> NDArray[np.float64]:
        """The scheme's value for R or TTI, linear between breakpoints and held at the end ones (NaN stays NaN)."""
        xs, ys = zip(*self.breakpoints, strict=True)
        x = np.asarray(x, dtype=np.float64)
        return np.where(np.isnan(x), np.nan, np.interp(x, xs, ys))

    def band_of(self, value: ArrayLike) -> NDArray[np.int8]:
        """Position in ``bands`` of each value, -1 for NaN."""
        value = np.asarray(value, dtype=np.float64)
        lowers = np.array([b.lower for b in self.bands])
        band = np.searchsorted(lowers, np.nan_to_num(value, nan=lowers[0]), side="right") - 1
        return np.where(np.isnan(value), -1, np.maximum(band, 0)).astype(np.int8)


@dataclass(frozen=True)
class FrequentRule:
    """What "frequently congested" means (DB11/T 785-2011 §5.5 常发拥堵路段): the defaults are ours."""

    min_share: float  # congested in at least this share of the observed peak cycles
    days: int  # over the last this many days
    weekdays_only: bool
    peaks: tuple[tuple[int, int], ...]  # (first, end) minutes of the local day, end excluded
    timezone_offset_hours: float  # local time = UTC + this (Shanghai: 8, no daylight saving)


@dataclass(frozen=True)
class Provenance:
    confidence: str  # V verified, P secondary page, M no source found
    source: str


@dataclass(frozen=True)
class IndexConfig:
    levels: tuple[Level, ...]
    thresholds_kmh: Mapping[str, tuple[float, float, float, float]]  # road class → lower limits of levels 1..4
    congested_levels: tuple[int, ...]
    min_speed_kmh: float
    vkt_shares: Mapping[str, float]  # road class → share, summing to 1
    frequent: FrequentRule
    schemes: Mapping[str, Scheme]
    provenance: Mapping[str, Provenance]  # per section of the file: speed_thresholds, congestion, vkt_shares, …

    @cached_property
    def threshold_matrix(self) -> NDArray[np.float64]:
        """Thresholds as a (road class code, 4) array, descending along each row."""
        return np.array([self.thresholds_kmh[c] for c in ROAD_CLASSES], dtype=np.float64)

    @cached_property
    def share_vector(self) -> NDArray[np.float64]:
        return np.array([self.vkt_shares[c] for c in ROAD_CLASSES], dtype=np.float64)

    def level(self, level: int) -> Level:
        return self.levels[level - 1]


class SchemeError(ValueError):
    """The scheme file was refused; ``problems`` lists every problem with its path in the file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("index scheme file refused:\n" + "\n".join(self.problems))


@cache
def load_config(path: Path = SCHEMES_FILE) -> IndexConfig:
    """The index configuration in ``path`` (the packaged file by default); raises SchemeError when it is wrong."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SchemeError([f"{path}: {exc}"]) from exc
    return parse_config(doc)


def parse_config(doc: Any) -> IndexConfig:
    """An IndexConfig from a parsed scheme document; raises SchemeError listing every problem found."""
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise SchemeError(["the document must be a JSON object"])
    classes = doc.get("road_classes")
    if classes != list(ROAD_CLASSES):
        problems.append(f"road_classes: must be {list(ROAD_CLASSES)} in this order (the class codes), not {classes!r}")
    levels = _levels(doc.get("levels"), problems)
    thresholds = _thresholds(_section(doc, "speed_thresholds", problems).get("kmh"), problems)
    congestion = _section(doc, "congestion", problems)
    congested = _level_list(congestion.get("levels"), "congestion.levels", problems)
    min_speed = _number(congestion.get("min_speed_kmh"), "congestion.min_speed_kmh", problems, positive=True)
    shares = _shares(_section(doc, "vkt_shares", problems).get("shares"), problems)
    frequent = _frequent(_section(doc, "frequent_congestion", problems), problems)
    schemes = _schemes(doc.get("schemes"), problems)
    provenance = {
        name: Provenance(doc[name].get("confidence"), doc[name].get("source"))
        for name in ("speed_thresholds", "congestion", "vkt_shares", "frequent_congestion")
        if isinstance(doc.get(name), Mapping)
    }
    if problems:
        raise SchemeError(problems)
    return IndexConfig(
        levels=levels,
        thresholds_kmh=thresholds,
        congested_levels=congested,
        min_speed_kmh=min_speed,
        vkt_shares=shares,
        frequent=frequent,
        schemes=schemes,
        provenance=provenance,
    )


def _section(doc: Mapping[str, Any], name: str, problems: list[str]) -> Mapping[str, Any]:
    section = doc.get(name)
    if not isinstance(section, Mapping):
        problems.append(f"{name}: missing (an object with confidence, source and its values)")
        return {}
    _provenance(section, name, problems)
    return section


def _provenance(obj: Mapping[str, Any], path: str, problems: list[str]) -> None:
    if obj.get("confidence") not in CONFIDENCES:
        problems.append(f"{path}.confidence: must be one of {', '.join(CONFIDENCES)}, not {obj.get('confidence')!r}")
    if not isinstance(obj.get("source"), str) or not obj["source"].strip():
        problems.append(f"{path}.source: say where the values come from")


def _number(value: Any, path: str, problems: list[str], *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{path}: must be a number, not {value!r}")
        return math.nan
    if positive and value <= 0:
        problems.append(f"{path}: must be above 0, not {value!r}")
    return float(value)


def _text(obj: Mapping[str, Any], key: str, path: str, problems: list[str]) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{path}.{key}: must be a non-empty string")
        return ""
    return value


def _colour(obj: Mapping[str, Any], path: str, problems: list[str]) -> str:
    colour = obj.get("colour")
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        problems.append(f"{path}.colour: must be #rrggbb in lower case, not {colour!r}")
        return ""
    return colour


def _levels(raw: Any, problems: list[str]) -> tuple[Level, ...]:
    if not isinstance(raw, list) or [x.get("level") if isinstance(x, Mapping) else None for x in raw] != list(LEVELS):
        problems.append("levels: must list the levels 1 to 5 in order, each an object")
        return ()
    return tuple(
        Level(
            level=x["level"],
            code=_text(x, "code", f"levels[{i}]", problems),
            zh=_text(x, "zh", f"levels[{i}]", problems),
            en=_text(x, "en", f"levels[{i}]", problems),
            colour=_colour(x, f"levels[{i}]", problems),
        )
        for i, x in enumerate(raw)
    )


def _thresholds(raw: Any, problems: list[str]) -> dict[str, tuple[float, float, float, float]]:
    if not isinstance(raw, Mapping) or set(raw) != set(ROAD_CLASSES):
        problems.append(f"speed_thresholds.kmh: must give each of {', '.join(ROAD_CLASSES)} once")
        return {}
    out = {}
    for road_class in ROAD_CLASSES:
        path = f"speed_thresholds.kmh.{road_class}"
        row = raw[road_class]
        if not isinstance(row, list) or len(row) != 4:
            problems.append(f"{path}: must be 4 speeds (the lower limits of levels 1 to 4)")
            continue
        speeds = [_number(v, f"{path}[{k}]", problems, positive=True) for k, v in enumerate(row)]
        if not all(a > b for a, b in itertools.pairwise(speeds)):
            problems.append(f"{path}: must fall strictly from level 1 to level 4, not {row!r}")
        out[road_class] = (speeds[0], speeds[1], speeds[2], speeds[3])
    return out


def _level_list(raw: Any, path: str, problems: list[str]) -> tuple[int, ...]:
    if not isinstance(raw, list) or not raw or any(x not in LEVELS or isinstance(x, bool) for x in raw):
        problems.append(f"{path}: must be a non-empty list of levels 1 to 5, not {raw!r}")
        return ()
    if len(set(raw)) != len(raw):
        problems.append(f"{path}: a level is listed twice")
    return tuple(sorted(raw))


def _shares(raw: Any, problems: list[str]) -> dict[str, float]:
    if not isinstance(raw, Mapping) or set(raw) != set(ROAD_CLASSES):
        problems.append(f"vkt_shares.shares: must give each of {', '.join(ROAD_CLASSES)} once")
        return {}
    shares = {c: _number(raw[c], f"vkt_shares.shares.{c}", problems) for c in ROAD_CLASSES}
    if any(v < 0 for v in shares.values()):
        problems.append("vkt_shares.shares: a share cannot be negative")
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        problems.append(f"vkt_shares.shares: must add up to 1, not {total:g}")
    return shares


def _frequent(raw: Mapping[str, Any], problems: list[str]) -> FrequentRule:
    path = "frequent_congestion"
    share = _number(raw.get("min_share"), f"{path}.min_share", problems, positive=True)
    if share > 1:
        problems.append(f"{path}.min_share: a share, at most 1, not {share:g}")
    days = raw.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        problems.append(f"{path}.days: must be a whole number of days ≥ 1, not {days!r}")
    if not isinstance(raw.get("weekdays_only"), bool):
        problems.append(f"{path}.weekdays_only: must be true or false")
    return FrequentRule(
        min_share=share,
        days=days if isinstance(days, int) else 0,
        weekdays_only=bool(raw.get("weekdays_only")),
        peaks=_peaks(raw.get("peaks"), f"{path}.peaks", problems),
        timezone_offset_hours=_number(raw.get("timezone_offset_hours"), f"{path}.timezone_offset_hours", problems),
    )


def _peaks(raw: Any, path: str, problems: list[str]) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f'{path}: must be a non-empty list of ["HH:MM", "HH:MM"] windows')
        return ()
    peaks = []
    for k, window in enumerate(raw):
        clocks = [_CLOCK.match(x) if isinstance(x, str) else None for x in window] if isinstance(window, list) else []
        if len(clocks) != 2 or not all(clocks):
            problems.append(f'{path}[{k}]: must be ["HH:MM", "HH:MM"], not {window!r}')
            continue
        first, end = (int(m.group(1)) * 60 + int(m.group(2)) for m in clocks if m)
        if end <= first:
            problems.append(f"{path}[{k}]: must end after it starts (windows across midnight: give two)")
        peaks.append((first, end))
    return tuple(peaks)


def _schemes(raw: Any, problems: list[str]) -> dict[str, Scheme]:
    if not isinstance(raw, list) or not raw:
        problems.append("schemes: must be a non-empty list")
        return {}
    schemes: dict[str, Scheme] = {}
    for k, item in enumerate(raw):
        path = f"schemes[{k}]"
        if not isinstance(item, Mapping):
            problems.append(f"{path}: must be an object")
            continue
        scheme = _scheme(item, path, problems)
        if scheme.code in schemes:
            problems.append(f"{path}.code: {scheme.code!r} is used by an earlier scheme")
        schemes[scheme.code] = scheme
    return schemes


def _scheme(item: Mapping[str, Any], path: str, problems: list[str]) -> Scheme:
    code = _text(item, "code", path, problems)
    path = f"{path} ({code})" if code else path
    _provenance(item, path, problems)
    method = item.get("method")
    if method not in METHODS:
        problems.append(f"{path}.method: must be one of {', '.join(METHODS)}, not {method!r}")
    span = _range(item.get("range"), f"{path}.range", problems)
    congested = ()
    if method == "congested_ratio":
        congested = _level_list(item.get("congested_levels"), f"{path}.congested_levels", problems)
    return Scheme(
        code=code,
        zh=_text(item, "zh", path, problems),
        en=_text(item, "en", path, problems),
        method=method if method in METHODS else "",
        range=span,
        breakpoints=_breakpoints(item.get("breakpoints"), span, f"{path}.breakpoints", problems),
        bands=_bands(item.get("bands"), span, f"{path}.bands", problems),
        congested_levels=congested,
        confidence=item.get("confidence", ""),
        source=item.get("source", ""),
    )


def _range(raw: Any, path: str, problems: list[str]) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2:
        problems.append(f"{path}: must be [lowest, highest]")
        return (math.nan, math.nan)
    low, high = _number(raw[0], f"{path}[0]", problems), _number(raw[1], f"{path}[1]", problems)
    if not low < high:
        problems.append(f"{path}: the lowest value must be below the highest")
    return (low, high)


def _breakpoints(
    raw: Any, span: tuple[float, float], path: str, problems: list[str]
) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(p, list) and len(p) == 2 for p in raw):
        problems.append(f"{path}: must be at least 2 [x, value] pairs")
        return ()
    points = tuple(
        (_number(x, f"{path}[{k}][0]", problems), _number(y, f"{path}[{k}][1]", problems))
        for k, (x, y) in enumerate(raw)
    )
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if not all(a < b for a, b in itertools.pairwise(xs)):
        problems.append(f"{path}: x must increase strictly")
    if not all(a <= b for a, b in itertools.pairwise(ys)):
        problems.append(f"{path}: values must not fall as x grows")
    if not all(span[0] <= y <= span[1] for y in ys):
        problems.append(f"{path}: values must lie in the range {list(span)}")
    return points


def _bands(raw: Any, span: tuple[float, float], path: str, problems: list[str]) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(b, Mapping) for b in raw):
        problems.append(f"{path}: must be a non-empty list of objects")
        return ()
    bands = tuple(
        Band(
            lower=_number(b.get("lower"), f"{path}[{k}].lower", problems),
            code=_text(b, "code", f"{path}[{k}]", problems),
            zh=_text(b, "zh", f"{path}[{k}]", problems),
            en=_text(b, "en", f"{path}[{k}]", problems),
            colour=_colour(b, f"{path}[{k}]", problems),
        )
        for k, b in enumerate(raw)
    )
    lowers = [b.lower for b in bands]
    if lowers[0] != span[0]:
        problems.append(f"{path}[0].lower: the first band must start at the range's lowest value {span[0]:g}")
    if not all(a < b for a, b in itertools.pairwise(lowers)) or lowers[-1] >= span[1]:
        problems.append(f"{path}: lower bounds must increase and stay below the range's highest value")
    return bands


# --- one cycle ---------------------------------------------------------------------------------------------------


def segment_levels(config: IndexConfig, class_code: ArrayLike, speed_kmh: ArrayLike) -> NDArray[np.int8]:
    """Level 1–5 of each segment from its speed and road class (§1.2 table); NO_DATA (0) where the speed is
    missing (NaN) or negative."""
    speed = np.asarray(speed_kmh, dtype=np.float64)
    limits = config.threshold_matrix[np.asarray(class_code, dtype=np.intp)]
    # thresholds fall along a row, so the count of limits at or above v is how many levels v has dropped
    level = 1 + (speed[:, None] <= limits).sum(axis=1, dtype=np.int8)
    return np.where(np.isfinite(speed) & (speed >= 0), level, NO_DATA).astype(np.int8)


@dataclass(frozen=True, eq=False)
class SchemeValue:
    value: NDArray[np.float64]  # per group; NaN where the group had no covered segment
    band: NDArray[np.int8]  # per group, position in the scheme's bands; -1 where value is NaN


@dataclass(frozen=True, eq=False)
class CycleIndex:
    """One cycle's traffic state: per segment (position in the SegmentArrays) and per group (code)."""

    levels: NDArray[np.int8]  # per segment, 1–5, NO_DATA (0) without a speed
    segment_tti: NDArray[np.float64]  # per segment, free-flow / speed, at least 1; NaN without a speed
    weighting: str  # "volume" (volume × length) or "class_shares" (the configured VKT shares)
    congested_ratio: NDArray[np.float64]  # per group, VKT-weighted, levels config.congested_levels
    tti: NDArray[np.float64]  # per group, VKT-weighted
    congestion_pct: NDArray[np.float64]  # per group, TomTom style: (TTI − 1) × 100
    coverage: NDArray[np.float64]  # per group, share of the network's length with a speed this cycle
    covered: NDArray[np.int64]  # per group, segments with a speed
    segments: NDArray[np.int64]  # per group, all segments
    schemes: Mapping[str, SchemeValue]


def compute_index(
    config: IndexConfig,
    arrays: SegmentArrays,
    speed_kmh: ArrayLike,
    *,
    volumes: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    n_groups: int | None = None,
    schemes: Sequence[str] | None = None,
) -> CycleIndex:
    """The traffic state of one cycle.

    ``speed_kmh`` holds each segment's average speed this cycle (NaN: no data). ``volumes`` (vehicles in the cycle,
    NaN: unknown) switches the weights from the configured class shares to volume × length; a segment without a
    volume then counts as not covered. ``groups`` gives each segment a group code 0…n_groups-1 (a district); without
    it everything is group 0, the city. ``schemes`` picks scheme codes (all by default). Raises ValueError when an
    array does not match the segments or a scheme is unknown.
    """
    speed = _per_segment(speed_kmh, arrays, "speed_kmh")
    group, n = _groups(groups, n_groups, len(arrays))
    levels = segment_levels(config, arrays.class_code, speed)
    covered = levels != NO_DATA
    weighting = "class_shares"
    if volumes is not None:
        volume = _per_segment(volumes, arrays, "volumes")
        covered &= np.isfinite(volume) & (volume >= 0)
        weights = np.where(covered, np.nan_to_num(volume) * arrays.length_m, 0.0)
        weighting = "volume"
    else:
        weights = _class_share_weights(config, arrays, covered, group, n)
    tti_seg = np.where(covered, arrays.free_flow_kmh / np.maximum(np.nan_to_num(speed), config.min_speed_kmh), np.nan)
    # a segment above its free-flow speed has no delay; letting it go below 1 would offset jams elsewhere
    tti_seg = np.maximum(tti_seg, 1.0)
    total = np.bincount(group, weights, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        tti = np.bincount(group, weights * np.nan_to_num(tti_seg), minlength=n) / total
        ratios = {tuple(config.congested_levels): _ratio(levels, config.congested_levels, weights, group, n, total)}
        all_length = np.bincount(group, arrays.length_m, minlength=n)
        coverage = np.bincount(group, arrays.length_m * covered, minlength=n) / all_length
    tti = np.where(total > 0, tti, np.nan)
    values = {}
    for code in schemes if schemes is not None else config.schemes:
        scheme = _scheme_named(config, code)
        if scheme.method == "tti":
            x = tti
        else:
            key = tuple(scheme.congested_levels)
            if key not in ratios:
                ratios[key] = _ratio(levels, key, weights, group, n, total)
            x = ratios[key]
        value = scheme.value_of(x)
        values[code] = SchemeValue(value=value, band=scheme.band_of(value))
    return CycleIndex(
        levels=levels,
        segment_tti=tti_seg,
        weighting=weighting,
        congested_ratio=ratios[tuple(config.congested_levels)],
        tti=tti,
        congestion_pct=(tti - 1.0) * 100.0,
        coverage=coverage,
        covered=np.bincount(group, covered, minlength=n).astype(np.int64),
        segments=np.bincount(group, minlength=n).astype(np.int64),
        schemes=values,
    )


def _per_segment(values: ArrayLike, arrays: SegmentArrays, name: str) -> NDArray[np.float64]:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (len(arrays),):
        raise ValueError(f"{name}: expected {len(arrays)} values (one per segment), got shape {out.shape}")
    return out


def _groups(groups: ArrayLike | None, n_groups: int | None, size: int) -> tuple[NDArray[np.intp], int]:
    if groups is None:
        return np.zeros(size, dtype=np.intp), 1
    group = np.asarray(groups, dtype=np.intp)
    if group.shape != (size,):
        raise ValueError(f"groups: expected {size} group codes (one per segment), got shape {group.shape}")
    if size and group.min() < 0:
        raise ValueError("groups: codes must be 0 or more")
    n = int(group.max()) + 1 if size else 0
    if n_groups is not None:
        if n > n_groups:
            raise ValueError(f"groups: code {n - 1} is not below n_groups={n_groups}")
        n = n_groups
    return group, n


def _class_share_weights(
    config: IndexConfig, arrays: SegmentArrays, covered: NDArray[np.bool_], group: NDArray[np.intp], n: int
) -> NDArray[np.float64]:
    """w_i = share[class] · L_i / (covered length of that class in the group): DB11/T 785's class-weighted form."""
    n_classes = len(ROAD_CLASSES)
    cell = group * n_classes + arrays.class_code
    covered_length = np.where(covered, arrays.length_m, 0.0)
    class_length = np.bincount(cell, covered_length, minlength=n * n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = config.share_vector[arrays.class_code] * covered_length / class_length[cell]
    return np.nan_to_num(weights)


def _ratio(
    levels: NDArray[np.int8],
    congested_levels: Sequence[int],
    weights: NDArray[np.float64],
    group: NDArray[np.intp],
    n: int,
    total: NDArray[np.float64],
) -> NDArray[np.float64]:
    congested = np.zeros(len(LEVELS) + 1, dtype=bool)
    congested[list(congested_levels)] = True
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.bincount(group, weights * congested[levels], minlength=n) / total
    return np.where(total > 0, ratio, np.nan)


def _scheme_named(config: IndexConfig, code: str) -> Scheme:
    if code not in config.schemes:
        raise ValueError(f"unknown index scheme {code!r}; known: {', '.join(config.schemes)}")
    return config.schemes[code]


# --- history -----------------------------------------------------------------------------------------------------


def congested_mask(levels: ArrayLike, congested_levels: Sequence[int]) -> NDArray[np.bool_]:
    """True where a level (any shape, e.g. cycles × segments) is one of ``congested_levels``."""
    table = np.zeros(len(LEVELS) + 1, dtype=bool)
    table[list(congested_levels)] = True
    return table[np.asarray(levels, dtype=np.intp)]


@dataclass(frozen=True, eq=False)
class Duration:
    total_minutes: NDArray[np.float64]  # per column: cycles congested × cycle length
    longest_minutes: NDArray[np.float64]  # per column: the longest unbroken run


def congestion_duration(congested: ArrayLike, cycle_minutes: float) -> Duration:
    """Congestion duration (DB11/T 785-2011 §5.4) per column of a cycles × columns mask, consecutive cycles in rows.

    Columns are segments (``congested_mask`` of their levels) or groups (e.g. ``scheme value ≥ 6`` per district).
    A cycle without data is not congested, so it ends a run.
    """
    mask = np.asarray(congested, dtype=bool)
    if mask.ndim == 1:
        mask = mask[:, None]
    count = np.cumsum(mask, axis=0, dtype=np.int64)
    # count at the last uncongested cycle so far; the run at t is count[t] minus it
    last_break = np.maximum.accumulate(np.where(mask, 0, count), axis=0)
    longest = (count - last_break).max(axis=0) if len(mask) else np.zeros(mask.shape[1], np.int64)
    total = count[-1] if len(mask) else np.zeros(mask.shape[1], np.int64)
    return Duration(total_minutes=total * float(cycle_minutes), longest_minutes=longest * float(cycle_minutes))


def peak_cycles(times_s: ArrayLike, rule: FrequentRule) -> NDArray[np.bool_]:
    """True for cycle start times (POSIX seconds, UTC) inside a peak window of local time (and a weekday if asked).

    Public holidays are not known here: the caller leaves their cycles out when it matters.
    """
    local = np.asarray(times_s, dtype=np.float64) + rule.timezone_offset_hours * 3600.0
    minute = (local % 86400.0) // 60.0
    in_peak = np.zeros(minute.shape, dtype=bool)
    for first, end in rule.peaks:
        in_peak |= (minute >= first) & (minute < end)
    if rule.weekdays_only:
        weekday = (np.floor(local / 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        in_peak &= weekday < 5
    return in_peak


@dataclass(frozen=True, eq=False)
class Frequent:
    share: NDArray[np.float64]  # per segment: congested share of its observed peak cycles (NaN: none observed)
    observed: NDArray[np.int64]  # per segment: peak cycles with a speed
    frequent: NDArray[np.bool_]  # per segment: share ≥ min_share and observed ≥ min_observed


def frequently_congested(
    levels: ArrayLike,
    times_s: ArrayLike,
    rule: FrequentRule,
    congested_levels: Sequence[int],
    *,
    min_share: float | None = None,
    days: int | None = None,
    min_observed: int = 1,
) -> Frequent:
    """Frequently congested segments (常发拥堵路段): congested in ≥ min_share of the peak cycles of the last
    ``days`` days before the latest cycle. ``levels`` is cycles × segments, ``times_s`` the cycles' start times.
    ``min_share`` and ``days`` default to the rule's; a segment needs ``min_observed`` peak cycles with data."""
    level = np.asarray(levels, dtype=np.int8)
    times = np.asarray(times_s, dtype=np.float64)
    if level.ndim != 2 or level.shape[0] != len(times):
        raise ValueError(
            f"levels must be cycles × segments with one time per cycle, got {level.shape} and {times.shape}"
        )
    window = (days if days is not None else rule.days) * 86400.0
    latest = times.max() if len(times) else 0.0
    rows = peak_cycles(times, rule) & (times > latest - window)
    chosen = level[rows]
    observed = (chosen != NO_DATA).sum(axis=0).astype(np.int64)
    hits = congested_mask(chosen, congested_levels).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(observed > 0, hits / observed, np.nan)
    threshold = rule.min_share if min_share is None else min_share
    return Frequent(
        share=share, observed=observed, frequent=(observed >= min_observed) & (np.nan_to_num(share) >= threshold)
    )
