"""The callback outbox, sender side: claim due events in per-task order, settle attempts,
read the delivery log, and queue a redelivery.

A sender claims an event with a lease (``lease_until``, also the token that settles it), so
several API processes can share one outbox and an event whose sender died is taken again
when the lease runs out. An event is due only when no earlier event of its task is still
pending: a task's callbacks arrive in the order its status changed. After a 410 Gone,
nothing more of that task goes to that URL: the answer marks the task's pending events gone,
and a claim passes over (and marks) any event that was written while the answer was being
settled, which on PostgreSQL neither transaction can see in the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.outbox import GONE_NOTE, EventState
from openreel.store.tables import Base, CallbackAttemptRow, CallbackEventRow

_d = Base.metadata.tables[CallbackEventRow.__tablename__]
_a = Base.metadata.tables[CallbackAttemptRow.__tablename__]
_earlier = _d.alias("earlier")


def _delivery(row: Any) -> CallbackEventRow:
    return CallbackEventRow(**row._mapping)


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, for the delivery log."""

    started_at: int
    duration_ms: int
    status_code: int | None
    error: str


@dataclass(frozen=True)
class Outcome:
    """How a settled attempt leaves its delivery."""

    state: EventState
    attempts: int  # position in the retry schedule after this attempt
    next_attempt_at: int
    status_code: int | None
    error: str


@dataclass(frozen=True)
class LoggedEvent:
    delivery: CallbackEventRow
    attempts: list[CallbackAttemptRow]


def _waiting(now: int) -> sa.ColumnElement[bool]:
    """Pending, not being sent, and first in its task's line (due or not)."""
    earlier_pending = (
        sa.select(sa.literal(1))
        .select_from(_earlier)
        .where(
            _earlier.c.task_id == _d.c.task_id,
            _earlier.c.seq < _d.c.seq,
            _earlier.c.state == EventState.PENDING,
        )
        .correlate(_d)
        .exists()
    )
    return sa.and_(
        _d.c.state == EventState.PENDING,
        sa.or_(_d.c.lease_until.is_(None), _d.c.lease_until < now),
        ~earlier_pending,
    )


def _due(now: int) -> sa.ColumnElement[bool]:
    return sa.and_(_waiting(now), _d.c.next_attempt_at <= now, ~_gone_to_url())


def _gone_to_url() -> sa.Exists:
    """Another event of the task to the same URL is gone (its receiver answered 410)."""
    return (
        sa.select(sa.literal(1))
        .select_from(_earlier)
        .where(
            _earlier.c.task_id == _d.c.task_id,
            _earlier.c.url == _d.c.url,
            _earlier.c.state == EventState.GONE,
        )
        .correlate(_d)
        .exists()
    )


class EventRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim_due(self, limit: int, lease_ms: int) -> list[CallbackEventRow]:
        """Lease up to ``limit`` due events (oldest due first)."""
        now = now_ms()
        token = now + lease_ms
        candidates = (
            sa.select(_d.c.id)
            .where(_due(now))
            .order_by(_d.c.next_attempt_at, _d.c.task_id, _d.c.seq)
            .limit(limit)
        )

        def change(conn: Connection) -> list[CallbackEventRow]:
            # One statement marks, the next claims: an event that commits in between is
            # passed over by the claim and marked by the next one.
            conn.execute(
                sa.update(_d)
                .where(_d.c.state == EventState.PENDING, _gone_to_url())
                .values(state=EventState.GONE, last_error=GONE_NOTE, updated_at=now)
            )
            claimed = []
            for (delivery_id,) in conn.execute(candidates).all():
                row = conn.execute(
                    sa.update(_d)
                    .where(
                        _d.c.id == delivery_id,
                        _d.c.state == EventState.PENDING,
                        sa.or_(_d.c.lease_until.is_(None), _d.c.lease_until < now),
                    )
                    .values(lease_until=token)
                    .returning(*_d.columns)
                ).one_or_none()
                if row is not None:
                    claimed.append(_delivery(row))
            return claimed

        return await self.db.write(change)

    async def next_due_at(self) -> int | None:
        """When the next event that could be claimed falls due (ms), if there is one; events
        being sent, or waiting behind an earlier one of their task, do not count."""
        stmt = sa.select(sa.func.min(_d.c.next_attempt_at)).where(_waiting(now_ms()))
        return await self.db.read(lambda conn: conn.execute(stmt).scalar())

    async def settle(self, delivery: CallbackEventRow, attempt: Attempt, outcome: Outcome) -> bool:
        """Log ``attempt`` and move the delivery to ``outcome``, if our lease still holds."""
        now = now_ms()

        def change(conn: Connection) -> bool:
            updated = conn.execute(
                sa.update(_d)
                .where(_d.c.id == delivery.id, _d.c.lease_until == delivery.lease_until)
                .values(
                    state=outcome.state,
                    attempts=outcome.attempts,
                    next_attempt_at=outcome.next_attempt_at,
                    lease_until=None,
                    last_status_code=outcome.status_code,
                    last_error=outcome.error,
                    updated_at=now,
                    delivered_at=now if outcome.state == EventState.DELIVERED else None,
                )
            ).rowcount
            if not updated:
                return False
            number = conn.execute(
                sa.select(sa.func.count()).select_from(_a).where(_a.c.delivery_id == delivery.id)
            ).scalar_one()
            conn.execute(
                sa.insert(_a).values(
                    delivery_id=delivery.id,
                    number=int(number) + 1,
                    started_at=attempt.started_at,
                    duration_ms=attempt.duration_ms,
                    status_code=attempt.status_code,
                    error=attempt.error,
                )
            )
            if outcome.state == EventState.GONE:
                # 410: the receiver wants no more callbacks for this task at this URL.
                conn.execute(
                    sa.update(_d)
                    .where(
                        _d.c.task_id == delivery.task_id,
                        _d.c.url == delivery.url,
                        _d.c.state == EventState.PENDING,
                    )
                    .values(
                        state=EventState.GONE,
                        last_error=f"not sent: event {delivery.id} was answered 410 Gone",
                        updated_at=now,
                    )
                )
            return True

        return await self.db.write(change)

    async def log(self, task_id: str) -> list[LoggedEvent]:
        """Every event of ``task_id`` with its attempts, in order."""

        def query(conn: Connection) -> list[LoggedEvent]:
            deliveries = [
                _delivery(row)
                for row in conn.execute(
                    sa.select(_d).where(_d.c.task_id == task_id).order_by(_d.c.created_at, _d.c.id)
                )
            ]
            attempts: dict[str, list[CallbackAttemptRow]] = {d.id: [] for d in deliveries}
            if deliveries:
                rows = conn.execute(
                    sa.select(_a)
                    .where(_a.c.delivery_id.in_(list(attempts)))
                    .order_by(_a.c.delivery_id, _a.c.number)
                )
                for row in rows:
                    attempts[row.delivery_id].append(CallbackAttemptRow(**row._mapping))
            return [LoggedEvent(d, attempts[d.id]) for d in deliveries]

        return await self.db.read(query)

    async def redeliver(self, task_id: str, event_ids: Sequence[str]) -> list[str]:
        """Queue events of ``task_id`` again (same webhook-id, a fresh retry schedule).

        Events being sent right now are left alone. Returns the ids queued.
        """
        now = now_ms()

        def change(conn: Connection) -> list[str]:
            queued: list[str] = []
            for event_id in event_ids:
                # The event joins the end of its task's line (a new seq), so an old event
                # sent again never holds up the task's newer ones.
                last = (
                    sa.select(sa.func.max(_earlier.c.seq))
                    .where(_earlier.c.task_id == task_id)
                    .scalar_subquery()
                )
                stmt = (
                    sa.update(_d)
                    .where(
                        _d.c.task_id == task_id,
                        _d.c.id == event_id,
                        sa.or_(_d.c.lease_until.is_(None), _d.c.lease_until < now),
                    )
                    .values(
                        seq=last + 1,
                        state=EventState.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        lease_until=None,
                        updated_at=now,
                        delivered_at=None,
                    )
                    .returning(_d.c.id)
                )
                queued.extend(row.id for row in conn.execute(stmt))
            return queued

        return await self.db.write(change)

    async def expire_leases(self) -> int:
        """Single-node (SQLite) start-up: no other process can be sending; free the leases."""
        stmt = sa.update(_d).where(_d.c.lease_until.is_not(None)).values(lease_until=None)
        return await self.db.write(lambda conn: int(conn.execute(stmt).rowcount))
