"""Tables of the alerts module: rules on observations (versioned), their evaluation state, and alarms with
the ISA-18.2 lifecycle and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow


class Rule(Base):
    """A rule on observations. ``spec`` is the current version's JSON (see rules.py); every change is a new
    version in ``alert_rule_version`` and the alarms say which version raised them."""

    __tablename__ = "alert_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    spec: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # optional: open a grid case when the alarm is raised (JSON {"event_class": …, "department": …})
    case_template: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleVersion(Base):
    __tablename__ = "alert_rule_version"

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    spec: Mapped[str] = mapped_column(Text)
    case_template: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class RuleDatastream(Base):
    """Which datastreams a rule reads: an observation wakes only the rules of its datastream."""

    __tablename__ = "alert_rule_datastream"

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"), primary_key=True)
    datastream_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class RuleState(Base):
    """The evaluation state of one rule (windows, pending conditions, last reading seen per datastream),
    written in the same transaction as the observations that changed it and the alarms it raised — so a
    restart neither loses nor repeats an alarm."""

    __tablename__ = "alert_rule_state"
    __audited__ = False  # derived from the observations and the rule; the alarms it changes are audited

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alarm(Base):
    """One alarm of a rule and source (a datastream, or a combination's key). ISA-18.2 states:
    active/unacknowledged → active/acknowledged → cleared/unacknowledged → cleared/acknowledged (closed).
    ``open_key`` is set while the alarm is not closed and is unique: one open alarm per rule and source."""

    __tablename__ = "alert_alarm"
    __table_args__ = (Index("ix_alert_alarm_active", "active", "acknowledged"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"), index=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(80))
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shelved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shelved_reason: Mapped[str | None] = mapped_column(Text)
    shelved_by: Mapped[str | None] = mapped_column(String(64))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)

    @property
    def state(self) -> str:
        return f"{'active' if self.active else 'cleared'}_{'acknowledged' if self.acknowledged else 'unacknowledged'}"


class AlarmEvent(Base):
    """The history of an alarm: raised, cleared, acknowledged, shelved, escalated, comments, its case."""

    __tablename__ = "alert_alarm_event"
    # Each row records a change of its alarm, which the chain already holds (the alarm's row is audited);
    # comments change no alarm and are chained by ``alarms.comment`` itself.
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alert_alarm.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)


class Bulletin(Base):
    """An early-warning bulletin as people write it: drafted, approved by a second person, published as a
    CAP message. An update or a cancellation is a bulletin of its own that names the message it replaces."""

    __tablename__ = "alert_bulletin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="alert")  # alert, update, cancel
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("alert_cap_message.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")  # draft, approved, published, rejected
    hazard: Mapped[str] = mapped_column(String(40))
    colour: Mapped[str] = mapped_column(String(10))
    area_codes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of GB/T 2260 codes
    area_polygons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of [[lon, lat], …] rings
    area_desc: Mapped[str] = mapped_column(String(500))
    onset: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    headline: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str] = mapped_column(Text, default="")
    headline_en: Mapped[str] = mapped_column(String(160), default="")
    area_desc_en: Mapped[str] = mapped_column(String(500), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    instruction_en: Mapped[str] = mapped_column(Text, default="")
    drafted_by: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("alert_cap_message.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock for edits and steps


class CapMessage(Base):
    """A published CAP 1.2 message, immutable: its XML is kept exactly as served. Which warnings are active
    is derived from these (Actual, not expired, not referenced by a later Update or Cancel)."""

    __tablename__ = "alert_cap_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    sender: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    msg_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    hazard: Mapped[str] = mapped_column(String(40))
    colour: Mapped[str] = mapped_column(String(10))
    area_codes: Mapped[str] = mapped_column(Text)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    headline: Mapped[str] = mapped_column(String(160))
    xml: Mapped[str] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("alert_cap_message.id"), index=True)


class Subscriber(Base):
    """Who receives published warnings: a webhook endpoint (signed with HMAC-SHA256), an email address or a
    phone number for SMS; optionally only some hazards, districts and colours."""

    __tablename__ = "alert_subscriber"
    __audit_exclude__ = frozenset({"secret"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))  # webhook, email, sms
    target: Mapped[str] = mapped_column(String(500))  # URL, address or phone number
    secret: Mapped[str | None] = mapped_column(String(100))  # webhooks: the HMAC key, shown once
    hazards: Mapped[str | None] = mapped_column(Text)  # JSON list; null: every hazard
    area_codes: Mapped[str | None] = mapped_column(Text)  # JSON list of division codes; null: everywhere
    min_colour: Mapped[str] = mapped_column(String(10), default="blue")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One message to one subscriber: made in the publishing transaction (one per pair, unique), sent by the
    schedule with retries and backoff, dead-lettered after the last attempt. Its key lets receivers drop
    a repeat (a send whose answer was lost is sent again: at least once, and once for the receiver)."""

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("alert_cap_message.id"), index=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("alert_subscriber.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, delivered, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
