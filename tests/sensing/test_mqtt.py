"""SensorThings over MQTT through a real Mosquitto (Debian's package, started here on a free port): devices
publish observations that are stored before they are acknowledged, the broker's ACL (written from the
device bindings) keeps a device to its own datastreams, and subscribers are notified of new observations."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import func, select

from smartcity.core import events
from smartcity.sensing import mqtt as bridge_module
from smartcity.sensing import service
from smartcity.sensing.models import Datastream, Observation
from tests.conftest import bearer
from tests.sensing.conftest import PASSWORDS
from tests.sensing.test_sta import STA, _station


def _client(broker, user: str, client_id: str, kind=mqtt.Client, **options) -> mqtt.Client:  # type: ignore[no-untyped-def]
    client = kind(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **options)
    client.username_pw_set(user, PASSWORDS[user])
    client.connect("127.0.0.1", broker["port"])
    client.loop_start()
    return client


@pytest.fixture
def running(broker, settings, database, client, city):  # type: ignore[no-untyped-def]
    """Two stations, the device bound to the first, the broker's ACL written from that, a running bridge."""
    yield from _bridge_on(broker, settings, database, client)


@pytest.fixture
def running_roomy(roomy_broker, settings, database, client, city):  # type: ignore[no-untyped-def]
    """The same on a broker configured as docs/production.md says."""
    yield from _bridge_on(roomy_broker, settings, database, client)


def _bridge_on(broker, settings, database, client):  # type: ignore[no-untyped-def]
    ids = {}
    for name, lon, lat in (("外白渡桥站", 121.4906, 31.2452), ("武宁路桥站", 121.4305, 31.2398)):
        thing = client.post(f"{STA}/Things", json=_station(name, lon, lat), headers=bearer(client, "supervisor")).json()
        ids[name] = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    with database.session() as s:
        service.bind_device(s, s.get(Datastream, ids["外白渡桥站"]).thing_id, "device")
    assert bridge_module.acl_file(database, broker["acl"], "platform") == 1
    os.kill(broker["pid"], signal.SIGHUP)  # the broker reloads its ACL
    time.sleep(0.3)
    configured = settings.model_copy(
        update={"mqtt_url": f"mqtt://platform:{PASSWORDS['platform']}@127.0.0.1:{broker['port']}",
                "mqtt_client_id": f"bridge-{time.monotonic_ns()}"}
    )  # fmt: skip
    bridge = bridge_module.Bridge(configured, database)
    bridge.start()
    yield ids, bridge, configured
    bridge.stop()


def _stored(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Observation)) or 0


def _wait_for(check, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_device_publications_are_stored_and_the_acl_keeps_it_to_its_own(broker, running, database) -> None:
    ids, bridge, _ = running
    device = _client(broker, "device", "gauge-1")
    own = f"v1.1/Datastreams({ids['外白渡桥站']})/Observations"
    sent = datetime.now(UTC)
    for level in (3.1, 3.2, 3.3):
        device.publish(own, json.dumps({"result": level}), qos=1).wait_for_publish(5)
    assert _wait_for(lambda: _stored(database) == 3)
    with database.session() as s:  # without a phenomenonTime, the time the bridge read the message
        times = s.scalars(select(Observation.phenomenon_time_start)).all()
    assert all(abs(moment.replace(tzinfo=UTC) - sent) < timedelta(seconds=5) for moment in times)
    foreign = device.publish(f"v1.1/Datastreams({ids['武宁路桥站']})/Observations", json.dumps({"result": 9}), qos=1)
    foreign.wait_for_publish(5)
    device.publish(own, b"not json", qos=1).wait_for_publish(5)
    device.publish(own, json.dumps({"result": 1, "colour": "red"}), qos=1).wait_for_publish(5)
    assert _wait_for(lambda: bridge.counters.rejected == 1)  # the unknown property; not-JSON is dropped
    retry = json.dumps({"result": 3.3, "phenomenonTime": "2026-01-01T00:00:00Z"})
    device.publish(own, retry, qos=1).wait_for_publish(5)
    device.publish(own, retry, qos=1).wait_for_publish(5)  # a device's repeated send is not stored twice
    assert _wait_for(lambda: bridge.counters.rejected == 2)
    time.sleep(0.3)
    assert _stored(database) == 4  # the broker refused the foreign topic; nothing bad or repeated was stored
    with database.session() as s:
        latest = s.get(Datastream, ids["外白渡桥站"])
        assert json.loads(latest.latest_result) == 3.3
    device.loop_stop()


def test_a_message_the_database_did_not_take_is_delivered_again(broker, running, database, monkeypatch) -> None:
    ids, _, _ = running
    real = service.ingest
    failures = []

    def failing_once(session, items):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(items)
            raise OSError("database went away")
        return real(session, items)

    monkeypatch.setattr(service, "ingest", failing_once)
    device = _client(broker, "device", "gauge-2")
    device.publish(f"v1.1/Datastreams({ids['外白渡桥站']})/Observations", json.dumps({"result": 7.5}), qos=1)
    assert _wait_for(lambda: _stored(database) == 1, 10)  # redelivered after the failed write, stored once
    time.sleep(0.5)
    assert _stored(database) == 1 and len(failures) == 1
    device.loop_stop()


def test_subscribers_are_notified_of_new_observations(broker, running, database, client) -> None:
    ids, _, configured = running
    received: list[dict] = []
    got = threading.Event()
    listener = _client(broker, "platform", "listener")
    origins = []

    def on_message(_c, _u, message):  # type: ignore[no-untyped-def]
        received.append(json.loads(message.payload))
        origins.append(message.properties.UserProperty)
        got.set()

    listener.on_message = on_message
    listener.subscribe(f"v1.1/Datastreams({ids['武宁路桥站']})/Observations", qos=1)
    time.sleep(0.3)
    notifier = bridge_module.Notifier(configured)
    notifier.start()
    try:
        response = client.post(
            f"{STA}/Datastreams({ids['武宁路桥站']})/Observations",
            json={"result": 4.2},
            headers=bearer(client, "supervisor"),
        )
        assert response.status_code == 201
        assert got.wait(5)
    finally:
        notifier.stop()
    assert received[0]["result"] == 4.2 and received[0]["@iot.id"] == response.json()["@iot.id"]
    assert origins == [[bridge_module.ORIGIN]]
    assert _stored(database) == 1  # the bridge skipped the server's own notification on that topic


def _collect(client: mqtt.Client, topic: str) -> list[mqtt.MQTTMessage]:
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, message: got.append(message)
    client.subscribe(topic, qos=1)
    time.sleep(0.3)
    return got


def test_notifications_are_what_paho_would_publish(broker, settings) -> None:
    """The Notifier writes its PUBLISH packets itself (paho's publish() was 40 % of the bridge's CPU): a subscriber
    gets from it exactly what paho's publish() of the same payload and property gives, on each topic."""
    listener = _client(broker, "platform", "notification-listener")
    got = _collect(listener, "v1.1/#")
    configured = settings.model_copy(
        update={"mqtt_url": f"mqtt://platform:{PASSWORDS['platform']}@127.0.0.1:{broker['port']}"}
    )
    notifier = bridge_module.Notifier(configured)
    notifier.start()
    reference = _client(broker, "platform", "notification-reference")
    origin = Properties(PacketTypes.PUBLISH)
    origin.UserProperty = [bridge_module.ORIGIN]
    try:
        notifier.publish("v1.1/Things(7)", {"name": "外白渡桥站", "长": "x" * 200})
        reference.publish("v1.1/Things(8)", json.dumps({"name": "外白渡桥站", "长": "x" * 200}, ensure_ascii=False),
                          qos=0, properties=origin).wait_for_publish(5)  # fmt: skip
        observations = [
            {"@iot.id": 40 + i, "result": i, "datastream": 3, "multi": i == 1, "featureOfInterest": 9} for i in (0, 1)
        ]
        notifier.observations(events.DomainEvent("sensing.observations_created", {"observations": observations}, "t"))
        assert _wait_for(lambda: len(got) == 8)
    finally:
        notifier.stop()
        reference.disconnect()
        listener.disconnect()
    ours, paho = (next(m for m in got if m.topic == topic) for topic in ("v1.1/Things(7)", "v1.1/Things(8)"))
    assert (ours.payload, ours.qos, ours.retain) == (paho.payload, paho.qos, paho.retain)  # two connections: any order
    assert ours.properties.UserProperty == paho.properties.UserProperty == [bridge_module.ORIGIN]
    notified = [m for m in got if m.topic.endswith("/Observations")]  # one connection: in the order written
    assert [(m.topic, json.loads(m.payload)) for m in notified] == [
        ("v1.1/Observations", {"@iot.id": 40, "result": 0}),
        ("v1.1/Datastreams(3)/Observations", {"@iot.id": 40, "result": 0}),
        ("v1.1/FeaturesOfInterest(9)/Observations", {"@iot.id": 40, "result": 0}),
        ("v1.1/Observations", {"@iot.id": 41, "result": 1}),
        ("v1.1/MultiDatastreams(3)/Observations", {"@iot.id": 41, "result": 1}),
        ("v1.1/FeaturesOfInterest(9)/Observations", {"@iot.id": 41, "result": 1}),
    ]
    assert all(m.properties.UserProperty == [bridge_module.ORIGIN] and m.qos == 0 for m in notified)


def test_the_bridge_reads_each_message_as_paho_does(broker, monkeypatch) -> None:
    """The bridge's client decodes a plain QoS 1 PUBLISH itself (paho built a Properties for every message: 40 %
    of its receive cost) and leaves every other to paho: either way it gets what paho's own client gets."""
    own_way = []

    def counted(command, packet):  # type: ignore[no-untyped-def]
        message = real(command, packet)
        own_way.append(message is not None)
        return message

    real = bridge_module._bare_publish
    monkeypatch.setattr(bridge_module, "_bare_publish", counted)
    plain = _client(broker, "platform", "reader-paho")
    ours = _client(broker, "platform", "reader-bridge", bridge_module._IngestClient, manual_ack=True)
    by_paho, by_ours = _collect(plain, "reading/#"), _collect(ours, "reading/#")
    described = Properties(PacketTypes.PUBLISH)
    described.UserProperty = [bridge_module.ORIGIN]
    described.ContentType = "application/json"
    cases = [
        ("reading/plain", b'{"result": 1}', 1, None),
        ("reading/苏州河", b"", 1, None),
        ("reading/" + "long/" * 40, b"x" * 70_000, 1, None),
        ("reading/described", b"{}", 1, described),
        ("reading/qos0", b"0", 0, None),
    ]
    publisher = _client(broker, "platform", "reader-publisher")
    for topic, payload, qos, properties in cases:
        publisher.publish(topic, payload, qos=qos, properties=properties).wait_for_publish(5)
    assert _wait_for(lambda: len(by_paho) == len(by_ours) == len(cases))
    for client in (plain, ours, publisher):
        client.disconnect()
    for theirs, mine in zip(
        sorted(by_paho, key=lambda m: m.topic), sorted(by_ours, key=lambda m: m.topic), strict=True
    ):
        assert (mine.topic, mine.payload, mine.qos, mine.retain, mine.dup) == (
            theirs.topic, theirs.payload, theirs.qos, theirs.retain, theirs.dup
        )  # fmt: skip
        assert bridge_module._from_server(mine) == bridge_module._from_server(theirs)
        assert getattr(mine.properties, "ContentType", None) == getattr(theirs.properties, "ContentType", None)
    assert own_way.count(True) == 3  # the three plain QoS 1 messages; the described one and QoS 0 went paho's way


def test_a_burst_is_stored_whole_and_the_bridge_hears_none_of_its_own_notifications(
    roomy_broker, running_roomy, database
) -> None:
    """Thousands of readings at once — far beyond the broker's default in-flight and queue limits — are all
    stored (each acknowledged only after its commit), and the notifications the bridge publishes for them
    on its own connection do not come back to it."""
    ids, bridge, configured = running_roomy
    notifier = bridge_module.Notifier(configured, client=bridge.client)
    notifier.start()
    try:
        device = _client(roomy_broker, "device", "gauge-burst")
        topic = f"v1.1/Datastreams({ids['外白渡桥站']})/Observations"
        start = datetime.now(UTC) - timedelta(hours=2)
        sent = [
            device.publish(topic, json.dumps({"phenomenonTime": (start + timedelta(seconds=i)).isoformat(),
                                              "result": i}), qos=1)
            for i in range(3000)
        ]  # fmt: skip
        for info in sent:
            info.wait_for_publish(10)
        assert _wait_for(lambda: _stored(database) == 3000, seconds=60), _stored(database)
        time.sleep(0.5)
        assert bridge.counters.stored == 3000 and bridge.counters.rejected == 0
    finally:
        notifier.stop()


def test_every_acknowledgement_follows_the_commit_that_stored_its_message(
    roomy_broker, running_roomy, database
) -> None:
    """PUBACK only after the commit: at each acknowledgement the database — read from another connection,
    which sees committed rows only — already holds every message acknowledged so far."""
    ids, bridge, _ = running_roomy
    real_ack = bridge.client.ack
    acknowledged: list[int] = []
    early: list[int] = []

    def checked_ack(mid: int, qos: int):  # type: ignore[no-untyped-def]
        acknowledged.append(mid)
        if _stored(database) < len(acknowledged):
            early.append(mid)
        return real_ack(mid, qos)

    bridge.client.ack = checked_ack
    device = _client(roomy_broker, "device", "gauge-acks")
    topic = f"v1.1/Datastreams({ids['外白渡桥站']})/Observations"
    start = datetime.now(UTC) - timedelta(hours=1)
    sent = [
        device.publish(topic, json.dumps({"phenomenonTime": (start + timedelta(seconds=i)).isoformat(), "result": i}),
                       qos=1)
        for i in range(400)
    ]  # fmt: skip
    for info in sent:
        info.wait_for_publish(10)
    assert _wait_for(lambda: len(acknowledged) == 400, seconds=30), len(acknowledged)
    assert early == [] and _stored(database) == 400
    device.loop_stop()


@pytest.fixture
def own_broker(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A Mosquitto of this test's own, which it may stop and start again."""
    from tests.sensing.conftest import ROOMY, _mosquitto

    yield from _mosquitto(tmp_path_factory, ROOMY)


def test_the_bridge_connects_again_when_the_broker_comes_back(own_broker, settings, database, client, city) -> None:
    """The bridge does its own network work (no paho thread): a lost connection is its to restore."""
    import subprocess

    from tests.sensing.conftest import MOSQUITTO

    ids, bridge, _ = next(_bridge_on(own_broker, settings, database, client))
    restarted = None
    try:
        os.kill(own_broker["pid"], signal.SIGTERM)
        assert _wait_for(lambda: not bridge.connected.is_set(), 10)  # the bridge finds the connection gone
        time.sleep(1.5)  # and keeps trying
        config = own_broker["acl"].parent / "mosquitto.conf"
        restarted = subprocess.Popen([MOSQUITTO, "-c", str(config)], stderr=subprocess.DEVNULL)
        assert _wait_for(bridge.connected.is_set, 15)
        time.sleep(0.5)  # its subscription reaches the broker (which kept nothing: persistence is off here)
        device = _client(own_broker, "device", "gauge-back")
        topic = f"v1.1/Datastreams({ids['外白渡桥站']})/Observations"
        device.publish(topic, json.dumps({"result": 5.5}), qos=1).wait_for_publish(5)
        assert _wait_for(lambda: _stored(database) == 1, 15)
        device.loop_stop()
    finally:
        bridge.stop()
        if restarted is not None:
            restarted.terminate()
            restarted.wait(5)
