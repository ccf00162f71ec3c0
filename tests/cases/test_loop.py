"""The closed loop: report → register → dispatch → handle → feed back → check (rework) → close, who may
do each step, verification of public reports, stale versions and concurrent writers."""

from __future__ import annotations

import threading

import pytest

from smartcity.cases import service
from smartcity.core.errors import Conflict
from smartcity.security import service as security
from tests.conftest import bearer, web_login

POINT = {"lon": 121.4846, "lat": 31.2317}


@pytest.fixture
def loop_ready(case_setup) -> None:
    """Cases can be reported and dispatched in Huangpu."""


def _act(client, who: str, number: str, action: str, version: int, **body):
    return client.post(
        f"/api/cases/{number}/actions/{action}", json={"version": version, **body}, headers=bearer(client, who)
    )


def test_the_whole_loop_with_a_rework(client, loop_ready) -> None:
    created = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "路口暴露垃圾", **POINT},
    )
    assert created.status_code == 201, created.text
    case = created.json()
    number = case["number"]
    assert (case["state"], case["source"], case["grid_code"][:6]) == ("reported", "inspector", "310101")
    case = _act(client, "operator", number, "register", case["version"]).json()
    assert client.get(f"/api/cases/{number}/proposal", headers=bearer(client, "dispatcher")).json() == {
        "department_code": "310101"
    }
    case = _act(client, "dispatcher", number, "dispatch", case["version"]).json()
    assert case["state"] == "dispatched" and case["department_code"] == "310101" and case["deadline"]
    assert _act(client, "xuhui_handler", number, "accept", case["version"]).status_code in (403, 404)
    case = _act(client, "handler", number, "accept", case["version"]).json()
    case = _act(client, "handler", number, "feedback", case["version"], note="已清除").json()
    assert _act(client, "handler", number, "check_pass", case["version"]).status_code == 403  # never closes
    case = _act(client, "inspector", number, "check_fail", case["version"], note="仍有残留").json()
    assert (case["state"], case["rework_count"]) == ("processing", 1)
    case = _act(client, "handler", number, "feedback", case["version"], note="已彻底清除").json()
    case = _act(client, "inspector", number, "check_pass", case["version"]).json()
    assert case["state"] == "closed" and case["closed_at"]
    actions = [e["action"] for e in case["history"]]
    assert actions == ["report", "register", "dispatch", "accept", "feedback", "check_fail", "feedback", "check_pass"]
    assert all(e["actor"] for e in case["history"])


def test_public_reports_are_verified_before_registration(client, loop_ready) -> None:
    case = client.post(
        "/api/cases",
        headers=bearer(client, "operator"),
        json={"kind": "event", "class_code": "0504", "description": "占道停车", "source": "public", **POINT},
    ).json()
    refused = _act(client, "operator", case["number"], "register", case["version"])
    assert refused.status_code == 409 and refused.json()["type"].endswith("/not-verified")
    case = _act(client, "operator", case["number"], "request_verification", case["version"]).json()
    case = _act(client, "inspector", case["number"], "verify", case["version"], note="属实").json()
    assert case["state"] == "reported" and case["verified"]
    assert _act(client, "operator", case["number"], "register", case["version"]).json()["state"] == "registered"


def test_wrong_steps_are_refused_and_change_nothing(client, loop_ready) -> None:
    case = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "x", **POINT},
    ).json()
    number, version = case["number"], case["version"]
    assert _act(client, "operator", number, "dispatch", version).status_code == 403  # not a dispatcher
    assert _act(client, "dispatcher", number, "dispatch", version).status_code == 409  # not registered yet
    assert _act(client, "operator", number, "cancel", version).status_code == 422  # needs a reason
    assert _act(client, "operator", number, "fly", version).status_code == 404
    stale = _act(client, "operator", number, "register", version + 5)
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    after = client.get(f"/api/cases/{number}", headers=bearer(client, "operator")).json()
    assert (after["state"], after["version"], len(after["history"])) == ("reported", version, 1)
    outside = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "x", "lon": 116.39, "lat": 39.9},
    )
    assert outside.status_code == 422
    unknown = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "9999", "description": "x", **POINT},
    )
    assert unknown.status_code == 404
    assert (
        client.post(
            "/api/cases",
            headers=bearer(client, "viewer"),
            json={"kind": "event", "class_code": "0102", "description": "x", **POINT},
        ).status_code
        == 403
    )


def test_dispatch_elsewhere_needs_a_reason(client, loop_ready) -> None:
    case = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "x", **POINT},
    ).json()
    case = _act(client, "operator", case["number"], "register", case["version"]).json()
    refused = _act(client, "dispatcher", case["number"], "dispatch", case["version"], department_code="310104")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "override_reason"
    done = _act(
        client,
        "dispatcher",
        case["number"],
        "dispatch",
        case["version"],
        department_code="310104",
        override_reason="跨区域",
    ).json()
    assert done["department_code"] == "310104"


def test_concurrent_writers_one_wins(database, settings, loop_ready) -> None:
    with database.session() as s:
        inspector = security.principal_for(s, security.user_by_name(s, "inspector"), via="test")
        operator = security.principal_for(s, security.user_by_name(s, "operator"), via="test")
        number = service.report(s, inspector, kind="event", class_code="0102", description="x", **POINT).number
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(name: str, note: str | None) -> None:
        barrier.wait()
        try:
            with database.session(actor="operator") as s:
                service.act(s, settings, operator, number, name, service.Step(version=1, note=note))
            outcomes.append(name)
        except Conflict:
            outcomes.append("409")

    threads = [
        threading.Thread(target=act, args=("register", None)),
        threading.Thread(target=act, args=("cancel", "duplicate")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[0] == "409" and len(outcomes) == 2  # exactly one of the two won
    winner = next(o for o in outcomes if o != "409")
    with database.session() as s:
        case = service.get_case(s, operator, number)
        assert [e.action for e in service.history(s, case)] == ["report", winner]
        assert case.state == {"register": "registered", "cancel": "cancelled"}[winner]


def test_simultaneous_reports_get_distinct_numbers(database, loop_ready) -> None:
    with database.session() as s:
        inspector = security.principal_for(s, security.user_by_name(s, "inspector"), via="test")
    barrier = threading.Barrier(4)
    numbers: list[str] = []

    def report() -> None:
        barrier.wait()
        with database.session(actor="inspector") as s:
            numbers.append(
                service.report(s, inspector, kind="event", class_code="0102", description="x", **POINT).number
            )

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(numbers) == 4 and len(set(numbers)) == 4


def test_page_form_with_empty_extension_fields(client, loop_ready) -> None:
    from tests.conftest import web_login

    case = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "x", **POINT},
    ).json()
    csrf = web_login(client, "supervisor")
    response = client.post(
        f"/cases/{case['number']}",
        data={
            "csrf_token": csrf,
            "version": case["version"],
            "action": "supervise",
            "note": "请加快",
            "extension_amount": "",
            "extension_unit": "working_days",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    refused = client.post(
        f"/cases/{case['number']}",
        data={"csrf_token": csrf, "version": case["version"], "action": "supervise", "note": "again"},
    )
    assert refused.status_code == 409 and 'role="alert"' in refused.text  # stale version, shown on the page


def test_map_of_open_cases_respects_scope(client, loop_ready) -> None:
    case = client.post(
        "/api/cases",
        headers=bearer(client, "inspector"),
        json={"kind": "event", "class_code": "0102", "description": "x", **POINT},
    ).json()
    box = {"bbox": "121.4,31.2,121.6,31.3"}
    features = client.get("/api/cases/map", params=box, headers=bearer(client, "supervisor")).json()["features"]
    assert [f["id"] for f in features] == [case["number"]]
    assert features[0]["properties"] == {
        "number": case["number"],
        "class_code": "0102",
        "state": "reported",
        "overdue": False,
    }
    assert client.get("/api/cases/map", params=box, headers=bearer(client, "xuhui_handler")).json()["features"] == []
    assert client.get("/api/cases/map", params={"bbox": "a,b"}, headers=bearer(client, "supervisor")).status_code == 422
    assert client.get("/api/cases/map", params=box).status_code == 401


def test_supervision_desk_is_for_supervisors(client, loop_ready) -> None:
    web_login(client, "handler")
    assert client.get("/cases/supervision").status_code == 403
    client.cookies.clear()
    web_login(client, "supervisor")
    page = client.get("/cases/supervision")
    assert page.status_code == 200 and "督办台" in page.text
