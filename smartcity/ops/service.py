"""Rules of the operations centre: the area a person looks at (city → district → street → grid, never outside
their scope), the alarms and warnings that concern it, the map layers no module serves (open cases, active
alarms) and the lists beside the map — read only through the other modules' services. Never commits.
Today's figures, as tiles, are in tiles.py."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape as geojson_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from smartcity.core import i18n
from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound, Problem
from smartcity.security import Principal

LOGGER = logging.getLogger(__name__)
CITY_FALLBACK = "310000"  # Shanghai (GB/T 2260), when neither the places nor the departments name a city
CODE = re.compile(r"^\d{6}$|^\d{9}$|^\d{12}$|^\d{15}$")
TRAFFIC_SCHEME = "beijing_tpi"


def _(message: str) -> str:
    """Marks an English message id for the catalogue (tests/core/test_i18n.py); translated where it is shown."""
    return message


def translate(language: str, message: str, **variables: object) -> str:
    """``message`` in ``language`` (named like core.web.translate so the catalogue check finds the ids)."""
    return i18n.gettext(language, message, **variables)


# ---------------------------------------------------------------- areas: city → district → street → grid

CITY_NAME = _("Whole city")  # a city without a boundary of its own


def level_of(code: str) -> str:
    """city (xx0000), district (other 6 digits), street (9), community (12) or unit grid (15)."""
    if len(code) == 6:
        return "city" if code.endswith("0000") else "district"
    return {9: "street", 12: "community", 15: "grid"}[len(code)]


@dataclass(frozen=True)
class Place:
    """A division or unit grid as the operations centre shows it."""

    code: str
    level: str
    name: str
    name_en: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (WGS-84)

    def label(self, language: str) -> str:
        if self.level == "grid":
            return translate(language, "Unit grid %(code)s", code=self.code)
        if not self.name:
            return translate(language, CITY_NAME)
        return self.name if language == "zh-CN" else (self.name_en or self.name)


@dataclass(frozen=True)
class Child:
    """A place one level down, to drill into; ``count`` is the open cases in it when that is how it was chosen."""

    place: Place
    count: int | None = None


@dataclass(frozen=True)
class Area:
    """Where the centre looks: the place, the trail from the person's own area down to it, the places below."""

    place: Place
    trail: tuple[Place, ...]
    children: tuple[Child, ...]
    child_level: str | None
    home: str

    @property
    def code(self) -> str:
        return self.place.code

    @property
    def is_city(self) -> bool:
        return self.place.level == "city"

    @property
    def district(self) -> str | None:
        return None if self.is_city else self.code[:6]


def city_code(session: Session) -> str:
    """The city's code: its division, else the top department's, else Shanghai's."""
    from smartcity.places import service as places
    from smartcity.security import service as security

    cities = places.list_divisions(session, level="city")
    if cities:
        return cities[0].code
    root = security.root_department_code(session)
    return root if root and CODE.match(root) and level_of(root) == "city" else CITY_FALLBACK


def home_code(session: Session, principal: Principal) -> str:
    """The widest area the principal may look at: the city for city-wide roles and city departments, else the
    deepest division among their department and its parents (a district's supervisor: the district)."""
    city = city_code(session)
    if principal.role.scope == "all":
        return city
    codes = [c for c in principal.department_path.strip("/").split("/") if CODE.match(c) and len(c) < 15]
    local = [c for c in codes if level_of(c) != "city"]
    return local[-1] if local else city


def _division_place(session: Session, code: str) -> Place:
    from smartcity.places import service as places

    division = places.get_division(session, code)
    return Place(
        code,
        level_of(code),
        division.name,
        division.name_en,
        (division.min_lon, division.min_lat, division.max_lon, division.max_lat),
    )


def place(session: Session, code: str) -> Place:
    """A division or unit grid by its code; 404 when there is none (a city without boundaries is still the city)."""
    level = level_of(code)
    if level == "grid":
        from smartcity.places import lookup

        grid = lookup.grid_detail(session, code)
        west, south, east, north = shapely.bounds(geojson_shape(grid.geometry)).tolist()
        return Place(code, "grid", code, None, (west, south, east, north))
    try:
        return _division_place(session, code)
    except NotFound:
        if level == "city":
            return Place(code, "city", "")
        return _department_place(session, code, level)


def _department_place(session: Session, code: str, level: str) -> Place:
    """A division whose boundary is not imported yet, named by the department of the same code (no map then)."""
    from smartcity.security import service as security

    department = security.department_by_code(session, code)  # 404 when neither exists
    return Place(code, level, department.name, getattr(department, "name_en", None))


def _check_code(code: str) -> None:
    if not CODE.match(code):
        raise Problem(
            422,
            "area must be a division code (6, 9 or 12 digits) or a unit grid code (15 digits).",
            errors=[{"field": "area", "message": "not a division or grid code"}],
        )


def _in_scope(home: str, code: str, city: str) -> bool:
    return home == city or code.startswith(home)


def resolve(session: Session, principal: Principal, code: str | None = None) -> Area:
    """The area to show: ``code``, or the principal's own. 422 for a malformed code, 403 outside the
    principal's area, 404 for an unknown one."""
    city = city_code(session)
    home = home_code(session, principal)
    code = code or home
    _check_code(code)
    if level_of(code) == "city":
        code = city
    if not _in_scope(home, code, city):
        raise Problem(403, "This area lies outside the area your department answers for.", code="outside-your-area")
    here = place(session, code)
    return Area(here, _trail(session, home, here, city), *_children(session, principal, here), home=home)


def _trail(session: Session, home: str, here: Place, city: str) -> tuple[Place, ...]:
    """City › district › street › (community, when that is where one is) › grid, from the home area down."""
    codes = [city, here.code[:6], here.code[:9], here.code[:12], here.code] if here.level != "city" else [city]
    wanted: list[str] = []
    for code in codes:
        if len(code) > len(here.code) or code in wanted or (len(code) == 12 and here.level == "grid"):
            continue
        if _in_scope(home, code, city) and (home == city or len(code) >= len(home)):
            wanted.append(code)
    return tuple(here if code == here.code else _safe_place(session, code) for code in wanted)


def _safe_place(session: Session, code: str) -> Place:
    try:
        return place(session, code)
    except (NotFound, Problem):
        return Place(code, level_of(code), code)


def _children(session: Session, principal: Principal, here: Place) -> tuple[tuple[Child, ...], str | None]:
    """The districts of the city, the streets of a district; for a street or community, the unit grids with
    the most open cases (a street has thousands of grids: the list names where something is happening)."""
    from smartcity.places import service as places

    if here.level == "city":
        found = places.list_divisions(session, level="district")
        return tuple(Child(_division_place(session, d.code)) for d in found), "district"
    if here.level == "district":
        found = places.list_divisions(session, level="street", parent_code=here.code)
        return tuple(Child(_division_place(session, d.code)) for d in found), "street"
    if here.level in ("street", "community") and principal.can("cases.read"):
        from smartcity.cases import service as cases

        busy = cases.open_counts_by_grid(session, principal, here.code)
        return tuple(Child(Place(code, "grid", code), count) for code, count in busy), "grid"
    return (), None


def area_shape(session: Session, area: Area) -> BaseGeometry | None:
    """The area's outline for point-in-area tests; None for the city (everything is inside it)."""
    if area.is_city:
        return None
    if area.place.level == "grid":
        from smartcity.places import lookup

        return geojson_shape(lookup.grid_detail(session, area.code).geometry)
    from smartcity.places import service as places

    try:
        return shapely.from_wkb(places.get_division(session, area.code).geometry)
    except NotFound:  # no boundary imported: nothing can be placed inside it
        return None


def child_at(session: Session, principal: Principal, area: Area, lon: float, lat: float) -> Place:
    """The place one level below ``area`` that holds the point (a click on the map); 422 outside the city or
    outside the area, or when the area has nothing below it."""
    from smartcity.places import lookup

    if area.place.level == "grid":
        raise Problem(422, "A unit grid is the smallest area; there is nothing below it.", code="no-level-below")
    located = lookup.locate(session, lon, lat)
    code = located.grid.code if located.grid else ""
    if not code.startswith("" if area.is_city else area.code):
        raise Problem(422, "The point lies outside the area shown.", code="outside-area")
    below = {"city": 6, "district": 9, "street": 15, "community": 15}[area.place.level]
    return place(session, code[:below])


# ---------------------------------------------------------------- alarms and warnings by area


def _stream_ids(source: str) -> list[int]:
    """The datastreams of an alarm's source: ``"12"``, or a combination's ``"all_of:40+12"`` (alerts.engine)."""
    return [int(part) for part in source.rpartition(":")[2].split("+") if part.isdigit()]


@dataclass(frozen=True)
class PlacedAlarm:
    alarm: Any
    point: tuple[float, float] | None


def alarms_in(
    session: Session, area: Area, shape: BaseGeometry | None = None, *, located: bool = True, limit: int = 5000
) -> list[PlacedAlarm]:
    """Open alarms that are not shelved, each at its station (the first datastream of its source); outside the
    city view only those whose station lies inside the area. In the city view ``located=False`` skips looking
    the stations up (a count needs no places)."""
    from smartcity.alerts import alarms
    from smartcity.sensing import service as sensing

    found = alarms.listing(session, shelved=False, limit=limit)
    if area.is_city and not located:
        return [PlacedAlarm(a, None) for a in found]
    points: dict[int, tuple[float, float] | None] = {}

    def point_of(alarm: Any) -> tuple[float, float] | None:
        ids = _stream_ids(alarm.source)
        if ids and ids[0] not in points:
            points[ids[0]] = sensing.station_point(session, ids[0])
        return points[ids[0]] if ids else None

    placed = [PlacedAlarm(a, point_of(a)) for a in found]
    if area.is_city:
        return placed
    shape = shape or area_shape(session, area)
    placed = [p for p in placed if p.point is not None]
    if not placed or shape is None:
        return []
    inside = shapely.contains_xy(shape, np.array([p.point[0] for p in placed]), np.array([p.point[1] for p in placed]))
    return [p for p, hit in zip(placed, inside, strict=True) if hit]


def warnings_in(session: Session, area: Area, shape: BaseGeometry | None = None) -> list[dict[str, Any]]:
    """The published warnings in force that concern the area: naming its district or the whole city, or
    drawn over it."""
    from smartcity.alerts import service as alerts

    found = alerts.warnings_in_force(session)
    if area.is_city:
        return found
    shape = shape or area_shape(session, area)
    city = city_code(session)

    def concerns(warning: dict[str, Any]) -> bool:
        if area.code[:6] in warning["areas"] or city in warning["areas"]:
            return True
        rings = [shapely.Polygon(ring) for ring in warning["polygons"] if len(ring) >= 4]
        return shape is not None and any(ring.intersects(shape) for ring in rings)

    return [w for w in found if concerns(w)]


# ---------------------------------------------------------------- map layers no module serves


CASE_COLOURS = {  # state → marker colour (the legend says the state in words); overdue ones get a red ring
    "reported": "#0a58a3",
    "verifying": "#5b3fa3",
    "registered": "#0b6e75",
    "dispatched": "#8a5a00",
    "processing": "#17623a",
    "returned": "#a4161a",
    "suspended": "#4a5561",
    "checking": "#1b4f8a",
}
OVERDUE_COLOUR = "#a4161a"


def case_features(session: Session, principal: Principal, area: Area, limit: int = 5000) -> dict[str, Any]:
    """Open cases in the area as GeoJSON points: number, class, state, overdue — nothing personal (no reporter,
    no description), and only the cases the principal may see."""
    from smartcity.cases import service as cases

    now = utcnow()
    found = cases.open_cases_within(session, principal, area=None if area.is_city else area.code, limit=limit)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": c.number,
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {
                    "number": c.number,
                    "class_code": c.class_code,
                    "state": c.state,
                    "overdue": cases.is_overdue(c, now),
                    "colour": CASE_COLOURS.get(c.state, "#4a5561"),
                },
            }
            for c in found
        ],
    }


SEVERITY_COLOURS = {"critical": "#a4161a", "high": "#b03a00", "medium": "#8a5a00", "low": "#0a58a3"}


def alarm_features(session: Session, area: Area) -> dict[str, Any]:
    """Open, unshelved alarms in the area as GeoJSON points at their stations (alarms without a located station
    are left out of the map; the list beside it has them all)."""
    features = []
    for placed in alarms_in(session, area):
        if placed.point is None:
            continue
        a = placed.alarm
        features.append(
            {
                "type": "Feature",
                "id": a.id,
                "geometry": {"type": "Point", "coordinates": list(placed.point)},
                "properties": {
                    "title": a.title,
                    "severity": a.severity,
                    "state": a.state,
                    "acknowledged": a.acknowledged,
                    "active": a.active,
                    "raised_at": a.raised_at.isoformat(),
                    "colour": SEVERITY_COLOURS.get(a.severity, "#4a5561"),
                    "href": f"/alerts/alarms/{a.id}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------- the lists beside the map


@dataclass(frozen=True)
class Lists:
    """What the map shows, in words: overdue cases, alarms, warnings, and the districts' traffic index."""

    overdue_cases: list[Any]
    alarms: list[Any]
    warnings: list[dict[str, Any]]
    district_index: list[tuple[Place, float | None, str | None, str | None]]  # place, value, band words, colour
    can_cases: bool
    can_alarms: bool


def lists(session: Session, principal: Principal, area: Area, language: str, limit: int = 10) -> Lists:
    """The lists under the map (the same layers without the map): at most ``limit`` rows each."""
    overdue: list[Any] = []
    if principal.can("cases.read"):
        from smartcity.cases import service as cases

        overdue = cases.open_cases_within(
            session, principal, area=None if area.is_city else area.code, overdue=True, limit=limit
        )
    found_alarms = (
        [p.alarm for p in alarms_in(session, area, located=False)][:limit] if principal.can("alerts.read") else []
    )
    warnings = [w | {"expires_at": datetime.fromtimestamp(w["expires"], UTC)} for w in warnings_in(session, area)]
    return Lists(
        overdue,
        found_alarms,
        warnings,
        _district_index(session, area, language),
        principal.can("cases.read"),
        principal.can("alerts.read"),
    )


def _district_index(
    session: Session, area: Area, language: str
) -> list[tuple[Place, float | None, str | None, str | None]]:
    """Each district's traffic index in the newest cycle (for the city view)."""
    if not area.is_city:
        return []
    from smartcity.traffic import service as traffic

    try:
        cycle = traffic.cycle_at(session)
    except NotFound:
        return []
    scheme = traffic.scheme_or_404(TRAFFIC_SCHEME)
    rows = {r.area_code: r for r in traffic.index_of_cycle(session, cycle, TRAFFIC_SCHEME)}
    result = []
    for child in area.children:
        row = rows.get(child.place.code)
        band = None
        if row is not None and row.level is not None and 1 <= row.level <= len(scheme.bands):
            band = scheme.bands[row.level - 1]
        result.append(
            (
                child.place,
                None if row is None or row.value is None else round(row.value, 1),
                None if band is None else (band.zh if language == "zh-CN" else band.en),
                None if band is None else band.colour,
            )
        )
    return result
