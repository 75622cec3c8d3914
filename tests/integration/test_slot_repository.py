"""SlotRepository (store/slots.py) on its own, on SQLite and PostgreSQL: a slot counts against
its pool and key only while its task is ``processing`` under a live lease; a task that ends
(any path) loses its row, and the reconcile sweep deletes the rows of tasks not running."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.reconcile import Reconciler
from openreel.store.db import Database
from openreel.store.slots import SlotRepository
from openreel.store.tables import EngineSlotRow, TaskRow
from openreel.store.tasks import TaskRecord, TaskRepository
from openreel.wire.tasks import TaskStatus

pytestmark = pytest.mark.db

POOL = "relay:up"


async def add_task(
    db: Database, task_id: str, status: str = "processing", lease_s: float = 60
) -> None:
    now = now_ms()
    values: dict[str, Any] = {
        "id": task_id,
        "owner_id": "owner",
        "family": "videos/image2video",
        "kind": "image2video",
        "model_name": "kling-v2-1",
        "engine": POOL,
        "request_hash": "h",
        "params": {},
        "plan": {},
        "status": status,
        "status_msg": "",
        "progress": 0,
        "attempts": 1,
        "lease_owner": "w",
        "lease_expires_at": now + int(lease_s * 1000),
        "created_at": now,
        "updated_at": now,
    }
    await db.write(lambda conn: conn.execute(sa.insert(TaskRow).values(**values)))


async def set_task(db: Database, task_id: str, **values: Any) -> None:
    stmt = sa.update(TaskRow).where(TaskRow.id == task_id).values(**values)
    await db.write(lambda conn: conn.execute(stmt))


async def slot_rows(db: Database) -> dict[str, tuple[str, str]]:
    """task id -> (key, holder) of every engine_slots row."""
    query = sa.select(EngineSlotRow.task_id, EngineSlotRow.pool_key, EngineSlotRow.holder)
    rows = await db.read(lambda conn: conn.execute(query).all())
    return {row.task_id: (row.pool_key, row.holder) for row in rows}


async def test_pool_bound(db: Database) -> None:
    slots = SlotRepository(db)
    for n in range(3):
        await add_task(db, f"t{n}")
    assert await slots.take("t0", "w0", POOL, "k1", pool_limit=2, key_limit=None)
    assert await slots.take("t1", "w1", POOL, "k2", pool_limit=2, key_limit=None)
    assert not await slots.take("t2", "w2", POOL, "k3", pool_limit=2, key_limit=None)
    # Another pool has room of its own.
    assert await slots.take("t2", "w2", "relay:other", "k3", pool_limit=2, key_limit=None)
    assert set(await slot_rows(db)) == {"t0", "t1", "t2"}


async def test_key_bound_and_moving_keys(db: Database) -> None:
    slots = SlotRepository(db)
    for n in range(3):
        await add_task(db, f"t{n}")
    assert await slots.take("t0", "w0", POOL, "k1", pool_limit=10, key_limit=1)
    assert not await slots.take("t1", "w1", POOL, "k1", pool_limit=10, key_limit=1)
    assert await slots.take("t1", "w1", POOL, "k2", pool_limit=10, key_limit=1)
    # Taking again moves the task's slot (one row per task, never counted twice).
    assert await slots.take("t0", "w0", POOL, "k3", pool_limit=10, key_limit=1)
    assert (await slot_rows(db))["t0"] == ("k3", "w0")
    assert await slots.take("t2", "w2", POOL, "k1", pool_limit=10, key_limit=1)
    assert len(await slot_rows(db)) == 3


async def test_force_takes_a_full_pool(db: Database) -> None:
    slots = SlotRepository(db)
    await add_task(db, "t0")
    await add_task(db, "t1")
    assert await slots.take("t0", "w0", POOL, "k", pool_limit=1, key_limit=1)
    assert not await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=1)
    assert await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=1, force=True)
    assert set(await slot_rows(db)) == {"t0", "t1"}


async def test_free_only_by_the_holder(db: Database) -> None:
    slots = SlotRepository(db)
    await add_task(db, "t0")
    await add_task(db, "t1")
    assert await slots.take("t0", "w0", POOL, "k", pool_limit=1, key_limit=None)
    await slots.free("t0", "someone-else")  # a worker that lost the task frees nothing
    assert set(await slot_rows(db)) == {"t0"}
    assert not await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=None)
    await slots.free("t0", "w0")
    assert await slot_rows(db) == {}
    assert await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=None)


async def test_slots_of_expired_leases_and_ended_tasks_do_not_count(db: Database) -> None:
    slots = SlotRepository(db)
    for n in range(3):
        await add_task(db, f"t{n}")
    assert await slots.take("t0", "dead", POOL, "k", pool_limit=1, key_limit=None)
    assert not await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=None)
    # The holder died: once its lease ran out, its row no longer counts.
    await set_task(db, "t0", lease_expires_at=now_ms() - 1)
    assert await slots.take("t1", "w1", POOL, "k", pool_limit=1, key_limit=None)
    assert set(await slot_rows(db)) == {"t0", "t1"}  # the dead worker's row is still there
    # A task that is not processing (queued again, ended) counts for nothing either.
    await set_task(db, "t1", status="submitted")
    assert await slots.take("t2", "w2", POOL, "k", pool_limit=1, key_limit=None)
    # The next attempt of t0 takes its row over (one row per task).
    await set_task(db, "t0", lease_expires_at=now_ms() + 60_000, lease_owner="w3")
    assert await slots.take("t0", "w3", POOL, "k2", pool_limit=5, key_limit=None)
    assert (await slot_rows(db))["t0"] == ("k2", "w3")


async def test_nudges_follow_the_slot(db: Database) -> None:
    slots = SlotRepository(db)
    await add_task(db, "t0")
    assert not await slots.nudge("t0")  # no slot: nobody to tell
    assert await slots.take("t0", "w0", POOL, "k", pool_limit=1, key_limit=None)
    assert await slots.nudge("t0") and await slots.nudge("t0")
    assert await slots.nudges("t0") == 2
    # Moving to another key keeps the count the render compares against.
    assert await slots.take("t0", "w0", POOL, "k2", pool_limit=1, key_limit=None)
    assert await slots.nudges("t0") == 2


async def record(db: Database, task_id: str) -> TaskRecord:
    found = await TaskRepository(db).get(task_id)
    assert found is not None
    return found


async def test_ending_a_task_by_any_path_deletes_its_slot(db: Database) -> None:
    """A worker that crashed holding a slot leaves its row; whatever ends the task deletes it."""
    repo, slots = TaskRepository(db), SlotRepository(db)
    for n in range(5):
        await add_task(db, f"t{n}")
        assert await slots.take(f"t{n}", "w", POOL, "k", pool_limit=10, key_limit=None)
    # The holder finishes, or fails, its task.
    assert await repo.finish(await record(db, "t0"), "w", TaskStatus.SUCCEED, result={})
    assert await repo.finish(await record(db, "t1"), "w", TaskStatus.FAILED, "engine error")
    # The API's cancel.
    assert await repo.cancel("t2", "cancelled")
    # The holder died on the last attempt: the lease ran out and the task is failed.
    await set_task(db, "t3", lease_expires_at=now_ms() - 1)
    assert await repo.fail_exhausted(max_attempts=1) == 1
    await set_task(db, "t4", lease_expires_at=now_ms() - 1)
    claim = await repo.claim_task("t4", "w2", lease_seconds=60, max_attempts=1)
    assert claim.row is None and (await record(db, "t4")).status == "failed"
    assert await slot_rows(db) == {}


async def test_the_reconcile_sweep_deletes_rows_of_tasks_not_running(db: Database) -> None:
    slots = SlotRepository(db)
    for n, status in enumerate(["processing", "processing", "submitted", "failed", "succeed"]):
        await add_task(db, f"t{n}")
        assert await slots.take(f"t{n}", "w", POOL, "k", pool_limit=10, key_limit=None)
        await set_task(db, f"t{n}", status=status)
    await set_task(db, "t1", lease_expires_at=now_ms() - 1)  # its next attempt takes it over
    await Reconciler(slots).sweep()
    assert set(await slot_rows(db)) == {"t0", "t1"}
    await Reconciler(slots).sweep()
    assert set(await slot_rows(db)) == {"t0", "t1"}
