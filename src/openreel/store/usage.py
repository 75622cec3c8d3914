"""Usage accounting: the units succeeded tasks charged, and the keys' resource packs.

A task's price is quoted at create (``tasks.price_milli``, thousandths of a unit). A create
for a key with a pack runs ``QuotaGuard`` in the transaction that inserts the task: it locks
the pack row (PostgreSQL ``FOR UPDATE``; SQLite writers are serialised by the database lock)
and refuses the task when what the period already charged, plus what the key's unfinished
tasks will charge, plus this price, exceeds the pack. Concurrent creates therefore cannot
overshoot it. ``charge`` writes the ``task_usage`` row in the transaction that marks the task
``succeed``; a failed or cancelled task charges nothing (its reservation simply ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.store.db import Database
from openreel.store.keys import key_matches
from openreel.store.pack_period import PackPeriod
from openreel.store.tables import ApiKeyRow, Base, ResourcePackRow, TaskRow, TaskUsageRow
from openreel.wire.tasks import TaskStatus

_t = Base.metadata.tables[TaskRow.__tablename__]
_u = Base.metadata.tables[TaskUsageRow.__tablename__]
_p = Base.metadata.tables[ResourcePackRow.__tablename__]
_k = Base.metadata.tables[ApiKeyRow.__tablename__]

_UNFINISHED = (TaskStatus.SUBMITTED.value, TaskStatus.PROCESSING.value)


class QuotaExceeded(Exception):
    """A create its key's resource pack cannot pay for."""

    def __init__(self, pack: str, remaining_milli: int, price_milli: int, reason: str) -> None:
        super().__init__(reason)
        self.pack = pack
        self.remaining_milli = remaining_milli
        self.price_milli = price_milli
        self.reason = reason


@dataclass(frozen=True)
class PackState:
    """A pack as ``/account/costs`` shows it, at one instant."""

    id: str
    owner_id: str
    name: str
    period: PackPeriod
    total_milli: int
    used_milli: int  # charged in the current period, plus reserved by unfinished tasks
    purchase_time: int
    period_start: int
    period_end: int | None

    @property
    def remaining_milli(self) -> int:
        return max(0, self.total_milli - self.used_milli)


def _month_start(at_ms: int, months_ahead: int = 0) -> int:
    day = datetime.fromtimestamp(at_ms / 1000, UTC)
    index = day.year * 12 + day.month - 1 + months_ahead
    start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000)


def period_of(pack: Any, now: int) -> tuple[int, int | None]:
    """The pack's current period [start, end): the month around ``now`` for monthly packs
    (never before the pack began), else the pack's own validity."""
    if pack.period == PackPeriod.MONTHLY:
        return max(pack.effective_time, _month_start(now)), _month_start(now, 1)
    return pack.effective_time, pack.invalid_time


def _used(conn: Connection, owner_id: str, start: int, end: int | None) -> int:
    """Units charged in [start, end) plus the prices of the key's unfinished tasks."""
    charged = sa.select(sa.func.coalesce(sa.func.sum(_u.c.units_milli), 0)).where(
        _u.c.owner_id == owner_id, _u.c.charged_at >= start
    )
    if end is not None:
        charged = charged.where(_u.c.charged_at < end)
    reserved = sa.select(sa.func.coalesce(sa.func.sum(_t.c.price_milli), 0)).where(
        _t.c.owner_id == owner_id, _t.c.status.in_(_UNFINISHED)
    )
    return int(conn.execute(charged).scalar_one()) + int(conn.execute(reserved).scalar_one())


def _state(conn: Connection, pack: Any, now: int) -> PackState:
    start, end = period_of(pack, now)
    return PackState(
        id=pack.id,
        owner_id=pack.owner_id,
        name=pack.name,
        period=PackPeriod(pack.period),
        total_milli=pack.total_milli,
        used_milli=_used(conn, pack.owner_id, start, end),
        purchase_time=pack.purchase_time,
        period_start=start,
        period_end=end,
    )


@dataclass(frozen=True)
class QuotaGuard:
    """Runs inside the create's transaction, before the insert (see the module docstring)."""

    owner_id: str
    price_milli: int
    now: int

    def __call__(self, conn: Connection) -> None:
        lock = sa.select(_p).where(_p.c.owner_id == self.owner_id)
        if conn.dialect.name == "postgresql":
            lock = lock.with_for_update()
        pack = conn.execute(lock).one_or_none()
        if pack is None:
            return  # removed since the create looked
        state = _state(conn, pack, self.now)
        if state.period_end is not None and self.now >= state.period_end:
            reason = f"resource pack '{pack.name}' expired"
        elif self.now < state.period_start:
            reason = f"resource pack '{pack.name}' is not effective yet"
        elif state.remaining_milli < self.price_milli:
            reason = f"resource pack '{pack.name}' is exhausted"
        else:
            return
        raise QuotaExceeded(pack.name, state.remaining_milli, self.price_milli, reason)


def charge(conn: Connection, task: Any, now: int) -> None:
    """Record what a task that just succeeded charged (its quoted price)."""
    conn.execute(
        sa.insert(_u).values(
            task_id=task.id,
            owner_id=task.owner_id,
            kind=task.kind,
            model_name=task.model_name,
            units_milli=task.price_milli or 0,
            charged_at=now,
        )
    )


class UsageRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def has_pack(self, owner_id: str) -> bool:
        stmt = sa.select(_p.c.id).where(_p.c.owner_id == owner_id)
        return await self.db.read(lambda conn: conn.execute(stmt).first() is not None)

    async def packs(self, owner_id: str, now: int) -> list[PackState]:
        def query(conn: Connection) -> list[PackState]:
            rows = conn.execute(sa.select(_p).where(_p.c.owner_id == owner_id)).all()
            return [_state(conn, row, now) for row in rows]

        return await self.db.read(query)

    async def set_pack(
        self,
        key: str,
        *,
        pack_id: str,
        name: str,
        period: PackPeriod,
        total_milli: int,
        now: int,
        invalid_time: int | None,
    ) -> str | None:
        """Give the key (by id, key prefix or access key) this pack, replacing any other;
        returns the key's id, or None if no key matches."""

        def change(conn: Connection) -> str | None:
            owner = conn.execute(sa.select(_k.c.id).where(key_matches(key)).limit(1)).first()
            if owner is None:
                return None
            conn.execute(sa.delete(_p).where(_p.c.owner_id == owner.id))
            conn.execute(
                sa.insert(_p).values(
                    id=pack_id,
                    owner_id=owner.id,
                    name=name,
                    period=period.value,
                    total_milli=total_milli,
                    purchase_time=now,
                    effective_time=now,
                    invalid_time=invalid_time,
                )
            )
            return str(owner.id)

        return await self.db.write(change)

    async def remove_pack(self, key: str) -> str | None:
        """Remove the key's pack (no quota); returns the key's id, or None if no key matches."""

        def change(conn: Connection) -> str | None:
            owner = conn.execute(sa.select(_k.c.id).where(key_matches(key)).limit(1)).first()
            if owner is None:
                return None
            conn.execute(sa.delete(_p).where(_p.c.owner_id == owner.id))
            return str(owner.id)

        return await self.db.write(change)

    async def charged(self, owner_id: str, start: int, end: int) -> int:
        """Units (thousandths) the key's succeeded tasks charged in [start, end)."""
        stmt = sa.select(sa.func.coalesce(sa.func.sum(_u.c.units_milli), 0)).where(
            _u.c.owner_id == owner_id, _u.c.charged_at >= start, _u.c.charged_at < end
        )
        return await self.db.read(lambda conn: int(conn.execute(stmt).scalar_one()))
