"""The account and audit pages answer forms with their errors, in the visitor's language."""

from __future__ import annotations

from tests.conftest import web_login


def test_refused_account_form_names_the_field_and_adds_nothing(client, city) -> None:
    csrf = web_login(client, "admin")
    form = {
        "username": "new_i",
        "display_name": "x",
        "password": "short",
        "role": "inspector",
        "department_code": "310101001",
        "csrf_token": csrf,
    }
    response = client.post("/admin/users", data=form)
    assert response.status_code == 422
    assert 'href="#field-password"' in response.text and 'aria-invalid="true"' in response.text
    assert "new_i" not in client.get("/api/security/users", headers={"X-CSRF-Token": csrf}).text


def test_pages_follow_the_language_choice(client, city) -> None:
    web_login(client, "viewer")
    assert "退出登录" in client.get("/").text
    client.get("/language/en", follow_redirects=False)
    page = client.get("/")
    assert '<html lang="en">' in page.text and "Sign out" in page.text
    assert client.get("/language/fr").status_code == 404


def test_audit_page_verifies_the_chain(client, city) -> None:
    csrf = web_login(client, "admin")
    response = client.post("/admin/audit/verify", data={"csrf_token": csrf})
    assert response.status_code == 200 and "审计链完整" in response.text


def test_pages_carry_security_headers(client) -> None:
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
