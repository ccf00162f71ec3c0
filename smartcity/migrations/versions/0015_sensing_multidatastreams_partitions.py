"""sensing: MultiDatastreams; observations partitioned by month on PostgreSQL

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sta_datastream", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=1), server_default="d", nullable=False))
        batch_op.add_column(sa.Column("multi_observation_data_types", sa.Text(), nullable=True))
        batch_op.alter_column("observed_property_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "sta_multi_datastream_observed_property",
        sa.Column("multi_datastream_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("observed_property_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["multi_datastream_id"],
            ["sta_datastream.id"],
            name=op.f("fk_sta_multi_datastream_observed_property_multi_datastream_id_sta_datastream"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["sta_observed_property.id"],
            name=op.f("fk_sta_multi_datastream_observed_property_observed_property_id_sta_observed_property"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "multi_datastream_id", "position", name=op.f("pk_sta_multi_datastream_observed_property")
        ),
    )
    with op.batch_alter_table("sta_multi_datastream_observed_property", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_multi_datastream_observed_property_observed_property_id"),
            ["observed_property_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        _partition_observations()


def _partition_observations() -> None:
    """Rebuild sta_observation as a table partitioned by month of phenomenon_time_start, keeping its rows,
    its id sequence and the names of its constraints and indexes."""
    from smartcity.sensing import partitions

    bind = op.get_bind()
    op.execute("ALTER SEQUENCE sta_observation_id_seq OWNED BY NONE")
    op.execute("ALTER TABLE sta_observation RENAME TO sta_observation_unpartitioned")
    # the primary key's name is its index's, unique in the schema (foreign keys' names are per table)
    op.execute(
        "ALTER TABLE sta_observation_unpartitioned RENAME CONSTRAINT pk_sta_observation TO pk_sta_observation_old"
    )
    op.execute("ALTER INDEX ix_sta_observation_series RENAME TO ix_sta_observation_series_old")
    op.execute("ALTER INDEX ix_sta_observation_feature_of_interest_id RENAME TO ix_sta_observation_foi_old")
    op.execute(
        "CREATE TABLE sta_observation (LIKE sta_observation_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (phenomenon_time_start)"
    )
    op.execute("ALTER SEQUENCE sta_observation_id_seq OWNED BY sta_observation.id")
    # a partitioned table's keys include the partition column; id stays unique by its sequence
    op.execute("ALTER TABLE sta_observation ADD CONSTRAINT pk_sta_observation PRIMARY KEY (id, phenomenon_time_start)")
    op.execute(
        "ALTER TABLE sta_observation ADD CONSTRAINT fk_sta_observation_datastream_id_sta_datastream "
        "FOREIGN KEY (datastream_id) REFERENCES sta_datastream (id) ON DELETE CASCADE"
    )
    op.execute(
        "ALTER TABLE sta_observation ADD CONSTRAINT fk_sta_observation_feature_of_interest_id_sta_feature_of_interest "
        "FOREIGN KEY (feature_of_interest_id) REFERENCES sta_feature_of_interest (id) ON DELETE CASCADE"
    )
    op.execute(
        "CREATE UNIQUE INDEX ix_sta_observation_series ON sta_observation (datastream_id, phenomenon_time_start)"
    )
    op.execute("CREATE INDEX ix_sta_observation_feature_of_interest_id ON sta_observation (feature_of_interest_id)")
    first, last = bind.execute(
        sa.text("SELECT min(phenomenon_time_start), max(phenomenon_time_start) FROM sta_observation_unpartitioned")
    ).one()
    now = datetime.now(UTC)
    month = partitions.month_of(min(first or now, now))
    end = partitions.month_of(max(last or now, now))
    for _ in range(partitions.MONTHS_AHEAD):
        end = partitions.next_month(end)
    while month <= end:
        op.execute(partitions.create_partition_sql(month))
        month = partitions.next_month(month)
    op.execute(partitions.create_default_sql())
    op.execute("INSERT INTO sta_observation SELECT * FROM sta_observation_unpartitioned")
    op.execute("DROP TABLE sta_observation_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE sta_observation_id_seq OWNED BY NONE")
        op.execute("ALTER TABLE sta_observation RENAME TO sta_observation_partitioned")
        op.execute("CREATE TABLE sta_observation (LIKE sta_observation_partitioned INCLUDING DEFAULTS)")
        op.execute("INSERT INTO sta_observation SELECT * FROM sta_observation_partitioned")
        op.execute("DROP TABLE sta_observation_partitioned")
        op.execute("ALTER SEQUENCE sta_observation_id_seq OWNED BY sta_observation.id")
        op.execute("ALTER TABLE sta_observation ADD CONSTRAINT pk_sta_observation PRIMARY KEY (id)")
        op.execute(
            "ALTER TABLE sta_observation ADD CONSTRAINT fk_sta_observation_datastream_id_sta_datastream "
            "FOREIGN KEY (datastream_id) REFERENCES sta_datastream (id) ON DELETE CASCADE"
        )
        op.execute(
            "ALTER TABLE sta_observation ADD CONSTRAINT "
            "fk_sta_observation_feature_of_interest_id_sta_feature_of_interest "
            "FOREIGN KEY (feature_of_interest_id) REFERENCES sta_feature_of_interest (id) ON DELETE CASCADE"
        )
        op.execute(
            "CREATE UNIQUE INDEX ix_sta_observation_series ON sta_observation (datastream_id, phenomenon_time_start)"
        )
        op.execute("CREATE INDEX ix_sta_observation_feature_of_interest_id ON sta_observation (feature_of_interest_id)")
    with op.batch_alter_table("sta_multi_datastream_observed_property", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_multi_datastream_observed_property_observed_property_id"))
    op.drop_table("sta_multi_datastream_observed_property")
    op.execute("DELETE FROM sta_observation WHERE datastream_id IN (SELECT id FROM sta_datastream WHERE kind = 'm')")
    op.execute("DELETE FROM sta_datastream WHERE kind = 'm'")
    with op.batch_alter_table("sta_datastream", schema=None) as batch_op:
        batch_op.alter_column("observed_property_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("multi_observation_data_types")
        batch_op.drop_column("kind")
