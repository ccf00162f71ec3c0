"""Alert rule documents: each kind parses, the shorthand and canonical form, and every refusal names its field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from smartcity.alerts.rules import (
    AllOfRule,
    InvalidRule,
    Severity,
    ThresholdRule,
    fingerprint,
    spec_json,
    validate_spec,
)

KNOWN = {1, 2, 3, 4}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def _doc(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "name": f"a {kind} rule", **fields}


VALID = [
    _doc("threshold", datastream=1, op="gt", value=4.5, clear={"value": 4.3}),
    _doc("threshold", datastreams=[1, 2], op="le", value=0, clear={"deadband": 0.5}, for_seconds=300),
    _doc("band", datastream=3, low=6.5, high=8.5, clear={"deadband": 0.2}),
    _doc("band", datastream=3, low=0, high=1, alarm="inside"),
    _doc("rate_of_change", datastream=1, delta=0.5, window_minutes=30, direction="rising", clear={"value": 0.2}),
    _doc("accumulation", datastream=2, window_minutes=180, value=50, clear={"deadband": 5}, label="rainfall"),
    _doc("no_data", datastreams=[1, 2, 3], minutes=15),
    _doc("stuck", datastream=4, tolerance=0.01, readings=12),
    _doc("stuck", datastream=4, minutes=60),
    _doc(
        "all_of",
        conditions=[
            {"kind": "accumulation", "datastream": 2, "window_minutes": 60, "value": 20},
            {"kind": "threshold", "datastream": 1, "op": "ge", "value": 4.2},
        ],
        for_seconds=600,
        severity="critical",
    ),
    _doc("any_of", conditions=[{"kind": "stuck", "datastream": 4, "readings": 5}]),
]


@pytest.mark.parametrize("doc", VALID, ids=[f"{d['kind']}-{i}" for i, d in enumerate(VALID)])
def test_each_kind_parses_and_its_canonical_form_round_trips(doc: dict[str, Any]) -> None:
    spec = validate_spec(doc, KNOWN)
    assert spec.kind == doc["kind"]
    again = validate_spec(json.loads(json.dumps(spec_json(spec))), KNOWN)
    assert again == spec
    assert fingerprint(again) == fingerprint(spec)


def test_datastream_is_shorthand_for_a_list_of_one() -> None:
    spec = validate_spec(VALID[0], KNOWN)
    assert isinstance(spec, ThresholdRule)
    assert spec.datastreams == [1]
    assert "datastream" not in spec_json(spec)


def test_defaults_and_the_hysteresis_levels() -> None:
    spec = validate_spec(_doc("threshold", datastream=1, op="lt", value=2, clear={"deadband": 0.5}), KNOWN)
    assert (spec.severity, spec.for_seconds, spec.clear_for_seconds) == (Severity.medium, 0, 0)
    assert spec.clear_level() == 2.5  # a falling limit clears above itself
    assert validate_spec(VALID[0], KNOWN).clear_level() == 4.3


def test_a_combination_names_its_source_by_its_datastreams() -> None:
    spec = validate_spec(VALID[9], KNOWN)
    assert isinstance(spec, AllOfRule)
    assert spec.datastreams == [2, 1]
    assert spec.source == "all_of:2+1"


def test_the_fingerprint_ignores_key_order_and_sees_a_change() -> None:
    doc = VALID[5]
    shuffled = dict(reversed(list(doc.items())))
    assert fingerprint(validate_spec(shuffled, KNOWN)) == fingerprint(validate_spec(doc, KNOWN))
    assert fingerprint(validate_spec(doc | {"value": 51}, KNOWN)) != fingerprint(validate_spec(doc, KNOWN))


def test_without_known_datastreams_any_id_passes() -> None:
    assert validate_spec(_doc("threshold", datastream=999, op="gt", value=1)).datastreams == [999]


def test_severity_ranks_the_most_urgent_first() -> None:
    assert [s.rank for s in Severity] == [1, 2, 3, 4]
    assert sorted(["low", "critical", "medium"], key=lambda s: Severity(s).rank) == ["critical", "medium", "low"]


REFUSED = [
    (
        "unknown datastream",
        _doc("threshold", datastreams=[1, 9], op="gt", value=1),
        "datastreams",
        "datastream 9 does not exist",
    ),
    (
        "unknown datastream in a combination",
        _doc("all_of", conditions=[{"kind": "threshold", "datastream": 7, "op": "gt", "value": 1}]),
        "conditions.0.datastream",
        "datastream 7 does not exist",
    ),
    ("low at or above high", _doc("band", datastream=3, low=8.5, high=6.5), "high", "must be above low"),
    ("low equal to high", _doc("band", datastream=3, low=7, high=7), "high", "must be above low"),
    (
        "negative window",
        _doc("accumulation", datastream=2, window_minutes=-60, value=50),
        "window_minutes",
        "greater than 0",
    ),
    (
        "window too long",
        _doc("accumulation", datastream=2, window_minutes=20_000, value=50),
        "window_minutes",
        "less than or equal",
    ),
    (
        "negative duration",
        _doc("threshold", datastream=1, op="gt", value=1, for_seconds=-5),
        "for_seconds",
        "greater than or equal to 0",
    ),
    ("empty combination", _doc("all_of", conditions=[]), "conditions", "at least one condition"),
    ("unknown kind", _doc("frost", datastream=1), "body", "unknown kind 'frost'"),
    ("no kind", {"name": "x", "datastream": 1}, "body", "needs a kind"),
    ("unknown field", _doc("threshold", datastream=1, op="gt", value=1, colour="red"), "colour", "unknown field"),
    ("missing field", _doc("threshold", datastream=1, op="gt"), "value", "required"),
    ("unknown op", _doc("threshold", datastream=1, op="gte", value=1), "op", "'gt'"),
    ("not a number", _doc("threshold", datastream=1, op="gt", value="high"), "value", "number"),
    ("not finite", _doc("threshold", datastream=1, op="gt", value=float("nan")), "value", "finite"),
    (
        "clear above a rising limit",
        _doc("threshold", datastream=1, op="ge", value=5, clear={"value": 6}),
        "clear",
        "at or below value (5)",
    ),
    (
        "clear below a falling limit",
        _doc("threshold", datastream=1, op="lt", value=5, clear={"value": 4}),
        "clear",
        "at or above value (5)",
    ),
    (
        "clear with both",
        _doc("threshold", datastream=1, op="gt", value=5, clear={"value": 4, "deadband": 1}),
        "clear",
        "either",
    ),
    (
        "negative deadband",
        _doc("threshold", datastream=1, op="gt", value=5, clear={"deadband": -1}),
        "clear.deadband",
        "greater than or equal to 0",
    ),
    (
        "band cleared by a value",
        _doc("band", datastream=3, low=1, high=2, clear={"value": 1.5}),
        "clear",
        "use clear.deadband",
    ),
    (
        "band deadband too wide",
        _doc("band", datastream=3, low=1, high=2, clear={"deadband": 0.5}),
        "clear",
        "less than half",
    ),
    (
        "rate clear above delta",
        _doc("rate_of_change", datastream=1, delta=1, window_minutes=30, clear={"value": 2}),
        "clear",
        "between 0 and delta",
    ),
    (
        "rate without a positive delta",
        _doc("rate_of_change", datastream=1, delta=0, window_minutes=30),
        "delta",
        "greater than 0",
    ),
    (
        "accumulation clear above value",
        _doc("accumulation", datastream=2, window_minutes=60, value=20, clear={"value": 30}),
        "clear",
        "at or below value (20)",
    ),
    (
        "stuck with both lengths",
        _doc("stuck", datastream=4, minutes=10, readings=5),
        "readings",
        "either minutes or readings",
    ),
    ("stuck with neither", _doc("stuck", datastream=4), "readings", "either minutes or readings"),
    ("stuck on one reading", _doc("stuck", datastream=4, readings=1), "readings", "greater than or equal to 2"),
    (
        "no_data with an on-delay",
        _doc("no_data", datastream=1, minutes=15, for_seconds=60),
        "for_seconds",
        "from minutes",
    ),
    (
        "no_data in a combination",
        _doc("all_of", conditions=[{"kind": "no_data", "datastream": 1, "minutes": 5}]),
        "conditions",
        "no_data cannot be combined",
    ),
    (
        "nested combination",
        _doc("any_of", conditions=[{"kind": "all_of", "conditions": []}]),
        "conditions",
        "combinations do not nest",
    ),
    ("a datastream twice", _doc("threshold", datastreams=[1, 1], op="gt", value=1), "datastreams", "listed twice"),
    ("no datastream", _doc("threshold", datastreams=[], op="gt", value=1), "datastreams", "at least 1"),
    (
        "datastream and datastreams",
        _doc("threshold", datastream=1, datastreams=[2], op="gt", value=1),
        "body",
        "not both",
    ),
    (
        "a datastream id that is not an integer",
        _doc("threshold", datastream="one", op="gt", value=1),
        "datastreams.0",
        "integer",
    ),
    (
        "unknown severity",
        _doc("threshold", datastream=1, op="gt", value=1, severity="urgent"),
        "severity",
        "'critical'",
    ),
    ("blank name", _doc("threshold", datastream=1, op="gt", value=1) | {"name": "  "}, "name", "must not be blank"),
]


@pytest.mark.parametrize(("doc", "field", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_an_invalid_rule_is_refused_naming_the_field_and_the_reason(doc: dict, field: str, reason: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        validate_spec(doc, KNOWN)
    errors = caught.value.errors
    assert any(e["field"] == field and reason in e["message"] for e in errors), errors


def test_the_refusal_is_a_422_problem_listing_every_error() -> None:
    doc = _doc("all_of", conditions=[{"kind": "threshold", "datastream": 9, "op": "gt", "value": 1, "x": 1}])
    with pytest.raises(InvalidRule) as caught:
        validate_spec(doc, KNOWN)
    problem = caught.value
    body = problem.body()
    assert problem.status == 422
    assert body["type"].endswith("/invalid-rule")
    assert {e["field"] for e in body["errors"]} == {"conditions.0.datastream", "conditions.0.x"}
    assert body["detail"].startswith("The rule is invalid: conditions.0.datastream: datastream 9 does not exist")
    assert "(and 1 more)" in body["detail"]


def test_the_examples_in_the_documentation_are_valid_rules() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("\n## Rules") :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
    rules = [e for e in examples if isinstance(e, dict) and "kind" in e]
    assert {r["kind"] for r in rules} == {
        "threshold", "band", "rate_of_change", "accumulation", "no_data", "stuck", "all_of", "any_of",
    }  # fmt: skip
    for rule in rules:
        validate_spec(rule)
