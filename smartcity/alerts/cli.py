"""`smartcity alerts …`: the schedule of the alarm rules (no-data rules, shelving expiry, escalation)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

app = typer.Typer(help="Alarm rules and alarms: the scheduled work.", no_args_is_help=True)


def run_once(database) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    """One turn of the schedule: no-data rules, shelving expiry and escalation, then the deliveries due."""
    from smartcity.alerts import alarms, dissemination, evaluation

    with database.session(actor="alerts-schedule") as session:
        transitions = evaluation.tick(session)
        done = alarms.housekeeping(session, database.settings)
    done |= dissemination.deliver_due(database)
    return len(transitions), done


@app.command("tick")
def tick() -> None:
    """Run the schedule once (for cron): raise no-data alarms, end expired shelving, escalate."""
    from smartcity.cli import _database

    changes, done = run_once(_database())
    typer.echo(
        f"{changes} no-data changes, {done['unshelved']} unshelved, {done['escalated']} escalated, "
        f"{done['delivered']} warnings delivered, {done['failed']} deliveries failed."
    )


@app.command("run")
def run(every: Annotated[int, typer.Option(help="seconds between turns", min=5)] = 30) -> None:
    """Run the schedule every N seconds until stopped (one per deployment, beside the web app)."""
    from smartcity.cli import _database

    database = _database()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    typer.echo(f"Alarm schedule running every {every} s (stop with Ctrl+C).")
    try:
        while not done.is_set():
            run_once(database)
            done.wait(every)
    except KeyboardInterrupt:
        pass
    database.dispose()
