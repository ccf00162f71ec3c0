"""Tables of the hotline module: the dispatch catalogue, work orders with their history, the knowledge base."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow
from smartcity.core.privacy import mask_email, mask_name, mask_phone

ORDER_TYPES = ("inquiry", "help", "complaint", "report", "suggestion", "praise")  # 咨询 求助 投诉 举报 建议 表扬
CHANNELS = ("phone", "web", "open311", "api")
URGENCIES = ("normal", "urgent")
LEVELS = ("city", "district", "street")
TIME_UNITS = ("working_hours", "working_days")  # as the working calendar of the cases module counts them
CASE_KINDS = ("component", "event")  # the grid case kinds an urban-management matter may become
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")  # 满意 基本满意 不满意


class Matter(Base):
    """A line of the dispatch catalogue (派单目录): a kind of matter, who answers for it and in what time.

    ``level`` says which department of the place handles it (the city, the district or the street the
    order is located in) unless ``department_code`` names one. Urban-management matters name the grid
    case class they become (``case_kind`` + ``case_class``) and follow the grid-management loop."""

    __tablename__ = "hotline_matter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str | None] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(10), default="district")
    department_code: Mapped[str | None] = mapped_column(String(32))
    sign_limit_hours: Mapped[int] = mapped_column(Integer, default=2)
    handle_limit: Mapped[int] = mapped_column(Integer, default=5)
    handle_limit_unit: Mapped[str] = mapped_column(String(16), default="working_days")
    urgent_limit: Mapped[int] = mapped_column(Integer, default=4)
    urgent_limit_unit: Mapped[str] = mapped_column(String(16), default="working_hours")
    case_kind: Mapped[str | None] = mapped_column(String(12))
    case_class: Mapped[str | None] = mapped_column(String(8))
    keywords: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WorkOrder(Base):
    """A citizen's matter (工单) from any channel, through accept → dispatch → handle → reply → call back.

    The caller's name, phone and e-mail are personal data: masked in the audit chain and for roles that
    do not need them. ``version`` guards against two people acting at once (the second gets a 409)."""

    __tablename__ = "hotline_order"
    __audit_masked__ = {"caller_name": mask_name, "caller_phone": mask_phone, "caller_email": mask_email}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    order_type: Mapped[str] = mapped_column(String(12))
    matter_code: Mapped[str | None] = mapped_column(String(16), index=True)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    caller_name: Mapped[str | None] = mapped_column(String(60))
    caller_phone: Mapped[str | None] = mapped_column(String(30), index=True)
    caller_email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(200))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9))
    state: Mapped[str] = mapped_column(String(12), index=True)
    department_code: Mapped[str | None] = mapped_column(String(32), index=True)  # the lead department
    co_departments: Mapped[str | None] = mapped_column(String(200))  # joint handling: comma-separated codes
    departments_seen: Mapped[int] = mapped_column(Integer, default=0)  # distinct departments dispatched to
    rehandle_count: Mapped[int] = mapped_column(Integer, default=0)  # 重办
    return_count: Mapped[int] = mapped_column(Integer, default=0)  # 退单
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)  # 提级督办
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    case_number: Mapped[str | None] = mapped_column(String(20), index=True)  # the grid case it became
    merged_into: Mapped[str | None] = mapped_column(String(20), index=True)  # 并单: the order that handles it
    media_url: Mapped[str | None] = mapped_column(String(500))  # a photo the citizen links (Open311)
    answered_directly: Mapped[bool] = mapped_column(Boolean, default=False)  # 直接答复
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest dispatch
    first_dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_late: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)  # the department's handling result (办理结果)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)  # what the citizen is told
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    resolved: Mapped[bool | None] = mapped_column(Boolean)  # the citizen's answer at callback: solved?
    repeat_caller: Mapped[bool] = mapped_column(Boolean, default=False)  # the phone called in the last 30 days
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OrderEvent(Base):
    """One step in an order's history; never changed once written."""

    __tablename__ = "hotline_order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("hotline_order.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str | None] = mapped_column(Text)  # JSON: department, deadline, satisfaction …


class OrderPhoto(Base):
    """A photo sent with an order, stored as a file without its metadata (see core/images.py)."""

    __tablename__ = "hotline_order_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("hotline_order.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))  # relative to SMARTCITY_MEDIA_DIR
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Article(Base):
    """A knowledge-base article (知识库) operators answer from: per department and topic, versioned in place
    (every change is in the audit chain), searchable in Chinese by its title, body and keywords."""

    __tablename__ = "hotline_article"
    __audit_exclude__ = frozenset({"title_terms", "keyword_terms", "body_terms"})  # derived from the text

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str | None] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(String(60), index=True)
    department_code: Mapped[str | None] = mapped_column(String(32), index=True)
    matter_code: Mapped[str | None] = mapped_column(String(16))
    # Search terms (bigrams of Chinese, Latin words) that the full-text index reads: see knowledge.py
    title_terms: Mapped[str] = mapped_column(Text, default="")
    keyword_terms: Mapped[str | None] = mapped_column(Text)
    body_terms: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
