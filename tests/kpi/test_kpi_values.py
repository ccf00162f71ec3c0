"""Entered values through the API: who may enter them, validation with clear 422s, versions that never overwrite
(a correction supersedes and the history keeps both), progress from the first value, and the audit chain."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from smartcity.core.audit import AuditRecord
from smartcity.kpi.models import IndicatorValue
from tests.conftest import bearer

URL = "/api/kpi/indicators/{code}/values"
SOURCE = {"source_title": "上海市通信管理局 2011 年通信业统计公报", "source_url": "https://example.org/bulletin-2011.pdf",
          "source_reference": "表 3"}  # fmt: skip


def _enter(client, code: str = "ftth_households", who: str = "supervisor", **body):
    return client.post(URL.format(code=code), json={"value": 420, "year": 2011, **SOURCE, **body},
                       headers=bearer(client, who))  # fmt: skip


def _count(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(IndicatorValue)) or 0


def test_anonymous_is_refused(client, city) -> None:
    response = client.post(URL.format(code="ftth_households"), json={"value": 1, "year": 2011, **SOURCE})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_only_kpi_enter_may_enter_but_everyone_may_read(client, database, city) -> None:
    for role in ("viewer", "operator", "dispatcher", "traffic", "emergency", "inspector", "handler", "citizen"):
        assert _enter(client, who=role).status_code == 403, role
    assert _count(database) == 0
    assert _enter(client, who="admin").status_code == 201
    catalogue = client.get("/api/kpi/indicators")  # open data: no account
    assert catalogue.status_code == 200 and len(catalogue.json()["indicators"]) == 41
    detail = client.get("/api/kpi/indicators/ftth_households").json()
    assert "recorded_by" not in detail["history"][0]  # who recorded it is for kpi.read
    staff = client.get("/api/kpi/indicators/ftth_households", headers=bearer(client, "viewer")).json()
    assert staff["history"][0]["recorded_by"] == "admin"


def test_a_correction_is_a_new_version_and_the_history_keeps_both(client, database, city) -> None:
    first = _enter(client)
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["current"], first.json()["recorded_by"]) == (1, True, "supervisor")
    again = _enter(client, value=430)
    assert again.status_code == 409 and "correct" in again.json()["detail"]
    missing_reason = _enter(client, value=430, corrects=1)
    assert missing_reason.status_code == 422 and missing_reason.json()["errors"][0]["field"] == "note"
    corrected = _enter(client, value=432.5, corrects=1, note="公报修订版")
    assert corrected.status_code == 201, corrected.text
    assert (corrected.json()["version"], corrected.json()["supersedes"]) == (2, first.json()["id"])
    stale = _enter(client, value=440, corrects=1, note="again")
    assert stale.status_code == 409 and "no longer the current" in stale.json()["detail"]
    nothing = _enter(client, year=2012, corrects=1, note="x")
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "corrects"

    detail = client.get("/api/kpi/indicators/ftth_households").json()
    versions = [(v["version"], v["value"], v["current"]) for v in detail["history"]]
    assert versions == [(2, 432.5, True), (1, 420.0, False)]  # the first is kept, unchanged
    assert detail["history"][0]["source"]["reference"] == "表 3" and detail["history"][0]["note"] == "公报修订版"
    assert detail["latest"]["value"] == 432.5 and [p["value"] for p in detail["trend"]] == [432.5]
    with database.session() as s:
        records = s.scalars(select(AuditRecord).where(AuditRecord.object_type == "kpi_value")).all()
    assert len(records) == 2 and {r.action for r in records} == {"kpi_value.create"}  # nothing ever updated


def test_progress_runs_from_the_first_value_to_the_target(client, city) -> None:
    assert _enter(client, value=300, year=2010).status_code == 201
    assert _enter(client, value=475, year=2012).status_code == 201
    detail = client.get("/api/kpi/indicators/ftth_households").json()
    assert detail["baseline"]["value"] == 300 and detail["latest"]["period"] == "2012"
    assert (detail["progress"], detail["met"], detail["status"]) == (50.0, False, "not_met")
    assert _enter(client, value=655, year=2013).status_code == 201
    done = client.get("/api/kpi/indicators/ftth_households").json()
    assert (done["progress"], done["met"], done["status"]) == (100.0, True, "met")
    # lower is better: Internet exits of the municipal extranet, 9 → 7 towards ≤ 5
    assert _enter(client, code="municipal_internet_exits", value=9, year=2010).status_code == 201
    assert _enter(client, code="municipal_internet_exits", value=7, year=2012).status_code == 201
    exits = client.get("/api/kpi/indicators/municipal_internet_exits").json()
    assert (exits["progress"], exits["met"]) == (50.0, False)


def test_quarters_and_districts_are_periods_and_areas_of_their_own(client, city) -> None:
    assert _enter(client, code="wlan_sites", value=15000, year=2012, quarter=2).status_code == 201
    assert _enter(client, code="wlan_sites", value=18000, year=2012).status_code == 201  # the whole year
    assert _enter(client, code="district_internet_exits", value=4, year=2012, area_code="310101").status_code == 201
    wlan = client.get("/api/kpi/indicators/wlan_sites").json()
    assert [p["period"] for p in wlan["trend"]] == ["2012 Q2", "2012"]
    huangpu = client.get("/api/kpi/indicators/district_internet_exits", params={"area": "310101"}).json()
    assert huangpu["latest"]["value"] == 4 and huangpu["area_code"] == "310101"
    city_wide = client.get("/api/kpi/indicators/district_internet_exits").json()
    assert city_wide["latest"] is None


@pytest.mark.parametrize(
    ("code", "body", "field", "words"),
    [
        ("no_such_indicator", {}, "indicator", "no indicator"),
        ("ftth_households", {"value": "many"}, "value", "number"),
        ("ftth_households", {"value": -5}, "value", "negative"),
        ("ftth_households", {"year": 2009}, "year", "2010"),
        ("ftth_households", {"year": 2031}, "year", "2030"),
        ("gov_sites_accessible", {"value": 120}, "value", "0 and 100"),
        ("ftth_households", {"source_title": ""}, "source_title", "document"),
        ("ftth_households", {"source_title": "   "}, "source_title", "document"),
        ("ftth_households", {"source_url": "javascript:alert(1)"}, "source_url", "http"),
        ("wlan_sites", {"value": 22000.5}, "value", "whole"),
        ("hotline_satisfaction_rate", {"value": 90}, "indicator", "computed"),
        ("ftth_households", {"area_code": "Shanghai"}, "area_code", "6-digit"),
        ("ftth_households", {"quarter": 5}, "quarter", ""),
        ("ftth_households", {"value": 1, "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(client, database, city, code, body, field, words) -> None:
    response = _enter(client, code=code, **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]]
    assert words.lower() in (problem["detail"] + " ".join(e["message"] for e in problem["errors"])).lower()
    assert _count(database) == 0


def test_every_problem_is_listed_at_once(client, city) -> None:
    response = _enter(client, value=-1, year=1999, source_title="")
    assert {e["field"] for e in response.json()["errors"]} == {"value", "year", "source_title"}


def test_non_finite_numbers_are_refused(client, city) -> None:
    response = client.post(URL.format(code="ftth_households"), content=b'{"value": NaN, "year": 2011, '
                           b'"source_title": "x"}', headers=bearer(client, "supervisor") | {
                               "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 422


def test_unknown_indicator_reads_are_404(client, city) -> None:
    response = client.get("/api/kpi/indicators/nope")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_state_changes_land_in_the_audit_chain(client, database, city) -> None:
    assert _enter(client).status_code == 201
    assert _enter(client, value=421, corrects=1, note="rounding").status_code == 201
    records = client.get("/api/audit/records", params={"actor": "supervisor", "limit": 500},
                         headers=bearer(client, "admin")).json()["items"]  # fmt: skip
    kpi = [r for r in records if r["object_type"] == "kpi_value"]
    assert len(kpi) == 2
    verified = client.post("/api/audit/verify", headers=bearer(client, "admin"))
    assert verified.status_code == 200 and verified.json()["ok"] is True
