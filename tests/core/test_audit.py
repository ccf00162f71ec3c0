"""The audit chain records every state change and names the first record that was tampered with."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from smartcity.cli import app as cli
from smartcity.core import audit
from smartcity.core.audit import AuditRecord
from smartcity.core.db import Database
from smartcity.security.models import User
from tests.conftest import make_department, make_user


def _chain_of(database, n: int = 5) -> None:
    with database.session(actor="alice") as s:
        make_department(s, code="310000", level="city", parent=None)
        for i in range(n):
            make_user(s, username=f"user{i}")


def _verify(database) -> audit.Verdict:
    with database.session() as s:
        return audit.verify(s)


def test_a_change_is_recorded_with_actor_and_before_after(database) -> None:
    _chain_of(database, 1)
    with database.session(actor="bob") as s:
        user = s.scalar(select(User).where(User.username == "user0"))
        user.display_name = "Renamed"
    with database.session() as s:
        record = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
    assert record.actor == "bob"
    assert record.action == "user_account.update"
    assert json.loads(record.before) == {"display_name": "User0"}
    assert json.loads(record.after) == {"display_name": "Renamed"}


def test_password_hashes_never_reach_the_chain(database) -> None:
    _chain_of(database, 1)
    with database.session() as s:
        created = s.scalars(select(AuditRecord).where(AuditRecord.object_type == "user_account")).one()
    assert "password_hash" not in json.loads(created.after)
    assert "argon2" not in created.after


def test_personal_data_is_masked_in_the_chain(database) -> None:
    with database.session() as s:
        make_department(s, code="310000", level="city", parent=None)
        make_user(s, username="cit", role="citizen", department=None, phone="13912345678", email="li@example.org")
    with database.session() as s:
        user = s.scalar(select(User).where(User.username == "cit"))
        user.phone = "13700001111"
    with database.session() as s:
        created, changed = s.scalars(
            select(AuditRecord).where(AuditRecord.object_type == "user_account").order_by(AuditRecord.seq)
        ).all()
    assert json.loads(created.after)["phone"] == "139****5678"
    assert json.loads(created.after)["email"] == "l***@example.org"
    assert (json.loads(changed.before), json.loads(changed.after)) == (
        {"phone": "139****5678"},
        {"phone": "137****1111"},
    )


def test_a_rolled_back_change_leaves_no_record(database) -> None:
    _chain_of(database, 1)
    with database.session() as s:
        before = audit.count(s)
    with pytest.raises(RuntimeError), database.session() as s:
        make_user(s, username="ghost")
        raise RuntimeError("abort")
    with database.session() as s:
        assert audit.count(s) == before
    assert _verify(database).ok


def test_intact_chain_verifies(database) -> None:
    _chain_of(database)
    verdict = _verify(database)
    assert verdict.ok and verdict.checked == 6


def test_an_edited_record_is_named(database) -> None:
    _chain_of(database)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_record SET actor = 'mallory' WHERE seq = 3"))
    verdict = _verify(database)
    assert not verdict.ok
    assert verdict.first_bad_seq == 3
    assert "edited" in verdict.problem


def test_a_deleted_record_is_named(database) -> None:
    _chain_of(database)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq = 4"))
    verdict = _verify(database)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "deleted" in verdict.problem


def test_deleting_the_newest_records_is_caught_by_the_head(database) -> None:
    _chain_of(database)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq >= 5"))
    verdict = _verify(database)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 5)


def test_an_inserted_record_is_named(database) -> None:
    _chain_of(database)
    # Forge a record #3 that links correctly to #2: the real #3, renumbered to #4, no longer links.
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_record SET seq = seq + 100 WHERE seq >= 3"))
        conn.execute(text("UPDATE audit_record SET seq = seq - 99 WHERE seq >= 103"))
    with database.session() as s:
        prev = s.get(AuditRecord, 2)
        fields = {
            "seq": 3,
            "at": prev.at,
            "actor": "mallory",
            "action": "forged",
            "object_type": "x",
            "object_id": None,
            "before": None,
            "after": None,
            "prev_hash": prev.hash,
        }
        s.add(AuditRecord(**fields, algorithm="sha256", hash=audit.record_hash(fields, "sha256")))
    verdict = _verify(database)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "does not link" in verdict.problem


def test_sm3_chain_verifies_and_differs_from_sha256() -> None:
    fields = {
        "seq": 1,
        "at": __import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC),
        "actor": "a",
        "action": "b",
        "object_type": "c",
        "object_id": None,
        "before": None,
        "after": None,
        "prev_hash": audit.GENESIS_HASH,
    }
    sm3, sha = audit.record_hash(fields, "sm3"), audit.record_hash(fields, "sha256")
    assert len(sm3) == 64 and sm3 != sha
    # GB/T 32905-2016 appendix A example 1: SM3("abc")
    assert audit.digest("sm3", b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_setting_chains_with_sm3_and_verifies(settings, database) -> None:
    sm3_database = Database(settings.model_copy(update={"audit_hash": "sm3"}))
    try:
        with sm3_database.session() as s:
            make_department(s, code="310000", level="city", parent=None)
    finally:
        sm3_database.dispose()
    with database.session() as s:
        make_department(s, code="310101", parent="310000")
        assert s.scalars(select(AuditRecord.algorithm).order_by(AuditRecord.seq)).all() == ["sm3", "sha256"]
    assert _verify(database).ok


def test_cli_verify_exits_nonzero_on_tampering(database, settings, monkeypatch) -> None:
    _chain_of(database)
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", settings.database_url)
    from smartcity.config import get_settings

    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(cli, ["audit", "verify"])
        assert ok.exit_code == 0 and "intact: 6 records" in ok.output
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE audit_record SET after = '{}' WHERE seq = 2"))
        broken = CliRunner().invoke(cli, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "#2" in broken.output
    finally:
        get_settings.cache_clear()
