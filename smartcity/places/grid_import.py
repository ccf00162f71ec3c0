"""Importing real unit grids from GeoJSON: each feature a grid with its 15-digit code; all or nothing.

The communities named by the file's codes get exactly the file's grids (their generated grids are
replaced); a community whose grids already equal the file's is left alone, so re-importing changes
nothing. Checks: code format, known community, valid polygon, inside its community (≤ 1 % of its area
outside, for survey tolerance), no duplicate codes, no two grids overlapping by more than 1 m².
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smartcity.core.errors import Problem
from smartcity.places import codes, geometry, index
from smartcity.places.models import Division, UnitGrid
from smartcity.places.service import CRS_CHOICES, record_bulk_change

OUTSIDE_TOLERANCE = 0.01
OVERLAP_TOLERANCE_M2 = 1.0


@dataclass
class GridImportReport:
    communities_replaced: list[str] = field(default_factory=list)
    communities_unchanged: list[str] = field(default_factory=list)
    grids_written: int = 0
    converted: bool = False


def _read(collection: Any, crs: str) -> tuple[dict[str, BaseGeometry], list[dict[str, str]]]:
    if (
        not isinstance(collection, dict)
        or collection.get("type") != "FeatureCollection"
        or not isinstance(collection.get("features"), list)
        or not collection["features"]
    ):
        raise Problem(
            422, "The file must be a GeoJSON FeatureCollection with features.", code="not-a-feature-collection"
        )
    grids: dict[str, BaseGeometry] = {}
    errors = []
    for i, feature in enumerate(collection["features"]):
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = str(props.get("code", "")) if isinstance(props, dict) else ""
        where = f"features[{i}]" + (f" ({code})" if code else "")
        try:
            codes.split_grid_code(code)
            geom = geometry.read_polygon(feature.get("geometry"))
            if crs == "gcj02":
                geometry.check_in_china(geom)
                geom = geometry.gcj02_to_wgs84(geom)
            geometry.check_valid(geom)
        except (codes.CodeError, geometry.GeometryError) as exc:
            errors.append({"field": where, "message": str(exc)})
            continue
        if code in grids:
            errors.append({"field": where, "message": "code appears twice"})
        grids[code] = geom
    return grids, errors


def _check_against_communities(session: Session, grids: dict[str, BaseGeometry]) -> list[dict[str, str]]:
    errors = []
    by_community: dict[str, list[str]] = defaultdict(list)
    for code in grids:
        by_community[code[:12]].append(code)
    for community_code, members in sorted(by_community.items()):
        blob = session.scalar(select(Division.geometry).where(Division.code == community_code))
        if blob is None:
            errors += [{"field": code, "message": f"community {community_code} is not imported"} for code in members]
            continue
        boundary = geometry.to_metric(geometry.from_wkb(blob))
        shapes = geometry.to_metric(np.array([grids[c] for c in members], dtype=object))
        outside = shapely.area(shapely.difference(shapes, boundary)) / shapely.area(shapes)
        errors += [
            {"field": c, "message": f"lies {share:.0%} outside its community {community_code}"}
            for c, share in zip(members, outside, strict=True)
            if share > OUTSIDE_TOLERANCE
        ]
        errors += _overlaps(members, shapes)
    return errors


def _overlaps(members: list[str], shapes: np.ndarray) -> list[dict[str, str]]:
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    pairs = [(a, b) for a, b in zip(left, right, strict=True) if a < b]
    errors = []
    for a, b in pairs:
        area = shapely.area(shapely.intersection(shapes[a], shapes[b]))
        if area > OVERLAP_TOLERANCE_M2:
            errors.append({"field": members[a], "message": f"overlaps {members[b]} by {area:.0f} m²"})
    return errors


def import_grids(session: Session, collection: Any, *, crs: str = "wgs84") -> GridImportReport:
    """Import unit grids; raises a 422 Problem listing every bad feature, writing nothing."""
    if crs not in CRS_CHOICES:
        raise Problem(422, f"Unknown CRS {crs!r}; use wgs84 or gcj02.", errors=[{"field": "crs", "message": "unknown"}])
    grids, errors = _read(collection, crs)
    errors += _check_against_communities(session, grids) if not errors else []
    if errors:
        raise Problem(
            422,
            f"{len(errors)} problem(s) in the grid file; nothing was imported.",
            code="invalid-grids",
            errors=errors,
        )
    report = GridImportReport(converted=crs == "gcj02")
    by_community: dict[str, dict[str, BaseGeometry]] = defaultdict(dict)
    for code, geom in grids.items():
        by_community[code[:12]][code] = geom
    for community_code, members in sorted(by_community.items()):
        if _unchanged(session, community_code, members):
            report.communities_unchanged.append(community_code)
            continue
        session.execute(delete(UnitGrid).where(UnitGrid.community_code == community_code))
        session.execute(UnitGrid.__table__.insert(), [_row(code, geom) for code, geom in sorted(members.items())])
        record_bulk_change(session, "places.grids_imported", community_code, {"grids": len(members)})
        report.communities_replaced.append(community_code)
        report.grids_written += len(members)
    if report.grids_written:
        index.mark_changed(session)
    return report


def _unchanged(session: Session, community_code: str, members: dict[str, BaseGeometry]) -> bool:
    rows = session.execute(select(UnitGrid.code, UnitGrid.geometry).where(UnitGrid.community_code == community_code))
    stored = {code: blob for code, blob in rows}
    return stored.keys() == members.keys() and all(
        geometry.round_trip_equal(stored[code], geometry.wkb(geom)) for code, geom in members.items()
    )


def _row(code: str, geom: BaseGeometry) -> dict[str, object]:
    centroid = geom.centroid
    return {
        "code": code,
        "community_code": code[:12],
        "geometry": geometry.wkb(geom),
        "centroid_lon": centroid.x,
        "centroid_lat": centroid.y,
        "area_m2": round(geometry.area_m2(geom), 1),
        "source": "imported",
        **geometry.bbox_columns(geom),
    }
