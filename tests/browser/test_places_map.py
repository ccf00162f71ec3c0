"""The city map as a person uses it: districts, a point lookup without the map, grids when zoomed in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_look_up_a_point_without_the_map(page, city, gridded) -> None:
    sign_in(page, "viewer")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="城市地图").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("城市地图")
    expect(page.get_by_role("table")).to_contain_text("黄浦区")
    check_accessibility(page)
    page.get_by_label("经度").fill("121.4846")
    page.get_by_label("纬度").fill("31.2317")
    page.get_by_role("button", name="查询").click()
    selection = page.locator("#map-selection")
    expect(selection).to_contain_text(re.compile(r"310101\d{9}"))
    expect(selection).to_contain_text("合成（演示数据）")
    screenshot(page, "places-map-lookup")
    check_accessibility(page)
    page.get_by_label("经度").fill("116.39")
    page.get_by_label("纬度").fill("39.9")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("outside")


def test_zoom_in_and_click_a_grid(page, city, gridded) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "viewer")
    with page.expect_response(lambda r: "/ogcapi/collections/districts/items" in r.url and r.ok):
        page.goto("/places/map")
    page.wait_for_function("window.cityMap && document.querySelector('#city-map canvas')")
    expect(page.locator("#map-hint")).to_have_text("放大地图以查看单元网格。")
    with page.expect_response(lambda r: "/ogcapi/collections/unit-grids/items" in r.url and r.ok):
        page.evaluate("cityMap.setView([31.2317, 121.4846], 17, { animate: false })")
    expect(page.locator("#map-hint")).to_have_text("")
    page.wait_for_timeout(300)  # let Leaflet draw the new layer before clicking it
    page.locator("#city-map").click()
    expect(page.locator("#map-selection")).to_contain_text(re.compile(r"310101\d{9}"))
    expect(page.locator("#map-selection")).to_contain_text("黄浦区")
    screenshot(page, "places-map-grid")
    check_accessibility(page)
    assert errors == []  # the case and component layers load without script errors
