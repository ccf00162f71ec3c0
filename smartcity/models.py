"""Imports every module's tables so the metadata (and Alembic) sees the whole schema. Add new modules here."""

from smartcity.alerts.models import (
    Alarm,
    AlarmEvent,
    Bulletin,
    CapMessage,
    Delivery,
    Rule,
    RuleDatastream,
    RuleState,
    RuleVersion,
    Subscriber,
)
from smartcity.cases.models import Case, CaseClass, CaseEvent, CasePhoto, Component, WorkingDayOverride
from smartcity.core.audit import AuditHead, AuditRecord
from smartcity.core.db import Base
from smartcity.core.ratelimit import RateWindow
from smartcity.hotline.models import Article, Matter, OrderEvent, OrderPhoto, WorkOrder
from smartcity.kpi.models import IndicatorValue
from smartcity.places.models import Division, GridLayer, GridLayerMember, GridRevision, UnitGrid
from smartcity.security.models import ApiKey, AuthToken, Department, LoginFailure, User
from smartcity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    Location,
    Observation,
    ObservedProperty,
    Sensor,
    Thing,
    ThingDevice,
)
from smartcity.traffic.models import (
    CarPark,
    ProbeSpeed,
    RoadSegment,
    StopArrival,
    TrafficCycle,
    TrafficIndex,
    TransitFeed,
    VehiclePosition,
)

__all__ = [
    "Alarm",
    "AlarmEvent",
    "ApiKey",
    "Article",
    "AuditHead",
    "AuditRecord",
    "AuthToken",
    "Base",
    "Bulletin",
    "CapMessage",
    "CarPark",
    "Case",
    "CaseClass",
    "CaseEvent",
    "CasePhoto",
    "Component",
    "Datastream",
    "Delivery",
    "Department",
    "Division",
    "FeatureOfInterest",
    "GridLayer",
    "GridLayerMember",
    "GridRevision",
    "HistoricalLocation",
    "IndicatorValue",
    "Location",
    "LoginFailure",
    "Matter",
    "Observation",
    "ObservedProperty",
    "OrderEvent",
    "OrderPhoto",
    "ProbeSpeed",
    "RateWindow",
    "RoadSegment",
    "Rule",
    "RuleDatastream",
    "RuleState",
    "RuleVersion",
    "Sensor",
    "StopArrival",
    "Subscriber",
    "Thing",
    "ThingDevice",
    "TrafficCycle",
    "TrafficIndex",
    "TransitFeed",
    "UnitGrid",
    "User",
    "VehiclePosition",
    "WorkOrder",
    "WorkingDayOverride",
]
