"""Rules evaluated as observations arrive — inside the transaction that stores them, whichever way they came
(HTTP, a batch, MQTT, the simulator) — and on a schedule for the no-data rules.

Each rule's engine state lives in ``alert_rule_state`` and is read, advanced and written back in the
observations' own transaction (row-locked on PostgreSQL, so processes evaluating the same rule take turns),
together with the alarm changes. A commit keeps observations, state and alarms together; a rollback or a
crash drops all three, and the redelivered observations are evaluated again — no alarm is lost or doubled.
A reading not newer than the last one a rule took is ignored, which also makes a replay harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.alerts import alarms
from smartcity.alerts import rules as r
from smartcity.alerts.engine import SNAPSHOT_FORMAT, Engine, Reading, Transition
from smartcity.alerts.engine import readings as engine_readings
from smartcity.alerts.models import Rule, RuleDatastream, RuleState
from smartcity.core import events
from smartcity.core.db import utcnow


@lru_cache(maxsize=4096)
def _parsed(document: str) -> r.Spec:
    return r.validate_spec(json.loads(document))


def spec_of(rule: Rule) -> r.Spec:
    """The rule's current version, parsed once per process (keyed by the document itself)."""
    return _parsed(rule.spec)


def readings(observations: Iterable[dict[str, Any]]) -> list[Reading]:
    """(datastream, epoch seconds, value) of the numeric observations, in time order."""
    return sorted(engine_readings(observations), key=lambda reading: reading[1])


def _locked_rules(session: Session, statement: Any) -> list[Rule]:
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=Rule)
    return list(session.scalars(statement.order_by(Rule.id)))


def evaluate(session: Session, batch: list[tuple[int, float, float]]) -> list[Transition]:
    """Advance the rules watching these readings' datastreams and apply what changed to the alarms."""
    if not batch:
        return []
    datastreams = {d for d, _, _ in batch}
    watching = select(RuleDatastream.rule_id).where(RuleDatastream.datastream_id.in_(datastreams))
    statement = select(Rule).where(Rule.id.in_(watching), Rule.enabled.is_(True))
    rules = _locked_rules(session, statement)
    if not rules:
        return []
    return _run(session, rules, lambda engine: engine.feed_many(batch))


def tick(session: Session, now: datetime | None = None) -> list[Transition]:
    """The schedule's turn: no-data rules raise for datastreams that have gone quiet."""
    moment = (now or utcnow()).timestamp()
    rules = _locked_rules(session, select(Rule).where(Rule.enabled.is_(True), Rule.kind == "no_data"))
    if not rules:
        return []
    return _run(session, rules, lambda engine: engine.tick(moment))


def _run(session: Session, rules: list[Rule], step: Any) -> list[Transition]:
    by_id = {rule.id: rule for rule in rules}
    states = {s.rule_id: s for s in session.scalars(select(RuleState).where(RuleState.rule_id.in_(by_id)))}
    saved = {str(i): json.loads(s.state) for i, s in states.items() if s.state}
    engine = Engine.restore(
        {i: spec_of(rule) for i, rule in by_id.items()}, {"format": SNAPSHOT_FORMAT, "rules": saved}
    )
    transitions = step(engine)
    snapshot = engine.snapshot(by_id)["rules"]
    for rule_id, rule in by_id.items():
        text = json.dumps(snapshot.get(str(rule_id), {}), separators=(",", ":"))
        state = states.get(rule_id)
        if state is None:
            session.add(RuleState(rule_id=rule_id, version=rule.version, state=text, updated_at=utcnow()))
        elif state.state != text:
            state.state, state.version, state.updated_at = text, rule.version, utcnow()
    changes = [
        alarms.Change(t.rule_id, str(t.source), t.raised, datetime.fromtimestamp(t.time, UTC), t.value, t.detail)
        for t in transitions
    ]
    alarms.apply_many(session, by_id, changes)
    return transitions


@events.react("sensing.observations_created")
def _on_observations(session: Session, event: events.DomainEvent) -> None:
    evaluate(session, readings(event.payload.get("observations", [])))
