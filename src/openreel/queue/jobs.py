"""Procrastinate's worker side: the ``openreel.generate`` job, and stalled-job recovery.

A job names its task; the task row stays the source of truth. The job claims the row with a
lease (``TaskRepository.claim_task``) and calls ``run_generation``, the same use case as the
embedded queue, so a job delivered twice never renders twice at once: a second delivery
waits for the first one's lease, then finds the task finished.

- Worker crash: Procrastinate workers write a heartbeat every ``worker_heartbeat_seconds``.
  Every worker looks for jobs whose worker has been silent for ``stalled_worker_seconds``
  and puts them back in the queue; the next worker to take one waits for the dead worker's
  lease on the row to run out, then runs the task again (attempt + 1, up to max_attempts).
- Cancel: the API ends the task ``failed`` and asks Procrastinate to abort the job; the
  abort cancels this coroutine, which stops the render at its next progress report.
- Shutdown (SIGTERM): running renders stop, their tasks go back to ``submitted`` without
  spending an attempt, and their jobs are retried by Procrastinate on another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

import procrastinate
from procrastinate.job_context import AbortReason, JobContext

from openreel.queue.procrastinate import TASK_NAME
from openreel.store.tables import TaskRow
from openreel.worker import WorkerDeps, run_generation

log = logging.getLogger("openreel.queue")

# Procrastinate's own retries are only for hand-backs at shutdown; crashes are retried by
# the stalled-job sweep, and the task row counts attempts.
HAND_BACK_RETRIES = 1000


class HandedBack(Exception):
    """The worker is shutting down: the task was released, so the job must run again."""


@dataclass(frozen=True)
class JobSettings:
    queues: list[str]
    concurrency: int
    max_attempts: int
    heartbeat_seconds: float
    stalled_seconds: float
    poll_interval: float


class JobRunner:
    """Runs ``openreel.generate`` jobs of some queues (one per engine) in this process."""

    def __init__(
        self,
        app: procrastinate.App,
        deps: WorkerDeps,
        settings: JobSettings,
        *,
        install_signal_handlers: bool = False,
    ) -> None:
        self.app = app
        self.deps = deps
        self.settings = settings
        self.install_signal_handlers = install_signal_handlers
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        app.task(
            name=TASK_NAME,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=HAND_BACK_RETRIES, retry_exceptions={HandedBack}
            ),
        )(self.generate)

    async def generate(self, context: JobContext, task_id: str) -> None:
        worker_id = f"{self.instance}-{context.job.id}"
        try:
            row = await self._claim(task_id, worker_id)
        except asyncio.CancelledError:
            if context.abort_reason() == AbortReason.USER_REQUEST:
                raise
            raise HandedBack() from None
        if row is None:
            return
        stop, cancelled = threading.Event(), threading.Event()
        run = asyncio.ensure_future(run_generation(row, worker_id, self.deps, stop, cancelled))
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            user = context.abort_reason() == AbortReason.USER_REQUEST
            (cancelled if user else stop).set()
            await run  # the render stops at its next progress report
            if user:
                raise
            raise HandedBack() from None

    async def _claim(self, task_id: str, worker_id: str) -> TaskRow | None:
        lease = self.deps.lease_seconds
        while True:
            claim = await self.deps.repo.claim_task(
                task_id, worker_id, lease, self.settings.max_attempts
            )
            if claim.row is not None or claim.wait_seconds is None:
                return claim.row
            # Another worker holds the lease (a redelivered job): wait until it runs out.
            await asyncio.sleep(min(claim.wait_seconds, lease))

    async def retry_stalled_jobs(self) -> int:
        """Put back in the queue the jobs of workers silent for ``stalled_seconds``."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=self.settings.stalled_seconds
        )
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
                retried += 1
                log.warning("job %s (task %s) was stalled: retrying", job.id, job.task_kwargs)
            except Exception:  # another worker retried it first
                log.debug("retrying stalled job %s failed", job.id, exc_info=True)
        return retried

    async def _sweep(self) -> None:
        interval = max(0.2, self.settings.stalled_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.retry_stalled_jobs()
            except Exception:
                log.exception("stalled-job sweep failed; trying again")

    async def run(self) -> None:
        """Work until stopped (SIGTERM/SIGINT with signal handlers, or ``stop``)."""
        s = self.settings
        sweep = asyncio.create_task(self._sweep(), name="stalled-job sweep")
        try:
            await self.app.run_worker_async(
                queues=s.queues,
                name=f"openreel-{self.instance}",
                concurrency=s.concurrency,
                fetch_job_polling_interval=s.poll_interval,
                abort_job_polling_interval=s.poll_interval,
                update_heartbeat_interval=s.heartbeat_seconds,
                stalled_worker_timeout=s.stalled_seconds,
                # Renders are handed back at once rather than finished: another worker
                # (or this one after its restart) runs them again.
                shutdown_graceful_timeout=0.1,
                install_signal_handlers=self.install_signal_handlers,
                delete_jobs="successful",
            )
        finally:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.run(), name="procrastinate worker"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
