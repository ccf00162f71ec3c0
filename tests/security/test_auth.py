"""Signing in: OAuth2 tokens, page sessions with CSRF, API keys, throttling, revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from smartcity.core.db import utcnow
from smartcity.security.models import AuthToken
from tests.conftest import PASSWORD, bearer, login_form_token, web_login


def test_password_flow_issues_a_working_token(client, city) -> None:
    response = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "viewer"


def test_wrong_password_is_401_with_oauth_error(client, city) -> None:
    response = client.post("/api/auth/token", data={"username": "viewer", "password": "wrong-password-1"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_user_and_wrong_password_look_the_same(client, city) -> None:
    a = client.post("/api/auth/token", data={"username": "nobody", "password": "x"}).json()
    b = client.post("/api/auth/token", data={"username": "viewer", "password": "x"}).json()
    assert a["detail"] == b["detail"]


def test_repeated_failures_are_throttled_and_committed(client, city) -> None:
    for _ in range(3):  # the test settings allow 3 failures
        assert client.post("/api/auth/token", data={"username": "viewer", "password": "nope"}).status_code == 401
    blocked = client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert client.post("/api/auth/token", data={"username": "admin", "password": PASSWORD}).status_code == 200


def test_failed_logins_are_audited(client, city) -> None:
    client.post("/api/auth/token", data={"username": "viewer", "password": "nope"})
    records = client.get(
        "/api/audit/records", params={"object_type": "user_account"}, headers=bearer(client, "admin")
    ).json()["items"]
    assert any(r["action"] == "security.login_failed" and r["object_id"] == "viewer" for r in records)


def test_inactive_account_cannot_sign_in(client, city) -> None:
    admin = bearer(client, "admin")
    viewer = bearer(client, "viewer")
    assert (
        client.patch(f"/api/security/users/{city.users['viewer']}", json={"active": False}, headers=admin).status_code
        == 200
    )
    assert client.get("/api/me", headers=viewer).status_code == 401  # existing tokens die with the account
    assert client.post("/api/auth/token", data={"username": "viewer", "password": PASSWORD}).status_code == 401


def test_revoked_and_expired_tokens_are_refused(client, city, database) -> None:
    headers = bearer(client, "viewer")
    assert client.post("/api/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    headers = bearer(client, "viewer")
    with database.engine.begin() as conn:
        conn.execute(update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401 and "Bearer" in response.headers["www-authenticate"]


def test_malformed_authorization_header_is_401(client, city) -> None:
    response = client.get("/api/me", headers={"Authorization": "Token abc"})
    assert response.status_code == 401
    assert "Bearer <token>" in response.json()["detail"]
    garbled = client.get("/api/me", headers={"Authorization": "Basic abc"})
    assert garbled.status_code == 401 and "base64" in garbled.json()["detail"]


def test_api_key_acts_as_its_account_until_revoked(client, city) -> None:
    admin = bearer(client, "admin")
    created = client.post("/api/security/api-keys", json={"name": "gauge gateway", "username": "device"}, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("sck_")
    me = client.get("/api/me", headers={"X-API-Key": key})
    assert me.json()["username"] == "device"
    assert client.get("/api/security/api-keys", headers=admin).json()[0]["prefix"] in key
    assert "key" not in client.get("/api/security/api-keys", headers=admin).json()[0]
    assert client.delete(f"/api/security/api-keys/{created.json()['id']}", headers=admin).status_code == 204
    assert client.get("/api/me", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/api/me", headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401


def test_page_session_needs_csrf_for_changes(client, city) -> None:
    csrf = web_login(client, "admin")
    form = {
        "username": "newperson",
        "display_name": "New",
        "password": "long-enough-1",
        "role": "viewer",
        "department_code": "310000",
    }
    refused = client.post("/admin/users", data=form)
    assert refused.status_code == 403
    assert client.get("/api/security/users/999").status_code == 404  # still signed in
    accepted = client.post("/admin/users", data={**form, "csrf_token": csrf})
    assert accepted.status_code == 201 and "newperson" in accepted.text
    via_header = client.patch(
        f"/api/security/users/{city.users['viewer']}", json={"display_name": "V2"}, headers={"X-CSRF-Token": csrf}
    )
    assert via_header.status_code == 200


def test_logout_ends_the_session(client, city) -> None:
    csrf = web_login(client, "viewer")
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    response = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_does_not_redirect_off_site(client, city) -> None:
    response = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": login_form_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ops"  # the viewer's landing page (docs/ops.md), never off site


def test_login_form_shows_errors_without_signing_in(client, city) -> None:
    response = client.post(
        "/login", data={"username": "viewer", "password": "wrong-one-1", "csrf_token": login_form_token(client)}
    )
    assert response.status_code == 401 and 'role="alert"' in response.text
    assert "smartcity_session" not in response.cookies


def test_change_own_password(client, city) -> None:
    headers = bearer(client, "viewer")
    wrong = client.post(
        "/api/me/password", json={"current_password": "nope", "new_password": "brand-new-pw-2"}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    ok = client.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "brand-new-pw-2"}, headers=headers
    )
    assert ok.status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401  # all tokens revoked
    assert bearer(client, "viewer", "brand-new-pw-2")


def test_sign_in_form_needs_its_own_csrf_token(client, city) -> None:
    client.get("/login")  # the browser holds the form's cookie, but a forged form does not know its value
    forged = client.post(
        "/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": "guess"}, follow_redirects=False
    )
    assert forged.status_code == 403 and "smartcity_session" not in forged.cookies
