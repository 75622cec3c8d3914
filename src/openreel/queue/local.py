"""In-process worker pool claiming task rows with a lease (``OPENREEL_QUEUE=local``).

The database is the queue: a worker claims the oldest runnable row (submitted, or processing
with an expired lease) in one conditional UPDATE, so tasks survive restarts and a crashed
attempt is retried until ``max_attempts``, then failed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid

from openreel.queue.base import Enqueue, Render, Sweep
from openreel.store.tasks import TaskRepository

log = logging.getLogger("openreel.queue")


class LocalWorkerPool:
    enqueue: Enqueue | None = None  # the task row is the queue entry

    def __init__(
        self,
        repo: TaskRepository,
        render: Render,
        *,
        lease_seconds: float,
        size: int,
        max_attempts: int,
        poll_interval: float,
        sweep: Sweep | None = None,
    ) -> None:
        self.repo = repo
        self.render = render
        self.lease_seconds = lease_seconds
        self.size = size
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.sweep = sweep  # the reconcile sweep, run beside the workers
        self.instance = uuid.uuid4().hex[:12]
        self._wake = asyncio.Event()
        self._stop = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, threading.Event] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """A task was created: wake an idle worker now instead of at the next poll."""
        self._wake.set()

    async def cancel(self, task_id: str) -> None:
        event = self._running.get(task_id)
        if event is not None:
            event.set()

    async def check(self) -> str | None:
        # The task rows are the queue (the database check covers them); the workers must run.
        dead = [task.get_name() for task in self._tasks if task.done()]
        return f"worker loop(s) {', '.join(dead)} ended" if dead else None

    async def start(self) -> None:
        for index in range(self.size):
            worker_id = f"{self.instance}-{index}"
            self._tasks.append(asyncio.create_task(self._loop(worker_id), name=worker_id))
        if self.sweep is not None and self.size > 0:
            self._sweeper = asyncio.create_task(self.sweep(), name="reconcile sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self._stop.set()
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                await self.repo.fail_exhausted(self.max_attempts)
                row = await self.repo.claim(worker_id, self.lease_seconds, self.max_attempts)
            except Exception:
                log.exception("worker %s: claim failed; retrying", worker_id)
                row = None
            if row is not None:
                cancelled = self._running[row.id] = threading.Event()
                try:
                    await self.render(row, worker_id, self._stop, cancelled)
                finally:
                    del self._running[row.id]
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
