"""Usage accounting: each task's quoted price, the units charged by succeeded tasks, and
per-key resource packs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("price_milli", sa.BigInteger(), nullable=True))
    op.create_table(
        "task_usage",
        sa.Column("task_id", sa.String(24), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("units_milli", sa.BigInteger(), nullable=False),
        sa.Column("charged_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name="pk_task_usage"),
    )
    op.create_index("ix_task_usage_owner_charged", "task_usage", ["owner_id", "charged_at"])
    op.create_table(
        "resource_packs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("total_milli", sa.BigInteger(), nullable=False),
        sa.Column("purchase_time", sa.BigInteger(), nullable=False),
        sa.Column("effective_time", sa.BigInteger(), nullable=False),
        sa.Column("invalid_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_resource_packs"),
        sa.UniqueConstraint("owner_id", name="uq_resource_packs_owner_id"),
    )


def downgrade() -> None:
    op.drop_table("resource_packs")
    op.drop_index("ix_task_usage_owner_charged", table_name="task_usage")
    op.drop_table("task_usage")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("price_milli")
