"""China's warning hazards as data: the shipped file loads and holds together; suggestions at the boundaries."""

from __future__ import annotations

import json

import pytest

from smartcity.alerts import hazards
from smartcity.alerts.cap import Severity
from smartcity.alerts.hazards import HAZARDS_FILE, Colour, colours_for, load_hazards, severity_for, suggest_rainstorm

CMA_SIGNALS = {
    "typhoon", "rainstorm", "heat", "cold_wave", "gale", "fog", "haze", "thunder", "hail", "road_icing",
    "blizzard", "sandstorm", "drought", "frost",
}  # fmt: skip


def test_the_shipped_file_loads() -> None:
    catalogue = load_hazards()
    codes = {h.code for h in catalogue.hazards}
    assert codes == CMA_SIGNALS | {"river_level", "waterlogging"}
    assert {h.code for h in catalogue.hazards if h.local} == {"river_level", "waterlogging"}


@pytest.mark.parametrize("hazard", [h.code for h in load_hazards().hazards])
def test_each_hazard_uses_only_the_four_colours_and_names_its_confidence(hazard: str) -> None:
    known = hazards.catalogue().hazard(hazard)
    assert set(colours_for(hazard)) <= {"red", "orange", "yellow", "blue"}
    assert known.confidence in {"V", "P", "M"} and known.source
    assert known.name.zh and known.name.en and known.cap_categories


def test_colours_per_hazard_follow_the_standards_file() -> None:
    assert colours_for("rainstorm") == (Colour.BLUE, Colour.YELLOW, Colour.ORANGE, Colour.RED)
    assert colours_for("heat") == ("yellow", "orange", "red")
    assert colours_for("drought") == ("orange", "red")
    assert colours_for("hail") == ("orange", "red")
    assert colours_for("frost") == ("blue", "yellow", "orange")
    assert hazards.catalogue().hazard("road_icing").cap_categories == ("Met", "Transport")
    assert [h.confidence for h in load_hazards().hazards if h.code in ("typhoon", "rainstorm", "heat")] == ["P"] * 3


def test_severity_by_colour_is_marked_as_our_design() -> None:
    assert [severity_for(c) for c in ("red", "orange", "yellow", "blue")] == [
        Severity.EXTREME, Severity.SEVERE, Severity.MODERATE, Severity.MINOR,
    ]  # fmt: skip
    assert hazards.catalogue().cap.confidence == "M" and "design" in hazards.catalogue().cap.source


def test_rainstorm_criteria_are_data() -> None:
    criteria = [
        (c.level, c.window_hours, c.threshold, c.unit) for c in hazards.catalogue().hazard("rainstorm").criteria
    ]
    assert criteria == [("blue", 12, 50, "mm"), ("yellow", 6, 50, "mm"), ("orange", 3, 50, "mm"), ("red", 3, 100, "mm")]


@pytest.mark.parametrize(
    ("accumulations", "colour"),
    [
        ({}, None),
        ({12: 49.9}, None),
        ({12: 50}, "blue"),
        ({6: 49.9, 12: 50}, "blue"),
        ({6: 50}, "yellow"),
        ({3: 49.9, 6: 50}, "yellow"),
        ({3: 50}, "orange"),
        ({3: 99.9}, "orange"),
        ({3: 100}, "red"),
        ({1: 100}, "red"),  # a heavier shower in less time still counts
        ({24: 300}, None),  # a longer window says nothing about the 12 h figure
        ({1: 0, 3: 0, 6: 0, 12: 0}, None),
    ],
)
def test_rainstorm_suggestion_at_the_boundaries(accumulations: dict[int, float], colour: str | None) -> None:
    assert suggest_rainstorm(accumulations) == colour


@pytest.mark.parametrize("accumulations", [{3: -1}, {0: 10}, {3: float("nan")}])
def test_rainstorm_suggestion_refuses_nonsense(accumulations: dict[int, float]) -> None:
    with pytest.raises(ValueError):
        suggest_rainstorm(accumulations)


def test_heat_criteria_suggest_orange_and_red() -> None:
    assert hazards.suggest("heat", "max_temperature", {24: 36.9}) is None
    assert hazards.suggest("heat", "max_temperature", {24: 37}) == "orange"
    assert hazards.suggest("heat", "max_temperature", {24: 40}) == "red"
    assert hazards.suggest("heat", "lowest_daily_max_temperature", {72: 35}) == "yellow"


def test_event_text_in_both_languages() -> None:
    assert hazards.event_text("rainstorm", "orange") == "暴雨橙色预警"
    assert hazards.event_text("typhoon", "blue", "en-US") == "Blue typhoon warning"
    with pytest.raises(ValueError, match="no blue"):
        hazards.event_text("heat", "blue")
    with pytest.raises(ValueError, match="unknown hazard"):
        colours_for("tsunami")


def _broken(tmp_path, change) -> str:
    data = json.loads(HAZARDS_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "hazards.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        load_hazards(path)
    return str(refused.value)


def test_a_broken_file_is_refused_with_its_name(tmp_path) -> None:
    def purple(data: dict) -> None:
        data["hazards"][0]["colours"].append("purple")

    def criterion_for_missing_colour(data: dict) -> None:
        heat = next(h for h in data["hazards"] if h["code"] == "heat")
        heat["criteria"].append({"level": "blue", "measure": "x", "window_hours": 1, "threshold": 1, "unit": "°C"})

    def twice(data: dict) -> None:
        data["hazards"].append(data["hazards"][0])

    def bad_category(data: dict) -> None:
        data["hazards"][0]["cap_categories"] = ["Weather"]

    assert "hazards.json" in _broken(tmp_path, purple)
    assert "criteria for colours it may not use: blue" in _broken(tmp_path, criterion_for_missing_colour)
    assert "more than once: typhoon" in _broken(tmp_path, twice)
    assert "cap_categories" in _broken(tmp_path, bad_category)
