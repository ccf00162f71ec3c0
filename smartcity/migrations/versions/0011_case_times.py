"""cases: registration and first feedback times

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 16:34:07.342925
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_feedback_at", smartcity.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        batch_op.drop_column("first_feedback_at")
        batch_op.drop_column("registered_at")
