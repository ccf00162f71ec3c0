"""Today's key figures of an area as tiles — grid cases, the hotline, alarms, warnings, traffic and the plan's
indicators — each read through its module's service, in the page's language; and what changed between two
snapshots (for the live stream). Never commits."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from smartcity.config import Settings
from smartcity.core.db import utcnow
from smartcity.core.errors import NotFound
from smartcity.ops.service import TRAFFIC_SCHEME, Area, _, alarms_in, area_shape, translate, warnings_in
from smartcity.security import Principal

LOGGER = logging.getLogger(__name__)
SATISFACTION_DAYS = 30  # call-backs of the last 30 days: a day's call-backs are too few for a rate
COLOUR_RANK = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}  # China's warning signals, least to most severe


@dataclass(frozen=True)
class Figure:
    """One figure of a tile: ``text`` is what is shown (and read out), ``value`` the number behind it."""

    key: str
    label: str
    text: str
    value: float | int | None = None
    href: str | None = None


@dataclass(frozen=True)
class Tile:
    """A module's key figures with a link to its page. ``no_data``: the module has nothing yet (said in words)."""

    code: str
    title: str
    href: str
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()
    colour: str | None = None
    no_data: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "href": self.href,
            "no_data": self.no_data,
            "colour": self.colour,
            "notes": list(self.notes),
            "figures": [
                {"key": f.key, "label": f.label, "text": f.text, "value": f.value, "href": f.href} for f in self.figures
            ],
        }


@dataclass(frozen=True)
class Snapshot:
    """The figures of one area at one moment, in one language (what the page shows and the stream sends)."""

    area: str
    at: datetime
    language: str
    tiles: tuple[Tile, ...]
    texts: dict[str, str] = field(default_factory=dict)  # the words the stream needs to say what changed
    # the stream's event bodies, by the snapshot a screen saw before and the topics it heard: the screens of
    # one area share them, so a change costs one encoding, not one per screen
    encoded: dict[Any, bytes] = field(default_factory=dict, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"area": self.area, "at": self.at.isoformat(), "tiles": [t.as_json() for t in self.tiles]}


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _local_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(now.astimezone(zone).date(), clock.min, zone)


@dataclass(frozen=True)
class Context:
    """What every tile needs: who asks, where, when (``since``: today's local midnight), in which language."""

    session: Session
    principal: Principal
    area: Area
    language: str
    now: datetime
    since: datetime
    zone: ZoneInfo
    settings: Settings

    @property
    def area_filter(self) -> str | None:
        return None if self.area.is_city else self.area.code


def _cases_tile(ctx: Context) -> Tile | None:
    if not ctx.principal.can("cases.read"):
        return None
    from smartcity.cases import service as cases

    counts = cases.overview_counts(ctx.session, ctx.principal, since=ctx.since, area=ctx.area_filter)
    title = translate(ctx.language, "Grid cases")
    if not counts["total"]:
        return Tile("cases", title, "/cases", notes=(translate(ctx.language, "no data yet"),), no_data=True)
    return Tile(
        "cases",
        title,
        "/cases",
        (
            Figure("cases.new", translate(ctx.language, "New today"), _count(counts["new"]), counts["new"]),
            Figure(
                "cases.overdue",
                translate(ctx.language, "Overdue"),
                _count(counts["overdue"]),
                counts["overdue"],
                "/cases?overdue=true",
            ),
            Figure("cases.open", translate(ctx.language, "Still open"), _count(counts["open"]), counts["open"]),
        ),
    )


def _hotline_tile(ctx: Context) -> Tile | None:
    if not ctx.principal.can("hotline.read"):
        return None
    from smartcity.hotline import service as hotline

    counts = hotline.overview_counts(
        ctx.session,
        ctx.principal,
        since=ctx.since,
        callbacks_since=ctx.now - timedelta(days=SATISFACTION_DAYS),
        area=ctx.area_filter,
    )
    title = translate(ctx.language, "12345 hotline")
    if not counts["total"]:
        return Tile("hotline", title, "/hotline", notes=(translate(ctx.language, "no data yet"),), no_data=True)
    figures = [
        Figure(
            "hotline.received", translate(ctx.language, "Orders today"), _count(counts["received"]), counts["received"]
        ),
        Figure(
            "hotline.overdue",
            translate(ctx.language, "Overdue"),
            _count(counts["overdue"]),
            counts["overdue"],
            "/hotline?overdue=true",
        ),
    ]
    if ctx.principal.can("hotline.metrics"):
        rate = counts["satisfaction_rate"]
        label = translate(ctx.language, "Satisfaction, %(days)d days", days=SATISFACTION_DAYS)
        figures.append(Figure("hotline.satisfaction", label, _rate(rate), rate, "/hotline/metrics"))
    return Tile("hotline", title, "/hotline", tuple(figures))


def _alarms_tile(ctx: Context, shape: BaseGeometry | None) -> Tile | None:
    if not ctx.principal.can("alerts.read"):
        return None
    from smartcity.alerts import service as alerts

    title = translate(ctx.language, "Alarms")
    if not alerts.listing(ctx.session):
        return Tile("alarms", title, "/alerts/alarms", notes=(translate(ctx.language, "no data yet"),), no_data=True)
    found = [p.alarm for p in alarms_in(ctx.session, ctx.area, shape, located=False)]
    waiting = sum(1 for a in found if not a.acknowledged)
    active = sum(1 for a in found if a.active)
    return Tile(
        "alarms",
        title,
        "/alerts/alarms",
        (
            Figure(
                "alarms.unacknowledged",
                translate(ctx.language, "Unacknowledged"),
                _count(waiting),
                waiting,
                "/alerts/alarms?state=active_unacknowledged",
            ),
            Figure("alarms.active", translate(ctx.language, "Still in alarm"), _count(active), active),
        ),
    )


def _warnings_tile(ctx: Context, shape: BaseGeometry | None) -> Tile:
    found = warnings_in(ctx.session, ctx.area, shape)
    notes: tuple[str, ...] = ()
    colour = None
    if found:
        worst = max(found, key=lambda w: COLOUR_RANK.get(w["colour"], 0))
        language = "zh" if ctx.language == "zh-CN" else "en"
        headline = worst["headlines"].get(language) or next(iter(worst["headlines"].values()), "")
        from smartcity.alerts import hazards

        colour = hazards.colour_hex(worst["colour"])
        notes = (headline,)
    else:
        notes = (translate(ctx.language, "No warning in force."),)
    return Tile(
        "warnings",
        translate(ctx.language, "Warnings in force"),
        "/warnings",
        (Figure("warnings.count", translate(ctx.language, "In force"), _count(len(found)), len(found)),),
        notes,
        colour,
    )


def _traffic_tile(ctx: Context) -> Tile:
    from smartcity.traffic import service as traffic

    title = translate(ctx.language, "Traffic")
    try:
        cycle = traffic.cycle_at(ctx.session)
    except NotFound:
        return Tile("traffic", title, "/traffic", notes=(translate(ctx.language, "no data yet"),), no_data=True)
    wanted = traffic.CITY if ctx.area.is_city else ctx.area.code[:6]
    row = next((r for r in traffic.index_of_cycle(ctx.session, cycle, TRAFFIC_SCHEME) if r.area_code == wanted), None)
    scheme = traffic.scheme_or_404(TRAFFIC_SCHEME)
    at = cycle.at.astimezone(ctx.zone).strftime("%H:%M")
    notes = [translate(ctx.language, "Cycle ending %(time)s", time=at)]
    if not ctx.area.is_city and ctx.area.place.level != "district":
        notes.append(translate(ctx.language, "Index of the district"))
    colour = None
    if row is None or row.value is None:
        text, value = "—", None
        notes.insert(0, translate(ctx.language, "no data"))
    else:
        text, value = f"{row.value:.1f}", round(row.value, 2)
        if row.level is not None and 1 <= row.level <= len(scheme.bands):
            band = scheme.bands[row.level - 1]
            notes.insert(0, band.zh if ctx.language == "zh-CN" else band.en)
            colour = band.colour
    low, high = scheme.range
    label = translate(ctx.language, "Traffic index (%(low)s–%(high)s)", low=f"{low:g}", high=f"{high:g}")
    return Tile("traffic", title, "/traffic", (Figure("traffic.index", label, text, value),), tuple(notes), colour)


def _kpi_summary() -> Callable[..., Any] | None:
    """``smartcity.kpi.service.summary`` when the KPI module is part of the app (its routers imported it); the
    tile is skipped otherwise. Importing it here would register its tables where its migration may not run."""
    module = sys.modules.get("smartcity.kpi.service")
    summary = getattr(module, "summary", None)
    return summary if callable(summary) else None


KPI_SECONDS = 300.0  # the plan's indicators move over months: recomputing them on every case change is waste
_kpi_tiles: dict[tuple[str, bool], tuple[float, Tile]] = {}


def _kpi_tile(ctx: Context) -> Tile | None:
    """The plan's headline indicators (city-wide): how many have a value and how many meet their target; kept
    for ``KPI_SECONDS`` (some are computed live from large sources, such as the transit feed)."""
    key = (ctx.language, ctx.area.is_city)
    kept = _kpi_tiles.get(key)
    if kept is not None and time.monotonic() - kept[0] < KPI_SECONDS:
        return kept[1]
    tile = _fresh_kpi_tile(ctx)
    if tile is not None:
        _kpi_tiles[key] = (time.monotonic(), tile)
    return tile


def _fresh_kpi_tile(ctx: Context) -> Tile | None:
    summary = _kpi_summary()
    if summary is None:
        return None
    items = list(summary(ctx.session))  # [{code, value, met, …}] — smartcity.kpi.service.summary
    title = translate(ctx.language, "Plan indicators")
    valued = [i for i in items if i.get("value") is not None]
    if not valued:
        return Tile("kpi", title, "/kpi", notes=(translate(ctx.language, "no data yet"),), no_data=True)
    met = sum(1 for i in valued if i.get("met"))
    notes = () if ctx.area.is_city else (translate(ctx.language, "Whole city"),)
    figures = (
        Figure("kpi.met", translate(ctx.language, "Targets met"), f"{met} / {len(valued)}", met),
        Figure("kpi.headline", translate(ctx.language, "Headline indicators"), _count(len(items)), len(items)),
    )
    return Tile("kpi", title, "/kpi", figures, notes)


def snapshot(
    session: Session, settings: Settings, principal: Principal, area: Area, language: str, now: datetime | None = None
) -> Snapshot:
    """Today's key figures of the area as tiles, in ``language``: grid cases, the hotline, alarms, warnings,
    traffic and (when the KPI module is there) the plan's indicators — each only for those who may read that
    module. A module that fails is shown as unavailable rather than failing the whole centre."""
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    ctx = Context(session, principal, area, language, now, _local_midnight(now, zone), zone, settings)
    shape = area_shape(session, area)
    makers: list[tuple[str, str, Callable[[], Tile | None]]] = [
        ("cases", "/cases", lambda: _cases_tile(ctx)),
        ("hotline", "/hotline", lambda: _hotline_tile(ctx)),
        ("alarms", "/alerts/alarms", lambda: _alarms_tile(ctx, shape)),
        ("warnings", "/warnings", lambda: _warnings_tile(ctx, shape)),
        ("traffic", "/traffic", lambda: _traffic_tile(ctx)),
        ("kpi", "/kpi", lambda: _kpi_tile(ctx)),
    ]
    tiles = []
    for code, href, make in makers:
        try:
            with session.begin_nested():  # a failing module leaves the transaction usable for the next
                tile = make()
        except Exception:  # one module's fault must not blank the whole operations centre
            LOGGER.exception("the operations centre could not read the %s figures", code)
            tile = Tile(code, translate(language, TILE_TITLES[code]), href, notes=(translate(language, "unavailable"),),
                        no_data=True)  # fmt: skip
        if tile is not None:
            tiles.append(tile)
    texts = {
        "updated": translate(language, "Updated %(time)s", time="{time}"),
        "timezone": settings.timezone,
    }
    return Snapshot(area.code, now, language, tuple(tiles), texts)


TILE_TITLES = {"cases": _("Grid cases"), "hotline": _("12345 hotline"), "alarms": _("Alarms"),
               "warnings": _("Warnings in force"), "traffic": _("Traffic"), "kpi": _("Plan indicators")}  # fmt: skip


def changes(before: Snapshot | None, after: Snapshot) -> list[tuple[str, str, str]]:
    """The figures whose text changed: (label, before, after), in tile order."""
    if before is None:
        return []
    old = {f.key: f for t in before.tiles for f in t.figures}
    found = []
    for tile in after.tiles:
        for figure in tile.figures:
            previous = old.get(figure.key)
            if previous is None or previous.text != figure.text:
                found.append((f"{tile.title} · {figure.label}", previous.text if previous else "—", figure.text))
    return found


def changed_tiles(before: Snapshot | None, after: Snapshot) -> set[str]:
    """Tiles whose figures, notes or presence changed (the page refreshes their map layers)."""
    if before is None:
        return set()
    old = {t.code: t for t in before.tiles}
    return {t.code for t in after.tiles if old.get(t.code) != t} | (set(old) - {t.code for t in after.tiles})
