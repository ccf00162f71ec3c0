"""The SensorThings MQTT extension over a real broker (Mosquitto in tests and CI, any MQTT 5 broker in
production, ``SMARTCITY_MQTT_URL``).

**Ingest**: devices publish an Observation (JSON) to ``v1.1/Datastreams(<id>)/Observations`` with QoS 1.
The bridge subscribes with a persistent session and *manual* acknowledgement: messages are batched, written
in one transaction, and only after the commit is each PUBACK sent, in order — all by one thread. A message
the database did not take is never acknowledged, so the broker delivers it again; an acknowledged message is
always stored. A message that can never be stored (bad JSON, unknown datastream, invalid values) is
acknowledged and counted as rejected, so it does not come back forever.

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
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from select import select as ready  # sockets ready to read or write; not SQLAlchemy's select
from typing import Any
from urllib.parse import unquote, urlparse

import orjson
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


def _client(broker: Broker, client_id: str, kind: type[mqtt.Client] = mqtt.Client, **options: Any) -> mqtt.Client:
    client = kind(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **options)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    return client


def _connect(client: mqtt.Client, broker: Broker, *, persistent: bool) -> None:
    properties = Properties(PacketTypes.CONNECT)
    if persistent:
        properties.SessionExpiryInterval = 7 * 24 * 3600  # keep queued QoS 1 messages while the bridge is down
    client.connect(broker.host, broker.port, keepalive=30, clean_start=not persistent, properties=properties)


# ---------------------------------------------------------------- ingest


class _IngestClient(mqtt.Client):
    """paho's client with one change, for the bridge alone: a QoS 1 PUBLISH without MQTT 5 properties — what
    devices send — is decoded here (MQTT 5.0 §3.3), where paho builds a ``Properties`` for every message and
    rebuilds its tables each time, 40 % of paho's receive cost (bench/README.md). Any other PUBLISH — the
    platform's notifications with their user property, QoS 0 or 2 — goes paho's way.

    ``_handle_publish`` is a private method of paho-mqtt 2.x: tests/sensing/test_mqtt.py holds what this client
    reads to what paho's own client reads, and fails if the override stops being called."""

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        message = _bare_publish(self._in_packet["command"], self._in_packet["packet"])
        if message is None or not self._manual_ack:
            return super()._handle_publish()
        self._handle_on_message(message)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS  # acknowledged by hand after the commit (Bridge._write)


def _bare_publish(command: int, packet: bytes | bytearray) -> mqtt.MQTTMessage | None:
    """A QoS 1 PUBLISH whose property length is 0, as paho's message (``properties`` None); None for another."""
    if command & 0x06 != 0x02:
        return None
    end = 2 + int.from_bytes(packet[:2], "big")  # after the topic name: packet identifier, property length
    if len(packet) < end + 3 or packet[end + 2] != 0:
        return None
    message = mqtt.MQTTMessage(int.from_bytes(packet[end : end + 2], "big"), bytes(packet[2:end]))
    message.qos, message.dup, message.retain = 1, bool(command & 0x08), bool(command & 0x01)
    message.payload = bytes(packet[end + 3 :])
    message.timestamp = time.monotonic()
    return message


@dataclass
class Counters:
    stored: int = 0
    rejected: int = 0
    last_error: str | None = None


@dataclass
class Bridge:
    """Subscribes to the creation topics and writes what arrives; run one per deployment (the broker's
    persistent session is by client id).

    One thread does everything: it reads from the broker (paho's loop_read / loop_write / loop_misc, not a
    network thread of paho's), writes a batch, acknowledges it and publishes its notifications. With paho's
    thread receiving while this one wrote, the two took turns at the interpreter lock, each handing it over
    for every packet: one thread alone needs less CPU a message, and nothing crosses threads (bench/README.md)."""

    settings: Settings
    database: Database
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.broker = Broker.from_url(self.settings.mqtt_url)
        self.arrived: list[tuple[mqtt.MQTTMessage, float]] = []  # read, not yet written: at most BATCH
        self.client = _client(self.broker, self.settings.mqtt_client_id, _IngestClient, manual_ack=True)
        self.client.on_connect = self._on_connect
        # the arrival time (POSIX seconds) stands for phenomenonTime when a device sends none
        self.client.on_message = lambda _c, _u, message: self.arrived.append((message, time.time()))
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)

    def start(self) -> None:
        _connect(self.client, self.broker, persistent=True)
        self.worker.start()
        if not self.connected.wait(10):
            raise ConnectionError(f"The MQTT broker at {self.broker.host}:{self.broker.port} did not answer.")

    def stop(self) -> None:
        self.stopping.set()
        self.worker.join(5)
        self._flush(2.0)
        self.client.disconnect()  # sent at once: no network thread, and the worker has stopped

    def _flush(self, seconds: float) -> None:
        """Write what paho still holds — the last batch's acknowledgements when the socket was full — so that the
        broker does not deliver those messages again at the next start."""
        deadline = time.monotonic() + seconds
        while self.client.want_write() and (sock := self.client.socket()) is not None:
            left = deadline - time.monotonic()
            if left <= 0 or self.client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
                return
            ready([], [sock], [], left)

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            LOGGER.error("MQTT broker refused the bridge: %s", reason)
            return
        # "Datastreams(+)" is not a filter MQTT knows: take the creation topics' level and match them here
        client.subscribe("v1.1/+/Observations", options=SubscribeOptions(qos=1, noLocal=True))
        self.connected.set()

    def _work(self) -> None:
        from smartcity.sensing.ingest import cycle_collection_paused

        while not self.stopping.is_set():
            # Python's cycle collector waits for the end of each batch, when the batch's objects are gone:
            # collecting while messages wait in memory promoted them to the oldest generation, and the full
            # collections that followed took half of the bridge's time (bench/README.md)
            with cycle_collection_paused():
                batch = self._receive()
                if batch:
                    self._write(batch)
                del batch

    def _receive(self) -> list[tuple[mqtt.MQTTMessage, float]]:
        """The messages that arrive until there are BATCH of them or BATCH_SECONDS have passed since the first."""
        deadline = None
        while len(self.arrived) < BATCH and not self.stopping.is_set():
            if self.arrived and deadline is None:
                deadline = time.monotonic() + BATCH_SECONDS
            wait = 0.2 if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            self._network(wait)
        batch, self.arrived = self.arrived, []
        return batch

    def _network(self, wait: float) -> None:
        """Up to ``wait`` seconds of network work: send what is queued, read what has come (a packet a call),
        keep the connection alive; connect again if it was lost."""
        sock = self.client.socket()
        if sock is None:
            self._reconnect()
            return
        readable, writable, _ = ready([sock], [sock] if self.client.want_write() else [], [], wait)
        done = mqtt.MQTT_ERR_SUCCESS
        if writable:
            done = self.client.loop_write()
        while readable and done == mqtt.MQTT_ERR_SUCCESS and len(self.arrived) < BATCH:
            done = self.client.loop_read()
            readable = self.client.socket() is not None and bool(ready([sock], [], [], 0)[0])
        if done == mqtt.MQTT_ERR_SUCCESS:
            done = self.client.loop_misc()
        if done != mqtt.MQTT_ERR_SUCCESS:
            LOGGER.warning("MQTT connection lost (%s); connecting again", mqtt.error_string(done))
            self._reconnect()

    def _reconnect(self) -> None:
        """Connect again, waiting longer after each failure. What was read and not yet written is dropped: it
        was not acknowledged, so the broker, which kept the session, delivers it again."""
        self.arrived.clear()
        self.connected.clear()
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self.client.reconnect()
                return
            except OSError as error:
                LOGGER.warning("MQTT broker unreachable (%s); trying again in %.0f s", error, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 60.0)

    def _write(self, batch: list[tuple[mqtt.MQTTMessage, float]]) -> None:
        from smartcity.sensing import service

        items = [parsed for message, arrived in batch if (parsed := _observation_message(message, arrived))]
        try:
            with self.database.session(actor="mqtt-bridge") as session:
                outcome = service.ingest(session, items) if items else []
        except Exception:
            # Nothing of the batch is acknowledged: the broker delivers it again after a reconnect.
            LOGGER.exception("writing %d MQTT messages failed; they stay unacknowledged", len(batch))
            self._reconnect()
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


def _observation_message(message: mqtt.MQTTMessage, arrived: float) -> tuple[int, Any, str] | None:
    """(stream id, payload, entity set) for a device's creation message; None for anything else (our own
    notifications, other topics, unreadable JSON — acknowledged and dropped)."""
    match = CREATE_TOPIC.match(message.topic)
    if match is None or _from_server(message):
        return None
    try:
        payload = orjson.loads(message.payload)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses (NaN, a BOM, lone surrogates, huge integers …): the standard parser decides
            payload = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            LOGGER.warning("MQTT message on %s is not JSON; dropped", message.topic)
            return None
    if isinstance(payload, dict) and "phenomenonTime" not in payload:
        payload["phenomenonTime"] = datetime.fromtimestamp(arrived, UTC).isoformat()
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
        self._send([_notification(topic, json.dumps(body, ensure_ascii=False).encode())])

    def observations(self, event: events.DomainEvent) -> None:
        packets = []
        for observation in event.payload.get("observations", []):
            body = {k: v for k, v in observation.items() if k not in ("datastream", "multi", "featureOfInterest")}
            payload = json.dumps(body, ensure_ascii=False).encode()  # once for its three topics
            stream = "MultiDatastreams" if observation.get("multi") else "Datastreams"
            packets += (
                _notification("v1.1/Observations", payload),
                _notification(f"v1.1/{stream}({observation['datastream']})/Observations", payload),
                _notification(f"v1.1/FeaturesOfInterest({observation['featureOfInterest']})/Observations", payload),
            )
        self._send(packets)

    def _send(self, packets: list[bytes]) -> None:
        """Queue ready-made QoS 0 PUBLISH packets on the connection as one write.

        paho's ``publish()`` spent ~7 µs of bookkeeping on each message — three per stored observation, 40 % of
        the bridge's CPU. ``_packet_queue`` is paho's own (private) queue of outgoing packets, the one ``publish()``
        ends in: it keeps these in order with the acknowledgements, finishes a partial write, and drops them if
        the connection is lost, as paho drops any QoS 0 message. Held to paho's encoding by a test."""
        if not packets or self.client.socket() is None:
            return  # as paho's publish() drops a QoS 0 message while there is no connection
        self.client._packet_queue(mqtt.PUBLISH, b"".join(packets), 0, 0, mqtt.MQTTMessageInfo(0))


# The notifications' MQTT 5 properties (§3.3.2.3): their length, then the User Property (0x26) ORIGIN
_ORIGIN_PAIR = b"".join(len(text).to_bytes(2, "big") + text for text in (ORIGIN[0].encode(), ORIGIN[1].encode()))
_ORIGIN_PROPERTIES = bytes([1 + len(_ORIGIN_PAIR)]) + b"\x26" + _ORIGIN_PAIR


def _notification(topic: str, payload: bytes) -> bytes:
    """A QoS 0 PUBLISH packet of ``payload`` on ``topic`` with the server-origin property (MQTT 5.0 §3.3)."""
    name = topic.encode()
    body = b"".join((len(name).to_bytes(2, "big"), name, _ORIGIN_PROPERTIES, payload))
    return b"\x30" + _remaining_length(len(body)) + body


def _remaining_length(size: int) -> bytes:
    """MQTT's variable byte integer (§1.5.5): seven bits a byte, the high bit set on all but the last."""
    encoded = bytearray()
    while True:
        size, digit = divmod(size, 128)
        encoded.append(digit | 0x80 if size else digit)
        if not size:
            return bytes(encoded)


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
