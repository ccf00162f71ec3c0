"""cases: photos

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 16:31:31.643850
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_case.id"], name=op.f("fk_case_photo_case_id_case_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_photo")),
    )
    with op.batch_alter_table("case_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_photo_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_photo_case_id"))

    op.drop_table("case_photo")
