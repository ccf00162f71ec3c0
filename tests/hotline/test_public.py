"""The citizen's own endpoints: submit without an account, track with the number and the phone's last four
digits, and the per-address rate limit."""

from __future__ import annotations

import pytest

HUANGPU = {"lon": 121.4846, "lat": 31.2317}


@pytest.fixture
def ready(hotline_setup) -> None:
    """Huangpu and the dispatch catalogue."""


def _submit(client, **fields):
    body = {"order_type": "report", "description": "人行道上的井盖不见了", "caller_phone": "13912345678", **fields}
    return client.post("/api/hotline/public/orders", json=body)


def test_submit_and_track_without_an_account(client, ready) -> None:
    response = _submit(client, **HUANGPU)
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    tracked = client.get("/api/hotline/public/track", params={"number": number, "phone_last4": "5678"})
    assert tracked.status_code == 200
    assert tracked.json()["state"] == "received" and "caller_phone" not in tracked.json()
    wrong = client.get("/api/hotline/public/track", params={"number": number, "phone_last4": "0000"})
    unknown = client.get("/api/hotline/public/track", params={"number": "H20000101000001", "phone_last4": "5678"})
    assert wrong.status_code == unknown.status_code == 404  # a wrong pair tells nothing about the number


def test_public_submissions_are_validated(client, ready) -> None:
    assert _submit(client, description="<img src=x onerror=alert(1)>").status_code == 422
    assert _submit(client, caller_phone="").status_code == 422  # needed to track and to reply
    assert _submit(client, lon=116.4, lat=39.9).status_code == 422  # Beijing is outside the city
    assert _submit(client, extra="field").status_code == 422


def test_rate_limit_per_address(client, ready, app) -> None:
    app.state.settings = app.state.settings.model_copy(update={"hotline_public_per_hour": 3})
    codes = [_submit(client).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = _submit(client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    track = client.get("/api/hotline/public/track", params={"number": "H20000101000001", "phone_last4": "5678"})
    assert track.status_code == 429  # look-ups share the budget, so numbers cannot be probed


def test_signed_in_staff_can_use_the_public_form_too(client, ready) -> None:
    """The rate-limit count has its own transaction; a signed-in visitor's session must not block it."""
    from tests.conftest import web_login

    token = web_login(client, "operator")
    form = {
        "order_type": "suggestion",
        "description": "建议增加公共自行车停放点",
        "caller_phone": "13912345678",
        "csrf_token": token,
    }
    response = client.post("/hotline/submit", data=form)
    assert response.status_code == 201, response.text
