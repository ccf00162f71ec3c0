"""The point → unit grid index: batched lookups in memory, exact on every boundary.

Grids are indexed by the cells of the 100 m lattice (EPSG:32651) they touch. A cell lying wholly inside
one grid answers by arithmetic and a binary search; a cell shared by several grids (community borders,
clipped or merged pieces, imported grids of any shape) keeps its candidate grids, and the point is
tested against their exact polygons. A point on a shared border goes to the grid with the lower code.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smartcity.places import crs, geometry
from smartcity.places.models import Division, GridRevision, UnitGrid

CELL_M = 100.0
_ROW_FACTOR = 1 << 24  # key = row * 2^24 + col: columns of EPSG:32651 stay far below 2^24 cells
OUTSIDE = -1


def _keys(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.floor(y / CELL_M).astype(np.int64) * _ROW_FACTOR + np.floor(x / CELL_M).astype(np.int64)


@dataclass(frozen=True)
class DivisionFacts:
    """What a location answer says about a division; kept in the index so locating needs no query."""

    code: str
    name: str
    name_en: str | None
    level: str
    synthetic: bool


@dataclass
class GridIndex:
    codes: NDArray[np.str_]  # grid codes, sorted; results are positions in this array
    whole_keys: NDArray[np.int64]  # sorted keys of cells owned wholly by one grid
    whole_grid: NDArray[np.int32]
    shared_keys: NDArray[np.int64]  # sorted keys of shared cells, one entry per candidate grid
    shared_grid: NDArray[np.int32]
    shapes: dict[int, shapely.Geometry]  # metric polygons of the grids that appear in shared cells
    revision: str
    area_m2: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # per grid, like codes
    centroids: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)))  # lon, lat per grid
    divisions: dict[str, DivisionFacts] = field(default_factory=dict)  # every division by code

    def locate(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int32]:
        """Positions in ``codes`` of the grids holding each WGS-84 point, or OUTSIDE (-1)."""
        x, y = crs.to_metric(lon, lat)
        x, y = np.atleast_1d(x), np.atleast_1d(y)
        keys = _keys(x, y)
        result = np.full(len(keys), OUTSIDE, dtype=np.int32)
        if len(self.whole_keys):
            pos = np.minimum(np.searchsorted(self.whole_keys, keys), len(self.whole_keys) - 1)
            hit = self.whole_keys[pos] == keys
            result[hit] = self.whole_grid[pos[hit]]
        pending = np.nonzero(result == OUTSIDE)[0]
        if len(pending) and len(self.shared_keys):
            result[pending] = self._exact(keys[pending], x[pending], y[pending])
        return result

    def _exact(self, keys: NDArray[np.int64], x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int32]:
        start = np.searchsorted(self.shared_keys, keys, side="left")
        counts = np.searchsorted(self.shared_keys, keys, side="right") - start
        point_of = np.repeat(np.arange(len(keys)), counts)
        # every candidate entry of every point, without a Python loop: start of its run + rank in the run
        entry = np.repeat(start - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        grids = self.shared_grid[entry]
        found = np.full(len(keys), OUTSIDE, dtype=np.int32)
        if len(grids) == 0:
            return found
        shapes = np.array([self.shapes[int(g)] for g in grids], dtype=object)
        inside = shapely.intersects_xy(shapes, x[point_of], y[point_of])
        # entries of a cell are sorted by grid position (= code order): the first hit is the lowest code
        points, first = np.unique(point_of[inside], return_index=True)
        found[points] = grids[inside][first]
        return found


def build(session: Session) -> GridIndex:
    """Read every grid and index it (about 10 s for Shanghai's 800,000 grids)."""
    columns = (UnitGrid.code, UnitGrid.geometry, UnitGrid.area_m2, UnitGrid.centroid_lon, UnitGrid.centroid_lat)
    rows = session.execute(select(*columns).order_by(UnitGrid.code)).all()
    revision = current_revision(session)
    divisions = {
        d.code: DivisionFacts(d.code, d.name, d.name_en, d.level, d.synthetic)
        for d in session.execute(
            select(Division.code, Division.name, Division.name_en, Division.level, Division.synthetic)
        )
    }
    codes = np.array([r.code for r in rows], dtype="<U15")
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return GridIndex(
            codes, empty, np.zeros(0, np.int32), empty, np.zeros(0, np.int32), {}, revision, divisions=divisions
        )
    metric = geometry.to_metric(shapely.from_wkb([r.geometry for r in rows]))
    bounds = shapely.bounds(metric)
    # Stored in WGS-84, a cell edge comes back a hair off the lattice line: allow 1 mm before it spills over.
    slack = 1e-5
    col0, col1 = np.floor(bounds[:, 0] / CELL_M + slack), np.ceil(bounds[:, 2] / CELL_M - slack)
    row0, row1 = np.floor(bounds[:, 1] / CELL_M + slack), np.ceil(bounds[:, 3] / CELL_M - slack)
    single = (col1 - col0 == 1) & (row1 - row0 == 1)
    areas = np.array([r.area_m2 for r in rows])
    whole = single & (np.abs(areas - CELL_M * CELL_M) < 0.5)
    whole_ids = np.nonzero(whole)[0]
    whole_keys = row0[whole].astype(np.int64) * _ROW_FACTOR + col0[whole].astype(np.int64)
    shared_keys, shared_grid = _shared_cells(np.nonzero(~whole)[0], row0, row1, col0, col1)
    order = np.argsort(whole_keys, kind="stable")
    shared_order = np.lexsort((shared_grid, shared_keys))
    shapes = {int(i): metric[i] for i in np.unique(shared_grid)}
    shapely.prepare(list(shapes.values()))
    return GridIndex(
        codes,
        whole_keys[order],
        whole_ids[order].astype(np.int32),
        shared_keys[shared_order],
        shared_grid[shared_order].astype(np.int32),
        shapes,
        revision,
        area_m2=areas,
        centroids=np.array([(r.centroid_lon, r.centroid_lat) for r in rows]),
        divisions=divisions,
    )


def _shared_cells(ids: NDArray[np.int64], row0, row1, col0, col1) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # type: ignore[no-untyped-def]
    keys, grids = [], []
    for i in ids:
        rows = np.arange(int(row0[i]), int(row1[i]))
        cols = np.arange(int(col0[i]), int(col1[i]))
        cell_keys = (rows[:, None] * _ROW_FACTOR + cols[None, :]).ravel()
        keys.append(cell_keys)
        grids.append(np.full(len(cell_keys), i))
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(keys).astype(np.int64), np.concatenate(grids).astype(np.int64)


def current_revision(session: Session) -> str:
    """The token of the grids' current state (see :func:`mark_changed`)."""
    return session.scalar(select(GridRevision.token).where(GridRevision.id == 1)) or ""


def mark_changed(session: Session) -> None:
    """Call in the transaction that changes grids or divisions: a new random token, never reused even after a
    restore, so every process rebuilds its index."""
    token = uuid.uuid4().hex
    updated = session.execute(update(GridRevision).where(GridRevision.id == 1).values(token=token))
    if updated.rowcount == 0:
        session.add(GridRevision(id=1, token=token))


class IndexCache:
    """One index per process, rebuilt when the grids' revision has moved on."""

    def __init__(self) -> None:
        self._index: GridIndex | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> GridIndex:
        revision = current_revision(session)
        index = self._index
        if index is not None and index.revision == revision:
            return index
        with self._lock:
            if self._index is None or self._index.revision != revision:
                self._index = build(session)
            return self._index


CACHE = IndexCache()
