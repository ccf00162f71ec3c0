"""Bus departures and parking guidance as a person uses them, without signing in: a stop found by its name, its
board saying each departure's status in words and updated live (a polite status line says when; a button
pauses the updates), the car parks with their free spaces and the nearest with room, English on request, and
axe-core's WCAG 2.1 AA check in each state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smartcity.traffic import transit
from tests.browser.conftest import check_accessibility
from tests.traffic.test_parking import PEOPLES_SQUARE
from tests.traffic.test_transit_parking_pages import freeze_transit_clock, make_car_parks, make_transit, noon

pytestmark = pytest.mark.browser

STATUS_ZH = re.compile(r"准点|晚点 \d+ 分钟|早 \d+ 分钟")
STATUS_EN = re.compile(r"on time|\d+ min late|\d+ min early")
EVERY_MS = 30_000


@pytest.fixture
def stop(client, database, city, monkeypatch) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A stop of the small demo feed with buses reporting at today's noon (the transit clock fixed there); returns
    its id and name."""
    moment = noon()
    freeze_transit_clock(monkeypatch, moment)
    stop_id = make_transit(client, database, moment)
    with database.session() as session:
        return stop_id, transit.stop_or_404(session, stop_id).stop_name or stop_id


def test_a_person_finds_a_stop_and_follows_its_departures_live(page, stop) -> None:
    stop_id, name = stop
    errors: list[str] = []
    fetched: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: fetched.append(request.url) if "/api/transit/" in request.url else None)
    page.clock.install()  # the 30-second updates on demand (time still flows)
    page.goto("/transit")  # open data: no sign-in
    expect(page.get_by_role("heading", level=1)).to_have_text("公交到站")
    page.get_by_label("站名或站点编号").fill(name)
    page.get_by_role("button", name="查找站点").click()
    expect(page.get_by_role("status")).to_have_text("找到 1 个站点。")
    check_accessibility(page)

    page.get_by_role("link", name=name).click()
    page.wait_for_url(f"**/transit/stops/{stop_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    table = page.get_by_role("table", name=re.compile(name))
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table).to_contain_text("仅有时刻表——无实时信息")  # a run no bus reports on: never "on time"
    expect(table.locator("td.realtime").first).to_have_text(STATUS_ZH)
    status = page.locator("#board-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text("发车信息截至")
    pause = page.get_by_role("button", name="暂停实时更新")
    expect(pause).to_have_attribute("aria-pressed", "false")
    rows = table.locator("tbody tr").count()
    check_accessibility(page)

    page.clock.run_for(EVERY_MS)  # the next update: the table body replaced, the status line says when
    expect(status).to_contain_text("发车信息已于")
    assert len(fetched) == 1
    expect(table.locator("tbody tr")).to_have_count(rows)
    expect(table.locator("td.realtime").first).to_have_text(STATUS_ZH)
    expect(table).to_contain_text("仅有时刻表——无实时信息")
    check_accessibility(page)

    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    expect(status).to_have_text("实时更新已暂停。恢复之前表格不会更新。")
    page.clock.run_for(EVERY_MS * 3)
    page.wait_for_timeout(300)
    assert len(fetched) == 1  # no update while paused
    expect(status).to_have_text("实时更新已暂停。恢复之前表格不会更新。")
    check_accessibility(page)

    pause.click()  # resume: one update at once, then every 30 s again
    expect(pause).to_have_attribute("aria-pressed", "false")
    expect(status).to_contain_text("发车信息已于")
    assert len(fetched) == 2

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    english = page.get_by_role("table", name=re.compile("Next departures from"))
    expect(english).to_contain_text("scheduled only — no real-time information")
    expect(english.locator("td.realtime").first).to_have_text(STATUS_EN)
    expect(page.get_by_role("button", name="Pause live updates")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#board-status")).to_contain_text("Departures as of")
    check_accessibility(page)
    assert errors == []


def test_the_parking_page_lists_car_parks_and_finds_the_nearest_with_room(page, client, city) -> None:
    make_car_parks(client)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/traffic/parking")
    expect(page.get_by_role("heading", level=1)).to_have_text("停车诱导")
    listing = page.locator("#car-parks-table")
    expect(listing.get_by_role("row", name=re.compile("人民广场停车场"))).to_contain_text("0（已满）")
    expect(listing.get_by_role("row", name=re.compile("七宝P\\+R停车场"))).to_contain_text("是，换乘七宝站（9 号线）")
    expect(listing.get_by_role("row", name=re.compile("老旧数据停车场"))).to_contain_text("数据过期")
    check_accessibility(page)

    lon, lat = PEOPLES_SQUARE
    page.get_by_label("经度", exact=True).fill(str(lon))
    page.get_by_label("纬度", exact=True).fill(str(lat))
    page.get_by_label("半径（米）").fill("5000")
    page.get_by_role("button", name="查找停车场").click()
    nearest = page.locator("#nearest-table tbody tr")
    expect(nearest).to_have_count(2)  # the full one and the one with an old reading are left out
    expect(nearest.nth(0)).to_contain_text("南京东路停车场")
    expect(nearest.nth(1)).to_contain_text("七宝P+R停车场")
    check_accessibility(page)

    page.get_by_label("半径（米）").fill("0")
    page.get_by_role("button", name="查找停车场").click()
    expect(page.get_by_role("alert")).to_contain_text("请输入以米为单位的半径")
    expect(page.get_by_label("半径（米）")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)

    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"longitude": 121.4840, "latitude": 31.2370})
    page.get_by_label("经度", exact=True).fill("")
    page.get_by_role("button", name="使用我的位置").click()
    expect(page.locator("#locate-status")).to_have_text("已填入您的位置。请选择“查找停车场”。")
    expect(page.get_by_label("经度", exact=True)).to_have_value("121.484000")
    expect(page.get_by_label("纬度", exact=True)).to_have_value("31.237000")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Parking")
    row = page.locator("#car-parks-table").get_by_role("row", name=re.compile("CP-C car park"))
    expect(row).to_contain_text("Yes, for Qibao station (line 9)")
    stale = page.locator("#car-parks-table").get_by_role("row", name=re.compile("CP-D car park"))
    expect(stale).to_contain_text("stale, not used for guidance")
    check_accessibility(page)
    assert errors == []
