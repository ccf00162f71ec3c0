"""Pages of the sensing hub: the sensor map (latest value and freshness per station, with a table that
says the same without the map) and a station page with charts of its datastreams over a chosen period;
and the JSON they read (``/api/sensing/…``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartcity.core import charts
from smartcity.core.db import utcnow
from smartcity.core.deps import SessionDep
from smartcity.core.errors import NotFound, Problem
from smartcity.core.web import NavItem, add_nav, add_templates, render, translate
from smartcity.security import Principal, readable
from smartcity.sensing import series

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Sensors", "sensing_map", "sensing.read", order=500))
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/sensing", tags=["sensing"])
Reader = Annotated[Principal, readable("sensing.read", lambda settings: settings.sta_public_read)]
FRESH, LATE = timedelta(minutes=15), timedelta(hours=2)  # freshness bands of the map
PERIODS = {"24h": (timedelta(hours=24), timedelta(minutes=15)), "7d": (timedelta(days=7), timedelta(hours=2)),
           "30d": (timedelta(days=30), timedelta(hours=12))}  # fmt: skip
_DURATION = re.compile(r"^(\d+)([smhd])$")


def freshness(age: timedelta | None) -> str:
    if age is None:
        return "none"
    return "fresh" if age <= FRESH else "late" if age <= LATE else "stale"


def _station_json(station: series.Station) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": station.thing_id,
        "geometry": {"type": "Point", "coordinates": [station.lon, station.lat]},
        "properties": {
            "name": station.name,
            "freshness": freshness(station.freshest),
            "readings": [
                {
                    "datastream": r.datastream_id,
                    "name": r.name,
                    "value": r.value,
                    "unit": r.unit,
                    "time": r.time.isoformat() if r.time else None,
                }
                for r in station.readings
            ],
        },
    }


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise Problem(
            422, "bbox must be west,south,east,north in degrees.", errors=[{"field": "bbox", "message": "malformed"}]
        ) from exc
    return west, south, east, north


@api.get("/stations", summary="Stations with every datastream's latest value and freshness (GeoJSON)")
def stations_geojson(
    session: SessionDep, _: Reader, bbox: Annotated[str | None, Query(description="west,south,east,north")] = None
) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [_station_json(s) for s in series.stations(session, _bbox(bbox))]}


def _interval(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise Problem(
            422, "interval must look like 30s, 5m, 2h or 1d.", errors=[{"field": "interval", "message": "malformed"}]
        )
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


@api.get("/datastreams/{datastream_id}/series", summary="Min, max and mean per interval (for charts)")
def datastream_series(
    datastream_id: int,
    session: SessionDep,
    _: Reader,
    start: Annotated[datetime, Query(alias="from", description="with offset")],
    end: Annotated[datetime | None, Query(alias="to", description="with offset; default now")] = None,
    interval: Annotated[str, Query(description="e.g. 5m, 1h, 1d")] = "1h",
) -> dict[str, Any]:
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise Problem(422, "Give from and to with their offset.", errors=[{"field": "from", "message": "no offset"}])
    buckets = series.downsample(session, datastream_id, start, end or utcnow(), _interval(interval))
    return {
        "datastream": datastream_id,
        "interval": interval,
        "buckets": [
            {"start": b.start.isoformat(), "count": b.count, "min": b.minimum, "max": b.maximum, "mean": b.mean}
            for b in buckets
        ],
    }


@router.get("/sensing", name="sensing_map")
def sensor_map(request: Request, session: SessionDep, _: Reader) -> Response:
    return render(request, "sensing/map.html", {"stations": series.stations(session), "freshness": freshness})


@router.get("/sensing/stations/{thing_id}", name="sensing_station")
def station_page(
    thing_id: int,
    request: Request,
    session: SessionDep,
    _: Reader,
    period: Annotated[str, Query(pattern="^(24h|7d|30d)$")] = "24h",
) -> Response:
    found = series.stations(session, thing_id=thing_id)
    if not found:
        raise NotFound("station", thing_id)
    station = found[0]
    span, step = PERIODS[period]
    end = utcnow()
    aligned_end = datetime.fromtimestamp(
        (int(end.timestamp()) // int(step.total_seconds()) + 1) * int(step.total_seconds()), UTC
    )
    start = aligned_end - span
    figures = []
    for reading in station.readings:
        found = series.downsample(session, reading.datastream_id, start, aligned_end, step, reading.component)
        buckets = {b.start: b for b in found}
        points = []
        moment = start
        while moment < aligned_end:
            bucket = buckets.get(moment)
            label = moment.astimezone(_tz(request)).strftime("%H:%M" if period == "24h" else "%m-%d")
            points.append(charts.Point(label, bucket.mean if bucket else None))
            moment += step
        part = translate(request, "mean per interval")
        title = f"{reading.name} ({reading.unit}) · {part}"
        chart = charts.line_chart(
            title, points, no_data=translate(request, "no data"), label_every=max(1, len(points) // 8)
        )
        figures.append((reading, chart))
    return render(
        request,
        "sensing/station.html",
        {"station": station, "figures": figures, "period": period, "freshness": freshness, "periods": list(PERIODS)},
    )


def _tz(request: Request) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(request.app.state.settings.timezone)
