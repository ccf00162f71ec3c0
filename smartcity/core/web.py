"""The page shell: Jinja2 environment, language, navigation each module adds to, and rendering."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from smartcity.core import i18n
from smartcity.core.errors import Problem

CORE_TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation: shown only to those holding ``permission`` (None: signed-in)."""

    label: str  # an English msgid, translated when shown
    route: str
    permission: str | None = None
    order: int = 100


NAVIGATION: list[NavItem] = []
TEMPLATE_DIRS: list[Path] = [CORE_TEMPLATES]


@dataclass(frozen=True)
class Landing:
    """A page people land on after signing in without asking for one, if they hold ``permission``."""

    route: str
    permission: str


LANDINGS: list[Landing] = []


def add_nav(item: NavItem) -> None:
    if item not in NAVIGATION:
        NAVIGATION.append(item)
        NAVIGATION.sort(key=lambda n: n.order)


def add_landing(route: str, permission: str) -> None:
    """Make ``route`` the page to land on for those holding ``permission`` (the first registered one wins)."""
    landing = Landing(route, permission)
    if landing not in LANDINGS:
        LANDINGS.append(landing)


def landing_path(request: Request, can: Callable[[str], bool]) -> str:
    """Where to go after signing in: the first landing page the person may open, else the home page."""
    for landing in LANDINGS:
        if can(landing.permission):
            return str(request.app.url_path_for(landing.route))
    return "/"


def add_templates(directory: Path) -> None:
    if directory not in TEMPLATE_DIRS:
        TEMPLATE_DIRS.append(directory)


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.filters["localtime"] = _localtime
    return env


def _localtime(value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _gettext_for(language: str) -> tuple[Callable[..., str], Callable[..., str]]:
    catalogue = i18n.translations(language)

    def gettext(message: str, **variables: Any) -> str:
        text = Markup(catalogue.gettext(message))
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        return Markup(catalogue.ngettext(singular, plural, n)) % variables

    return gettext, ngettext


def language_of(request: Request) -> str:
    settings = request.app.state.settings
    return i18n.pick_language(
        request.query_params.get("lang"), request.cookies.get(i18n.LANGUAGE_COOKIE), settings.default_language
    )


def translate(request: Request, message: str, **variables: object) -> str:
    return i18n.gettext(language_of(request), message, **variables)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """Render a page with the shell's context: language, navigation, the principal and the CSRF token."""
    from smartcity.security.permissions import ANONYMOUS, PRESESSION_COOKIE, SESSION_COOKIE
    from smartcity.security.service import csrf_token

    settings = request.app.state.settings
    language = language_of(request)
    principal = getattr(request.state, "principal", ANONYMOUS)
    gettext, ngettext = _gettext_for(language)
    if principal.signed_in:
        token = csrf_token(settings.effective_secret_key(), request.cookies.get(SESSION_COOKIE, ""))
    else:  # the sign-in form: a double-submit token in a cookie of its own
        token = request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(32)
    page = {
        "request": request,
        "lang": language,
        "languages": i18n.LANGUAGE_NAMES,
        "principal": principal,
        "nav": [n for n in NAVIGATION if _visible(n, principal)],
        "csrf_token": token,
        "tz": settings.timezone,
        "gettext": gettext,
        "ngettext": ngettext,
        "_": gettext,
        "url_for": lambda name, **params: str(request.app.url_path_for(name, **params)),
        **(context or {}),
    }
    html = request.app.state.templates.get_template(template).render(page)
    response = HTMLResponse(html, status_code=status)
    if not principal.signed_in and request.cookies.get(PRESESSION_COOKIE) != token:
        response.set_cookie(
            PRESESSION_COOKIE, token, httponly=True, samesite="strict", secure=settings.cookie_secure, path="/"
        )
    return response


def _visible(item: NavItem, principal: Any) -> bool:
    if not principal.signed_in:
        return False
    return item.permission is None or principal.can(item.permission)


def html_error(request: Request, problem: Problem) -> Response:
    """Browsers get a page instead of problem+json; an unsigned visitor is sent to the login page."""
    if problem.status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render(request, "error.html", {"problem": problem}, status=problem.status)
