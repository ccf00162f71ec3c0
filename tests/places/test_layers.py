"""Supervision grids and responsibilities: versions by date, most specific match, validation, API, map layer."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.places import generate, layers
from smartcity.places.models import UnitGrid
from tests.conftest import bearer


@pytest.fixture
def grids(database, city, gridded) -> list[str]:
    with database.session() as s:
        return list(s.scalars(select(UnitGrid.code).order_by(UnitGrid.code)))


def test_most_specific_place_then_category_wins(database, grids) -> None:
    grid = grids[0]
    community, street = grid[:12], grid[:9]
    with database.session() as s:
        layers.save(
            s,
            kind="responsibility",
            code="hp-all",
            name="Huangpu: all matters",
            members=["310101"],
            department_code="310101",
            valid_from=date(2026, 1, 1),
        )
        layers.save(
            s,
            kind="responsibility",
            code="hp-street",
            name="Street office, greening",
            members=[street],
            category="02",
            department_code="310101001",
            valid_from=date(2026, 1, 1),
        )
        layers.save(
            s,
            kind="responsibility",
            code="hp-water",
            name="Drainage, community",
            members=[community],
            category="01",
            person="handler",
            valid_from=date(2026, 1, 1),
        )
    with database.session() as s:
        day = date(2026, 6, 1)
        assert layers.responsible_for(s, grid, at=day).code == "hp-all"  # no category: only * applies
        assert layers.responsible_for(s, grid, category="0203", at=day).code == "hp-street"
        assert layers.responsible_for(s, grid, category="0101", at=day).code == "hp-water"
        other = next(g for g in grids if not g.startswith(community))
        assert layers.responsible_for(s, other, category="0101", at=day).code == "hp-all"
        with pytest.raises(NotFound):
            layers.responsible_for(s, grid, at=date(2025, 12, 31))


def test_a_new_version_ends_the_old_one(database, grids) -> None:
    with database.session() as s:
        layers.save(
            s,
            kind="supervision",
            code="beat-1",
            name="Beat 1",
            members=grids[:20],
            person="inspector",
            valid_from=date(2026, 1, 1),
        )
        layers.save(
            s,
            kind="supervision",
            code="beat-1",
            name="Beat 1 (redrawn)",
            members=grids[10:30],
            person="inspector",
            valid_from=date(2026, 7, 1),
        )
    with database.session() as s:
        assert [e.name for e in layers.supervision_grids_of(s, grids[0], at=date(2026, 3, 1))] == ["Beat 1"]
        assert layers.supervision_grids_of(s, grids[0], at=date(2026, 8, 1)) == []
        assert [e.name for e in layers.supervision_grids_of(s, grids[25], at=date(2026, 8, 1))] == ["Beat 1 (redrawn)"]
        history = layers.list_layers(s, "supervision")
        assert [(e.valid_from, e.valid_to) for e in history] == [
            (date(2026, 1, 1), date(2026, 7, 1)),
            (date(2026, 7, 1), None),
        ]
        with pytest.raises(Conflict):
            layers.save(s, kind="supervision", code="beat-1", name="x", members=grids[:1], valid_from=date(2026, 7, 1))
        with pytest.raises(Conflict):
            layers.save(s, kind="supervision", code="beat-1", name="x", members=grids[:1], valid_from=date(2026, 3, 1))


def test_unknown_members_people_and_departments_are_refused(database, grids) -> None:
    with pytest.raises(Problem) as caught, database.session() as s:
        layers.save(
            s, kind="supervision", code="b", name="b", members=["310101999999999", "abc"], valid_from=date(2026, 1, 1)
        )
    assert [e["field"] for e in caught.value.errors] == ["members[0]", "members[1]"]
    with pytest.raises(Problem, match="No account"), database.session() as s:
        layers.save(
            s, kind="supervision", code="b", name="b", members=grids[:1], person="ghost", valid_from=date(2026, 1, 1)
        )
    with pytest.raises(NotFound), database.session() as s:
        layers.save(
            s,
            kind="responsibility",
            code="r",
            name="r",
            members=grids[:1],
            department_code="999",
            valid_from=date(2026, 1, 1),
        )
    with pytest.raises(Problem, match="department or a person"), database.session() as s:
        layers.save(s, kind="responsibility", code="r", name="r", members=grids[:1], valid_from=date(2026, 1, 1))


def test_layers_through_the_api_and_the_map_service(client, grids) -> None:
    admin = bearer(client, "admin")
    body = {
        "code": "beat-7",
        "name": "第七巡查片区",
        "members": grids[:25],
        "person": "inspector",
        "valid_from": "2026-01-01",
    }
    assert client.post("/api/places/layers/supervision", json=body, headers=bearer(client, "viewer")).status_code == 403
    created = client.post("/api/places/layers/supervision", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["members"] == sorted(grids[:25])
    beats = client.get("/api/places/supervision", params={"grid": grids[3]}, headers=bearer(client, "inspector"))
    assert [b["code"] for b in beats.json()] == ["beat-7"]
    features = client.get("/ogcapi/collections/supervision-grids/items").json()["features"]
    assert [f["id"] for f in features] == ["beat-7"] and features[0]["properties"]["person"] == "inspector"
    resp = client.post(
        "/api/places/layers/responsibility",
        headers=admin,
        json={
            "code": "hp",
            "name": "黄浦区城管",
            "members": ["310101"],
            "department_code": "310101",
            "valid_from": "2026-01-01",
        },
    )
    assert resp.status_code == 201
    who = client.get(
        "/api/places/responsible", params={"grid": grids[0], "category": "0101"}, headers=bearer(client, "dispatcher")
    )
    assert who.status_code == 200 and who.json()["department_code"] == "310101"
    nobody = client.get(
        "/api/places/responsible", params={"grid": grids[0], "at": "2020-01-01"}, headers=bearer(client, "dispatcher")
    )
    assert nobody.status_code == 404
    assert client.post("/api/places/layers/patrols", json=body, headers=admin).status_code == 422


def test_regenerated_grids_keep_their_responsibility(database, grids) -> None:
    with database.session() as s:
        layers.save(
            s,
            kind="responsibility",
            code="hp",
            name="Huangpu",
            members=["310101"],
            department_code="310101",
            valid_from=date(2026, 1, 1),
        )
        generate.generate_grids(s, grids[0][:12], replace=True)
    with database.session() as s:
        assert layers.responsible_for(s, grids[0], at=date(2026, 2, 1)).code == "hp"
