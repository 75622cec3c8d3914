"""Render plan: the server's decisions leave the user's request (``params``) for ``plan``.

Until 0002 the create wrote server-private keys (``base_url``, ``inputs``, ``remote_inputs``,
``video_spec``, ``image_spec``) into the stored request. They move to the versioned ``plan``
column and ``callback_base_url``; the seed of an existing task is kept as it was computed then
(a hash of its params without ``inputs``), so a task queued before the upgrade renders the
same frames after it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
PRIVATE = ("base_url", "inputs", "remote_inputs", "video_spec", "image_spec")

tasks = sa.table(
    "tasks",
    sa.column("id", sa.String),
    sa.column("params", JSONType),
    sa.column("plan", JSONType),
    sa.column("callback_base_url", sa.Text),
)


def _loads(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str | bytes) else dict(value or {})


def _old_seed(params: dict[str, Any]) -> int:
    stable = {k: v for k, v in params.items() if k != "inputs"}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("plan", JSONType, nullable=True))
        batch.add_column(sa.Column("callback_base_url", sa.Text(), nullable=True))
    conn = op.get_bind()
    for task_id, raw in conn.execute(sa.select(tasks.c.id, tasks.c.params)).all():
        params = _loads(raw)
        plan = {
            "version": 1,
            "seed": _old_seed(params),
            "inputs": params.get("inputs", {}),
            "remote_inputs": params.get("remote_inputs", []),
            "video": params.get("video_spec"),
            "image": params.get("image_spec"),
        }
        base_url = params.get("base_url")
        request = {k: v for k, v in params.items() if k not in PRIVATE}
        conn.execute(
            sa.update(tasks)
            .where(tasks.c.id == task_id)
            .values(params=request, plan=plan, callback_base_url=base_url)
        )
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("plan", existing_type=JSONType, nullable=False)


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(tasks.c.id, tasks.c.params, tasks.c.plan, tasks.c.callback_base_url)
    ).all()
    for task_id, raw_params, raw_plan, base_url in rows:
        params, plan = _loads(raw_params), _loads(raw_plan)
        params.update(
            inputs=plan.get("inputs", {}),
            remote_inputs=plan.get("remote_inputs", []),
            video_spec=plan.get("video"),
            image_spec=plan.get("image"),
        )
        params = {k: v for k, v in params.items() if v is not None}
        if base_url is not None:
            params["base_url"] = base_url
        conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(params=params))
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("callback_base_url")
        batch.drop_column("plan")
