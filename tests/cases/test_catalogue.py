"""The class catalogue: the shipped core classes, city imports (JSON and CSV), validation, API."""

from __future__ import annotations

import json

import pytest

from smartcity.cases import catalogue
from smartcity.core.errors import NotFound, Problem
from tests.conftest import bearer

CORE = json.loads(catalogue.CORE_CATALOGUE.read_text(encoding="utf-8"))


def _load_core(database) -> catalogue.CatalogueReport:
    with database.session() as s:
        return catalogue.import_catalogue(
            s, CORE["classes"], standard_ref=CORE["standard_ref"], version=CORE["version"]
        )


def test_core_catalogue_has_the_national_major_classes(database) -> None:
    report = _load_core(database)
    assert len(report.added) == len(CORE["classes"])
    with database.session() as s:
        components = {c.code: c.name for c in catalogue.list_classes(s, kind="component") if len(c.code) == 2}
        events = {c.code: c.name for c in catalogue.list_classes(s, kind="event") if len(c.code) == 2}
        assert set(components.values()) == {"公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施"}
        assert set(events.values()) == {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他事件"}
        exposed = catalogue.get_class(s, "event", "0102")
        assert (exposed.name, exposed.time_limit, exposed.time_limit_unit) == ("暴露垃圾", 1, "working_days")
        assert exposed.parent_code == "01" and exposed.professional_grid == "appearance"  # inherited
        assert catalogue.get_class(s, "component", "0101").professional_grid == "municipal"


def test_reimport_changes_nothing(database) -> None:
    _load_core(database)
    again = _load_core(database)
    assert (again.added, again.updated) == ([], [])


def test_a_city_extends_and_overrides_with_csv(database) -> None:
    _load_core(database)
    text = (
        "kind,code,name,time_limit,time_limit_unit,default_department\n"
        "event,010201,绿化带内暴露垃圾,4,working_hours,310101\n"
        "event,0102,暴露垃圾,8,working_hours,\n"
    )
    rows = catalogue.parse_csv(text)
    with database.session() as s:
        report = catalogue.import_catalogue(s, rows, standard_ref=CORE["standard_ref"], version="2026.2")
    assert report.added == ["event 010201"] and report.updated == ["event 0102"]
    with database.session() as s:
        local = catalogue.get_class(s, "event", "010201")
        assert (local.parent_code, local.time_limit, local.default_department) == ("0102", 4, "310101")
        assert catalogue.get_class(s, "event", "0102").time_limit_unit == "working_hours"


def test_bad_rows_are_named_and_nothing_is_imported(database) -> None:
    rows = [
        {"kind": "event", "code": "07", "name": "新大类"},
        {"kind": "event", "code": "0701", "name": "无时限"},
        {"kind": "event", "code": "0899", "name": "孤儿", "time_limit": 1, "time_limit_unit": "working_days"},
        {"kind": "thing", "code": "1", "name": ""},
        {"kind": "event", "code": "0702", "name": "x", "time_limit": 2, "time_limit_unit": "fortnights"},
        {"kind": "event", "code": "0702", "name": "x", "time_limit": 2, "time_limit_unit": "working_days"},
    ]
    with pytest.raises(Problem) as caught, database.session() as s:
        catalogue.import_catalogue(s, rows, standard_ref="city", version="1")
    messages = " | ".join(e["message"] for e in caught.value.errors)
    for expected in (
        "time_limit must be a whole number",
        "parent class 08",
        "kind must be one of",
        "name is missing",
        "time_limit_unit must be one of",
        "appears twice",
    ):
        assert expected in messages
    with database.session() as s:
        assert catalogue.list_classes(s) == []


def test_csv_with_unknown_columns_is_refused() -> None:
    with pytest.raises(Problem, match="Unknown CSV columns: colour"):
        catalogue.parse_csv("kind,code,name,colour\nevent,01,x,red\n")


def test_catalogue_api(client, city, database) -> None:
    _load_core(database)
    headers = bearer(client, "dispatcher")
    events = client.get("/api/cases/catalogue", params={"kind": "event"}, headers=headers).json()
    assert {e["kind"] for e in events} == {"event"} and len(events) > 30
    one = client.get("/api/cases/catalogue/event/0405", headers=headers).json()
    assert one["name"] == "道路积水" and one["time_limit_unit"] == "working_hours"
    assert client.get("/api/cases/catalogue/event/9999", headers=headers).status_code == 404
    assert client.get("/api/cases/catalogue/things/01", headers=headers).status_code == 422
    assert client.get("/api/cases/catalogue", headers=bearer(client, "citizen")).status_code == 403
    with database.session() as s, pytest.raises(NotFound):
        catalogue.get_class(s, "component", "0999")
