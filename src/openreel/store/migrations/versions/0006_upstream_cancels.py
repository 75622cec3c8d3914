"""Upstream cancels: a cancel owed to a relayed task's upstream task, sent by whoever handles
it next (the task's worker, the cancel itself, or the reconcile sweep) and only once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_cancels",
        sa.Column("task_id", sa.String(24), nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name="pk_upstream_cancels"),
    )
    op.create_index("ix_upstream_cancels_due", "upstream_cancels", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_upstream_cancels_due", table_name="upstream_cancels")
    op.drop_table("upstream_cancels")
