"""Modules talk through each other's services and events, never each other's tables (house rule)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "smartcity"
PRIVATE_ROOMS = {"models", "repository"}
# Places allowed to see every table: the schema registry and the migrations.
EXEMPT = {PACKAGE / "models.py"}


def _module_of(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            # "from smartcity.x import models" names the room in the alias, not in the module
            names += [node.module] if node.module.count(".") >= 2 else [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def crossings() -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path in EXEMPT or "migrations" in path.parts:
            continue
        home = _module_of(path)
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            if len(parts) >= 3 and parts[0] == "smartcity" and parts[2] in PRIVATE_ROOMS and parts[1] != home:
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return sorted(set(found))


def test_no_module_reaches_into_another_modules_tables() -> None:
    assert crossings() == []


def test_the_check_sees_a_crossing(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "smartcity"
    (fake / "cases").mkdir(parents=True)
    (fake / "cases" / "service.py").write_text("from smartcity.security.models import User\n")
    (fake / "cases" / "api.py").write_text("from smartcity.security import models\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert crossings() == [
        "cases/api.py imports smartcity.security.models",
        "cases/service.py imports smartcity.security.models",
    ]
