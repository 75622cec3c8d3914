"""Upstream cancels (``upstream_cancels``): a cancel owed to the place a task ran elsewhere
(the relay: its upstream task), recorded in the transaction of the local cancel.

``pending`` until someone claims it (the claim turns it ``sent`` before anything is sent, so
it is never sent twice): the task's last worker at once, anyone else from ``due_at`` on (the
moment that worker's lease would have run out). A sender that found no upstream task (a
create whose answer never came) leaves it ``unfound``, which only a worker that knows the
upstream task id may claim again.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.tables import Base, UpstreamCancelRow

_c = Base.metadata.tables[UpstreamCancelRow.__tablename__]
PENDING, SENT, UNFOUND = "pending", "sent", "unfound"


def owe_cancel(conn: Connection, task_id: str, engine: str, due_at: int, now: int) -> None:
    """Record the cancel owed for ``task_id`` (in the transaction of the local cancel)."""
    conn.execute(
        sa.insert(_c).values(
            task_id=task_id, engine=engine, due_at=due_at, state=PENDING, updated_at=now
        )
    )


class UpstreamCancels:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, task_id: str, *, holder: bool) -> bool:
        """Take the task's owed cancel to send it now; False: none is owed to this caller
        (none at all, already sent, or not yet due for a caller that is not its worker)."""
        now = now_ms()
        claimable: sa.ColumnElement[bool] = sa.and_(_c.c.state == PENDING, _c.c.due_at <= now)
        if holder:
            claimable = _c.c.state.in_((PENDING, UNFOUND))
        stmt = (
            sa.update(_c)
            .where(_c.c.task_id == task_id, claimable)
            .values(state=SENT, updated_at=now)
        )
        return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount)) > 0

    async def unfound(self, task_id: str) -> None:
        """The claimed cancel found no upstream task to send it to."""
        stmt = (
            sa.update(_c).where(_c.c.task_id == task_id).values(state=UNFOUND, updated_at=now_ms())
        )
        await self.db.write(lambda conn: conn.execute(stmt))

    async def due(self, engines: Iterable[str], limit: int = 100) -> list[str]:
        """Tasks of ``engines`` whose owed cancel anyone may send now."""
        names = list(engines)
        if not names:
            return []
        query = (
            sa.select(_c.c.task_id)
            .where(_c.c.state == PENDING, _c.c.due_at <= now_ms(), _c.c.engine.in_(names))
            .order_by(_c.c.due_at)
            .limit(limit)
        )
        return await self.db.read(lambda conn: [str(t) for t in conn.execute(query).scalars()])

    async def state(self, task_id: str) -> str | None:
        query = sa.select(_c.c.state).where(_c.c.task_id == task_id)
        return await self.db.read(lambda conn: conn.execute(query).scalar_one_or_none())
