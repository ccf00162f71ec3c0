"""The demo city's alarm rules, on the demo stations' datastreams: river levels over their warning level,
rainfall accumulations by the rainstorm criteria, hydrant pressure below its minimum (opening a grid case
for the water department), stations gone quiet, and the stuck turbidity sensor the simulator carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.alerts import service
from smartcity.alerts.alarms import system_principal
from smartcity.alerts.models import Rule


def _specs(feeds: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    by = lambda kind, quantity: [f for f in feeds if f.station.kind == kind and f.quantity == quantity]  # noqa: E731
    specs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for f in by("river-station", "water_level"):
        level = f.station.properties.get("warning_level_m", 4.0)
        specs.append(({"kind": "threshold", "name": f"{f.station.name} 水位超警戒", "severity": "high",
                       "datastream": f.datastream_id, "op": "ge", "value": level,
                       "clear": {"value": round(level - 0.1, 2)}, "for_seconds": 600}, None))  # fmt: skip
    gauges = [f.datastream_id for f in by("rain-gauge", "rainfall")]
    if gauges:
        specs.append(({"kind": "accumulation", "name": "3 小时雨量 ≥ 50 mm", "severity": "high",
                       "datastreams": gauges, "window_minutes": 180, "value": 50}, None))  # fmt: skip
        specs.append(({"kind": "accumulation", "name": "1 小时雨量 ≥ 30 mm", "severity": "medium",
                       "datastreams": gauges, "window_minutes": 60, "value": 30}, None))  # fmt: skip
    hydrants = by("hydrant", "pressure")
    if hydrants:
        specs.append(({"kind": "threshold", "name": "消火栓压力过低", "severity": "high",
                       "datastreams": [f.datastream_id for f in hydrants], "op": "lt", "value": 0.14,
                       "clear": {"value": 0.16}, "for_seconds": 300}, {"class_code": "0402"}))  # fmt: skip
    turbidity = by("river-station", "turbidity")
    if turbidity:
        specs.append(({"kind": "stuck", "name": "浊度传感器卡滞", "severity": "low",
                       "datastreams": [f.datastream_id for f in turbidity], "minutes": 60}, None))  # fmt: skip
    levels = [f.datastream_id for f in by("river-station", "water_level")]
    if levels:
        specs.append(({"kind": "no_data", "name": "水位站无数据", "severity": "medium",
                       "datastreams": levels, "minutes": 30}, None))  # fmt: skip
    return specs


def ensure_demo_rules(session: Session) -> int:
    """Create the demo rules that are missing (matched by name). Returns how many were created."""
    from smartcity.sensing import simulate

    existing = set(session.scalars(select(Rule.name)))
    created = 0
    for spec, open_case in _specs(simulate.demo_feeds(session)):
        if spec["name"] not in existing:
            service.create(session, system_principal(), spec, open_case, note="demo")
            created += 1
    return created
