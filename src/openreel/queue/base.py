"""The TaskQueue port: how a created task reaches a worker, and how a cancel reaches it.

Two adapters: ``local`` (in-process workers claiming task rows; the rows are the queue) and
``procrastinate`` (one Procrastinate job per task on the shared PostgreSQL, deferred in the
transaction that inserts the task row).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from openreel.store.client_tasks import Enqueue
from openreel.store.tasks import TaskRecord

__all__ = ["RELAY_QUEUE", "Enqueue", "Render", "Sweep", "TaskQueue", "queue_for"]

# Every relayed task's job goes to one Procrastinate queue; the job names its engine.
RELAY_QUEUE = "relay"


def queue_for(engine: str) -> str:
    """The Procrastinate queue of an engine's jobs: its name, or ``relay`` for every
    ``relay:<upstream>`` (relay workers serve every configured upstream)."""
    return RELAY_QUEUE if engine.startswith(RELAY_QUEUE + ":") else engine


class Render(Protocol):
    """Runs one claimed task to its end: ``render.render_task`` bound to its dependencies,
    handed to the queues by wiring (the queues know when to render, not how)."""

    def __call__(
        self,
        row: TaskRecord,
        worker_id: str,
        stop: threading.Event,
        cancelled: threading.Event | None,
    ) -> Awaitable[None]: ...


# Runs the reconcile sweep (``reconcile.Reconciler.run``) until cancelled: a process that runs
# jobs runs it beside them.
Sweep = Callable[[], Coroutine[Any, Any, None]]


class TaskQueue(Protocol):
    @property
    def enqueue(self) -> Enqueue | None:
        """None: the task row alone is the queue entry (nothing to add to the insert)."""
        ...

    def notify(self) -> None:
        """A task was created (wakes idle in-process workers)."""
        ...

    async def cancel(self, task_id: str) -> None:
        """The task was ended ``failed`` by a cancel: drop its queued job, or tell the worker
        running it to stop now rather than at its next heartbeat."""
        ...

    async def check(self) -> str | None:
        """Readiness: None when jobs can be queued and run here, else what is wrong."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
