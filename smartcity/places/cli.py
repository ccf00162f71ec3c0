"""`smartcity places …`: import divisions, subdivide synthetically, generate unit grids."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from smartcity.core.db import Database
from smartcity.core.errors import Problem

app = typer.Typer(help="Places: administrative divisions and unit grids.", no_args_is_help=True)
grid_app = typer.Typer(help="Unit grids (万米单元网格): generate them for communities.", no_args_is_help=True)
app.add_typer(grid_app, name="grid")
PACKAGED_BOUNDARIES = Path(__file__).resolve().parent / "data" / "shanghai-admin-boundaries.geojson"
BATCH = 25  # communities per transaction: an interrupted run loses at most this much work


def _database() -> Database:
    from smartcity.cli import _database as shared

    return shared()


def _fail(problem: Problem) -> typer.Exit:
    typer.secho(f"Nothing was imported: {problem.detail}", fg="red", err=True)
    for error in problem.errors:
        typer.secho(f"  {error['field']}: {error['message']}", fg="red", err=True)
    return typer.Exit(1)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.secho(f"Cannot read {path}: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


def import_file(database: Database, path: Path, crs: str, source: str, actor: str = "cli") -> None:
    """Import a GeoJSON file of divisions and say what happened (also used by the demo)."""
    from smartcity.places import service

    collection = _read_json(path)
    try:
        with database.session(actor=actor) as session:
            report = service.import_divisions(session, collection, crs=crs, source=source)
    except Problem as problem:
        raise _fail(problem) from problem
    if report.converted:
        typer.echo("Coordinates converted from GCJ-02 to WGS-84.")
    typer.echo(
        f"Divisions: {len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged."
    )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON FeatureCollection")],
    crs: Annotated[
        str,
        typer.Option(
            help="coordinate system of the file: wgs84, or gcj02 (Amap and most Chinese web maps; converted to WGS-84)"
        ),
    ] = "wgs84",
    source: Annotated[str | None, typer.Option(help="where the data comes from (default: the file name)")] = None,
) -> None:
    """Import divisions (city, districts, streets, communities) with their codes; all or nothing.

    Each feature needs properties `code` (or `adcode`) and `name`; `name_en` is optional. Importing the
    same file again changes nothing."""
    import_file(_database(), file, crs, source or file.name)


def subdivide(database: Database, districts: Iterable[str] | None = None, actor: str = "cli") -> tuple[int, int]:
    from smartcity.places import generate, service

    with database.session(actor=actor) as session:
        codes = list(districts or [d.code for d in service.list_divisions(session, level="district")])
        streets = communities = 0
        for code in codes:
            made = generate.subdivide_synthetic(session, code)
            streets, communities = streets + made.streets, communities + made.communities
    return streets, communities


@app.command("subdivide")
def subdivide_command(
    district: Annotated[list[str] | None, typer.Option(help="district code; repeat for several (default: all)")] = None,
) -> None:
    """Cut districts without streets into synthetic streets and communities (clearly marked synthetic)."""
    try:
        streets, communities = subdivide(_database(), district)
    except Problem as problem:
        raise _fail(problem) from problem
    typer.echo(f"Synthetic subdivision: {streets} streets and {communities} communities added.")


def generate_grids(database: Database, district: str | None, replace: bool, actor: str = "cli") -> int:
    """Generate grids community by community with a progress bar, committing every BATCH communities."""
    from smartcity.places import generate

    with database.session() as session:
        communities = generate.communities_of(session, district)
    if not communities:
        typer.secho("No communities to cut: import or subdivide divisions first.", fg="yellow", err=True)
        return 0
    written = 0
    with typer.progressbar(length=len(communities), label="Generating unit grids") as bar:
        for start in range(0, len(communities), BATCH):
            batch = communities[start : start + BATCH]
            with database.session(actor=actor) as session:
                written += sum(generate.generate_grids(session, code, replace=replace) for code in batch)
            bar.update(len(batch))
    return written


@grid_app.command("generate")
def grid_generate_command(
    district: Annotated[str | None, typer.Option(help="only this district (GB/T 2260 code)")] = None,
    replace: Annotated[bool, typer.Option(help="regenerate communities that have grids already")] = False,
) -> None:
    """Cut communities into ≈100 m × 100 m unit grids with 15-digit codes.

    Communities that already have grids are skipped, so an interrupted run can be started again."""
    try:
        written = generate_grids(_database(), district, replace)
    except Problem as problem:
        raise _fail(problem) from problem
    typer.echo(f"Unit grids written: {written}.")


@grid_app.command("import")
def grid_import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON FeatureCollection of grids")],
    crs: Annotated[str, typer.Option(help="wgs84, or gcj02 (converted to WGS-84)")] = "wgs84",
) -> None:
    """Import real unit grids; each feature needs its 15-digit `code`. All or nothing.

    The communities in the file get exactly the file's grids; importing the same file again changes nothing."""
    from smartcity.places import grid_import

    collection = _read_json(file)
    try:
        with _database().session(actor="cli") as session:
            report = grid_import.import_grids(session, collection, crs=crs)
    except Problem as problem:
        raise _fail(problem) from problem
    if report.converted:
        typer.echo("Coordinates converted from GCJ-02 to WGS-84.")
    typer.echo(
        f"Unit grids: {report.grids_written} written in {len(report.communities_replaced)} communities; "
        f"{len(report.communities_unchanged)} communities unchanged."
    )
