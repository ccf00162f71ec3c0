"""Who may do what: the role × route matrix, department scope, masking of personal data, and a check
that no route escapes the permission dependency."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tests.conftest import bearer

# (method, path, body) -> the roles that get a 2xx; every other signed-in role gets 403.
NEW_USER = {
    "username": "made-{role}",
    "display_name": "M",
    "password": "long-enough-1",
    "role": "viewer",
    "department_code": "310101",
}
MATRIX = [
    ("GET", "/api/me", None, {"*"}),
    (
        "GET",
        "/api/security/departments",
        None,
        {"admin", "supervisor", "dispatcher", "operator", "inspector", "handler", "viewer", "emergency", "traffic"},
    ),
    (
        "POST",
        "/api/security/departments",
        {"code": "310105-{role}", "name": "长宁区", "level": "district", "parent_code": "310000"},
        {"admin"},
    ),
    ("GET", "/api/security/users", None, {"admin", "supervisor", "dispatcher"}),
    ("POST", "/api/security/users", NEW_USER, {"admin"}),
    ("GET", "/api/security/api-keys", None, {"admin"}),
    ("GET", "/api/audit/records", None, {"admin", "supervisor"}),
    ("POST", "/api/audit/verify", None, {"admin"}),
]
ROLES = ["admin", "supervisor", "dispatcher", "operator", "inspector", "handler", "viewer", "emergency", "traffic",
         "citizen", "device"]  # fmt: skip


def _fill(value, role: str):
    if isinstance(value, dict):
        return {k: _fill(v, role) for k, v in value.items()}
    return value.replace("{role}", role) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(client, city, method, path, body, allowed) -> None:
    for role in ROLES:
        response = client.request(method, path, json=_fill(body, role), headers=bearer(client, role))
        expected_ok = "*" in allowed or role in allowed
        if expected_ok:
            assert response.status_code < 300, f"{role} should be allowed {method} {path}: {response.text}"
        else:
            assert response.status_code == 403, f"{role} should be refused {method} {path}: {response.status_code}"


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_anonymous_is_refused(client, city, method, path, body, allowed) -> None:
    response = client.request(method, path, json=_fill(body, "anon"))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def _usernames(client, who: str) -> set[str]:
    return {u["username"] for u in client.get("/api/security/users", headers=bearer(client, who)).json()["items"]}


def test_department_scope_limits_what_is_seen(client, city) -> None:
    everyone = _usernames(client, "admin")
    assert {"xuhui_handler", "citizen", "inspector"} <= everyone
    huangpu = _usernames(client, "huangpu_supervisor")
    assert {"handler", "inspector", "dispatcher", "huangpu_supervisor"} <= huangpu
    assert "xuhui_handler" not in huangpu and "admin" not in huangpu and "citizen" not in huangpu
    city_wide = _usernames(client, "supervisor")
    assert "xuhui_handler" in city_wide


def test_out_of_scope_account_is_not_found_not_forbidden(client, city) -> None:
    response = client.get(
        f"/api/security/users/{city.users['xuhui_handler']}", headers=bearer(client, "huangpu_supervisor")
    )
    assert response.status_code == 404


def test_departments_seen_are_own_subtree_and_ancestors(client, city) -> None:
    codes = {d["code"] for d in client.get("/api/security/departments", headers=bearer(client, "handler")).json()}
    assert codes == {"310000", "310101", "310101001", "310101001001"}


def test_contact_data_is_masked_for_roles_that_do_not_need_it(client, city) -> None:
    items = client.get("/api/security/users", headers=bearer(client, "dispatcher")).json()["items"]
    others = [u for u in items if u["username"] != "dispatcher"]
    assert others and all(u["masked"] and u["phone"] == "138****5678" for u in others)
    assert all("@" not in u["email"] or u["email"].split("@")[0].endswith("***") for u in others)
    own = next(u for u in items if u["username"] == "dispatcher")
    assert own["phone"] == "13812345678" and not own["masked"]


def test_unmasked_reads_are_audited(client, city) -> None:
    supervisor = bearer(client, "supervisor")
    items = client.get("/api/security/users", headers=supervisor).json()["items"]
    assert any(u["phone"] == "13812345678" and u["username"] != "supervisor" for u in items)
    records = client.get("/api/audit/records", params={"actor": "supervisor"}, headers=supervisor).json()["items"]
    assert any(r["action"] == "personal_data.read" for r in records)


def test_supervisor_sees_only_audit_records_of_accounts_in_scope(client, city) -> None:
    bearer(client, "xuhui_handler")  # its sign-in is recorded with xuhui_handler as actor
    bearer(client, "handler")
    actors = {
        r["actor"]
        for r in client.get(
            "/api/audit/records", params={"limit": 500}, headers=bearer(client, "huangpu_supervisor")
        ).json()["items"]
    }
    assert "handler" in actors and "xuhui_handler" not in actors


PUBLIC_ROUTES = {
    "/healthz",
    "/alerts/cap/feed.atom",  # published warnings are for everyone
    "/alerts/cap/{identifier}.xml",
    "/alerts/warnings/active.json",
    "/warnings",  # the public warnings page
    # traffic information and parking guidance are open data (docs/traffic.md)
    "/api/traffic/parking",
    "/api/traffic/parking/nearby",
    "/api/traffic/parking/{code}/occupancy",
    "/api/traffic/cycles",
    "/api/traffic/index",
    "/api/traffic/index/history",
    "/api/traffic/segments",
    "/api/traffic/levels",
    "/gtfs/static.zip",  # public transport information is open data
    "/gtfs-rt/trip-updates.pb",
    "/gtfs-rt/vehicle-positions.pb",
    "/gtfs-rt/alerts.pb",
    "/api/transit/stops",
    "/api/transit/stops/{stop_id}/departures",
    "/traffic",  # the traffic map and the index: open data
    "/traffic/state",
    "/traffic/index",
    "/transit",  # bus departures and parking guidance pages: open data
    "/transit/stops/{stop_id}",
    "/traffic/parking",
    "/login",
    "/language/{code}",
    "/api/auth/token",
    "/docs",
    # the map service: boundaries and grids are public information (docs/places.md)
    "/ogcapi",
    "/hotline/submit",
    "/open311/discovery.{fmt}",
    "/open311/v2/discovery.{fmt}",
    "/open311/v2/services.{fmt}",
    "/open311/v2/services/{code}.{fmt}",
    "/open311/v2/requests.{fmt}",
    "/open311/v2/requests/{number}.{fmt}",
    "/open311/v2/tokens/{token}.{fmt}",
    "/open311/v2/servicerequestupdates.{fmt}",
    "/hotline/track",
    "/api/hotline/public/orders",
    "/api/hotline/public/track",
    "/ogcapi/conformance",
    "/ogcapi/collections",
    "/ogcapi/collections/{collection_id}",
    "/ogcapi/collections/{collection_id}/items",
    "/ogcapi/collections/{collection_id}/items/{feature_id}",
    # the plan's indicators and their evaluations are published (plan §6.7, docs/kpi.md); entering is not
    "/kpi",
    "/kpi/{code}",
    "/kpi/report/{year}",
    "/kpi/report/{year}.pdf",
    "/api/kpi/sections",
    "/api/kpi/indicators",
    "/api/kpi/indicators/{code}",
    "/api/kpi/summary",
    "/api/kpi/report/{year}",
    "/api/kpi/export.csv",
    "/api/kpi/export.xlsx",
}


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI keeps those nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def test_every_route_goes_through_the_permission_check(app) -> None:
    def checks(dependant) -> list[str]:
        found = [getattr(dependant.call, "__permission__", None)]
        for sub in dependant.dependencies:
            found += checks(sub)
        return [f for f in found if f]

    unchecked, public = [], set()
    routes = api_routes(app.routes)
    assert len(routes) > 15
    for route in routes:
        found = checks(route.dependant)
        if not found:
            unchecked.append(route.path)
        elif found == ["public"]:
            public.add(route.path)
    assert unchecked == []
    assert public == PUBLIC_ROUTES
