"""The traffic map and the index page as a person uses them, without signing in: segments drawn in their level's
colour, the time slider over the day's cycles (keyboard and buttons), the table that says the levels in words,
English on request, and the index chart with its description beside its table."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from smartcity.traffic import index
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.traffic.test_map_pages import make_traffic

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
STROKES = "els => els.map(e => e.getAttribute('stroke'))"
SEGMENTS = "#traffic-map path.traffic-segment"


@pytest.fixture
def traffic(client, database, city, gridded) -> list[datetime]:  # type: ignore[no-untyped-def]
    """Huangpu's four test segments; cycles of today at 08:00 (all 畅通), 08:05 and 08:10 (arterials 严重拥堵)."""
    return make_traffic(client, database)


def _label(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_the_map_moves_through_the_day_and_says_the_levels_in_words(page, traffic) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    config = index.load_config()
    free, severe = config.level(1).colour, config.level(5).colour
    page.goto("/traffic")  # open data: no sign-in
    expect(page.get_by_role("heading", level=1)).to_have_text("交通路况")
    huangpu = page.locator("#index-table").get_by_role("row", name=re.compile("黄浦区"))
    expect(huangpu).to_contain_text("严重拥堵")
    page.wait_for_function(f"document.querySelectorAll('{SEGMENTS}').length === 4")
    assert severe in page.eval_on_selector_all(SEGMENTS, STROKES)
    slider = page.get_by_role("slider")
    expect(slider).to_have_attribute("aria-valuetext", _label(traffic[2]))
    expect(page.get_by_role("button", name="下一周期")).to_be_disabled()
    screenshot(page, "traffic-map")
    check_accessibility(page)

    slider.focus()
    page.keyboard.press("Home")  # the earliest cycle of the day, from the keyboard
    expect(page.locator("#cycle-shown")).to_have_text(_label(traffic[0]))
    expect(slider).to_have_attribute("aria-valuetext", _label(traffic[0]))
    expect(page.locator("#state-title")).to_contain_text(_label(traffic[0]))
    expect(huangpu).to_contain_text("畅通")
    expect(huangpu).not_to_contain_text("拥堵")
    page.wait_for_function(
        f"[...document.querySelectorAll('{SEGMENTS}')].every(p => p.getAttribute('stroke') === '{free}')"
    )
    expect(page.get_by_role("status")).to_contain_text(_label(traffic[0]))
    check_accessibility(page)

    page.get_by_role("button", name="下一周期").click()
    expect(page.locator("#cycle-shown")).to_have_text(_label(traffic[1]))
    expect(page.locator("#congested-table")).to_contain_text("A1")
    screenshot(page, "traffic-map-cycle")
    check_accessibility(page)

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Traffic")
    row = page.locator("#index-table").get_by_role("row", name=re.compile("Huangpu District"))
    expect(row).to_contain_text("Severely congested")
    page.wait_for_function(f"document.querySelectorAll('{SEGMENTS}').length === 4")
    screenshot(page, "traffic-map-english")
    check_accessibility(page)
    assert errors == []


def test_the_index_page_charts_a_district_over_the_day(page, traffic) -> None:
    page.goto("/traffic/index")
    expect(page.get_by_role("heading", level=1)).to_have_text("交通指数")
    page.get_by_label("区域").select_option("310101")
    page.get_by_role("button", name="查询").click()
    chart = page.get_by_role("img", name=re.compile("黄浦区"))
    expect(chart).to_have_count(1)
    expect(chart).to_have_accessible_description(re.compile("最高 10.0（严重拥堵）"))
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("畅通")
    screenshot(page, "traffic-index")
    check_accessibility(page)


def test_a_reader_finds_the_congestion_report_in_the_navigation(page, traffic) -> None:
    sign_in(page, "viewer")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="交通拥堵分析").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("交通拥堵分析")
    expect(page.locator("#worst-table")).to_contain_text("九江路")
    screenshot(page, "traffic-congestion")
    check_accessibility(page)
