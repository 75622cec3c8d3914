"""The API's side of the task table: insert and owner-scoped reads, in one round trip each.

These are the hot paths (every poll is a query), so they use Core statements that select only
the columns a response needs and compute the queue position in the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.store.db import Database
from openreel.store.tables import Base, TaskRow
from openreel.wire.tasks import TaskStatus

SUBMITTED = TaskStatus.SUBMITTED.value

_t = Base.metadata.tables[TaskRow.__tablename__]
_ahead = _t.alias("ahead")


@dataclass(frozen=True, slots=True)
class TaskView:
    """What a response shows of a task, plus what an idempotent create compares."""

    id: str
    family: str
    status: str
    status_msg: str
    progress: int
    external_task_id: str | None
    result: dict[str, Any] | None
    created_at: int
    updated_at: int
    request_hash: str
    queue_position: int | None


def _queue_position() -> sa.Label[Any]:
    """1-based place among all submitted tasks (oldest first), NULL unless submitted."""
    ahead = (
        sa.select(sa.func.count())
        .select_from(_ahead)
        .where(
            _ahead.c.status == SUBMITTED,
            # Row-value comparison lets the (status, created_at, id) index answer it.
            sa.tuple_(_ahead.c.created_at, _ahead.c.id) < sa.tuple_(_t.c.created_at, _t.c.id),
        )
        .scalar_subquery()
    )
    return sa.case((_t.c.status == SUBMITTED, ahead + 1), else_=None).label("queue_position")


_COLUMNS = (
    _t.c.id,
    _t.c.family,
    _t.c.status,
    _t.c.status_msg,
    _t.c.progress,
    _t.c.external_task_id,
    _t.c.result,
    _t.c.created_at,
    _t.c.updated_at,
    _t.c.request_hash,
    _queue_position(),
)


def _view(row: Sequence[Any]) -> TaskView:
    return TaskView(*row)


class TaskViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, values: dict[str, Any]) -> TaskView:
        """Insert one task row; returns its view (with its place in the queue)."""

        def change(conn: Connection) -> TaskView:
            conn.execute(sa.insert(_t).values(**values))
            return _view(conn.execute(sa.select(*_COLUMNS).where(_t.c.id == values["id"])).one())

        return await self.db.write(change)

    async def _one(self, stmt: sa.Select[Any]) -> TaskView | None:
        def query(conn: Connection) -> TaskView | None:
            row = conn.execute(stmt).one_or_none()
            return _view(row) if row is not None else None

        return await self.db.read(query)

    async def by_external_id(self, owner_id: str, external_task_id: str) -> TaskView | None:
        return await self._one(
            sa.select(*_COLUMNS).where(
                _t.c.owner_id == owner_id, _t.c.external_task_id == external_task_id
            )
        )

    async def find(self, owner_id: str, family: str, task_or_external_id: str) -> TaskView | None:
        """A task of this owner and family by task_id, else by external_task_id."""
        x = task_or_external_id
        return await self._one(
            sa.select(*_COLUMNS)
            .where(
                _t.c.owner_id == owner_id,
                _t.c.family == family,
                sa.or_(_t.c.id == x, _t.c.external_task_id == x),
            )
            # A task_id match wins over another task whose external id is that string.
            .order_by((_t.c.id == x).desc())
            .limit(1)
        )

    async def page(self, owner_id: str, family: str, page: int, size: int) -> list[TaskView]:
        stmt = (
            sa.select(*_COLUMNS)
            .where(_t.c.owner_id == owner_id, _t.c.family == family)
            .order_by(_t.c.created_at.desc(), _t.c.id.desc())
            .offset((page - 1) * size)
            .limit(size)
        )
        return await self.db.read(lambda conn: [_view(row) for row in conn.execute(stmt)])
