"""Observation → alarm latency through MQTT (issue target: p99 < 1 s), beside the observation → stored latency
of the same messages, measured in the same run.

    .venv/bin/python bench/bench_alarm_latency.py [--database-url URL] [--rules 1000] [--messages 2000] [--rate 200]

The platform runs as in production: Debian's Mosquitto (configured as docs/production.md says) and
`smartcity sensing mqtt-bridge` in a subprocess; the alarm rules are evaluated in the bridge's transaction.
--rules threshold rules (with hysteresis) watch --datastreams datastreams; a device publishes readings that
alternate below and above the limit at --rate messages/s, so every reading raises or clears an alarm. Each
reading carries a unique value; a poller stamps when its observation row and, for the raising ones, its
alarm event first appear (each latency is the true one plus at most one poll interval).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sensing as bs
from sqlalchemy import select

from smartcity.alerts import service as alert_rules
from smartcity.alerts.alarms import system_principal
from smartcity.alerts.models import AlarmEvent
from smartcity.sensing.models import Observation

LIMIT = 1_000.0  # readings above it raise; below 900 they clear


def make_rules(ours: bs.Ours, streams: list[int], count: int) -> None:
    """``count`` threshold rules spread over the datastreams (several rules per datastream when there are
    more rules than datastreams: each reading then wakes all of its datastream's rules)."""
    with ours.database.session(actor="bench") as session:
        for i in range(count):
            spec = {"kind": "threshold", "name": f"bench rule {i}", "datastream": streams[i % len(streams)],
                    "op": "ge", "value": LIMIT + (i // len(streams)), "clear": {"value": 900}}  # fmt: skip
            alert_rules.create(session, system_principal(), spec)


def run(args: argparse.Namespace) -> None:
    import paho.mqtt.client as mqtt

    from smartcity.sensing.mqtt import acl_file

    stamp = datetime.now(UTC).strftime("%H%M%S")
    ours = bs.Ours(args.database_url)
    print(f"Alarm latency through MQTT on {ours.dialect}, {args.rules} rules over {args.datastreams} datastreams")
    ours.start()  # the stations are made through the API, as a manager would
    try:
        streams = ours.make_stations(f"bench-alarm {stamp}", args.datastreams, 1)
        ours.prime(streams, datetime.now(UTC) - timedelta(days=2))
    finally:
        ours.stop()
    make_rules(ours, streams, args.rules)
    broker = bs.Broker(bs.BENCH / "mosquitto", lambda path: acl_file(ours.database, path, "platform"), True)
    env = {**ours.env(), "SMARTCITY_MQTT_URL": f"mqtt://platform:{bs.BROKER_PLATFORM_PASSWORD}@127.0.0.1:{broker.port}",
           "SMARTCITY_MQTT_CLIENT_ID": f"bench-alarm-bridge-{stamp}"}  # fmt: skip
    log_path = bs.BENCH / "mosquitto" / "alarm-bridge.log"
    log = log_path.open("wb")
    bridge = bs.subprocess.Popen([str(Path(sys.executable).parent / "smartcity"), "sensing", "mqtt-bridge"],
                                 cwd=bs.CODE, env=env, stdout=log, stderr=bs.subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while b"connected" not in log_path.read_bytes():
            if bridge.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the bridge did not connect; see {log_path}")
            time.sleep(0.1)
        published: dict[float, float] = {}
        stored: dict[float, float] = {}
        alarmed: dict[float, float] = {}
        done = threading.Event()

        def poller() -> None:
            last_observation = last_event = 0
            with ours.database.engine.connect() as conn:
                # start after the rows of earlier runs: their readings carried the same values
                last_observation = conn.scalar(select(Observation.id).order_by(Observation.id.desc())) or 0
                last_event = conn.scalar(select(AlarmEvent.id).order_by(AlarmEvent.id.desc())) or 0
                conn.commit()
                while not done.is_set():
                    now = time.perf_counter()
                    for oid, value in conn.execute(
                        select(Observation.id, Observation.result_number).where(Observation.id > last_observation)
                    ):
                        stored.setdefault(value, now)
                        last_observation = max(last_observation, oid)
                    for eid, value in conn.execute(
                        select(AlarmEvent.id, AlarmEvent.value).where(
                            AlarmEvent.id > last_event, AlarmEvent.kind.in_(("raised", "raised_again"))
                        )
                    ):
                        if value is not None:
                            alarmed.setdefault(value, now)
                        last_event = max(last_event, eid)
                    conn.commit()
                    time.sleep(args.poll_ms / 1000)

        watcher = threading.Thread(target=poller)
        watcher.start()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-alarm-{stamp}", protocol=mqtt.MQTTv5)
        client.username_pw_set(bs.DEVICE, bs.BROKER_DEVICE_PASSWORD)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        start = datetime.now(UTC) - timedelta(hours=1)
        pause = 1 / args.rate
        for seq in range(args.messages):
            stream = streams[seq % len(streams)]
            high = (seq // len(streams)) % 2 == 0  # each datastream alternates: raise, clear, raise…
            value = LIMIT + 10_000.0 + seq if high else seq / 100  # unique: it names the reading
            moment = start + timedelta(milliseconds=10 * seq)
            published[value] = time.perf_counter()
            client.publish(f"v1.1/Datastreams({stream})/Observations",
                           json.dumps({"phenomenonTime": bs.iso(moment), "result": value}), qos=1)  # fmt: skip
            time.sleep(pause)
        wait_until = time.monotonic() + 30
        raising = [v for v in published if v >= LIMIT]
        while time.monotonic() < wait_until and (len(stored) < len(published) or len(alarmed) < len(raising)):
            time.sleep(0.2)
        done.set()
        watcher.join()
        client.loop_stop()
        to_store = [(stored[v] - published[v]) * 1000 for v in published if v in stored]
        to_alarm = [(alarmed[v] - published[v]) * 1000 for v in raising if v in alarmed]
        bs.row(f"{args.messages:,} readings at {args.rate}/s, QoS 1", f"{len(stored):,} stored",
               f"{len(alarmed):,} of {len(raising):,} raising readings raised an alarm")  # fmt: skip
        if to_alarm:
            bs.row("publish → alarm raised", f"p50 {statistics.median(to_alarm):,.0f} ms, "
                   f"p99 {bs.percentile(to_alarm, 0.99):,.0f} ms", "target p99 < 1,000 ms")  # fmt: skip
        if to_store:
            bs.row("  reference: publish → observation stored", f"p50 {statistics.median(to_store):,.0f} ms, "
                   f"p99 {bs.percentile(to_store, 0.99):,.0f} ms", f"poll every {args.poll_ms} ms")  # fmt: skip
    finally:
        bs.stop(bridge)
        log.close()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{bs.BENCH / 'alarm-latency.db'}")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--datastreams", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="readings published per second")
    parser.add_argument("--poll-ms", type=int, default=10)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
