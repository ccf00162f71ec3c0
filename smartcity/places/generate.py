"""Generated geography: the demo's synthetic streets and communities, and unit grids for any community.

Synthetic subdivision (documented in docs/places.md): each district is cut by a 10 km lattice into
streets, each street by a 2 km lattice into communities; fragments under a quarter of a cell join a
neighbour. Streets are numbered 901… within their district (real street codes, GB/T 10114, start at
001, so a later import of real streets cannot collide) and communities 001… within their street, both
west→east, north→south. Everything generated this way is flagged ``synthetic``.

Unit grids: ≈100 m × 100 m cells of the global lattice in EPSG:32651, clipped to the community, numbered
001–999 west→east, north→south (15-digit code, see codes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.errors import Problem
from smartcity.places import codes, geometry, index, lattice
from smartcity.places.models import Division, UnitGrid
from smartcity.places.service import record_bulk_change

STREET_CELL_M = 10_000.0
COMMUNITY_CELL_M = 2_000.0
GRID_CELL_M = 100.0
FIRST_SYNTHETIC_STREET = 901
SYNTHETIC_SOURCE = "synthetic: 10 km streets, 2 km communities (see docs/places.md)"


@dataclass
class Subdivision:
    streets: int
    communities: int


def subdivide_synthetic(session: Session, district_code: str) -> Subdivision:
    """Create the synthetic streets and communities of a district, unless it already has streets."""
    district = _division(session, district_code, "district")
    if session.scalar(select(func.count()).select_from(Division).where(Division.parent_code == district_code)):
        return Subdivision(0, 0)
    streets = lattice.cut(geometry.to_metric(geometry.from_wkb(district.geometry)), STREET_CELL_M)
    if len(streets) > 999 - FIRST_SYNTHETIC_STREET + 1:
        raise Problem(422, f"District {district_code} is too large for synthetic street codes 901–999.")
    communities = 0
    for number, street in enumerate(streets, start=FIRST_SYNTHETIC_STREET):
        street_code = f"{district_code}{number:03d}"
        _add_synthetic(session, street_code, f"合成街道 {number}", f"Synthetic street {number}", street.geom)
        for seq, community in enumerate(lattice.cut(street.geom, COMMUNITY_CELL_M), start=1):
            _add_synthetic(
                session,
                f"{street_code}{seq:03d}",
                f"合成社区 {number}-{seq}",
                f"Synthetic community {number}-{seq}",
                community.geom,
            )
            communities += 1
    session.flush()
    index.mark_changed(session)
    events.emit(session, "places.divisions_changed", district=district_code)
    return Subdivision(len(streets), communities)


def _add_synthetic(session: Session, code: str, name: str, name_en: str, metric_geom: shapely.Geometry) -> None:
    geom = geometry.from_metric(metric_geom)
    session.add(
        Division(
            code=code,
            level=codes.level_of(code),
            name=name,
            name_en=name_en,
            parent_code=codes.parent_of(code),
            synthetic=True,
            source=SYNTHETIC_SOURCE,
            geometry=geometry.wkb(geom),
            area_m2=round(float(shapely.area(metric_geom)), 1),
            **geometry.bbox_columns(geom),
        )
    )


def _division(session: Session, code: str, level: str) -> Division:
    division = session.scalar(select(Division).where(Division.code == code))
    if division is None or division.level != level:
        raise Problem(404, f"No {level} with code {code} has been imported.", code="not-found")
    return division


def communities_of(session: Session, district_code: str | None = None) -> list[str]:
    stmt = select(Division.code).where(Division.level == "community").order_by(Division.code)
    if district_code:
        stmt = stmt.where(Division.code.startswith(district_code))
    return list(session.scalars(stmt))


def generate_grids(session: Session, community_code: str, *, replace: bool = False) -> int:
    """Cut a community into unit grids. Returns how many were written; 0 when it has grids already
    (so an interrupted run can simply be started again) unless ``replace``."""
    community = _division(session, community_code, "community")
    existing = session.scalar(
        select(func.count()).select_from(UnitGrid).where(UnitGrid.community_code == community_code)
    )
    if existing and not replace:
        return 0
    pieces = lattice.cut(geometry.to_metric(geometry.from_wkb(community.geometry)), GRID_CELL_M)
    if len(pieces) > 999:
        raise Problem(
            422,
            f"Community {community_code} would need {len(pieces)} grids; the code allows 999. "
            "Split the community or import its grids.",
            code="too-many-grids",
        )
    session.execute(delete(UnitGrid).where(UnitGrid.community_code == community_code))
    rows = _grid_rows(community_code, pieces)
    session.execute(UnitGrid.__table__.insert(), rows)
    index.mark_changed(session)
    record_bulk_change(
        session,
        "places.grids_generated",
        community_code,
        {"grids": len(rows), "replaced": existing, "cell_m": GRID_CELL_M},
    )
    return len(rows)


def _grid_rows(community_code: str, pieces: list[lattice.Piece]) -> list[dict[str, object]]:
    metric = np.array([p.geom for p in pieces], dtype=object)
    wgs = geometry.from_metric(metric)
    areas = shapely.area(metric)
    centroids = shapely.centroid(wgs)
    bounds = shapely.bounds(wgs)
    blobs = shapely.to_wkb(wgs)
    return [
        {
            "code": codes.grid_code(community_code, i + 1),
            "community_code": community_code,
            "geometry": blobs[i],
            "centroid_lon": float(centroids[i].x),
            "centroid_lat": float(centroids[i].y),
            "area_m2": round(float(areas[i]), 1),
            "source": "generated",
            "min_lon": float(bounds[i, 0]),
            "min_lat": float(bounds[i, 1]),
            "max_lon": float(bounds[i, 2]),
            "max_lat": float(bounds[i, 3]),
        }
        for i in range(len(pieces))
    ]
