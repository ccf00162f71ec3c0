"""The dispatch catalogue (派单目录) as data: import from JSON or CSV, all or nothing, idempotent.

Each matter names the level of department that answers for it at the order's place (city, district or
street) or one department by code, its sign-for and handling limits (normal and urgent) on the working
calendar, and — for urban-management matters — the grid case class it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.errors import NotFound, Problem
from smartcity.core.tabular import read_csv
from smartcity.hotline.models import CASE_KINDS, LEVELS, TIME_UNITS, Matter

DEMO_CATALOGUE = Path(__file__).resolve().parent / "data" / "matters.json"
DEMO_ARTICLES = Path(__file__).resolve().parent / "data" / "articles-demo.json"
FIELDS = (
    "code",
    "name",
    "name_en",
    "level",
    "department_code",
    "sign_limit_hours",
    "handle_limit",
    "handle_limit_unit",
    "urgent_limit",
    "urgent_limit_unit",
    "case_kind",
    "case_class",
    "keywords",
)
INTEGERS = ("sign_limit_hours", "handle_limit", "urgent_limit")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def parse_csv(text: str) -> list[dict[str, Any]]:
    return read_csv(text, FIELDS)


def _check(row: dict[str, Any]) -> list[str]:
    problems = []
    code = str(row.get("code") or "").strip()
    if not code or len(code) > 16 or not code.replace("-", "").isalnum():
        problems.append("code must be 1–16 letters, digits or dashes")
    if not str(row.get("name") or "").strip():
        problems.append("name is missing")
    if (row.get("level") or "district") not in LEVELS:
        problems.append(f"level must be one of {', '.join(LEVELS)}")
    for key in INTEGERS:
        value = row.get(key)
        if value not in (None, "") and (not str(value).isdigit() or int(value) <= 0):
            problems.append(f"{key} must be a positive whole number")
    for key in ("handle_limit_unit", "urgent_limit_unit"):
        if row.get(key) not in (None, "") and row[key] not in TIME_UNITS:
            problems.append(f"{key} must be one of {', '.join(TIME_UNITS)}")
    kind, case_class = row.get("case_kind") or None, row.get("case_class") or None
    if (kind is None) != (case_class is None):
        problems.append("case_kind and case_class go together")
    elif kind is not None and kind not in CASE_KINDS:
        problems.append(f"case_kind must be one of {', '.join(CASE_KINDS)}")
    return problems


def _values(row: dict[str, Any]) -> dict[str, Any]:
    values = {key: (row.get(key) if row.get(key) not in ("",) else None) for key in FIELDS}
    for key in INTEGERS:
        values[key] = int(values[key]) if values[key] is not None else None
    values["level"] = values["level"] or "district"
    defaults = {
        "sign_limit_hours": 2,
        "handle_limit": 5,
        "handle_limit_unit": "working_days",
        "urgent_limit": 4,
        "urgent_limit_unit": "working_hours",
    }
    return {k: (defaults[k] if v is None and k in defaults else v) for k, v in values.items()}


def import_matters(session: Session, rows: list[dict[str, Any]]) -> ImportReport:
    """Add or update matters by code. Any invalid row refuses the whole file (422 listing every row)."""
    errors = [
        {"field": f"row {i}", "message": "; ".join(p)} for i, row in enumerate(rows, start=1) if (p := _check(row))
    ]
    codes = [str(r.get("code")).strip() for r in rows]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        errors.append({"field": "code", "message": f"repeated in the file: {', '.join(dupes)}"})
    if errors:
        raise Problem(422, "The dispatch catalogue has errors; nothing was imported.", errors=errors)
    existing = {m.code: m for m in session.scalars(select(Matter))}
    report = ImportReport()
    for row in rows:
        values = _values(row)
        values["code"] = str(values["code"]).strip()
        current = existing.get(values["code"])
        if current is None:
            session.add(Matter(**values))
            report.added.append(values["code"])
        elif any(getattr(current, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            report.updated.append(values["code"])
        else:
            report.unchanged.append(values["code"])
    session.flush()
    events.emit(session, "hotline.catalogue_imported", added=len(report.added), updated=len(report.updated))
    return report


def get_matter(session: Session, code: str) -> Matter:
    matter = session.scalar(select(Matter).where(Matter.code == code, Matter.active.is_(True)))
    if matter is None:
        raise NotFound("matter", code)
    return matter


def list_matters(session: Session) -> list[Matter]:
    return list(session.scalars(select(Matter).where(Matter.active.is_(True)).order_by(Matter.code)))
