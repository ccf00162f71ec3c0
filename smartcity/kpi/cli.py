"""`smartcity kpi …`: check the indicator catalogue, and keep the computed indicators' values of a year as
snapshots so that year's report reads the same later."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Plan indicators: the catalogue and yearly snapshots of the computed ones.", no_args_is_help=True
)


@app.command("snapshot")
def snapshot(
    year: Annotated[int | None, typer.Option(help="the year (default: the current one)")] = None,
) -> None:
    """Store the computed indicators' values of YEAR as versions (origin "computed"); run it at the turn of the
    year, e.g. from cron on 31 December. A value that cannot be computed is reported and skipped."""
    from smartcity.cli import _database
    from smartcity.core.errors import Problem
    from smartcity.kpi import computed, service

    year = year or computed.window().year
    database = _database()
    try:
        with database.session(actor="kpi-snapshot") as session:
            taken = service.snapshot(session, year)
    except Problem as problem:
        typer.secho(problem.detail, fg="red", err=True)
        raise typer.Exit(1) from problem
    for item in taken:
        if item.row is None:
            typer.echo(f"  {item.code}: skipped — {item.reason}")
        else:
            typer.echo(f"  {item.code}: {item.row.value:g} (version {item.row.version})")
    stored = sum(1 for item in taken if item.row is not None)
    typer.echo(f"{year}: {stored} of {len(taken)} computed indicators kept.")


@app.command("check")
def check() -> None:
    """Validate the indicator catalogue (data/indicators.json) and list its indicators; exit 1 naming every
    problem."""
    from smartcity.kpi import catalogue, computed

    try:
        found = catalogue.load()
    except catalogue.CatalogueError as exc:
        for problem in exc.problems:
            typer.secho(problem, fg="red", err=True)
        raise typer.Exit(1) from exc
    unknown = [i.code for i in found.indicators.values() if i.computed and i.computed not in computed.SOURCES]
    if unknown:
        typer.secho(f"computed sources not registered: {', '.join(unknown)}", fg="red", err=True)
        raise typer.Exit(1)
    for item in found.indicators.values():
        typer.echo(f"{item.code:34} {item.section:6} {item.source:32} {item.target_text}")
    typer.echo(f"{len(found.indicators)} indicators, catalogue version {found.version}.")
