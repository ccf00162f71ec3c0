"""Alert rule specifications: the JSON document stored per rule version, as Pydantic models, and its validation."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from smartcity.core.errors import Problem

MAX_WINDOW_MINUTES = 7 * 24 * 60  # a window keeps its readings in memory; a week bounds it
KINDS = ("threshold", "band", "rate_of_change", "accumulation", "no_data", "stuck", "all_of", "any_of")
COMBINATIONS = ("all_of", "any_of")

DatastreamId = Annotated[int, Field(strict=True, gt=0)]
Minutes = Annotated[float, Field(gt=0, le=MAX_WINDOW_MINUTES)]
Seconds = Annotated[float, Field(ge=0, le=MAX_WINDOW_MINUTES * 60)]


class Severity(StrEnum):
    """How urgent an alarm of the rule is; ``rank`` orders them (1 is the most urgent)."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"

    @property
    def rank(self) -> int:
        return list(Severity).index(self) + 1


class InvalidRule(Problem):
    """A rule document that cannot be evaluated; ``errors`` names each field and the reason."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            422, f"The rule is invalid: {first['field']}: {first['message']}{more}.", code="invalid-rule", errors=errors
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _known(datastream: int, info: ValidationInfo) -> int:
    known = (info.context or {}).get("known_datastreams")
    if known is not None and datastream not in known:
        raise ValueError(f"datastream {datastream} does not exist or has no numeric results")
    return datastream


class Clear(_Model):
    """Hysteresis: where an active condition clears — at a level of its own, or a deadband back from the limit."""

    value: float | None = None
    deadband: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> Clear:
        if (self.value is None) == (self.deadband is None):
            raise ValueError("give either clear.value or clear.deadband")
        return self


# ---------------------------------------------------------------- what each kind of condition looks at


class _Described(_Model):
    label: str | None = Field(default=None, max_length=80)  # "rainfall": names the quantity in alarm details
    unit: str = Field(default="", max_length=20)  # "mm"


class ThresholdParams(_Described):
    kind: Literal["threshold"] = "threshold"
    op: Literal["gt", "ge", "lt", "le"]
    value: float
    clear: Clear | None = None

    @field_validator("clear")
    @classmethod
    def _clear_on_safe_side(cls, clear: Clear | None, info: ValidationInfo) -> Clear | None:
        if clear is None or clear.value is None or "op" not in info.data or "value" not in info.data:
            return clear
        rising = info.data["op"] in ("gt", "ge")
        if rising and clear.value > info.data["value"]:
            raise ValueError(f"clear.value must be at or below value ({info.data['value']:g}) for op {info.data['op']}")
        if not rising and clear.value < info.data["value"]:
            raise ValueError(f"clear.value must be at or above value ({info.data['value']:g}) for op {info.data['op']}")
        return clear

    def clear_level(self) -> float:
        """The level at which an active condition clears (``value`` itself without hysteresis)."""
        if self.clear is None:
            return self.value
        if self.clear.value is not None:
            return self.clear.value
        deadband = self.clear.deadband or 0.0
        return self.value - deadband if self.op in ("gt", "ge") else self.value + deadband


class BandParams(_Described):
    kind: Literal["band"] = "band"
    low: float
    high: float
    alarm: Literal["outside", "inside"] = "outside"
    clear: Clear | None = None

    @field_validator("high")
    @classmethod
    def _above_low(cls, high: float, info: ValidationInfo) -> float:
        if "low" in info.data and high <= info.data["low"]:
            raise ValueError(f"high must be above low ({info.data['low']:g})")
        return high

    @field_validator("clear")
    @classmethod
    def _deadband_fits(cls, clear: Clear | None, info: ValidationInfo) -> Clear | None:
        if clear is None:
            return clear
        if clear.value is not None:
            raise ValueError("a band clears by a deadband on both edges: use clear.deadband, not clear.value")
        width = info.data.get("high", 0.0) - info.data.get("low", 0.0)
        if info.data.get("alarm") == "outside" and width > 0 and 2 * (clear.deadband or 0.0) >= width:
            raise ValueError(f"clear.deadband must be less than half the band's width ({width:g})")
        return clear


class RateParams(_Described):
    kind: Literal["rate_of_change"] = "rate_of_change"
    delta: float = Field(gt=0)  # the change (always positive) over the window that raises
    window_minutes: Minutes
    direction: Literal["rising", "falling", "either"] = "either"
    clear: Clear | None = None

    @field_validator("clear")
    @classmethod
    def _smaller_change(cls, clear: Clear | None, info: ValidationInfo) -> Clear | None:
        delta = info.data.get("delta")
        if clear is None or delta is None:
            return clear
        level = clear.value if clear.value is not None else delta - (clear.deadband or 0.0)
        if not 0 <= level <= delta:
            raise ValueError(f"the clear change must be between 0 and delta ({delta:g})")
        return clear

    def clear_level(self) -> float:
        if self.clear is None:
            return self.delta
        return self.clear.value if self.clear.value is not None else self.delta - (self.clear.deadband or 0.0)


class AccumulationParams(_Described):
    kind: Literal["accumulation"] = "accumulation"
    window_minutes: Minutes
    value: float  # raises when the sum of the readings in the window is at least this
    clear: Clear | None = None

    @field_validator("clear")
    @classmethod
    def _lower_sum(cls, clear: Clear | None, info: ValidationInfo) -> Clear | None:
        value = info.data.get("value")
        if clear is not None and clear.value is not None and value is not None and clear.value > value:
            raise ValueError(f"clear.value must be at or below value ({value:g})")
        return clear

    def clear_level(self) -> float:
        if self.clear is None:
            return self.value
        return self.clear.value if self.clear.value is not None else self.value - (self.clear.deadband or 0.0)


class NoDataParams(_Described):
    kind: Literal["no_data"] = "no_data"
    minutes: Minutes


class StuckParams(_Described):
    kind: Literal["stuck"] = "stuck"
    tolerance: float = Field(default=0.0, ge=0)  # readings within this of the run's first one count as the same
    minutes: Minutes | None = None
    readings: int | None = Field(default=None, ge=2, le=100_000, validate_default=True)

    @field_validator("readings")
    @classmethod
    def _one_length(cls, readings: int | None, info: ValidationInfo) -> int | None:
        if "minutes" in info.data and (info.data["minutes"] is None) == (readings is None):
            raise ValueError("give either minutes or readings (how long the value must stay the same), not both")
        return readings


# ---------------------------------------------------------------- conditions (inside a combination)


class _OneDatastream(_Model):
    datastream: DatastreamId

    @field_validator("datastream")
    @classmethod
    def _exists(cls, datastream: int, info: ValidationInfo) -> int:
        return _known(datastream, info)


class Threshold(ThresholdParams, _OneDatastream):
    pass


class Band(BandParams, _OneDatastream):
    pass


class RateOfChange(RateParams, _OneDatastream):
    pass


class Accumulation(AccumulationParams, _OneDatastream):
    pass


class Stuck(StuckParams, _OneDatastream):
    pass


Condition = Annotated[Threshold | Band | RateOfChange | Accumulation | Stuck, Field(discriminator="kind")]


# ---------------------------------------------------------------- rules


class _Common(_Model):
    name: str = Field(min_length=1, max_length=200)
    severity: Severity = Severity.medium
    for_seconds: Seconds = 0.0  # on-delay: the condition must hold this long before the alarm is raised
    clear_for_seconds: Seconds = 0.0  # off-delay: the clear condition must hold this long before it clears

    @field_validator("name")
    @classmethod
    def _not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("the name must not be blank")
        return name.strip()


class _Datastreams(_Model):
    """The rule applies to each datastream separately: one condition, and one alarm, per datastream."""

    datastreams: list[DatastreamId] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "datastream" in data:
            if "datastreams" in data:
                raise ValueError("give datastream or datastreams, not both")
            data = {k: v for k, v in data.items() if k != "datastream"} | {"datastreams": [data["datastream"]]}
        return data

    @field_validator("datastreams")
    @classmethod
    def _distinct_and_known(cls, datastreams: list[int], info: ValidationInfo) -> list[int]:
        if len(set(datastreams)) != len(datastreams):
            raise ValueError("a datastream is listed twice")
        known = (info.context or {}).get("known_datastreams")
        missing = [str(d) for d in datastreams if known is not None and d not in known]
        if missing:
            raise ValueError(f"datastream {', '.join(missing)} does not exist or has no numeric results")
        return datastreams


class ThresholdRule(ThresholdParams, _Datastreams, _Common):
    pass


class BandRule(BandParams, _Datastreams, _Common):
    pass


class RateOfChangeRule(RateParams, _Datastreams, _Common):
    pass


class AccumulationRule(AccumulationParams, _Datastreams, _Common):
    pass


class NoDataRule(NoDataParams, _Datastreams, _Common):
    @field_validator("for_seconds", "clear_for_seconds")
    @classmethod
    def _no_delays(cls, seconds: float) -> float:
        if seconds:
            raise ValueError("a no_data rule takes its delay from minutes; leave this 0")
        return seconds


class StuckRule(StuckParams, _Datastreams, _Common):
    pass


class _Combination(_Common):
    conditions: list[Condition] = Field(min_length=1, max_length=20)

    @field_validator("conditions", mode="before")
    @classmethod
    def _combinable(cls, conditions: Any) -> Any:
        if isinstance(conditions, list) and not conditions:
            raise ValueError("a combination needs at least one condition")
        for i, condition in enumerate(conditions if isinstance(conditions, list) else []):
            kind = condition.get("kind") if isinstance(condition, dict) else None
            if kind == "no_data":
                raise ValueError(f"condition {i}: no_data cannot be combined; make it a rule of its own")
            if kind in COMBINATIONS:
                raise ValueError(f"condition {i}: combinations do not nest; list the conditions in one {kind}")
        return conditions

    @property
    def datastreams(self) -> list[int]:
        return list(dict.fromkeys(c.datastream for c in self.conditions))

    @property
    def source(self) -> str:
        """The key of the combination's one alarm: ``all_of:12+34``."""
        return f"{self.kind}:{'+'.join(map(str, self.datastreams))}"  # type: ignore[attr-defined]


class AllOfRule(_Combination):
    kind: Literal["all_of"] = "all_of"


class AnyOfRule(_Combination):
    kind: Literal["any_of"] = "any_of"


Spec = Annotated[
    ThresholdRule | BandRule | RateOfChangeRule | AccumulationRule | NoDataRule | StuckRule | AllOfRule | AnyOfRule,
    Field(discriminator="kind"),
]
SPEC = TypeAdapter(Spec)


# ---------------------------------------------------------------- validation and storage


def validate_spec(data: Any, known_datastreams: set[int] | None = None) -> Spec:
    """Check a rule document and return it as a model; ``known_datastreams`` are the numeric ones that exist.

    Raises ``InvalidRule`` (problem+json 422) listing every problem as ``{"field": ..., "message": ...}``:
    an unknown kind or field, a datastream that does not exist, low ≥ high, a negative window, an empty
    combination, hysteresis on the wrong side of the limit… ``None`` skips the datastream check.
    """
    context = {"known_datastreams": known_datastreams}
    try:
        return SPEC.validate_python(data, context=context)
    except ValidationError as exc:
        raise InvalidRule([_problem(error) for error in exc.errors()]) from None


def spec_json(spec: Spec) -> dict[str, Any]:
    """The canonical JSON document of a rule version (what is stored)."""
    return spec.model_dump(mode="json", exclude_none=True)


def fingerprint(spec: Spec) -> str:
    """A short digest of the canonical document: equal for equal rules, whatever order the keys came in."""
    text = json.dumps(spec_json(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _problem(error: Any) -> dict[str, str]:
    # A discriminated union puts the tag in the location ("band", "low"): drop it, keep the field path.
    loc = [str(part) for part in error.get("loc", ()) if part not in KINDS]
    return {"field": ".".join(loc) or "body", "message": _message(error)}


def _message(error: Any) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r}; expected one of {', '.join(KINDS)}"
    if kind == "union_tag_not_found":
        return f"the rule needs a kind: one of {', '.join(KINDS)}"
    if kind == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    if kind == "missing":
        return "this field is required"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "invalid value")))
    return str(error.get("msg", "invalid value"))
