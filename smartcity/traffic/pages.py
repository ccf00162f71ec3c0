"""Pages of the traffic module: the public traffic map (segments coloured by level over the cycles of a day, a time
slider, and the index of the city and each district in a table that says the same without the map), an area's
index over a day as a chart beside its table, and the congestion report for those who may read traffic analyses.
Times are shown in the configured time zone; every figure comes from the traffic service."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep
from smartcity.core.errors import NotFound
from smartcity.core.web import NavItem, add_nav, add_templates, language_of, render, translate
from smartcity.security import Principal, public, require
from smartcity.traffic import index, parking, service, transit
from smartcity.traffic.models import TrafficCycle, TrafficIndex

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Traffic", "traffic_map", None, order=700))
add_nav(NavItem("Traffic index", "traffic_index", None, order=710))
add_nav(NavItem("Traffic congestion", "traffic_congestion", "traffic.read", order=720))
router = APIRouter(include_in_schema=False)

Anyone = Annotated[Principal, public()]
Reader = Annotated[Principal, require("traffic.read")]
SchemeCode = Annotated[str, Query(pattern=r"^[a-z0-9_]{1,40}$", description="index scheme")]
Day = Annotated[date | None, Query(alias="date", description="a local day, YYYY-MM-DD; default: the newest cycle's")]
At = Annotated[datetime | None, Query(description="the cycle at or before this time; default: the newest")]
Area = Annotated[str, Query(pattern=r"^\d{6}$", description="district code, 310000 for the city")]
DEFAULT_SCHEME = "beijing_tpi"
PERIODS = {"1": 1, "7": 7, "30": 30}  # days of the congestion report, ending with the chosen day
TOP = 20  # segments listed as the most congested


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def _said(item: Any, language: str) -> str:
    """The zh or en label of a level, band or scheme, as the page's language asks."""
    return str(item.zh if language == "zh-CN" else item.en)


# ---------------------------------------------------------------- days and cycles


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day as the UTC period (start, end] the service reads cycles in."""
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _day_of(moment: datetime, zone: ZoneInfo) -> date:
    """The local day a cycle end belongs to: the cycle ending at midnight closes the day before."""
    return (moment - timedelta(microseconds=1)).astimezone(zone).date()


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _newest(session: Session, before: datetime | None = None) -> TrafficCycle | None:
    try:
        return service.cycle_at(session, before)
    except NotFound:
        return None


def _chosen_day(session: Session, zone: ZoneInfo, day: date | None) -> date:
    """The day asked for, else the newest cycle's, else today."""
    if day is not None:
        return day
    newest = _newest(session)
    return _day_of(newest.at, zone) if newest is not None else datetime.now(zone).date()


def _scheme(code: str) -> index.Scheme:
    return service.scheme_or_404(code)  # a 422 naming the known schemes


# ---------------------------------------------------------------- what the tables show


@dataclass(frozen=True)
class Shade:
    """A level or band in words and its colour (the words always go with the colour)."""

    label: str
    colour: str


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    at: datetime
    value: float | None
    band: Shade | None
    tti: float | None
    congestion_pct: float | None
    mean_speed_kmh: float | None
    coverage: float


def _area_names(request: Request, session: Session) -> dict[str, str]:
    """District names in the page's language (from the places service) and the city's."""
    from smartcity.places import service as places

    english = language_of(request) != "zh-CN"
    names = {
        d.code: (d.name_en or d.name) if english else d.name for d in places.list_divisions(session, level="district")
    }
    return {service.CITY: translate(request, "Whole city"), **names}


def _band(scheme: index.Scheme, level: int | None, language: str) -> Shade | None:
    if level is None or not 1 <= level <= len(scheme.bands):
        return None
    band = scheme.bands[level - 1]
    return Shade(_said(band, language), band.colour)


def _area_row(row: TrafficIndex, scheme: index.Scheme, names: dict[str, str], language: str) -> AreaRow:
    return AreaRow(
        code=row.area_code,
        name=names.get(row.area_code, row.area_code),
        at=row.at,
        value=row.value,
        band=_band(scheme, row.level, language),
        tti=row.tti,
        congestion_pct=row.congestion_pct,
        mean_speed_kmh=row.mean_speed_kmh,
        coverage=row.coverage,
    )


def _levels(language: str) -> list[tuple[int, Shade]]:
    return [(n, Shade(_said(lv, language), lv.colour)) for n, lv in enumerate(index.load_config().levels, start=1)]


def _scheme_notes(language: str) -> list[dict[str, Any]]:
    """Every scheme with its bands and how sure its constants are (the file's confidence tag and source)."""
    return [
        {
            "code": code,
            "name": _said(s, language),
            "range": s.range,
            "bands": [(b.lower, Shade(_said(b, language), b.colour)) for b in s.bands],
            "confidence": s.confidence,
            "source": s.source,
        }
        for code, s in index.load_config().schemes.items()
    ]


def _state(request: Request, session: Session, cycle: TrafficCycle, scheme: index.Scheme) -> dict[str, Any]:
    """One cycle as the map page's tables say it: the index per area, the segments per level, the worst ones."""
    language = language_of(request)
    names = _area_names(request, session)
    rows = sorted(
        service.index_of_cycle(session, cycle, scheme.code), key=lambda r: (r.area_code != service.CITY, r.area_code)
    )
    features = service.segment_features(session, cycle)["features"]
    counts = Counter(f["properties"]["level"] for f in features)
    congested = set(index.load_config().congested_levels)
    worst = sorted(
        (f for f in features if f["properties"]["level"] in congested),
        key=lambda f: (-f["properties"]["level"], f["properties"]["speed_kmh"] or 0.0),
    )
    levels = dict(_levels(language))
    return {
        "cycle": cycle,
        "day": _day_of(cycle.at, _zone(request)),
        "scheme_name": _said(scheme, language),
        "areas": [_area_row(r, scheme, names, language) for r in rows],
        "level_counts": [(n, shade, counts.get(n, 0)) for n, shade in levels.items()],
        "no_data": counts.get(None, 0),
        "congested": [(f, levels[f["properties"]["level"]]) for f in worst[:TOP]],
        "congested_total": len(worst),
    }


# ---------------------------------------------------------------- the traffic map


@router.get("/traffic", name="traffic_map")
def traffic_map(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    scheme: SchemeCode = DEFAULT_SCHEME,
    day: Day = None,
    at: At = None,
) -> Response:
    """The map of the segments by level in a cycle of a day, a slider over that day's cycles, and the tables."""
    zone, language = _zone(request), language_of(request)
    chosen = _scheme(scheme)
    shown_day, cycle = _map_cycle(session, zone, at, day)
    times = service.cycle_times(session, *_day_bounds(shown_day, zone))
    position = next((i for i, t in enumerate(times) if cycle is not None and t == cycle.at), len(times) - 1)
    context = {
        "day": shown_day,
        "scheme_code": chosen.code,
        "schemes": _scheme_notes(language),
        "levels": _levels(language),
        "cycles": [{"at": t.isoformat(), "label": t.astimezone(zone).strftime("%Y-%m-%d %H:%M")} for t in times],
        "position": position,
        "can_read": principal.can("traffic.read"),
        **(_state(request, session, cycle, chosen) if cycle is not None else {"cycle": None}),
        **_neighbours(times, position),
    }
    return render(request, "traffic/map.html", context)


def _map_cycle(
    session: Session, zone: ZoneInfo, at: datetime | None, day: date | None
) -> tuple[date, TrafficCycle | None]:
    """The day and cycle the map shows: the cycle at or before ``at``, else the newest of the day asked for (the
    newest cycle's day by default); no cycle when that day has none."""
    if at is not None:
        cycle = _newest(session, _aware(at, zone))
        return (_day_of(cycle.at, zone) if cycle else _chosen_day(session, zone, day)), cycle
    shown_day = _chosen_day(session, zone, day)
    times = service.cycle_times(session, *_day_bounds(shown_day, zone))
    return shown_day, (_newest(session, times[-1]) if times else None)


def _neighbours(times: list[datetime], position: int) -> dict[str, datetime | None]:
    """The cycles before and after the shown one in its day (links that work without the script)."""
    return {
        "previous": times[position - 1] if 0 < position < len(times) else None,
        "next": times[position + 1] if 0 <= position < len(times) - 1 else None,
    }


@router.get("/traffic/state", name="traffic_state")
def traffic_state(
    request: Request, session: SessionDep, _: Anyone, at: At = None, scheme: SchemeCode = DEFAULT_SCHEME
) -> Response:
    """The tables of one cycle, for the map page's script to put in place when the slider moves."""
    zone = _zone(request)
    chosen = _scheme(scheme)
    cycle = service.cycle_at(session, _aware(at, zone) if at is not None else None)
    times = service.cycle_times(session, *_day_bounds(_day_of(cycle.at, zone), zone))
    position = next((i for i, t in enumerate(times) if t == cycle.at), len(times) - 1)
    context = {"scheme_code": chosen.code, **_state(request, session, cycle, chosen), **_neighbours(times, position)}
    return render(request, "traffic/_state.html", context)


# ---------------------------------------------------------------- an area's index over a day


@dataclass(frozen=True)
class Frame:
    """The drawing area of the index chart, in SVG units."""

    width: int = 720
    height: int = 300
    left: int = 52
    right: int = 150
    top: int = 14
    bottom: int = 40

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


INK, AXIS = "#1b1f24", "#595959"  # the line and the axes: well above 3:1 on white and on the light band tints


def _y(frame: Frame, scheme: index.Scheme, value: float) -> float:
    low, high = scheme.range
    share = max(0.0, min(1.0, (value - low) / (high - low)))
    return frame.top + frame.plot_h * (1 - share)


def _x(frame: Frame, start: datetime, moment: datetime) -> float:
    return frame.left + frame.plot_w * (moment - start).total_seconds() / 86_400


def _bands_svg(frame: Frame, scheme: index.Scheme, language: str) -> list[str]:
    """Each band shaded in its colour with its name beside the plot, so the shade is never the only cue."""
    parts = []
    uppers = [b.lower for b in scheme.bands[1:]] + [scheme.range[1]]
    for band, upper in zip(scheme.bands, uppers, strict=True):
        y_top, y_low = _y(frame, scheme, upper), _y(frame, scheme, band.lower)
        parts.append(
            f'<rect x="{frame.left}" y="{y_top:.1f}" width="{frame.plot_w}" height="{y_low - y_top:.1f}" '
            f'fill="{band.colour}" fill-opacity="0.28"/>'
            f'<text x="{frame.left + frame.plot_w + 8}" y="{(y_top + y_low) / 2 + 4:.1f}" fill="{INK}">'
            f"{escape(_said(band, language))}</text>"
            f'<text x="{frame.left - 6}" y="{y_low + 4:.1f}" text-anchor="end" fill="{INK}">{band.lower:g}</text>'
        )
    parts.append(
        f'<text x="{frame.left - 6}" y="{frame.top + 4}" text-anchor="end" fill="{INK}">{scheme.range[1]:g}</text>'
    )
    return parts


def _axes_svg(frame: Frame) -> list[str]:
    base = frame.top + frame.plot_h
    parts = [
        f'<line x1="{frame.left}" y1="{base}" x2="{frame.left + frame.plot_w}" y2="{base}" stroke="{AXIS}"/>',
        f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{base}" stroke="{AXIS}"/>',
    ]
    for hour in range(0, 25, 3):
        x = frame.left + frame.plot_w * hour / 24
        parts.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 5}" stroke="{AXIS}"/>'
            f'<text x="{x:.1f}" y="{base + 20}" text-anchor="middle" fill="{INK}">{hour:02d}:00</text>'
        )
    return parts


def _line_svg(frame: Frame, scheme: index.Scheme, start: datetime, rows: list[AreaRow]) -> list[str]:
    """The values joined where cycles follow each other; a missing cycle or value breaks the line."""
    parts: list[str] = []
    run: list[str] = []
    previous: datetime | None = None
    for row in rows:
        if row.value is None or (previous is not None and row.at - previous > service.CYCLE):
            parts.append(_polyline(run))
            run = []
        previous = row.at
        if row.value is None:
            continue
        x, y = _x(frame, start, row.at), _y(frame, scheme, row.value)
        run.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if len(rows) <= 96 else 1.5}" fill="{INK}"/>')
    parts.append(_polyline(run))
    return parts


def _polyline(points: list[str]) -> str:
    if len(points) < 2:
        return ""
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{INK}" stroke-width="2"/>'


def _index_chart(
    title: str, summary: str, scheme: index.Scheme, start: datetime, rows: list[AreaRow], language: str
) -> Markup:
    """An inline SVG line chart of a day's index over the scheme's shaded bands, named by its title and described
    by its summary (lowest, highest, latest); the table beside it lists every value."""
    frame = Frame()
    body = [*_bands_svg(frame, scheme, language), *_axes_svg(frame), *_line_svg(frame, scheme, start, rows)]
    return Markup(
        f'<svg class="chart index-chart" role="img" aria-labelledby="index-chart-title" '
        f'aria-describedby="index-chart-desc" viewBox="0 0 {frame.width} {frame.height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" font-size="13" font-family="sans-serif">'
        f'<title id="index-chart-title">{escape(title)}</title><desc id="index-chart-desc">{escape(summary)}</desc>'
        f"{''.join(body)}</svg>"
    )


def _summary(request: Request, rows: list[AreaRow], zone: ZoneInfo) -> str:
    """Lowest, highest and latest value of the day with their times (the chart's description)."""
    valued = [r for r in rows if r.value is not None]
    if not valued:
        return translate(request, "No index values on this day.")

    def said(row: AreaRow) -> dict[str, str]:
        return {"value": f"{row.value:.1f}", "time": row.at.astimezone(zone).strftime("%H:%M"),
                "level": row.band.label if row.band else "—"}  # fmt: skip

    low, high, last = min(valued, key=lambda r: r.value or 0), max(valued, key=lambda r: r.value or 0), valued[-1]
    return " ".join(
        (
            translate(request, "Lowest %(value)s (%(level)s) at %(time)s;", **said(low)),
            translate(request, "highest %(value)s (%(level)s) at %(time)s;", **said(high)),
            translate(request, "latest %(value)s (%(level)s) at %(time)s.", **said(last)),
        )
    )


@router.get("/traffic/index", name="traffic_index")
def index_page(
    request: Request,
    session: SessionDep,
    principal: Anyone,
    area: Area = service.CITY,
    scheme: SchemeCode = DEFAULT_SCHEME,
    day: Day = None,
) -> Response:
    """An area's index over a local day: a chart with the scheme's bands shaded and a table of every value."""
    zone, language = _zone(request), language_of(request)
    chosen = _scheme(scheme)
    shown_day = _chosen_day(session, zone, day)
    start, end = _day_bounds(shown_day, zone)
    names = _area_names(request, session)
    rows = [
        _area_row(r, chosen, names, language) for r in service.index_history(session, chosen.code, area, start, end)
    ]
    area_name = names.get(area, area)
    title = translate(request, "%(area)s, %(scheme)s, %(day)s", area=area_name, scheme=_said(chosen, language),
                      day=shown_day.isoformat())  # fmt: skip
    summary = _summary(request, rows, zone)
    context = {
        "area": area,
        "area_name": area_name,
        "areas": names,
        "scheme_code": chosen.code,
        "scheme_name": _said(chosen, language),
        "schemes": _scheme_notes(language),
        "day": shown_day,
        "rows": rows,
        "summary": summary,
        "chart": _index_chart(title, summary, chosen, start, rows, language) if rows else None,
        "can_read": principal.can("traffic.read"),
    }
    return render(request, "traffic/index.html", context)


# ---------------------------------------------------------------- congestion (traffic.read)


@router.get("/traffic/congestion", name="traffic_congestion")
def congestion_page(
    request: Request,
    session: SessionDep,
    _: Reader,
    day: Day = None,
    days: Annotated[str, Query(pattern="^(1|7|30)$")] = "1",
    scheme: SchemeCode = DEFAULT_SCHEME,
) -> Response:
    """The most congested segments, the frequently congested ones (peaks) and each area's congested minutes over
    the days ending with the chosen one."""
    zone, language = _zone(request), language_of(request)
    chosen = _scheme(scheme)
    shown_day = _chosen_day(session, zone, day)
    end = _day_bounds(shown_day, zone)[1]
    start = _day_bounds(shown_day - timedelta(days=PERIODS[days] - 1), zone)[0]
    report = service.congestion_report(session, start, end, top=TOP, scheme=chosen.code)
    names = _area_names(request, session)
    context = {
        "day": shown_day,
        "days": days,
        "periods": list(PERIODS),
        "first_day": shown_day - timedelta(days=PERIODS[days] - 1),
        "scheme_code": chosen.code,
        "scheme_name": _said(chosen, language),
        "schemes": _scheme_notes(language),
        "report": report,
        "areas": names,
        "district_minutes": sorted(report.districts.items(), key=lambda item: (item[0] != service.CITY, -item[1])),
        "min_share": f"{index.load_config().frequent.min_share * 100:.0f}%",
        "peaks": _peaks(request, index.load_config().frequent),
    }
    return render(request, "traffic/congestion.html", context)


def _peaks(request: Request, rule: index.FrequentRule) -> str:
    """The peak windows of the frequent-congestion rule in local clock time, e.g. ``07:00–09:00, 17:00–19:00``."""
    windows = ", ".join(f"{a // 60:02d}:{a % 60:02d}–{b // 60:02d}:{b % 60:02d}" for a, b in rule.peaks)
    return translate(request, "%(windows)s on weekdays", windows=windows) if rule.weekdays_only else windows


# ---------------------------------------------------------------- bus departures (issue #8, item 4)

add_nav(NavItem("Bus departures", "transit_search", None, order=730))
LIVE_EVERY_S = 30  # the board's script fetches the departures again this often; a button pauses it (WCAG 2.2.2)
STOP_TEXT_MAX = 100  # as the open-data API's ?q=
STOPS_LISTED = 20
NO_TEXT = "—"


@dataclass(frozen=True)
class BoardRow:
    """A departure as the board says it: local clock times, and its status in words."""

    route: str
    headsign: str
    scheduled: str
    expected: str
    status: str
    realtime: bool


def _clock(moment: datetime, zone: ZoneInfo, fmt: str = "%H:%M") -> str:
    return moment.astimezone(zone).strftime(fmt)


def delay_words(request: Request, predicted: datetime | None, delay_s: int | None) -> str:
    """A departure's status in words. Less than a whole minute either way is on time (the script rounds the same
    way); no prediction is never "on time": it says there is no real-time information."""
    if predicted is None or delay_s is None:
        return translate(request, "scheduled only — no real-time information")
    minutes = int(delay_s / 60)  # towards zero
    if minutes == 0:
        return translate(request, "on time")
    if minutes > 0:
        return translate(request, "%(minutes)s min late", minutes=minutes)
    return translate(request, "%(minutes)s min early", minutes=-minutes)


def _board_row(request: Request, d: transit.Departure, zone: ZoneInfo) -> BoardRow:
    return BoardRow(
        route=d.route,
        headsign=d.headsign or NO_TEXT,
        scheduled=_clock(d.scheduled, zone),
        expected=_clock(d.predicted, zone) if d.predicted else NO_TEXT,
        status=delay_words(request, d.predicted, d.delay_s),
        realtime=d.predicted is not None,
    )


@router.get("/transit", name="transit_search")
def transit_search(
    request: Request,
    session: SessionDep,
    _: Anyone,
    q: Annotated[str, Query(max_length=1000, description="part of a stop's name, or its id")] = "",
) -> Response:
    """Find a stop by part of its name or by its id; each match links to its departure board. Works without a
    script: a GET form and a list of links."""
    text, error, stops, status = q.strip(), None, None, 200
    try:
        transit.loaded(session)
        has_feed = True
    except NotFound:
        has_feed = False
    if len(text) > STOP_TEXT_MAX:
        error, status = translate(request, "Type at most %(max)s characters.", max=STOP_TEXT_MAX), 422
    elif text and has_feed:
        stops = transit.search_stops(session, text, limit=STOPS_LISTED)
    context = {"q": q, "text": text, "error": error, "stops": stops, "has_feed": has_feed, "limit": STOPS_LISTED}
    return render(request, "traffic/transit_search.html", context, status=status)


@router.get("/transit/stops/{stop_id}", name="transit_stop")
def transit_stop(request: Request, session: SessionDep, _: Anyone, stop_id: str) -> Response:
    """A stop's departure board: the next departures within an hour with their timetable and expected times and
    their status in words (404 for an unknown stop). Its script refreshes the table from the open-data API."""
    zone = _zone(request)
    stop = transit.stop_or_404(session, stop_id)
    rows = [_board_row(request, d, zone) for d in transit.departures(session, stop_id)]
    context = {
        "stop": stop,
        "stop_name": stop.stop_name or stop.stop_id,
        "rows": rows,
        "as_of": _clock(datetime.now(UTC), zone),
        "every_s": LIVE_EVERY_S,
    }
    return render(request, "traffic/transit_stop.html", context)


# ---------------------------------------------------------------- parking guidance (issue #8, item 5)

add_nav(NavItem("Parking", "parking_page", None, order=740))
DEFAULT_RADIUS_M = 2_000
MAX_RADIUS_M = 50_000  # as the open-data API's /parking/nearby


@dataclass(frozen=True)
class CarParkRow:
    """A car park as the guidance tables say it, in the page's language."""

    code: str
    name: str
    park_and_ride: str
    capacity: int
    free: str
    reading: str
    observed_at: datetime | None
    stale: bool
    distance_m: int | None


def _place_name(name: str, name_en: str, english: bool) -> str:
    return (name_en or name) if english else name


def _stations_words(request: Request, stations: list[dict[str, Any]], english: bool) -> str:
    """The stations a P+R car park serves, e.g. ``Qibao station (line 9)``."""
    said = []
    for s in stations:
        name = _place_name(s.get("name", ""), s.get("name_en", ""), english)
        lines = ", ".join(str(line) for line in s.get("lines", []))
        said.append(translate(request, "%(station)s (line %(lines)s)", station=name, lines=lines) if lines else name)
    return "; ".join(said)


def _park_and_ride_words(request: Request, item: parking.Availability, english: bool) -> str:
    if not item.car_park.park_and_ride:
        return translate(request, "No")
    stations = _stations_words(request, parking.as_json(item)["stations"], english)
    return translate(request, "Yes, for %(stations)s", stations=stations) if stations else translate(request, "Yes")


def _age_words(request: Request, observed_at: datetime | None) -> str:
    """How old a reading is, in words."""
    if observed_at is None:
        return translate(request, "no reading yet")
    minutes = max(0, int((utcnow() - observed_at).total_seconds() // 60))
    if minutes < 1:
        return translate(request, "less than a minute ago")
    if minutes < 120:
        return translate(request, "%(minutes)s min ago", minutes=minutes)
    if minutes < 2 * 1440:
        return translate(request, "%(hours)s h ago", hours=minutes // 60)
    return translate(request, "%(days)s days ago", days=minutes // 1440)


def _reading_words(request: Request, item: parking.Availability) -> str:
    age = _age_words(request, item.observed_at)
    if item.stale:
        return translate(request, "%(age)s — stale, not used for guidance", age=age)
    return age


def _free_words(request: Request, item: parking.Availability) -> str:
    if item.free is None or item.observed_at is None:
        return NO_TEXT
    return translate(request, "0 (full)") if item.free == 0 else str(item.free)


def _car_park_row(request: Request, item: parking.Availability) -> CarParkRow:
    english = language_of(request) != "zh-CN"
    c = item.car_park
    return CarParkRow(
        code=c.code,
        name=_place_name(c.name, c.name_en, english),
        park_and_ride=_park_and_ride_words(request, item, english),
        capacity=c.capacity,
        free=_free_words(request, item),
        reading=_reading_words(request, item),
        observed_at=item.observed_at,
        stale=item.stale,
        distance_m=None if item.distance_m is None else round(item.distance_m),
    )


@dataclass(frozen=True)
class PlaceForm:
    """The "near a place" form as typed, and the problems with it (field, label, message)."""

    lon: str
    lat: str
    radius: str
    park_and_ride: bool
    asked: bool  # something was typed: the form was sent
    errors: list[dict[str, str]]


def _number(text: str, low: float, high: float, *, above_low: bool = False) -> float | None:
    """The text as a finite number within [low, high] ((low, high] with ``above_low``); None otherwise."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < low or value > high or (above_low and value == low):
        return None
    return value


def _place_form(request: Request, lon: str, lat: str, radius: str, park_and_ride: str) -> tuple[PlaceForm, tuple]:
    """Check the form; returns it with its errors and, when it is valid, (lon, lat, radius)."""
    checks = (
        ("lon", translate(request, "Longitude"), lon, -180.0, 180.0, False,
         translate(request, "Give a longitude between -180 and 180 in decimal degrees, e.g. 121.4737.")),
        ("lat", translate(request, "Latitude"), lat, -90.0, 90.0, False,
         translate(request, "Give a latitude between -90 and 90 in decimal degrees, e.g. 31.2304.")),
        ("radius", translate(request, "Radius (metres)"), radius or str(DEFAULT_RADIUS_M), 0.0, float(MAX_RADIUS_M),
         True, translate(request, "Give a radius in metres, more than 0 and at most %(max)s.", max=MAX_RADIUS_M)),
    )  # fmt: skip
    values, errors = [], []
    for field, label, text, low, high, above_low, message in checks:
        value = _number(text, low, high, above_low=above_low)
        values.append(value)
        if value is None:
            errors.append({"field": field, "label": label, "message": message})
    asked = any(text.strip() for text in (lon, lat, radius))
    form = PlaceForm(lon, lat, radius or str(DEFAULT_RADIUS_M), park_and_ride == "true", asked, errors)
    return form, (tuple(values) if not errors else ())


FormText = Annotated[str, Query(max_length=40)]


@router.get("/traffic/parking", name="parking_page")
def parking_page(
    request: Request,
    session: SessionDep,
    _: Anyone,
    lon: FormText = "",
    lat: FormText = "",
    radius: FormText = "",
    park_and_ride: FormText = "",
) -> Response:
    """Every car park with its free spaces and how old the reading is, and — when a place is given — the nearest
    ones with free spaces by a fresh reading (``parking.nearby``). A form error is said beside its field (422)."""
    form, place = _place_form(request, lon, lat, radius, park_and_ride)
    nearest = None
    if form.asked and place:
        found = parking.nearby(session, *place, park_and_ride=True if form.park_and_ride else None)
        nearest = [_car_park_row(request, item) for item in found]
    context = {
        "form": form,
        "errors": form.errors if form.asked else [],
        "nearest": nearest,
        "car_parks": [_car_park_row(request, item) for item in parking.listing(session)],
        "stale_after_min": int(parking.STALE_AFTER.total_seconds() // 60),
        "max_radius": MAX_RADIUS_M,
    }
    return render(request, "traffic/parking.html", context, status=422 if context["errors"] else 200)
