"""Cutting a polygon by a square lattice, in metres: the one mechanism behind synthetic streets and
communities and generated unit grids.

Every cut uses the same global lattice (origin at the projection's origin), so grids of neighbouring
communities line up. Pieces left over at a boundary that are smaller than a share of a full cell are
merged into the neighbour they share the longest border with, so no grid is a sliver; the pieces still
tile the polygon exactly, without gaps or overlaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


@dataclass
class Piece:
    """A piece of the polygon: the lattice cell it came from (row grows northwards) and its geometry."""

    row: int
    col: int
    geom: BaseGeometry

    @property
    def area(self) -> float:
        return float(shapely.area(self.geom))


def cut(polygon: BaseGeometry, cell: float, *, min_share: float = 0.25) -> list[Piece]:
    """Pieces of ``polygon`` (metres) cut by the lattice of ``cell`` metres, ordered west→east, north→south."""
    pieces = _clip_to_cells(polygon, cell)
    pieces = _merge_slivers(pieces, min_share * cell * cell)
    return sorted(pieces, key=lambda p: (-p.row, p.col, p.geom.centroid.x, -p.geom.centroid.y))


def _clip_to_cells(polygon: BaseGeometry, cell: float) -> list[Piece]:
    minx, miny, maxx, maxy = polygon.bounds
    cols = np.arange(math.floor(minx / cell), math.ceil(maxx / cell))
    rows = np.arange(math.floor(miny / cell), math.ceil(maxy / cell))
    col_grid, row_grid = (a.ravel() for a in np.meshgrid(cols, rows))
    boxes = shapely.box(col_grid * cell, row_grid * cell, (col_grid + 1) * cell, (row_grid + 1) * cell)
    shapely.prepare(polygon)
    hits = shapely.intersects(polygon, boxes)
    whole = hits & shapely.contains_properly(polygon, boxes)
    pieces = [Piece(int(r), int(c), b) for r, c, b in zip(row_grid[whole], col_grid[whole], boxes[whole], strict=True)]
    partial = hits & ~whole
    clipped = shapely.intersection(boxes[partial], polygon)
    for r, c, geom in zip(row_grid[partial], col_grid[partial], clipped, strict=True):
        pieces += [Piece(int(r), int(c), part) for part in _polygons(geom)]
    return pieces


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    """The polygon parts of a clip result (which may also hold lines or points where it only touched)."""
    parts = shapely.get_parts(geom)
    return [p for p in parts if p.geom_type == "Polygon" and p.area > 0]


def _merge_slivers(pieces: list[Piece], threshold: float) -> list[Piece]:
    big = [p for p in pieces if p.area >= threshold]
    small = sorted((p for p in pieces if p.area < threshold), key=lambda p: -p.area)
    if not big or not small:
        return pieces
    tree = shapely.STRtree([p.geom for p in big])
    absorbed: dict[int, list[BaseGeometry]] = {}
    kept = []
    for piece in small:
        target = _best_neighbour(piece, big, tree)
        if target is None:
            kept.append(piece)  # an isolated fragment (a tiny island): it stays a piece of its own
        else:
            absorbed.setdefault(target, []).append(piece.geom)
    for index, parts in absorbed.items():
        merged = shapely.union_all([big[index].geom, *parts])
        big[index] = Piece(big[index].row, big[index].col, merged)
    return big + kept


def _best_neighbour(piece: Piece, big: list[Piece], tree: shapely.STRtree) -> int | None:
    candidates = tree.query(piece.geom, predicate="intersects")
    if len(candidates) == 0:
        return None
    shared = shapely.length(
        shapely.intersection(piece.geom.boundary, shapely.boundary([big[i].geom for i in candidates]))
    )
    best = int(np.argmax(shared))
    return int(candidates[best]) if shared[best] > 0 else None
