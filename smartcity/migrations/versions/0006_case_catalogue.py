"""cases: class catalogue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 16:14:12.053361
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_ref", sa.String(length=160), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("parent_code", sa.String(length=8), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=True),
        sa.Column("registration_condition", sa.Text(), nullable=True),
        sa.Column("closing_condition", sa.Text(), nullable=True),
        sa.Column("time_limit", sa.Integer(), nullable=True),
        sa.Column("time_limit_unit", sa.String(length=16), nullable=True),
        sa.Column("default_department", sa.String(length=32), nullable=True),
        sa.Column("professional_grid", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_class")),
        sa.UniqueConstraint("standard_ref", "kind", "code", name=op.f("uq_case_class_standard_ref")),
    )
    with op.batch_alter_table("case_class", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_class_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_class_standard_ref"), ["standard_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_class_standard_ref"))
        batch_op.drop_index(batch_op.f("ix_case_class_code"))

    op.drop_table("case_class")
