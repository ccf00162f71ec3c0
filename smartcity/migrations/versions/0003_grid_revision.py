"""places: grid revision token

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:39:41.209968
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_grid_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_grid_revision")),
    )


def downgrade() -> None:
    op.drop_table("place_grid_revision")
