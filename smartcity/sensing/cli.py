"""`smartcity sensing …`: device bindings, the broker's ACL, and the MQTT ingest bridge."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

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
    bridge, notifier = Bridge(settings, _database()), Notifier(settings)
    try:
        bridge.start()
        notifier.start()
    except (OSError, ConnectionError) as exc:
        typer.secho(f"Cannot reach the broker: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"MQTT bridge connected to {bridge.broker.host}:{bridge.broker.port} (stop with Ctrl+C)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(60):
            typer.echo(f"stored {bridge.counters.stored}, rejected {bridge.counters.rejected}")
    except KeyboardInterrupt:
        pass
    notifier.stop()
    bridge.stop()
