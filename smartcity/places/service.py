"""Rules of the places module: importing divisions, reading the hierarchy. Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcity.core import audit, events
from smartcity.core.errors import NotFound, Problem
from smartcity.places import codes, geometry
from smartcity.places import index as grid_index
from smartcity.places.models import Division

CRS_CHOICES = ("wgs84", "gcj02")
# A child boundary must lie inside its parent's up to this share of its area: boundaries from different
# surveys rarely nest to the metre, but a street half outside its district is a wrong code.
NESTING_TOLERANCE = 0.05


@dataclass
class ImportReport:
    """What an import did; ``converted`` says whether coordinates were converted from GCJ-02."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    converted: bool = False


@dataclass
class _Candidate:
    index: int
    code: str
    level: str
    name: str
    name_en: str | None
    parent_code: str | None
    geom: BaseGeometry


def import_divisions(
    session: Session, collection: Any, *, crs: str = "wgs84", source: str, synthetic: bool = False
) -> ImportReport:
    """Import a GeoJSON FeatureCollection of divisions; all or nothing.

    Each feature needs ``code`` (or ``adcode``) and ``name``; ``name_en`` and ``level`` are optional (the
    level follows from the code). Raises a 422 Problem listing every bad feature by index and code.
    """
    if crs not in CRS_CHOICES:
        raise Problem(422, f"Unknown CRS {crs!r}; use wgs84 or gcj02.", errors=[{"field": "crs", "message": "unknown"}])
    candidates = _read_features(collection, crs)
    _check_parents(session, candidates)
    report = ImportReport(converted=crs == "gcj02")
    for candidate in candidates:
        _upsert(session, candidate, source, synthetic, report)
    session.flush()
    if report.added or report.updated:
        grid_index.mark_changed(session)  # location answers name divisions
        events.emit(session, "places.divisions_changed", added=report.added, updated=report.updated)
    return report


def _features(collection: Any) -> list[Any]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise Problem(422, "The file must be a GeoJSON FeatureCollection.", code="not-a-feature-collection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise Problem(422, "The FeatureCollection has no features.", code="no-features")
    return features


def _read_features(collection: Any, crs: str) -> list[_Candidate]:
    candidates, errors, seen = [], [], set()
    for index, feature in enumerate(_features(collection)):
        try:
            candidate = _read_feature(index, feature, crs)
        except (codes.CodeError, geometry.GeometryError) as exc:
            code = _code_of(feature)
            errors.append({"field": f"features[{index}]" + (f" ({code})" if code else ""), "message": str(exc)})
            continue
        if candidate.code in seen:
            errors.append({"field": f"features[{index}] ({candidate.code})", "message": "code appears twice"})
        seen.add(candidate.code)
        candidates.append(candidate)
    if errors:
        raise Problem(
            422,
            f"{len(errors)} feature(s) cannot be imported; nothing was imported.",
            code="invalid-features",
            errors=errors,
        )
    return sorted(candidates, key=lambda c: len(c.code))  # parents before children


def _code_of(feature: Any) -> str | None:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict):
        return None
    code = props.get("code", props.get("adcode"))
    return str(code) if code is not None else None


def _read_feature(index: int, feature: Any, crs: str) -> _Candidate:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise codes.CodeError("a feature needs a properties object")
    props = feature["properties"]
    code = _code_of(feature) or ""
    level = codes.level_of(code)
    declared = props.get("level")
    if declared is not None and codes.LEVEL_NAMES.get(str(declared)) not in (level, None):
        raise codes.CodeError(f"level {declared!r} does not match the code, which is a {level}")
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise codes.CodeError("name is missing")
    geom = geometry.read_polygon(feature.get("geometry"))
    if crs == "gcj02":
        geometry.check_in_china(geom)
        geom = geometry.gcj02_to_wgs84(geom)
    geometry.check_valid(geom)
    return _Candidate(index, code, level, name.strip(), props.get("name_en"), codes.parent_of(code), geom)


def _check_parents(session: Session, candidates: list[_Candidate]) -> None:
    in_file = {c.code: c.geom for c in candidates}
    errors = []
    for candidate in candidates:
        if candidate.parent_code is None:
            continue
        parent_geom = in_file.get(candidate.parent_code) or _stored_geometry(session, candidate.parent_code)
        if parent_geom is None:
            errors.append(
                {
                    "field": f"features[{candidate.index}] ({candidate.code})",
                    "message": f"its parent {candidate.parent_code} is neither in the file nor imported",
                }
            )
        elif _share_outside(candidate.geom, parent_geom) > NESTING_TOLERANCE:
            errors.append(
                {
                    "field": f"features[{candidate.index}] ({candidate.code})",
                    "message": f"lies largely outside its parent {candidate.parent_code}",
                }
            )
    if errors:
        raise Problem(
            422,
            f"{len(errors)} feature(s) do not fit the hierarchy; nothing was imported.",
            code="invalid-hierarchy",
            errors=errors,
        )


def _share_outside(child: BaseGeometry, parent: BaseGeometry) -> float:
    child_m, parent_m = geometry.to_metric(child), geometry.to_metric(parent)
    area = shapely.area(child_m)
    return float(shapely.area(shapely.difference(child_m, parent_m)) / area) if area else 1.0


def _stored_geometry(session: Session, code: str) -> BaseGeometry | None:
    data = session.scalar(select(Division.geometry).where(Division.code == code))
    return geometry.from_wkb(data) if data is not None else None


def _upsert(session: Session, c: _Candidate, source: str, synthetic: bool, report: ImportReport) -> None:
    data = geometry.wkb(c.geom)
    values = {
        "level": c.level,
        "name": c.name,
        "name_en": c.name_en,
        "parent_code": c.parent_code,
        "synthetic": synthetic,
        "source": source,
        "geometry": data,
        "area_m2": round(geometry.area_m2(c.geom), 1),
        **geometry.bbox_columns(c.geom),
    }
    existing = session.scalar(select(Division).where(Division.code == c.code))
    if existing is None:
        session.add(Division(code=c.code, **values))
        report.added.append(c.code)
    elif _same(existing, values):
        report.unchanged.append(c.code)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
        report.updated.append(c.code)


def _same(existing: Division, values: dict[str, Any]) -> bool:
    for key, value in values.items():
        current = getattr(existing, key)
        if key == "geometry":
            if not geometry.round_trip_equal(current, value):
                return False
        elif key in ("min_lon", "min_lat", "max_lon", "max_lat", "area_m2"):
            if abs(current - value) > 1e-6 * max(1.0, abs(value)):
                return False
        elif current != value:
            return False
    return True


# ---------------------------------------------------------------- reading


def get_division(session: Session, code: str) -> Division:
    division = session.scalar(select(Division).where(Division.code == code))
    if division is None:
        raise NotFound("division", code)
    return division


def list_divisions(session: Session, *, level: str | None = None, parent_code: str | None = None) -> list[Division]:
    stmt = select(Division).order_by(Division.code)
    if level:
        stmt = stmt.where(Division.level == level)
    if parent_code:
        stmt = stmt.where(Division.parent_code == parent_code)
    return list(session.scalars(stmt))


def record_bulk_change(session: Session, action: str, object_id: str, summary: dict[str, Any]) -> None:
    """One audit record for a bulk operation (grid generation, grid import) instead of one per row."""
    audit.append(session, action, "place_unit_grid", object_id, after=summary)
