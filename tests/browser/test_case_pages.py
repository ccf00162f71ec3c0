"""A case taken through the loop in the browser: each role opens it, sees only its own next steps, acts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from smartcity.cases import service as case_service
from smartcity.security import service as security
from tests.browser.conftest import check_accessibility, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def reported(database, case_setup) -> str:
    with database.session() as s:
        inspector = security.principal_for(s, security.user_by_name(s, "inspector"), via="test")
        return case_service.report(
            s, inspector, kind="event", class_code="0102", description="路口暴露垃圾", lon=121.4846, lat=31.2317
        ).number


def _step(page, who: str, number: str, button: str, note: str | None = None) -> None:
    page.context.clear_cookies()
    sign_in(page, who)
    page.goto(f"/cases/{number}")
    if note:
        page.get_by_label("说明").fill(note)
    screenshot(page, f"{who}-case-next-step")
    page.get_by_role("button", name=button, exact=True).click()


def test_the_loop_in_the_browser(page, reported) -> None:
    sign_in(page, "operator")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="案卷").click()
    page.get_by_role("link", name=reported).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reported)
    expect(page.get_by_role("button", name="派遣")).to_have_count(0)  # not the operator's step
    screenshot(page, "operator-case-register")
    check_accessibility(page)
    page.get_by_role("button", name="立案", exact=True).click()
    expect(page.locator("main dl")).to_contain_text("立案")

    _step(page, "dispatcher", reported, "派遣")
    expect(page.locator("main dl")).to_contain_text("310101")
    screenshot(page, "dispatcher-case-dispatched")
    _step(page, "handler", reported, "签收")
    _step(page, "handler", reported, "反馈")  # without a note: refused, with the reason shown
    expect(page.get_by_role("alert")).to_contain_text("note")
    screenshot(page, "handler-case-refused")
    check_accessibility(page)
    page.get_by_label("说明").fill("已清除")
    page.get_by_role("button", name="反馈", exact=True).click()
    expect(page.get_by_role("button", name="核查通过")).to_have_count(0)  # handlers never close
    _step(page, "inspector", reported, "核查通过")
    expect(page.locator("main dl")).to_contain_text("结案")
    expect(page.locator(".timeline li")).to_have_count(6)
    screenshot(page, "inspector-case-closed")
    check_accessibility(page)


def test_inspector_reports_with_a_photo(page, reported, tmp_path, settings, monkeypatch) -> None:
    import io

    from PIL import Image

    monkeypatch.setattr(settings, "media_dir", str(tmp_path / "media"))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 40)).save(buffer, "PNG")
    sign_in(page, "inspector")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="上报问题").click()
    check_accessibility(page)
    page.get_by_role("button", name="上报", exact=True).click()  # nothing chosen: refused, form kept
    expect(page.get_by_role("heading", level=1)).to_have_text("上报问题")
    screenshot(page, "inspector-report-refused")
    page.get_by_label("类别").select_option("event:0102")
    page.get_by_label("问题描述").fill("绿地旁暴露垃圾")
    page.get_by_label("经度").fill("121.4846")
    page.get_by_label("纬度").fill("31.2317")
    page.get_by_label("照片（JPEG 或 PNG）").set_input_files(
        files=[{"name": "p.png", "mimeType": "image/png", "buffer": buffer.getvalue()}]
    )
    screenshot(page, "inspector-report-form")
    page.get_by_role("button", name="上报", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("案卷")
    expect(page.locator("main dl")).to_contain_text("绿地旁暴露垃圾")
    expect(page.get_by_role("img")).to_have_count(1)
    screenshot(page, "inspector-report-done")
    check_accessibility(page)


def test_work_queue_shows_only_my_next_steps(page, reported, database, settings) -> None:
    sign_in(page, "dispatcher")
    page.goto("/cases?mine=true")
    expect(page.get_by_role("link", name=reported)).to_have_count(0)  # not registered yet: not the dispatcher's
    page.context.clear_cookies()
    sign_in(page, "operator")
    page.goto("/cases")
    page.get_by_label("只看待我处理的").check()
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("link", name=reported)).to_be_visible()
    screenshot(page, "operator-case-queue")
    check_accessibility(page)
    _advance(database, settings, reported, [("operator", "register", None)])
    page.context.clear_cookies()
    sign_in(page, "dispatcher")
    page.goto("/cases?mine=true")  # the dispatch queue, with the department the responsibility grids propose
    expect(page.get_by_role("row", name=reported)).to_contain_text("建议派往：310101")
    screenshot(page, "dispatcher-work-queue")


def test_supervisor_approves_an_extension_on_the_page(page, reported, database, settings) -> None:
    with database.session() as s:
        who = {
            n: security.principal_for(s, security.user_by_name(s, n), via="test")
            for n in ("operator", "dispatcher", "handler")
        }
    for actor, action, note in (
        ("operator", "register", None),
        ("dispatcher", "dispatch", None),
        ("handler", "request_extension", "需要更换井盖"),
    ):
        with database.session() as s:
            case = case_service.get_case(s, who[actor], reported)
            case_service.act(
                s, settings, who[actor], reported, action, case_service.Step(version=case.version, note=note)
            )
    with database.session() as s:
        before = case_service.get_case(s, who["operator"], reported).deadline
    sign_in(page, "supervisor")
    page.goto(f"/cases/{reported}")
    page.get_by_label("时长").fill("2")
    screenshot(page, "supervisor-case-extension")
    page.get_by_role("button", name="批准延期", exact=True).click()
    expect(page.locator(".timeline li")).to_have_count(5)
    with database.session() as s:
        assert case_service.get_case(s, who["operator"], reported).deadline > before


def _advance(database, settings, number: str, steps: list[tuple[str, str, str | None]]) -> None:
    for actor, action, note in steps:
        with database.session() as s:
            who = security.principal_for(s, security.user_by_name(s, actor), via="test")
            case = case_service.get_case(s, who, number)
            case_service.act(s, settings, who, number, action, case_service.Step(version=case.version, note=note))


def _another(database) -> str:
    with database.session() as s:
        inspector = security.principal_for(s, security.user_by_name(s, "inspector"), via="test")
        return case_service.report(
            s, inspector, kind="event", class_code="0102", description="人行道积水", lon=121.4846, lat=31.2317
        ).number


def test_supervision_desk(page, reported, database, settings) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from smartcity.cases.models import Case

    handling = [("operator", "register", None), ("dispatcher", "dispatch", None), ("handler", "accept", None)]
    extension, overdue, suspended = reported, _another(database), _another(database)
    _advance(database, settings, extension, [*handling, ("handler", "request_extension", "需要更换井盖")])
    _advance(database, settings, overdue, handling)
    _advance(database, settings, suspended, [*handling, ("supervisor", "suspend", "等待管线迁改")])
    with database.session() as s:
        s.execute(update(Case).where(Case.number == overdue).values(deadline=datetime(2020, 1, 1, tzinfo=UTC)))

    sign_in(page, "handler")
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="督办台")).to_have_count(0)
    page.context.clear_cookies()
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="督办台").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("督办台")
    expect(page.get_by_role("cell", name="需要更换井盖")).to_be_visible()
    expect(page.get_by_role("cell", name="等待管线迁改")).to_be_visible()
    screenshot(page, "supervisor-supervision-desk")
    check_accessibility(page)

    page.get_by_label("时长").fill("2")
    page.get_by_role("button", name=f"批准 {extension} 延期").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("督办台")  # back on the desk
    expect(page.get_by_text("没有延期申请。")).to_be_visible()

    page.get_by_label("督办意见").fill("今日下班前处置完毕")
    page.get_by_role("button", name=f"督办 {overdue}").click()
    expect(page.locator("#supervised-title + table")).to_contain_text(overdue)

    page.get_by_role("button", name=f"恢复处置 {suspended}").click()
    expect(page.get_by_text("没有缓办案卷。")).to_be_visible()
    check_accessibility(page)
    with database.session() as s:
        admin = security.principal_for(s, security.user_by_name(s, "admin"), via="test")
        actions = {
            n: [e.action for e in case_service.history(s, case_service.get_case(s, admin, n))][-1]
            for n in (extension, overdue, suspended)
        }
    assert actions == {extension: "approve_extension", overdue: "supervise", suspended: "resume"}


def test_handler_feeds_back_with_an_after_photo(page, reported, database, settings, tmp_path, monkeypatch) -> None:
    import io

    from PIL import Image

    monkeypatch.setattr(settings, "media_dir", str(tmp_path / "media"))
    _advance(
        database,
        settings,
        reported,
        [("operator", "register", None), ("dispatcher", "dispatch", None), ("handler", "accept", None)],
    )
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 200, 200)).save(buffer, "JPEG")
    sign_in(page, "handler")
    page.goto(f"/cases/{reported}")
    page.get_by_label("说明").fill("已清除")
    page.get_by_label("照片（JPEG 或 PNG；反馈时上传处置后照片，核查时上传现场照片）").set_input_files(
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}]
    )
    screenshot(page, "handler-case-feedback")
    page.get_by_role("button", name="反馈", exact=True).click()
    expect(page.get_by_role("img", name="照片 after 1")).to_be_visible()
    screenshot(page, "handler-case-feedback-photo")
    check_accessibility(page)
