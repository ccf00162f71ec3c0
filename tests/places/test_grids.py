"""Synthetic subdivision and unit-grid generation: codes, numbering order, exact tiling, idempotence."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import func, select

from smartcity.core.errors import Problem
from smartcity.places import codes, generate, geometry, lattice, service
from smartcity.places.models import Division, UnitGrid


def _grids(database, community: str) -> list[UnitGrid]:
    with database.session() as s:
        return list(s.scalars(select(UnitGrid).where(UnitGrid.community_code == community).order_by(UnitGrid.code)))


def test_synthetic_divisions_are_flagged_and_nest(database, huangpu) -> None:
    with database.session() as s:
        streets = service.list_divisions(s, level="street", parent_code="310101")
        assert streets and all(d.synthetic and d.code.startswith("310101") and d.code[6] == "9" for d in streets)
        district_area = service.get_division(s, "310101").area_m2
        assert sum(d.area_m2 for d in streets) == pytest.approx(district_area, rel=1e-6)
        communities = service.list_divisions(s, level="community")
    assert {c.parent_code for c in communities} <= {d.code for d in streets}
    assert all(c.area_m2 <= (2_000 * 2_000) * 2 for c in communities)


def test_subdividing_again_adds_nothing(database, huangpu) -> None:
    with database.session() as s:
        assert generate.subdivide_synthetic(s, "310101") == generate.Subdivision(0, 0)


def test_grids_tile_each_community_without_gaps_or_overlaps(database, huangpu) -> None:
    with database.session() as s:
        for community in huangpu:
            generate.generate_grids(s, community)
    for community in huangpu:
        with database.session() as s:
            boundary = geometry.to_metric(geometry.from_wkb(service.get_division(s, community).geometry))
        cells = geometry.to_metric(shapely.from_wkb([g.geometry for g in _grids(database, community)]))
        total = float(shapely.area(cells).sum())
        union = shapely.union_all(cells)
        assert total == pytest.approx(boundary.area, rel=1e-6)  # no overlaps: the parts add up
        assert shapely.symmetric_difference(union, boundary).area < 1e-3 * boundary.area / len(cells)  # no gaps


def test_grid_codes_have_15_digits_and_run_west_to_east_north_to_south(database, huangpu) -> None:
    community = huangpu[0]
    with database.session() as s:
        count = generate.generate_grids(s, community)
    grids = _grids(database, community)
    assert len(grids) == count and 0 < count <= 999
    assert [g.code for g in grids] == [codes.grid_code(community, i) for i in range(1, count + 1)]
    assert all(len(g.code) == 15 and codes.split_grid_code(g.code)["community"] == community for g in grids)
    full = [g for g in grids if abs(g.area_m2 - 10_000) < 1]
    assert len(full) > count / 3  # most grids are whole 100 m cells
    # Whole cells in code order: a later row lies further south, and within a row numbers grow eastwards.
    cells = []
    for grid in full:
        x, y = (float(v) for v in geometry.to_metric(geometry.from_wkb(grid.geometry)).centroid.coords[0])
        cells.append((-int(y // 100), int(x // 100)))
    assert cells == sorted(cells)
    assert all(g.area_m2 >= 0.25 * 10_000 or _isolated(g, grids) for g in grids)  # slivers were merged


def _isolated(grid: UnitGrid, grids: list[UnitGrid]) -> bool:
    geom = geometry.from_wkb(grid.geometry)
    return not any(geom.touches(geometry.from_wkb(o.geometry)) for o in grids if o.code != grid.code)


def test_generation_is_idempotent_and_replaceable(database, huangpu) -> None:
    community = huangpu[0]
    with database.session() as s:
        first = generate.generate_grids(s, community)
    with database.session() as s:
        assert generate.generate_grids(s, community) == 0
        assert generate.generate_grids(s, community, replace=True) == first
        assert s.scalar(select(func.count()).select_from(UnitGrid)) == first


def test_generation_is_audited_once_per_community(database, huangpu) -> None:
    from smartcity.core.audit import AuditRecord

    with database.session() as s:
        generate.generate_grids(s, huangpu[0])
    with database.session() as s:
        records = s.scalars(select(AuditRecord).where(AuditRecord.action == "places.grids_generated")).all()
    assert len(records) == 1 and records[0].object_id == huangpu[0]


def test_unknown_community_is_404(database) -> None:
    with pytest.raises(Problem) as caught, database.session() as s:
        generate.generate_grids(s, "310101901001")
    assert caught.value.status == 404


def test_lattice_cut_of_a_plain_square() -> None:
    square = shapely.box(0, 0, 1000, 500)
    pieces = lattice.cut(square, 100)
    assert len(pieces) == 50 and {round(p.area) for p in pieces} == {10_000}
    assert (pieces[0].row, pieces[0].col) == (4, 0) and (pieces[1].row, pieces[1].col) == (4, 1)


def test_lattice_merges_a_sliver_into_its_neighbour() -> None:
    shape_ = shapely.box(0, 0, 210, 100)  # two full cells and a 10 m strip
    pieces = lattice.cut(shape_, 100)
    assert len(pieces) == 2 and sorted(round(p.area) for p in pieces) == [10_000, 11_000]


def test_divisions_table_is_untouched_by_grid_generation(database, huangpu) -> None:
    with database.session() as s:
        before = s.scalar(select(func.count()).select_from(Division))
        generate.generate_grids(s, huangpu[0])
        assert s.scalar(select(func.count()).select_from(Division)) == before
