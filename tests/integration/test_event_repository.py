"""EventRepository (store/events.py) on its own, on SQLite and PostgreSQL: after a receiver
answers 410 Gone, no later event of that task goes to that URL, even one written while the
answer was being settled (on PostgreSQL the two transactions do not see each other, which is
how a second callback once reached a receiver that had answered 410)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.store.db import Database
from openreel.store.events import Attempt, EventRepository, Outcome
from openreel.store.outbox import GONE_NOTE, EventState, record_event
from openreel.store.tables import CallbackEventRow

pytestmark = pytest.mark.db

HOOK = "http://receiver.test/hook"


def task(status: str, url: str = HOOK) -> dict[str, Any]:
    now = now_ms()
    return {
        "id": "t1",
        "owner_id": "owner",
        "family": "videos/image2video",
        "status": status,
        "params": {"callback_url": url},
        "created_at": now,
        "updated_at": now,
    }


async def record(db: Database, status: str, url: str = HOOK) -> None:
    await db.write(lambda conn: record_event(conn, task(status, url), now_ms()))


async def states(db: Database) -> list[tuple[str, str, str]]:
    query = sa.select(
        CallbackEventRow.task_status, CallbackEventRow.state, CallbackEventRow.last_error
    ).order_by(CallbackEventRow.seq)
    rows = await db.read(lambda conn: conn.execute(query).all())
    return [(row.task_status, row.state, row.last_error) for row in rows]


async def answer_410(events: EventRepository) -> None:
    (first,) = await events.claim_due(10, 60_000)
    now = now_ms()
    attempt = Attempt(started_at=now, duration_ms=5, status_code=410, error="")
    gone = Outcome(EventState.GONE, 1, now, 410, "receiver answered 410 Gone")
    assert await events.settle(first, attempt, gone)


async def test_an_event_written_during_the_410_is_not_sent(db: Database) -> None:
    events = EventRepository(db)
    await record(db, "submitted")
    await answer_410(events)
    # The worker's transaction checked for a 410 before the answer above committed, so it
    # wrote its event pending, and committed after the answer's sweep of pending events.
    await record(db, "succeed")
    mark_pending = (
        sa.update(CallbackEventRow)
        .where(CallbackEventRow.task_status == "succeed")
        .values(state=EventState.PENDING, last_error="")
    )
    await db.write(lambda conn: conn.execute(mark_pending))

    assert await events.claim_due(10, 60_000) == []
    assert await states(db) == [
        ("submitted", "gone", "receiver answered 410 Gone"),
        ("succeed", "gone", GONE_NOTE),
    ]
    assert await events.next_due_at() is None


async def test_a_410_stops_only_its_url(db: Database) -> None:
    events = EventRepository(db)
    await record(db, "submitted")
    await answer_410(events)
    await record(db, "processing")  # written after the answer: gone at once
    await record(db, "succeed", url="http://other.test/hook")
    (claimed,) = await events.claim_due(10, 60_000)
    assert (claimed.task_status, claimed.url) == ("succeed", "http://other.test/hook")
    assert [state for _, state, _ in await states(db)] == ["gone", "gone", "pending"]
