"""The SensorThings MQTT extension over a real broker (Mosquitto in tests and CI, any MQTT 5 broker in
production, ``SMARTCITY_MQTT_URL``).

**Ingest**: devices publish an Observation (JSON) to ``v1.1/Datastreams(<id>)/Observations`` with QoS 1.
The bridge subscribes with a persistent session and *manual* acknowledgement: messages are batched, written
in one transaction, and only after the commit is each PUBACK sent, in order. A message the database did not
take is never acknowledged, so the broker delivers it again; an acknowledged message is always stored. A
message that can never be stored (bad JSON, unknown datastream, invalid values) is acknowledged and
counted as rejected, so it does not come back forever.

**Notifications**: every committed Observation is published to ``v1.1/Observations``,
``v1.1/Datastreams(<id>)/Observations`` and ``v1.1/FeaturesOfInterest(<id>)/Observations``; new and
changed entities to ``v1.1/<Set>``, ``v1.1/<Set>(<id>)`` and, per changed property,
``v1.1/<Set>(<id>)/<property>``. They carry the user property ``smartcity-origin: server``, by which the
bridge skips its own notifications on the creation topics.

**Who may publish where** is the broker's job (the bridge cannot see the publisher): ``acl_file`` writes the
Mosquitto ACL from the device bindings — each device may publish only to its own Things' datastreams.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import select

from smartcity.config import Settings
from smartcity.core import events
from smartcity.core.db import Database

LOGGER = logging.getLogger(__name__)
CREATE_TOPIC = re.compile(r"^v1\.1/(Datastreams|MultiDatastreams)\((\d+)\)/Observations$")
ORIGIN = ("smartcity-origin", "server")
BATCH, BATCH_SECONDS = 2000, 0.05


@dataclass
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp"):
            raise ValueError("SMARTCITY_MQTT_URL must look like mqtt://user:password@host:1883")
        return cls(
            parsed.hostname or "127.0.0.1",
            parsed.port or 1883,
            unquote(parsed.username) if parsed.username else None,
            unquote(parsed.password) if parsed.password else None,
        )


def _client(broker: Broker, client_id: str, **options: Any) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **options)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    return client


def _connect(client: mqtt.Client, broker: Broker, *, persistent: bool) -> None:
    properties = Properties(PacketTypes.CONNECT)
    if persistent:
        properties.SessionExpiryInterval = 7 * 24 * 3600  # keep queued QoS 1 messages while the bridge is down
    client.connect(broker.host, broker.port, keepalive=30, clean_start=not persistent, properties=properties)


# ---------------------------------------------------------------- ingest


@dataclass
class Counters:
    stored: int = 0
    rejected: int = 0
    last_error: str | None = None


@dataclass
class Bridge:
    """Subscribes to the creation topics and writes what arrives; run one per deployment (the broker's
    persistent session is by client id)."""

    settings: Settings
    database: Database
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.broker = Broker.from_url(self.settings.mqtt_url)
        self.inbox: queue.Queue[tuple[mqtt.MQTTMessage, datetime]] = queue.Queue(maxsize=100_000)
        self.client = _client(self.broker, self.settings.mqtt_client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        # the arrival time stands for phenomenonTime when a device sends none
        self.client.on_message = lambda _c, _u, message: self.inbox.put((message, datetime.now(UTC)))
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)

    def start(self) -> None:
        _connect(self.client, self.broker, persistent=True)
        self.client.loop_start()
        self.worker.start()
        if not self.connected.wait(10):
            raise ConnectionError(f"The MQTT broker at {self.broker.host}:{self.broker.port} did not answer.")

    def stop(self) -> None:
        self.stopping.set()
        self.worker.join(5)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            LOGGER.error("MQTT broker refused the bridge: %s", reason)
            return
        # "Datastreams(+)" is not a filter MQTT knows: take the creation topics' level and match them here
        client.subscribe("v1.1/+/Observations", options=SubscribeOptions(qos=1, noLocal=True))
        self.connected.set()

    def _work(self) -> None:
        while not self.stopping.is_set():
            batch = self._drain()
            if batch:
                self._write(batch)

    def _drain(self) -> list[tuple[mqtt.MQTTMessage, datetime]]:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + BATCH_SECONDS
        while len(batch) < BATCH and time.monotonic() < deadline:
            try:
                batch.append(self.inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[tuple[mqtt.MQTTMessage, datetime]]) -> None:
        from smartcity.sensing import service

        items = [parsed for message, arrived in batch if (parsed := _observation_message(message, arrived))]
        try:
            with self.database.session(actor="mqtt-bridge") as session:
                outcome = service.ingest(session, items) if items else []
        except Exception:
            # Nothing of the batch is acknowledged: the broker delivers it again after a reconnect.
            LOGGER.exception("writing %d MQTT messages failed; they stay unacknowledged", len(batch))
            self.client.reconnect()
            return
        for reason in outcome:
            if reason is None:
                self.counters.stored += 1
            else:
                self.counters.rejected += 1
                self.counters.last_error = reason
                LOGGER.warning("MQTT observation rejected: %s", reason)
        for message, _ in batch:  # in the order received, as MQTT requires
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)


def _observation_message(message: mqtt.MQTTMessage, arrived: datetime) -> tuple[int, Any, str] | None:
    """(stream id, payload, entity set) for a device's creation message; None for anything else (our own
    notifications, other topics, unreadable JSON — acknowledged and dropped)."""
    match = CREATE_TOPIC.match(message.topic)
    if match is None or _from_server(message):
        return None
    try:
        payload = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError):
        LOGGER.warning("MQTT message on %s is not JSON; dropped", message.topic)
        return None
    if isinstance(payload, dict) and "phenomenonTime" not in payload:
        payload["phenomenonTime"] = arrived.isoformat()
    return int(match.group(2)), payload, match.group(1)


def _from_server(message: mqtt.MQTTMessage) -> bool:
    properties = getattr(message, "properties", None)
    return ORIGIN in (getattr(properties, "UserProperty", None) or [])


# ---------------------------------------------------------------- notifications


class Notifier:
    """Publishes committed changes for MQTT subscribers (one connection per process). In the bridge it
    publishes on the bridge's own connection (``client``), whose subscription has no-local set, so the
    broker does not send the bridge back the notifications of what it just stored."""

    def __init__(self, settings: Settings, client: mqtt.Client | None = None) -> None:
        self.broker = Broker.from_url(settings.mqtt_url)
        self.shared = client is not None
        self.client = client or _client(self.broker, f"{settings.mqtt_client_id}-notify-{id(self)}")
        self.properties = Properties(PacketTypes.PUBLISH)
        self.properties.UserProperty = [ORIGIN]

    def start(self) -> None:
        if not self.shared:
            _connect(self.client, self.broker, persistent=False)
            self.client.loop_start()
        events.subscribe("sensing.observations_created")(self.observations)

    def stop(self) -> None:
        events.unsubscribe("sensing.observations_created", self.observations)
        if not self.shared:
            self.client.disconnect()
            self.client.loop_stop()

    def publish(self, topic: str, body: Any) -> None:
        self.client.publish(topic, json.dumps(body, ensure_ascii=False), qos=0, properties=self.properties)

    def observations(self, event: events.DomainEvent) -> None:
        for observation in event.payload.get("observations", []):
            body = {k: v for k, v in observation.items() if k not in ("datastream", "multi", "featureOfInterest")}
            stream = "MultiDatastreams" if observation.get("multi") else "Datastreams"
            self.publish("v1.1/Observations", body)
            self.publish(f"v1.1/{stream}({observation['datastream']})/Observations", body)
            self.publish(f"v1.1/FeaturesOfInterest({observation['featureOfInterest']})/Observations", body)


# ---------------------------------------------------------------- broker access control


def acl_file(database: Database, path: Path, platform_user: str) -> int:
    """Write a Mosquitto ACL: the platform reads and writes everything; each device may publish only to the
    datastreams of the Things bound to it, and everyone may subscribe to notifications. Returns the number
    of device topics written. Reload the broker (SIGHUP) after writing."""
    from smartcity.sensing.models import Stream, ThingDevice

    with database.session() as session:
        rows = session.execute(
            select(ThingDevice.username, Stream.id, Stream.kind)
            .join(Stream, Stream.thing_id == ThingDevice.thing_id)
            .order_by(ThingDevice.username, Stream.id)
        ).all()
    lines = [
        "# written by `smartcity sensing broker-acl`: do not edit",
        "topic read v1.1/#",  # anonymous subscribers (if the broker allows them) only read
        "",
        f"user {platform_user}",
        "topic readwrite #",
    ]
    current = None
    for username, stream_id, kind in rows:
        if username != current:
            lines += ["", f"user {username}", "topic read v1.1/#"]
            current = username
        lines.append(
            f"topic write v1.1/{'MultiDatastreams' if kind == 'm' else 'Datastreams'}({stream_id})/Observations"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(rows)
