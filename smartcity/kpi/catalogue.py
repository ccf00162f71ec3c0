"""The indicator catalogue as data (data/indicators.json): units, the plan's sections and every indicator, read
into frozen dataclasses. A wrong file is refused whole, with every problem and its place in the file listed.

The shape follows the KPI data model of domain-standards §7.5: an indicator has a code, names, a unit, a
definition (with numerator and denominator for rates), a direction, a target with its comparison and year, the
plan section it comes from (with the plan's own words), a data source — ``entered`` by people or
``computed:<name>`` from the platform's own data — and references to ISO 37120/37122, U4SSC and GB/T 33356.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from smartcity.core.errors import Problem

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "indicators.json"
DIRECTIONS = ("higher", "lower", "neutral")
TARGET_OPS = ("at_least", "more_than", "at_most", "less_than", "about")
OP_SYMBOLS = {"at_least": "≥", "more_than": ">", "at_most": "≤", "less_than": "<", "about": "≈"}
FRAMEWORKS = ("ISO 37120", "ISO 37122", "U4SSC", "GB/T 33356", "ITU FG-SSC")
RELATIONS = ("same", "related")
CONFIDENCES = ("V", "P", "M")
PERIODICITIES = ("yearly", "quarterly", "live")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_SOURCE = re.compile(r"^(entered|computed:[a-z][a-z0-9_]*)$")

Direction = Literal["higher", "lower", "neutral"]


def _(message: str) -> str:
    """Marks a message for the translation catalogue (the pages translate it when they show it); returns it."""
    return message


class CatalogueError(ValueError):
    """The catalogue file was refused; ``problems`` lists every problem with its path in the file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("indicator catalogue refused:\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class Text:
    """A text in both languages of the platform."""

    zh: str
    en: str

    def said(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True)
class Unit:
    code: str
    label: Text
    whole: bool = False  # counts: a value must be a whole number
    maximum: float | None = None  # percentages: 100


@dataclass(frozen=True)
class FrameworkRef:
    """Where an indicator stands in a published framework; ``relation`` says whether it is that KPI or near it."""

    framework: str
    code: str | None
    name: str
    relation: str
    confidence: str


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Text
    unit: Unit
    definition: Text
    direction: Direction
    target: float | None
    target_op: str | None
    target_year: int | None
    section: str
    quote: str
    source: str
    numerator: Text | None = None
    denominator: Text | None = None
    also_in: tuple[str, ...] = ()
    refs: tuple[FrameworkRef, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    periodicity: str = "yearly"
    headline: bool = False
    minimum: float = 0.0

    @property
    def computed(self) -> str | None:
        """The computed source's name, None for an entered indicator."""
        return self.source.partition(":")[2] or None

    @property
    def is_entered(self) -> bool:
        return self.source == "entered"

    @property
    def target_text(self) -> str:
        """The target as the plan states it, e.g. ``≥ 650``; empty without a target."""
        if self.target is None or self.target_op is None:
            return ""
        return f"{OP_SYMBOLS[self.target_op]} {format_number(self.target)}"


@dataclass(frozen=True)
class Catalogue:
    version: str
    plan_title: Text
    plan_target_year: int
    units: Mapping[str, Unit]
    sections: Mapping[str, Text]
    indicators: Mapping[str, Indicator]

    def get(self, code: str) -> Indicator:
        """The indicator with ``code``; a 404 problem when there is none."""
        found = self.indicators.get(code)
        if found is None:
            raise Problem(404, f"No indicator with code {code!r}; see /api/kpi/indicators.", code="not-found")
        return found

    def filtered(self, *, section: str | None = None, source: str | None = None) -> list[Indicator]:
        """Indicators of a plan section and/or a kind of source (``entered`` or ``computed``), in file order."""
        return [
            i
            for i in self.indicators.values()
            if (not section or i.section == section or section in i.also_in)
            and (not source or (i.is_entered if source == "entered" else not i.is_entered))
        ]


def format_number(value: float | None, decimals: int = 2) -> str:
    """A figure as people read it: thousands separated, at most ``decimals`` places, no trailing zeros."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@cache
def load(path: Path = CATALOGUE_FILE) -> Catalogue:
    """The catalogue in ``path`` (the packaged file by default); raises CatalogueError when it is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError([f"{path}: {exc}"]) from exc
    return parse(document)


def parse(document: Any) -> Catalogue:
    """A Catalogue from a parsed document; raises CatalogueError listing every problem found."""
    if not isinstance(document, Mapping):
        raise CatalogueError(["the document must be a JSON object"])
    problems: list[str] = []
    plan = _mapping(document.get("plan"), "plan", problems)
    version = _text(document, "version", "", problems)
    plan_title = Text(_text(plan, "title_zh", "plan", problems), _text(plan, "title_en", "plan", problems))
    plan_year = _year(plan.get("target_year"), "plan.target_year", problems)
    units = _units(document.get("units"), problems)
    sections = _sections(document.get("sections"), problems)
    indicators = _indicators(document.get("indicators"), units, sections, problems)
    if problems:
        raise CatalogueError(problems)
    return Catalogue(version, plan_title, plan_year or 0, units, sections, indicators)


# ---------------------------------------------------------------- pieces


def _mapping(value: Any, path: str, problems: list[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        problems.append(f"{path}: must be an object")
        return {}
    return value


def _text(obj: Mapping[str, Any], key: str, path: str, problems: list[str]) -> str:
    value = obj.get(key)
    where = f"{path}.{key}" if path else key
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a non-empty string")
        return ""
    return value.strip()


def _both(value: Any, path: str, problems: list[str]) -> Text:
    obj = _mapping(value, path, problems)
    if not obj:
        return Text("", "")
    return Text(_text(obj, "zh", path, problems), _text(obj, "en", path, problems))


def _number(value: Any, path: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{path}: must be a number, not {value!r}")
        return None
    return float(value)


def _year(value: Any, path: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100:
        problems.append(f"{path}: must be a year such as 2013, not {value!r}")
        return None
    return value


def _units(raw: Any, problems: list[str]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for code, item in _mapping(raw, "units", problems).items():
        path = f"units.{code}"
        obj = _mapping(item, path, problems)
        whole = obj.get("whole", False)
        if not isinstance(whole, bool):
            problems.append(f"{path}.whole: must be true or false")
        maximum = _number(obj["maximum"], f"{path}.maximum", problems) if "maximum" in obj else None
        label = Text(_text(obj, "zh", path, problems), _text(obj, "en", path, problems))
        units[code] = Unit(code, label, bool(whole), maximum)
    return units


def _sections(raw: Any, problems: list[str]) -> dict[str, Text]:
    return {
        code: _both(item, f"sections.{code}", problems) for code, item in _mapping(raw, "sections", problems).items()
    }


def _indicators(
    raw: Any, units: Mapping[str, Unit], sections: Mapping[str, Text], problems: list[str]
) -> dict[str, Indicator]:
    if not isinstance(raw, list) or not raw:
        problems.append("indicators: must be a non-empty list")
        return {}
    found: dict[str, Indicator] = {}
    for position, item in enumerate(raw):
        indicator = _indicator(item, f"indicators[{position}]", units, sections, problems)
        if indicator is None:
            continue
        if indicator.code in found:
            problems.append(f"indicators[{position}].code: {indicator.code!r} is used twice")
        found[indicator.code] = indicator
    return found


def _indicator(
    item: Any, path: str, units: Mapping[str, Unit], sections: Mapping[str, Text], problems: list[str]
) -> Indicator | None:
    if not isinstance(item, Mapping):
        problems.append(f"{path}: must be an object")
        return None
    code = item.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        problems.append(f"{path}.code: must be lower-case letters, digits and _ (2–63), not {code!r}")
        code = ""
    path = f"{path} ({code})" if code else path
    unit = units.get(item.get("unit", ""))
    if unit is None:
        problems.append(f"{path}.unit: {item.get('unit')!r} is not one of the units")
    direction = item.get("direction")
    if direction not in DIRECTIONS:
        problems.append(f"{path}.direction: must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    section = item.get("section")
    if section not in sections:
        problems.append(f"{path}.section: {section!r} is not one of the sections")
    also_in = item.get("also_in", [])
    if not isinstance(also_in, list) or any(s not in sections for s in also_in):
        problems.append(f"{path}.also_in: must list known sections")
        also_in = []
    source = item.get("source")
    if not isinstance(source, str) or not _SOURCE.match(source):
        problems.append(f"{path}.source: must be 'entered' or 'computed:<name>', not {source!r}")
        source = "entered"
    target, target_op, target_year = _target(item, path, direction, problems)
    periodicity = item.get("periodicity", "yearly")
    if periodicity not in PERIODICITIES:
        problems.append(f"{path}.periodicity: must be one of {', '.join(PERIODICITIES)}")
    params = item.get("params", {})
    if not isinstance(params, Mapping):
        problems.append(f"{path}.params: must be an object")
        params = {}
    minimum = _number(item.get("minimum", 0), f"{path}.minimum", problems)
    headline = item.get("headline", False)
    if not isinstance(headline, bool):
        problems.append(f"{path}.headline: must be true or false")
    return Indicator(
        code=code,
        name=_both(item.get("name"), f"{path}.name", problems),
        unit=unit or Unit("", Text("", "")),
        definition=_both(item.get("definition"), f"{path}.definition", problems),
        direction=direction if direction in DIRECTIONS else "higher",
        target=target,
        target_op=target_op,
        target_year=target_year,
        section=section if isinstance(section, str) else "",
        quote=_text(item, "quote", path, problems),
        source=source,
        numerator=_both(item["numerator"], f"{path}.numerator", problems) if "numerator" in item else None,
        denominator=_both(item["denominator"], f"{path}.denominator", problems) if "denominator" in item else None,
        also_in=tuple(also_in),
        refs=_refs(item.get("refs", []), f"{path}.refs", problems),
        params=dict(params),
        periodicity=periodicity,
        headline=bool(headline),
        minimum=minimum if minimum is not None else 0.0,
    )


def _target(
    item: Mapping[str, Any], path: str, direction: Any, problems: list[str]
) -> tuple[float | None, str | None, int | None]:
    """Target, comparison and year: all three or none; the comparison must agree with the direction."""
    raw = item.get("target"), item.get("target_op"), item.get("target_year")
    if raw == (None, None, None):
        return None, None, None
    if None in raw:
        problems.append(f"{path}: target, target_op and target_year go together (all three or none)")
        return None, None, None
    target = _number(raw[0], f"{path}.target", problems)
    op = raw[1]
    if op not in TARGET_OPS:
        problems.append(f"{path}.target_op: must be one of {', '.join(TARGET_OPS)}, not {op!r}")
        op = None
    elif direction == "neutral":
        problems.append(f"{path}.direction: an indicator with a target is either higher or lower is better")
    elif (op in ("at_least", "more_than") and direction != "higher") or (
        op in ("at_most", "less_than") and direction != "lower"
    ):
        problems.append(f"{path}.target_op: {op} does not agree with direction {direction!r}")
    return target, op, _year(raw[2], f"{path}.target_year", problems)


def _refs(raw: Any, path: str, problems: list[str]) -> tuple[FrameworkRef, ...]:
    if not isinstance(raw, list):
        problems.append(f"{path}: must be a list")
        return ()
    refs = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        obj = _mapping(item, where, problems)
        if not obj:
            continue
        framework, relation, confidence = obj.get("framework"), obj.get("relation"), obj.get("confidence")
        if framework not in FRAMEWORKS:
            problems.append(f"{where}.framework: must be one of {', '.join(FRAMEWORKS)}, not {framework!r}")
        if relation not in RELATIONS:
            problems.append(f"{where}.relation: must be one of {', '.join(RELATIONS)}, not {relation!r}")
        if confidence not in CONFIDENCES:
            problems.append(f"{where}.confidence: must be one of {', '.join(CONFIDENCES)}, not {confidence!r}")
        ref_code = obj.get("code")
        if ref_code is not None and (not isinstance(ref_code, str) or not ref_code.strip()):
            problems.append(f"{where}.code: a non-empty string or null")
        refs.append(FrameworkRef(str(framework), ref_code, _text(obj, "name", where, problems), str(relation),
                                 str(confidence)))  # fmt: skip
    return tuple(refs)
