"""Keyword-only factories for CAP messages, with defaults that make a valid Shanghai rainstorm warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from smartcity.alerts import hazards
from smartcity.alerts.cap import Alert, Area, Info, Resource

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST
SENT = datetime(2025, 7, 1, 14, 0, tzinfo=CST)
HUANGPU = [(31.25, 121.46), (31.25, 121.51), (31.20, 121.51), (31.20, 121.46), (31.25, 121.46)]


def make_area(**overrides: Any) -> Area:
    values: dict[str, Any] = {
        "area_desc": "黄浦区",
        "polygons": [HUANGPU],
        "geocodes": [("GB/T 2260", "310101")],
    }
    return Area(**(values | overrides))


def make_info(*, colour: str = "orange", hazard: str = "rainstorm", **overrides: Any) -> Info:
    conventions = hazards.catalogue().cap
    values: dict[str, Any] = {
        "language": "zh-CN",
        "categories": ["Met"],
        "event": hazards.event_text(hazard, colour),
        "response_types": ["Prepare"],
        "urgency": conventions.by_colour[colour].urgency,
        "severity": hazards.severity_for(colour),
        "certainty": conventions.by_colour[colour].certainty,
        "event_codes": [(conventions.hazard_event_code, hazard)],
        "expires": SENT + timedelta(hours=6),
        "sender_name": "上海中心气象台",
        "headline": "上海中心气象台发布暴雨橙色预警信号",
        "description": "预计未来3小时内本市将出现50毫米以上降水。",
        "parameters": [(conventions.colour_parameter, conventions.by_colour[colour].value)],
        "areas": [make_area()],
    }
    return Info(**(values | overrides))


def make_alert(**overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "identifier": "SH-MET-20250701-0001",
        "sender": "warning@smartcity.example.gov.cn",
        "sent": SENT,
        "status": "Actual",
        "msg_type": "Alert",
        "scope": "Public",
        "infos": [make_info()],
    }
    return Alert(**(values | overrides))


def make_full_alert() -> Alert:
    """Every element CAP 1.2 has, at least once, in two languages."""
    area = make_area(
        polygons=[HUANGPU, HUANGPU[:-1]],
        circles=[((31.23, 121.47), 10), ((31.0, 121.0), 0.5)],
        geocodes=[("GB/T 2260", "310101"), ("GB/T 2260", "310106")],
        altitude=12.5,
        ceiling=1000.5,
    )
    resource = Resource(
        resource_desc="雷达回波图",
        mime_type="image/png",
        size=12,
        uri="radar.png",
        deref_uri="iVBORw0KGgo=",
        digest="0123456789abcdef0123456789abcdef01234567",
    )
    common: dict[str, Any] = {
        "categories": ["Met", "Transport"],
        "response_types": ["Prepare", "Avoid"],
        "audience": "公众",
        "event_codes": [("hazard", "rainstorm"), ("SAME", "FFW")],
        "effective": SENT,
        "onset": SENT + timedelta(minutes=30),
        "expires": datetime(2025, 7, 1, 12, 0, tzinfo=UTC),
        "instruction": "避免前往低洼地带。",
        "web": "https://smartcity.example.gov.cn/alerts/SH-MET-20250701-0001",
        "contact": "12345",
        "parameters": [("alertColor", "橙"), ("layer:source", "radar")],
        "resources": [resource],
        "areas": [area, make_area(area_desc="静安区", polygons=[], circles=[((31.23, 121.45), 3)])],
    }
    return make_alert(
        source="上海中心气象台值班台",
        scope="Restricted",
        restriction="仅限防汛部门",
        addresses=["flood@smartcity.example", "上海 防汛办"],
        codes=["profile:CN-SH:1.0", "exercise-2025"],
        note="演练用",
        references=[("warning@smartcity.example.gov.cn", "SH-MET-20250701-0000", SENT - timedelta(hours=1))],
        incidents=["SH-RAIN-2025-07", "苏州河 汛情"],
        infos=[
            make_info(**common),
            make_info(
                language="en-US", event="Orange rainstorm warning", headline="Orange rainstorm warning", **common
            ),
        ],
    )
