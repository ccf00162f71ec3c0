"""Hotline orders through the loop: intake with validation, dispatch by the catalogue, sign-for, return,
joint handling, completion, reply, callback with re-handling, escalation, grid cases, merging, masking."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from smartcity.hotline import service
from smartcity.hotline.models import WorkOrder
from tests.conftest import bearer

HUANGPU = {"lon": 121.4846, "lat": 31.2317}
CALLER = {"caller_name": "张三", "caller_phone": "13912345678"}


@pytest.fixture
def ready(hotline_setup) -> None:
    """Huangpu's grids, the grid catalogue and the dispatch catalogue."""


def _new(client, who: str = "operator", **fields):
    body = {"order_type": "complaint", "description": "小区楼下广场舞噪音太大，晚上十点后仍未停止", **CALLER, **fields}
    return client.post("/api/hotline/orders", json=body, headers=bearer(client, who))


def _act(client, who: str, order: dict, action: str, **body):
    response = client.post(
        f"/api/hotline/orders/{order['number']}/actions/{action}",
        json={"version": order["version"], **body},
        headers=bearer(client, who),
    )
    return response


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _count(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(WorkOrder)) or 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"description": "<script>alert(1)</script>噪音"}, "description"),
        ({"matter_code": "NOPE"}, "matter_code"),
        ({"lon": 121.4846}, "lat"),
        ({"lon": 120.0, "lat": 30.0}, None),  # outside the city
        ({"caller_phone": "call me"}, "caller_phone"),
        ({"order_type": "rant"}, "order_type"),
    ],
)
def test_bad_intake_is_refused_and_stores_nothing(client, database, ready, fields, field) -> None:
    response = _new(client, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field:
        assert field in response.text
    assert _count(database) == 0


def test_dispatched_loop_to_a_satisfied_callback(client, ready) -> None:
    order = _new(client, matter_code="HB01", **HUANGPU).json()
    assert order["number"].startswith("H") and len(order["number"]) == 15
    assert (order["state"], order["district_code"]) == ("received", "310101")
    proposal = client.get(f"/api/hotline/orders/{order['number']}/proposal", headers=bearer(client, "operator"))
    assert proposal.json() == {"department_code": "310101"}  # HB01 is a district matter
    order = _ok(_act(client, "operator", order, "dispatch"))
    assert order["state"] == "dispatched" and order["sign_due_at"] < order["due_at"]
    assert _act(client, "xuhui_handler", order, "sign").status_code in (403, 404)
    order = _ok(_act(client, "handler", order, "sign"))
    assert order["signed_at"]
    assert _act(client, "handler", order, "complete").status_code == 422  # the result is required
    order = _ok(_act(client, "handler", order, "complete", note="已约谈广场舞队伍，调整时间至21点前"))
    assert _act(client, "handler", order, "reply", note="x").status_code == 403  # the desk replies
    order = _ok(_act(client, "operator", order, "reply", note="经核查，已协调在21点前结束活动"))
    order = _ok(_act(client, "operator", order, "callback", satisfaction="satisfied"))
    assert (order["state"], order["satisfaction"]) == ("closed", "satisfied")
    actions = [e["action"] for e in order["history"]]
    assert actions == ["receive", "dispatch", "sign", "complete", "reply", "callback"]


def test_direct_answer_needs_the_answer_text(client, ready) -> None:
    order = _new(client, order_type="inquiry", description="社保卡丢了怎么补办").json()
    assert _act(client, "operator", order, "answer").status_code == 422
    order = _ok(_act(client, "operator", order, "answer", note="携带身份证到任一社保网点办理"))
    assert (order["state"], order["answered_directly"]) == ("replied", True)


def test_returns_across_three_departments_escalate(client, ready) -> None:
    order = _new(client, matter_code="HB01", **HUANGPU).json()
    for department, handler in (("310101", "handler"), ("310104", "xuhui_handler")):
        order = _ok(_act(client, "operator", order, "dispatch", department_code=department))
        order = _ok(_act(client, handler, order, "return", note="不属于本单位职责"))
        assert order["state"] == "returned" and not order["escalated"]
    order = _ok(_act(client, "operator", order, "dispatch", department_code="310000"))
    assert (order["departments_seen"], order["escalated"], order["supervised"]) == (3, True, True)
    assert order["history"][-1]["action"] == "escalate"


def test_dissatisfied_callback_reopens_and_three_rehandlings_escalate(client, ready) -> None:
    order = _ok(_act(client, "operator", _new(client, matter_code="HB01", **HUANGPU).json(), "dispatch"))
    for round_ in range(1, 4):
        order = _ok(_act(client, "handler", order, "sign"))
        order = _ok(_act(client, "handler", order, "complete", note=f"第{round_}次处理"))
        order = _ok(_act(client, "operator", order, "reply", note="已处理"))
        assert _act(client, "operator", order, "callback", satisfaction="satisfied", reopen=True).status_code == 422
        order = _ok(_act(client, "operator", order, "callback", satisfaction="dissatisfied", reopen=True))
        assert (order["state"], order["rehandle_count"], order["reply"]) == ("dispatched", round_, None)
    assert order["escalated"]


def test_joint_handling(client, ready) -> None:
    order = _new(client, matter_code="HB02", **HUANGPU).json()
    order = _ok(_act(client, "operator", order, "dispatch", department_code="310101", co_departments=["310104"]))
    assert order["co_departments"] == ["310104"]
    order = _ok(_act(client, "xuhui_handler", order, "contribute", note="徐汇区配合检测油烟"))
    assert _act(client, "xuhui_handler", order, "sign").status_code == 403  # the lead signs
    assert _act(client, "handler", order, "sign").status_code == 200


def test_a_second_report_joins_the_open_case_and_a_closed_case_is_refused(client, ready) -> None:
    first = _ok(_act(client, "operator", _new(client, matter_code="CG01", **HUANGPU).json(), "to_case"))
    number = first["case_number"]
    second = _new(client, matter_code="CG01", description="同一处垃圾，又有人打电话", **HUANGPU).json()
    assert _act(client, "operator", second, "to_case", case_number="NO-SUCH").status_code == 404
    joined = _ok(_act(client, "operator", second, "to_case", case_number=number))
    assert (joined["state"], joined["case_number"]) == ("in_case", number)
    cases = client.get("/api/cases", headers=bearer(client, "supervisor")).json()
    assert cases["total"] == 1  # joined, not reported twice
    case = client.get(f"/api/cases/{number}", headers=bearer(client, "operator")).json()
    cancelled = client.post(f"/api/cases/{number}/actions/cancel", json={"version": case["version"], "note": "重复"},
                            headers=bearer(client, "operator"))  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    for order in (first, joined):  # both orders follow the case
        after = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "operator")).json()
        assert after["state"] == "handled"
    third = _new(client, matter_code="CG01", **HUANGPU).json()
    late = _act(client, "operator", third, "to_case", case_number=number)
    assert late.status_code == 409 and "already" in late.json()["detail"]
    assert (
        client.get(f"/api/hotline/orders/{third['number']}", headers=bearer(client, "operator")).json()["case_number"]
        is None
    )


def test_urban_management_matter_runs_as_a_grid_case(client, ready) -> None:
    order = _new(client, matter_code="CG01", description="路口垃圾堆了三天没人清", **HUANGPU).json()
    order = _ok(_act(client, "operator", order, "to_case"))
    assert order["state"] == "in_case" and order["case_number"]
    case_number = order["case_number"]

    def case_step(who: str, action: str, **body) -> dict:
        case = client.get(f"/api/cases/{case_number}", headers=bearer(client, who)).json()
        response = client.post(
            f"/api/cases/{case_number}/actions/{action}",
            json={"version": case["version"], **body},
            headers=bearer(client, who),
        )
        assert response.status_code == 200, response.text
        return response.json()

    case = client.get(f"/api/cases/{case_number}", headers=bearer(client, "operator")).json()
    assert (case["source"], case["verified"]) == ("hotline", False)  # a public report is verified on site first
    for who, action, body in (
        ("operator", "request_verification", {}),
        ("inspector", "verify", {}),
        ("operator", "register", {}),
        ("dispatcher", "dispatch", {}),
        ("handler", "accept", {}),
        ("handler", "feedback", {"note": "已清运"}),
    ):
        case_step(who, action, **body)
    still = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "operator")).json()
    assert still["state"] == "in_case"  # the order waits for the case's closure
    case_step("inspector", "check_pass")
    order = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "operator")).json()
    assert order["state"] == "handled" and case_number in order["result"]
    order = _ok(_act(client, "operator", order, "reply", note="垃圾已清运完毕"))
    assert order["state"] == "replied"


def test_merged_callers_all_get_the_reply(client, ready) -> None:
    first = _new(client, matter_code="HB01", **HUANGPU).json()
    second = _new(client, matter_code="HB01", caller_phone="13700001111", **HUANGPU).json()
    suggested = client.get(f"/api/hotline/orders/{second['number']}/duplicates", headers=bearer(client, "operator"))
    assert suggested.json()[0]["number"] == first["number"]
    assert "same matter nearby" in suggested.json()[0]["reasons"]
    assert _act(client, "operator", second, "merge", target=second["number"]).status_code == 422
    second = _ok(_act(client, "operator", second, "merge", target=first["number"]))
    assert (second["state"], second["merged_into"]) == ("merged", first["number"])
    first = _ok(_act(client, "operator", first, "dispatch"))
    first = _ok(_act(client, "handler", first, "sign"))
    first = _ok(_act(client, "handler", first, "complete", note="已处理"))
    _ok(_act(client, "operator", first, "reply", note="已协调解决"))
    second = client.get(f"/api/hotline/orders/{second['number']}", headers=bearer(client, "operator")).json()
    assert (second["state"], second["reply"]) == ("replied", "已协调解决")  # each caller can be called back


def test_same_caller_and_similar_text_are_suggested(client, database, ready) -> None:
    first = _new(client, description="幸福路12号门口的路灯坏了一个星期").json()
    second = _new(client, description="幸福路12号门口路灯坏了好几天了", caller_phone="13600002222").json()
    third = _new(client, description="咨询公积金提取").json()
    found = client.get(f"/api/hotline/orders/{second['number']}/duplicates", headers=bearer(client, "operator"))
    assert [d["number"] for d in found.json()] == [first["number"]]
    assert found.json()[0]["reasons"] == ["similar text"]
    same_caller = client.get(f"/api/hotline/orders/{third['number']}/duplicates", headers=bearer(client, "operator"))
    assert {d["number"] for d in same_caller.json()} == {first["number"]}  # 13912345678 called both times


def test_contact_data_is_masked_for_departments_and_audited_for_the_desk(client, database, ready) -> None:
    from smartcity.core.audit import AuditRecord

    order = _ok(_act(client, "operator", _new(client, matter_code="HB01", **HUANGPU).json(), "dispatch"))
    seen = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "handler")).json()
    assert (seen["caller_phone"], seen["caller_name"], seen["contact_masked"]) == ("139****5678", "张*", True)
    with database.session() as s:
        before = s.scalar(select(func.count()).where(AuditRecord.action == "personal_data.read"))
    full = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "operator")).json()
    assert full["caller_phone"] == "13912345678"
    with database.session() as s:
        after = s.scalar(select(func.count()).where(AuditRecord.action == "personal_data.read"))
        record = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
        stored = s.scalar(select(AuditRecord.after).where(AuditRecord.object_type == "hotline_order"))
    assert after == before + 1 and record.object_id == order["number"]
    assert "13912345678" not in (stored or "")  # the chain keeps the phone masked


def test_stale_version_is_a_409_and_changes_nothing(client, ready) -> None:
    order = _new(client, matter_code="HB01", **HUANGPU).json()
    _ok(_act(client, "operator", order, "dispatch"))
    late = _act(client, "operator", order, "answer", note="直接答复")
    assert late.status_code == 409 and "version" in late.json()["detail"]


def test_concurrent_intake_never_shares_a_number(client, database, ready, settings) -> None:
    numbers: list[str] = []
    barrier = threading.Barrier(6)

    def take() -> None:
        barrier.wait()
        with database.session(actor="operator") as s:
            intake = service.Intake(channel="phone", order_type="inquiry", description="并发受理测试")
            numbers.append(service.receive(s, intake, actor="operator", role="operator").number)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 6 and len(set(numbers)) == 6
    assert _count(database) == 6


def test_indicators_follow_their_definitions(client, database, ready) -> None:
    from datetime import UTC, datetime

    from smartcity.hotline import metrics

    answered = _new(client, order_type="inquiry", description="公积金怎么提取").json()
    _ok(_act(client, "operator", answered, "answer", note="携带身份证到公积金中心办理"))
    done = _ok(_act(client, "operator", _new(client, matter_code="HB01", **HUANGPU).json(), "dispatch"))
    done = _ok(_act(client, "handler", done, "sign"))
    done = _ok(_act(client, "handler", done, "complete", note="已处理"))
    done = _ok(_act(client, "operator", done, "reply", note="已处理完毕"))
    _ok(_act(client, "operator", done, "callback", satisfaction="basically_satisfied"))
    _new(client, matter_code="HB02", **HUANGPU)  # still waiting
    with database.session() as s:
        (row,) = metrics.compute(s, start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC))
    assert (row["received"], row["dispatched"]) == (3, 1)
    assert row["direct_answer_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert row["on_time_sign_rate"] == row["on_time_handling_rate"] == 1.0
    assert row["callback_rate"] == pytest.approx(1 / 2)  # two replied (one directly), one called back
    assert row["satisfaction_rate"] == 1.0  # basically satisfied counts as satisfied
    csv = client.get(
        "/api/hotline/metrics",
        params={"from": "2000-01-01T00:00:00+08:00", "to": "2100-01-01T00:00:00+08:00", "format": "csv"},
        headers=bearer(client, "supervisor"),
    )
    assert csv.status_code == 200 and "direct_answer_rate" in csv.text.splitlines()[0]
    naive = client.get("/api/hotline/metrics", params={"from": "2000-01-01", "to": "2100-01-01"},
                       headers=bearer(client, "supervisor"))  # fmt: skip
    assert naive.status_code == 422


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_photos_are_kept_private_and_follow_the_order_into_its_grid_case(
    client, ready, settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "media_dir", str(tmp_path / "media"))
    order = _new(client, matter_code="CG01", description="路口垃圾", **HUANGPU).json()
    url = f"/api/hotline/orders/{order['number']}/photos"
    sent = client.post(url, files={"file": ("x.png", _png(), "image/png")}, headers=bearer(client, "operator"))
    assert sent.status_code == 201, sent.text
    not_image = client.post(
        url, files={"file": ("x.png", b"GIF89a....", "image/png")}, headers=bearer(client, "operator")
    )
    assert not_image.status_code == 415
    (photo,) = client.get(url, headers=bearer(client, "operator")).json()
    image = client.get(f"{url}/{photo['id']}", headers=bearer(client, "operator"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert client.get(f"{url}/{photo['id']}", headers=bearer(client, "xuhui_handler")).status_code == 404
    order = client.get(f"/api/hotline/orders/{order['number']}", headers=bearer(client, "operator")).json()
    order = _ok(_act(client, "operator", order, "to_case"))
    case_photos = client.get(f"/api/cases/{order['case_number']}/photos", headers=bearer(client, "operator")).json()
    assert [(p["kind"], p["sha256"]) for p in case_photos] == [("before", photo["sha256"])]


def test_repeat_callers_resolution_and_ranking(client, database, ready) -> None:
    from datetime import UTC, datetime

    from smartcity.hotline import metrics

    first = _new(client, order_type="inquiry", description="公积金怎么提取").json()
    again = _new(client, order_type="inquiry", description="公积金提取要多久").json()
    assert (first["repeat_caller"], again["repeat_caller"]) == (False, True)  # same phone within 30 days
    for order, solved in ((first, True), (again, False)):
        order = _ok(_act(client, "operator", order, "answer", note="携带身份证到公积金中心办理"))
        _ok(_act(client, "operator", order, "callback", satisfaction="satisfied", resolved=solved))
    with database.session() as s:
        (row,) = metrics.compute(s, start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC))
    assert (row["repeat_caller_rate"], row["resolution_rate"], row["reply_rate"]) == (0.5, 0.5, 1.0)
    rows = [
        {"group": g, "satisfaction_rate": v, "rehandle_rate": v}
        for g, v in (("a", 0.5), ("b", 0.9), ("c", None), ("d", 0.9))
    ]
    best = metrics.ranked(rows, metrics.METRICS["satisfaction_rate"])
    assert [(r["group"], r["rank"]) for r in best] == [("b", 1), ("d", 1), ("a", 3), ("c", None)]
    fewest = metrics.ranked(rows, metrics.METRICS["rehandle_rate"])  # lower is better
    assert [r["group"] for r in fewest] == ["a", "b", "d", "c"]
