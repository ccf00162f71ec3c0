"""The evaluation page as a supervisor uses it: choose a period and grouping, read the table, get the CSV."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_supervisor_reads_the_evaluation(page, cases) -> None:
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="综合评价").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("综合评价")
    page.get_by_label("起始日期").fill("2020-01-01")
    page.get_by_label("分组", exact=True).select_option("district")
    page.get_by_role("button", name="查询").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name="310101")).to_be_visible()
    expect(table).to_contain_text("66.7%")  # closure rate: 2 of 3 due
    expect(page.get_by_role("img", name=re.compile("^按期结案率"))).to_have_count(2)  # trend and by group
    page.get_by_label("图表").select_option("closure_rate")
    page.get_by_role("button", name="查询").click()
    by_group = page.get_by_role("img", name=re.compile("^结案率 · 按分组"))
    expect(by_group).to_have_accessible_description(re.compile("310101: 66.7%"))
    screenshot(page, "supervisor-evaluation")
    check_accessibility(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载全部指标（CSV）").click()
    assert download.value.suggested_filename == "evaluation.csv"


def test_roles_without_the_permission_do_not_see_it(page, cases) -> None:
    sign_in(page, "handler")
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="综合评价")).to_have_count(0)
