"""Tables of the cases module."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow

KINDS = ("component", "event")
TIME_UNITS = ("working_hours", "working_days")
PROFESSIONAL_GRIDS = ("water", "greening", "appearance", "municipal")


class CaseClass(Base):
    """A class of the catalogue: major (2 digits), minor (4) or a local third level (6), of components
    (部件) or events (事件), with its registration and closing conditions and disposal time limit.

    The same code may exist in several catalogues (``standard_ref``) and for both kinds."""

    __tablename__ = "case_class"
    __table_args__ = (UniqueConstraint("standard_ref", "kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard_ref: Mapped[str] = mapped_column(String(160), index=True)
    version: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(8), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str | None] = mapped_column(String(120))
    registration_condition: Mapped[str | None] = mapped_column(Text)
    closing_condition: Mapped[str | None] = mapped_column(Text)
    time_limit: Mapped[int | None] = mapped_column(Integer)
    time_limit_unit: Mapped[str | None] = mapped_column(String(16))
    default_department: Mapped[str | None] = mapped_column(String(32))
    professional_grid: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WorkingDayOverride(Base):
    """A date that differs from the weekly rule: a public holiday (not working) or a make-up day (working)."""

    __tablename__ = "working_day_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60))
