"""Evaluation indicators: counts and rates by the documented formulas, grouping, scope, CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smartcity.cases import evaluation
from smartcity.core.errors import Problem
from tests.conftest import bearer

POINT = {"lon": 121.4846, "lat": 31.2317}
START, END = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def test_city_indicators_follow_the_formulas(database, cases) -> None:
    with database.session() as s:
        (row,) = evaluation.evaluate(s, start=START, end=END)
    assert (row["reports"], row["registrations"], row["dispatches"], row["closures"]) == (5, 3, 3, 2)
    assert row["registration_rate"] == pytest.approx(3 / 4, abs=1e-4)  # the pending report is not decided yet
    assert row["due_for_closure"] == 3  # two closed, one overdue
    assert row["closure_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["on_time_closure_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert row["rework_rate"] == pytest.approx(1 / 2, abs=1e-4)  # of the two handled cases, one was reworked
    assert row["overdue"] == 1
    assert row["valid_report_rate"] == pytest.approx(3 / 4, abs=1e-4)
    assert 0 <= row["score"] <= 100


def test_grouping_and_unknown_inputs(database, cases) -> None:
    with database.session() as s:
        rows = evaluation.evaluate(s, start=START, end=END, group_by="department", codes=["closures"])
        assert {r["group"]: r["closures"] for r in rows} == {None: 0, "310101": 2}
        with pytest.raises(Problem):
            evaluation.evaluate(s, start=START, end=END, group_by="planet")
        with pytest.raises(Problem):
            evaluation.evaluate(s, start=START, end=END, codes=["happiness"])
        with pytest.raises(Problem):
            evaluation.evaluate(s, start=START, end=END, weights={"closures": 1.0})
        with pytest.raises(Problem):
            evaluation.evaluate(s, start=END, end=START)


def test_composite_score_uses_the_weights() -> None:
    sums = {"closed": 2, "due_for_closure": 4, "closed_on_time": 1, "handled_on_time": 0, "due_for_handling": 0}
    assert evaluation.composite(sums, {"closure_rate": 1.0}) == 50.0
    assert evaluation.composite(sums, {"closure_rate": 0.5, "on_time_closure_rate": 0.5}) == 37.5
    assert evaluation.composite(sums, {"on_time_disposal_rate": 1.0}) is None  # no case to rate


def test_evaluation_api_json_csv_and_scope(client, cases) -> None:
    params = {"from": "2000-01-01T00:00:00+08:00", "to": "2100-01-01T00:00:00+08:00", "group_by": "district"}
    body = client.get("/api/cases/evaluation", params=params, headers=bearer(client, "supervisor")).json()
    assert [r["group"] for r in body["rows"]] == ["310101"] and body["rows"][0]["reports"] == 5
    csv_response = client.get(
        "/api/cases/evaluation", params={**params, "format": "csv"}, headers=bearer(client, "supervisor")
    )
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.text.lstrip("\ufeff").splitlines()[0].startswith("group,reports,")
    other = client.get("/api/cases/evaluation", params=params, headers=bearer(client, "xuhui_handler"))
    assert other.status_code == 403
    naive = client.get(
        "/api/cases/evaluation", params={**params, "from": "2000-01-01T00:00:00"}, headers=bearer(client, "supervisor")
    )
    assert naive.status_code == 422
    weights = client.get(
        "/api/cases/evaluation", params={**params, "weights": "closure_rate:x"}, headers=bearer(client, "supervisor")
    )
    assert weights.status_code == 422


def test_evaluation_as_an_excel_workbook(client, cases) -> None:
    import io

    from openpyxl import load_workbook

    params = {
        "from": "2000-01-01T00:00:00+08:00",
        "to": "2100-01-01T00:00:00+08:00",
        "group_by": "district",
        "format": "xlsx",
    }
    response = client.get("/api/cases/evaluation", params=params, headers=bearer(client, "supervisor"))
    assert response.status_code == 200 and "spreadsheetml" in response.headers["content-type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, first = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert header[:2] == ["group", "reports"] and first[:2] == ["310101", 5]


def test_monthly_trend_in_the_city_time_zone(database, cases) -> None:
    from sqlalchemy import update

    from smartcity.cases.models import Case

    # 2026-01-31 20:00 UTC is already February in Shanghai
    with database.session() as s:
        s.execute(
            update(Case)
            .where(Case.number == cases["on_time"])
            .values(created_at=datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
        )
        rows = evaluation.evaluate(s, start=START, end=END, group_by="month", codes=["reports", "closures"])
    by_month = {r["group"]: (r["reports"], r["closures"]) for r in rows}
    assert by_month["2026-02"] == (1, 1)
    assert sum(reports for reports, _ in by_month.values()) == 5


def test_composite_weights_are_a_validated_setting() -> None:
    from pydantic import ValidationError

    from smartcity.config import Settings

    assert evaluation.parse_weights("closure_rate:1") == {"closure_rate": 1.0}
    for bad in ("closures:1", "closure_rate", "closure_rate:-1", "happiness:1", ""):
        with pytest.raises(ValidationError):
            Settings(case_score_weights=bad, _env_file=None)
