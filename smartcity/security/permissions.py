"""The one permission check: every route depends on :func:`require`, :func:`signed_in` or :func:`public`.

Who is calling is read from, in order: an OAuth2 bearer token, an ``X-API-Key`` header, the page
session cookie. A cookie-authenticated request that changes something must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.errors import Problem
from smartcity.security.roles import Role

SESSION_COOKIE = "smartcity_session"
PRESESSION_COOKIE = "smartcity_csrf"  # double-submit token of the sign-in form, before any session exists
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ANONYMOUS_ROLE = Role("anonymous", "访客", "Visitor", "self", set(), staff=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: their role, department and how they proved it (``session``, ``bearer``, ``apikey``)."""

    user_id: int | None
    username: str
    display_name: str
    role: Role
    department_id: int | None
    department_path: str
    language: str
    via: str
    token_id: int | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    def can(self, permission: str) -> bool:
        return self.signed_in and self.role.allows(permission)

    def sees_department(self, path: str) -> bool:
        """Whether a department (by its ``/310000/310101/`` path) is in this principal's scope."""
        if self.role.scope == "all":
            return True
        return self.role.scope == "department" and path.startswith(self.department_path)


ANONYMOUS = Principal(None, "anonymous", "", ANONYMOUS_ROLE, None, "/", "zh-CN", "none")


def _unauthorized(detail: str, error: str = "invalid_token") -> Problem:
    return Problem(401, detail, code="not-signed-in", headers={"WWW-Authenticate": f'Bearer error="{error}"'})


def _identify(request: Request, session: SessionDep) -> Principal:
    from smartcity.security import service

    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        return _basic(session, header[6:].strip())
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
        found = service.resolve_token(session, credential.strip(), "bearer")
        if found is None:
            raise _unauthorized("The bearer token is unknown, expired or revoked; request a new one.")
        return service.principal_for(session, found[0], via="bearer", token_id=found[1].id)
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        user = service.resolve_api_key(session, api_key.strip())
        if user is None:
            raise _unauthorized("The API key is unknown, expired or revoked.")
        return service.principal_for(session, user, via="apikey")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = service.resolve_token(session, cookie, "session")
        if found is not None:
            return service.principal_for(session, found[0], via="session", token_id=found[1].id)
    return ANONYMOUS


def _basic(session: SessionDep, credential: str) -> Principal:
    """HTTP Basic with an API key as the password (``user:sck_…``): what devices and SensorThings clients
    send. Account passwords are not accepted here — they belong to the sign-in form and the token flow."""
    import base64
    import binascii

    from smartcity.security import service

    try:
        username, _, key = base64.b64decode(credential, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _unauthorized("The Basic credentials are not valid base64 of user:key.", "invalid_request") from exc
    user = service.resolve_api_key(session, key) if key.startswith(service.API_KEY_PREFIX) else None
    if user is None or user.username != username:
        raise _unauthorized("Basic authentication takes the account name and one of its API keys (sck_…).")
    return service.principal_for(session, user, via="apikey")


async def _check_csrf(request: Request, settings: SettingsDep) -> None:
    """Unsafe requests that rely on the session cookie must prove they come from our own page."""
    from smartcity.security.service import csrf_token

    cookie = request.cookies.get(SESSION_COOKIE)
    if request.method in _SAFE_METHODS or not cookie:
        return
    if request.headers.get("authorization") or request.headers.get("x-api-key") is not None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    expected = csrf_token(settings.effective_secret_key(), cookie)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Problem(
            403,
            "The form has expired or did not come from this site. Reload the page and try again.",
            code="csrf-failed",
        )


def public_form_token_ok(request: Request, sent: str) -> bool:
    """A form anyone may post (the citizen's submission): the token must match the double-submit cookie
    set with the page, or — for a signed-in visitor — the session's CSRF token."""
    from smartcity.security.service import csrf_token

    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        expected = csrf_token(request.app.state.settings.effective_secret_key(), cookie)
        if hmac.compare_digest(sent, expected):
            return True
    presession = request.cookies.get(PRESESSION_COOKIE, "")
    return bool(presession) and hmac.compare_digest(sent, presession)


def _bind(request: Request, session: SessionDep, principal: Principal) -> Principal:
    session.info["actor"] = principal.username if principal.signed_in else "anonymous"
    request.state.principal = principal
    return principal


def _signed_in_check(permission: str | None) -> Any:
    def check(
        request: Request,
        session: SessionDep,
        _csrf: None = Depends(_check_csrf),
        principal: Principal = Depends(_identify),
    ) -> Principal:
        _bind(request, session, principal)
        if not principal.signed_in:
            raise _unauthorized("Sign in first: this needs an account.")
        if permission is not None and not principal.can(permission):
            raise Problem(
                403, f"Your role ({principal.role.label_en}) may not do this ({permission}).", code="forbidden"
            )
        return principal

    check.__permission__ = permission or "signed-in"  # type: ignore[attr-defined]
    return check


def require(permission: str) -> Any:
    """Dependency: the caller must be signed in and hold ``permission``; yields the :class:`Principal`."""
    return Depends(_signed_in_check(permission))


def signed_in() -> Any:
    """Dependency: any signed-in account (used for one's own profile and the home page)."""
    return Depends(_signed_in_check(None))


def readable(permission: str, is_open: Any) -> Any:
    """Dependency for data a city may publish: open to everyone while ``is_open(settings)`` holds (an
    open-data setting), otherwise like :func:`require`. Writes never use this."""

    def check(
        request: Request,
        session: SessionDep,
        _csrf: None = Depends(_check_csrf),
        principal: Principal = Depends(_identify),
    ) -> Principal:
        _bind(request, session, principal)
        if is_open(request.app.state.settings) or principal.can(permission):
            return principal
        if not principal.signed_in:
            raise _unauthorized("Sign in first: this data is not published openly here.")
        raise Problem(403, f"Your role ({principal.role.label_en}) may not do this ({permission}).", code="forbidden")

    check.__permission__ = f"{permission} (or open data)"  # type: ignore[attr-defined]
    return Depends(check)


def public() -> Any:
    """Dependency: open to everyone; still identifies the caller so pages can greet them."""

    def check(request: Request, session: SessionDep, principal: Principal = Depends(_identify)) -> Principal:
        return _bind(request, session, principal)

    check.__permission__ = "public"  # type: ignore[attr-defined]
    return Depends(check)
