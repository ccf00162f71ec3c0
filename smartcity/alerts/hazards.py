"""China's warning hazards and colours as data (data/hazards.json): loaded, checked, and read by code.

The file says which colours each hazard may use, what each colour means in CAP 1.2 (severity, and the
urgency and certainty we suggest), and the published criteria that a "suggested warning" can test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smartcity.alerts.cap import Category, Certainty, Severity, Urgency

HAZARDS_FILE = Path(__file__).resolve().parent / "data" / "hazards.json"


class Colour(StrEnum):
    """China's four warning colours, lowest first (四级 blue … 一级 red; 《突发事件应对法》)."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


Confidence = Literal["V", "P", "M"]  # as in the standards file: verified, secondary page, no source found


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Level(_Model):
    code: Colour
    rank: int = Field(ge=1, le=4)  # 1 blue (lowest) … 4 red
    level: Literal["I", "II", "III", "IV"]
    name: Text
    meaning: Text
    hex: str = Field(pattern=r"^#[0-9a-f]{6}$")


class Levels(_Model):
    confidence: Confidence
    source: str
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _all_four_once(self) -> Levels:
        if sorted(level.code for level in self.levels) != sorted(Colour):
            raise ValueError("colours.levels must list blue, yellow, orange and red once each")
        if sorted(level.rank for level in self.levels) != [1, 2, 3, 4]:
            raise ValueError("colours.levels must rank the colours 1 to 4")
        return self


class ColourInCap(_Model):
    value: str = Field(min_length=1)  # the value of the colour parameter
    severity: Severity
    urgency: Urgency
    certainty: Certainty


class CapConventions(_Model):
    """How a warning is written in CAP 1.2: our design choice (the file says so in ``source``)."""

    confidence: Confidence
    source: str
    colour_parameter: str = Field(min_length=1)  # info.parameter valueName carrying the colour
    hazard_event_code: str = Field(min_length=1)  # info.eventCode valueName carrying the hazard code
    geocode_value_name: str = Field(min_length=1)  # area.geocode valueName for division codes
    by_colour: dict[Colour, ColourInCap]

    @model_validator(mode="after")
    def _every_colour(self) -> CapConventions:
        if set(self.by_colour) != set(Colour):
            raise ValueError("cap.by_colour must map blue, yellow, orange and red")
        return self


class Criterion(_Model):
    """Met when ``measure`` over ``window_hours`` reaches ``threshold`` (≥) in ``unit``."""

    level: Colour
    measure: str = Field(pattern=r"^[a-z_]+$")
    window_hours: int = Field(gt=0)
    threshold: float
    unit: str


class Hazard(_Model):
    code: str = Field(pattern=r"^[a-z_]+$")
    name: Text
    cap_categories: tuple[Category, ...] = Field(min_length=1)
    colours: tuple[Colour, ...] = Field(min_length=1)
    local: bool = False  # the city's own warning, not a CMA signal
    confidence: Confidence
    source: str = Field(min_length=1)
    criteria_basis: Text | None = None
    criteria: tuple[Criterion, ...] = ()
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Hazard:
        if len(set(self.colours)) != len(self.colours):
            raise ValueError(f"hazard {self.code}: a colour is listed twice")
        stray = sorted({c.level for c in self.criteria} - set(self.colours))
        if stray:
            raise ValueError(f"hazard {self.code}: criteria for colours it may not use: {', '.join(stray)}")
        return self


class HazardCatalogue(_Model):
    version: str
    source: str
    note: str
    colours: Levels
    cap: CapConventions
    hazards: tuple[Hazard, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> HazardCatalogue:
        codes = [h.code for h in self.hazards]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"hazard codes appear more than once: {', '.join(twice)}")
        return self

    def hazard(self, code: str) -> Hazard:
        """The hazard with this code; ValueError naming the known codes when there is none."""
        for hazard in self.hazards:
            if hazard.code == code:
                return hazard
        raise ValueError(f"unknown hazard {code!r}; known: {', '.join(h.code for h in self.hazards)}")

    def level(self, colour: Colour | str) -> Level:
        return next(level for level in self.colours.levels if level.code == Colour(colour))


def load_hazards(path: Path = HAZARDS_FILE) -> HazardCatalogue:
    """The hazard catalogue in ``path``. Raises ValueError naming the file and every problem in it."""
    try:
        return HazardCatalogue.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValidationError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from error


@cache
def catalogue() -> HazardCatalogue:
    """The shipped catalogue, read once."""
    return load_hazards()


def _rank(colour: Colour) -> int:
    return catalogue().level(colour).rank


def colours_for(hazard: str) -> tuple[Colour, ...]:
    """The colours the hazard may use, lowest first. ValueError for an unknown hazard."""
    return tuple(sorted(catalogue().hazard(hazard).colours, key=_rank))


def colour_hex(colour: Colour | str) -> str:
    """The colour's swatch for maps; a neutral grey for a colour the catalogue does not know."""
    known = str(colour) in {str(c) for c in Colour}
    return catalogue().level(str(colour)).hex if known else "#4a5561"


def severity_for(colour: Colour | str) -> Severity:
    """The CAP 1.2 severity written for a warning of this colour (red Extreme … blue Minor: our design)."""
    return catalogue().cap.by_colour[Colour(colour)].severity


def event_text(hazard: str, colour: Colour | str, language: str = "zh-CN") -> str:
    """The CAP ``event`` text: "暴雨橙色预警" in Chinese, "Orange rainstorm warning" otherwise."""
    known, level = catalogue().hazard(hazard), catalogue().level(colour)
    if Colour(colour) not in known.colours:
        raise ValueError(f"hazard {hazard} has no {Colour(colour)} warning")
    if language.lower().startswith("zh"):
        return f"{known.name.zh}{level.name.zh}预警"
    return f"{level.name.en} {known.name.en.lower()} warning"


def _in(text: Text, language: str) -> str:
    return text.zh if language.lower().startswith("zh") else text.en


def hazard_name(code: str, language: str = "zh-CN") -> str:
    """The hazard's name for people ("暴雨", "Rainstorm"); the code itself for a hazard the file does not know."""
    try:
        return _in(catalogue().hazard(code).name, language)
    except ValueError:
        return code


def colour_names(language: str = "zh-CN") -> dict[str, str]:
    """The colours' names for people, lowest first: {"blue": "蓝色", …} or {"blue": "Blue", …}."""
    return {str(level.code): _in(level.name, language) for level in catalogue().colours.levels}


def suggest(hazard: str, measure: str, amounts: Mapping[int, float]) -> Colour | None:
    """The highest colour of ``hazard`` whose ``measure`` criterion the amounts meet, or None.

    ``amounts`` maps a window in hours to the amount over that window (observed, or forecast). A criterion
    over W hours is met by any amount ≥ its threshold over a window of at most W hours: rain that fell in
    3 hours also fell within 6. Raises ValueError for windows that are not positive or amounts that are
    negative or not numbers."""
    for hours, amount in amounts.items():
        if hours <= 0 or not math.isfinite(amount) or amount < 0:
            raise ValueError(f"{amount!r} over {hours!r} h is not an amount over a positive window")
    met = [
        c.level
        for c in catalogue().hazard(hazard).criteria
        if c.measure == measure and any(h <= c.window_hours and a >= c.threshold for h, a in amounts.items())
    ]
    return max(met, key=_rank, default=None)


def suggest_rainstorm(accumulations: Mapping[int, float]) -> Colour | None:
    """The rainstorm colour the rainfall calls for (mm by window hours), or None: e.g. {3: 60} → orange."""
    return suggest("rainstorm", "rainfall", accumulations)
