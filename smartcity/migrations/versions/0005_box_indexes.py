"""places: GiST indexes on bounding boxes (PostgreSQL only)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("place_division", "place_unit_grid", "place_grid_layer")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite answers bbox queries from the B-tree on the four columns
    for table in TABLES:
        op.execute(
            f"CREATE INDEX ix_{table}_box ON {table} USING gist (box(point(min_lon, min_lat), point(max_lon, max_lat)))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_box")
