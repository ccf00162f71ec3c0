"""Web pages of the security module: sign in and out, language switch, home, accounts, audit chain."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from smartcity.core import audit, i18n
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.core.web import NavItem, add_nav, landing_path, render, translate
from smartcity.security import schemas, service
from smartcity.security.permissions import PRESESSION_COOKIE, SESSION_COOKIE, Principal, public, require, signed_in
from smartcity.security.roles import ROLES

router = APIRouter(include_in_schema=False)
add_nav(NavItem("Home", "home", None, order=0))
add_nav(NavItem("Accounts", "users_page", "users.read", order=900))
add_nav(NavItem("Audit chain", "audit_page", "audit.read", order=910))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://…" would turn login into an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", name="login_page")
def login_page(
    request: Request, _: Annotated[Principal, public()], next: Annotated[str, Query(max_length=500)] = "/"
) -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, public()],
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(PRESESSION_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token, expected):
        error = translate(request, "The form has expired. Enter your user name and password again.")
        return render(request, "login.html", {"next": _safe_next(next), "error": error}, status=403)
    if not username or not password:
        error = translate(request, "Enter your user name and password.")
        return render(
            request, "login.html", {"next": _safe_next(next), "error": error, "username": username}, status=422
        )
    ip = request.client.host if request.client else None
    outcome = service.sign_in(session, settings, username, password, ip)
    if outcome.problem is not None:
        if outcome.problem.status == 429:
            message = translate(request, "Too many failed sign-ins. Wait a few minutes and try again.")
        else:
            message = translate(request, "The user name or password is wrong.")
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "username": username, "error": message},
            status=outcome.problem.status,
        )
    lifetime = timedelta(hours=settings.session_hours)
    plain, _token = service.issue_token(session, outcome.user, kind="session", lifetime=lifetime, ip=ip)
    target = _safe_next(next)
    if target == "/":  # no page asked for: staff land on their working page (the operations centre)
        # granted by name: the administrator, who holds every permission through "*", keeps the home page
        target = landing_path(request, ROLES[outcome.user.role].permissions.__contains__)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        plain,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    response.set_cookie(i18n.LANGUAGE_COOKIE, outcome.user.language, samesite="lax", path="/")
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout", name="logout")
def logout(session: SessionDep, principal: Annotated[Principal, signed_in()]) -> Response:
    if principal.token_id is not None:
        service.revoke_token(session, principal.token_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{code}", name="set_language")
def set_language(
    code: str, _: Annotated[Principal, public()], next: Annotated[str, Query(max_length=500)] = "/"
) -> Response:
    if code not in i18n.LANGUAGES:
        raise Problem(404, f"No language {code!r}; choose one of {', '.join(i18n.LANGUAGES)}.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(i18n.LANGUAGE_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/", name="home")
def home(request: Request, principal: Annotated[Principal, signed_in()]) -> Response:
    return render(request, "home.html", {"role": principal.role})


@router.get("/admin/users", name="users_page")
def users_page(
    request: Request, session: SessionDep, principal: Annotated[Principal, require("users.read")]
) -> Response:
    return _users_page(request, session, principal)


def _users_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    *,
    status: int = 200,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    created: str | None = None,
) -> Response:
    users = service.users_out(session, principal, service.list_users(session, principal, limit=500))
    departments = {d.id: d for d in service.list_departments(session, principal)}
    return render(
        request,
        "users.html",
        {
            "users": users,
            "departments": departments,
            "roles": ROLES,
            "errors": errors or [],
            "form": form or {},
            "created": created,
            "can_manage": principal.can("users.manage"),
        },
        status=status,
    )


@router.post("/admin/users", name="users_create")
def users_create(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("users.manage")],
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    department_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    form = {"username": username, "display_name": display_name, "role": role, "department_code": department_code}
    try:
        body = schemas.UserIn(**{**form, "password": password, "department_code": department_code or None})
        with session.begin_nested():  # a refused account leaves nothing behind, not even a half row
            user = service.create_user(session, **body.model_dump())
    except ValidationError as exc:
        errors = [{"field": str(e["loc"][0]), "message": e["msg"]} for e in exc.errors()]
        return _users_page(request, session, principal, status=422, errors=errors, form=form)
    except Problem as problem:
        errors = problem.errors or [{"field": "", "message": problem.detail}]
        return _users_page(request, session, principal, status=problem.status, errors=errors, form=form)
    return _users_page(request, session, principal, created=user.username, status=201)


@router.get("/admin/audit", name="audit_page")
def audit_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require("audit.read")],
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    limit = 50
    records, total = service.audit_records(session, principal, limit=limit, offset=(page - 1) * limit)
    return render(
        request,
        "audit.html",
        {"records": records, "total": total, "page": page, "limit": limit, "can_verify": principal.can("audit.verify")},
    )


@router.post("/admin/audit/verify", name="audit_verify_page")
def audit_verify_page(
    request: Request, session: SessionDep, principal: Annotated[Principal, require("audit.verify")]
) -> Response:
    verdict = audit.verify(session)
    records, total = service.audit_records(session, principal, limit=50, offset=0)
    return render(
        request,
        "audit.html",
        {"records": records, "total": total, "page": 1, "limit": 50, "can_verify": True, "verdict": verdict},
    )
