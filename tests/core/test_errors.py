"""Every error is problem+json that names the field; bad input changes nothing; no stack trace leaks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import event

from smartcity.app import create_app
from smartcity.core import audit
from smartcity.core.deps import SessionDep
from smartcity.security import service
from tests.conftest import bearer

PROBLEM = "application/problem+json"


def _count_users_and_audit(database) -> tuple[int, int]:
    with database.session() as s:
        from smartcity.security.models import User

        return s.query(User).count(), audit.count(s)


def test_malformed_json_is_400_naming_the_body(client, city) -> None:
    headers = {**bearer(client, "admin"), "content-type": "application/json"}
    response = client.post("/api/security/users", content=b'{"username": "x', headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0]["field"] == "body" and "not valid JSON" in body["detail"]


def test_unknown_and_mistyped_fields_are_named(client, city) -> None:
    response = client.post(
        "/api/security/users",
        headers=bearer(client, "admin"),
        json={
            "username": "newbie",
            "display_name": "N",
            "password": "long-enough-1",
            "role": "viewer",
            "department_code": "310000",
            "colour": "blue",
            "language": 5,
        },
    )
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "colour" in fields and "unknown field" in fields["colour"]
    assert "language" in fields


def test_refused_input_writes_nothing(client, city, database) -> None:
    before = _count_users_and_audit(database)
    headers = bearer(client, "admin")
    after_login = _count_users_and_audit(database)
    response = client.post(
        "/api/security/users",
        headers=headers,
        json={
            "username": "newbie",
            "display_name": "N",
            "password": "long-enough-1",
            "role": "viewer",
            "department_code": "999999",
        },
    )
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    weak = client.post(
        "/api/security/users",
        headers=headers,
        json={
            "username": "newbie",
            "display_name": "N",
            "password": "short",
            "role": "viewer",
            "department_code": "310000",
        },
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
    assert _count_users_and_audit(database) == after_login
    assert after_login[0] == before[0]


def test_oversize_body_is_413(client, city, settings) -> None:
    big = b"{" + b" " * (settings.max_body_bytes + 10) + b"}"
    response = client.post(
        "/api/security/users", content=big, headers={**bearer(client, "admin"), "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_oversize_streamed_body_without_length_is_413(client, city, settings) -> None:
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = client.post(
        "/api/security/users", content=chunks(), headers={**bearer(client, "admin"), "content-type": "application/json"}
    )
    assert response.status_code == 413


def test_unknown_path_and_method_are_problems(client) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert "/api/nothing-here" in missing.json()["detail"]
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


def test_an_unexpected_error_is_500_without_a_trace(settings, database) -> None:
    app = create_app(settings)
    boom = APIRouter()

    @boom.get("/api/boom")
    def _boom() -> None:
        raise ZeroDivisionError("secret internals")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/api/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_browsers_get_an_html_error_page(client) -> None:
    response = client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<main" in response.text


def test_duplicate_user_is_409(client, city) -> None:
    response = client.post(
        "/api/security/users",
        headers=bearer(client, "admin"),
        json={
            "username": "VIEWER",
            "display_name": "V",
            "password": "long-enough-1",
            "role": "viewer",
            "department_code": "310000",
        },
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/duplicate-user")


def test_service_problem_names_the_field(session) -> None:
    import pytest

    from smartcity.core.errors import Problem

    with pytest.raises(Problem) as caught:
        service.create_department(session, code="X1", name="x", level="district")
    assert caught.value.errors[0]["field"] == "parent_code"


def test_a_failing_commit_is_reported_not_swallowed(settings, database) -> None:
    app = create_app(settings)
    router = APIRouter()

    @router.post("/api/commit-fails")
    def _commit_fails(session: SessionDep) -> dict[str, bool]:
        def refuse(_session) -> None:
            raise RuntimeError("the database refused the commit")

        event.listen(session, "before_commit", refuse)
        return {"ok": True}

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.post("/api/commit-fails")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM


def test_multipart_uploads_have_the_photo_limit_and_no_more(client, city, settings) -> None:
    """A form with a photo may exceed the JSON limit (up to the photo limit); beyond it, 413 before reading."""
    headers = {**bearer(client, "admin"), "content-type": "multipart/form-data; boundary=x"}
    within = b"-" * (settings.max_body_bytes + 10)
    assert client.post("/api/security/users", content=within, headers=headers).status_code != 413
    beyond = b"-" * (settings.max_photo_bytes + 70_000)
    response = client.post("/api/security/users", content=beyond, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
