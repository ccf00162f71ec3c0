"""places: divisions and unit grids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 15:32:34.144874
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_division",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=160), nullable=True),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("updated_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_division")),
        sa.UniqueConstraint("code", name=op.f("uq_place_division_code")),
    )
    with op.batch_alter_table("place_division", schema=None) as batch_op:
        batch_op.create_index("ix_place_division_bbox", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_division_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_division_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "place_unit_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_unit_grid")),
        sa.UniqueConstraint("code", name=op.f("uq_place_unit_grid_code")),
    )
    with op.batch_alter_table("place_unit_grid", schema=None) as batch_op:
        batch_op.create_index("ix_place_unit_grid_bbox", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_unit_grid_community_code"), ["community_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("place_unit_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_unit_grid_community_code"))
        batch_op.drop_index("ix_place_unit_grid_bbox")

    op.drop_table("place_unit_grid")
    with op.batch_alter_table("place_division", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_division_parent_code"))
        batch_op.drop_index(batch_op.f("ix_place_division_level"))
        batch_op.drop_index("ix_place_division_bbox")

    op.drop_table("place_division")
