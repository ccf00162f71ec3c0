"""The dissemination pages as people use them: an emergency officer adds a webhook subscriber (a bad address
refused first, nothing saved), copies its signing secret from the one page that shows it, pauses and resumes
it; a delivery dead after its last attempt is found among the dead letters and sent again. Every page state
passes the accessibility check."""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import expect

from smartcity.alerts import dissemination
from smartcity.core.db import utcnow
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.browser.conftest import check_accessibility, screenshot, sign_in
from tests.conftest import bearer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("huangpu", "city")]
NAV = "主导航"
HOOK = "区防汛办接口"


def _closed_port() -> int:
    """A local port nobody listens on: a send there fails at once, as an unreachable receiver does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_delivery(client, database) -> dict:
    """A published warning whose one delivery has used up its attempts against a receiver that is down."""
    officer = bearer(client, "emergency")
    body = {"name": "坏掉的接口", "channel": "webhook", "target": f"http://127.0.0.1:{_closed_port()}/cap"}
    assert client.post("/api/alerts/subscribers", json=body, headers=officer).status_code == 201
    published = _publish(client, _rainstorm())
    now = utcnow()
    for _ in range(dissemination.MAX_ATTEMPTS):
        assert dissemination.deliver_due(database, now=now) == {"delivered": 0, "failed": 1}
        now += dissemination.LONGEST_WAIT  # past any backoff: the next attempt is due
    (dead,) = client.get("/api/alerts/deliveries", params={"state": "dead"}, headers=officer).json()
    return dead | {"identifier": published["identifier"]}


def test_an_officer_adds_a_webhook_sees_its_secret_once_and_pauses_it(page, client) -> None:
    sign_in(page, "emergency")
    page.goto("/alerts/bulletins")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="预警订阅方").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预警订阅方")
    expect(page.get_by_role("table")).to_contain_text("还没有订阅方。")
    check_accessibility(page)

    page.get_by_label("订阅方名称").fill(HOOK)
    page.get_by_label("渠道").select_option("webhook")
    page.get_by_label("接收地址").fill("hooks.example/warnings")  # no scheme: refused by the service
    page.get_by_label("暴雨", exact=True).check()
    page.get_by_label("黄浦区").check()
    page.get_by_label("最低预警颜色").select_option("yellow")
    page.get_by_role("button", name="添加订阅方").click()
    expect(page.get_by_role("alert")).to_contain_text("a webhook is an http(s) URL")
    expect(page.get_by_label("接收地址")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("接收地址")).to_have_value("hooks.example/warnings")  # what was typed is kept
    expect(page.get_by_label("订阅方名称")).to_have_value(HOOK)
    expect(page.get_by_label("暴雨", exact=True)).to_be_checked()
    expect(page.get_by_label("最低预警颜色")).to_have_value("yellow")
    expect(page.get_by_role("table")).to_contain_text("还没有订阅方。")  # nothing saved
    screenshot(page, "emergency-subscriber-refused")
    check_accessibility(page)

    page.get_by_label("接收地址").fill("https://hooks.example/warnings?token=abc")
    page.get_by_role("button", name="添加订阅方").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("订阅方已添加")
    expect(page.get_by_text("它只显示这一次，之后不会再显示")).to_be_visible()
    secret = page.get_by_role("textbox", name="签名密钥").input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", secret)
    screenshot(page, "emergency-subscriber-secret")
    check_accessibility(page)

    page.get_by_role("link", name="返回订阅方列表").click()
    row = page.get_by_role("row", name=re.compile(HOOK))
    for text in ("Webhook 接口", "https://hooks.example/warnings?…", "暴雨", "黄浦区", "黄色及以上", "接收中"):
        expect(row).to_contain_text(text)
    assert secret not in page.content() and "token=abc" not in page.content()  # never shown again
    screenshot(page, "emergency-subscribers")
    check_accessibility(page)

    row.get_by_role("button", name=f"暂停 {HOOK}").click()
    expect(page.get_by_role("status")).to_have_text("订阅方已暂停：恢复前不会收到任何预警。")
    expect(page.get_by_role("row", name=re.compile(HOOK))).to_contain_text("已暂停")
    check_accessibility(page)
    page.get_by_role("button", name=f"恢复 {HOOK}").click()
    expect(page.get_by_role("status")).to_have_text("订阅方已恢复：将收到此后发布的预警。")
    expect(page.get_by_role("row", name=re.compile(HOOK))).to_contain_text("接收中")
    (saved,) = client.get("/api/alerts/subscribers", headers=bearer(client, "emergency")).json()
    assert saved["active"] and saved["hazards"] == ["rainstorm"] and saved["area_codes"] == ["310101"]


def test_a_dead_delivery_is_sent_again_from_the_dead_letters(page, dead_delivery) -> None:
    sign_in(page, "emergency")
    page.goto("/alerts/bulletins")
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="预警推送记录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预警推送记录")
    check_accessibility(page)

    page.get_by_role("navigation", name="按状态查看推送记录").get_by_role("link", name="死信").click()
    row = page.get_by_role("row", name=re.compile("坏掉的接口"))
    expect(row).to_contain_text("死信：重试次数已用完")
    expect(row.get_by_role("cell").nth(2)).to_have_text(str(dissemination.MAX_ATTEMPTS))
    expect(row).to_contain_text("ConnectError")
    screenshot(page, "emergency-deliveries-dead")
    expect(row.get_by_role("link", name=dead_delivery["identifier"])).to_have_attribute(
        "href", f"/alerts/cap/{dead_delivery['identifier']}.xml"
    )
    check_accessibility(page)

    row.get_by_role("button", name=re.compile("^重新发送")).click()
    expect(page.get_by_role("status")).to_have_text("该推送将在下一轮发送时重新发送。")
    expect(page.get_by_role("table")).to_contain_text("没有推送记录。")  # no longer dead
    check_accessibility(page)
    page.get_by_role("navigation", name="按状态查看推送记录").get_by_role("link", name="待发送").click()
    row = page.get_by_role("row", name=re.compile("坏掉的接口"))
    expect(row).to_contain_text("待发送")
    expect(row.get_by_role("cell").nth(2)).to_have_text("0")
    expect(row.get_by_role("button")).to_have_count(0)
    check_accessibility(page)
