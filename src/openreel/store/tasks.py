"""The worker's side of the task table: lease-based claim, heartbeats and final states.

Every worker-side state change is a conditional UPDATE on (id, status, lease_owner, attempts),
so a worker that lost its lease can never overwrite the task's state. A change of status
writes its callback event to the outbox in the same transaction (``store.outbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.clock import now_ms
from openreel.store.cancels import owe_cancel
from openreel.store.db import Database
from openreel.store.outbox import record_event
from openreel.store.slots import drop_slots
from openreel.store.tables import Base, TaskRow
from openreel.store.usage import charge
from openreel.wire.tasks import TaskStatus

SUBMITTED = TaskStatus.SUBMITTED.value
PROCESSING = TaskStatus.PROCESSING.value
ENDED = (TaskStatus.SUCCEED.value, TaskStatus.FAILED.value)

_t = Base.metadata.tables[TaskRow.__tablename__]
T = TypeVar("T")


@dataclass(frozen=True)
class TaskRecord:
    """A task row as workers and queues hold it: a frozen copy, never the ORM object (which
    could be mutated or lazily reloaded away from the conditional UPDATEs below)."""

    id: str
    owner_id: str
    family: str
    kind: str
    model_name: str
    engine: str
    external_task_id: str | None
    request_hash: str
    params: Mapping[str, Any]  # the request as sent
    plan: Mapping[str, Any]  # tasks.plan.RenderPlan as JSON
    callback_base_url: str | None
    status: str
    status_msg: str
    progress: int
    result: Mapping[str, Any] | None
    attempts: int
    lease_owner: str | None
    lease_expires_at: int | None
    created_at: int
    updated_at: int
    price_milli: int | None = None  # quoted at create (or upstream's charge); charged on success


_FIELDS = tuple(f.name for f in fields(TaskRecord))


def _task(row: Any) -> TaskRecord:
    values = row._mapping
    return TaskRecord(**{name: values[name] for name in _FIELDS})


def exhausted_message(max_attempts: int) -> str:
    return f"generation was interrupted {max_attempts} times (worker crash or restart); giving up"


@dataclass(frozen=True)
class Claim:
    """What a queue job found for its task: a row to run, a live lease held elsewhere (retry
    after ``wait_seconds``), or neither (the task is finished or gone: nothing to do)."""

    row: TaskRecord | None = None
    wait_seconds: float | None = None


class TaskRepository:
    def __init__(self, db: Database, on_event: Callable[[], None] = lambda: None) -> None:
        self.db = db
        # Called after a commit that queued a callback event (wakes this process's sender).
        self.on_event = on_event

    async def get(self, task_id: str) -> TaskRecord | None:
        def query(conn: Connection) -> TaskRecord | None:
            row = conn.execute(sa.select(_t).where(_t.c.id == task_id)).one_or_none()
            return _task(row) if row is not None else None

        return await self.db.read(query)

    async def claim(
        self, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> TaskRecord | None:
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

        def change(conn: Connection) -> tuple[TaskRecord | None, bool]:
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

    async def claim_task(
        self, task_id: str, worker_id: str, lease_seconds: float, max_attempts: int
    ) -> Claim:
        """Take one task by id (a queue job names its task): submitted, or processing with an
        expired lease. A live lease means another worker may still run it; an expired one on
        the last allowed attempt fails the task."""
        now = now_ms()

        def change(conn: Connection) -> tuple[Claim, bool]:
            lock = sa.select(_t).where(_t.c.id == task_id)
            if not self.db.is_sqlite:
                lock = lock.with_for_update()
            found = conn.execute(lock).one_or_none()
            if found is None or found.status not in (SUBMITTED, PROCESSING):
                return Claim(), False
            if found.status == PROCESSING and (found.lease_expires_at or 0) >= now:
                return Claim(wait_seconds=(found.lease_expires_at - now) / 1000 + 0.05), False
            values: dict[str, Any] = {"updated_at": now}
            if found.status == PROCESSING and found.attempts >= max_attempts:
                values.update(
                    status=TaskStatus.FAILED.value,
                    status_msg=exhausted_message(max_attempts),
                    lease_owner=None,
                    lease_expires_at=None,
                )
            else:
                values.update(
                    status=PROCESSING,
                    lease_owner=worker_id,
                    lease_expires_at=now + int(lease_seconds * 1000),
                    attempts=found.attempts + 1,
                )
            row = conn.execute(
                sa.update(_t).where(_t.c.id == task_id).values(**values).returning(*_t.columns)
            ).one()
            # A retry after a lost lease is still `processing`: no change to report.
            event = row.status != found.status and record_event(conn, dict(row._mapping), now)
            if row.status in ENDED:
                drop_slots(conn, [row.id])
            claimed = row.status == PROCESSING
            return Claim(row=_task(row) if claimed else None), event

        return await self._changed(change)

    async def cancel(self, task_id: str, message: str) -> bool:
        """End a submitted or processing task as ``failed`` (the API's cancel). A worker
        running it loses its lease: its heartbeat and its finish no longer match. A task whose
        engine has kept state (the relay: an upstream task may exist) is owed a cancel there
        (``store.cancels``), due for anyone once the lease it had would have run out."""
        now = now_ms()
        cancellable = sa.and_(_t.c.id == task_id, _t.c.status.in_((SUBMITTED, PROCESSING)))

        def change(conn: Connection) -> tuple[bool, bool]:
            lock = sa.select(_t.c.status, _t.c.lease_expires_at, _t.c.plan).where(cancellable)
            if not self.db.is_sqlite:
                lock = lock.with_for_update()
            found = conn.execute(lock).one_or_none()
            if found is None:
                return False, False
            stmt = (
                sa.update(_t)
                .where(cancellable)
                .values(
                    status=TaskStatus.FAILED.value,
                    status_msg=message,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
                .returning(*_t.columns)
            )
            row = conn.execute(stmt).one()
            event = record_event(conn, dict(row._mapping), now)
            drop_slots(conn, [task_id])
            if (found.plan or {}).get("engine_state"):
                held = found.lease_expires_at if found.status == PROCESSING else None
                owe_cancel(conn, task_id, row.engine, max(now, held or 0), now)
            return True, event

        return await self._changed(change)

    async def _changed(self, change: Callable[[Connection], tuple[T, bool]]) -> T:
        result, event = await self.db.write(change)
        if event:
            self.on_event()
        return result

    async def _update(
        self,
        where: sa.ColumnElement[bool],
        after: Callable[[Connection, Any, int], None] | None = None,
        **values: Any,
    ) -> int:
        """UPDATE matching rows; a change of status queues each row's callback event, and
        runs ``after`` on each changed row, in the same transaction. A task that ends loses
        its engine slot there too (a crashed worker's row would otherwise stay forever)."""
        stmt = sa.update(_t).where(where).values(**values)
        if "status" not in values:
            return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount))

        def change(conn: Connection) -> tuple[int, bool]:
            rows = conn.execute(stmt.returning(*_t.columns)).all()
            now = values.get("updated_at") or now_ms()
            if after is not None:
                for row in rows:
                    after(conn, row, now)
            events = [record_event(conn, dict(row._mapping), now) for row in rows]
            if values["status"] in ENDED:
                drop_slots(conn, [row.id for row in rows])
            return len(rows), any(events)

        return await self._changed(change)

    def _held(self, row: TaskRecord, worker_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(
            _t.c.id == row.id,
            _t.c.status == PROCESSING,
            _t.c.lease_owner == worker_id,
            _t.c.attempts == row.attempts,
        )

    async def heartbeat(
        self, row: TaskRecord, worker_id: str, lease_seconds: float, progress: int
    ) -> bool:
        now = now_ms()
        changed = await self._update(
            self._held(row, worker_id),
            lease_expires_at=now + int(lease_seconds * 1000),
            progress=progress,
            updated_at=now,
        )
        return changed > 0

    async def save_engine_state(
        self, row: TaskRecord, worker_id: str, state: Mapping[str, Any]
    ) -> bool:
        """Store what the engine keeps across attempts (``plan.engine_state``), if this worker
        still holds the task."""
        plan = {**row.plan, "engine_state": dict(state)}
        return await self._update(self._held(row, worker_id), plan=plan, updated_at=now_ms()) > 0

    async def note(self, row: TaskRecord, worker_id: str, message: str) -> bool:
        """A running task's ``status_msg``, if this worker still holds it."""
        return await self._update(self._held(row, worker_id), status_msg=message) > 0

    async def finish(
        self,
        row: TaskRecord,
        worker_id: str,
        status: TaskStatus,
        message: str = "",
        result: dict[str, Any] | None = None,
        charged_milli: int | None = None,
    ) -> bool:
        """End a held task. A success charges ``charged_milli`` when given (what an upstream
        billed a relayed task), which then replaces the price quoted at create, else the
        quoted price."""
        values: dict[str, Any] = {
            "status": status.value,
            "status_msg": message,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now_ms(),
        }
        if status != TaskStatus.SUCCEED:
            return await self._update(self._held(row, worker_id), **values) > 0
        # Success and its charge (task_usage) commit together, or neither does.
        values.update(progress=100, result=result)
        if charged_milli is not None:
            values["price_milli"] = charged_milli
        return await self._update(self._held(row, worker_id), after=charge, **values) > 0

    async def release(self, row: TaskRecord, worker_id: str) -> bool:
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
            status_msg=exhausted_message(max_attempts),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )

    async def expire_all_leases(self) -> int:
        """Single-node (SQLite) start-up: no other process can hold a lease, so free them now."""
        return await self._update(_t.c.status == PROCESSING, lease_expires_at=0)
