"""Engine slots: the relayed tasks in flight per upstream and key (``max_concurrency`` held
across every worker process), and the upstream callbacks that nudge them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_slots",
        sa.Column("task_id", sa.String(24), nullable=False),
        sa.Column("pool", sa.String(160), nullable=False),
        sa.Column("pool_key", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("taken_at", sa.BigInteger(), nullable=False),
        sa.Column("nudges", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("task_id", name="pk_engine_slots"),
    )
    op.create_index("ix_engine_slots_pool", "engine_slots", ["pool", "pool_key"])


def downgrade() -> None:
    op.drop_index("ix_engine_slots_pool", table_name="engine_slots")
    op.drop_table("engine_slots")
