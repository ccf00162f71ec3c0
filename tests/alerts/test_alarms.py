"""Rules evaluated on observations as they are stored, and alarms with the ISA-18.2 lifecycle: one open alarm
per rule and source, acknowledge, clear, close, shelve, escalate, the case a rule opens, and a failed
write that loses no alarm and doubles none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from smartcity.alerts import alarms, evaluation
from smartcity.alerts.models import Alarm, AlarmEvent
from smartcity.core.audit import AuditRecord
from smartcity.sensing.models import Observation
from tests.conftest import bearer
from tests.sensing.test_sta import STA, _observe, _station

pytestmark = pytest.mark.usefixtures("case_setup")


def _rule(client, datastream: int, **extra) -> dict:
    spec = {"kind": "threshold", "name": "外白渡桥 水位超警戒", "severity": "high", "datastream": datastream,
            "op": "ge", "value": 4.0, "clear": {"value": 3.8}} | extra  # fmt: skip
    response = client.post("/api/alerts/rules", json={"spec": spec}, headers=bearer(client, "supervisor"))
    assert response.status_code == 201, response.text
    return response.json()


def _alarms(client, **params) -> list[dict]:
    response = client.get("/api/alerts/alarms", params=params, headers=bearer(client, "supervisor"))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_rule_raises_one_alarm_that_is_acknowledged_cleared_and_closed(client, stations) -> None:
    ds = stations["外白渡桥站"]
    rule = _rule(client, ds)
    assert rule["version"] == 1 and rule["kind"] == "threshold"
    for minutes, level in ((50, 3.5), (40, 4.1), (30, 4.3), (20, 3.9)):  # 3.9 is inside the deadband
        assert _observe(client, ds, level, minutes).status_code == 201
    (alarm,) = _alarms(client)
    assert alarm["state"] == "active_unacknowledged" and alarm["value"] == 4.1 and alarm["severity"] == "high"
    assert "4.1" in alarm["detail"]

    supervisor = bearer(client, "supervisor")
    ack = client.post(f"/api/alerts/alarms/{alarm['id']}/acknowledge", json={"note": "已通知水务"}, headers=supervisor)
    assert ack.status_code == 200 and ack.json()["state"] == "active_acknowledged"
    again = client.post(f"/api/alerts/alarms/{alarm['id']}/acknowledge", json={}, headers=supervisor)
    assert again.status_code == 409
    _observe(client, ds, 3.7, 10)  # below the clear level: the condition ends
    closed = client.get(f"/api/alerts/alarms/{alarm['id']}", headers=supervisor).json()
    assert closed["state"] == "cleared_acknowledged" and closed["closed"] is True
    assert [h["kind"] for h in closed["history"]] == ["raised", "acknowledged", "cleared"]
    assert _alarms(client) == []
    assert [a["id"] for a in _alarms(client, state="closed")] == [alarm["id"]]

    _observe(client, ds, 4.4, 5)  # a new excursion is a new alarm
    (second,) = _alarms(client)
    assert second["id"] != alarm["id"]


def test_a_cleared_alarm_not_yet_acknowledged_comes_back_as_the_same_alarm(client, stations) -> None:
    ds = stations["外白渡桥站"]
    _rule(client, ds)
    for minutes, level in ((30, 4.2), (20, 3.0), (10, 4.5)):
        _observe(client, ds, level, minutes)
    (alarm,) = _alarms(client)
    assert alarm["occurrences"] == 2 and alarm["state"] == "active_unacknowledged"


def test_bad_rules_are_refused_with_the_reason(client, stations) -> None:
    supervisor = bearer(client, "supervisor")
    missing = {"kind": "threshold", "name": "x", "datastream": 999_999, "op": "gt", "value": 1}
    response = client.post("/api/alerts/rules", json={"spec": missing}, headers=supervisor)
    assert response.status_code == 422 and "999999" in response.text
    inverted = {"kind": "band", "name": "x", "datastream": stations["外白渡桥站"], "low": 5, "high": 1}
    response = client.post("/api/alerts/rules", json={"spec": inverted}, headers=supervisor)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    ds = stations["外白渡桥站"]
    bad_case = {"spec": {"kind": "threshold", "name": "x", "datastream": ds, "op": "gt", "value": 1},
                "open_case": {"class_code": "9999"}}  # fmt: skip
    response = client.post("/api/alerts/rules", json=bad_case, headers=supervisor)
    assert response.status_code == 422 and "open_case" in response.text
    assert client.get("/api/alerts/rules", headers=supervisor).json() == []  # nothing half-made
    viewer = client.post("/api/alerts/rules", json={"spec": missing}, headers=bearer(client, "viewer"))
    assert viewer.status_code == 403


def test_changing_a_rule_is_a_new_version_and_its_alarm_follows(client, stations) -> None:
    ds = stations["外白渡桥站"]
    rule = _rule(client, ds)
    _observe(client, ds, 4.2, 20)
    assert len(_alarms(client)) == 1
    supervisor = bearer(client, "supervisor")
    spec = rule["spec"] | {"value": 5.0, "clear": {"value": 4.5}}
    changed = client.patch(
        f"/api/alerts/rules/{rule['id']}", json={"spec": spec, "note": "汛期调高"}, headers=supervisor
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    _observe(client, ds, 4.3, 10)  # under the new clear level: the alarm of version 1 clears
    (alarm,) = _alarms(client, state="cleared_unacknowledged")
    assert alarm["rule_version"] == 1
    versions = client.get(f"/api/alerts/rules/{rule['id']}", headers=supervisor).json()["versions"]
    assert [(v["version"], v["note"]) for v in versions] == [(1, ""), (2, "汛期调高")]
    disabled = client.patch(f"/api/alerts/rules/{rule['id']}", json={"enabled": False}, headers=supervisor)
    assert disabled.json()["enabled"] is False and disabled.json()["version"] == 3
    _observe(client, ds, 9.9, 5)
    assert _alarms(client, state="active_unacknowledged") == []


def test_shelving_needs_a_reason_and_an_expiry_and_ends_by_itself(client, database, settings, stations) -> None:
    ds = stations["外白渡桥站"]
    _rule(client, ds)
    _observe(client, ds, 4.2, 20)
    (alarm,) = _alarms(client)
    supervisor = bearer(client, "supervisor")
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for body, field in (({"reason": "", "until": soon}, "reason"),
                        ({"reason": "检修", "until": (datetime.now(UTC) + timedelta(days=9)).isoformat()},
                         "until")):  # fmt: skip
        response = client.post(f"/api/alerts/alarms/{alarm['id']}/shelve", json=body, headers=supervisor)
        assert response.status_code == 422 and field in response.text
    shelved = client.post(f"/api/alerts/alarms/{alarm['id']}/shelve", json={"reason": "水位计检修", "until": soon},
                          headers=supervisor)  # fmt: skip
    assert shelved.status_code == 200 and shelved.json()["shelved_reason"] == "水位计检修"
    assert _alarms(client) == [] and len(_alarms(client, shelved="true")) == 1
    with database.session() as session:
        done = alarms.housekeeping(session, settings, now=datetime.now(UTC) + timedelta(hours=2))
    assert done["unshelved"] == 1
    (back,) = _alarms(client)
    assert back["shelved_until"] is None


def test_unacknowledged_alarms_escalate_step_by_step(client, database, settings, stations) -> None:
    _rule(client, stations["外白渡桥站"])
    _observe(client, stations["外白渡桥站"], 4.2, 1)
    raised = datetime.now(UTC)
    with database.session() as session:
        assert alarms.housekeeping(session, settings, now=raised + timedelta(minutes=5))["escalated"] == 0
        assert alarms.housekeeping(session, settings, now=raised + timedelta(minutes=16))["escalated"] == 1
        assert alarms.housekeeping(session, settings, now=raised + timedelta(minutes=17))["escalated"] == 0
        assert alarms.housekeeping(session, settings, now=raised + timedelta(minutes=31))["escalated"] == 1
    (alarm,) = _alarms(client)
    assert alarm["escalation_level"] == 2
    comment = client.post(f"/api/alerts/alarms/{alarm['id']}/comments", json={"text": "已电话通知"},
                          headers=bearer(client, "dispatcher"))  # fmt: skip
    assert comment.status_code == 201
    with database.session() as session:  # a comment changes no alarm row: it is chained on its own
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "alert_alarm.commented")).one()
        assert record.object_id == str(alarm["id"]) and "已电话通知" in record.after


def test_a_rule_opens_a_grid_case_and_cancelling_the_case_closes_the_cleared_alarm(client, stations) -> None:
    supervisor = bearer(client, "supervisor")
    outside = stations["外白渡桥站"]  # north of the Suzhou River: outside the test city's grids (Huangpu only)
    thing = client.post(f"{STA}/Things", json=_station("南京东路积水点", 121.4840, 31.2370), headers=supervisor)
    inside = client.get(f"{STA}/Things({thing.json()['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    for ds in (inside, outside):
        spec = {"kind": "threshold", "name": f"积水 {ds}", "datastream": ds, "op": "ge", "value": 4.0}
        created = client.post("/api/alerts/rules", json={"spec": spec, "open_case": {"class_code": "0405"}},
                              headers=supervisor)  # fmt: skip
        assert created.status_code == 201, created.text
    assert _observe(client, outside, 4.6, 20).status_code == 201  # the reading is stored all the same
    (unplaced,) = _alarms(client)
    assert unplaced["case"] is None
    history = client.get(f"/api/alerts/alarms/{unplaced['id']}", headers=supervisor).json()["history"]
    assert history[-1]["kind"] == "case_not_opened" and "outside" in history[-1]["note"]

    ds = inside
    stored = _observe(client, ds, 4.6, 20)
    assert stored.status_code == 201, stored.text
    alarm = next(a for a in _alarms(client) if a["id"] != unplaced["id"])
    assert alarm["case"] is not None
    case = client.get(f"/api/cases/{alarm['case']}", headers=bearer(client, "supervisor")).json()
    assert case["class_code"] == "0405" and case["source"] == "sensor"
    _observe(client, ds, 3.0, 10)
    cancel = client.post(f"/api/cases/{alarm['case']}/actions/cancel",
                         json={"note": "水已退", "version": case["version"]},
                         headers=bearer(client, "supervisor"))  # fmt: skip
    assert cancel.status_code == 200, cancel.text
    assert [a["id"] for a in _alarms(client, state="closed")] == [alarm["id"]]
    assert client.get(f"/api/alerts/alarms/{alarm['id']}", headers=supervisor).json()["history"][-1]["kind"] == (
        "case_closed"
    )


def test_a_failed_write_loses_no_alarm_and_a_replay_doubles_none(client, database, stations, monkeypatch) -> None:
    """Observations, rule state and alarms commit together: when the write fails nothing of it stays, and the
    device's retry (or the broker's redelivery) raises the alarm exactly once."""
    ds = stations["外白渡桥站"]
    _rule(client, ds)
    manager = bearer(client, "supervisor")
    stamp = lambda m: (datetime.now(UTC) - timedelta(minutes=m)).isoformat()  # noqa: E731
    batch = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"],
              "dataArray": [[stamp(30), 3.0], [stamp(20), 4.5], [stamp(10), 4.6]]}]  # fmt: skip

    real_apply = alarms.apply_many

    def crash(*args, **kwargs):
        raise RuntimeError("the process died mid-write")

    monkeypatch.setattr(alarms, "apply_many", crash)
    failed_client = client
    with pytest.raises(RuntimeError):
        failed_client.post(f"{STA}/CreateObservations", json=batch, headers=manager)
    monkeypatch.setattr(alarms, "apply_many", real_apply)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 0  # nothing half-written
        assert session.scalar(select(func.count()).select_from(Alarm)) == 0
    evaluation._parsed.cache_clear()  # a new process: nothing cached

    for _ in range(2):  # the retry, then a duplicate redelivery
        response = client.post(f"{STA}/CreateObservations", json=batch, headers=manager)
        assert response.status_code == 201
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 3
        assert session.scalar(select(func.count()).select_from(Alarm)) == 1
        assert session.scalar(select(func.count()).select_from(AlarmEvent).where(AlarmEvent.kind == "raised")) == 1


def test_the_schedule_raises_no_data_alarms_from_the_command_line(client, database, settings, stations, monkeypatch):
    from typer.testing import CliRunner

    from smartcity import cli

    ds = stations["外白渡桥站"]
    spec = {"kind": "no_data", "name": "水位站无数据", "datastream": ds, "minutes": 30}
    assert (
        client.post("/api/alerts/rules", json={"spec": spec}, headers=bearer(client, "supervisor")).status_code == 201
    )
    _observe(client, ds, 3.1, 45)  # the last reading, 45 minutes ago
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli.app, ["alerts", "tick"])
    assert result.exit_code == 0, result.output
    assert "1 no-data changes" in result.output
    (alarm,) = _alarms(client)
    assert alarm["title"] == "水位站无数据" and alarm["value"] is None
    _observe(client, ds, 3.2, 1)  # the station speaks again
    assert _alarms(client, state="cleared_unacknowledged")[0]["id"] == alarm["id"]
