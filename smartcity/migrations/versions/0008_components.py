"""cases: components

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 16:18:24.323962
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the GiST box index (models.box_index) is PostgreSQL-only, created at the end
    op.create_table(
        "case_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("competent_department", sa.String(length=100), nullable=True),
        sa.Column("owner_department", sa.String(length=100), nullable=True),
        sa.Column("maintenance_department", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("initial_date", sa.Date(), nullable=False),
        sa.Column("changed_date", sa.Date(), nullable=True),
        sa.Column("data_source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_component")),
        sa.UniqueConstraint("code", name=op.f("uq_case_component_code")),
    )
    with op.batch_alter_table("case_component", schema=None) as batch_op:
        batch_op.create_index("ix_case_component_bbox", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_component_class_code"), ["class_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_component_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_component_state"), ["state"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_case_component_box ON case_component "
            "USING gist (box(point(min_lon, min_lat), point(max_lon, max_lat)))"
        )


def downgrade() -> None:
    with op.batch_alter_table("case_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_component_state"))
        batch_op.drop_index(batch_op.f("ix_case_component_grid_code"))
        batch_op.drop_index(batch_op.f("ix_case_component_class_code"))
        batch_op.drop_index("ix_case_component_bbox")

    op.drop_table("case_component")
