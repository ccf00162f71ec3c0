"""Dissemination: each published warning reaches each matching subscriber once — a webhook signed with
HMAC-SHA256 and carrying an idempotency key, email and SMS through their senders — with retries and
backoff when the far side fails, a dead-letter list after the last attempt, and a retry from there."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from smartcity.alerts import dissemination
from smartcity.core.db import utcnow
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.conftest import bearer

pytestmark = pytest.mark.usefixtures("huangpu", "city")


class Receiver:
    """A real HTTP endpoint on a free port: answers with ``status`` and keeps what it got."""

    def __init__(self) -> None:
        self.status, self.received = 200, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/warnings"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def _subscribe(client, **body) -> dict:
    response = client.post("/api/alerts/subscribers", json=body, headers=bearer(client, "emergency"))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_warning_reaches_each_subscriber_once_signed(client, database, receiver, caplog) -> None:
    hook = _subscribe(client, name="区防汛办", channel="webhook", target=receiver.url)
    assert len(hook["secret"]) >= 32  # shown once
    assert "secret" not in client.get("/api/alerts/subscribers", headers=bearer(client, "emergency")).json()[0]
    _subscribe(client, name="值班手机", channel="sms", target="+8613800000000", min_colour="orange")
    _subscribe(client, name="徐汇区", channel="email", target="duty@xh.example", area_codes=["310104"])
    published = _publish(client, _rainstorm())  # yellow, Huangpu

    done = dissemination.deliver_due(database)
    assert done == {"delivered": 1, "failed": 0}  # the SMS wants orange and up; the email another district
    ((headers, body),) = receiver.received
    assert headers["Content-Type"] == "application/cap+xml" and published["identifier"].encode() in body
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-SmartCity-Signature"] == expected
    assert headers["Idempotency-Key"] == f"{published['identifier']}/{hook['id']}"
    assert dissemination.deliver_due(database) == {"delivered": 0, "failed": 0}  # nothing twice

    caplog.set_level("WARNING")
    _publish(client, {"kind": "update", "replaces": published["identifier"], "colour": "orange",
                      "headline": "黄浦区暴雨预警升级为橙色"})  # fmt: skip
    assert dissemination.deliver_due(database) == {"delivered": 2, "failed": 0}
    assert "[sms to +8613800000000] 黄浦区暴雨预警升级为橙色" in caplog.text
    assert len(receiver.received) == 2


def test_failures_are_retried_with_backoff_then_dead_lettered_and_retried(client, database, receiver) -> None:
    _subscribe(client, name="坏掉的接口", channel="webhook", target=receiver.url)
    _publish(client, _rainstorm())
    receiver.status = 503
    now = utcnow()
    waits = []
    for _ in range(dissemination.MAX_ATTEMPTS):
        assert dissemination.deliver_due(database, now=now) == {"delivered": 0, "failed": 1}
        (delivery,) = client.get("/api/alerts/deliveries", headers=bearer(client, "emergency")).json()
        if delivery["state"] == "dead":
            break
        assert dissemination.deliver_due(database, now=now) == {"delivered": 0, "failed": 0}  # not due yet
        nxt = utcnow().fromisoformat(delivery["next_attempt_at"])
        waits.append(nxt - now)
        now = nxt
    assert delivery["state"] == "dead" and delivery["attempts"] == dissemination.MAX_ATTEMPTS
    assert "HTTP 503" in delivery["last_error"]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    dead = client.get("/api/alerts/deliveries", params={"state": "dead"}, headers=bearer(client, "emergency")).json()
    assert [d["id"] for d in dead] == [delivery["id"]]

    receiver.status = 204
    retried = client.post(f"/api/alerts/deliveries/{delivery['id']}/retry", headers=bearer(client, "emergency"))
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    assert dissemination.deliver_due(database) == {"delivered": 1, "failed": 0}
    again = client.post(f"/api/alerts/deliveries/{delivery['id']}/retry", headers=bearer(client, "emergency"))
    assert again.status_code == 409


def test_bad_subscribers_are_refused_with_reasons(client) -> None:
    officer = bearer(client, "emergency")
    for body, field in (
        ({"name": "x", "channel": "pigeon", "target": "roof"}, "channel"),
        ({"name": "x", "channel": "webhook", "target": "ftp://example"}, "target"),
        ({"name": "x", "channel": "sms", "target": "call me"}, "target"),
        ({"name": "x", "channel": "email", "target": "a@b.example", "hazards": ["locusts"]}, "hazards"),
    ):
        response = client.post("/api/alerts/subscribers", json=body, headers=officer)
        assert response.status_code == 422 and field in response.text, body
    assert client.get("/api/alerts/subscribers", headers=officer).json() == []
    viewer = client.post("/api/alerts/subscribers", json={"name": "x", "channel": "sms", "target": "1"},
                         headers=bearer(client, "viewer"))  # fmt: skip
    assert viewer.status_code == 403
