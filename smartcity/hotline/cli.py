"""`smartcity hotline …`: the dispatch catalogue and the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from smartcity.core.db import Database
from smartcity.core.errors import Problem

app = typer.Typer(help="The 12345 citizen hotline: dispatch catalogue and knowledge base.", no_args_is_help=True)


def _rows(path: Path, key: str, parse_csv: Any) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".csv":
            return parse_csv(text)
        document = json.loads(text)
        rows = document.get(key, []) if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise ValueError(f"expected a list of {key}")
        return rows
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        typer.secho(f"Cannot read {path}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except Problem as problem:
        typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
        raise typer.Exit(1) from problem


def _refused(problem: Problem) -> typer.Exit:
    typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
    for error in problem.errors:
        typer.secho(f"  {error['field']}: {error['message']}", fg="red", err=True)
    return typer.Exit(1)


def load_matters(database: Database, path: Path, actor: str = "cli") -> None:
    from smartcity.hotline import catalogue

    rows = _rows(path, "matters", catalogue.parse_csv)
    try:
        with database.session(actor=actor) as session:
            report = catalogue.import_matters(session, rows)
    except Problem as problem:
        raise _refused(problem) from problem
    typer.echo(
        f"Dispatch catalogue: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged."
    )


def load_articles(database: Database, path: Path, actor: str = "cli", *, only_if_empty: bool = False) -> None:
    from sqlalchemy import func, select

    from smartcity.hotline import knowledge
    from smartcity.hotline.models import Article

    rows = _rows(path, "articles", knowledge.parse_csv)
    try:
        with database.session(actor=actor) as session:
            if only_if_empty and session.scalar(select(func.count()).select_from(Article)):
                typer.echo("Knowledge base: already filled, nothing added.")
                return
            added = knowledge.import_articles(session, actor, rows)
    except Problem as problem:
        raise _refused(problem) from problem
    typer.echo(f"Knowledge base: {added} articles added.")


@app.command("import-matters")
def import_matters_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON ({matters: [...]}) or CSV")],
) -> None:
    """Import the dispatch catalogue (派单目录); all or nothing, and importing it again changes nothing."""
    from smartcity.cli import _database

    load_matters(_database(), file)


@app.command("import-articles")
def import_articles_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON ({articles: [...]}) or CSV")],
) -> None:
    """Add knowledge-base articles (title, body, keywords, topic, department_code, matter_code); all or
    nothing: any invalid row refuses the file."""
    from smartcity.cli import _database

    load_articles(_database(), file)
