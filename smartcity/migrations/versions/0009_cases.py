"""cases: cases and their history

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 16:22:38.818539
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("component_code", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("dispatched_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline", smartcity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("extension_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_case")),
        sa.UniqueConstraint("number", name=op.f("uq_case_case_number")),
    )
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_case_class_code"), ["class_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_case_deadline"), ["deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_case_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_case_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_case_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_case_state"), ["state"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("at", smartcity.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case_case.id"], name=op.f("fk_case_event_case_id_case_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_case_id"))

    op.drop_table("case_event")
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_case_state"))
        batch_op.drop_index(batch_op.f("ix_case_case_grid_code"))
        batch_op.drop_index(batch_op.f("ix_case_case_district_code"))
        batch_op.drop_index(batch_op.f("ix_case_case_department_code"))
        batch_op.drop_index(batch_op.f("ix_case_case_deadline"))
        batch_op.drop_index(batch_op.f("ix_case_case_class_code"))

    op.drop_table("case_case")
