"""Pages of the operations centre: the live map with today's figures where staff land after signing in, the
wall-screen mode for a control room, and the lists beside the map (also fetched alone when something changes).
Drill-down is a link per place (``/ops?area=…``), so it works from the keyboard, without the map and without
scripts; the map and the live stream only add to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartcity.config import Settings
from smartcity.core.deps import SessionDep, SettingsDep
from smartcity.core.web import NavItem, add_landing, add_nav, add_templates, language_of, render
from smartcity.ops import service, tiles
from smartcity.ops.api import AreaCode, Reader
from smartcity.security import Principal

add_templates(Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
add_nav(NavItem("Operations centre", "ops_centre", "ops.read", order=10))
add_landing("ops_centre", "ops.read")  # staff land here after signing in (docs/ops.md)
router = APIRouter(include_in_schema=False)


def _layers(principal: Principal, settings: Settings) -> dict[str, bool]:
    """Which map layers this person may switch on: each needs its module's own reading right."""
    return {
        "cases": principal.can("cases.read"),
        "alarms": principal.can("alerts.read"),
        "warnings": True,  # published warnings are public
        "stations": principal.can("sensing.read") or settings.sta_public_read,
        "traffic": True,  # traffic levels and parking are open data
        "parking": True,
    }


def _case_labels(language: str) -> dict[str, str]:
    from smartcity.cases.workflow import LABELS

    return {state.value: zh if language == "zh-CN" else en for state, (zh, en) in LABELS.items()}


def _links(base: str) -> dict[str, Any]:
    """Drill-down links stay in the mode they were opened in (the centre or the wall screen)."""
    return {"ops_base": base, "ops_href": lambda code: f"{base}?area={code}"}


def _context(
    request: Request, session: SessionDep, settings: Settings, principal: Principal, area: str | None, base: str
) -> dict[str, Any]:
    language = language_of(request)
    chosen = service.resolve(session, principal, area)
    return {
        **_links(base),
        "case_labels": _case_labels(language),
        "area": chosen,
        "snapshot": tiles.snapshot(session, settings, principal, chosen, language),
        "lists": service.lists(session, principal, chosen, language),
        "layers": _layers(principal, settings),
        "case_colours": service.CASE_COLOURS,
        "severity_colours": service.SEVERITY_COLOURS,
        "refresh_seconds": settings.ops_refresh_seconds,
    }


@router.get("/ops", name="ops_centre")
def ops_centre(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    area: AreaCode = None,
    wall: Annotated[bool, Query(description="the wall-screen layout")] = False,
) -> Response:
    """The operations centre of an area (default: the area your department answers for)."""
    context = _context(request, session, settings, principal, area, "/ops/wall" if wall else "/ops")
    return render(request, "ops/wall.html" if wall else "ops/centre.html", context | {"wall": wall})


@router.get("/ops/wall", name="ops_wall")
def ops_wall(
    request: Request, session: SessionDep, settings: SettingsDep, principal: Reader, area: AreaCode = None
) -> Response:
    """The wall-screen mode: the same figures and map, large, without the navigation."""
    context = _context(request, session, settings, principal, area, "/ops/wall")
    return render(request, "ops/wall.html", context | {"wall": True})


@router.get("/ops/lists", name="ops_lists")
def ops_lists(
    request: Request,
    session: SessionDep,
    principal: Reader,
    area: AreaCode = None,
    wall: Annotated[bool, Query(description="links stay in the wall-screen mode")] = False,
) -> Response:
    """The lists beside the map alone (the page fetches them again when cases, alarms or warnings change)."""
    chosen = service.resolve(session, principal, area)
    language = language_of(request)
    context = {"area": chosen, "lists": service.lists(session, principal, chosen, language)}
    return render(
        request,
        "ops/_lists.html",
        context | _links("/ops/wall" if wall else "/ops") | {"case_labels": _case_labels(language)},
    )
