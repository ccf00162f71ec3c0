"""Suggested warnings, for a person to approve: rainfall accumulated per district over the rainstorm
criteria's windows (from the hazards file: 12 h ≥ 50 mm blue … 3 h ≥ 100 mm red), and river levels over
each gauge's configured flood levels. A suggestion becomes a draft bulletin only when someone asks; the
four-eyes workflow then applies as to any bulletin."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from smartcity.alerts import bulletins, hazards
from smartcity.core.db import utcnow
from smartcity.core.errors import Problem
from smartcity.security import Principal

COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


@dataclass(frozen=True)
class Suggestion:
    hazard: str
    colour: str
    district: str
    basis: str  # why, in words a duty officer checks at a glance
    figures: dict[str, Any] = field(default_factory=dict)
    covered: bool = False  # an active warning of this hazard already covers the district at this colour or higher

    def as_json(self) -> dict[str, Any]:
        return {"hazard": self.hazard, "colour": self.colour, "district": self.district, "basis": self.basis,
                "figures": self.figures, "covered": self.covered}  # fmt: skip


def _rank(colour: str) -> int:
    return hazards.catalogue().level(colour).rank


def rain_accumulations(session: Session, now: datetime) -> dict[str, dict[int, tuple[float, str]]]:
    """Per district, per criterion window (hours): the largest gauge total and that gauge's name."""
    from smartcity.sensing import service as sensing

    gauges = [g for g in sensing.datastreams_measuring(session, "rainfall") if g.properties.get("district")]
    windows = sorted({c.window_hours for c in hazards.catalogue().hazard("rainstorm").criteria})
    result: dict[str, dict[int, tuple[float, str]]] = {}
    for hours in windows:
        totals = sensing.sums(session, [g.datastream_id for g in gauges], now - timedelta(hours=hours), now)
        for gauge in gauges:
            total = totals.get(gauge.datastream_id, 0.0)
            best = result.setdefault(gauge.properties["district"], {}).get(hours)
            if best is None or total > best[0]:
                result[gauge.properties["district"]][hours] = (round(total, 1), gauge.station)
    return result


def _rain(session: Session, now: datetime) -> list[Suggestion]:
    found = []
    for district, windows in sorted(rain_accumulations(session, now).items()):
        colour = hazards.suggest_rainstorm({hours: total for hours, (total, _) in windows.items()})
        if colour is None:
            continue
        criterion = next(c for c in hazards.catalogue().hazard("rainstorm").criteria if c.level == colour)
        total, station = windows[criterion.window_hours]
        basis = f"{criterion.window_hours} 小时雨量 {total:g} mm（{station}）≥ {criterion.threshold:g} mm"
        figures = {f"{hours}h_mm": total for hours, (total, _) in sorted(windows.items())}
        found.append(Suggestion("rainstorm", str(colour), district, basis, figures))
    return found


def flood_levels(properties: dict[str, Any]) -> dict[str, float]:
    """A gauge's flood levels by colour: ``flood_levels_m`` in its Thing's properties, or its single
    ``warning_level_m`` (警戒水位) as the yellow level."""
    levels = properties.get("flood_levels_m")
    if isinstance(levels, dict):
        return {c: float(v) for c, v in levels.items() if c in COLOUR_ZH and isinstance(v, int | float)}
    if isinstance(properties.get("warning_level_m"), int | float):
        return {"yellow": float(properties["warning_level_m"])}
    return {}


def _river(session: Session, now: datetime) -> list[Suggestion]:
    from smartcity.sensing import service as sensing

    allowed = set(hazards.colours_for("river_level"))
    best: dict[str, Suggestion] = {}
    for gauge in sensing.datastreams_measuring(session, "water_level"):
        value, district = gauge.latest_value, gauge.properties.get("district")
        fresh = gauge.latest_time is not None and now - gauge.latest_time <= timedelta(hours=1)
        if not (fresh and district and isinstance(value, int | float)):
            continue
        reached = [(c, lvl) for c, lvl in flood_levels(gauge.properties).items() if value >= lvl and c in allowed]
        if not reached:
            continue
        colour, level = max(reached, key=lambda pair: _rank(pair[0]))
        basis = f"{gauge.station} 水位 {value:g} m ≥ {COLOUR_ZH[colour]}预警水位 {level:g} m"
        suggestion = Suggestion("river_level", colour, district, basis, {"level_m": value, "threshold_m": level})
        current = best.get(district)
        if current is None or _rank(colour) > _rank(current.colour):
            best[district] = suggestion
    return [best[d] for d in sorted(best)]


def suggest(session: Session, now: datetime | None = None) -> list[Suggestion]:
    """Every suggestion, each marked ``covered`` when an active warning already says as much."""
    now = now or utcnow()
    active = [(m.hazard, m.colour, set(json.loads(m.area_codes))) for m in bulletins.active_messages(session, now)]
    out = []
    for s in _rain(session, now) + _river(session, now):
        covered = any(h == s.hazard and s.district in codes and _rank(c) >= _rank(s.colour) for h, c, codes in active)
        out.append(Suggestion(s.hazard, s.colour, s.district, s.basis, s.figures, covered))
    return out


def draft_from(session: Session, principal: Principal, hazard: str, colour: str, district: str) -> Any:
    """A draft bulletin from a current suggestion, worded for the duty officer to check and edit."""
    match = next((s for s in suggest(session) if (s.hazard, s.colour, s.district) == (hazard, colour, district)), None)
    if match is None:
        raise Problem(409, "That suggestion no longer stands (the readings changed); reload the suggestions.",
                      code="suggestion-gone")  # fmt: skip
    from smartcity.places import service as places

    area = places.get_division(session, district).name
    event = hazards.event_text(hazard, colour)
    now = utcnow()
    hours = 12 if hazard == "rainstorm" else 6
    return bulletins.draft(
        session,
        principal,
        {
            "hazard": hazard,
            "colour": colour,
            "area_codes": [district],
            "area_desc": area,
            "onset": now,
            "expires": now + timedelta(hours=hours),
            "headline": f"{area}发布{event}"[: bulletins.SMS_CHARACTERS],
            "description": f"{match.basis}。",
            "instruction": "",
        },
    )
