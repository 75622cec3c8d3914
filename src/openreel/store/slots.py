"""Engine slots (``engine_slots``): how many tasks of one pool (a relay upstream) and of one of
its keys are in flight, counted in the database so that ``max_concurrency`` holds across every
worker process, and the nudges an upstream's callbacks leave for the render of a task.

A slot counts only while its task is ``processing`` under a live lease: a worker that dies
holding one frees it when its lease runs out, and the next attempt takes it over. A task that
ends (any status, by any path: ``store.tasks``) loses its row in the same transaction, and
``delete_stale`` clears whatever is left of tasks that are not running (rows of older
versions, or of a process that died between the two).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import Base, EngineSlotRow, TaskRow
from openreel.wire.tasks import TaskStatus

_s = Base.metadata.tables[EngineSlotRow.__tablename__]
_t = Base.metadata.tables[TaskRow.__tablename__]
# pg_advisory_xact_lock(class, hashtext(pool)) serialises the takes of one pool: "slot".
_LOCK_CLASS = 0x736C6F74


def drop_slots(conn: Connection, task_ids: list[str]) -> None:
    """Delete the slot rows of tasks that have just ended (in their ending transaction)."""
    if task_ids:
        conn.execute(sa.delete(_s).where(_s.c.task_id.in_(task_ids)))


class SlotRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(
        self,
        task_id: str,
        holder: str,
        pool: str,
        key: str,
        pool_limit: int,
        key_limit: int | None,
        *,
        force: bool = False,
    ) -> bool:
        """Take (or move to ``key``) the task's slot if the pool (``pool_limit`` tasks at once)
        and the key (``key_limit``, None: no bound of its own) have room, or
        whatever they have when ``force`` (the upstream task exists already: it runs there
        whether counted or not). Another slot of the same task is replaced, never counted."""
        now = now_ms()

        def in_flight(conn: Connection, *where: sa.ColumnElement[bool]) -> int:
            live = sa.and_(
                _t.c.id == _s.c.task_id,
                _t.c.status == TaskStatus.PROCESSING.value,
                _t.c.lease_expires_at >= now,
            )
            query = (
                sa.select(sa.func.count())
                .select_from(_s.join(_t, live))
                .where(_s.c.pool == pool, _s.c.task_id != task_id, *where)
            )
            return int(conn.execute(query).scalar_one())

        def change(conn: Connection) -> bool:
            if not self.db.is_sqlite:  # SQLite: writers are serialised already
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:c, hashtext(:p))"),
                    {"c": _LOCK_CLASS, "p": pool},
                )
            if not force:
                if in_flight(conn) >= pool_limit:
                    return False
                if key_limit is not None and in_flight(conn, _s.c.pool_key == key) >= key_limit:
                    return False
            nudges = conn.execute(
                sa.delete(_s).where(_s.c.task_id == task_id).returning(_s.c.nudges)
            ).scalar_one_or_none()
            conn.execute(
                sa.insert(_s).values(
                    task_id=task_id,
                    pool=pool,
                    pool_key=key,
                    holder=holder,
                    taken_at=now,
                    nudges=nudges or 0,
                )
            )
            return True

        return await self.db.write(change)

    async def free(self, task_id: str, holder: str) -> None:
        """Give the slot back (only the holder's: a worker that lost the task frees nothing)."""
        await self.db.write(
            lambda conn: conn.execute(
                sa.delete(_s).where(_s.c.task_id == task_id, _s.c.holder == holder)
            )
        )

    async def delete_stale(self) -> int:
        """Delete the rows of tasks that are not ``processing`` (ended, queued again, gone):
        they count for nothing already, but would pile up."""
        running = sa.select(_t.c.id).where(_t.c.status == TaskStatus.PROCESSING.value)
        stmt = sa.delete(_s).where(_s.c.task_id.not_in(running))
        return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount))

    async def nudge(self, task_id: str) -> bool:
        """Tell the task's render that upstream has news (an upstream callback); False when no
        render holds a slot for it (the next one asks upstream first anyway)."""
        stmt = sa.update(_s).where(_s.c.task_id == task_id).values(nudges=_s.c.nudges + 1)
        return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount)) > 0

    async def nudges(self, task_id: str) -> int:
        query = sa.select(_s.c.nudges).where(_s.c.task_id == task_id)
        return await self.db.read(lambda conn: int(conn.execute(query).scalar_one_or_none() or 0))
