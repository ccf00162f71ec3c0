"""The plan indicators as a supervisor uses them: enter a baseline and a later value with their source document, see
the progress (in figures, not only a bar) and the trend chart beside its table, be told beside the field what is
missing, correct a value (a new version; the history shows both), open the yearly report, switch to English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in

pytestmark = pytest.mark.browser

SOURCE = "上海市通信管理局《2012年通信业发展统计公报》"


def _enter(page, year: str, value: str, source: str = SOURCE) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("年份").fill(year)
    page.get_by_label("数值（万户）").fill(value)
    page.get_by_label("来源文件", exact=True).fill(source)
    page.get_by_role("button", name="记录数值").click()


def test_a_supervisor_enters_corrects_and_reports(page, city) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="规划指标").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("规划指标")
    row = page.locator("#kpi-table").get_by_role("row", name=re.compile("光纤到户能力覆盖家庭数"))
    expect(row).to_contain_text("≥ 650")
    expect(row).to_contain_text("尚无数值")
    check_accessibility(page)

    row.get_by_role("link", name="光纤到户能力覆盖家庭数").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("光纤到户能力覆盖家庭数")
    expect(page.get_by_text("光纤到户能力覆盖650万户以上家庭")).to_be_visible()  # the plan's own words
    _enter(page, "2010", "300", source="")  # no source document: refused, said beside the field
    expect(page.get_by_role("alert")).to_contain_text("请注明数据来源文件")
    expect(page.get_by_label("来源文件", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("数值（万户）")).to_have_value("300")  # the form comes back as typed
    check_accessibility(page)

    page.get_by_label("来源文件", exact=True).fill("上海市统计局《2010年上海市国民经济和社会发展统计公报》")
    page.get_by_role("button", name="记录数值").click()
    expect(page.get_by_role("status")).to_have_text("数值已记录。")
    _enter(page, "2012", "475")
    expect(page.get_by_role("status")).to_have_text("数值已记录。")
    expect(page.locator("#progress-value")).to_contain_text("50.0%")
    expect(page.locator("#progress-value")).to_contain_text("尚未达标")
    chart = page.get_by_role("img", name="光纤到户能力覆盖家庭数：各期数值")
    expect(chart).to_be_visible()
    expect(page.locator("#trend-table tbody tr")).to_have_count(2)
    check_accessibility(page)
    screenshot(page, "supervisor-kpi-indicator")

    page.get_by_role("link", name="更正 2012 的数值（第 1 版）").click()
    expect(page.get_by_role("heading", name="更正 2012 的数值（第 1 版）")).to_be_visible()
    page.get_by_label("数值（万户）").fill("510")
    page.get_by_label("更正原因").fill("统计公报修订版更正了全年数")
    page.get_by_role("button", name="记录更正").click()
    expect(page.get_by_role("status")).to_contain_text("更正已记录为新版本")
    history = page.locator("#history-table")
    expect(history.get_by_role("row", name=re.compile("已被第 2 版取代"))).to_contain_text("475")
    expect(history.get_by_role("row", name=re.compile("现行")).first).to_contain_text("510")
    expect(history).to_contain_text("统计公报修订版更正了全年数")
    expect(page.locator("#progress-value")).to_contain_text("60.0%")  # (510 − 300) / (650 − 300)
    check_accessibility(page)

    page.goto("/kpi")
    page.get_by_role("link", name="2012年报告").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2012年行动计划指标评估")
    expect(page.get_by_role("link", name="下载报告（PDF）")).to_have_attribute("href", "/kpi/report/2012.pdf")
    expect(page.get_by_role("row", name=re.compile("光纤到户能力覆盖家庭数"))).to_contain_text("60.0%")
    check_accessibility(page)

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation of the plan's indicators, 2012")
    expect(page.get_by_role("row", name=re.compile("Households covered by fibre-to-the-home"))).to_contain_text(
        "not met yet"
    )
    check_accessibility(page)
    pdf = page.request.get("/kpi/report/2012.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    assert errors == []
