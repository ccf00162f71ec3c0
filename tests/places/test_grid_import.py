"""Importing real unit grids: replaces a community's grids, refuses bad files whole, re-import is a no-op."""

from __future__ import annotations

import json

import pytest
import shapely
from sqlalchemy import select

from smartcity.core.errors import Problem
from smartcity.places import geometry, grid_import, index
from smartcity.places.models import UnitGrid


def _community_grids_as_file(database, community: str, *, merge_first_two: bool = False) -> dict:
    with database.session() as s:
        rows = s.execute(
            select(UnitGrid.code, UnitGrid.geometry).where(UnitGrid.community_code == community).order_by(UnitGrid.code)
        ).all()
    shapes = [geometry.from_wkb(r.geometry) for r in rows]
    codes = [r.code for r in rows]
    if merge_first_two:  # a real survey: fewer, larger grids
        shapes = [shapely.union_all(shapes[:2]), *shapes[2:]]
        codes = codes[1:]
    features = [
        {"type": "Feature", "properties": {"code": c}, "geometry": json.loads(shapely.to_geojson(g))}
        for c, g in zip(codes, shapes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def test_import_replaces_a_communitys_grids_and_is_idempotent(database, gridded) -> None:
    with database.session() as s:
        community = s.scalar(select(UnitGrid.community_code).limit(1))
    survey = _community_grids_as_file(database, community, merge_first_two=True)
    with database.session() as s:
        before = index.current_revision(s)
        report = grid_import.import_grids(s, survey)
    assert report.communities_replaced == [community] and report.grids_written == len(survey["features"])
    with database.session() as s:
        sources = set(s.scalars(select(UnitGrid.source).where(UnitGrid.community_code == community)))
        assert sources == {"imported"} and index.current_revision(s) != before
    with database.session() as s:
        again = grid_import.import_grids(s, survey)
    assert again.communities_unchanged == [community] and again.grids_written == 0


def test_bad_grid_files_are_refused_whole(database, gridded) -> None:
    with database.session() as s:
        community = s.scalar(select(UnitGrid.community_code).limit(1))
    survey = _community_grids_as_file(database, community)
    survey["features"][0]["properties"]["code"] = "12345"
    survey["features"][1]["properties"]["code"] = survey["features"][2]["properties"]["code"]
    with pytest.raises(Problem) as caught, database.session() as s:
        grid_import.import_grids(s, survey)
    messages = " | ".join(e["message"] for e in caught.value.errors)
    assert "15 digits" in messages and "appears twice" in messages

    overlapping = _community_grids_as_file(database, community)
    overlapping["features"][1]["geometry"] = overlapping["features"][0]["geometry"]
    with pytest.raises(Problem) as caught, database.session() as s:
        grid_import.import_grids(s, overlapping)
    assert any("overlaps" in e["message"] for e in caught.value.errors)

    far = _community_grids_as_file(database, community)
    far["features"][0]["geometry"] = json.loads(shapely.to_geojson(shapely.box(121.0, 31.0, 121.001, 31.001)))
    far["features"].append(
        {"type": "Feature", "properties": {"code": "310101999999001"}, "geometry": far["features"][0]["geometry"]}
    )
    with pytest.raises(Problem) as caught, database.session() as s:
        grid_import.import_grids(s, far)
    messages = " | ".join(e["message"] for e in caught.value.errors)
    assert "outside its community" in messages and "is not imported" in messages
    with database.session() as s:
        assert set(s.scalars(select(UnitGrid.source))) == {"generated"}
