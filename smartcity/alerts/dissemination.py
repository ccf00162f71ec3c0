"""Dissemination of published warnings: each message reaches each matching subscriber — webhook (signed),
email, SMS — through a delivery made in the publishing transaction (one per message and subscriber). The
schedule sends due deliveries outside any transaction, records the outcome, retries with exponential
backoff and dead-letters after the last attempt. Email and SMS go through pluggable senders; the console
sender (the default, and the demo's) writes them to the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from smartcity.alerts import hazards
from smartcity.alerts.models import CapMessage, Delivery, Subscriber
from smartcity.core import events
from smartcity.core.db import Database, utcnow
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.security import Principal

LOGGER = logging.getLogger(__name__)
CHANNELS = ("webhook", "email", "sms")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)  # then 1, 2, 4 … minutes, at most an hour apart
LONGEST_WAIT = timedelta(hours=1)
CLAIM = timedelta(minutes=2)  # a claimed delivery is left alone this long by other workers
SIGNATURE_HEADER = "X-SmartCity-Signature"


# ---------------------------------------------------------------- subscribers


def _problems(channel: str, target: str, hazard_codes: list[str] | None, min_colour: str) -> list[dict[str, str]]:
    problems = []
    if channel not in CHANNELS:
        problems.append({"field": "channel", "message": f"one of {', '.join(CHANNELS)}"})
    elif channel == "webhook" and not target.startswith(("https://", "http://")):
        problems.append({"field": "target", "message": "a webhook is an http(s) URL"})
    elif channel == "email" and ("@" not in target or " " in target):
        problems.append({"field": "target", "message": "an email address"})
    elif channel == "sms" and not target.lstrip("+").isdigit():
        problems.append({"field": "target", "message": "a phone number (digits, optionally with +)"})
    known = {h.code for h in hazards.catalogue().hazards}
    for code in hazard_codes or []:
        if code not in known:
            problems.append({"field": "hazards", "message": f"unknown hazard {code}"})
    if min_colour not in ("blue", "yellow", "orange", "red"):
        problems.append({"field": "min_colour", "message": "blue, yellow, orange or red"})
    return problems


def subscribe(
    session: Session,
    principal: Principal,
    *,
    name: str,
    channel: str,
    target: str,
    hazard_codes: list[str] | None = None,
    area_codes: list[str] | None = None,
    min_colour: str = "blue",
) -> tuple[Subscriber, str | None]:
    """A new subscriber; for a webhook also its signing secret (returned once, never shown again)."""
    problems = _problems(channel, target, hazard_codes, min_colour)
    if problems:
        raise Problem(422, "The subscriber cannot be saved: " + "; ".join(f"{p['field']}: {p['message']}"
                      for p in problems) + ".", errors=problems)  # fmt: skip
    secret = secrets.token_urlsafe(32) if channel == "webhook" else None
    subscriber = Subscriber(
        name=name,
        channel=channel,
        target=target,
        secret=secret,
        hazards=json.dumps(hazard_codes) if hazard_codes else None,
        area_codes=json.dumps(area_codes) if area_codes else None,
        min_colour=min_colour,
        active=True,
        created_by=principal.username,
        created_at=utcnow(),
    )
    session.add(subscriber)
    session.flush()
    return subscriber, secret


def set_active(session: Session, subscriber_id: int, active: bool) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound("subscriber", subscriber_id)
    subscriber.active = active
    return subscriber


def _wants(subscriber: Subscriber, message: CapMessage) -> bool:
    rank = lambda colour: hazards.catalogue().level(colour).rank  # noqa: E731
    if subscriber.hazards and message.hazard not in json.loads(subscriber.hazards):
        return False
    if subscriber.area_codes:
        wanted, covered = json.loads(subscriber.area_codes), json.loads(message.area_codes)
        # a subscriber for a district hears of the city's warnings too, and of its streets'
        if not any(c.startswith(w) or w.startswith(c) for w in wanted for c in covered):
            return False
    return message.msg_type == "Cancel" or rank(message.colour) >= rank(subscriber.min_colour)


@events.react("alerts.message_published")
def _deliveries_for(session: Session, event: events.DomainEvent) -> None:
    """In the publishing transaction: one delivery per matching subscriber (a unique key per pair)."""
    message = session.get(CapMessage, event.payload["id"])
    assert message is not None
    now = utcnow()
    for subscriber in session.scalars(select(Subscriber).where(Subscriber.active.is_(True))):
        if _wants(subscriber, message):
            session.add(
                Delivery(
                    message_id=message.id,
                    subscriber_id=subscriber.id,
                    idempotency_key=f"{message.identifier}/{subscriber.id}",
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
    session.flush()


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    key: str
    channel: str
    target: str
    secret: str | None
    identifier: str
    headline: str
    xml: str


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ConsoleSender:
    """Email and SMS written to the log (the demo's, and the default until a gateway is configured)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def __call__(self, outgoing: Outgoing) -> None:
        LOGGER.warning("[%s to %s] %s (%s)", self.channel, outgoing.target, outgoing.headline, outgoing.key)


Sender = Callable[[Outgoing], None]
SENDERS: dict[str, Sender] = {"email": ConsoleSender("email"), "sms": ConsoleSender("sms")}


def register_sender(channel: str, sender: Sender) -> None:
    """Plug in an email or SMS gateway: a callable that raises on failure."""
    SENDERS[channel] = sender


def _send_webhook(client: httpx.Client, outgoing: Outgoing) -> None:
    body = outgoing.xml.encode("utf-8")
    headers = {
        "Content-Type": "application/cap+xml",
        "Idempotency-Key": outgoing.key,
        SIGNATURE_HEADER: sign(outgoing.secret or "", body),
    }
    response = client.post(outgoing.target, content=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"HTTP {response.status_code} from {outgoing.target}")


def _claim(database: Database, now: datetime, limit: int) -> list[Outgoing]:
    with database.session(actor="dissemination") as session:
        due = session.scalars(
            select(Delivery)
            .where(
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        ).all()
        claimed = []
        for delivery in due:
            delivery.claimed_until = now + CLAIM
            subscriber = session.get(Subscriber, delivery.subscriber_id)
            message = session.get(CapMessage, delivery.message_id)
            assert subscriber is not None and message is not None
            claimed.append(Outgoing(delivery.id, delivery.idempotency_key, subscriber.channel, subscriber.target,
                                    subscriber.secret, message.identifier, message.headline, message.xml))  # fmt: skip
        return claimed


def _record(database: Database, outgoing: Outgoing, error: str | None, now: datetime) -> None:
    with database.session(actor="dissemination") as session:
        delivery = session.get(Delivery, outgoing.delivery_id)
        assert delivery is not None
        delivery.attempts += 1
        delivery.claimed_until = None
        if error is None:
            delivery.state, delivery.delivered_at, delivery.last_error = "delivered", now, None
            return
        delivery.last_error = error[:1000]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "dead"
            events.emit(session, "alerts.delivery_dead", id=delivery.id, key=delivery.idempotency_key)
        else:
            delivery.next_attempt_at = now + min(FIRST_RETRY * 2 ** (delivery.attempts - 1), LONGEST_WAIT)


def deliver_due(database: Database, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send what is due; each outcome is recorded in its own short transaction."""
    now = now or utcnow()
    outcome = {"delivered": 0, "failed": 0}
    with httpx.Client(timeout=10.0) as client:
        for outgoing in _claim(database, now, limit):
            try:
                if outgoing.channel == "webhook":
                    _send_webhook(client, outgoing)
                else:
                    SENDERS[outgoing.channel](outgoing)
                error = None
            except Exception as exc:  # any failure of the far side is retried, never fatal to the schedule
                error = f"{type(exc).__name__}: {exc}"
            _record(database, outgoing, error, now)
            outcome["failed" if error else "delivered"] += 1
    return outcome


# ---------------------------------------------------------------- the dead-letter list


def deliveries(session: Session, state: str | None = None, limit: int = 200) -> list[Delivery]:
    statement = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if state:
        statement = statement.where(Delivery.state == state)
    return list(session.scalars(statement))


def retry(session: Session, delivery_id: int) -> Delivery:
    """Send a dead-lettered delivery again (after the far side is fixed): a fresh round of attempts."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("delivery", delivery_id)
    if delivery.state != "dead":
        raise Conflict(f"Delivery {delivery_id} is {delivery.state}; only dead ones are retried.", code="not-dead")
    delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
    return delivery


def subscriber_json(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "name": subscriber.name,
        "channel": subscriber.channel,
        "target": subscriber.target,
        "hazards": json.loads(subscriber.hazards) if subscriber.hazards else None,
        "area_codes": json.loads(subscriber.area_codes) if subscriber.area_codes else None,
        "min_colour": subscriber.min_colour,
        "active": subscriber.active,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "message": delivery.message_id,
        "subscriber": delivery.subscriber_id,
        "key": delivery.idempotency_key,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat(),
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
    }
