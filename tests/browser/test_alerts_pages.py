"""The alerts pages as people use them: an emergency officer acknowledges, shelves and comments an alarm from
the console; a supervisor writes a rule through the form (a refused one first); an officer drafts a bulletin
by drawing its area on the map, a second officer approves and publishes it, and anyone then sees it on the
public warnings page, in Chinese or English. Every page passes the accessibility check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smartcity.alerts import hazards
from tests.alerts.test_suggestions import _rain
from tests.alerts.test_suggestions import _station as _gauge
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.conftest import bearer
from tests.sensing.conftest import stations  # noqa: F401 - the fixture
from tests.sensing.test_sta import _observe

pytestmark = pytest.mark.browser
NAV = "主导航"


@pytest.fixture
def alarm(client, stations) -> int:  # noqa: F811 - the fixture imported above
    ds = stations["外白渡桥站"]
    spec = {"kind": "threshold", "name": "外白渡桥 水位超警戒", "severity": "high", "datastream": ds, "op": "ge",
            "value": 4.0, "clear": {"value": 3.8}, "label": "水位", "unit": "m"}  # fmt: skip
    assert (
        client.post("/api/alerts/rules", json={"spec": spec}, headers=bearer(client, "supervisor")).status_code == 201
    )
    assert _observe(client, ds, 4.3, 5).status_code == 201
    (raised,) = client.get("/api/alerts/alarms", headers=bearer(client, "supervisor")).json()
    return raised["id"]


def test_an_officer_acknowledges_shelves_and_comments_an_alarm(page, alarm) -> None:
    sign_in(page, "emergency")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="报警台").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("报警台")
    row = page.get_by_role("row", name=re.compile("外白渡桥 水位超警戒"))
    expect(row).to_contain_text("未确认")
    expect(row).to_contain_text("外白渡桥站")
    expect(row).to_contain_text("4.3")
    screenshot(page, "emergency-alarm-console")
    check_accessibility(page)
    row.get_by_role("button", name=re.compile("^确认")).click()
    expect(page.get_by_role("status")).to_have_text("报警已确认。")
    expect(page.get_by_role("row", name=re.compile("外白渡桥 水位超警戒"))).to_contain_text("已确认")
    screenshot(page, "emergency-alarm-acknowledged")
    check_accessibility(page)

    page.get_by_role("link", name="外白渡桥 水位超警戒").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("外白渡桥 水位超警戒")
    screenshot(page, "emergency-alarm-detail")
    check_accessibility(page)
    page.get_by_label("原因").fill("   ")  # blank: refused by the server, said beside the field
    page.get_by_role("button", name="搁置", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("say why the alarm is shelved")
    expect(page.get_by_label("原因")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "emergency-alarm-shelve-refused")
    check_accessibility(page)
    page.get_by_label("原因").fill("水位计检修")
    page.get_by_label("搁置至（北京时间）").fill(_in_hours(page, 3))
    page.get_by_role("button", name="搁置", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("报警已搁置。")
    page.get_by_label("备注内容").fill("已通知水务部门")
    page.get_by_role("button", name="添加备注").click()
    expect(page.locator(".timeline")).to_contain_text("已通知水务部门")
    expect(page.locator(".timeline li")).to_have_count(4)  # raised, acknowledged, shelved, comment
    screenshot(page, "emergency-alarm-history")
    check_accessibility(page)

    page.get_by_role("link", name="返回报警台").click()
    expect(page.get_by_role("row", name=re.compile("外白渡桥 水位超警戒"))).to_have_count(0)  # shelved: not listed
    page.get_by_label("搁置", exact=True).select_option("yes")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("row", name=re.compile("外白渡桥 水位超警戒"))).to_be_visible()
    screenshot(page, "emergency-alarms-shelved")


def _in_hours(page, hours: int) -> str:
    return page.evaluate(
        """hours => { const d = new Date(Date.now() + hours * 3600e3 + 8 * 3600e3);
                      return d.toISOString().slice(0, 16); }""",
        hours,
    )


def test_a_supervisor_writes_a_rule_through_the_form(page, stations) -> None:  # noqa: F811
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="报警规则").click()
    check_accessibility(page)
    page.get_by_role("link", name="新建规则").click()
    expect(page.get_by_label("区间下限")).to_be_hidden()  # only the chosen kind's fields are shown
    screenshot(page, "supervisor-rule-form")
    check_accessibility(page)
    page.get_by_label("规则名称").fill("武宁路桥 水位超警戒")
    page.get_by_label("类型").select_option("threshold")
    page.get_by_label("级别").select_option("high")
    page.get_by_label("数据流", exact=True).select_option(str(stations["武宁路桥站"]))
    page.get_by_label("比较方式（阈值）").select_option("gt")
    page.get_by_label("限值（阈值；累计时为时间窗内总量）").fill("4.5")
    page.get_by_label("消除", exact=True).select_option("value")
    page.get_by_label("消除值或死区").fill("4.8")  # above the limit: refused with the reason beside the field
    page.get_by_role("button", name="保存规则").click()
    expect(page.get_by_role("alert")).to_contain_text("clear.value must be at or below value")
    expect(page.get_by_label("消除值或死区")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "supervisor-rule-refused")
    check_accessibility(page)
    page.get_by_label("消除值或死区").fill("4.3")
    page.get_by_label("触发延时（秒：条件须持续这么久）").fill("300")
    page.get_by_role("button", name="保存规则").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("武宁路桥 水位超警戒")
    expect(page.get_by_role("status")).to_have_text("规则已保存为新版本。")
    expect(page.locator("pre.spec").first).to_contain_text('"for_seconds": 300.0')
    screenshot(page, "supervisor-rule-saved")
    check_accessibility(page)
    page.get_by_role("link", name="修改规则").click()
    expect(page.get_by_label("限值（阈值；累计时为时间窗内总量）")).to_have_value("4.5")
    page.get_by_label("限值（阈值；累计时为时间窗内总量）").fill("4.6")
    page.get_by_label("本版本说明（可选）").fill("汛期调整")
    page.get_by_role("button", name="保存规则").click()
    versions = page.get_by_role("table")
    expect(versions.get_by_role("row")).to_have_count(3)  # the heading row and two versions
    expect(versions).to_contain_text("汛期调整")
    screenshot(page, "supervisor-rule-versions")


def _click_map(page, selector: str, points: list[tuple[int, int]]) -> None:
    page.wait_for_function(f"document.querySelectorAll('{selector} path.leaflet-interactive').length > 0")
    for x, y in points:
        page.locator(selector).click(position={"x": x, "y": y})


@pytest.mark.usefixtures("huangpu")
def test_a_bulletin_drawn_on_the_map_is_approved_by_a_second_officer_and_seen_by_everyone(page, city) -> None:
    sign_in(page, "emergency")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="预警信息").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预警信息")
    check_accessibility(page)
    page.get_by_role("link", name="新建预警信息").click()
    check_accessibility(page)
    page.get_by_label("灾种").select_option("heat")
    expect(page.locator("#field-colour option[value=blue]")).to_be_disabled()  # heat has no blue warning
    page.get_by_label("颜色").select_option("orange")
    _click_map(page, "#draw-map", [(220, 140), (380, 160), (300, 300)])
    area = page.get_by_role("textbox", name="绘制区域")
    expect(area).to_have_value(re.compile(r"^121\.\d+, 31\.\d+\n121\.\d+, 31\.\d+\n121\.\d+, 31\.\d+$"))
    expect(page.locator("#draw-status")).to_contain_text("已添加顶点")
    page.get_by_label("区域描述", exact=True).fill("外滩沿岸")
    page.get_by_label("英文区域描述").fill("Along the Bund")
    page.get_by_label("标题", exact=True).fill("外滩沿岸发布高温橙色预警")
    expect(page.locator("#hint-headline")).to_contain_text("12 / 70")
    page.get_by_label("预警内容", exact=True).fill("预计今天白天最高气温将升至 37 ℃ 以上。")
    page.get_by_label("防御指引", exact=True).fill("减少户外活动，注意防暑降温。")
    page.get_by_label("英文标题").fill("Orange heat warning for the Bund")
    page.get_by_label("英文防御指引").fill("Stay indoors in the afternoon.")
    screenshot(page, "emergency-bulletin-editor")
    check_accessibility(page)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("status")).to_have_text("预警信息已保存。")
    expect(page.get_by_role("button", name="审核通过")).to_have_count(0)  # not by whoever drafted it
    expect(page.get_by_text("请由另一位值班员审核")).to_be_visible()
    screenshot(page, "emergency-bulletin-draft")
    check_accessibility(page)
    bulletin_url = page.url.split("?")[0]

    page.context.clear_cookies()
    sign_in(page, "second_emergency")
    page.goto(bulletin_url)
    expect(page.locator("dl.facts")).to_contain_text("高温橙色预警")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("status")).to_have_text("预警信息已审核通过。")
    screenshot(page, "emergency-bulletin-approved")
    check_accessibility(page)
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_role("status")).to_have_text("预警已发布。")
    cap_link = page.get_by_role("link", name=re.compile("^SC-WARN-"))
    expect(cap_link).to_be_visible()
    screenshot(page, "emergency-bulletin-published")
    check_accessibility(page)

    page.context.clear_cookies()  # anyone, without an account
    page.goto("/warnings")
    expect(page.get_by_role("heading", level=1)).to_have_text("生效预警")
    warning = page.get_by_role("article")
    expect(warning.get_by_role("heading", level=2)).to_have_text("高温橙色预警 外滩沿岸发布高温橙色预警")
    expect(warning).to_contain_text("外滩沿岸")
    expect(warning).to_contain_text("减少户外活动")
    feed = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    expect(feed).to_have_attribute("href", "/alerts/cap/feed.atom")
    page.wait_for_function("document.querySelectorAll('#area-map path.leaflet-interactive').length > 1")
    screenshot(page, "public-warnings")
    check_accessibility(page)
    page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Warnings in force")
    expect(warning.get_by_role("heading", level=2)).to_have_text("Orange heat warning Orange heat warning for the Bund")
    expect(warning.locator("dd[lang=zh-CN]")).to_contain_text("预计今天白天")  # no English given: Chinese, marked
    expect(warning).to_contain_text("Along the Bund")  # the area in English, as the officer wrote it
    screenshot(page, "public-warnings-english")
    check_accessibility(page)
    response = page.request.get(page.get_by_role("link", name=re.compile("^CAP message")).get_attribute("href"))
    assert response.ok and b"Orange heat warning for the Bund" in response.body()

    page.goto("/sensing")  # the sensor map shows the warning's area on a layer of its own
    layer = page.get_by_role("checkbox", name="Warnings in force")
    expect(layer).to_be_checked()
    orange = f"#sensor-map path[fill='{hazards.colour_hex('orange')}']"
    page.wait_for_function(f'document.querySelectorAll("{orange}").length === 1')
    screenshot(page, "public-sensing-warnings")
    check_accessibility(page)
    layer.uncheck()
    expect(page.locator(orange)).to_have_count(0)


@pytest.mark.usefixtures("huangpu")
def test_a_suggested_warning_becomes_a_draft_when_the_officer_asks(page, client, city) -> None:
    _rain(client, _gauge(client, "人民广场雨量站", "rainfall", "310101"), [6.0] * 9)  # 54 mm in 90 minutes
    sign_in(page, "emergency")
    page.goto("/alerts/bulletins")
    suggestion = page.get_by_role("row", name=re.compile("暴雨"))
    expect(suggestion).to_contain_text("人民广场雨量站")
    expect(suggestion.locator(".warning-badge")).to_have_text("橙色 · 暴雨")
    screenshot(page, "emergency-bulletin-suggestions")
    check_accessibility(page)
    suggestion.get_by_role("button", name=re.compile("^据此起草")).click()
    expect(page.locator(".notice[role=status]")).to_have_text("已生成草稿：请核对后保存。")
    expect(page.get_by_label("标题", exact=True)).to_have_value("黄浦区发布暴雨橙色预警")
    expect(page.get_by_label("黄浦区")).to_be_checked()
    screenshot(page, "emergency-bulletin-suggested-draft")
    check_accessibility(page)
