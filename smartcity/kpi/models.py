"""Tables of the KPI module: indicator values, one row per version, never changed once written.

A correction is a new row that names the row it supersedes; a row is current while no row supersedes it. The
unique constraints make a fork impossible: one version number per period, and a row superseded at most once (the
first also serves as the index of a period's look-up).
Indicators themselves are data (data/indicators.json), not rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow


class IndicatorValue(Base):
    """One version of an indicator's value for an area (GB/T 2260) and a period (a year, or a quarter of it)."""

    __tablename__ = "kpi_value"
    __table_args__ = (
        UniqueConstraint("indicator", "area_code", "year", "quarter", "version", name="uq_kpi_value_period_version"),
        UniqueConstraint("supersedes_id", name="uq_kpi_value_supersedes_id"),
        CheckConstraint("quarter BETWEEN 0 AND 4", name="quarter"),
        CheckConstraint("origin IN ('entered', 'computed')", name="origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(String(12), default="310000")
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer, default=0)  # 0: the whole year
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("kpi_value.id"))
    value: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(10), default="entered")  # entered, computed (a snapshot)
    source_title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(500))
    source_reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
