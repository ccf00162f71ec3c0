"""Spatial lookup: the index agrees with exact point-in-polygon, answers the API, refuses points outside."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from smartcity.places import crs, generate, index
from smartcity.places.models import UnitGrid
from tests.conftest import bearer


def _exact(database, lon, lat) -> list[str | None]:
    with database.session() as s:
        rows = s.execute(select(UnitGrid.code, UnitGrid.geometry).order_by(UnitGrid.code)).all()
    shapes = shapely.from_wkb([r.geometry for r in rows])
    tree = shapely.STRtree(shapes)
    answers = []
    for x, y in zip(lon, lat, strict=True):
        hits = sorted(int(i) for i in tree.query(shapely.Point(x, y), predicate="intersects"))
        answers.append(rows[hits[0]].code if hits else None)
    return answers


def test_index_agrees_with_exact_point_in_polygon(database, gridded) -> None:
    with database.session() as s:
        grid_index = index.build(s)
        bounds = s.execute(select(UnitGrid.min_lon, UnitGrid.min_lat, UnitGrid.max_lon, UnitGrid.max_lat)).all()
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    rng = np.random.default_rng(42)
    lon, lat = rng.uniform(west, east, 3000), rng.uniform(south, north, 3000)
    found = grid_index.locate(lon, lat)
    ours = [str(grid_index.codes[i]) if i >= 0 else None for i in found]
    assert ours == _exact(database, lon, lat)
    assert sum(o is not None for o in ours) > 1000 and sum(o is None for o in ours) > 10


def test_points_on_cell_corners_and_edges_are_found(database, gridded) -> None:
    with database.session() as s:
        grid_index = index.build(s)
        centroid = s.scalars(select(UnitGrid).where(UnitGrid.area_m2 > 9999).limit(1)).one()
    x, y = crs.to_metric(centroid.centroid_lon, centroid.centroid_lat)
    corner_x, corner_y = (float(x) // 100) * 100, (float(y) // 100) * 100
    lon, lat = crs.from_metric([corner_x, corner_x + 50, corner_x], [corner_y, corner_y, corner_y + 50])
    found = grid_index.locate(lon, lat)
    assert (found >= 0).all()


def test_locate_api_returns_the_hierarchy(client, city, gridded) -> None:
    headers = bearer(client, "inspector")
    response = client.get("/api/places/locate", params={"lon": 121.4846, "lat": 31.2317}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["district"]["code"] == "310101" and body["district"]["name"] == "黄浦区"
    assert body["city"]["code"] == "310000"
    assert body["community"]["synthetic"] is True and body["community"]["code"].startswith("310101")
    assert body["grid"]["code"].startswith(body["community"]["code"]) and len(body["grid"]["code"]) == 15


def test_gcj02_points_are_converted(client, city, gridded) -> None:
    headers = bearer(client, "viewer")
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(121.4846, 31.2317)
    wgs = client.get("/api/places/locate", params={"lon": 121.4846, "lat": 31.2317}, headers=headers).json()
    gcj = client.get(
        "/api/places/locate", params={"lon": float(gcj_lon), "lat": float(gcj_lat), "crs": "gcj02"}, headers=headers
    ).json()
    assert gcj["grid"]["code"] == wgs["grid"]["code"]
    assert gcj["point"] == pytest.approx([121.4846, 31.2317], abs=1e-7)


def test_outside_the_city_is_422_not_a_guess(client, city, gridded) -> None:
    headers = bearer(client, "viewer")
    response = client.get("/api/places/locate", params={"lon": 116.39, "lat": 39.9}, headers=headers)  # Beijing
    assert response.status_code == 422 and response.json()["type"].endswith("/outside-city")
    wrong = client.get("/api/places/locate", params={"lon": 200, "lat": 31}, headers=headers)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "lon"


def test_batch_locate_answers_each_point(client, city, gridded) -> None:
    headers = bearer(client, "device")
    response = client.post(
        "/api/places/locate", json={"points": [[121.4846, 31.2317], [116.39, 39.9]]}, headers=headers
    )
    assert response.status_code == 200
    inside, outside = response.json()
    assert inside["grid"] is not None and outside["grid"] is None and "outside" in outside["error"]
    too_many = client.post("/api/places/locate", json={"points": [[121.48, 31.23]] * 10_001}, headers=headers)
    assert too_many.status_code in (413, 422)


def test_grid_by_code(client, city, gridded) -> None:
    headers = bearer(client, "viewer")
    code = client.get("/api/places/locate", params={"lon": 121.4846, "lat": 31.2317}, headers=headers).json()["grid"][
        "code"
    ]
    body = client.get(f"/api/places/grids/{code}", headers=headers).json()
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert [h["level"] for h in body["hierarchy"]] == ["city", "district", "street", "community"]
    polygon = shapely.geometry.shape(body["geometry"])
    assert polygon.intersects(shapely.Point(121.4846, 31.2317))
    assert client.get("/api/places/grids/12345", headers=headers).status_code == 422
    assert client.get("/api/places/grids/310101999999999", headers=headers).status_code == 404


def test_the_index_follows_regenerated_grids(database, gridded) -> None:
    with database.session() as s:
        first = index.CACHE.get(s)
        community = generate.communities_of(s, "310101")[0]
        generate.generate_grids(s, community, replace=True)
    with database.session() as s:
        assert index.CACHE.get(s) is not first


def test_divisions_api_and_anonymous(client, city, gridded) -> None:
    assert client.get("/api/places/divisions").status_code == 401
    headers = bearer(client, "viewer")
    districts = client.get("/api/places/divisions", params={"level": "district"}, headers=headers).json()
    assert [d["code"] for d in districts] == ["310101"] and districts[0]["synthetic"] is False
    streets = client.get("/api/places/divisions", params={"parent": "310101"}, headers=headers).json()
    assert streets and all(d["synthetic"] for d in streets)
    assert client.get("/api/places/divisions/999999", headers=headers).status_code == 404
