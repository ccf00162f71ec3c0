"""Functions SQLite lacks, registered on every SQLite connection so ``$filter`` means the same on both
engines: spatial predicates and measures (Shapely, on GeoJSON columns and WKT literals), floor and
ceiling, and date-time parts. PostgreSQL uses PostGIS and its own functions instead."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@lru_cache(maxsize=4096)
def _shape(text: str) -> Any:
    import shapely

    text = text.strip()
    if text.startswith("{"):
        import json

        document = json.loads(text)
        if document.get("type") == "Feature":
            document = document.get("geometry") or {}
        return shapely.from_geojson(json.dumps(document))
    return shapely.from_wkt(text)


def _predicate(name: str) -> Any:
    def check(a: str | None, b: str | None) -> int | None:
        if a is None or b is None:
            return None
        try:
            return int(getattr(_shape(a), name)(_shape(b)))
        except Exception:  # an unreadable geometry matches nothing, as a NULL would
            return None

    return check


def _measure(function: Any) -> Any:
    def measure(*texts: str | None) -> float | None:
        if any(t is None for t in texts):
            return None
        try:
            return float(function(*[_shape(t) for t in texts]))  # type: ignore[arg-type]
        except Exception:
            return None

    return measure


def _relate(a: str | None, b: str | None, pattern: str | None) -> int | None:
    if a is None or b is None or pattern is None:
        return None
    try:
        return int(_shape(a).relate_pattern(_shape(b), pattern))
    except Exception:
        return None


def _extract(part: str, value: str | None) -> int | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return getattr(moment, part)


def _floor(x: float | None) -> float | None:
    return None if x is None else float(math.floor(x))


def _ceiling(x: float | None) -> float | None:
    return None if x is None else float(math.ceil(x))


PREDICATES = ("equals", "disjoint", "touches", "within", "overlaps", "crosses", "intersects", "contains")


@event.listens_for(Engine, "connect")
def _register(connection: Any, _record: Any) -> None:
    if not isinstance(connection, sqlite3.Connection):
        return
    for name in PREDICATES:
        connection.create_function(f"sta_{name}", 2, _predicate(name), deterministic=True)
    connection.create_function("sta_distance", 2, _measure(lambda a, b: a.distance(b)), deterministic=True)
    connection.create_function("sta_length", 1, _measure(lambda a: a.length), deterministic=True)
    connection.create_function("sta_relate", 3, _relate, deterministic=True)
    connection.create_function("sta_extract", 2, _extract, deterministic=True)
    connection.create_function("floor", 1, _floor, deterministic=True)
    connection.create_function("ceiling", 1, _ceiling, deterministic=True)
