"""The `smartcity` command: demo is idempotent, accounts can be added, help explains every command."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from smartcity.cli import app as cli
from smartcity.config import get_settings
from smartcity.places.models import Division, UnitGrid
from smartcity.security.models import Department, User


@pytest.fixture
def run(settings, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Invoke the CLI against the test database, from a scratch directory (demo writes var/ there)."""
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMARTCITY_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("SMARTCITY_DEMO_GRIDS", "310101")  # all of Shanghai takes a minute: one district here
    monkeypatch.setenv("SMARTCITY_DEMO_COMPONENTS", "300")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield lambda *args, **kw: CliRunner().invoke(cli, list(args), **kw)
    get_settings.cache_clear()


def _counts(database) -> tuple[int, ...]:
    with database.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (User, Department, Division, UnitGrid))


def test_demo_twice_adds_nothing_the_second_time(run, database, tmp_path) -> None:
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert "admin" in first.output and "passwords are shown once" in first.output
    counts = _counts(database)
    assert counts[:2] == (11, 19)
    assert counts[2] > 17 + 100 and counts[3] > 1000  # real districts, synthetic streets/communities, grids
    assert "Coordinates converted from GCJ-02 to WGS-84" in first.output
    saved = (tmp_path / "var" / "demo-logins.txt").read_text()
    assert saved.count("\n") == 11 and oct((tmp_path / "var" / "demo-logins.txt").stat().st_mode)[-3:] == "600"
    second = run("demo")
    assert second.exit_code == 0
    assert "0 departments added" in second.output and "printed at the first run" in second.output
    assert _counts(database) == counts


def test_demo_passwords_sign_in(run, client, tmp_path) -> None:
    assert run("demo").exit_code == 0
    user, password = (tmp_path / "var" / "demo-logins.txt").read_text().splitlines()[0].split("\t")
    response = client.post("/api/auth/token", data={"username": user, "password": password})
    assert response.status_code == 200


def test_user_add_and_refusals(run, database, city) -> None:
    ok = run(
        "user", "add", "cli_viewer", "--role", "viewer", "--department", "310101", "--password", "long-enough-pw-1"
    )
    assert ok.exit_code == 0, ok.output
    taken = run(
        "user", "add", "cli_viewer", "--role", "viewer", "--department", "310101", "--password", "long-enough-pw-1"
    )
    assert taken.exit_code == 1 and "taken" in taken.output
    weak = run("user", "add", "other", "--role", "viewer", "--department", "310101", "--password", "abc")
    assert weak.exit_code == 1 and "too weak" in weak.output
    asked = run("user", "add", "prompted", "--role", "citizen", input="long-enough-pw-2\nlong-enough-pw-2\n")
    assert asked.exit_code == 0, asked.output


def test_user_passwd(run, client, city) -> None:
    assert run("user", "passwd", "viewer", "--password", "another-pw-33").exit_code == 0
    assert client.post("/api/auth/token", data={"username": "viewer", "password": "another-pw-33"}).status_code == 200
    missing = run("user", "passwd", "nobody", "--password", "another-pw-33")
    assert missing.exit_code == 1 and "No account" in missing.output


def test_help_explains_each_command(run) -> None:
    top = run("--help")
    for command in ("serve", "demo", "db", "user", "audit", "config"):
        assert command in top.output
    assert "verify" in run("audit", "--help").output
    assert "upgrade" in run("db", "--help").output


def test_config_check_hides_secrets(run, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCITY_SECRET_KEY", "s3cr3t-" * 6)
    result = run("config", "check")
    assert result.exit_code == 0 and "s3cr3t" not in result.output and "SMARTCITY_AUDIT_HASH" in result.output


def test_bad_configuration_is_a_clear_error(run, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCITY_AUDIT_HASH", "md5")
    result = run("config", "check")
    assert result.exit_code == 2 and "audit_hash" in result.output


def test_db_current_and_upgrade(run, settings) -> None:
    from smartcity.core.db import head_revision

    assert run("db", "upgrade").exit_code == 0
    assert run("db", "current").output.strip() == head_revision(settings)


def test_serve_refuses_a_database_behind_the_code(run, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run("serve")
    assert result.exit_code == 1 and "smartcity db upgrade" in result.output


def test_places_import_reports_and_refuses_bad_files(run, tmp_path, database) -> None:
    from smartcity.places.cli import PACKAGED_BOUNDARIES

    ok = run("places", "import", str(PACKAGED_BOUNDARIES), "--crs", "gcj02")
    assert ok.exit_code == 0 and "17 added" in ok.output and "GCJ-02" in ok.output
    again = run("places", "import", str(PACKAGED_BOUNDARIES), "--crs", "gcj02")
    assert "17 unchanged" in again.output
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"code": "310101001", "name": "x"}, "geometry": {"type": "Point", "coordinates": [121, 31]}}]}'
    )
    refused = run("places", "import", str(bad))
    assert refused.exit_code == 1 and "features[0] (310101001)" in refused.output and "Polygon" in refused.output
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{not json")
    assert run("places", "import", str(garbage)).exit_code == 1


def test_grid_generate_resumes(run, database) -> None:
    from smartcity.places.cli import PACKAGED_BOUNDARIES

    run("places", "import", str(PACKAGED_BOUNDARIES), "--crs", "gcj02")
    assert run("places", "subdivide", "--district", "310101").exit_code == 0
    first = run("places", "grid", "generate", "--district", "310101")
    assert first.exit_code == 0, first.output
    written = int(first.output.strip().rsplit(" ", 1)[1].rstrip("."))
    assert written > 1000
    assert "Unit grids written: 0." in run("places", "grid", "generate", "--district", "310101").output


def test_grid_import_command(run, tmp_path, gridded) -> None:
    bad = tmp_path / "grids.geojson"
    bad.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "1"}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[121, 31], [121.1, 31], [121, 31.1], [121, 31]]]}}]}'
    )
    refused = run("places", "grid", "import", str(bad))
    assert refused.exit_code == 1 and "15 digits" in refused.output


def test_cases_import_catalogue_command(run, tmp_path) -> None:
    from smartcity.cases.catalogue import CORE_CATALOGUE

    ok = run("cases", "import-catalogue", str(CORE_CATALOGUE))
    assert ok.exit_code == 0 and "added" in ok.output
    assert " 0 added, 0 updated" in run("cases", "import-catalogue", str(CORE_CATALOGUE)).output
    city = tmp_path / "city.csv"
    city.write_text("kind,code,name\nevent,01,市容\n", encoding="utf-8")
    assert run("cases", "import-catalogue", str(city)).exit_code == 2  # CSV needs --standard-ref/--version
    done = run("cases", "import-catalogue", str(city), "--standard-ref", "上海市地方目录", "--version", "1")
    assert done.exit_code == 0 and "1 added" in done.output


def test_calendar_import_and_deadline_commands(run, tmp_path) -> None:
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("date,working,name\n2026-11-30,0,test holiday\n", encoding="utf-8")
    assert "1 dates added" in run("cases", "calendar", "import", str(holidays)).output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,working,name\n30/11/2026,maybe,x\n", encoding="utf-8")
    assert run("cases", "calendar", "import", str(bad)).exit_code == 1
    due = run("cases", "calendar", "deadline", "2026-11-27T10:00+08:00", "1")
    assert due.exit_code == 0 and due.output.strip() == "2026-12-01T10:00+08:00"
    assert run("cases", "calendar", "deadline", "2026-11-27T10:00", "1").exit_code == 2


def test_hotline_import_commands(run, tmp_path, database) -> None:
    from smartcity.hotline.catalogue import DEMO_ARTICLES, DEMO_CATALOGUE
    from smartcity.hotline.models import Article, Matter

    ok = run("hotline", "import-matters", str(DEMO_CATALOGUE))
    assert ok.exit_code == 0 and "20 added" in ok.output
    assert "0 added, 0 updated, 20 unchanged" in run("hotline", "import-matters", str(DEMO_CATALOGUE)).output
    bad = tmp_path / "matters.csv"
    bad.write_text("code,name,level\nX1,新事项,district\nX2,,province\n", encoding="utf-8")
    refused = run("hotline", "import-matters", str(bad))
    assert refused.exit_code == 1 and "row 2" in refused.output
    articles = run("hotline", "import-articles", str(DEMO_ARTICLES))
    assert articles.exit_code == 0 and "25 articles added" in articles.output
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Matter)) == 20  # X1 was refused with its file
        assert s.scalar(select(func.count()).select_from(Article)) == 25


def test_sensing_bind_and_broker_acl(run, tmp_path, client, city) -> None:
    from tests.conftest import bearer
    from tests.sensing.test_sta import STA, _station

    thing = client.post(
        f"{STA}/Things", json=_station("外白渡桥站", 121.49, 31.245), headers=bearer(client, "supervisor")
    )
    thing_id = thing.json()["@iot.id"]
    assert run("sensing", "bind", "nobody", str(thing_id)).exit_code == 1
    bound = run("sensing", "bind", "device", str(thing_id))
    assert bound.exit_code == 0, bound.output
    acl = tmp_path / "acl"
    written = run("sensing", "broker-acl", str(acl), "--platform-user", "bridge")
    assert written.exit_code == 0 and "1 device topics" in written.output
    text = acl.read_text()
    assert "user bridge\ntopic readwrite #" in text and "user device\n" in text
    assert "topic write v1.1/Datastreams(1)/Observations" in text
    assert run("sensing", "mqtt-bridge").exit_code == 2  # no broker configured


def test_sensing_rebuild_hours(run, client, database, city) -> None:
    """Observations written with SQL by hand get their hours' revisions back from the command."""
    from sqlalchemy import func, select, text

    from smartcity.sensing.models import ObservationHour
    from tests.conftest import bearer
    from tests.sensing.test_sta import STA, _station

    headers = bearer(client, "supervisor")
    thing = client.post(f"{STA}/Things", json=_station("外白渡桥站", 121.49, 31.245), headers=headers).json()
    stream = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray": [["2026-01-01T00:10:00Z", 1.0], ["2026-01-01T02:10:00Z", 2.0]]}]  # fmt: skip
    assert client.post(f"{STA}/CreateObservations", json=body, headers=headers).status_code == 201
    with database.session() as session:
        session.execute(text("DELETE FROM sta_observation_hour"))
    rebuilt = run("sensing", "rebuild-hours")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "2 hours" in rebuilt.output
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ObservationHour)) == 2
