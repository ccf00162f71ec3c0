"""The class catalogue as data: import (JSON or CSV), all or nothing, idempotent; read by kind and code.

A minor class inherits its major's professional grid unless it names its own. Majors carry no time limit;
minors (and local third-level classes) must.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.cases.models import KINDS, PROFESSIONAL_GRIDS, TIME_UNITS, CaseClass
from smartcity.core import events
from smartcity.core.errors import NotFound, Problem
from smartcity.core.tabular import read_csv

CORE_CATALOGUE = Path(__file__).resolve().parent / "data" / "catalogue-core.json"
FIELDS = (
    "kind",
    "code",
    "name",
    "name_en",
    "registration_condition",
    "closing_condition",
    "time_limit",
    "time_limit_unit",
    "default_department",
    "professional_grid",
)
TEXT_LIMITS = {"name": 80, "name_en": 120, "default_department": 32}


@dataclass
class CatalogueReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV catalogue (header: kind,code,name,… as in FIELDS)."""
    return read_csv(text, FIELDS)


def _check(index: int, row: dict[str, Any], known: set[tuple[str, str]]) -> list[str]:
    problems = []
    kind, code = row.get("kind"), str(row.get("code", ""))
    if kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if not code.isdigit() or len(code) not in (2, 4, 6):
        problems.append("code must have 2 (major), 4 (minor) or 6 (local) digits")
    elif len(code) > 2 and (kind, code[:-2]) not in known:
        problems.append(f"its parent class {code[:-2]} is neither in the file nor in the catalogue")
    if not str(row.get("name", "")).strip():
        problems.append("name is missing")
    for key, limit in TEXT_LIMITS.items():
        if row.get(key) is not None and len(str(row[key])) > limit:
            problems.append(f"{key} is longer than {limit} characters")
    problems += _check_limit(row, code)
    if row.get("professional_grid") not in (None, *PROFESSIONAL_GRIDS):
        problems.append(f"professional_grid must be one of {', '.join(PROFESSIONAL_GRIDS)}")
    return [f"classes[{index}] ({kind} {code}): {p}" for p in problems]


def _check_limit(row: dict[str, Any], code: str) -> list[str]:
    limit, unit = row.get("time_limit"), row.get("time_limit_unit")
    if len(code) == 2:
        return [] if limit is None else ["a major class has no time limit; set it on its minor classes"]
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return ["time_limit must be a whole number of working hours or days"]
    problems = [] if value > 0 else ["time_limit must be positive"]
    if unit not in TIME_UNITS:
        problems.append(f"time_limit_unit must be one of {', '.join(TIME_UNITS)}")
    return problems


def import_catalogue(
    session: Session,
    classes: list[dict[str, Any]],
    *,
    standard_ref: str,
    version: str,
) -> CatalogueReport:
    """Add or update the classes of one catalogue (``standard_ref``); raises a 422 naming every bad row."""
    if not standard_ref.strip() or not classes:
        raise Problem(422, "A catalogue needs a standard_ref and at least one class.", code="empty-catalogue")
    stored = {
        (c.kind, c.code): c for c in session.scalars(select(CaseClass).where(CaseClass.standard_ref == standard_ref))
    }
    known = set(stored) | {(r.get("kind"), str(r.get("code", ""))) for r in classes}
    errors = [e for i, row in enumerate(classes) for e in _check(i, row, known)]
    keys = [(r.get("kind"), str(r.get("code"))) for r in classes]
    errors += [f"{kind} {code} appears twice" for kind, code in sorted({k for k in keys if keys.count(k) > 1})]
    if errors:
        raise Problem(
            422,
            f"{len(errors)} problem(s) in the catalogue; nothing was imported.",
            code="invalid-catalogue",
            errors=[{"field": e.split(":")[0], "message": e} for e in errors],
        )
    majors = {(r["kind"], str(r["code"])): r for r in classes if len(str(r["code"])) == 2}
    report = CatalogueReport()
    for row in sorted(classes, key=lambda r: (r["kind"], str(r["code"]))):
        values = _values(row, majors, stored, standard_ref, version)
        _upsert(session, stored.get((row["kind"], str(row["code"]))), values, report)
    session.flush()
    if report.added or report.updated:
        events.emit(session, "cases.catalogue_changed", standard_ref=standard_ref, version=version)
    return report


def _values(row: dict[str, Any], majors: dict, stored: dict, standard_ref: str, version: str) -> dict[str, Any]:
    code = str(row["code"])
    parent = code[:-2] if len(code) > 2 else None
    grid = row.get("professional_grid")
    if grid is None and parent is not None:
        major = majors.get((row["kind"], code[:2])) or stored.get((row["kind"], code[:2]))
        grid = major.get("professional_grid") if isinstance(major, dict) else getattr(major, "professional_grid", None)
    limit = row.get("time_limit")
    return {
        "standard_ref": standard_ref,
        "version": version,
        "kind": row["kind"],
        "code": code,
        "parent_code": parent,
        "name": str(row["name"]).strip(),
        "name_en": row.get("name_en"),
        "registration_condition": row.get("registration_condition"),
        "closing_condition": row.get("closing_condition"),
        "time_limit": int(limit) if limit is not None else None,
        "time_limit_unit": row.get("time_limit_unit"),
        "default_department": row.get("default_department"),
        "professional_grid": grid,
        "active": True,
    }


def _upsert(session: Session, existing: CaseClass | None, values: dict[str, Any], report: CatalogueReport) -> None:
    label = f"{values['kind']} {values['code']}"
    if existing is None:
        session.add(CaseClass(**values))
        report.added.append(label)
    elif all(getattr(existing, k) == v for k, v in values.items() if k != "version"):
        report.unchanged.append(label)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
        report.updated.append(label)


def list_classes(session: Session, *, kind: str | None = None, standard_ref: str | None = None) -> list[CaseClass]:
    stmt = select(CaseClass).where(CaseClass.active.is_(True)).order_by(CaseClass.kind, CaseClass.code)
    if kind:
        stmt = stmt.where(CaseClass.kind == kind)
    if standard_ref:
        stmt = stmt.where(CaseClass.standard_ref == standard_ref)
    return list(session.scalars(stmt))


def get_class(session: Session, kind: str, code: str, standard_ref: str | None = None) -> CaseClass:
    """A class by kind and code (from ``standard_ref``, else from the most recently updated catalogue)."""
    stmt = select(CaseClass).where(CaseClass.kind == kind, CaseClass.code == code, CaseClass.active.is_(True))
    if standard_ref:
        stmt = stmt.where(CaseClass.standard_ref == standard_ref)
    found = session.scalars(stmt.order_by(CaseClass.updated_at.desc())).first()
    if found is None:
        raise NotFound(f"{kind} class", code)
    return found
