"""The component inventory: IDs that agree with class and place, imports refused whole, search, map layer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smartcity.cases import components
from smartcity.cases.models import Component
from smartcity.core.errors import Problem
from tests.conftest import bearer


@pytest.fixture
def inventory_ready(gridded, core_catalogue) -> None:
    """Huangpu's grids and the catalogue's component classes."""


def _row(code: str = "3101010101000001", **changes) -> dict:
    row = {
        "code": code,
        "class_code": code[6:10],
        "name": "上水井盖",
        "lon": 121.4846,
        "lat": 31.2317,
        "state": "intact",
        "initial_date": "2026-01-01",
        "data_source": "surveyed",
    }
    return {**row, **changes}


def test_components_import_onto_their_grid(database, inventory_ready) -> None:
    with database.session() as s:
        report = components.import_components(
            s, [_row(), _row("3101010118000001", name="路灯", lon=121.48)], source="test"
        )
    assert report.added == 2
    with database.session() as s:
        cover = components.get_component(s, "3101010101000001")
        assert len(cover.grid_code) == 15 and cover.grid_code.startswith("310101")
    with database.session() as s:
        again = components.import_components(s, [_row()], source="test")
        assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
        changed = components.import_components(s, [_row(state="damaged", changed_date="2026-11-01")], source="t")
        assert changed.updated == 1


def test_bad_components_are_refused_whole(database, inventory_ready) -> None:
    rows = [
        _row("3101010101000001"),
        _row("310101010100001"),  # 15 digits
        _row("3101010199000001"),  # no such class
        _row("3101010102000001", class_code="0101"),  # ID and class disagree
        _row("3101010101000002", lon=116.39, lat=39.9),  # Beijing
        _row("3101010101000003", state="broken", initial_date="01/01/2026"),
        _row("3101010101000001"),  # duplicate
    ]
    with pytest.raises(Problem) as caught, database.session() as s:
        components.import_components(s, rows, source="test")
    text = " | ".join(e["message"] for e in caught.value.errors)
    for expected in (
        "16 digits",
        "not a component minor class",
        "do not match class_code",
        "state must be",
        "dates must be",
        "appears twice",
    ):
        assert expected in text
    misplaced = [_row("3101040101000001")]  # a Xuhui ID for a point in Huangpu
    with pytest.raises(Problem) as caught, database.session() as s:
        components.import_components(s, [*misplaced, _row("3101010101000009", lon=116.39, lat=39.9)], source="t")
    text = " | ".join(e["message"] for e in caught.value.errors)
    assert "its ID says 310104" in text and "outside every unit grid" in text
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Component)) == 0


def test_demo_generation_search_and_map_layer(client, city, database, inventory_ready) -> None:
    with database.session() as s:
        added = components.generate_demo(s, 400)
        assert 350 < added <= 400
        assert components.generate_demo(s, 400) == 0  # idempotent
    headers = bearer(client, "inspector")
    page = client.get("/api/cases/components", params={"class_code": "01", "limit": 5}, headers=headers).json()
    assert page["total"] > 0 and all(c["class_code"].startswith("01") for c in page["items"])
    one = page["items"][0]
    assert client.get(f"/api/cases/components/{one['code']}", headers=headers).json()["grid_code"] == one["grid_code"]
    by_grid = client.get("/api/cases/components", params={"grid": one["grid_code"]}, headers=headers).json()
    assert one["code"] in {c["code"] for c in by_grid["items"]}
    assert client.get("/api/cases/components", params={"state": "melted"}, headers=headers).status_code == 422
    layer = client.get("/ogcapi/collections/components/items", params={"limit": 10}).json()
    assert layer["numberMatched"] == added and layer["features"][0]["geometry"]["type"] == "Point"


def test_csv_and_geojson_readers() -> None:
    rows = components.rows_from_csv("code,class_code,name,lon,lat\n3101010101000001,0101,井盖,121.48,31.23\n")
    assert rows[0]["lon"] == "121.48"
    with pytest.raises(Problem, match="Unknown CSV columns: colour"):
        components.rows_from_csv("code,colour\n1,red\n")
    geo = components.rows_from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "x"},
                    "geometry": {"type": "Point", "coordinates": [121, 31]},
                }
            ],
        }
    )
    assert (geo[0]["lon"], geo[0]["lat"]) == (121, 31)
