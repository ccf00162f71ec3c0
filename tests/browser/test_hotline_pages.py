"""The hotline as its people use it: the operator's desk with the knowledge base, the department's steps,
reply and callback, duplicates merged on the page, and the citizen's submit and track pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from smartcity.hotline import knowledge
from smartcity.hotline import service as hotline
from tests.browser.conftest import check_accessibility, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(database, hotline_setup) -> None:
    with database.session() as s:
        knowledge.create(
            s,
            "supervisor",
            {"title": "广场舞噪声如何处理", "body": "晚上九点后仍有噪声的，由所在区生态环境部门和街道协调处理。"},
        )


def _step(page, who: str, number: str, button: str, text: str | None = None) -> None:
    page.context.clear_cookies()
    sign_in(page, who)
    page.goto(f"/hotline/orders/{number}")
    if text:
        page.get_by_label("内容（答复、理由、办理结果或回复）").fill(text)
    screenshot(page, f"{who}-hotline-next-step")
    page.get_by_role("button", name=button, exact=True).click()


def test_operator_takes_an_order_and_it_goes_round_the_loop(page, desk) -> None:
    sign_in(page, "operator")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="受理工单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("受理工单")
    page.get_by_label("搜索答复口径").fill("广场舞晚上噪声")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#kb-results")).to_contain_text("广场舞噪声如何处理")  # answered without leaving the form
    screenshot(page, "operator-hotline-knowledge-search")
    check_accessibility(page)
    page.get_by_label("诉求类型").select_option("complaint")
    page.get_by_label("诉求事项").select_option("HB01")
    page.get_by_label("诉求内容（什么问题、在哪里、从何时起）").fill("小区广场舞每晚十点后还在放音乐")
    page.get_by_label("电话").fill("13912345678")
    page.get_by_label("经度").fill("121.4846")
    page.get_by_label("纬度").fill("31.2317")
    screenshot(page, "operator-hotline-intake")
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("工单 H")
    number = page.get_by_role("heading", level=1).inner_text().split()[-1]
    expect(page.locator("main dl")).to_contain_text("13912345678")  # the desk sees the caller
    screenshot(page, "operator-hotline-order")
    check_accessibility(page)
    page.get_by_role("button", name="转办", exact=True).click()
    expect(page.locator("main dl")).to_contain_text("310101")
    screenshot(page, "operator-hotline-dispatched")

    _step(page, "handler", number, "签收")
    expect(page.locator("main dl")).to_contain_text("139****5678")  # departments see it masked
    _step(page, "handler", number, "办结")  # no result given: refused, with the reason
    expect(page.get_by_role("alert")).to_contain_text("note")
    screenshot(page, "handler-hotline-refused")
    page.get_by_label("内容（答复、理由、办理结果或回复）").fill("已约谈活动组织者，调整至21点前结束")
    page.get_by_role("button", name="办结", exact=True).click()
    _step(page, "operator", number, "答复市民", "已协调，活动将于每晚21点前结束")
    page.get_by_label("满意", exact=True).check()
    screenshot(page, "operator-hotline-callback")
    page.get_by_role("button", name="回访", exact=True).click()
    expect(page.locator("main dl")).to_contain_text("已归档")
    expect(page.locator(".timeline li")).to_have_count(6)
    screenshot(page, "operator-hotline-closed")
    check_accessibility(page)


def test_duplicates_are_merged_on_the_page(page, desk, database) -> None:
    with database.session() as s:
        intake = dict(channel="phone", order_type="report", matter_code="CG01", lon=121.4846, lat=31.2317)
        first = hotline.receive(
            s, hotline.Intake(description="路口垃圾堆积三天", **intake), actor="operator", role="operator"
        ).number
        second = hotline.receive(
            s, hotline.Intake(description="路口有一堆垃圾没人清理", **intake), actor="operator", role="operator"
        ).number
    sign_in(page, "operator")
    page.goto(f"/hotline/orders/{second}")
    expect(page.get_by_role("heading", name="疑似重复工单")).to_be_visible()
    screenshot(page, "operator-hotline-duplicates")
    check_accessibility(page)
    page.get_by_role("button", name=f"并入 {first}").click()
    expect(page.locator("main dl")).to_contain_text("已并单")
    expect(page.get_by_role("link", name=first)).to_be_visible()


def test_citizen_sends_and_follows_an_order(page, desk, settings, tmp_path, monkeypatch) -> None:
    import io

    from PIL import Image

    monkeypatch.setattr(settings, "media_dir", str(tmp_path / "media"))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 90, 90)).save(buffer, "JPEG")
    page.goto("/")
    page.get_by_role("link", name="提交诉求").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("联系 12345 市民服务热线")
    screenshot(page, "public-hotline-submit")
    check_accessibility(page)
    page.get_by_label("诉求类型").select_option("report")
    page.get_by_label("诉求内容（什么问题、在哪里、从何时起）").fill("<b>井盖</b>不见了")
    page.get_by_label("电话").fill("13912345678")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("alert")).to_contain_text("plain text")  # refused, the form kept
    screenshot(page, "public-hotline-refused")
    page.get_by_label("诉求内容（什么问题、在哪里、从何时起）").fill("人行道上的井盖不见了，很危险")
    page.get_by_label("照片（JPEG 或 PNG）").set_input_files(
        files=[{"name": "cover.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}]
    )
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工单已受理")
    number = page.locator(".order-number").inner_text()
    screenshot(page, "public-hotline-submitted")
    check_accessibility(page)
    page.get_by_role("link", name="查询此工单").click()
    page.get_by_label("电话号码后四位").fill("0000")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("没有与该工单号和电话匹配的工单")
    screenshot(page, "public-hotline-track-error")
    page.get_by_label("电话号码后四位").fill("5678")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text(number)
    expect(page.locator("main dl")).to_contain_text("已受理")
    screenshot(page, "public-hotline-track")
    check_accessibility(page)
    sign_in(page, "operator")  # the desk sees the photo the citizen sent
    page.goto(f"/hotline/orders/{number}")
    expect(page.get_by_role("img", name="市民提交的照片，第 1 张，共 1 张")).to_be_visible()


def test_knowledge_base_and_indicators_pages(page, desk) -> None:
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="知识库").click()
    page.get_by_label("标题").fill("社保卡补办")
    page.get_by_label("答复口径", exact=True).fill("携带身份证到任一社保网点办理挂失补办。")
    page.get_by_role("button", name="添加").click()
    expect(page.get_by_role("heading", level=3, name="社保卡补办")).to_be_visible()
    screenshot(page, "supervisor-knowledge-base")
    check_accessibility(page)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="热线指标").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("热线指标")
    expect(page.get_by_role("table")).to_be_visible()
    check_accessibility(page)
