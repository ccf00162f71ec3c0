"""The component inventory (部件普查): 16-digit IDs, import from GeoJSON or CSV, search, demo generation.

The ID is district (6, GB/T 2260) + major class (2) + minor class (2) + serial (6); it must agree with the
component's class and with the district its location falls in. Locations are placed on their unit grid
through the places module; a point outside every grid is refused, never snapped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smartcity.cases import catalogue
from smartcity.cases.models import COMPONENT_STATES, DATA_SOURCES, Component
from smartcity.core import audit, events
from smartcity.core.errors import NotFound, Problem
from smartcity.core.tabular import read_csv
from smartcity.places import lookup

CSV_FIELDS = (
    "code",
    "class_code",
    "name",
    "lon",
    "lat",
    "competent_department",
    "owner_department",
    "maintenance_department",
    "state",
    "initial_date",
    "changed_date",
    "data_source",
    "note",
)


@dataclass
class ComponentReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)


def rows_from_geojson(collection: Any) -> list[dict[str, Any]]:
    """Component rows from a FeatureCollection of Points (properties as in CSV_FIELDS, without lon/lat)."""
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list) or not features:
        raise Problem(422, "The file must be a GeoJSON FeatureCollection with features.", code="no-features")
    rows = []
    for feature in features:
        props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coords = geometry.get("coordinates") or [None, None]
            props["lon"], props["lat"] = coords[0], coords[1]
        rows.append(props)
    return rows


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    return read_csv(text, CSV_FIELDS)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _check_row(i: int, row: dict[str, Any], classes: set[str]) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    code, class_code = str(row.get("code", "")), str(row.get("class_code", ""))
    lon, lat = _number(row.get("lon")), _number(row.get("lat"))
    if not (code.isdigit() and len(code) == 16):
        problems.append("code must have 16 digits: district 6 + major 2 + minor 2 + serial 6")
    elif code[6:10] != class_code:
        problems.append(f"code's class digits {code[6:10]} do not match class_code {class_code}")
    if class_code not in classes:
        problems.append(f"class_code {class_code!r} is not a component minor class of the catalogue")
    if not str(row.get("name", "")).strip() or len(str(row.get("name"))) > 60:
        problems.append("name is missing or longer than 60 characters")
    if lon is None or lat is None:
        problems.append("needs a point location (lon, lat)")
    state, source = row.get("state", "intact"), row.get("data_source", "other")
    if state not in COMPONENT_STATES:
        problems.append(f"state must be one of {', '.join(COMPONENT_STATES)}")
    if source not in DATA_SOURCES:
        problems.append(f"data_source must be one of {', '.join(DATA_SOURCES)}")
    initial = _date(row.get("initial_date", date.today().isoformat()))
    changed = _date(row["changed_date"]) if row.get("changed_date") else None
    if initial is None or (row.get("changed_date") and changed is None):
        problems.append("dates must be YYYY-MM-DD")
    values = {
        "code": code,
        "class_code": class_code,
        "name": str(row.get("name", "")).strip(),
        "lon": lon,
        "lat": lat,
        "state": state,
        "data_source": source,
        "initial_date": initial,
        "changed_date": changed,
        **{k: row.get(k) for k in ("competent_department", "owner_department", "maintenance_department", "note")},
    }
    return [f"rows[{i}] ({code or '?'}): {p}" for p in problems], values


def import_components(session: Session, rows: list[dict[str, Any]], *, source: str) -> ComponentReport:
    """Add or update components by code; all or nothing, with every bad row named."""
    if not rows:
        raise Problem(422, "No components in the file.", code="no-features")
    classes = {c.code for c in catalogue.list_classes(session, kind="component") if len(c.code) == 4}
    errors, checked = [], []
    for i, row in enumerate(rows):
        problems, values = _check_row(i, row, classes)
        errors += problems
        checked.append(values)
    codes = [v["code"] for v in checked]
    errors += [f"code {c} appears twice" for c in sorted({c for c in codes if codes.count(c) > 1})]
    if not errors:
        errors += _place(session, checked)
    if errors:
        raise Problem(
            422,
            f"{len(errors)} problem(s) in the components; nothing was imported.",
            code="invalid-components",
            errors=[{"field": e.split(":")[0], "message": e} for e in errors],
        )
    report = _write(session, checked)
    audit.append(
        session,
        "cases.components_imported",
        "case_component",
        source,
        after={"added": report.added, "updated": report.updated},
    )
    events.emit(session, "cases.components_changed", added=report.added, updated=report.updated)
    return report


def _place(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Put each row on its unit grid; a point outside the city, or in another district than its ID says, is an error."""
    found = lookup.locate_many(session, [r["lon"] for r in rows], [r["lat"] for r in rows])
    errors = []
    for row, location in zip(rows, found, strict=True):
        if location.grid is None:
            errors.append(
                f"rows ({row['code']}): its location ({row['lon']}, {row['lat']}) lies outside every unit grid"
            )
        elif location.grid.code[:6] != row["code"][:6]:
            errors.append(
                f"rows ({row['code']}): its location is in district {location.grid.code[:6]}, "
                f"its ID says {row['code'][:6]}"
            )
        else:
            row["grid_code"] = location.grid.code
    return errors


def _write(session: Session, rows: list[dict[str, Any]]) -> ComponentReport:
    report = ComponentReport()
    existing = {}
    codes = [r["code"] for r in rows]
    for start in range(0, len(codes), 500):
        existing.update(
            {
                c.code: c
                for c in session.scalars(select(Component).where(Component.code.in_(codes[start : start + 500])))
            }
        )
    new_rows = []
    for row in rows:
        values = _columns(row)
        current = existing.get(row["code"])
        if current is None:
            new_rows.append(values)
        elif all(getattr(current, k) == v for k, v in values.items()):
            report.unchanged += 1
        else:
            for key, value in values.items():
                setattr(current, key, value)
            report.updated += 1
    if new_rows:  # bulk: tens of thousands at a time; the import is one audit record
        session.execute(Component.__table__.insert(), new_rows)
    report.added = len(new_rows)
    session.flush()
    return report


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    point = shapely.Point(row["lon"], row["lat"])
    values = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    return {
        **values,
        "geometry": shapely.to_wkb(point),
        "min_lon": row["lon"],
        "max_lon": row["lon"],
        "min_lat": row["lat"],
        "max_lat": row["lat"],
    }


def search(
    session: Session,
    *,
    class_code: str | None = None,
    grid: str | None = None,
    state: str | None = None,
    text: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Component], int]:
    """Components by class, grid (or any division code prefix), state and name; newest codes last."""
    stmt = select(Component)
    if class_code:
        stmt = stmt.where(Component.class_code.startswith(class_code))
    if grid:
        stmt = stmt.where(Component.grid_code.startswith(grid))
    if state:
        stmt = stmt.where(Component.state == state)
    if text:
        stmt = stmt.where(Component.name.contains(text))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Component.code).limit(limit).offset(offset))), total


def get_component(session: Session, code: str) -> Component:
    component = session.scalar(select(Component).where(Component.code == code))
    if component is None:
        raise NotFound("component", code)
    return component


def as_geojson_point(component: Component) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(shapely.from_wkb(component.geometry)))


def generate_demo(session: Session, count: int, *, seed: int = 7) -> int:
    """Scatter ``count`` components of the catalogue's classes over the city's grids (demo data).

    Idempotent: does nothing when components exist already. Returns how many were added."""
    from smartcity.places import index

    if session.scalar(select(Component.id).limit(1)) is not None:
        return 0
    grid_index = index.CACHE.get(session)
    classes = [c for c in catalogue.list_classes(session, kind="component") if len(c.code) == 4]
    if not len(grid_index.codes) or not classes:
        return 0
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(grid_index.codes), count)
    kinds = rng.integers(0, len(classes), count)
    jitter = rng.uniform(-0.0002, 0.0002, (count, 2))  # ≈ ±20 m around the grid's centre
    rows, serials = [], {}
    for pick, kind, (dx, dy) in zip(picks, kinds, jitter, strict=True):
        grid_code = str(grid_index.codes[pick])
        lon, lat = grid_index.centroids[pick] + (dx, dy)
        cls = classes[kind]
        key = (grid_code[:6], cls.code)
        serials[key] = serials.get(key, 0) + 1
        rows.append(
            {
                "code": f"{grid_code[:6]}{cls.code}{serials[key]:06d}",
                "class_code": cls.code,
                "name": cls.name,
                "lon": float(lon),
                "lat": float(lat),
                "state": "intact",
                "data_source": "other",
                "initial_date": "2026-01-01",
                "note": "demo data",
            }
        )
    found = lookup.locate_many(session, [r["lon"] for r in rows], [r["lat"] for r in rows])
    kept = [r for r, loc in zip(rows, found, strict=True) if loc.grid and loc.grid.code[:6] == r["code"][:6]]
    return import_components(session, kept, source="demo").added if kept else 0
