"""Writing callback events into the outbox, inside the transaction that changes the status.

Every status change of a task that has a ``callback_url`` adds one ``webhook_deliveries`` row
in the same transaction, so a change is never committed without its event (nor the other way
round), whatever crashes afterwards. The row keeps the task as it was at the change; result
URLs are minted when the event is sent, so a late retry still carries working links.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.ids import new_id
from openreel.store.tables import Base, CallbackEventRow

__all__ = ["GONE_NOTE", "EventState", "new_event_id", "record_event"]

GONE_NOTE = "not sent: the receiver answered 410 Gone earlier"


class EventState(StrEnum):
    """Where an event stands (the ``state`` column of ``webhook_deliveries``)."""

    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"  # a 2xx answered
    FAILED = "failed"  # the retry schedule ran out, or the answer ruled out a retry
    GONE = "gone"  # not sent: the receiver answered 410 Gone to an earlier event


_d = Base.metadata.tables[CallbackEventRow.__tablename__]


def new_event_id() -> str:
    return f"msg_{new_id()}"


def _params(task: Mapping[str, Any]) -> dict[str, Any]:
    params = task["params"]
    return json.loads(params) if isinstance(params, str | bytes) else dict(params or {})


def snapshot(task: Mapping[str, Any]) -> dict[str, Any]:
    result = task.get("result")
    return {
        "task_id": task["id"],
        "family": task["family"],
        "task_status": task["status"],
        "task_status_msg": task.get("status_msg") or "",
        "progress": task.get("progress") or 0,
        "external_task_id": task.get("external_task_id"),
        "result": json.loads(result) if isinstance(result, str | bytes) else result,
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
        "base_url": task.get("callback_base_url"),
        "watermark": _watermark(task),
        "price_milli": task.get("price_milli"),
    }


def _watermark(task: Mapping[str, Any]) -> bool:
    info = _params(task).get("watermark_info")
    return isinstance(info, Mapping) and info.get("enabled") is True


def record_event(conn: Connection, task: Mapping[str, Any], now: int) -> bool:
    """Queue the callback for ``task``'s current status, if it asked for callbacks."""
    params = _params(task)
    url = params.get("callback_url")
    if not url:
        return False
    seq, gone = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.max(_d.c.seq), 0) + 1,
            sa.func.count().filter(sa.and_(_d.c.state == EventState.GONE, _d.c.url == str(url))),
        ).where(_d.c.task_id == task["id"])
    ).one()
    # A receiver that answered 410 for this task gets nothing more from it.
    state, note = (EventState.GONE, GONE_NOTE) if gone else (EventState.PENDING, "")
    conn.execute(
        sa.insert(_d).values(
            id=new_event_id(),
            task_id=task["id"],
            owner_id=task["owner_id"],
            seq=int(seq),
            url=str(url),
            task_status=task["status"],
            event=snapshot(task),
            state=state,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            last_status_code=None,
            last_error=note,
            created_at=now,
            updated_at=now,
            delivered_at=None,
        )
    )
    return True
