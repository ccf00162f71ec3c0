"""The sensor map and a station page as a person uses them: the table beside the map, the period links,
charts with their descriptions; open data without signing in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from smartcity.sensing import service
from smartcity.sensing.entities import SETS
from smartcity.sensing.models import Datastream
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.sensing.test_sta import _station

pytestmark = pytest.mark.browser


@pytest.fixture
def station(database, city) -> int:
    with database.session() as s:
        thing = service.create(s, SETS["Things"], _station("外白渡桥站", 121.4906, 31.2452))
        ds = s.scalars(select(Datastream).where(Datastream.thing_id == thing.id)).one()
        now = datetime.now(UTC).replace(microsecond=0)
        rows = [[(now - timedelta(minutes=20 * i)).isoformat(), 3.0 + i / 10] for i in range(30)]
        admin = service_principal(s)
        service.create_observations(
            s,
            admin,
            [{"Datastream": {"@iot.id": ds.id}, "components": ["phenomenonTime", "result"], "dataArray": rows}],
            "",
        )
        return thing.id


def service_principal(session):  # type: ignore[no-untyped-def]
    from smartcity.security import service as security

    return security.principal_for(session, security.user_by_name(session, "admin"), via="test")


def test_sensor_map_and_station_page(page, station) -> None:
    page.goto("/sensing")  # open data: no sign-in needed
    expect(page.get_by_role("heading", level=1)).to_have_text("传感监测")
    row = page.get_by_role("row", name=re.compile("外白渡桥站"))
    expect(row).to_contain_text("最新")
    expect(row).to_contain_text("3.0 m")
    screenshot(page, "sensing-map")
    check_accessibility(page, known=frozenset())
    page.get_by_role("link", name="外白渡桥站").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("外白渡桥站")
    chart = page.get_by_role("img", name=re.compile("水位"))
    expect(chart).to_have_count(1)
    screenshot(page, "sensing-station")
    check_accessibility(page)
    page.get_by_role("link", name="最近 7 天").click()
    expect(page.get_by_text("最近 7 天")).to_have_attribute("aria-current", "page")
    check_accessibility(page)


def test_signed_in_staff_see_sensors_in_the_navigation(page, station) -> None:
    sign_in(page, "operator")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="传感监测").click()
    expect(page.get_by_role("table")).to_contain_text("外白渡桥站")
