"""Tables of the cases module."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow
from smartcity.places import BoundingBox, box_index

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


COMPONENT_STATES = ("intact", "damaged", "lost", "abandoned", "removed")  # 完好 破损 丢失 废弃 移除
DATA_SOURCES = ("surveyed", "topographic_map", "base_geodata", "other")  # 实测 地形图 基础地理数据 其他


class Component(BoundingBox, Base):
    """A public facility (部件) with its 16-digit ID: district (6) + major (2) + minor (2) + serial (6).

    Written in bulk by imports and the demo (one audit record per import); single edits are audited."""

    __tablename__ = "case_component"
    __audit_exclude__ = frozenset({"geometry"})
    __table_args__ = (
        Index("ix_case_component_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),
        box_index("case_component"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    class_code: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(60))
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    geometry: Mapped[bytes] = mapped_column(LargeBinary)  # a WGS-84 point, as WKB like every place
    competent_department: Mapped[str | None] = mapped_column(String(100))  # 主管部门
    owner_department: Mapped[str | None] = mapped_column(String(100))  # 权属单位
    maintenance_department: Mapped[str | None] = mapped_column(String(100))  # 养护单位
    state: Mapped[str] = mapped_column(String(12), index=True, default="intact")
    initial_date: Mapped[date] = mapped_column(Date)
    changed_date: Mapped[date | None] = mapped_column(Date)
    data_source: Mapped[str] = mapped_column(String(20), default="other")
    note: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    """A case (案卷): a component or event problem at a place, moving through the closed loop.

    ``version`` guards against two people acting at once: the second write fails and gets a 409."""

    __tablename__ = "case_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    class_code: Mapped[str] = mapped_column(String(8), index=True)
    source: Mapped[str] = mapped_column(String(12))
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    component_code: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    reporter: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str | None] = mapped_column(String(32), index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # on-time dispatch limit
    check_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # on-time on-site check limit
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest on-site check
    late_checks: Mapped[int] = mapped_column(Integer, default=0)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CaseEvent(Base):
    """One step in a case's history; never changed once written."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_case.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str | None] = mapped_column(Text)  # JSON: department, deadline, reason …


class CasePhoto(Base):
    """A photo of a case (before, after disposal, on-site check), stored as a file without its metadata."""

    __tablename__ = "case_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # before | after | check
    path: Mapped[str] = mapped_column(String(200))  # relative to SMARTCITY_MEDIA_DIR
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
