"""The indicator pages through the in-process client: public reading in both languages, the value form with its
CSRF token and its errors beside the fields, corrections, and refusals for those who may not enter values."""

from __future__ import annotations

import re

from tests.conftest import web_login

FORM = {"value": "420", "year": "2011", "quarter": "", "area_code": "310000",
        "source_title": "上海市通信管理局统计公报", "source_url": "", "source_reference": "", "note": ""}  # fmt: skip


def test_pages_are_public_and_bilingual(client, city) -> None:
    zh = client.get("/kpi")
    assert zh.status_code == 200 and "光纤到户能力覆盖家庭数" in zh.text and "规划指标" in zh.text
    en = client.get("/kpi", params={"lang": "en"})
    assert "Households covered by fibre-to-the-home capability" in en.text
    assert "Enter a value" not in client.get("/kpi/ftth_households", params={"lang": "en"}).text  # not for the public
    filtered = client.get("/kpi", params={"section": "§5.2", "lang": "en"})
    assert "Internet exits of the municipal government extranet" in filtered.text
    assert "Households covered" not in filtered.text
    computed = client.get("/kpi", params={"source": "computed", "lang": "en"})
    assert "On-time closure rate of grid cases" in computed.text and "Households covered" not in computed.text
    assert client.get("/kpi/no_such_thing").status_code == 404
    detail = client.get("/kpi/ftth_households")
    assert "光纤到户能力覆盖650万户以上家庭" in detail.text  # the plan's own words


def test_a_supervisor_enters_and_corrects_a_value_through_the_form(client, city) -> None:
    token = web_login(client, "supervisor")
    page = client.get("/kpi/ftth_households", params={"lang": "en"})
    assert "Enter a value" in page.text
    recorded = client.post("/kpi/ftth_households/values", data=FORM | {"csrf_token": token}, follow_redirects=False)
    assert recorded.status_code == 303 and "done=recorded" in recorded.headers["location"]
    shown = client.get(recorded.headers["location"].split("#")[0] + "&lang=en").text
    assert "The value is recorded." in shown and "上海市通信管理局统计公报" in shown
    value_id = re.search(r"\?correct=(\d+)", shown).group(1)
    correcting = client.get("/kpi/ftth_households", params={"correct": value_id, "lang": "en"}).text
    assert "Correct the value of 2011 (version 1)" in correcting and 'name="corrects" value="1"' in correcting

    no_reason = client.post("/kpi/ftth_households/values", data=FORM | {"value": "425", "corrects": "1",
                            "csrf_token": token}, params={"lang": "en"})  # fmt: skip
    assert no_reason.status_code == 422 and "say why the value is corrected" in no_reason.text
    assert 'aria-invalid="true"' in no_reason.text and 'href="#field-note"' in no_reason.text
    corrected = client.post("/kpi/ftth_households/values", data=FORM | {"value": "425", "corrects": "1",
                            "note": "公报修订", "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert corrected.status_code == 303 and "done=corrected" in corrected.headers["location"]
    history = client.get("/kpi/ftth_households", params={"lang": "en"}).text
    assert "superseded by version 2" in history and "公报修订" in history


def test_form_errors_stand_beside_their_fields_in_chinese(client, city) -> None:
    token = web_login(client, "supervisor")
    typed = {"value": "１２０", "year": "1999", "source_title": "", "csrf_token": token}
    refused = client.post("/kpi/gov_sites_accessible/values", data=FORM | typed)
    assert refused.status_code == 422
    text = refused.text
    assert 'id="error-value"' in text and 'id="error-year"' in text and 'id="error-source_title"' in text
    assert "请更正以下问题" in text and "百分比须在 0 至 100 之间" in text and "请注明数据来源文件" in text
    assert 'value="１２０"' in text  # the form comes back as typed
    not_a_number = client.post("/kpi/ftth_households/values", data=FORM | {"value": "lots", "csrf_token": token},
                               params={"lang": "en"})  # fmt: skip
    assert not_a_number.status_code == 422 and "write the value as a number" in not_a_number.text
    twice = client.post("/kpi/ftth_households/values", data=FORM | {"csrf_token": token}, follow_redirects=False)
    assert twice.status_code == 303
    again = client.post("/kpi/ftth_households/values", data=FORM | {"csrf_token": token}, params={"lang": "en"})
    assert again.status_code == 409 and "This period has a value already" in again.text


def test_the_form_needs_the_csrf_token_and_the_permission(client, city) -> None:
    token = web_login(client, "viewer")
    assert "Enter a value" not in client.get("/kpi/ftth_households", params={"lang": "en"}).text
    refused = client.post("/kpi/ftth_households/values", data=FORM | {"csrf_token": token})
    assert refused.status_code == 403
    client.cookies.clear()
    token = web_login(client, "supervisor")
    forged = client.post("/kpi/ftth_households/values", data=FORM | {"csrf_token": "forged"})
    assert forged.status_code == 403
    computed = client.get("/kpi/hotline_satisfaction_rate", params={"lang": "en"})
    assert "Enter a value" not in computed.text  # computed indicators take no entered value
    assert client.post("/kpi/hotline_satisfaction_rate/values", data=FORM | {"csrf_token": token}).status_code == 422


def test_navigation_shows_plan_indicators_to_staff(client, city) -> None:
    web_login(client, "viewer")
    assert "/kpi" in client.get("/", params={"lang": "en"}).text
