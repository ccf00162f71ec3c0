"""Grid layers above the unit grids: supervision grids (patrol beats) and responsibilities, both versioned.

Members are codes of divisions or grids; a member covers every unit grid whose code starts with it, so
"the drainage department answers for 310101" needs one row, not 2,000. The case and hotline modules ask
:func:`responsible_for` and :func:`supervision_grids_of` which department, person or beat a grid belongs
to on a given day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import shapely
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from smartcity.core import events
from smartcity.core.errors import Conflict, NotFound, Problem
from smartcity.places import codes, geometry
from smartcity.places.models import Division, GridLayer, GridLayerMember, UnitGrid

KINDS = ("supervision", "responsibility")
ANY_CATEGORY = "*"


@dataclass(frozen=True)
class LayerEntry:
    """A version of a supervision grid or responsibility, as callers see it."""

    kind: str
    code: str
    name: str
    category: str
    department_code: str | None
    person: str | None
    valid_from: date
    valid_to: date | None
    members: tuple[str, ...]


def _prefixes(grid_code: str) -> list[str]:
    return [grid_code[:6], grid_code[:9], grid_code[:12], grid_code]


def _check_members(session: Session, members: list[str]) -> None:
    errors = []
    for index, code in enumerate(members):
        if len(code) == 15 and code.isdigit():
            known = session.scalar(select(UnitGrid.id).where(UnitGrid.code == code))
        elif len(code) in (6, 9, 12) and code.isdigit():
            known = session.scalar(select(Division.id).where(Division.code == code))
        else:
            errors.append({"field": f"members[{index}]", "message": f"{code!r} is not a division or grid code"})
            continue
        if known is None:
            errors.append({"field": f"members[{index}]", "message": f"{code} does not exist"})
    if errors:
        raise Problem(422, "Some members are not known places.", code="unknown-members", errors=errors)


def _union_geometry(session: Session, members: list[str]) -> shapely.Geometry:
    """The area the members cover: their grids, or their division boundaries where no grids exist yet."""
    conditions = [UnitGrid.code.startswith(code) for code in members]
    blobs = session.scalars(select(UnitGrid.geometry).where(or_(*conditions))).all()
    if not blobs:
        blobs = session.scalars(select(Division.geometry).where(Division.code.in_(members))).all()
    return shapely.union_all(shapely.from_wkb(blobs))


def _close_current(session: Session, kind: str, code: str, valid_from: date) -> None:
    """End the version in force on ``valid_from``; a version starting that very day is a conflict."""
    versions = session.scalars(select(GridLayer).where(GridLayer.kind == kind, GridLayer.code == code)).all()
    for version in versions:
        if version.valid_from == valid_from:
            raise Conflict(f"{kind} {code} already has a version from {valid_from}.", code="duplicate-version")
        if version.valid_from > valid_from:
            raise Conflict(
                f"{kind} {code} has a later version from {version.valid_from}; versions are added in date order.",
                code="version-order",
            )
        if version.valid_to is None or version.valid_to > valid_from:
            version.valid_to = valid_from


def save(
    session: Session,
    *,
    kind: str,
    code: str,
    name: str,
    members: list[str],
    valid_from: date,
    category: str = ANY_CATEGORY,
    department_code: str | None = None,
    person: str | None = None,
) -> GridLayer:
    """Add a version of a supervision grid or responsibility; the version in force until then ends."""
    from smartcity.security import service as security  # another module's service, not its tables

    if kind not in KINDS:
        raise Problem(422, f"kind must be one of {', '.join(KINDS)}.", errors=[{"field": "kind", "message": "unknown"}])
    if not members:
        raise Problem(
            422, "Name at least one member grid or division.", errors=[{"field": "members", "message": "empty"}]
        )
    _check_members(session, members)
    if department_code is not None:
        security.department_by_code(session, department_code)
    if person is not None and security.user_by_name(session, person) is None:
        raise Problem(422, f"No account is named {person!r}.", errors=[{"field": "person", "message": "unknown"}])
    if kind == "responsibility" and department_code is None and person is None:
        raise Problem(
            422,
            "A responsibility needs a department or a person.",
            errors=[{"field": "department_code", "message": "required without person"}],
        )
    _close_current(session, kind, code, valid_from)
    area = _union_geometry(session, members)
    layer = GridLayer(
        kind=kind,
        code=code,
        name=name,
        category=category,
        department_code=department_code,
        person=person,
        valid_from=valid_from,
        geometry=geometry.wkb(area),
        **geometry.bbox_columns(area),
    )
    session.add(layer)
    session.flush()
    session.add_all(GridLayerMember(layer_id=layer.id, code=member) for member in sorted(set(members)))
    session.flush()
    events.emit(session, "places.layer_changed", kind=kind, code=code, valid_from=valid_from.isoformat())
    return layer


def _in_force(at: date):  # type: ignore[no-untyped-def]
    return and_(GridLayer.valid_from <= at, or_(GridLayer.valid_to.is_(None), GridLayer.valid_to > at))


def entry(session: Session, layer: GridLayer) -> LayerEntry:
    """The layer version with its members."""
    members = tuple(session.scalars(select(GridLayerMember.code).where(GridLayerMember.layer_id == layer.id)))
    return LayerEntry(
        layer.kind,
        layer.code,
        layer.name,
        layer.category,
        layer.department_code,
        layer.person,
        layer.valid_from,
        layer.valid_to,
        members,
    )


def _matching(session: Session, kind: str, grid_code: str, at: date) -> list[tuple[GridLayer, str]]:
    try:
        codes.split_grid_code(grid_code)
    except codes.CodeError as exc:
        raise Problem(422, str(exc), errors=[{"field": "grid", "message": str(exc)}]) from exc
    rows = session.execute(
        select(GridLayer, GridLayerMember.code)
        .join(GridLayerMember, GridLayerMember.layer_id == GridLayer.id)
        .where(GridLayer.kind == kind, _in_force(at), GridLayerMember.code.in_(_prefixes(grid_code)))
    ).all()
    return [(row[0], row[1]) for row in rows]


def _category_rank(assigned: str, wanted: str | None) -> int:
    """3 exact, 2 the wanted category's major class (its first two characters), 1 any; -1 no match."""
    if wanted is not None and assigned == wanted:
        return 3
    if wanted is not None and len(assigned) == 2 and wanted.startswith(assigned):
        return 2
    return 1 if assigned == ANY_CATEGORY else -1


def responsible_for(
    session: Session, grid_code: str, *, category: str | None = None, at: date | None = None
) -> LayerEntry:
    """Who answers for a grid in a category on a day: the most specific place first (a grid beats its
    community, which beats its street and district), then the most specific category. 404 if nobody."""
    at = at or date.today()
    ranked = [
        (len(member), _category_rank(layer.category, category), layer)
        for layer, member in _matching(session, "responsibility", grid_code, at)
    ]
    ranked = [r for r in ranked if r[1] >= 0]
    if not ranked:
        raise NotFound("responsibility for grid", f"{grid_code} / {category or ANY_CATEGORY} on {at}")
    ranked.sort(key=lambda r: (r[0], r[1], r[2].valid_from), reverse=True)
    return entry(session, ranked[0][2])


def supervision_grids_of(session: Session, grid_code: str, *, at: date | None = None) -> list[LayerEntry]:
    """The patrol beats that cover a grid on a day (normally one)."""
    layers = {layer.id: layer for layer, _ in _matching(session, "supervision", grid_code, at or date.today())}
    return [entry(session, layer) for layer in sorted(layers.values(), key=lambda layer: layer.code)]


def list_layers(session: Session, kind: str, *, at: date | None = None) -> list[LayerEntry]:
    stmt = select(GridLayer).where(GridLayer.kind == kind).order_by(GridLayer.code, GridLayer.valid_from)
    if at is not None:
        stmt = stmt.where(_in_force(at))
    return [entry(session, layer) for layer in session.scalars(stmt)]
