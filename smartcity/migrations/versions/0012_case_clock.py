"""cases: dispatch and check time limits, suspension time

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import smartcity.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = ("dispatch_due_at", "check_due_at", "checked_at", "suspended_at")


def upgrade() -> None:
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        for name in TIMES:
            batch_op.add_column(sa.Column(name, smartcity.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("late_checks", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("case_case", schema=None) as batch_op:
        batch_op.drop_column("late_checks")
        for name in reversed(TIMES):
            batch_op.drop_column(name)
