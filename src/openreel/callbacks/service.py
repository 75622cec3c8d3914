"""The callback use cases behind the extension routes: a task's delivery log, and redelivery.

The HTTP handlers (``api/callbacks.py``) only translate: they parse the request and shape the
answer; ownership, the choice of event and the rules live here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openreel.store.events import EventRepository, LoggedEvent
from openreel.tasks.service import TaskService
from openreel.wire.errors import illegal
from openreel.wire.families import Family

__all__ = ["CallbackService", "EventLog"]


@dataclass(frozen=True)
class EventLog:
    task_id: str
    deliveries: list[LoggedEvent]


class CallbackService:
    def __init__(
        self, tasks: TaskService, events: EventRepository, notify: Callable[[], None]
    ) -> None:
        self._tasks = tasks
        self._events = events
        self._notify = notify  # wakes the sender for a queued event

    async def log(self, owner_id: str, family: Family, task_id: str) -> EventLog:
        """Every callback event of the caller's task, with each HTTP attempt."""
        view = await self._tasks.get(owner_id, family, task_id)
        return EventLog(view.id, await self._events.log(view.id))

    async def redeliver(
        self, owner_id: str, family: Family, task_id: str, event_id: str | None
    ) -> tuple[str, list[str]]:
        """Queue an event again (the latest by default): ``(task id, queued event ids)``."""
        view = await self._tasks.get(owner_id, family, task_id)
        events = [logged.delivery for logged in await self._events.log(view.id)]
        if not events:
            raise illegal("callback_url", f"task {view.id} was created without a callback_url")
        if event_id is None:
            chosen = events[-1].id
        elif any(event.id == event_id for event in events):
            chosen = event_id
        else:
            raise illegal("event_id", f"task {view.id} has no callback event '{event_id}'")
        queued = await self._events.redeliver(view.id, [chosen])
        if not queued:
            raise illegal("event_id", f"event '{chosen}' is being sent right now; try again")
        self._notify()
        return view.id, queued
