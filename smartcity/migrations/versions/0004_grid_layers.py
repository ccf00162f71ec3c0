"""places: supervision and responsibility grid layers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:48:44.380021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_grid_layer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("person", sa.String(length=64), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_grid_layer")),
        sa.UniqueConstraint("kind", "code", "valid_from", name=op.f("uq_place_grid_layer_kind")),
    )
    with op.batch_alter_table("place_grid_layer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_grid_layer_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_grid_layer_kind"), ["kind"], unique=False)

    op.create_table(
        "place_grid_layer_member",
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["place_grid_layer.id"],
            name=op.f("fk_place_grid_layer_member_layer_id_place_grid_layer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("layer_id", "code", name=op.f("pk_place_grid_layer_member")),
    )
    with op.batch_alter_table("place_grid_layer_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_grid_layer_member_code"), ["code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("place_grid_layer_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_grid_layer_member_code"))

    op.drop_table("place_grid_layer_member")
    with op.batch_alter_table("place_grid_layer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_grid_layer_kind"))
        batch_op.drop_index(batch_op.f("ix_place_grid_layer_code"))

    op.drop_table("place_grid_layer")
