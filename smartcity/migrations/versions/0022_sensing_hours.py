"""sensing: the hours of each series that hold observations, with their revisions

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sta_observation_hour",
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.String(length=13), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["datastream_id"], ["sta_datastream.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("datastream_id", "hour"),
    )
    from smartcity.sensing import hours

    hours.rebuild(op.get_bind())  # the hours of the observations stored so far


def downgrade() -> None:
    op.drop_table("sta_observation_hour")
