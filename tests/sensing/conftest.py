"""Shared set-up of the sensing tests: two Suzhou River stations made through the API."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.sensing.test_sta import STA, _station


@pytest.fixture
def stations(client, city) -> dict[str, int]:
    """Two Suzhou River stations, each with a water-level datastream; returns datastream ids by name."""
    ids = {}
    for name, lon, lat in (("外白渡桥站", 121.4906, 31.2452), ("武宁路桥站", 121.4305, 31.2398)):
        response = client.post(f"{STA}/Things", json=_station(name, lon, lat), headers=bearer(client, "supervisor"))
        assert response.status_code == 201, response.text
        thing = response.json()
        datastreams = client.get(f"{STA}/Things({thing['@iot.id']})/Datastreams").json()["value"]
        ids[name] = datastreams[0]["@iot.id"]
    return ids
