"""Procrastinate's worker side: the ``openreel.generate`` job, and stalled-job recovery.

A job names its task; the task row stays the source of truth. The job claims the row with a
lease (``TaskRepository.claim_task``) and calls ``render_task``, the same use case as the
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
- Anything unexpected escaping a job (a database error while claiming or finishing) retries
  the job after a backoff, so its task is never left waiting for a job that is gone.
- A worker whose database goes away fails (or Procrastinate stops it by itself: ``run`` then
  raises ``WorkerStopped``): ``openreel worker`` exits non-zero for its supervisor to restart
  it, and the runner inside ``serve`` starts again after a pause.
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
from procrastinate.jobs import Job

from openreel.queue.base import Render, Sweep
from openreel.queue.procrastinate import TASK_NAME
from openreel.store.tasks import TaskRecord, TaskRepository

log = logging.getLogger("openreel.queue")

# Procrastinate's retries are for hand-backs at shutdown and for unexpected errors; worker
# crashes are retried by the stalled-job sweep, and the task row counts real attempts.
JOB_RETRIES = 1000
MAX_BACKOFF_SECONDS = 300
RESTART_SECONDS = 5.0


class HandedBack(Exception):
    """The worker is shutting down: the task was released, so the job must run again."""


class WorkerStopped(RuntimeError):
    """Procrastinate's worker stopped without being asked to."""


class JobRetry(procrastinate.BaseRetryStrategy):
    """A hand-back runs again at once; any other error after an exponential backoff."""

    def get_retry_decision(
        self, *, exception: BaseException, job: Job
    ) -> procrastinate.RetryDecision | None:
        if job.attempts >= JOB_RETRIES or isinstance(exception, asyncio.CancelledError):
            return None  # a cancelled job is aborted, never retried
        if isinstance(exception, HandedBack):
            return procrastinate.RetryDecision(retry_in={"seconds": 0})
        log.warning("job %s failed unexpectedly (%s): retrying", job.id, exception)
        wait = min(MAX_BACKOFF_SECONDS, 2 ** min(job.attempts, 9))
        return procrastinate.RetryDecision(retry_in={"seconds": wait})


@dataclass(frozen=True)
class JobSettings:
    queues: list[str]
    concurrency: int
    max_attempts: int
    heartbeat_seconds: float
    stalled_seconds: float
    poll_interval: float
    lease_seconds: float


async def _settled(run: asyncio.Future[None]) -> None:
    """Wait until ``run`` has ended, even through further cancellations (a shutdown right
    after a cancel): its work directory must outlive the render that still uses it."""
    while not run.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({run})


class JobRunner:
    """Runs ``openreel.generate`` jobs of some queues (one per engine) in this process."""

    def __init__(
        self,
        app: procrastinate.App,
        repo: TaskRepository,
        render: Render,
        settings: JobSettings,
        sweep: Sweep | None = None,
    ) -> None:
        self.app = app
        self.reconcile = sweep  # the reconcile sweep, run beside the jobs
        self.repo = repo
        self.render = render
        self.settings = settings
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        app.task(
            name=TASK_NAME,
            pass_context=True,
            retry=JobRetry(),
        )(self.generate)

    async def generate(self, context: JobContext, task_id: str, engine: str = "") -> None:
        """``engine`` (the task's, for logs and queue dashboards) is absent from jobs deferred
        before it was added; the task row says which engine runs it either way."""
        worker_id = f"{self.instance}-{context.job.id}"
        log.debug("job %s: task %s (%s)", context.job.id, task_id, engine or "engine unnamed")
        try:
            row = await self._claim(task_id, worker_id)
        except asyncio.CancelledError:
            if context.abort_reason() == AbortReason.USER_REQUEST:
                raise
            raise HandedBack() from None
        if row is None:
            return
        stop, cancelled = threading.Event(), threading.Event()
        run = asyncio.ensure_future(self.render(row, worker_id, stop, cancelled))
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            user = context.abort_reason() == AbortReason.USER_REQUEST
            (cancelled if user else stop).set()
            await _settled(run)  # the render stops at its next progress report
            if user:
                raise
            raise HandedBack() from None

    async def _claim(self, task_id: str, worker_id: str) -> TaskRecord | None:
        lease = self.settings.lease_seconds
        while True:
            claim = await self.repo.claim_task(
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
        """Work until cancelled (a graceful stop: running renders are handed back); raises
        ``WorkerStopped`` if Procrastinate stops by itself."""
        s = self.settings
        sweeps = [asyncio.create_task(self._sweep(), name="stalled-job sweep")]
        if self.reconcile is not None:
            sweeps.append(asyncio.create_task(self.reconcile(), name="reconcile sweep"))
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
                # Signals cancel this coroutine instead (worker.py): a stop that was asked
                # for is then a cancellation, and a normal return means nobody asked.
                install_signal_handlers=False,
                delete_jobs="successful",
            )
        finally:
            for sweep in sweeps:
                sweep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweep
        raise WorkerStopped(
            "the Procrastinate worker stopped by itself (is the database reachable?); "
            "see the errors above"
        )

    async def _supervised(self) -> None:
        while True:
            try:
                await self.run()
            except Exception:  # the database went away, or Procrastinate stopped by itself
                log.exception("the job worker failed; starting it again in %.0f s", RESTART_SECONDS)
                await asyncio.sleep(RESTART_SECONDS)

    async def start(self) -> None:
        """Run in the background of this process (``serve``), restarted if it stops."""
        self._tasks.append(asyncio.create_task(self._supervised(), name="procrastinate worker"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
