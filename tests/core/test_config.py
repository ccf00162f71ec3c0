"""Settings come from SMARTCITY_* variables and refuse unsafe production values with the variable's name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from smartcity.config import Settings


def test_variables_are_read(monkeypatch) -> None:
    monkeypatch.setenv("SMARTCITY_PORT", "9123")
    monkeypatch.setenv("SMARTCITY_AUDIT_HASH", "sm3")
    settings = Settings(_env_file=None)
    assert (settings.port, settings.audit_hash) == (9123, "sm3")


def test_production_refuses_a_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="SMARTCITY_SECRET_KEY"):
        Settings(env="production", secret_key="changeme", _env_file=None)
    assert Settings(env="production", secret_key="x" * 40, _env_file=None).env == "production"


def test_unknown_database_is_refused_with_the_variable_name() -> None:
    with pytest.raises(ValidationError, match="SMARTCITY_DATABASE_URL"):
        Settings(database_url="mysql://x", _env_file=None)


def test_bad_value_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("SMARTCITY_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="port"):
        Settings(_env_file=None)


def test_demo_grids_takes_all_none_or_district_codes() -> None:
    assert Settings(demo_grids=" 310101, 310104", _env_file=None).demo_grids == "310101,310104"
    assert Settings(demo_grids="none", _env_file=None).demo_grids == "none"
    with pytest.raises(ValidationError, match="SMARTCITY_DEMO_GRIDS"):
        Settings(demo_grids="Huangpu", _env_file=None)
