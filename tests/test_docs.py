"""Docs that cannot drift: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from smartcity.cli import app as cli
from smartcity.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _commands(app: typer.Typer, prefix: str = "smartcity") -> list[str]:
    names = [f"{prefix} {c.name or c.callback.__name__}" for c in app.registered_commands]
    for group in app.registered_groups:
        names += _commands(group.typer_instance, f"{prefix} {group.name}")
    return names


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [f"SMARTCITY_{name.upper()}" for name in Settings.model_fields if f"SMARTCITY_{name.upper()}" not in text]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _commands(cli)
    assert len(commands) >= 8
    assert [c for c in commands if c not in readme] == []


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
