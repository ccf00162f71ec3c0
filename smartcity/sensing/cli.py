"""`smartcity sensing …`: device bindings, the broker's ACL, the MQTT ingest bridge; and `smartcity simulate`,
the demo city's sensor feeds."""

from __future__ import annotations

import signal
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from smartcity.core.errors import Problem

app = typer.Typer(
    help="The sensing hub: devices, the MQTT broker's access list, the MQTT bridge.", no_args_is_help=True
)


@app.command("bind")
def bind(
    username: Annotated[str, typer.Argument(help="the device account")],
    thing_id: Annotated[int, typer.Argument(help="@iot.id of the Thing it may write")],
) -> None:
    """Let a device account write the observations of a Thing's datastreams (HTTP and, after
    `broker-acl`, MQTT)."""
    from smartcity.cli import _database
    from smartcity.sensing import service

    try:
        with _database().session(actor="cli") as session:
            service.bind_device(session, thing_id, username)
    except Problem as problem:
        typer.secho(problem.detail, fg="red", err=True)
        raise typer.Exit(1) from problem
    typer.echo(f"{username} may now write Thing {thing_id}'s observations.")


@app.command("broker-acl")
def broker_acl(
    file: Annotated[Path, typer.Argument(help="the Mosquitto acl_file to write")],
    platform_user: Annotated[str, typer.Option(help="the broker account the bridge uses")] = "platform",
) -> None:
    """Write the broker's access list from the device bindings: each device may publish only to its own
    Things' datastreams. Reload the broker afterwards (systemctl reload mosquitto, or SIGHUP)."""
    from smartcity.cli import _database
    from smartcity.sensing.mqtt import acl_file

    topics = acl_file(_database(), file, platform_user)
    typer.echo(f"Wrote {file}: {topics} device topics. Reload the broker to apply it.")


@app.command("maintain")
def maintain() -> None:
    """Make the observations' monthly partitions ahead (PostgreSQL) and apply the retention setting
    (SMARTCITY_STA_RETENTION_DAYS). Run it daily from cron or a timer; the MQTT bridge also runs it hourly."""
    from smartcity.cli import _database, _settings
    from smartcity.sensing import partitions

    result = partitions.maintain(_database(), _settings().sta_retention_days)
    typer.echo(f"Partitions made: {', '.join(result.made) or 'none needed'}.")
    if result.cutoff is None:
        typer.echo("Retention: off (SMARTCITY_STA_RETENTION_DAYS=0), nothing removed.")
    else:
        typer.echo(
            f"Retention: before {result.cutoff:%Y-%m-%d %H:%M} UTC — dropped {len(result.dropped)} partitions "
            f"({', '.join(result.dropped) or '-'}), deleted {result.deleted_rows} rows."
        )


@app.command("rebuild-hours")
def rebuild_hours() -> None:
    """Make the hours' revisions again from the observations (sta_observation_hour). Run it after writing
    observations with SQL by hand, outside the platform: chart reads keep rendered hours only while their
    revision stands (docs/sensing.md)."""
    from smartcity.cli import _database
    from smartcity.core import audit
    from smartcity.sensing import hours

    with _database().session(actor="cli") as session:
        made = hours.rebuild(session.connection())
        audit.append(session, "sensing.hours_rebuilt", hours.TABLE, None, after={"hours": made})
    typer.echo(f"{made} hours of observations have a new revision; app processes render them again on next read.")


@app.command("mqtt-bridge")
def mqtt_bridge() -> None:
    """Run the MQTT ingest bridge (SMARTCITY_MQTT_URL): store devices' observations, acknowledging each
    message only once it is in the database, and publish notifications. Stop with Ctrl+C."""
    from smartcity.cli import _database, _settings
    from smartcity.sensing.mqtt import Bridge, Notifier

    settings = _settings()
    if not settings.mqtt_url:
        typer.secho("Set SMARTCITY_MQTT_URL (mqtt://user:password@host:1883) first.", fg="red", err=True)
        raise typer.Exit(2)
    bridge = Bridge(settings, _database())
    notifier = Notifier(settings, client=bridge.client)
    try:
        bridge.start()
        notifier.start()
    except (OSError, ConnectionError) as exc:
        typer.secho(f"Cannot reach the broker: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"MQTT bridge connected to {bridge.broker.host}:{bridge.broker.port} (stop with Ctrl+C)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    minutes = 0
    _maintain_quietly(settings.sta_retention_days)
    try:
        while not done.wait(60):
            typer.echo(f"stored {bridge.counters.stored}, rejected {bridge.counters.rejected}")
            minutes += 1
            if minutes % 60 == 0:
                _maintain_quietly(settings.sta_retention_days)
    except KeyboardInterrupt:
        pass
    notifier.stop()
    bridge.stop()


def _maintain_quietly(retention_days: int) -> None:
    """Hourly upkeep from the bridge; a failure is logged and the bridge goes on ingesting."""
    import logging

    from smartcity.cli import _database
    from smartcity.sensing import partitions

    database = _database()
    try:
        partitions.maintain(database, retention_days)
    except Exception:
        logging.getLogger(__name__).exception("sensing maintenance failed; the bridge goes on")
    finally:
        database.dispose()


class Via(StrEnum):
    db = "db"
    http = "http"
    mqtt = "mqtt"


def simulate(
    via: Annotated[Via, typer.Option(help="write through the database, the SensorThings HTTP API or MQTT")] = Via.db,
    url: Annotated[
        str | None,
        typer.Option(
            help="the platform's base URL (http://host:8000): required for http; for mqtt, "
            "where the datastream ids are read (default: the database)"
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="SMARTCITY_SIMULATE_API_KEY", help="the device account's API key (sck_…), for http"),
    ] = None,
    mqtt_url: Annotated[
        str | None, typer.Option(help="the broker, mqtt://user:password@host:1883 (default SMARTCITY_MQTT_URL)")
    ] = None,
    interval: Annotated[int, typer.Option(min=1, help="seconds of simulated time per tick")] = 60,
    backfill: Annotated[float, typer.Option(min=0, help="first write the history of the last HOURS")] = 0,
    step: Annotated[int, typer.Option(min=60, help="seconds between back-filled readings")] = 300,
    once: Annotated[bool, typer.Option("--once", help="write one tick and exit")] = False,
    duration: Annotated[
        float | None, typer.Option(min=0, help="stop after SECONDS (default: run until Ctrl+C)")
    ] = None,
    seed: Annotated[int, typer.Option(help="the same seed gives the same readings")] = 2026,  # DEFAULT_SEED
) -> None:
    """Publish the demo city's sensor feeds — Suzhou River stations, rain gauges, feeder meters, hydrants,
    car parks and road detectors — live, one tick per INTERVAL, with daily patterns, noise, gaps and
    faults. Over http it sends CreateObservations batches as the demo device; over mqtt it publishes each
    reading with QoS 1. Exit 2: wrong key or configuration; exit 1: the platform or broker is unreachable."""
    from smartcity.sensing import simulate as sim

    try:
        sender, close = _sender(via, url, api_key, mqtt_url)
    except sim.FeedError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(exc.exit_code) from exc
    try:
        if backfill:
            sent = show_backfill(sender, backfill, step, seed, "Back-filling")
            typer.echo(f"History of {backfill:g} h: {sent} readings {_verb(via)}.")
        _run(sender, via, interval, once, duration, seed)
    except sim.FeedError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(exc.exit_code) from exc
    finally:
        close()


def _sender(via: Via, url: str | None, api_key: str | None, mqtt_url: str | None):  # type: ignore[no-untyped-def]
    """(sender, close) for the chosen way; FeedError when it cannot be set up."""
    from smartcity.cli import _database, _settings
    from smartcity.sensing import remote
    from smartcity.sensing import simulate as sim

    if via is Via.http:
        if not url or not api_key:
            raise sim.FeedError("--via http needs --url and the device's --api-key (or SMARTCITY_SIMULATE_API_KEY).", 2)
        http = remote.HttpSender(url, api_key)
        return http, http.close
    directory: Any
    if url:
        directory = remote.HttpSender(url, api_key)
    else:
        directory = sim.DatabaseSender(_database(), actor="simulate")
        _ensure_things(directory.database)
    if via is Via.db:
        return directory, lambda: None
    broker = mqtt_url or _settings().mqtt_url
    if not broker:
        raise sim.FeedError("--via mqtt needs --mqtt-url or SMARTCITY_MQTT_URL (mqtt://user:password@host:1883).", 2)
    mqtt = remote.MqttSender(broker, directory)
    return mqtt, mqtt.close


def _ensure_things(database: Any) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from smartcity.sensing import simulate as sim

    try:
        with database.session(actor="simulate") as session:
            added = sim.ensure_demo_things(session)
    except Problem as problem:
        raise sim.FeedError(f"{problem.detail} Run `smartcity demo` first.") from problem
    except SQLAlchemyError as exc:
        raise sim.FeedError(
            "The database is not ready: run `smartcity demo` (or `smartcity db upgrade`) first."
        ) from exc
    if added:
        typer.echo(f"Demo sensor stations: {added} added.")


def show_backfill(sender: Any, hours: float, step: int, seed: int, label: str) -> int:
    """Back-fill with a progress bar; returns the number of readings taken."""
    from smartcity.sensing import simulate as sim

    sent = 0
    with typer.progressbar(length=len(sim.backfill_times(hours, step)), label=label) as bar:
        for progress in sim.backfill_batches(sender, hours, step, seed=seed):
            sent += progress.sent
            bar.update(progress.ticks)
    return sent


def _verb(via: Via) -> str:
    return "published" if via is Via.mqtt else "stored"


def _run(sender: Any, via: Via, interval: int, once: bool, duration: float | None, seed: int) -> None:
    import time

    from smartcity.core.db import utcnow
    from smartcity.sensing import simulate as sim

    deadline = None if duration is None else time.monotonic() + duration
    if not once:
        typer.echo(f"Simulating the demo city every {interval} s (stop with Ctrl+C).")
    while True:
        now = utcnow()
        count = sim.tick(sender, interval, seed=seed, now=now)
        stamp = sim.floor_time(now.timestamp(), interval)
        typer.echo(f"{sim.iso_time(stamp)}  {count} readings {_verb(via)}")
        wait = interval - time.time() % interval
        if once or (deadline is not None and time.monotonic() + wait > deadline):
            return
        try:
            time.sleep(wait)
        except KeyboardInterrupt:
            return
