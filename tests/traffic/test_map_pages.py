"""The traffic pages through the in-process client: the map, a cycle's tables and the index page are open to
everyone (with and without data), the congestion report only to those who may read traffic analyses."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from smartcity.traffic import service
from tests.conftest import bearer, web_login
from tests.traffic.test_state import NETWORK  # the same four segments in Huangpu

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Speeds of A1, A2, E1, B1 in three cycles of today: all free-flowing (畅通) at 08:00, A1 中度拥堵 at 08:05,
# both arterials 严重拥堵 and the branch road without data at 08:10.
SPEEDS = ([45.0, 45.0, 70.0, 40.0], [18.0, 45.0, 70.0, 30.0], [10.0, 10.0, 70.0, np.nan])
CLOCK = (time(8, 0), time(8, 5), time(8, 10))


def make_traffic(client, database) -> list[datetime]:  # type: ignore[no-untyped-def]
    """Import the network as the traffic engineer and record the three cycles; returns their ends (UTC)."""
    body = {"source": "test network", "network": NETWORK}
    imported = client.post("/api/traffic/network", json=body, headers=bearer(client, "traffic"))
    assert imported.status_code == 200, imported.text
    today = datetime.now(SHANGHAI).date()
    ends = [datetime.combine(today, clock, SHANGHAI).astimezone(UTC) for clock in CLOCK]
    with database.session() as session:
        for end, speeds in zip(ends, SPEEDS, strict=True):
            service.record_cycle(session, end, np.array(speeds))
    return ends


@pytest.fixture
def traffic(client, database, city, gridded) -> list[datetime]:  # type: ignore[no-untyped-def]
    return make_traffic(client, database)


def test_pages_answer_without_sign_in_before_any_data(client, database, city) -> None:
    for path in ("/traffic", "/traffic/index", "/traffic/index?area=310101&scheme=tti&date=2026-01-05"):
        response = client.get(path, params={"lang": "en"})
        assert response.status_code == 200, path
        assert "No traffic cycle has been computed" in response.text or "No index values on this day" in response.text


def test_the_map_page_says_the_newest_cycle_in_words(client, traffic) -> None:
    page = client.get("/traffic", params={"lang": "en"})
    assert page.status_code == 200
    text = page.text
    assert "Huangpu District" in text and "Severely congested" in text and "08:10" in text
    assert 'type="range"' in text and 'aria-valuetext="' in text
    assert "Previous cycle (08:05)" in text  # the link that works without the script
    earlier = client.get("/traffic/state", params={"at": traffic[0].isoformat(), "lang": "en"})
    assert earlier.status_code == 200 and "08:00" in earlier.text
    assert "Severely congested" not in earlier.text.split('id="level-table"')[0]
    shanghai = client.get("/traffic", params={"scheme": "shanghai_0_100", "at": traffic[1].isoformat()})
    assert shanghai.status_code == 200 and "08:05" in shanghai.text and "未核实" in shanghai.text
    assert client.get("/traffic", params={"scheme": "nope"}).status_code == 422


def test_the_index_page_has_a_described_chart_and_a_table(client, traffic) -> None:
    page = client.get("/traffic/index", params={"area": "310101", "lang": "en"})
    assert page.status_code == 200
    assert 'role="img"' in page.text and "Huangpu District" in page.text
    assert "highest 10.0 (Severely congested) at 08:10" in page.text
    assert page.text.count('<tr><th scope="row">08:') == 3


def test_congestion_is_for_those_who_read_traffic_analyses(client, traffic) -> None:
    anonymous = client.get("/traffic/congestion", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/traffic/congestion"
    web_login(client, "citizen")
    assert client.get("/traffic/congestion").status_code == 403
    client.cookies.clear()
    web_login(client, "viewer")
    report = client.get("/traffic/congestion", params={"lang": "en"})
    assert report.status_code == 200
    worst = report.text.split('id="worst-table"')[1].split("</table>")[0]
    assert "A1" in worst and "A2" in worst and "E1" not in worst
    assert 'href="/traffic/congestion"' in client.get("/traffic").text  # in the navigation for a reader
