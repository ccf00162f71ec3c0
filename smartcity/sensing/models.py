"""Tables of the sensing hub: the OGC SensorThings API v1.1 (Sensing) data model.

Geometries are stored as GeoJSON text, with a WGS-84 bounding box for filters and maps. An observation's
result is kept in the column of its type (number, text, boolean or JSON) so that numbers compare and
aggregate as numbers. Observations are written in bulk and are not audited one by one (the ingest that
wrote them is); every other entity is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime


class Thing(Base):
    __tablename__ = "sta_thing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[str | None] = mapped_column(Text)  # JSON object


thing_location = Table(
    "sta_thing_location",
    Base.metadata,
    Column("thing_id", ForeignKey("sta_thing.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("sta_location.id", ondelete="CASCADE"), primary_key=True),
)

historical_location_location = Table(
    "sta_historical_location_location",
    Base.metadata,
    Column("historical_location_id", ForeignKey("sta_historical_location.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", ForeignKey("sta_location.id", ondelete="CASCADE"), primary_key=True),
)


class Geometry:
    """GeoJSON with its WGS-84 bounding box (for bbox filters and the map). ``geometry`` is the bare
    geometry of what was given (a Feature's geometry), which spatial filters read."""

    geometry: Mapped[str | None] = mapped_column(Text)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)


class Location(Geometry, Base):
    __tablename__ = "sta_location"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(60), default="application/geo+json")
    location: Mapped[str] = mapped_column(Text)  # GeoJSON geometry or feature
    properties: Mapped[str | None] = mapped_column(Text)


class HistoricalLocation(Base):
    __tablename__ = "sta_historical_location"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_thing.id", ondelete="CASCADE"), index=True)


class Sensor(Base):
    __tablename__ = "sta_sensor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    metadata_: Mapped[str] = mapped_column("metadata", Text)
    properties: Mapped[str | None] = mapped_column(Text)


class ObservedProperty(Base):
    __tablename__ = "sta_observed_property"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[str | None] = mapped_column(Text)


class Stream(Geometry, Base):
    """A time series: a Datastream (one ObservedProperty, ``kind`` "d") or a MultiDatastream (an ordered
    list of ObservedProperties, results as arrays; ``kind`` "m"). Both share one table and one id sequence,
    so an Observation names its series by one column and one unique index serves both. The time extents
    and the latest value are kept up to date by the ingest, so reading them costs nothing."""

    __tablename__ = "sta_datastream"
    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_on": "kind", "polymorphic_abstract": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(String(200))
    unit_of_measurement: Mapped[str] = mapped_column(Text)  # JSON {name, symbol, definition}
    observed_area: Mapped[str | None] = mapped_column(Text)
    phenomenon_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    properties: Mapped[str | None] = mapped_column(Text)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_thing.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensor.id", ondelete="CASCADE"), index=True)
    observed_property_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_observed_property.id", ondelete="CASCADE"), index=True
    )  # a Datastream's; a MultiDatastream's are in sta_multi_datastream_observed_property
    latest_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_result: Mapped[str | None] = mapped_column(Text)  # JSON of the newest observation's result
    kind: Mapped[str] = mapped_column(String(1), server_default="d")
    multi_observation_data_types: Mapped[str | None] = mapped_column(Text)  # JSON list (MultiDatastreams)


class Datastream(Stream):
    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_identity": "d"}


class MultiDatastream(Stream):
    __mapper_args__: ClassVar[dict[str, Any]] = {"polymorphic_identity": "m"}


multi_datastream_observed_property = Table(
    "sta_multi_datastream_observed_property",
    Base.metadata,
    Column("multi_datastream_id", ForeignKey("sta_datastream.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),  # the index of the property's value in each result array
    Column("observed_property_id", ForeignKey("sta_observed_property.id", ondelete="CASCADE"), index=True),
)


class FeatureOfInterest(Geometry, Base):
    __tablename__ = "sta_feature_of_interest"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(60), default="application/geo+json")
    feature: Mapped[str] = mapped_column(Text)
    properties: Mapped[str | None] = mapped_column(Text)
    location_id: Mapped[int | None] = mapped_column(Integer, index=True)  # made from this Location, if so


class Observation(Base):
    """One value. (datastream, phenomenon time) is a unique index: a series reads as one index range, and
    a device that sends the same reading twice (a retry) does not double it — see docs/sensing.md."""

    __tablename__ = "sta_observation"
    __audited__ = False  # written in bulk; the ingest is audited, not each value
    __table_args__ = (Index("ix_sta_observation_series", "datastream_id", "phenomenon_time_start", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    phenomenon_time_start: Mapped[datetime] = mapped_column(UTCDateTime)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_number: Mapped[float | None] = mapped_column(Float)
    result_string: Mapped[str | None] = mapped_column(Text)
    result_boolean: Mapped[bool | None] = mapped_column(Boolean)
    result_json: Mapped[str | None] = mapped_column(Text)  # objects and arrays
    result_quality: Mapped[str | None] = mapped_column(Text)
    valid_time_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_time_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parameters: Mapped[str | None] = mapped_column(Text)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("sta_datastream.id", ondelete="CASCADE"))  # or Multi…
    feature_of_interest_id: Mapped[int] = mapped_column(
        ForeignKey("sta_feature_of_interest.id", ondelete="CASCADE"), index=True
    )


class ObservationHour(Base):
    """The hours of a series that hold observations, each with a revision that every write to that hour
    (insert, change, delete) replaces in the same transaction (``hours.touch``): a process may keep what it
    rendered of an hour for as long as the revision stays the same (``window.WindowCache``)."""

    __tablename__ = "sta_observation_hour"
    __audited__ = False  # derived from sta_observation; the writes themselves are audited

    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"), primary_key=True
    )  # or a MultiDatastream's
    hour: Mapped[str] = mapped_column(String(13), primary_key=True)  # UTC, "2026-12-02T06"
    revision: Mapped[int] = mapped_column(BigInteger)


class ThingDevice(Base):
    """Which device account may write a Thing's observations (a device writes only its own Things)."""

    __tablename__ = "sta_thing_device"

    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_thing.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
