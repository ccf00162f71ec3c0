"""The value form as typed (text, so a refused form comes back as it was written) and its reading into a service
entry, with each problem placed beside its input. No database, no HTTP."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field

from smartcity.core.errors import Problem
from smartcity.kpi.catalogue import _
from smartcity.kpi.service import CITY, Entry

Line = Annotated[str, Field(max_length=500)]
FIELDS = ("value", "year", "quarter", "area_code", "source_title", "source_url", "source_reference", "note",
          "corrects")  # fmt: skip


class ValueForm(BaseModel):
    value: Line = ""
    year: Line = ""
    quarter: Line = ""
    area_code: Line = CITY
    source_title: Line = ""
    source_url: Line = ""
    source_reference: Line = ""
    note: Annotated[str, Field(max_length=2000)] = ""
    corrects: Line = ""

    def texts(self) -> dict[str, str]:
        return self.model_dump()


def _number_text(text: str) -> str:
    """Full-width digits made ASCII, thousands separators and spaces dropped: "６，５００" → "6500"."""
    return unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()


def read(form: ValueForm) -> tuple[Entry | None, list[dict[str, str]]]:
    """The entry the form says, or the problems that keep it from saying one (numbers that are not numbers)."""
    errors: list[dict[str, str]] = []
    numbers: dict[str, float | int | None] = {}
    for name, kind, message in (
        ("value", float, _("write the value as a number, e.g. 650 or 6.2")),
        ("year", int, _("write the year as four digits, e.g. 2012")),
        ("quarter", int, _("choose a quarter, or the whole year")),
        ("corrects", int, _("the version to correct is a whole number")),
    ):
        text = _number_text(getattr(form, name))
        if not text:
            numbers[name] = None
            continue
        try:
            numbers[name] = kind(text)
        except ValueError:
            errors.append({"field": name, "message": message})
    for name in ("value", "year"):
        if numbers.get(name) is None and not any(e["field"] == name for e in errors):
            errors.append({"field": name, "message": _("this field is required")})
    if errors:
        return None, errors
    entry = Entry(
        value=float(numbers["value"]),  # type: ignore[arg-type]
        year=int(numbers["year"]),  # type: ignore[arg-type]
        quarter=int(numbers["quarter"] or 0),
        area_code=form.area_code.strip() or CITY,
        source_title=form.source_title,
        source_url=form.source_url.strip() or None,
        source_reference=form.source_reference.strip() or None,
        note=form.note,
        corrects=int(numbers["corrects"]) if numbers["corrects"] is not None else None,
    )
    return entry, []


@dataclass(frozen=True)
class Trouble:
    """What went wrong, as the page shows it: the summary, and each problem beside the input it is about."""

    detail: str | None = None
    errors: tuple[dict[str, str], ...] = ()

    @classmethod
    def of(cls, problem: Problem | None) -> Trouble:
        if problem is None:
            return cls()
        return cls(problem.detail, tuple({**e, "target": e["field"] if e.get("field") in FIELDS else ""}
                                         for e in problem.errors))  # fmt: skip

    @property
    def by_field(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for e in self.errors:
            fields.setdefault(e["target"], []).append(e["message"])
        return fields
