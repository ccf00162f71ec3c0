"""`smartcity cases …`: the class catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smartcity.core.db import Database
from smartcity.core.errors import Problem

app = typer.Typer(help="Urban grid management: the component and event class catalogue.", no_args_is_help=True)


def load_file(
    database: Database, path: Path, standard_ref: str | None, version: str | None, actor: str = "cli"
) -> None:
    """Import a JSON catalogue file ({standard_ref, version, classes: [...]}) or a CSV of classes."""
    from smartcity.cases import catalogue

    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".csv":
            classes, ref, ver = catalogue.parse_csv(text), standard_ref, version
        else:
            document = json.loads(text)
            classes = document.get("classes", [])
            ref, ver = standard_ref or document.get("standard_ref"), version or document.get("version")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        typer.secho(f"Cannot read {path}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except Problem as problem:
        typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
        raise typer.Exit(1) from problem
    if not ref or not ver:
        typer.secho("Give --standard-ref and --version (a CSV file cannot carry them).", fg="red", err=True)
        raise typer.Exit(2)
    try:
        with database.session(actor=actor) as session:
            report = catalogue.import_catalogue(session, classes, standard_ref=ref, version=ver)
    except Problem as problem:
        typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
        for error in problem.errors:
            typer.secho(f"  {error['message']}", fg="red", err=True)
        raise typer.Exit(1) from problem
    typer.echo(
        f"Catalogue {ref} {ver}: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged."
    )


@app.command("import-catalogue")
def import_catalogue_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON catalogue or CSV of classes")],
    standard_ref: Annotated[str | None, typer.Option(help="which catalogue (required for CSV)")] = None,
    version: Annotated[str | None, typer.Option(help="its version (required for CSV)")] = None,
) -> None:
    """Import a city's class catalogue; all or nothing, and importing it again changes nothing.

    CSV columns: kind, code, name, name_en, registration_condition, closing_condition, time_limit,
    time_limit_unit (working_hours or working_days), default_department, professional_grid."""
    from smartcity.cli import _database

    load_file(_database(), file, standard_ref, version)


calendar_app = typer.Typer(
    help="The working calendar for case time limits: holidays and make-up days.", no_args_is_help=True
)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("import")
def calendar_import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: date,working,name")],
) -> None:
    """Import holidays (working=0) and make-up working days (working=1), e.g. from the State Council's
    annual notice. Dates already present are updated; importing again changes nothing."""
    import csv
    from datetime import date

    from smartcity.cases import calendar
    from smartcity.cli import _database

    rows, errors = [], []
    with file.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                working = {"1": True, "0": False, "true": True, "false": False}[str(row.get("working")).lower()]
                rows.append((date.fromisoformat(str(row.get("date"))), working, str(row.get("name") or "")[:60]))
            except (KeyError, ValueError):
                errors.append(f"line {number}: needs date (YYYY-MM-DD), working (1 or 0) and name")
    if errors or not rows:
        for error in errors or ["the file has no rows"]:
            typer.secho(error, fg="red", err=True)
        raise typer.Exit(1)
    with _database().session(actor="cli") as session:
        added, changed = calendar.set_overrides(session, rows)
    typer.echo(f"Calendar: {added} dates added, {changed} changed, {len(rows) - added - changed} unchanged.")


@calendar_app.command("deadline")
def calendar_deadline_command(
    start: Annotated[str, typer.Argument(help="start time, e.g. 2026-10-09T16:00+08:00")],
    amount: Annotated[int, typer.Argument(min=1, help="how many working hours or days")],
    unit: Annotated[str, typer.Option(help="working_hours or working_days")] = "working_days",
) -> None:
    """Print the deadline a time limit gives from START, on the configured working calendar."""
    from datetime import datetime

    from smartcity.cases import calendar
    from smartcity.cli import _database, _settings

    settings = _settings()
    try:
        moment = datetime.fromisoformat(start)
    except ValueError as exc:
        typer.secho(f"Cannot read the time {start!r}: use ISO 8601 with an offset.", fg="red", err=True)
        raise typer.Exit(2) from exc
    if moment.tzinfo is None:
        typer.secho("Give the start with its offset, e.g. +08:00.", fg="red", err=True)
        raise typer.Exit(2)
    with _database().session() as session:
        try:
            due = calendar.load(session, settings.working_hours, settings.timezone).deadline(moment, amount, unit)
        except Problem as problem:
            typer.secho(problem.detail, fg="red", err=True)
            raise typer.Exit(2) from problem
    from zoneinfo import ZoneInfo

    typer.echo(due.astimezone(ZoneInfo(settings.timezone)).isoformat(timespec="minutes"))


components_app = typer.Typer(help="The component inventory (部件): import and count.", no_args_is_help=True)
app.add_typer(components_app, name="components")


@components_app.command("import")
def components_import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON points or CSV (lon, lat)")],
) -> None:
    """Import components with their 16-digit IDs; all or nothing, and importing again changes nothing.

    Columns/properties: code, class_code, name, lon, lat (CSV; GeoJSON uses the point), competent_department,
    owner_department, maintenance_department, state, initial_date, changed_date, data_source, note."""
    from smartcity.cases import components
    from smartcity.cli import _database

    try:
        text = file.read_text(encoding="utf-8")
        rows = (
            components.rows_from_csv(text)
            if file.suffix.lower() == ".csv"
            else components.rows_from_geojson(json.loads(text))
        )
        with _database().session(actor="cli") as session:
            report = components.import_components(session, rows, source=file.name)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.secho(f"Cannot read {file}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except Problem as problem:
        typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
        for error in problem.errors[:50]:
            typer.secho(f"  {error['message']}", fg="red", err=True)
        raise typer.Exit(1) from problem
    typer.echo(f"Components: {report.added} added, {report.updated} updated, {report.unchanged} unchanged.")
