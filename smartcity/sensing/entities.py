"""The SensorThings entity sets as data: each one's JSON properties and the columns behind them, and the
navigation properties between sets. The generic reading, writing and query code works from this table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from smartcity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    Location,
    MultiDatastream,
    Observation,
    ObservedProperty,
    Sensor,
    Thing,
    historical_location_location,
    multi_datastream_observed_property,
    thing_location,
)

COMPLEX_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"


@dataclass(frozen=True)
class Prop:
    """A JSON property. ``kind``: text, json (object), geojson, time (instant), interval (start/end
    columns, read as "start/end"), result, ro_interval (kept by the server, read-only)."""

    name: str
    column: str
    kind: str = "text"
    required: bool = False
    end_column: str | None = None


@dataclass(frozen=True)
class Nav:
    """A navigation property. To one: the source holds ``source_fk``. To many: the target holds
    ``target_fk``, or a link table joins them."""

    name: str
    target: str
    many: bool
    source_fk: str | None = None
    target_fk: str | None = None
    link: Table | None = None
    link_source: str | None = None
    link_target: str | None = None


@dataclass(frozen=True)
class EntitySet:
    name: str  # "Things"
    singular: str  # "Thing"
    model: Any
    props: tuple[Prop, ...]
    navs: tuple[Nav, ...] = field(default_factory=tuple)

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def nav(self, name: str) -> Nav | None:
        return next((n for n in self.navs if n.name == name), None)


def _things() -> EntitySet:
    return EntitySet(
        "Things",
        "Thing",
        Thing,
        (
            Prop("name", "name", required=True),
            Prop("description", "description"),
            Prop("properties", "properties", "json"),
        ),
        (
            Nav("Locations", "Locations", True, link=thing_location, link_source="thing_id", link_target="location_id"),
            Nav("HistoricalLocations", "HistoricalLocations", True, target_fk="thing_id"),
            Nav("Datastreams", "Datastreams", True, target_fk="thing_id"),
            Nav("MultiDatastreams", "MultiDatastreams", True, target_fk="thing_id"),
        ),
    )


def _multi_datastreams() -> EntitySet:
    """MultiDatastreams (the spec's MultiDatastream extension): results are arrays, one value per
    ObservedProperty, in the order of ``multiObservationDataTypes`` and ``unitOfMeasurements``."""
    return EntitySet(
        "MultiDatastreams",
        "MultiDatastream",
        MultiDatastream,
        (
            Prop("name", "name", required=True),
            Prop("description", "description"),
            Prop("observationType", "observation_type", required=True),
            Prop("multiObservationDataTypes", "multi_observation_data_types", "json", required=True),
            Prop("unitOfMeasurements", "unit_of_measurement", "json", required=True),
            Prop("observedArea", "observed_area", "ro_geojson"),
            Prop("phenomenonTime", "phenomenon_time_start", "ro_interval", end_column="phenomenon_time_end"),
            Prop("resultTime", "result_time_start", "ro_interval", end_column="result_time_end"),
            Prop("properties", "properties", "json"),
        ),
        (
            Nav("Thing", "Things", False, source_fk="thing_id"),
            Nav("Sensor", "Sensors", False, source_fk="sensor_id"),
            Nav(
                "ObservedProperties",
                "ObservedProperties",
                True,
                link=multi_datastream_observed_property,
                link_source="multi_datastream_id",
                link_target="observed_property_id",
            ),
            Nav("Observations", "Observations", True, target_fk="datastream_id"),
        ),
    )


SETS: dict[str, EntitySet] = {
    s.name: s
    for s in (
        _things(),
        _multi_datastreams(),
        EntitySet(
            "Locations",
            "Location",
            Location,
            (
                Prop("name", "name", required=True),
                Prop("description", "description"),
                Prop("encodingType", "encoding_type", required=True),
                Prop("location", "location", "geojson", required=True),
                Prop("properties", "properties", "json"),
            ),
            (
                Nav("Things", "Things", True, link=thing_location, link_source="location_id", link_target="thing_id"),
                Nav(
                    "HistoricalLocations",
                    "HistoricalLocations",
                    True,
                    link=historical_location_location,
                    link_source="location_id",
                    link_target="historical_location_id",
                ),
            ),
        ),
        EntitySet(
            "HistoricalLocations",
            "HistoricalLocation",
            HistoricalLocation,
            (Prop("time", "time", "time", required=True),),
            (
                Nav("Thing", "Things", False, source_fk="thing_id"),
                Nav(
                    "Locations",
                    "Locations",
                    True,
                    link=historical_location_location,
                    link_source="historical_location_id",
                    link_target="location_id",
                ),
            ),
        ),
        EntitySet(
            "Sensors",
            "Sensor",
            Sensor,
            (
                Prop("name", "name", required=True),
                Prop("description", "description"),
                Prop("encodingType", "encoding_type", required=True),
                Prop("metadata", "metadata_", required=True),
                Prop("properties", "properties", "json"),
            ),
            (
                Nav("Datastreams", "Datastreams", True, target_fk="sensor_id"),
                Nav("MultiDatastreams", "MultiDatastreams", True, target_fk="sensor_id"),
            ),
        ),
        EntitySet(
            "ObservedProperties",
            "ObservedProperty",
            ObservedProperty,
            (
                Prop("name", "name", required=True),
                Prop("definition", "definition", required=True),
                Prop("description", "description"),
                Prop("properties", "properties", "json"),
            ),
            (
                Nav("Datastreams", "Datastreams", True, target_fk="observed_property_id"),
                Nav(
                    "MultiDatastreams",
                    "MultiDatastreams",
                    True,
                    link=multi_datastream_observed_property,
                    link_source="observed_property_id",
                    link_target="multi_datastream_id",
                ),
            ),
        ),
        EntitySet(
            "Datastreams",
            "Datastream",
            Datastream,
            (
                Prop("name", "name", required=True),
                Prop("description", "description"),
                Prop("observationType", "observation_type", required=True),
                Prop("unitOfMeasurement", "unit_of_measurement", "json", required=True),
                Prop("observedArea", "observed_area", "ro_geojson"),
                Prop("phenomenonTime", "phenomenon_time_start", "ro_interval", end_column="phenomenon_time_end"),
                Prop("resultTime", "result_time_start", "ro_interval", end_column="result_time_end"),
                Prop("properties", "properties", "json"),
            ),
            (
                Nav("Thing", "Things", False, source_fk="thing_id"),
                Nav("Sensor", "Sensors", False, source_fk="sensor_id"),
                Nav("ObservedProperty", "ObservedProperties", False, source_fk="observed_property_id"),
                Nav("Observations", "Observations", True, target_fk="datastream_id"),
            ),
        ),
        EntitySet(
            "FeaturesOfInterest",
            "FeatureOfInterest",
            FeatureOfInterest,
            (
                Prop("name", "name", required=True),
                Prop("description", "description"),
                Prop("encodingType", "encoding_type", required=True),
                Prop("feature", "feature", "geojson", required=True),
                Prop("properties", "properties", "json"),
            ),
            (Nav("Observations", "Observations", True, target_fk="feature_of_interest_id"),),
        ),
        EntitySet(
            "Observations",
            "Observation",
            Observation,
            (
                Prop("phenomenonTime", "phenomenon_time_start", "interval", end_column="phenomenon_time_end"),
                Prop("resultTime", "result_time", "time"),
                Prop("result", "result_number", "result", required=True),
                Prop("resultQuality", "result_quality", "json"),
                Prop("validTime", "valid_time_start", "interval", end_column="valid_time_end"),
                Prop("parameters", "parameters", "json"),
            ),
            (
                Nav("Datastream", "Datastreams", False, source_fk="datastream_id"),
                Nav("MultiDatastream", "MultiDatastreams", False, source_fk="datastream_id"),
                Nav("FeatureOfInterest", "FeaturesOfInterest", False, source_fk="feature_of_interest_id"),
            ),
        ),
    )
}
SINGULAR = {s.singular: s for s in SETS.values()}
