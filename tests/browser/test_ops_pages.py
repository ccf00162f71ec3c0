"""The operations centre as a supervisor uses it: lands there after signing in, reads today's figures in the
tiles, switches a map layer off and on, drills down to 黄浦区 (from the list, from the keyboard and by clicking
the map) and back, sees a warning published elsewhere arrive without reloading, pauses the live updates, opens
the wall screen, and switches to English. Every view passes the accessibility check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.ops.conftest import publish_warning, raise_alarm
from tests.ops.conftest import stations as ops_stations  # noqa: F401 - the fixture
from tests.traffic.test_map_pages import make_traffic

pytestmark = pytest.mark.browser
READY = "window.opsReady === true"
CASES = "#ops-map path.ops-case"


@pytest.fixture
def ops_city(client, database, cases, ops_stations) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    """The five test cases in Huangpu, an alarm inside Huangpu and one outside, and today's traffic cycles."""
    raise_alarm(client, ops_stations["人民广场水位站"], "人民广场 水位超警戒")
    raise_alarm(client, ops_stations["武宁路桥站"], "武宁路桥 水位超警戒")
    make_traffic(client, database)
    return cases


def _figure(page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-figure="{key}"]')


def test_a_supervisor_lands_on_the_centre_switches_layers_and_drills_down(page, ops_city) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "supervisor")
    expect(page).to_have_url(re.compile(r"/ops$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("城市运行中心：上海市")
    tiles = page.get_by_role("region", name="今日关键指标").or_(page.locator("#ops-tiles"))
    expect(tiles.first).to_be_visible()
    expect(_figure(page, "cases.new")).to_have_text("5")
    expect(_figure(page, "cases.overdue")).to_have_text("1")
    expect(_figure(page, "alarms.unacknowledged")).to_have_text("2")
    expect(page.locator('[data-tile="traffic"] .ops-tile-notes')).to_contain_text("统计周期截至")
    expect(page.get_by_role("link", name="网格案件")).to_have_attribute("href", "/cases")
    page.wait_for_function(READY)
    expect(page.locator(CASES)).to_have_count(2)
    expect(page.locator("#ops-layer-counts")).to_contain_text("在办案件：2")
    screenshot(page, "ops-centre")
    check_accessibility(page)

    layer = page.get_by_role("checkbox", name="在办案件")
    expect(layer).to_be_checked()
    layer.uncheck()
    expect(page.locator(CASES)).to_have_count(0)
    layer.check()
    expect(page.locator(CASES)).to_have_count(2)
    expect(page.locator(f"{CASES}.ops-overdue")).to_have_count(1)

    page.get_by_role("navigation", name="各区").get_by_role("link", name="黄浦区").click()
    expect(page).to_have_url(re.compile(r"/ops\?area=310101$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("城市运行中心：黄浦区")
    breadcrumb = page.get_by_role("navigation", name="当前区域")
    expect(breadcrumb.get_by_role("link", name="上海市")).to_be_visible()
    expect(breadcrumb.locator("[aria-current=location]")).to_have_text("黄浦区")
    expect(_figure(page, "alarms.unacknowledged")).to_have_text("1")  # the alarm outside Huangpu is gone
    expect(page.get_by_role("navigation", name="街道")).to_be_visible()
    page.wait_for_function(READY)
    screenshot(page, "ops-district")
    check_accessibility(page)

    breadcrumb.get_by_role("link", name="上海市").focus()  # back up from the keyboard
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ops\?area=310000$"))
    expect(_figure(page, "alarms.unacknowledged")).to_have_text("2")

    page.wait_for_function(READY)
    point = page.evaluate("""() => { window.opsMap.setView([31.212, 121.478], 14, { animate: false });
        const p = window.opsMap.latLngToContainerPoint([31.212, 121.478]); return [p.x, p.y]; }""")
    page.locator("#ops-map").click(position={"x": point[0], "y": point[1]})  # a click on Huangpu drills down
    expect(page).to_have_url(re.compile(r"/ops\?area=310101$"))
    assert errors == []


def test_a_change_made_elsewhere_arrives_without_reloading(page, client, ops_city) -> None:
    sign_in(page, "supervisor")
    page.goto("/ops?area=310101")
    page.wait_for_function(READY)
    page.wait_for_function("window.opsFigures >= 1")  # the stream is open
    expect(page.locator("#ops-connection")).to_have_text("实时更新中。")
    page.evaluate("window.notReloaded = true")
    expect(_figure(page, "warnings.count")).to_have_text("0")

    publish_warning(client, district="310101")  # two emergency officers, through the API

    expect(_figure(page, "warnings.count")).to_have_text("1", timeout=5_000)
    expect(page.locator("#ops-announcer")).to_contain_text("生效预警 · 生效中 0 → 1")
    expect(page.locator('[data-tile="warnings"] .ops-tile-notes')).to_contain_text("黄浦区发布暴雨黄色预警")
    expect(page.locator("#ops-lists")).to_contain_text("黄浦区发布暴雨黄色预警")  # the list beside the map too
    page.wait_for_function("document.querySelectorAll('#ops-map path.ops-warning').length > 0")
    assert page.evaluate("window.notReloaded") is True
    check_accessibility(page)

    pause = page.get_by_role("button", name="暂停实时更新")
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#ops-connection")).to_have_text("实时更新已暂停。")
    pause.click()
    expect(page.locator("#ops-connection")).to_have_text("实时更新中。")


def test_the_wall_screen_has_large_type_and_no_navigation(page, ops_city) -> None:
    sign_in(page, "supervisor")
    page.get_by_role("link", name="大屏模式").click()
    expect(page).to_have_url(re.compile(r"/ops/wall\?area=310000$"))
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)
    expect(_figure(page, "cases.new")).to_have_text("5")
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('[data-figure=\"cases.new\"]')).fontSize)")
    assert size >= 40
    page.wait_for_function(READY)
    screenshot(page, "ops-wall")
    check_accessibility(page)
    page.get_by_role("navigation", name="各区").get_by_role("link", name="黄浦区").click()
    expect(page).to_have_url(re.compile(r"/ops/wall\?area=310101$"))  # drill-down stays on the wall screen
    page.get_by_role("link", name="退出大屏模式").click()
    expect(page).to_have_url(re.compile(r"/ops\?area=310101$"))


def test_the_centre_in_english(page, ops_city) -> None:
    sign_in(page, "viewer")
    expect(page).to_have_url(re.compile(r"/ops$"))
    page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Operations centre: Shanghai")
    expect(page.get_by_role("link", name="Grid cases")).to_be_visible()
    expect(page.locator('[data-tile="cases"]')).to_contain_text("New today")
    expect(page.get_by_role("checkbox", name="Open cases")).to_be_checked()
    page.wait_for_function(READY)
    check_accessibility(page)
