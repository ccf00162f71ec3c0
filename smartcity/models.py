"""Imports every module's tables so the metadata (and Alembic) sees the whole schema. Add new modules here."""

from smartcity.cases.models import Case, CaseClass, CaseEvent, CasePhoto, Component, WorkingDayOverride
from smartcity.core.audit import AuditHead, AuditRecord
from smartcity.core.db import Base
from smartcity.core.ratelimit import RateWindow
from smartcity.hotline.models import Article, Matter, OrderEvent, OrderPhoto, WorkOrder
from smartcity.places.models import Division, GridLayer, GridLayerMember, GridRevision, UnitGrid
from smartcity.security.models import ApiKey, AuthToken, Department, LoginFailure, User

__all__ = [
    "ApiKey",
    "Article",
    "AuditHead",
    "AuditRecord",
    "AuthToken",
    "Base",
    "Case",
    "CaseClass",
    "CaseEvent",
    "CasePhoto",
    "Component",
    "Department",
    "Division",
    "GridLayer",
    "GridLayerMember",
    "GridRevision",
    "LoginFailure",
    "Matter",
    "OrderEvent",
    "OrderPhoto",
    "RateWindow",
    "UnitGrid",
    "User",
    "WorkOrder",
    "WorkingDayOverride",
]
