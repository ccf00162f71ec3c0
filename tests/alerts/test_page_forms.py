"""The alerts pages through the in-process client: the forms' error paths (shown on the page, with the reason
beside the field, nothing saved), the steps a role may not take, the public page without an account, and
the warning colours' contrast."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smartcity.alerts import hazards
from smartcity.alerts.forms import parse_rings, rings_text
from tests.alerts.test_bulletins import _publish, _rainstorm
from tests.conftest import bearer, web_login
from tests.sensing.test_sta import _observe

CSS = Path(__file__).resolve().parents[2] / "smartcity" / "alerts" / "static" / "alerts.css"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(hours: float) -> str:
    return (datetime.now(SHANGHAI) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _alarm(client, stations) -> int:
    ds = stations["外白渡桥站"]
    spec = {"kind": "threshold", "name": "外白渡桥 水位超警戒", "severity": "high", "datastream": ds, "op": "ge",
            "value": 4.0}  # fmt: skip
    assert (
        client.post("/api/alerts/rules", json={"spec": spec}, headers=bearer(client, "supervisor")).status_code == 201
    )
    assert _observe(client, ds, 4.2, 5).status_code == 201
    (alarm,) = client.get("/api/alerts/alarms", headers=bearer(client, "supervisor")).json()
    return alarm["id"]


def test_alarm_steps_refused_are_shown_on_the_page(client, stations) -> None:
    alarm = _alarm(client, stations)
    token = web_login(client, "operator")
    console = client.get("/alerts/alarms")
    assert console.status_code == 200 and "外白渡桥站 · 外白渡桥站 水位" in console.text

    too_late = client.post(f"/alerts/alarms/{alarm}/shelve",
                           data={"csrf_token": token, "reason": "检修", "until": _local(24 * 8)})  # fmt: skip
    assert too_late.status_code == 422 and "at most 7 days ahead" in too_late.text
    assert 'id="field-until" name="until" aria-invalid="true"' in too_late.text
    no_reason = client.post(f"/alerts/alarms/{alarm}/shelve", data={"csrf_token": token, "until": "soon"})
    assert no_reason.status_code == 422 and "YYYY-MM-DD HH:MM" in no_reason.text
    assert client.get("/api/alerts/alarms", params={"shelved": "true"}, headers=bearer(client, "operator")).json() == []

    done = client.post(f"/alerts/alarms/{alarm}/acknowledge", data={"csrf_token": token, "back": "console"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/alerts/alarms?done=acknowledged"
    again = client.post(f"/alerts/alarms/{alarm}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409 and "already acknowledged" in again.text and 'role="alert"' in again.text
    empty = client.post(f"/alerts/alarms/{alarm}/comment", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 422 and "Write a comment." in empty.text
    forged = client.post(f"/alerts/alarms/{alarm}/comment", data={"csrf_token": "forged", "text": "x"})
    assert forged.status_code == 403


def test_a_viewer_reads_the_console_but_takes_no_step(client, stations) -> None:
    alarm = _alarm(client, stations)
    token = web_login(client, "viewer")
    page = client.get(f"/alerts/alarms/{alarm}")
    assert page.status_code == 200 and "/acknowledge" not in page.text
    refused = client.post(f"/alerts/alarms/{alarm}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403
    assert client.get("/alerts/rules/new").status_code == 403
    assert client.get("/alerts/bulletins/new").status_code == 403
    assert client.get("/alerts/alarms/999999").status_code == 404


def _rule_form(token: str, ds: int, **fields: str) -> dict:
    return {"csrf_token": token, "name": "外白渡桥 水位超警戒", "kind": "threshold", "severity": "high",
            "datastreams": [str(ds)], "op": "gt", "value": "4.5"} | fields  # fmt: skip


def test_rule_form_errors_are_shown_beside_their_fields_and_nothing_is_saved(client, stations) -> None:
    ds = stations["外白渡桥站"]
    token = web_login(client, "supervisor")
    form = client.get("/alerts/rules/new")
    assert form.status_code == 200 and f'value="{ds}"' in form.text

    wrong_side = client.post("/alerts/rules/new", data=_rule_form(token, ds, clear_mode="value", clear_amount="4.8"))
    assert wrong_side.status_code == 422 and "clear.value must be at or below value" in wrong_side.text
    assert 'href="#field-clear_amount"' in wrong_side.text and 'value="4.8"' in wrong_side.text
    not_a_number = client.post("/alerts/rules/new", data=_rule_form(token, ds, value="high"))
    assert not_a_number.status_code == 422 and "write a number" in not_a_number.text
    band = client.post("/alerts/rules/new", data=_rule_form(token, ds, kind="band", low="9", high="1"))
    assert band.status_code == 422 and "high must be above low" in band.text
    bad_json = client.post("/alerts/rules/new", data=_rule_form(token, ds, spec_json="{kind: all_of"))
    assert bad_json.status_code == 422 and "not JSON" in bad_json.text
    assert client.get("/api/alerts/rules", headers=bearer(client, "supervisor")).json() == []

    conditions = [{"kind": "threshold", "datastream": d, "op": "gt", "value": 4.5} for d in stations.values()]
    combination = json.dumps({"kind": "any_of", "name": "两站任一超警戒", "conditions": conditions})
    made = client.post("/alerts/rules/new", data=_rule_form(token, ds, spec_json=combination), follow_redirects=False)
    assert made.status_code == 303, made.text
    rule = client.get("/api/alerts/rules", headers=bearer(client, "supervisor")).json()[0]
    assert rule["kind"] == "any_of" and len(rule["spec"]["conditions"]) == 2
    edit = client.get(f"/alerts/rules/{rule['id']}/edit")
    assert edit.status_code == 200 and "两站任一超警戒" in edit.text and "&#34;any_of&#34;" in edit.text


def test_a_rule_is_changed_and_disabled_from_its_page(client, stations) -> None:
    ds = stations["外白渡桥站"]
    token = web_login(client, "supervisor")
    made = client.post("/alerts/rules/new", data=_rule_form(token, ds), follow_redirects=False)
    path = made.headers["location"].split("?")[0]
    changed = client.post(f"{path}/edit", data=_rule_form(token, ds, value="4.6", note="汛期调整"))
    assert changed.status_code == 200 and "汛期调整" in changed.text
    client.post(f"{path}/enabled", data={"csrf_token": token, "enabled": "false"})
    rule = client.get(f"/api{path}", headers=bearer(client, "supervisor")).json()
    assert rule["version"] == 3 and rule["enabled"] is False and rule["spec"]["value"] == 4.6
    assert [v["note"] for v in rule["versions"]][1] == "汛期调整"


def _bulletin_form(token: str, **fields) -> dict:
    return {
        "csrf_token": token,
        "hazard": "heat",
        "colour": "yellow",
        "area_codes": ["310101"],
        "onset": _local(0),
        "expires": _local(6),
        "headline": "黄浦区发布高温黄色预警",
        "description": "预计最高气温 35 ℃ 以上。",
    } | fields


@pytest.mark.usefixtures("huangpu")
def test_bulletin_editor_errors_keep_what_was_written(client, city) -> None:
    token = web_login(client, "emergency")
    assert client.get("/alerts/bulletins/new").status_code == 200
    blue_heat = client.post("/alerts/bulletins/new", data=_bulletin_form(token, colour="blue"))
    assert blue_heat.status_code == 422 and "heat warnings are yellow, orange, red" in blue_heat.text
    assert 'id="field-colour" name="colour" aria-invalid="true"' in blue_heat.text
    assert "黄浦区发布高温黄色预警" in blue_heat.text
    bad_line = client.post("/alerts/bulletins/new", data=_bulletin_form(token, area_polygons="121.47, 31.22\nnorth"))
    assert bad_line.status_code == 422 and "line 2: write longitude, latitude" in bad_line.text
    past = client.post("/alerts/bulletins/new", data=_bulletin_form(token, onset=_local(-9), expires=_local(-8)))
    assert past.status_code == 422 and "is already past" in past.text
    assert client.get("/api/alerts/bulletins", headers=bearer(client, "emergency")).json() == []

    drawn = "121.47, 31.22\n121.50, 31.22\n121.50, 31.25"
    form = _bulletin_form(token, area_codes=[], area_desc="外滩沿岸", area_polygons=drawn)
    made = client.post("/alerts/bulletins/new", data=form, follow_redirects=False)
    assert made.status_code == 303
    (bulletin,) = client.get("/api/alerts/bulletins", headers=bearer(client, "emergency")).json()
    assert bulletin["area_polygons"] == [[[121.47, 31.22], [121.5, 31.22], [121.5, 31.25]]]
    assert bulletin["area_codes"] == [] and bulletin["state"] == "draft"
    page = client.get(made.headers["location"])
    assert page.status_code == 200 and f"/alerts/bulletins/{bulletin['id']}/approve" not in page.text  # the drafter's
    stale = client.post(f"/alerts/bulletins/{bulletin['id']}/edit", data=_bulletin_form(token, version="99"))
    assert stale.status_code == 409 and "changed since you read it" in stale.text
    own = client.post(f"/alerts/bulletins/{bulletin['id']}/approve", data={"csrf_token": token, "version": "1"})
    assert own.status_code == 403 and "second person" in own.text


@pytest.mark.usefixtures("huangpu")
def test_the_public_page_shows_the_warnings_in_force_in_either_language(client, city) -> None:
    empty = client.get("/warnings")
    assert empty.status_code == 200
    assert '<link rel="alternate" type="application/atom+xml" href="/alerts/cap/feed.atom"' in empty.text
    published = _publish(client, _rainstorm())
    page = client.get("/warnings")
    assert "黄浦区发布暴雨黄色预警" in page.text and 'class="warning-badge warning-yellow">暴雨黄色预警<' in page.text
    assert f'href="/alerts/cap/{published["identifier"]}.xml"' in page.text
    english = client.get("/warnings", params={"lang": "en"})
    assert "Yellow rainstorm warning for Huangpu" in english.text
    assert '<dd lang="zh-CN">注意防范城市积水' in english.text  # no English instruction: the Chinese, marked so


def test_editor_area_text_round_trips() -> None:
    rings = [[[121.47, 31.22], [121.5, 31.22], [121.5, 31.25]], [[121.4, 31.1], [121.41, 31.1], [121.41, 31.11]]]
    assert parse_rings(rings_text(rings)) == (rings, [])
    assert parse_rings("[[[121.47, 31.22], [121.5, 31.22], [121.5, 31.25]]]") == (rings[:1], [])
    assert parse_rings("121.47 31.22\n\n\n121.4,31.1")[0] == [[[121.47, 31.22]], [[121.4, 31.1]]]
    assert parse_rings("[1, 2]")[1][0]["field"] == "area_polygons"


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(hex_colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_warning_badges_use_the_hazard_file_colours_with_readable_text() -> None:
    css = CSS.read_text(encoding="utf-8")
    for level in hazards.catalogue().colours.levels:
        rule = re.search(rf"\.warning-{level.code} \{{ background: (#[0-9a-f]{{6}}); color: (#[0-9a-f]{{6}}); \}}", css)
        assert rule is not None, level.code
        background, text = rule.groups()
        assert background == level.hex
        light, dark = sorted((_luminance(background), _luminance(text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, level.code
