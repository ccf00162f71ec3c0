"""HTTP API of the security module: OAuth2 tokens, own profile, departments, users, API keys, audit chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse

from smartcity.core import audit
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import PROBLEM_JSON, Problem
from smartcity.core.schemas import Page
from smartcity.security import schemas, service
from smartcity.security.permissions import Principal, public, require, signed_in

router = APIRouter(tags=["security"])


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/api/auth/token", response_model=schemas.TokenOut, summary="OAuth2 password flow")
def issue_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    _: Annotated[Principal, public()],
    grant_type: Annotated[str, Form()] = "password",
) -> Response:
    """Exchange a user name and password for a bearer token (RFC 6749 §4.3)."""
    if grant_type != "password":
        problem = Problem(400, "Only grant_type=password is supported.", code="unsupported-grant-type")
        return _oauth_error(problem, "unsupported_grant_type")
    outcome = service.sign_in(session, settings, username, password, client_ip(request))
    if outcome.problem is not None:  # returned, not raised: the failure record must be committed
        return _oauth_error(outcome.problem, "invalid_grant")
    lifetime = timedelta(minutes=settings.token_minutes)
    plain, _token = service.issue_token(session, outcome.user, kind="bearer", lifetime=lifetime, ip=client_ip(request))
    body = schemas.TokenOut(access_token=plain, expires_in=int(lifetime.total_seconds()))
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


def _oauth_error(problem: Problem, error: str) -> Response:
    # RFC 6749 §5.2 clients read "error"; problem+json readers read the rest. Both are served.
    body = {**problem.body("/api/auth/token"), "error": error}
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


@router.post("/api/auth/revoke", status_code=204, summary="Revoke the bearer token in use")
def revoke(session: SessionDep, principal: Annotated[Principal, signed_in()]) -> Response:
    if principal.token_id is not None:
        service.revoke_token(session, principal.token_id)
    return Response(status_code=204)


@router.get("/api/me", response_model=schemas.UserOut, summary="Your own account")
def me(session: SessionDep, principal: Annotated[Principal, signed_in()]) -> schemas.UserOut:
    return service.user_out(session, principal, service.get_user(session, principal.user_id))


@router.post("/api/me/password", status_code=204, summary="Change your own password")
def change_password(
    body: schemas.PasswordChange, session: SessionDep, principal: Annotated[Principal, signed_in()]
) -> Response:
    user = service.get_user(session, principal.user_id)
    if not service.password_matches(user, body.current_password):
        raise Problem(
            422, "The current password is wrong.", errors=[{"field": "current_password", "message": "wrong password"}]
        )
    service.set_password(session, user, body.new_password)
    return Response(status_code=204)


@router.get("/api/security/departments", response_model=list[schemas.DepartmentOut])
def list_departments(
    session: SessionDep, principal: Annotated[Principal, require("departments.read")]
) -> list[schemas.DepartmentOut]:
    return [schemas.DepartmentOut.model_validate(d) for d in service.list_departments(session, principal)]


@router.post("/api/security/departments", response_model=schemas.DepartmentOut, status_code=201)
def create_department(
    body: schemas.DepartmentIn, session: SessionDep, _: Annotated[Principal, require("departments.manage")]
) -> schemas.DepartmentOut:
    return schemas.DepartmentOut.model_validate(service.create_department(session, **body.model_dump()))


@router.get("/api/security/users", response_model=Page[schemas.UserOut])
def list_users(
    session: SessionDep,
    principal: Annotated[Principal, require("users.read")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[schemas.UserOut]:
    users = service.list_users(session, principal, limit=limit, offset=offset)
    return Page(items=service.users_out(session, principal, users), limit=limit, offset=offset)


@router.post("/api/security/users", response_model=schemas.UserOut, status_code=201)
def create_user(
    body: schemas.UserIn, session: SessionDep, principal: Annotated[Principal, require("users.manage")]
) -> schemas.UserOut:
    return service.user_out(session, principal, service.create_user(session, **body.model_dump()))


@router.get("/api/security/users/{user_id}", response_model=schemas.UserOut)
def get_user(
    user_id: int, session: SessionDep, principal: Annotated[Principal, require("users.read")]
) -> schemas.UserOut:
    return service.user_out(session, principal, service.visible_user(session, principal, user_id))


@router.patch("/api/security/users/{user_id}", response_model=schemas.UserOut)
def update_user(
    user_id: int, body: schemas.UserPatch, session: SessionDep, principal: Annotated[Principal, require("users.manage")]
) -> schemas.UserOut:
    user = service.visible_user(session, principal, user_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Problem(422, "Send at least one field to change.", code="empty-change")
    return service.user_out(session, principal, service.update_user(session, user, **changes))


@router.get("/api/security/api-keys", response_model=list[schemas.ApiKeyOut])
def list_api_keys(session: SessionDep, _: Annotated[Principal, require("apikeys.manage")]) -> list[schemas.ApiKeyOut]:
    return [schemas.ApiKeyOut.model_validate(k) for k in service.list_api_keys(session)]


@router.post("/api/security/api-keys", response_model=schemas.ApiKeyCreated, status_code=201)
def create_api_key(
    body: schemas.ApiKeyIn, session: SessionDep, _: Annotated[Principal, require("apikeys.manage")]
) -> schemas.ApiKeyCreated:
    user = service.user_by_name(session, body.username)
    if user is None:
        raise Problem(
            422, f"No account is named {body.username!r}.", errors=[{"field": "username", "message": "no such account"}]
        )
    plain, key = service.create_api_key(session, name=body.name, user=user, expires_at=body.expires_at)
    return schemas.ApiKeyCreated.model_validate({**schemas.ApiKeyOut.model_validate(key).model_dump(), "key": plain})


@router.delete("/api/security/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: int, session: SessionDep, _: Annotated[Principal, require("apikeys.manage")]) -> Response:
    service.revoke_api_key(session, key_id)
    return Response(status_code=204)


@router.get("/api/audit/records", response_model=Page[schemas.AuditRecordOut])
def list_audit_records(
    session: SessionDep,
    principal: Annotated[Principal, require("audit.read")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    object_type: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[schemas.AuditRecordOut]:
    """Newest first. Supervisors see the records of actors in their departments; admins see all."""
    records, total = service.audit_records(
        session, principal, limit=limit, offset=offset, actor=actor, object_type=object_type
    )
    return Page(
        items=[schemas.AuditRecordOut.model_validate(r) for r in records], total=total, limit=limit, offset=offset
    )


@router.post("/api/audit/verify", response_model=schemas.VerdictOut)
def verify_audit(session: SessionDep, _: Annotated[Principal, require("audit.verify")]) -> schemas.VerdictOut:
    return schemas.VerdictOut.model_validate(audit.verify(session))
