"""Tables of the places module: administrative divisions and unit grids, with WGS-84 geometry as WKB.

Geometry is stored as WKB with a bounding box in plain columns, so the same schema serves SQLite and
PostgreSQL; lookups run on an in-memory index (see index.py), not on the database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from smartcity.core.db import Base, UTCDateTime, utcnow

LEVELS = ("city", "district", "street", "community")


def box_index(table: str) -> Index:
    """On PostgreSQL, a GiST index on the bounding box as a native ``box`` (no PostGIS needed): bbox
    queries become index lookups instead of range scans. SQLite keeps the plain B-tree on the columns."""
    expression = text("box(point(min_lon, min_lat), point(max_lon, max_lat))")
    return Index(f"ix_{table}_box", expression, postgresql_using="gist").ddl_if(dialect="postgresql")


class BoundingBox:
    """Columns shared by every spatial table: the WGS-84 bounding box, for bbox filters."""

    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)


class Division(BoundingBox, Base):
    """A city, district (GB/T 2260), street (9 digits) or community (12 digits) with its boundary."""

    __tablename__ = "place_division"
    __audit_exclude__ = frozenset({"geometry"})
    __table_args__ = (
        Index("ix_place_division_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),
        box_index("place_division"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    level: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str | None] = mapped_column(String(160))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    area_m2: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UnitGrid(BoundingBox, Base):
    """A unit grid (万米单元网格) with its 15-digit code: district 6 + street 3 + community 3 + sequence 3.

    Written in bulk by generation and import; each such operation is one audit record, not one per grid.
    """

    __tablename__ = "place_unit_grid"
    __audited__ = False
    __table_args__ = (
        Index("ix_place_unit_grid_bbox", "min_lon", "min_lat", "max_lon", "max_lat"),
        box_index("place_unit_grid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    community_code: Mapped[str] = mapped_column(String(12), index=True)
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))  # generated | imported
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GridRevision(Base):
    """A token replaced whenever unit grids change, so every process can tell its index is stale."""

    __tablename__ = "place_grid_revision"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class GridLayer(BoundingBox, Base):
    """One version of a grid layer entry: a supervision grid (an inspector's patrol beat, 监督网格) or a
    responsibility (which department or person answers for which grids, per category, 责任网格).

    Members are division or grid codes (6, 9, 12 or 15 digits): a member covers every unit grid whose code
    starts with it. Versions of the same ``code`` follow each other: ``valid_to`` (exclusive) of one is the
    ``valid_from`` of the next.
    """

    __tablename__ = "place_grid_layer"
    __audit_exclude__ = frozenset({"geometry"})
    __table_args__ = (UniqueConstraint("kind", "code", "valid_from"), box_index("place_grid_layer"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # supervision | responsibility
    code: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(16), default="*")  # a case category code, or * for all
    department_code: Mapped[str | None] = mapped_column(String(32))
    person: Mapped[str | None] = mapped_column(String(64))  # the responsible or patrolling account
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    geometry: Mapped[bytes] = mapped_column(LargeBinary)  # union of the members' places, for maps
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GridLayerMember(Base):
    __tablename__ = "place_grid_layer_member"

    layer_id: Mapped[int] = mapped_column(ForeignKey("place_grid_layer.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(15), primary_key=True, index=True)
