"""`smartcity traffic …`: import road networks, attach road detectors, register car parks, and the 5-minute
traffic cycle (once for cron, or as a schedule)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Smart transport: road network, traffic index, parking.", no_args_is_help=True)


def run_once(database, demo: bool = False) -> str | None:  # type: ignore[no-untyped-def]
    """One turn of the schedule: when a cycle has ended and is not stored yet, compute it (in the demo, the
    synthetic probe cars drive it first, and the buses report every turn). Returns the cycle's end, or None
    when there was nothing to do."""
    from smartcity.core.db import utcnow
    from smartcity.traffic import demo as traffic_demo
    from smartcity.traffic import service

    now = utcnow()
    if demo:
        _demo_buses(database, now)
    end = service.cycle_end(now) - service.CYCLE
    with database.session(actor="traffic-schedule") as session:
        if not service.current_network(session).segments or service.cycle_times(session, end - service.CYCLE, end):
            return None
    if demo:
        with database.session(actor="demo-probes") as session:
            service.ingest_probes(session, traffic_demo.probe_points(session, end - service.CYCLE), now=now)
    with database.session(actor="traffic-schedule") as session:
        cycle = service.compute_cycle(session, now)
        return cycle.at.isoformat() if cycle else None


def _demo_buses(database, now) -> None:  # type: ignore[no-untyped-def]
    """The demo's buses report where they are, as an AVL system would (through the same ingest as real ones)."""
    from smartcity.core.errors import NotFound
    from smartcity.traffic import demo as traffic_demo
    from smartcity.traffic import transit

    with database.session(actor="demo-buses") as session:
        try:
            transit.ingest_vehicle_positions(session, traffic_demo.vehicle_report(session, now))
        except NotFound:
            return  # no feed in force


@app.command("import-gtfs")
def import_gtfs(
    path: Annotated[Path, typer.Argument(help="a GTFS static zip", exists=True, dir_okay=False)],
    name: Annotated[str, typer.Option(help="what the feed is (default: the file's name)")] = "",
) -> None:
    """Import a GTFS static feed and put it in force (all or nothing: every problem with its file and line)."""
    from smartcity.cli import _database
    from smartcity.core.errors import Problem
    from smartcity.traffic import transit

    database = _database()
    try:
        with database.session(actor="cli") as session:
            row = transit.import_feed(session, path.read_bytes(), name=name or path.name, imported_by="cli")
            summary = json.loads(row.summary)
    except Problem as problem:
        typer.echo(problem.detail, err=True)
        raise typer.Exit(1) from None
    typer.echo(", ".join(f"{count} {what}" for what, count in summary.items()) + ". The feed is in force.")


@app.command("import-network")
def import_network(
    path: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of LineStrings", exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="where the network comes from (kept with every segment)")] = "",
    replace: Annotated[bool, typer.Option(help="retire the segments the file leaves out")] = False,
) -> None:
    """Import road segments (all or nothing; every problem is listed), placed in districts and unit grids."""
    from smartcity.cli import _database
    from smartcity.core.errors import Problem
    from smartcity.traffic import service

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise typer.BadParameter(f"{path} is not readable JSON: {error}") from None
    database = _database()
    try:
        with database.session(actor="cli") as session:
            report = service.import_network(session, document, source=source or path.name, replace=replace)
    except Problem as problem:
        typer.echo(problem.detail, err=True)
        for error in problem.errors or []:
            typer.echo(f"  {error['field']}: {error['message']}", err=True)
        raise typer.Exit(1) from None
    typer.echo(", ".join(f"{count} {what}" for what, count in report.items()) + ".")


@app.command("link-detectors")
def link_detectors() -> None:
    """Attach the sensing hub's road detectors (datastreams measuring speed) to the segments they stand on."""
    from smartcity.cli import _database
    from smartcity.traffic import service

    with _database().session(actor="cli") as session:
        typer.echo(f"{service.link_detectors(session)} road detectors attached.")


@app.command("parking-sync")
def parking_sync() -> None:
    """Register the sensing hub's car-park stations (occupancy datastream and capacity) for parking guidance."""
    from smartcity.cli import _database
    from smartcity.traffic import parking

    with _database().session(actor="cli") as session:
        typer.echo(f"{parking.sync_from_sensing(session)} car parks registered.")


@app.command("cycle")
def cycle() -> None:
    """Compute the 5-minute cycle that ended last (for cron: run it every 5 minutes)."""
    from smartcity.cli import _database

    done = run_once(_database())
    typer.echo(f"Cycle ending {done} computed." if done else "Nothing to compute (no network, or already done).")


@app.command("run")
def run(
    every: Annotated[int, typer.Option(help="seconds between checks", min=5)] = 30,
    demo_probes: Annotated[bool, typer.Option(help="drive the demo city's synthetic probe cars and buses")] = False,
) -> None:
    """Compute each cycle as it ends, until stopped (one per deployment, beside the web app)."""
    from smartcity.cli import _database

    database = _database()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    typer.echo(f"Traffic schedule checking every {every} s (stop with Ctrl+C).")
    try:
        while not done.is_set():
            finished = run_once(database, demo_probes)
            if finished:
                typer.echo(f"Cycle ending {finished} computed.")
            done.wait(every)
    except KeyboardInterrupt:
        pass
    database.dispose()
