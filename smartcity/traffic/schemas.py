"""Request bodies of the traffic module: car parks, probe-vehicle points."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from smartcity.core.schemas import Request


class StationRef(Request):
    """A rail station a park-and-ride car park serves."""

    name: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    lines: list[str] = Field(default_factory=list, max_length=20)


class CarParkIn(Request):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    capacity: int = Field(gt=0, le=100_000, description="parking spaces")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    park_and_ride: bool = False
    stations: list[StationRef] = Field(default_factory=list, max_length=20)
    datastream_id: int | None = Field(None, description="the sensing datastream of its occupied spaces")
    synthetic: bool = False


class ProbePoint(Request):
    """One GPS fix of a probe vehicle (a taxi, a bus): WGS-84, its time, and speed/heading when the unit has them."""

    vehicle: str = Field(min_length=1, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    time: datetime
    speed_kmh: float | None = Field(None, ge=0, le=250)
    heading: float | None = Field(None, ge=0, lt=360, description="degrees clockwise from north")


class ProbeBatch(Request):
    points: list[ProbePoint] = Field(min_length=1, max_length=100_000)
