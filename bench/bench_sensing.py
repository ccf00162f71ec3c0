"""Benchmark of the sensing hub (SensorThings API v1.1). Prints every figure beside a reference measured in
the same run, on the same machine and database engine.

    .venv/bin/python bench/bench_sensing.py [--database-url URL] [--only ingest,mqtt,query] [--peer] [--profile]

The app runs as it does in production: `uvicorn smartcity.app:create_app` in a subprocess (one worker), and
for MQTT Debian's Mosquitto plus `smartcity sensing mqtt-bridge` in subprocesses of their own. Entities are
created through the API; a device account with an API key is bound to its Things and writes the
observations (HTTP Basic, as devices do), so authentication, the ownership check and the per-device write
throttle are all paid.

1. ingest — `POST /sta/v1.1/CreateObservations` (dataArray), batches of --batch-sizes rows spread over
   --ingest-datastreams datastreams, --observations rows per batch size: observations/s (target ≥ 100,000/s
   on SQLite) and the per-request p50/p99, beside a raw DB-API `executemany` of the same rows into
   sta_observation on the same engine, one transaction per batch (the ceiling).
2. mqtt — --mqtt-messages observations published with QoS 1 by --mqtt-clients device connections to
   `v1.1/Datastreams(<id>)/Observations`, through Mosquitto (password file, ACL written by
   `acl_file` from the device bindings) and the bridge: messages/s persisted (target ≥ 10,000/s) beside the
   rate the devices sent, and the publish→stored latency. The connections are dealt over --mqtt-processes
   publisher processes of their own (0: threads of the bench process, whose interpreter lock held them to one
   core), connected and with their messages encoded before the clock starts; --mqtt-publisher raw (the
   default) writes the MQTT 5 packets itself, 50 a send(), at most --mqtt-inflight unacknowledged — ~0.015 ms
   of CPU a message, where paho's client (--mqtt-publisher paho) took 0.09–0.15 ms, more than the bridge, on
   the same cores. Each message carries its sequence number as the result; a poller reads the new
   rows (`id > last`) every --poll-ms and stamps each with the time it first saw it, so a latency is the
   true one plus at most one poll interval (the publishers' stamps are comparable: perf_counter is the
   system's monotonic clock on Linux). Messages are counted stored, and lost if they never arrive.
   --mqtt-broker: Mosquitto with its default queue limits (as the tests and docs run it), with
   max_inflight_messages and max_queued_messages lifted, or both (the default). With the limits lifted, also
   the bridge's own pace: it is stopped, --mqtt-backlog messages queue at the broker in its persistent session,
   and it starts again and stores them, with no publishers competing for the CPU. The bridge's CPU time per
   message (Linux /proc) is printed beside each rate: on a shared machine it varies far less than the rates.
   A last row per figure splits the CPU a message stored between the bridge, Mosquitto and the publishers, and
   says what rate the machine's cores could reach at that cost (and the bridge alone, one thread, on one core).
3. query — --table-rows observations (default 10 million) over --table-datastreams datastreams at 10 s
   spacing, bulk-loaded (executemany in chunks on SQLite, generate_series on PostgreSQL; reused by later
   runs), then the last 24 h of one datastream (8,640 observations):
   `GET /Datastreams(id)/Observations?$filter=phenomenonTime ge … and phenomenonTime lt …&$top=10000&
   $orderby=phenomenonTime`, as JSON and as `$resultFormat=dataArray`, p50/p95 over --query-runs runs on
   random datastreams (target p50 < 20 ms) and the server's CPU time a request (Linux /proc), beside the same
   query straight in SQL (the driver's rows). Each datastream is read once before the runs, timed on a line
   of its own: the first read of pages idle for a minute or so may fetch them from disk (first_reads), and it
   renders the whole hours the timed runs then serve (sensing/window.py). References: the same runs with no
   rendered hours kept (the server restarted with SMARTCITY_STA_READ_CACHE_MB=0), the same bytes from a bare
   ASGI app in uvicorn, and the platform's smallest read. --table-layout interleaved loads the table tick by
   tick across the datastreams, as live feeds write it (give it a --database-url of its own).
4. --peer — the same ingest and query workloads against django-ogc-sensorthings (PyPI), installed into its
   own virtualenv (var/bench/peer-venv, made on first use: never into .venv), with its own Django ORM
   backend on the same engine (SQLite file var/bench/peer.db, or the same PostgreSQL database), served by
   the same uvicorn, one worker. It is driven with the same bodies (its CreateObservations, bulk_create per
   datastream group) and the same query (--peer-query-runs; without `$orderby` when it refuses that); its
   table is loaded with the same rows. Printed as ratios. What it does not do (authentication, duplicate
   checks, datastream extents) is listed in bench/README.md.
5. --profile — cProfile of the CreateObservations service path in-process (JSON parse, device
   principal, service.create_observations, commit) on one batch; --py-spy PATH — py-spy samples the server
   during the largest ingest batch size and the query, and the bridge during MQTT: where the time goes.

Sizes are options; `--only` runs a subset (`--only ""` with --profile: the profile alone). Large databases stay
under var/bench/ (gitignored). The code measured is the `smartcity` package Python imports: the working tree, or
an export of one commit with `PYTHONPATH=var/bench/src` (`git archive HEAD smartcity | tar -x -C var/bench/src`);
the server and the bridge run from the same tree, and the first lines say which.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import bare_server, free_port, percentile, stop, wait_http
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.security import service as security
from smartcity.sensing import hours
from smartcity.sensing import service as sensing
from smartcity.sensing.models import Datastream, Observation, ObservationHour, Thing

ROOT = Path(__file__).resolve().parent.parent
# The tree the smartcity package was imported from: the working tree, or (PYTHONPATH=…) an export of a commit.
# The server and the bridge run from it too, so the whole benchmark measures one version of the code.
CODE = Path(sensing.__file__).resolve().parent.parent.parent
BENCH = ROOT / "var" / "bench"
SECRET = "bench-sensing-" * 4
STA = "/sta/v1.1"
ADMIN, DEVICE = "bench-sta-admin", "bench-sta-device"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
MOSQUITTO, MOSQUITTO_PASSWD = "/usr/sbin/mosquitto", "/usr/bin/mosquitto_passwd"
BROKER_PLATFORM_PASSWORD, BROKER_DEVICE_PASSWORD = "bench-platform-1", "bench-device-1"
PEER_VENV = BENCH / "peer-venv"
PEER_PACKAGES = ["django-ogc-sensorthings", "uvicorn", "psycopg[binary]"]
PEER_PREFIX = "/sensorthings/v1.1"
SPACING = timedelta(seconds=10)
WORKLOADS = ("ingest", "mqtt", "query")


# ---------------------------------------------------------------- small helpers


def row(label: str, value: str, reference: str = "") -> None:
    print(f"  {label:<54} {value:>30}   {reference}")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def stopwatch(name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  ({name} took {time.perf_counter() - start:.0f} s)")


class Sampler:
    """With --py-spy: samples the server process (all threads; idle ones left out) from start() to report(),
    then prints where its time went."""

    def __init__(self, args: argparse.Namespace, pid: int | None, label: str) -> None:
        self.args, self.pid, self.label = args, pid, label
        self.out = BENCH / f"py-spy-{label}.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sampler:
        if self.label and self.args.py_spy and self.pid is not None:
            self.out.unlink(missing_ok=True)
            self.process = subprocess.Popen(
                [
                    self.args.py_spy,
                    "record",
                    "--pid",
                    str(self.pid),
                    "--format",
                    "raw",
                    "--output",
                    str(self.out),
                    "--rate",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.5)  # let it attach
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(60)

    def report(self) -> None:
        if self.process is not None and self.out.exists():
            report_stacks(self.out, self.label, self.args.profile_top)


def report_stacks(path: Path, label: str, top: int) -> None:
    """Own and inclusive share of each function in py-spy's collapsed stacks."""
    import re

    frame = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        names = []
        for part in stack.split(";")[1:]:
            match = frame.match(part)
            if match:
                where = match["file"].split("site-packages/")[-1].removeprefix(f"{CODE}/")
                names.append(f"{match['name']} ({where})")
        if not names:
            continue
        own[names[-1]] = own.get(names[-1], 0) + samples
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + samples
    if not total:
        print(f"  py-spy took no samples for {label}")
        return
    print(
        f"\n  py-spy, server process during {label}: {total:,} samples of busy threads (raw: {path.relative_to(ROOT)})"
    )
    print(f"    {'own time':<80} {'own':>6} {'incl.':>6}")
    for name, samples in sorted(own.items(), key=lambda item: -item[1])[:top]:
        print(f"    {name[:80]:<80} {samples / total:>6.1%} {inclusive[name] / total:>6.1%}")
    print(f"    {'inclusive, smartcity code':<80} {'':>6} {'incl.':>6}")
    ours = [(n, c) for n, c in inclusive.items() if "smartcity/" in n]
    for name, samples in sorted(ours, key=lambda item: -item[1])[:top]:
        print(f"    {name[:80]:<80} {'':>6} {samples / total:>6.1%}")


def station(name: str, datastreams: int, lon: float = 121.4906, lat: float = 31.2452) -> dict[str, Any]:
    """A Thing with its Location and N water-level datastreams (deep insert), valid for both servers."""
    return {
        "name": name,
        "description": "bench station",
        "properties": {"bench": True},
        "Locations": [
            {
                "name": f"{name} location",
                "description": "site",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} #{i}",
                "description": "water level",
                "observationType": MEASUREMENT,
                "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M"},
                "Sensor": {"name": "gauge", "description": "-", "encodingType": "text/html", "metadata": "-"},
                "ObservedProperty": {"name": "level", "definition": "http://vocab.example/level", "description": "-"},
            }
            for i in range(datastreams)
        ],
    }


def series_times(end: datetime, count: int) -> list[datetime]:
    """``count`` instants 10 s apart, the newest at ``end``."""
    return [end - SPACING * (count - 1 - k) for k in range(count)]


def batch_bodies(
    datastreams: list[Any], total: int, batch: int, end: datetime, *, seed: int
) -> tuple[list[bytes], list[list[tuple[Any, datetime, float]]]]:
    """CreateObservations bodies of ``batch`` rows each, every request spread over all the datastreams; also
    the same rows as (datastream, time, value) for the raw reference. Times are unique per datastream."""
    rng = random.Random(seed)
    per_stream = -(-total // len(datastreams))
    times = series_times(end, per_stream)
    cursor = {d: 0 for d in datastreams}
    bodies, plain = [], []
    for start in range(0, total, batch):
        size = min(batch, total - start)
        share, extra = divmod(size, len(datastreams))
        groups, rows = [], []
        for index, datastream in enumerate(datastreams):
            n = share + (1 if index < extra else 0)
            if n == 0:
                continue
            values = []
            for _ in range(n):
                moment, value = times[cursor[datastream]], round(3.0 + rng.random(), 3)
                cursor[datastream] += 1
                values.append([iso(moment), value])
                rows.append((datastream, moment, value))
            groups.append(
                {"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"], "dataArray": values}
            )
        bodies.append(json.dumps(groups).encode())
        plain.append(rows)
    return bodies, plain


# ---------------------------------------------------------------- our server


class Ours:
    """The platform, migrated, with an admin and a device account (API keys), served by uvicorn."""

    def __init__(self, url: str) -> None:
        self.settings = Settings(database_url=url, env="test", secret_key=SECRET, _env_file=None)
        upgrade(self.settings)
        self.database = Database(self.settings)
        self.dialect = self.database.engine.dialect.name
        self.maintain()
        with self.database.session(actor="bench") as s:
            for name, role in ((ADMIN, "admin"), (DEVICE, "device")):
                if security.user_by_name(s, name) is None:
                    security.create_user(s, username=name, display_name=name, password=None, role=role)
            self.admin_key, _ = security.create_api_key(s, name="bench", user=security.user_by_name(s, ADMIN))
            self.device_key, _ = security.create_api_key(s, name="bench", user=security.user_by_name(s, DEVICE))
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.extra_env: dict[str, str] = {}

    def restart(self, **env: str) -> None:
        """The server started again with these settings (e.g. SMARTCITY_STA_READ_CACHE_MB="0")."""
        self.stop()
        self.extra_env = env
        self.start()

    def maintain(self) -> None:
        """What cron (`smartcity sensing maintain`) and the bridge do hourly: on PostgreSQL, the monthly
        partitions ahead and for rows waiting in the default partition; no retention (0 days)."""
        from smartcity.sensing import partitions

        partitions.maintain(self.database, 0)

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")},
            "SMARTCITY_DATABASE_URL": self.settings.database_url,
            "SMARTCITY_ENV": "test",
            "SMARTCITY_SECRET_KEY": SECRET,
            # the throttle's own transaction is still paid per request; only its limit is lifted
            "SMARTCITY_STA_DEVICE_WRITES_PER_MINUTE": str(10**7),
            **self.extra_env,
        }

    def start(self) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "smartcity.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=CODE,
            env=self.env(),
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_http(f"{self.base}/healthz", self.process)

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.base + STA, headers={"X-API-Key": self.admin_key}, timeout=600)

    def device(self) -> httpx.Client:
        return httpx.Client(base_url=self.base + STA, auth=(DEVICE, self.device_key), timeout=600)

    def make_stations(self, prefix: str, things: int, per_thing: int, *, bind: bool = True) -> list[int]:
        """Things with their datastreams through the API, bound to the device; returns datastream ids."""
        ids: list[int] = []
        with self.admin() as client:
            for t in range(things):
                response = client.post("/Things", json=station(f"{prefix} {t}", per_thing))
                response.raise_for_status()
                thing = response.json()["@iot.id"]
                streams = client.get(f"/Things({thing})/Datastreams", params={"$orderby": "id", "$top": "1000"})
                ids += [d["@iot.id"] for d in streams.json()["value"]]
                if bind:
                    with self.database.session(actor="bench") as s:
                        sensing.bind_device(s, thing, DEVICE)
        return ids

    def find_stations(self, prefix: str) -> list[int]:
        with self.database.session() as s:
            return list(
                s.scalars(
                    select(Datastream.id)
                    .join(Thing, Thing.id == Datastream.thing_id)
                    .where(Thing.name.like(f"{prefix} %"))
                    .order_by(Datastream.id)
                )
            )

    def prime(self, datastreams: list[int], moment: datetime) -> dict[int, int]:
        """One observation per datastream (through the API: it makes the FeatureOfInterest from the Thing's
        Location, once); returns each datastream's feature id."""
        body = [
            {"Datastream": {"@iot.id": d}, "components": ["phenomenonTime", "result"], "dataArray": [[iso(moment), 0]]}
            for d in datastreams
        ]
        with self.admin() as client:
            client.post("/CreateObservations", json=body).raise_for_status()
        with self.database.session() as s:
            pairs = s.execute(
                select(Observation.datastream_id, Observation.feature_of_interest_id)
                .where(Observation.datastream_id.in_(datastreams))
                .distinct()
            ).all()
        return dict(pairs)  # type: ignore[arg-type]

    def count(self, datastreams: list[int]) -> int:
        with self.database.session() as s:
            statement = select(func.count()).select_from(Observation)
            return s.scalar(statement.where(Observation.datastream_id.in_(datastreams))) or 0

    def forget(self, datastreams: list[int]) -> None:
        """Drop what a workload wrote, so the table keeps its --table-rows for the query."""
        with self.database.engine.begin() as conn:
            for start in range(0, len(datastreams), 500):
                chosen = datastreams[start : start + 500]
                conn.execute(Observation.__table__.delete().where(Observation.datastream_id.in_(chosen)))
                conn.execute(ObservationHour.__table__.delete().where(ObservationHour.datastream_id.in_(chosen)))


# ---------------------------------------------------------------- 1. HTTP ingest


def post_batches(
    base: str, path: str, bodies: list[bytes], clients: int, auth: Any = None
) -> tuple[float, list[float], int]:
    """Send every body (``clients`` connections taking them in turn); wall time, per-request ms, and the
    number of rows the server answered "error" for."""
    timings: list[float] = []
    errors = [0]
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker() -> None:
        with httpx.Client(base_url=base, auth=auth, timeout=600) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                start = time.perf_counter()
                response = client.post(path, content=body, headers={"Content-Type": "application/json"})
                spent = (time.perf_counter() - start) * 1000
                if response.status_code != 201:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                failed = sum(1 for link in response.json() if link == "error")
                with lock:
                    timings.append(spent)
                    errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, timings, errors[0]


def raw_insert(database: Database, batches: list[list[tuple[int, datetime, float]]], foi: dict[int, int]) -> float:
    """The ceiling: the same rows with the driver's executemany, one transaction per batch."""
    sqlite = database.engine.dialect.name == "sqlite"
    statement = (
        "INSERT INTO sta_observation (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id) "
        + ("VALUES (?, ?, ?, ?)" if sqlite else "VALUES (%s, %s, %s, %s)")
    )
    prepared = [
        [(sqlite_time(t) if sqlite else t, v, d, foi[d]) for d, t, v in rows] for rows in batches
    ]  # converted before the clock starts: the reference is the database's own cost
    connection = database.engine.raw_connection()
    try:
        driver = connection.driver_connection
        start = time.perf_counter()
        for rows in prepared:
            cursor = driver.cursor()  # type: ignore[union-attr]
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(statement, rows)
            if sqlite:
                cursor.execute("COMMIT")
            else:
                driver.commit()  # type: ignore[union-attr]
            cursor.close()
        return time.perf_counter() - start
    finally:
        connection.close()


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy's SQLite DateTime stores a (UTC) instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def bench_ingest(ours: Ours, args: argparse.Namespace, stamp: str, peer: Peer | None) -> dict[int, float]:
    print(
        f"\nHTTP ingest: POST {STA}/CreateObservations (dataArray), device account, "
        f"{args.ingest_datastreams} datastreams per request, {args.http_clients} client(s)"
    )
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    rates: dict[int, float] = {}
    for size in args.batch_sizes:
        streams = ours.make_stations(f"bench-ingest {stamp} b{size}", args.ingest_datastreams, 1)
        reference = ours.make_stations(f"bench-raw {stamp} b{size}", args.ingest_datastreams, 1, bind=False)
        early = end - SPACING * (args.observations + 10)
        ours.prime(streams, early)
        foi = ours.prime(reference, early)
        bodies, plain = batch_bodies(streams, args.observations, size, end, seed=size)
        sampler = Sampler(args, ours.pid, f"ingest-{size}" if size == max(args.batch_sizes) else "").start()
        seconds, timings, errors = post_batches(
            ours.base, f"{STA}/CreateObservations", bodies, args.http_clients, (DEVICE, ours.device_key)
        )
        sampler.stop()
        stored = ours.count(streams) - len(streams)
        rate = args.observations / seconds
        rates[size] = rate
        row(
            f"batches of {size:,}: {len(bodies)} requests, {args.observations:,} obs",
            f"{rate:,.0f} obs/s",
            f"p50 {statistics.median(timings):,.0f} ms, p99 {percentile(timings, 0.99):,.0f} ms per request; "
            f"stored {stored:,}/{args.observations:,}, {errors} errors; target ≥ 100,000 obs/s on SQLite",
        )
        remapped = [[(reference[streams.index(d)], t, v) for d, t, v in rows] for rows in plain]
        raw_seconds = raw_insert(ours.database, remapped, foi)
        row(
            "  reference: raw executemany of the same rows",
            f"{args.observations / raw_seconds:,.0f} obs/s",
            f"ours is {rate / (args.observations / raw_seconds):.0%} of the ceiling",
        )
        if peer is not None:
            peer_rate = peer.ingest(size, args, end, stamp)
            if peer_rate:
                row(
                    "  peer django-ogc-sensorthings, same bodies",
                    f"{peer_rate:,.0f} obs/s",
                    f"ours / theirs = {rate / peer_rate:.1f}×",
                )
        sampler.report()
        ours.forget(streams + reference)
    return rates


# ---------------------------------------------------------------- 2. MQTT


class Broker:
    """Debian's Mosquitto on a free port, with a password file and the ACL written from the bindings."""

    def __init__(self, folder: Path, acl_writer: Any, tuned: bool) -> None:
        if not Path(MOSQUITTO).exists():
            raise SystemExit("Mosquitto is not installed: run scripts/install-system-deps mosquitto")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        passwords = folder / "passwd"
        passwords.unlink(missing_ok=True)
        for user, password in (("platform", BROKER_PLATFORM_PASSWORD), (DEVICE, BROKER_DEVICE_PASSWORD)):
            flags = [] if passwords.exists() else ["-c"]
            subprocess.run([MOSQUITTO_PASSWD, *flags, "-b", str(passwords), user, password], check=True)
        acl = folder / "acl"
        acl_writer(acl)
        limits = "max_inflight_messages 0\nmax_queued_messages 0\n" if tuned else ""
        config = folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n"
            f"persistence false\nlog_dest stderr\n{limits}" + ("user root\n" if os.geteuid() == 0 else ""),
            encoding="utf-8",
        )
        self.log = (folder / "mosquitto.log").open("wb")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stderr=self.log, stdout=self.log)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Mosquitto did not start; see " + str(folder / "mosquitto.log"))

    def stop(self) -> None:
        stop(self.process)  # type: ignore[arg-type]
        self.log.close()


def start_bridge(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """`smartcity sensing mqtt-bridge` in a subprocess, once it says it is connected."""
    path = BENCH / "mosquitto" / "bridge.log"
    mark = len(path.read_bytes()) if path.exists() else 0
    bridge = subprocess.Popen(
        [str(Path(sys.executable).parent / "smartcity"), "sensing", "mqtt-bridge"],
        cwd=CODE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while b"connected" not in path.read_bytes()[mark:]:
        if bridge.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the bridge did not connect; see var/bench/mosquitto/bridge.log")
        time.sleep(0.1)
    return bridge


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Poller(threading.Thread):
    """Reads the new rows of the datastreams (``id > last``) every --poll-ms and stamps each result (a message's
    sequence number) with the time it was first seen; with ``pid`` (the bridge), also the CPU time the process
    had used when the first and the last rows were seen."""

    def __init__(self, ours: Ours, streams: list[int], wanted: int, poll_ms: int) -> None:
        super().__init__()
        self.ours, self.streams, self.wanted, self.poll_ms = ours, streams, wanted, poll_ms
        self.seen: dict[int, float] = {}
        self.done = threading.Event()
        self.pid: int | None = None
        self.cpu: list[tuple[int, float]] = []  # (rows seen, CPU seconds) at the first and latest polls with rows
        with ours.database.engine.connect() as conn:
            self.last = conn.scalar(select(func.max(Observation.id))) or 0

    def run(self) -> None:
        with self.ours.database.engine.connect() as conn:
            while not self.done.is_set():
                rows = conn.execute(
                    select(Observation.id, Observation.result_number)
                    .where(Observation.id > self.last, Observation.datastream_id.in_(self.streams))
                    .order_by(Observation.id)
                ).all()
                conn.commit()
                now = time.perf_counter()
                for observation_id, value in rows:
                    self.seen.setdefault(int(value), now)
                    self.last = max(self.last, observation_id)
                if rows and self.pid is not None:
                    self.cpu[1 if self.cpu else 0 :] = [(len(self.seen), cpu_seconds(self.pid))]
                if len(self.seen) >= self.wanted:
                    return
                time.sleep(self.poll_ms / 1000)

    def cpu_per_message(self) -> float:
        """Milliseconds of the bridge's CPU per message stored between the first and the last poll with rows."""
        if len(self.cpu) < 2 or self.cpu[1][0] == self.cpu[0][0]:
            return float("nan")
        (first_rows, first_cpu), (last_rows, last_cpu) = self.cpu
        return (last_cpu - first_cpu) * 1000 / (last_rows - first_rows)

    def settle(self, stall: float) -> None:
        """Wait while rows keep arriving; give up after ``stall`` seconds without a new one."""
        while self.is_alive():  # it ends once it has seen them all
            before = len(self.seen)
            self.join(stall)
            if len(self.seen) == before:
                break
        self.done.set()
        self.join()


class Sent:
    """What the publishers did: when they started, the seconds to the last acknowledgement, and the CPU seconds they
    used (their processes' own; with threads, all of this process's, the poller included)."""

    def __init__(self, start: float, end: float, cpu: float) -> None:
        self.start, self.seconds, self.cpu = start, end - start, cpu


def device_messages(streams: list[int], seqs: range, base: datetime) -> list[tuple[int, str, bytes]]:
    """(sequence number, topic, JSON) of each message, built before the clock starts: a device's work, not the
    platform's."""
    return [
        (seq, f"v1.1/Datastreams({streams[seq % len(streams)]})/Observations",
         json.dumps({"phenomenonTime": iso(base + timedelta(milliseconds=seq)), "result": seq}).encode())
        for seq in seqs
    ]  # fmt: skip


class Connection:
    """A device connection through paho-mqtt (its network thread reads the acknowledgements): publishes its
    messages with QoS 1 and waits for the broker's acknowledgements. About 0.09–0.15 ms of CPU a message."""

    def __init__(
        self, port: int, streams: list[int], seqs: range, inflight: int, client_id: str, base: datetime
    ) -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(DEVICE, BROKER_DEVICE_PASSWORD)
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.messages = device_messages(streams, seqs, base)

    def run(self, published: dict[int, float]) -> None:
        pending = []
        for seq, topic, payload in self.messages:
            published[seq] = time.perf_counter()
            pending.append(self.client.publish(topic, payload, qos=1))
        for info in pending:
            info.wait_for_publish(120)
        self.client.disconnect()
        self.client.loop_stop()


class RawConnection:
    """A device connection that writes its MQTT 5 packets itself, encoded before the clock starts, a few dozen
    a send(), at most --mqtt-inflight unacknowledged: a load generator about as lean as a C one, so that on a
    small machine the publishers leave the CPU to the broker and the bridge (paho's client took more CPU a
    message than the bridge)."""

    CHUNK = 50  # messages a send(): each is stamped with the time its send() began

    def __init__(
        self, port: int, streams: list[int], seqs: range, inflight: int, client_id: str, base: datetime
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        login = b"".join(mqtt_string(s) for s in (client_id, DEVICE, BROKER_DEVICE_PASSWORD))
        # protocol name, version 5, flags user name + password + clean start, keep-alive 60 s, no properties
        self.sock.sendall(mqtt_packet(0x10, mqtt_string("MQTT") + b"\x05\xc2\x00\x3c\x00" + login))
        connack = self.sock.recv(4096)  # a few bytes: nothing else comes before the first acknowledgement
        if connack[:1] != b"\x20" or len(connack) < 4 or connack[3] != 0:
            raise RuntimeError(f"the broker refused the device connection: {connack!r}")
        self.inflight = max(1, min(inflight, 65_000))  # packet ids must not repeat while in flight
        self.packets = [
            (seq, mqtt_packet(0x32, mqtt_string(topic) + (i % 65_535 + 1).to_bytes(2, "big") + b"\x00" + payload))
            for i, (seq, topic, payload) in enumerate(device_messages(streams, seqs, base))
        ]

    def run(self, published: dict[int, float]) -> None:
        from select import select as ready

        sent = acked = 0
        unread = b""
        while acked < len(self.packets):
            room = min(len(self.packets) - sent, self.inflight - (sent - acked), self.CHUNK)
            if room > 0:
                chunk = self.packets[sent : sent + room]
                now = time.perf_counter()
                published.update((seq, now) for seq, _ in chunk)
                self.sock.sendall(b"".join(packet for _, packet in chunk))
                sent += room
            if sent - acked < self.inflight and sent < len(self.packets) and not ready([self.sock], [], [], 0)[0]:
                continue
            data = self.sock.recv(65_536)
            if not data:
                raise ConnectionError("the broker closed the device connection")
            count, unread = pubacks(unread + data)
            acked += count
        self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        self.sock.close()


def mqtt_packet(header: int, body: bytes) -> bytes:
    """A control packet: its first byte, the remaining length (variable byte integer), the body."""
    length, size = bytearray(), len(body)
    while True:
        size, digit = divmod(size, 128)
        length.append(digit | (128 if size else 0))
        if not size:
            return bytes([header]) + bytes(length) + body


def mqtt_string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def pubacks(data: bytes) -> tuple[int, bytes]:
    """The PUBACKs among the whole packets at the start of ``data``, and what is left of an incomplete one; a
    PUBACK with an error reason (0x80 and up: refused by the ACL, say) stops the benchmark."""
    count = position = 0
    while position + 2 <= len(data):
        length = shift = 0
        cursor = position + 1
        while cursor < len(data):
            length += (data[cursor] & 127) << shift
            shift += 7
            cursor += 1
            if data[cursor - 1] < 128:
                break
        else:
            break
        if cursor + length > len(data):
            break
        if data[position] == 0x40:
            if length > 2 and data[cursor + 2] >= 0x80:
                raise RuntimeError(f"the broker refused a message: reason {data[cursor + 2]:#x}")
            count += 1
        position = cursor + length
    return count, data[position:]


def publish_all(
    port: int, streams: list[int], seqs: range, args: argparse.Namespace, name: str, published: dict[int, float]
) -> Sent:
    """Publish one message per sequence number from --mqtt-clients device connections, spread over
    --mqtt-processes processes of their own (0: threads of this process, whose interpreter lock held the
    publishers to about one core); stamps each message's publish time in ``published``."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)  # one for all: no repeated times
    shares = [(f"{name}-{i}", seqs[i :: args.mqtt_clients]) for i in range(args.mqtt_clients)]
    if args.mqtt_processes:
        return publish_from_processes(port, streams, shares, args, base, published)
    kind = RawConnection if args.mqtt_publisher == "raw" else Connection
    connections = [kind(port, streams, share, args.mqtt_inflight, client_id, base) for client_id, share in shares]
    cpu = cpu_seconds(os.getpid())
    start = time.perf_counter()
    run_connections(connections, published)
    return Sent(start, time.perf_counter(), cpu_seconds(os.getpid()) - cpu)


def run_connections(connections: list[Connection] | list[RawConnection], published: dict[int, float]) -> None:
    threads = [threading.Thread(target=connection.run, args=(published,)) for connection in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def publish_from_processes(
    port: int,
    streams: list[int],
    shares: list[tuple[str, range]],
    args: argparse.Namespace,
    base: datetime,
    published: dict[int, float],
) -> Sent:
    """The connections dealt over --mqtt-processes publisher processes, started together once all have connected.
    Their publish times are comparable with this process's: perf_counter is the system's CLOCK_MONOTONIC on Linux."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: none of this one's threads or connections
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    count = min(args.mqtt_processes, len(shares))
    processes = [
        context.Process(
            target=publisher_process,
            args=(
                port,
                streams,
                shares[p::count],
                args.mqtt_inflight,
                args.mqtt_publisher == "raw",
                base,
                ready,
                go,
                results,
            ),
            daemon=True,
        )
        for p in range(count)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    start = time.perf_counter()
    go.set()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(30)
    for stamps, _, _ in outcomes:
        published.update(stamps)
    return Sent(start, max(finished for _, _, finished in outcomes), sum(cpu for _, cpu, _ in outcomes))


def publisher_process(
    port: int,
    streams: list[int],
    shares: list[tuple[str, range]],
    inflight: int,
    raw: bool,
    base: datetime,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """A publisher process: its connections, in threads; reports (publish times, its CPU seconds, when it ended)."""
    kind = RawConnection if raw else Connection
    connections = [kind(port, streams, share, inflight, client_id, base) for client_id, share in shares]
    ready.put(os.getpid())
    go.wait()
    cpu = time.process_time()
    published: dict[int, float] = {}
    run_connections(connections, published)
    results.put((published, time.process_time() - cpu, time.perf_counter()))


def bench_mqtt(ours: Ours, args: argparse.Namespace, stamp: str, tuned: bool) -> tuple[float, float]:
    from smartcity.sensing.mqtt import acl_file

    label = "broker with max_inflight_messages 0, max_queued_messages 0" if tuned else "broker defaults, as the tests"
    print(f"\nMQTT ingest through Mosquitto and `smartcity sensing mqtt-bridge` ({label})")
    streams = ours.make_stations(f"bench-mqtt {stamp} {int(tuned)}", args.mqtt_datastreams, 1)
    ours.prime(streams, datetime.now(UTC) - timedelta(days=30))
    broker = Broker(BENCH / "mosquitto", lambda path: acl_file(ours.database, path, "platform"), tuned)
    env = {
        **ours.env(),
        "SMARTCITY_MQTT_URL": f"mqtt://platform:{BROKER_PLATFORM_PASSWORD}@127.0.0.1:{broker.port}",
        "SMARTCITY_MQTT_CLIENT_ID": f"bench-bridge-{stamp}-{int(tuned)}",
    }
    bridge_log = (BENCH / "mosquitto" / "bridge.log").open("ab")
    bridge = None
    try:
        bridge = start_bridge(env, bridge_log)
        total = args.mqtt_messages
        published: dict[int, float] = {}
        sampler = Sampler(args, bridge.pid, f"mqtt-bridge-{'tuned' if tuned else 'default'}").start()
        poller = Poller(ours, streams, total, args.poll_ms)
        poller.pid = bridge.pid
        poller.start()
        cpu = Usage(bridge.pid, broker.process.pid)
        sent = publish_all(broker.port, streams, range(total), args, f"bench-device-{stamp}-{int(tuned)}", published)
        poller.settle(args.mqtt_stall)
        cpu.stop()
        sampler.stop()
        rate, p99 = report_live(args, poller, published, sent, total)
        if poller.seen:
            cpu.report(len(poller.seen), sent.cpu, publishers(args))
        sampler.report()
        if tuned and args.mqtt_backlog:
            bridge = backlog(ours, args, env, bridge, bridge_log, broker, streams, total, stamp)
        return rate, p99
    finally:
        stop(bridge)
        bridge_log.close()
        broker.stop()
        ours.forget(streams)


def publishers(args: argparse.Namespace) -> str:
    if args.mqtt_processes:
        return f"{min(args.mqtt_processes, args.mqtt_clients)} publisher processes ({args.mqtt_publisher})"
    return f"publisher threads of the bench process ({args.mqtt_publisher})"


def report_live(
    args: argparse.Namespace, poller: Poller, published: dict[int, float], sent: Sent, total: int
) -> tuple[float, float]:
    """Print the rate persisted beside the rate sent, and the publish → stored latency; returns (rate, p99)."""
    seen = poller.seen
    rate = len(seen) / (max(seen.values()) - sent.start) if seen else 0.0
    row(
        f"{total:,} messages, QoS 1, {args.mqtt_clients} device connections",
        f"{rate:,.0f} msg/s persisted",
        f"stored {len(seen):,}/{total:,} ({total - len(seen):,} lost); all published in {sent.seconds:.1f} s = "
        f"{total / sent.seconds:,.0f} msg/s sent by {publishers(args)}; target ≥ 10,000 msg/s",
    )
    latencies = [(seen[s] - published[s]) * 1000 for s in seen]
    if not latencies:
        return rate, float("nan")
    p99 = percentile(latencies, 0.99)
    row(
        "publish → stored latency (± one poll interval)",
        f"p50 {statistics.median(latencies):,.0f} ms, p99 {p99:,.0f} ms",
        f"max {max(latencies):,.0f} ms; poll every {args.poll_ms} ms; the bridge's CPU "
        f"{poller.cpu_per_message():.3f} ms a message",
    )
    return rate, p99


class Usage:
    """CPU seconds the bridge and the broker use from now to stop() (Linux /proc)."""

    def __init__(self, bridge: int, broker: int) -> None:
        self.pids = (bridge, broker)
        self.used = [-cpu_seconds(pid) for pid in self.pids]

    def stop(self) -> None:
        self.used = [used + cpu_seconds(pid) for used, pid in zip(self.used, self.pids, strict=True)]

    def report(self, stored: int, publishers_cpu: float, publishers_label: str) -> None:
        """A row of CPU milliseconds a message stored (the broker's and the publishers' work on messages the broker
        dropped included), and what the machine's cores allow at that cost."""
        bridge, broker, publishing = (seconds * 1000 / stored for seconds in (*self.used, publishers_cpu))
        together = bridge + broker + publishing
        cores = os.cpu_count() or 1
        row(
            "CPU a message stored: bridge, Mosquitto, publishers",
            f"{bridge:.3f} + {broker:.3f} + {publishing:.3f} ms",
            f"{publishers_label}; together {together:.3f} ms: {cores} cores run at most {cores * 1000 / together:,.0f} "
            f"msg/s at this cost, the bridge alone (one thread) {1000 / bridge:,.0f}",
        )


def backlog(
    ours: Ours,
    args: argparse.Namespace,
    env: dict[str, str],
    bridge: subprocess.Popen[bytes],
    log: Any,
    broker: Broker,
    streams: list[int],
    offset: int,
    stamp: str,
) -> subprocess.Popen[bytes]:
    """The bridge's own pace, without the publishers competing for the CPU: the bridge is stopped, --mqtt-backlog
    messages queue at the broker in its persistent session, then it starts again and stores them."""
    stop(bridge)
    count = args.mqtt_backlog
    published: dict[int, float] = {}
    publish_all(broker.port, streams, range(offset, offset + count), args, f"bench-backlog-{stamp}", published)
    poller = Poller(ours, streams, count, args.poll_ms)
    poller.start()
    started = time.perf_counter()
    bridge = start_bridge(env, log)
    poller.pid = bridge.pid
    cpu = Usage(bridge.pid, broker.process.pid)
    sampler = Sampler(args, bridge.pid, "mqtt-bridge-backlog").start()
    poller.settle(args.mqtt_stall)
    cpu.stop()
    sampler.stop()
    seen = sorted(poller.seen.values())
    if len(seen) > 1:
        rate = (len(seen) - 1) / (seen[-1] - seen[0])
        row(
            f"backlog of {count:,} queued while the bridge was down",
            f"{rate:,.0f} msg/s persisted",
            f"stored {len(seen):,}/{count:,}, first to last row; {seen[-1] - started:.1f} s from the bridge's "
            f"start (its imports included); the bridge's CPU {poller.cpu_per_message():.3f} ms a message",
        )
        cpu.report(len(seen), 0.0, "no publishers meanwhile; from the bridge's connection")
    sampler.report()
    return bridge


# ---------------------------------------------------------------- 3. the 24 h query over a large table


class Table:
    """The --table-rows observations for the query, loaded once and reused (found by Thing name)."""

    PREFIX = "bench-table"

    def __init__(self, ours: Ours, args: argparse.Namespace) -> None:
        self.ours, self.args = ours, args
        self.per_stream = args.table_rows // args.table_datastreams
        self.streams = ours.find_stations(self.PREFIX)
        self.end = self._stored_end()

    def _stored_end(self) -> datetime | None:
        if len(self.streams) != self.args.table_datastreams:
            return None
        with self.ours.database.session() as s:
            end = s.scalar(
                select(func.max(Observation.phenomenon_time_start)).where(Observation.datastream_id == self.streams[0])
            )
            counted = s.scalar(
                select(func.count()).select_from(Observation).where(Observation.datastream_id.in_(self.streams))
            )
        return end if counted == self.per_stream * len(self.streams) else None

    def ensure(self) -> None:
        if self.end is not None:
            print(f"  reusing the {self.per_stream * len(self.streams):,} observations loaded by an earlier run")
            self._ensure_hours()
            return
        if self.streams:
            self.ours.forget(self.streams)
        else:
            per_thing = 10
            self.streams = self.ours.make_stations(
                self.PREFIX, -(-self.args.table_datastreams // per_thing), per_thing, bind=False
            )[: self.args.table_datastreams]
        self.end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        foi = self.ours.prime(self.streams, self.end - SPACING * (self.per_stream - 1))  # the oldest of each series
        start = time.perf_counter()
        if self.ours.dialect == "sqlite":
            self._load_sqlite(foi)
        else:
            self._load_postgresql(foi)
        seconds = time.perf_counter() - start
        row(
            "bulk load",
            f"{self.per_stream * len(self.streams):,} rows in {seconds:.0f} s",
            f"{len(self.streams)} datastreams × {self.per_stream:,} at 10 s spacing, {self.args.table_layout}",
        )
        self._rebuild_hours()

    def _ensure_hours(self) -> None:
        """A table loaded before the hours' revisions existed (or by hand) gets them, as an operator would."""
        with self.ours.database.session() as s:
            known = s.scalar(select(func.count()).select_from(ObservationHour).where(
                ObservationHour.datastream_id == self.streams[0]))  # fmt: skip
        if not known:
            self._rebuild_hours()

    def _rebuild_hours(self) -> None:
        """The rows went in with SQL by hand, as docs/sensing.md says to follow with `smartcity sensing
        rebuild-hours`: the same function."""
        start = time.perf_counter()
        with self.ours.database.engine.begin() as conn:
            made = hours.rebuild(conn)
        row("  the hours' revisions rebuilt", f"{made:,} hours in {time.perf_counter() - start:.1f} s", "")

    def _load_sqlite(self, foi: dict[int, int]) -> None:
        statement = (
            "INSERT INTO sta_observation (phenomenon_time_start, result_number, datastream_id, feature_of_interest_id)"
            " VALUES (?, ?, ?, ?)"
        )
        times = [sqlite_time(t) for t in series_times(self.end, self.per_stream)][1:]  # the oldest is primed
        connection = self.ours.database.engine.raw_connection()
        try:
            cursor = connection.driver_connection.cursor()  # type: ignore[union-attr]
            for rows in self._sqlite_batches(times, foi):
                cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(statement, rows)
                cursor.execute("COMMIT")
            cursor.execute("ANALYZE sta_observation")
        finally:
            connection.close()

    def _sqlite_batches(self, times: list[str], foi: dict[int, int]) -> Iterator[list[tuple[Any, ...]]]:
        """A transaction's rows: one datastream at a time ("series"), or every datastream's reading of each tick
        in time order ("interleaved", as live feeds write: a day of one datastream then lies on thousands of
        pages instead of a hundred)."""

        def value(k: int, n: int) -> float:
            return 3.0 + ((k * 7919 + n) % 1000) / 1000

        if self.args.table_layout == "series":
            for n, stream in enumerate(self.streams):
                yield [(t, value(k, n), stream, foi[stream]) for k, t in enumerate(times)]
            return
        ticks = max(1, 100_000 // len(self.streams))
        streams = list(enumerate(self.streams))
        for first in range(0, len(times), ticks):
            chosen = range(first, min(first + ticks, len(times)))
            yield [(times[k], value(k, n), stream, foi[stream]) for k in chosen for n, stream in streams]

    def _load_postgresql(self, foi: dict[int, int]) -> None:
        self.ours.maintain()  # the months' partitions exist before the rows arrive, as in production
        order = "d.id, k DESC" if self.args.table_layout == "series" else "k DESC, d.id"  # see _sqlite_batches
        with self.ours.database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sta_observation (phenomenon_time_start, result_number, datastream_id, "
                    "feature_of_interest_id) SELECT CAST(:end AS timestamptz) - make_interval(secs => 10 * k), "
                    "3.0 + ((k * 7919 + d.n) % 1000) / 1000.0, d.id, d.foi "
                    "FROM unnest(CAST(:ids AS integer[]), CAST(:fois AS integer[])) WITH ORDINALITY AS d(id, foi, n), "
                    f"generate_series(0, :last) AS k ORDER BY {order}"
                ),
                {
                    "end": self.end,
                    "ids": self.streams,
                    "fois": [foi[s] for s in self.streams],
                    "last": self.per_stream - 2,
                },
            )
        with self.ours.database.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE sta_observation"))

    def window(self) -> tuple[datetime, datetime]:
        """The last 24 h of a series: [end - 24 h + 10 s, end + 1 s) holds exactly 8,640 observations."""
        assert self.end is not None
        return self.end - timedelta(hours=24) + SPACING, self.end + timedelta(seconds=1)

    def all_rows(self) -> int:
        with self.ours.database.session() as s:
            return s.scalar(select(func.count()).select_from(Observation)) or 0


def time_queries(
    client: httpx.Client, paths: list[str], params: dict[str, str], expect: int, counter: Any
) -> tuple[list[float], int]:
    timings, wrong = [], 0
    client.get(paths[0], params=params)  # one warm-up
    for path in paths:
        start = time.perf_counter()
        response = client.get(path, params=params)
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        wrong += counter(response.json()) != expect
    return timings, wrong


def first_reads(client: httpx.Client, paths: list[str], params: dict[str, str]) -> list[float]:
    """One timed read of each datastream before the runs. The development machine's kernel pages out file pages
    left idle for about a minute (DAMON reclaim), so the first read of a datastream in a run fetches some of its
    pages from disk again (/proc/vmstat counts the refaults). Timed apart, the runs measure the server on pages
    in memory, the same for every datastream — as a live series' last day is."""
    timings = []
    for path in dict.fromkeys(paths):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def uncached(ours: Ours, args: argparse.Namespace, paths: list[str], params: dict[str, str]) -> None:
    """The same runs with the rendered hours off (SMARTCITY_STA_READ_CACHE_MB=0): every read renders every
    row, as a datastream's first read does. The server restarts for it and again after."""
    ours.restart(SMARTCITY_STA_READ_CACHE_MB="0")
    try:
        with httpx.Client(base_url=ours.base + STA, timeout=120) as client:
            first_reads(client, paths, params)
            plain, wrong = time_queries(client, paths, params, 8640, count_json)
            array, wrong_array = time_queries(
                client, paths, {**params, "$resultFormat": "dataArray"}, 8640, count_array
            )
    finally:
        ours.restart()
    row(
        "  reference: the same runs, no rendered hours kept",
        f"p50 {statistics.median(plain):.1f} ms, p95 {percentile(plain, 0.95):.1f} ms",
        f"dataArray p50 {statistics.median(array):.1f} ms, p95 {percentile(array, 0.95):.1f} ms; "
        f"{2 * args.query_runs - wrong - wrong_array}/{2 * args.query_runs} answers had 8,640",
    )


def floors(ours: Ours, path: str, params: dict[str, str]) -> None:
    """What any answer costs here, measured with the same client: the same bytes from a bare ASGI app in
    uvicorn (no framework, no database), and the platform's smallest SensorThings read (one Datastream)."""
    with httpx.Client(base_url=ours.base + STA, timeout=120) as client:
        body = client.get(path, params=params).content
        small = [timed(client, path.rsplit("/", 1)[0]) for _ in range(50)]
    sample = BENCH / "floor-body.json"
    sample.write_bytes(body)
    process, url = bare_server(str(sample), sys.executable)
    try:
        with httpx.Client(timeout=120) as client:
            bare = [timed(client, url) for _ in range(50)]
    finally:
        stop(process)
        sample.unlink()
    row(
        "  reference: the same bytes from a bare ASGI app in uvicorn",
        f"p50 {statistics.median(bare):.1f} ms, p95 {percentile(bare, 0.95):.1f} ms",
        f"{len(body):,} bytes, the same client: the floor of an answer this size on this machine",
    )
    row(
        "  reference: the platform's smallest read, GET …/Datastreams(id)",
        f"p50 {statistics.median(small):.1f} ms, p95 {percentile(small, 0.95):.1f} ms",
        "routing, the permission check, a session, one row",
    )


def timed(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    client.get(url).raise_for_status()
    return (time.perf_counter() - start) * 1000


def count_json(body: dict[str, Any]) -> int:
    return len(body["value"])


def count_array(body: dict[str, Any]) -> int:
    return sum(len(group.get("dataArray") or group.get("data_array") or []) for group in body["value"])


def bench_query(ours: Ours, args: argparse.Namespace, peer: Peer | None) -> float:
    print(f"\n24 h of one datastream (8,640 observations at 10 s) with ≥ {args.table_rows:,} observations in the table")
    table = Table(ours, args)
    table.ensure()
    first, last = table.window()
    total = table.all_rows()
    rng = random.Random(3)
    picks = [rng.choice(table.streams) for _ in range(args.query_runs)]
    window = f"phenomenonTime ge {iso(first)} and phenomenonTime lt {iso(last)}"
    params = {"$filter": window, "$top": "10000", "$orderby": "phenomenonTime"}
    paths = [f"/Datastreams({d})/Observations" for d in picks]
    with httpx.Client(base_url=ours.base + STA, timeout=120) as client:
        cold = first_reads(client, paths, params)
        first_reads(client, paths, {**params, "$resultFormat": "dataArray"})
        sampler = Sampler(args, ours.pid, "query").start()
        used = cpu_seconds(ours.pid)
        plain, wrong = time_queries(client, paths, params, 8640, count_json)
        used = cpu_seconds(ours.pid) - used
        sampler.stop()
        used_array = cpu_seconds(ours.pid)
        array, wrong_array = time_queries(client, paths, {**params, "$resultFormat": "dataArray"}, 8640, count_array)
        used_array = cpu_seconds(ours.pid) - used_array
    ours_p50 = statistics.median(plain)
    row(
        f"GET …/Observations?$filter=24 h&$orderby, {args.query_runs} runs",
        f"p50 {ours_p50:.1f} ms, p95 {percentile(plain, 0.95):.1f} ms",
        f"{total:,} rows in the table; {args.query_runs - wrong}/{args.query_runs} answers had 8,640; "
        f"the server's CPU {used / (len(paths) + 1) * 1000:.1f} ms a request; target p50 < 20 ms; "
        "each datastream's whole hours rendered by its first read (sensing/window.py)",
    )
    row(
        "  the same with $resultFormat=dataArray",
        f"p50 {statistics.median(array):.1f} ms, p95 {percentile(array, 0.95):.1f} ms",
        f"{args.query_runs - wrong_array}/{args.query_runs} answers had 8,640; "
        f"the server's CPU {used_array / (len(paths) + 1) * 1000:.1f} ms a request",
    )
    row(
        "  first read of each datastream, before the runs",
        f"p50 {statistics.median(cold):.1f} ms, p95 {percentile(cold, 0.95):.1f} ms",
        f"{len(cold)} datastreams, JSON; nothing rendered yet, some pages fetched from disk (see first_reads)",
    )
    uncached(ours, args, paths, params)
    floors(ours, paths[0], params)
    # the database's own cost: the driver's rows, no type conversion, no JSON
    mark = "?" if ours.dialect == "sqlite" else "%s"
    statement = (
        f"SELECT * FROM sta_observation WHERE datastream_id = {mark} AND phenomenon_time_start >= {mark} "
        f"AND phenomenon_time_start < {mark} ORDER BY phenomenon_time_start, id LIMIT 10001"
    )
    bounds = (sqlite_time(first), sqlite_time(last)) if ours.dialect == "sqlite" else (first, last)
    timings = []
    with ours.database.engine.connect() as conn:
        for stream in picks:
            start = time.perf_counter()
            got = conn.exec_driver_sql(statement, (stream, *bounds)).all()
            timings.append((time.perf_counter() - start) * 1000)
        assert len(got) == 8640, len(got)
    row(
        "  reference: the same query straight in SQL",
        f"p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms",
        "the driver's rows: no conversion, no JSON",
    )
    sampler.report()
    if peer is not None:
        peer.query(table, picks, args, ours_p50, statistics.median(array))
    return ours_p50


# ---------------------------------------------------------------- 4. the peer: django-ogc-sensorthings


PEER_SETTINGS = '''"""Settings of the benchmark's django-ogc-sensorthings peer (written by bench/bench_sensing.py)."""
import json
import os
from uuid import UUID

SECRET_KEY = "bench-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "sensorthings.versions.v1_1",
    "sensorthings.versions.v1_1.backends.django",
    "sensorthings.versions.v1_1.extensions.dataarray",
]
ROOT_URLCONF = "peer_urls"
DATABASES = {"default": json.loads(os.environ["PEER_DATABASE"])}
DATA_UPLOAD_MAX_MEMORY_SIZE = None  # Django's 2.5 MB default would refuse the large batches
SENSORTHINGS_V1_1_SERVICE_URL = os.environ["PEER_SERVICE_URL"]
SENSORTHINGS_V1_1_BACKEND_ADAPTER = "sensorthings.versions.v1_1.backends.django.adapter.DjangoBackendAdapter"
SENSORTHINGS_V1_1_ID_TYPE = UUID
SENSORTHINGS_V1_1_ID_DELIMITER = "'"
SENSORTHINGS_V1_1_MAX_TOP = 10000  # as ours: one page holds the 8,640 observations of a day
SENSORTHINGS_V1_1_MAX_POST_DATA_ARRAY_OBSERVATIONS = 50000  # as ours
'''
PEER_URLS = """from django.urls import include, path

urlpatterns = [path("sensorthings/", include("sensorthings.versions.v1_1.urls"))]
"""
PEER_ASGI = """import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_settings")
from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
"""


class Peer:
    """django-ogc-sensorthings with its Django ORM backend, in its own virtualenv, on the same engine."""

    OBSERVATIONS = "sensorthings_v1_1_django_backend_observation"

    def __init__(self, ours: Ours) -> None:
        self.ours = ours
        self.python = PEER_VENV / "bin" / "python"
        if not self.python.exists():
            print("  installing django-ogc-sensorthings into var/bench/peer-venv (first use) …")
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
            subprocess.run([str(self.python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
        self.version = subprocess.run(
            [
                str(self.python),
                "-c",
                "import importlib.metadata as m; print(m.version('django-ogc-sensorthings'), m.version('django'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.folder = BENCH / "peer"
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, body in (
            ("peer_settings.py", PEER_SETTINGS),
            ("peer_urls.py", PEER_URLS),
            ("peer_asgi.py", PEER_ASGI),
        ):
            (self.folder / name).write_text(body, encoding="utf-8")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        url = make_url(ours.settings.database_url)
        if url.get_backend_name() == "sqlite":
            self.database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BENCH / "peer.db")}
            self.sqlite = str(BENCH / "peer.db")
        else:  # the same PostgreSQL database: its tables are prefixed sensorthings_v1_1_…
            self.database = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": url.database,
                "USER": url.username,
                "PASSWORD": url.password or "",
                "HOST": url.host,
                "PORT": str(url.port or 5432),
            }
            self.sqlite = ""
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SMARTCITY_", "DJANGO_"))},
            "PYTHONPATH": str(self.folder),
            "DJANGO_SETTINGS_MODULE": "peer_settings",
            "PEER_DATABASE": json.dumps(self.database),
            "PEER_SERVICE_URL": f"{self.base}/sensorthings",
        }
        subprocess.run(
            [str(self.python), "-m", "django", "migrate", "-v", "0"], env=self.env, cwd=self.folder, check=True
        )
        self.log = (self.folder / "server.log").open("ab")  # its tracebacks, kept out of the figures
        self.process = subprocess.Popen(
            [
                str(self.python),
                "-m",
                "uvicorn",
                "peer_asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=self.folder,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http(f"{self.base}{PEER_PREFIX}", self.process)
        print(
            f"  peer: django-ogc-sensorthings {self.version[0]} on Django {self.version[1]}, uvicorn, one worker, "
            f"{'SQLite var/bench/peer.db' if self.sqlite else 'the same PostgreSQL database'}"
        )

    def stop(self) -> None:
        stop(self.process)
        self.log.close()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base + PEER_PREFIX, timeout=600)

    def make_stations(self, prefix: str, things: int, per_thing: int) -> list[str]:
        ids: list[str] = []
        with self.client() as client:
            for t in range(things):
                response = client.post("/Things", json=station(f"{prefix} {t}", per_thing))
                if response.status_code != 201:
                    raise RuntimeError(f"peer refused a Thing: {response.status_code} {response.text[:300]}")
                path = response.headers["location"].split("/v1.1", 1)[1]
                streams = client.get(f"{path}/Datastreams", params={"$top": "1000"}).json()["value"]
                ids += sorted(d["@iot.id"] for d in streams)
        return ids

    def prime(self, datastreams: list[str], moment: datetime) -> None:
        body = [
            {
                "Datastream": {"@iot.id": d},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[iso(moment), 0.0]],
            }
            for d in datastreams
        ]
        with self.client() as client:
            response = client.post("/CreateObservations", json=body)
            response.raise_for_status()
            if "error" in response.json():
                raise RuntimeError("peer did not store the priming observations")

    def ingest(self, size: int, args: argparse.Namespace, end: datetime, stamp: str) -> float | None:
        streams = self.make_stations(f"bench-ingest {stamp} b{size}", args.ingest_datastreams, 1)
        self.prime(streams, end - SPACING * (args.observations + 10))
        bodies, _ = batch_bodies(streams, args.observations, size, end, seed=size)
        seconds, _, errors = post_batches(self.base, f"{PEER_PREFIX}/CreateObservations", bodies, args.http_clients)
        if errors:
            print(f"  peer answered 'error' for {errors:,} rows")
        return (args.observations - errors) / seconds

    def sql(self) -> Any:
        """A DB-API connection to the peer's database (for loading its table)."""
        if self.sqlite:
            import sqlite3

            return sqlite3.connect(self.sqlite, isolation_level=None)
        import psycopg

        return psycopg.connect(self.ours.settings.database_url.replace("postgresql+psycopg", "postgresql"))

    def load(self, table: Table) -> list[str]:
        """The same series as ours (datastreams, times and values) in the peer's own table."""
        prefix = f"{Table.PREFIX} rows={table.per_stream}"
        assert table.end is not None
        # what an earlier run loaded, for the same series of ours (the marker names its datastreams)
        marker = BENCH / f"peer-table-{zlib.crc32(json.dumps(self.database, sort_keys=True).encode()):08x}.json"
        wanted = {"end": iso(table.end), "per_stream": table.per_stream, "count": len(table.streams)}
        if marker.exists():
            saved = json.loads(marker.read_text(encoding="utf-8"))
            existing = saved.get("streams", [])
            if {k: saved.get(k) for k in wanted} == wanted and self._stored(existing) == table.per_stream * len(
                existing
            ):
                print("  peer: reusing its table from an earlier run")
                return existing
        streams = self.make_stations(prefix, -(-len(table.streams) // 10), 10)[: len(table.streams)]
        self.prime(streams, table.end - SPACING * (table.per_stream - 1))
        start = time.perf_counter()
        connection = self.sql()
        try:
            cursor = connection.cursor()
            if self.sqlite:
                keys = [uuid.UUID(stream).hex for stream in streams]
                foi = dict(
                    cursor.execute(
                        f"SELECT datastream_id, feature_of_interest_id FROM {self.OBSERVATIONS} "
                        f"WHERE datastream_id IN ({','.join('?' * len(keys))})",
                        keys,
                    ).fetchall()
                )
                times = [t.strftime("%Y-%m-%d %H:%M:%S") for t in series_times(table.end, table.per_stream)][1:]
                for n, stream in enumerate(streams):
                    key = uuid.UUID(stream).hex
                    rows = [
                        (uuid.uuid4().hex, t, t, 3.0 + ((k * 7919 + n) % 1000) / 1000, key, foi[key])
                        for k, t in enumerate(times)
                    ]
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.executemany(
                        f"INSERT INTO {self.OBSERVATIONS} (id, phenomenon_time_begin, result_time, result, "
                        "datastream_id, feature_of_interest_id) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    cursor.execute("COMMIT")
                cursor.execute(f"ANALYZE {self.OBSERVATIONS}")
            else:
                cursor.execute(
                    f"INSERT INTO {self.OBSERVATIONS} (id, phenomenon_time_begin, result_time, result, datastream_id, "
                    "feature_of_interest_id) SELECT gen_random_uuid(), t, t, "
                    "3.0 + ((k * 7919 + d.n) %% 1000) / 1000.0, "
                    "d.id, o.feature_of_interest_id FROM unnest(CAST(%s AS uuid[])) WITH ORDINALITY AS d(id, n) "
                    f"JOIN {self.OBSERVATIONS} o ON o.datastream_id = d.id, generate_series(0, %s) AS k, "
                    "LATERAL (SELECT CAST(%s AS timestamptz) - make_interval(secs => 10 * k) AS t) AS x",
                    (streams, table.per_stream - 2, table.end),
                )
                connection.commit()
                connection.autocommit = True
                cursor.execute(f"VACUUM ANALYZE {self.OBSERVATIONS}")
        finally:
            connection.close()
        marker.write_text(json.dumps({**wanted, "streams": streams}), encoding="utf-8")
        row(
            "peer: bulk load of its table",
            f"{table.per_stream * len(streams):,} rows in {time.perf_counter() - start:.0f} s",
            "the same series as ours",
        )
        return streams

    def _stored(self, streams: list[str]) -> int:
        connection = self.sql()
        try:
            cursor = connection.cursor()
            if self.sqlite:
                marks = ",".join("?" * len(streams))
                cursor.execute(
                    f"SELECT count(*) FROM {self.OBSERVATIONS} WHERE datastream_id IN ({marks})",
                    [uuid.UUID(s).hex for s in streams],
                )
            else:
                cursor.execute(f"SELECT count(*) FROM {self.OBSERVATIONS} WHERE datastream_id = ANY(%s)", (streams,))
            return int(cursor.fetchone()[0])
        finally:
            connection.close()

    def query(
        self, table: Table, picks: list[int], args: argparse.Namespace, ours_ms: float, ours_array: float
    ) -> None:
        streams = self.load(table)
        theirs = [streams[table.streams.index(p)] for p in picks[: args.peer_query_runs]]
        first, last = table.window()
        window = f"phenomenonTime ge {iso(first)} and phenomenonTime lt {iso(last)}"
        params = {"$filter": window, "$top": "10000", "$orderby": "phenomenonTime"}
        paths = [f"/Datastreams('{d}')/Observations" for d in theirs]
        with self.client() as client:
            probe = client.get(paths[0], params=params)
            note = ""
            if probe.status_code != 200:
                note = (
                    f"with $orderby=phenomenonTime it answers {probe.status_code} {probe.text[:60]!r}; "
                    "timed without $orderby (its default order)"
                )
                del params["$orderby"]
            plain, wrong = time_queries(client, paths, params, 8640, count_json)
            array, wrong_array = time_queries(
                client, paths, {**params, "$resultFormat": "dataArray"}, 8640, count_array
            )
        theirs_ms, theirs_array = statistics.median(plain), statistics.median(array)
        row(
            "  peer django-ogc-sensorthings, same query",
            f"p50 {theirs_ms:.1f} ms, p95 {percentile(plain, 0.95):.1f} ms",
            f"ours {theirs_ms / ours_ms:.1f}× faster; {len(theirs) - wrong}/{len(theirs)} had 8,640. {note}",
        )
        row(
            "  peer, $resultFormat=dataArray",
            f"p50 {theirs_array:.1f} ms, p95 {percentile(array, 0.95):.1f} ms",
            f"ours {theirs_array / ours_array:.1f}× faster; {len(theirs) - wrong_array}/{len(theirs)} had 8,640",
        )


# ---------------------------------------------------------------- 5. profile


def profile_ingest(ours: Ours, args: argparse.Namespace, stamp: str) -> None:
    """cProfile of one CreateObservations request's work, in-process: what the HTTP handler does after
    reading the body (parse, principal, service, commit), with the reactions the app registers (alerts)."""
    import smartcity.app  # noqa: F401 - the app's modules: grants (sensing.ingest) and in-transaction reactions
    from smartcity.security.models import User
    from smartcity.sensing import api, ingest

    size = max(args.batch_sizes)
    print(f"\nProfile: one CreateObservations of {size:,} rows, in-process (cProfile)")
    streams = ours.make_stations(f"bench-profile {stamp}", args.ingest_datastreams, 1)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ours.prime(streams, end - SPACING * (size + 10))
    bodies, _ = batch_bodies(streams, size, size, end, seed=7)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    with ours.database.session(actor=DEVICE) as s:
        user = s.scalar(select(User).where(User.username == DEVICE))
        principal = security.principal_for(s, user, via="apikey")  # type: ignore[arg-type]
        with ingest.cycle_collection_paused():  # as the API does
            result = sensing.create_observations(s, principal, api._parse(bodies[0]), "http://bench/sta/v1.1")
    profiler.disable()
    seconds = time.perf_counter() - start
    print(f"  {result.stored:,} stored in {seconds * 1000:.0f} ms under the profiler = {size / seconds:,.0f} obs/s")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"  {'function':<70} {'own':>7} {'share':>6} {'with callees':>12}")
    ranked = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, own, cumulative, _) in ranked[: args.profile_top]:
        where = f"{Path(filename).name}:{line} {name}" if line else name
        print(f"  {where[:70]:<70} {own * 1000:>5.0f}ms {own / total:>6.1%} {cumulative * 1000:>10.0f}ms  ×{calls:,}")
    print("  by step (time with callees):")
    steps = [
        ("parse the body (orjson)", "api.py", ("_parse",)),
        ("_batch_datastreams (reads the Datastreams)", "service.py", ("_batch_datastreams",)),
        ("check_device_may_write", "service.py", ("check_device_may_write",)),
        ("Reader.read (per-row checks and columns)", "ingest.py", ("read",)),
        ("  of which phenomenonTime (once per distinct text)", "ingest.py", ("moment",)),
        ("INSERT … ON CONFLICT DO NOTHING", "ingest.py", ("_insert_sqlite", "_insert_postgresql")),
        ("_record (extents, audit record, event)", "ingest.py", ("_record",)),
        ("  of which the alerts' reaction to the event", "evaluation.py", ("_on_observations",)),
        ("commit", "session.py", ("commit",)),
    ]
    for label, filename, names in steps:
        cumulative = max(
            (v[3] for (f, _, n), v in stats.stats.items() if n in names and f.endswith(filename)),  # type: ignore[attr-defined]
            default=0.0,
        )
        print(f"    {label:<48} {cumulative * 1000:>7.0f} ms  {cumulative / seconds:>6.1%}")
    ours.forget(streams)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{BENCH}/sensing.db")
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--observations", type=int, default=500_000, help="rows sent per batch size")
    parser.add_argument("--batch-sizes", default="5000,10000,50000", help="rows per CreateObservations request")
    parser.add_argument("--ingest-datastreams", type=int, default=10, help="datastreams in each request")
    parser.add_argument("--http-clients", type=int, default=1, help="concurrent HTTP connections for ingest")
    parser.add_argument("--mqtt-messages", type=int, default=50_000)
    parser.add_argument("--mqtt-clients", type=int, default=4, help="device connections publishing at once")
    parser.add_argument(
        "--mqtt-processes",
        type=int,
        default=4,
        help="publisher processes the device connections are dealt over (0: threads of the bench process)",
    )
    parser.add_argument(
        "--mqtt-publisher",
        choices=("raw", "paho"),
        default="raw",
        help="how devices publish: MQTT 5 packets encoded beforehand (lean) or paho-mqtt clients",
    )
    parser.add_argument("--mqtt-datastreams", type=int, default=20)
    parser.add_argument("--mqtt-inflight", type=int, default=1000, help="a publisher's unacknowledged QoS 1 messages")
    parser.add_argument("--mqtt-stall", type=float, default=15.0, help="seconds without new rows before giving up")
    parser.add_argument(
        "--mqtt-backlog",
        type=int,
        default=50_000,
        help="messages queued at the (tuned) broker while the bridge is down, then stored: the bridge's own pace "
        "(0: skip)",
    )
    parser.add_argument(
        "--mqtt-broker",
        choices=("default", "tuned", "both"),
        default="both",
        help="Mosquitto's queue limits: as the tests (default) and/or lifted (tuned)",
    )
    parser.add_argument("--poll-ms", type=int, default=10, help="how often the MQTT poller reads new rows")
    parser.add_argument("--table-rows", type=int, default=10_000_000)
    parser.add_argument("--table-datastreams", type=int, default=300)
    parser.add_argument(
        "--table-layout",
        choices=("series", "interleaved"),
        default="series",
        help="load the table one datastream at a time, or tick by tick across them as live feeds write it "
        "(use a --database-url of its own: the table is reused by name)",
    )
    parser.add_argument("--query-runs", type=int, default=50)
    parser.add_argument("--peer-query-runs", type=int, default=10, help="the peer's query is slow: fewer runs")
    parser.add_argument("--peer", action="store_true", help="also drive django-ogc-sensorthings (var/bench/peer-venv)")
    parser.add_argument("--profile", action="store_true", help="cProfile one CreateObservations in-process")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--py-spy",
        help="path of a py-spy binary: sample the server during the largest ingest batch size and the query "
        "(pip install py-spy into a venv of its own, e.g. var/bench/tools-venv)",
    )
    args = parser.parse_args()
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    only = {w.strip() for w in args.only.split(",") if w.strip()}
    if only - set(WORKLOADS):
        parser.error(f"--only takes {', '.join(WORKLOADS)}")
    if args.table_rows // args.table_datastreams < 8640:
        parser.error("--table-rows / --table-datastreams must leave at least 8,640 observations (24 h) per datastream")
    BENCH.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%H%M%S")
    ours = Ours(args.database_url)
    print(
        f"Sensing benchmark on {ours.settings.database_url.split('@')[-1]} ({ours.dialect}), "
        f"{os.cpu_count()} cores, run {stamp}"
    )
    if CODE == ROOT:
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        changed = subprocess.run(
            ["git", "status", "--porcelain", "smartcity"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = (
            f", with {len(changed.stdout.splitlines())} uncommitted files under smartcity/" if changed.stdout else ""
        )
        print(f"  code: the working tree at commit {revision.stdout.strip() or '?'}{dirty}")
    else:
        note = CODE / "REVISION"
        print(f"  code: {CODE}" + (f" ({note.read_text().strip()})" if note.exists() else ""))
    ours.start()
    peer = None
    try:
        if args.peer:
            peer = Peer(ours)
        if "ingest" in only:
            with stopwatch("HTTP ingest"):
                bench_ingest(ours, args, stamp, peer)
        if "mqtt" in only:
            for tuned in {"default": [False], "tuned": [True], "both": [False, True]}[args.mqtt_broker]:
                with stopwatch("MQTT ingest"):
                    bench_mqtt(ours, args, stamp, tuned)
        if "query" in only:
            with stopwatch("24 h query"):
                bench_query(ours, args, peer)
        if args.profile:
            profile_ingest(ours, args, stamp)
    finally:
        if peer is not None:
            peer.stop()
        ours.stop()
        ours.database.dispose()


if __name__ == "__main__":
    main()
