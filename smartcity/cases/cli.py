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
