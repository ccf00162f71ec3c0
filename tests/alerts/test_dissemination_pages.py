"""The subscriber and delivery pages through the in-process client: only those who manage dissemination see
them (others 403, the anonymous sent to sign in), a refused subscriber is shown back with its reasons and
nothing saved, a webhook's secret appears once, targets are partly masked, a dead delivery is sent again."""

from __future__ import annotations

import pytest

from smartcity.alerts import dissemination
from smartcity.core.db import utcnow
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.conftest import bearer, web_login

pytestmark = pytest.mark.usefixtures("huangpu", "city")
PAGES = ("/alerts/subscribers", "/alerts/deliveries")


def test_anonymous_is_sent_to_sign_in(client) -> None:
    for path in PAGES:
        assert client.get(path).status_code == 401  # a client that is not a browser: problem+json
        response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", ["viewer", "operator", "dispatcher"])
def test_roles_without_the_permission_are_refused(client, role) -> None:
    token = web_login(client, role)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    made = client.post("/alerts/subscribers", data={"csrf_token": token, "name": "x", "channel": "sms",
                                                    "target": "13800000000"})  # fmt: skip
    assert made.status_code == 403
    assert client.post("/alerts/subscribers/1/active", data={"csrf_token": token, "active": "false"}).status_code == 403
    assert client.post("/alerts/deliveries/1/retry", data={"csrf_token": token}).status_code == 403
    assert client.get("/api/alerts/subscribers", headers=bearer(client, "emergency")).json() == []


@pytest.mark.parametrize("role", ["supervisor", "emergency"])
def test_those_who_manage_dissemination_see_both_pages_and_the_navigation(client, role) -> None:
    web_login(client, role)
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200 and f'href="{path}"' in page.text, path


def _form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "区防汛办", "channel": "webhook", "target": "https://hooks.example/cap",
            "hazards": ["rainstorm"], "area_codes": ["310101"], "min_colour": "yellow"} | fields  # fmt: skip


def test_a_refused_subscriber_is_shown_back_with_every_reason(client) -> None:
    token = web_login(client, "emergency")
    form = _form(token, name=" ", target="hooks.example/cap", hazards=["rainstorm", "locusts"], area_codes=["hp"])
    refused = client.post("/alerts/subscribers", data=form)
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    reasons = {"name": "give the subscriber a name", "target": "a webhook is an http(s) URL",
               "hazards": "unknown hazard locusts", "area_codes": "not a division code: hp"}  # fmt: skip
    for field, reason in reasons.items():
        assert reason in refused.text and f'href="#field-{field}"' in refused.text
    assert 'id="field-target" name="target" aria-invalid="true"' in refused.text
    assert 'value="hooks.example/cap"' in refused.text  # kept as typed
    assert 'value="rainstorm" checked' in refused.text
    assert client.get("/api/alerts/subscribers", headers=bearer(client, "emergency")).json() == []


def test_a_webhook_secret_is_shown_once_and_targets_are_masked(client) -> None:
    token = web_login(client, "supervisor")
    made = client.post("/alerts/subscribers", data=_form(token, target="https://u:p@hooks.example/cap?key=k"))
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    (hook,) = client.get("/api/alerts/subscribers", headers=bearer(client, "supervisor")).json()
    secret = made.text.split('id="secret" type="text" value="')[1].split('"')[0]
    assert len(secret) >= 32
    sms = client.post("/alerts/subscribers", data=_form(token, name="值班手机", channel="sms", target="13812345678",
                                                        hazards=[], area_codes=[]), follow_redirects=False)  # fmt: skip
    assert sms.status_code == 303 and sms.headers["location"] == "/alerts/subscribers?done=subscribed"
    client.post("/alerts/subscribers", data=_form(token, name="徐汇区", channel="email", target="duty@xh.example"))

    listed = client.get("/alerts/subscribers").text
    assert secret not in listed and "https://hooks.example/cap?…" in listed and "u:p@" not in listed
    assert "138****5678" in listed and "13812345678" not in listed
    assert "d***@xh.example" in listed and "duty@" not in listed
    paused = client.post(f"/alerts/subscribers/{hook['id']}/active", data={"csrf_token": token, "active": "false"},
                         follow_redirects=False)  # fmt: skip
    assert paused.headers["location"] == "/alerts/subscribers?done=paused"
    assert not client.get("/api/alerts/subscribers", headers=bearer(client, "supervisor")).json()[0]["active"]
    missing = client.post("/alerts/subscribers/999999/active", data={"csrf_token": token, "active": "true"})
    assert missing.status_code == 404 and 'role="alert"' in missing.text


def test_a_dead_delivery_is_sent_again_from_the_dead_letters(client, database) -> None:
    officer = bearer(client, "emergency")
    body = {"name": "坏掉的接口", "channel": "webhook", "target": "http://127.0.0.1:9/cap"}
    assert client.post("/api/alerts/subscribers", json=body, headers=officer).status_code == 201
    published = _publish(client, _rainstorm())
    now = utcnow()
    for _ in range(dissemination.MAX_ATTEMPTS):
        dissemination.deliver_due(database, now=now)
        now += dissemination.LONGEST_WAIT
    (delivery,) = client.get("/api/alerts/deliveries", params={"state": "dead"}, headers=officer).json()

    token = web_login(client, "emergency")
    dead = client.get("/alerts/deliveries", params={"state": "dead"})
    assert dead.status_code == 200 and published["identifier"] in dead.text and "坏掉的接口" in dead.text
    assert f'href="/alerts/cap/{published["identifier"]}.xml"' in dead.text
    sent = client.post(f"/alerts/deliveries/{delivery['id']}/retry", data={"csrf_token": token, "back": "dead"},
                       follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/alerts/deliveries?state=dead&done=retried"
    assert client.get("/api/alerts/deliveries", params={"state": "pending"}, headers=officer).json()[0]["attempts"] == 0
    again = client.post(f"/alerts/deliveries/{delivery['id']}/retry", data={"csrf_token": token})
    assert again.status_code == 409 and "only dead ones are retried" in again.text and 'role="alert"' in again.text
    assert client.get("/alerts/deliveries", params={"state": "lost"}).status_code == 422
