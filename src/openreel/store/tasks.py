"""The worker's side of the task table: lease-based claim, heartbeats and final states.

Every worker-side state change is a conditional UPDATE on (id, status, lease_owner, attempts),
so a worker that lost its lease can never overwrite the task's state. A change of status
writes its callback event to the outbox in the same transaction (``callbacks.outbox``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.callbacks.outbox import record_event
from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import Base, TaskRow
from openreel.wire.tasks import TaskStatus

SUBMITTED = TaskStatus.SUBMITTED.value
PROCESSING = TaskStatus.PROCESSING.value

_t = Base.metadata.tables[TaskRow.__tablename__]
T = TypeVar("T")


def _task(row: Any) -> TaskRow:
    return TaskRow(**row._mapping)


class TaskRepository:
    def __init__(self, db: Database, on_event: Callable[[], None] = lambda: None) -> None:
        self.db = db
        # Called after a commit that queued a callback event (wakes this process's sender).
        self.on_event = on_event

    async def get(self, task_id: str) -> TaskRow | None:
        def query(conn: Connection) -> TaskRow | None:
            row = conn.execute(sa.select(_t).where(_t.c.id == task_id)).one_or_none()
            return _task(row) if row is not None else None

        return await self.db.read(query)

    async def claim(
        self, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> TaskRow | None:
        """Take the oldest runnable task: submitted, or processing with an expired lease and
        attempts left (exhausted ones are settled by ``fail_exhausted``)."""
        now = now_ms()
        runnable = sa.or_(
            _t.c.status == SUBMITTED,
            sa.and_(
                _t.c.status == PROCESSING,
                _t.c.lease_expires_at < now,
                _t.c.attempts < max_attempts,
            ),
        )
        candidate = (
            sa.select(_t.c.id, _t.c.status).where(runnable).order_by(_t.c.created_at, _t.c.id)
        ).limit(1)
        if not self.db.is_sqlite:
            candidate = candidate.with_for_update(skip_locked=True)

        def change(conn: Connection) -> tuple[TaskRow | None, bool]:
            found = conn.execute(candidate).one_or_none()
            if found is None:
                return None, False
            stmt = (
                sa.update(_t)
                .where(_t.c.id == found.id, runnable)
                .values(
                    status=PROCESSING,
                    lease_owner=worker_id,
                    lease_expires_at=now + int(lease_seconds * 1000),
                    attempts=_t.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*_t.columns)
            )
            row = conn.execute(stmt).one_or_none()
            if row is None:
                return None, False
            # A retry after a lost lease is still `processing`: no change to report.
            event = found.status == SUBMITTED and record_event(conn, dict(row._mapping), now)
            return _task(row), event

        return await self._changed(change)

    async def _changed(self, change: Callable[[Connection], tuple[T, bool]]) -> T:
        result, event = await self.db.write(change)
        if event:
            self.on_event()
        return result

    async def _update(self, where: sa.ColumnElement[bool], **values: Any) -> int:
        """UPDATE matching rows; a change of status queues each row's callback event."""
        stmt = sa.update(_t).where(where).values(**values)
        if "status" not in values:
            return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount))

        def change(conn: Connection) -> tuple[int, bool]:
            rows = conn.execute(stmt.returning(*_t.columns)).all()
            now = values.get("updated_at") or now_ms()
            events = [record_event(conn, dict(row._mapping), now) for row in rows]
            return len(rows), any(events)

        return await self._changed(change)

    def _held(self, row: TaskRow, worker_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            _t.c.id == row.id,
            _t.c.status == PROCESSING,
            _t.c.lease_owner == worker_id,
            _t.c.attempts == row.attempts,
        )

    async def heartbeat(
        self, row: TaskRow, worker_id: str, lease_seconds: float, progress: int
    ) -> bool:
        now = now_ms()
        changed = await self._update(
            self._held(row, worker_id),
            lease_expires_at=now + int(lease_seconds * 1000),
            progress=progress,
            updated_at=now,
        )
        return changed > 0

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
        return await self._update(self._held(row, worker_id), **values) > 0

    async def release(self, row: TaskRow, worker_id: str) -> bool:
        """Hand a task back to the queue on graceful shutdown, not counting the attempt."""
        changed = await self._update(
            self._held(row, worker_id),
            status=SUBMITTED,
            lease_owner=None,
            lease_expires_at=None,
            attempts=row.attempts - 1,
            updated_at=now_ms(),
        )
        return changed > 0

    async def fail_exhausted(self, max_attempts: int) -> int:
        """Fail tasks whose lease expired after their last allowed attempt."""
        now = now_ms()
        return await self._update(
            sa.and_(
                _t.c.status == PROCESSING,
                _t.c.lease_expires_at < now,
                _t.c.attempts >= max_attempts,
            ),
            status=TaskStatus.FAILED.value,
            status_msg=(
                f"generation was interrupted {max_attempts} times (worker crash or restart); "
                "giving up"
            ),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )

    async def expire_all_leases(self) -> int:
        """Single-node (SQLite) start-up: no other process can hold a lease, so free them now."""
        return await self._update(_t.c.status == PROCESSING, lease_expires_at=0)
