"""Tables of the traffic module: the road network and its 5-minute traffic state, car parks, and public
transport (GTFS feeds kept whole, vehicles' latest positions, the stop arrivals they were seen to make)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow


class RoadSegment(Base):
    """A directed or two-way stretch of road between junctions. ``position`` is its slot in every cycle's
    packed arrays (never reused, so old cycles stay readable after the network changes)."""

    __tablename__ = "traffic_segment"
    __audited__ = False  # imported in bulk: the import is chained as one record
    __table_args__ = (Index("ix_traffic_segment_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    road_class: Mapped[str] = mapped_column(String(12), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    length_m: Mapped[float] = mapped_column(Float)
    free_flow_kmh: Mapped[float] = mapped_column(Float)
    coordinates: Mapped[str] = mapped_column(Text)  # JSON [[lon, lat], …], WGS-84
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(20))
    datastream_id: Mapped[int | None] = mapped_column(Integer, index=True)  # a road detector's speed, if any
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200), default="")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class TrafficCycle(Base):
    """One 5-minute cycle: every segment's speed and level packed by position; the index of each scheme per
    district and for the city in ``traffic_index``."""

    __tablename__ = "traffic_cycle"
    __audited__ = False  # computed from observations on a schedule; nobody changes it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, unique=True)  # the cycle's end
    segments: Mapped[int] = mapped_column(Integer)  # segments with a speed this cycle
    coverage: Mapped[float] = mapped_column(Float)
    speeds: Mapped[bytes] = mapped_column(LargeBinary)  # uint16 little-endian, km/h × 10; 65535: no data
    levels: Mapped[bytes] = mapped_column(LargeBinary)  # uint8 per position: 0 no data, 1 畅通 … 5 严重拥堵
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrafficIndex(Base):
    """The index of one area (a district by GB/T 2260 code, or the city) in one cycle."""

    __tablename__ = "traffic_index"
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("cycle_id", "scheme", "area_code", name="uq_traffic_index_cycle_scheme_area"),
        Index("ix_traffic_index_area_at", "scheme", "area_code", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("traffic_cycle.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    area_code: Mapped[str] = mapped_column(String(12))
    value: Mapped[float | None] = mapped_column(Float)  # the scheme's index (0–10, 0–100 …)
    level: Mapped[int | None] = mapped_column(Integer)  # 1 … the scheme's bands
    tti: Mapped[float | None] = mapped_column(Float)
    congestion_pct: Mapped[float | None] = mapped_column(Float)
    congested_ratio: Mapped[float | None] = mapped_column(Float)
    mean_speed_kmh: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)


class ProbeSpeed(Base):
    """Probe vehicles' map-matched speeds summed per segment and cycle, until the cycle is computed."""

    __tablename__ = "traffic_probe_speed"
    __audited__ = False  # telemetry, like observations

    cycle_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    segment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    speed_sum: Mapped[float] = mapped_column(Float)


class CarPark(Base):
    """A car park with its capacity, whether it is park-and-ride and which stations it serves; occupancy
    comes from a sensing datastream (occupied spaces)."""

    __tablename__ = "traffic_car_park"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    district_code: Mapped[str | None] = mapped_column(String(12))
    park_and_ride: Mapped[bool] = mapped_column(Boolean, default=False)
    stations: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{"name", "name_en", "lines"}]
    datastream_id: Mapped[int | None] = mapped_column(Integer, index=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class TransitFeed(Base):
    """A GTFS static feed, kept whole as imported (it is served back at /gtfs/static.zip); one is active."""

    __tablename__ = "transit_feed"
    __audit_exclude__ = frozenset({"content"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[str] = mapped_column(Text)  # JSON counts: agencies, stops, routes, trips, stop_times
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VehiclePosition(Base):
    """The latest position of each vehicle in service, from GTFS-Realtime VehiclePosition messages."""

    __tablename__ = "transit_vehicle"
    __audited__ = False  # telemetry

    vehicle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    trip_id: Mapped[str] = mapped_column(String(64), index=True)
    route_id: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[str] = mapped_column(String(8))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    bearing: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    stop_sequence: Mapped[int | None] = mapped_column(Integer)
    stop_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer, default=2)  # VehicleStopStatus: 2 IN_TRANSIT_TO
    delay_s: Mapped[int | None] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StopArrival(Base):
    """A vehicle seen arriving at a stop: the history the run-time model learns from and accuracy is measured on."""

    __tablename__ = "transit_stop_arrival"
    __audited__ = False  # telemetry
    __table_args__ = (
        UniqueConstraint("trip_id", "service_date", "stop_sequence", name="uq_transit_stop_arrival"),
        Index("ix_transit_stop_arrival_route", "route_id", "observed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trip_id: Mapped[str] = mapped_column(String(64))
    route_id: Mapped[str] = mapped_column(String(64))
    service_date: Mapped[str] = mapped_column(String(8))
    stop_sequence: Mapped[int] = mapped_column(Integer)
    stop_id: Mapped[str] = mapped_column(String(64))
    scheduled_s: Mapped[int] = mapped_column(Integer)  # seconds after the service day's noon − 12 h
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
