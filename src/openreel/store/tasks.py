"""Task rows: insert, owner-scoped lookups, and the worker's lease-based claim and updates.

Every worker-side state change is a conditional UPDATE on (id, lease_owner, attempts), so a
worker that lost its lease can never overwrite the task's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import TaskRow
from openreel.wire.tasks import TaskStatus

SUBMITTED = TaskStatus.SUBMITTED.value
PROCESSING = TaskStatus.PROCESSING.value


class TaskRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, row: TaskRow) -> None:
        async with self.db.session() as session, session.begin():
            session.add(row)

    async def get(self, task_id: str) -> TaskRow | None:
        async with self.db.session() as session:
            return await session.get(TaskRow, task_id)

    async def by_external_id(self, owner_id: str, external_task_id: str) -> TaskRow | None:
        async with self.db.session() as session:
            stmt = sa.select(TaskRow).where(
                TaskRow.owner_id == owner_id, TaskRow.external_task_id == external_task_id
            )
            return (await session.execute(stmt)).scalar_one_or_none()

    async def find(self, owner_id: str, family: str, task_or_external_id: str) -> TaskRow | None:
        """A task of this owner and family by task_id, else by external_task_id."""
        async with self.db.session() as session:
            base = sa.select(TaskRow).where(TaskRow.owner_id == owner_id, TaskRow.family == family)
            row = (
                await session.execute(base.where(TaskRow.id == task_or_external_id))
            ).scalar_one_or_none()
            if row is None:
                row = (
                    await session.execute(
                        base.where(TaskRow.external_task_id == task_or_external_id)
                    )
                ).scalar_one_or_none()
            return row

    async def page(self, owner_id: str, family: str, page: int, size: int) -> Sequence[TaskRow]:
        async with self.db.session() as session:
            stmt = (
                sa.select(TaskRow)
                .where(TaskRow.owner_id == owner_id, TaskRow.family == family)
                .order_by(TaskRow.created_at.desc(), TaskRow.id.desc())
                .offset((page - 1) * size)
                .limit(size)
            )
            return list((await session.execute(stmt)).scalars())

    async def queue_positions(self, rows: Sequence[TaskRow]) -> dict[str, int]:
        """1-based place among all submitted tasks, for the submitted rows given."""
        waiting = [r for r in rows if r.status == SUBMITTED]
        if not waiting:
            return {}
        async with self.db.session() as session:
            positions: dict[str, int] = {}
            for row in waiting:
                stmt = sa.select(sa.func.count()).where(
                    TaskRow.status == SUBMITTED,
                    sa.or_(
                        TaskRow.created_at < row.created_at,
                        sa.and_(TaskRow.created_at == row.created_at, TaskRow.id < row.id),
                    ),
                )
                positions[row.id] = int((await session.execute(stmt)).scalar_one()) + 1
            return positions

    # --- worker side -------------------------------------------------------------------

    async def claim(
        self, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> TaskRow | None:
        """Take the oldest runnable task: submitted, or processing with an expired lease and
        attempts left (exhausted ones are settled by ``fail_exhausted``)."""
        now = now_ms()
        runnable = sa.or_(
            TaskRow.status == SUBMITTED,
            sa.and_(
                TaskRow.status == PROCESSING,
                TaskRow.lease_expires_at < now,
                TaskRow.attempts < max_attempts,
            ),
        )
        candidate = (
            sa.select(TaskRow.id).where(runnable).order_by(TaskRow.created_at, TaskRow.id).limit(1)
        )
        if not self.db.is_sqlite:
            candidate = candidate.with_for_update(skip_locked=True)
        stmt = (
            sa.update(TaskRow)
            .where(TaskRow.id == candidate.scalar_subquery(), runnable)
            .values(
                status=PROCESSING,
                lease_owner=worker_id,
                lease_expires_at=now + int(lease_seconds * 1000),
                attempts=TaskRow.attempts + 1,
                updated_at=now,
            )
            .returning(TaskRow)
            .execution_options(synchronize_session=False)
        )
        async with self.db.session() as session, session.begin():
            return (await session.execute(stmt)).scalar_one_or_none()

    def _held(self, row: TaskRow, worker_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            TaskRow.id == row.id,
            TaskRow.status == PROCESSING,
            TaskRow.lease_owner == worker_id,
            TaskRow.attempts == row.attempts,
        )

    async def _update_held(self, row: TaskRow, worker_id: str, **values: Any) -> bool:
        stmt = sa.update(TaskRow).where(self._held(row, worker_id)).values(**values)
        async with self.db.session() as session, session.begin():
            result = await session.execute(stmt.execution_options(synchronize_session=False))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def heartbeat(
        self, row: TaskRow, worker_id: str, lease_seconds: float, progress: int
    ) -> bool:
        now = now_ms()
        return await self._update_held(
            row,
            worker_id,
            lease_expires_at=now + int(lease_seconds * 1000),
            progress=progress,
            updated_at=now,
        )

    async def finish(
        self,
        row: TaskRow,
        worker_id: str,
        status: TaskStatus,
        message: str = "",
        result: dict[str, Any] | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": status.value,
            "status_msg": message,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now_ms(),
        }
        if status == TaskStatus.SUCCEED:
            values.update(progress=100, result=result)
        return await self._update_held(row, worker_id, **values)

    async def release(self, row: TaskRow, worker_id: str) -> bool:
        """Hand a task back to the queue on graceful shutdown, not counting the attempt."""
        return await self._update_held(
            row,
            worker_id,
            status=SUBMITTED,
            lease_owner=None,
            lease_expires_at=None,
            attempts=row.attempts - 1,
            updated_at=now_ms(),
        )

    async def fail_exhausted(self, max_attempts: int) -> int:
        """Fail tasks whose lease expired after their last allowed attempt."""
        now = now_ms()
        stmt = (
            sa.update(TaskRow)
            .where(
                TaskRow.status == PROCESSING,
                TaskRow.lease_expires_at < now,
                TaskRow.attempts >= max_attempts,
            )
            .values(
                status=TaskStatus.FAILED.value,
                status_msg=(
                    f"generation was interrupted {max_attempts} times (worker crash or restart); "
                    "giving up"
                ),
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        async with self.db.session() as session, session.begin():
            result = await session.execute(stmt)
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def expire_all_leases(self) -> int:
        """Single-node (SQLite) start-up: no other process can hold a lease, so free them now."""
        stmt = (
            sa.update(TaskRow)
            .where(TaskRow.status == PROCESSING)
            .values(lease_expires_at=0)
            .execution_options(synchronize_session=False)
        )
        async with self.db.session() as session, session.begin():
            result = await session.execute(stmt)
            return int(result.rowcount)  # type: ignore[attr-defined]
