"""Procrastinate on the shared PostgreSQL (``OPENREEL_QUEUE=procrastinate``): the API side.

Every task is one job of the task ``openreel.generate`` on the queue named after its engine
(``classic``, ``diffusers``), or ``relay`` for every relayed task (``relay:<upstream>``, named
in the job's ``engine``), so a worker started with ``--engines classic`` never takes a job it
cannot run (a relay worker runs every configured upstream). The job is deferred on the
connection and in the transaction that inserts the task row: both are committed, or neither.
``queueing_lock`` is the task id, so a task has at most one queued job and the cancel endpoint
finds it by id.

Procrastinate's schema is applied at start-up when it is missing (by whichever process comes
first; a PostgreSQL advisory lock keeps the others waiting). Upgrading Procrastinate across a
schema change needs its migrations (``procrastinate schema --migrate``); see docs/deploy.md.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager
from sqlalchemy.ext.asyncio import AsyncConnection

from openreel.queue.base import Enqueue, queue_for

log = logging.getLogger("openreel.queue")

TASK_NAME = "openreel.generate"
# pg_advisory_lock key serialising schema creation: "openreel" in ASCII.
SCHEMA_LOCK = 0x6F70656E7265656C
ACTIVE = ("todo", "doing")


class Runner(Protocol):
    """Work that runs jobs in this process (``serve`` without ``--no-workers``)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def conninfo(database_url: str) -> str:
    """A libpq URL from openreel's SQLAlchemy one."""
    for driver in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(driver):
            return "postgresql://" + database_url[len(driver) :]
    return database_url


def build_app(database_url: str, *, max_connections: int) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=max_connections
    )
    return procrastinate.App(connector=connector)


async def ensure_schema(database_url: str) -> bool:
    """Create Procrastinate's tables and functions unless they exist; True if created."""
    async with await psycopg.AsyncConnection.connect(
        conninfo(database_url), autocommit=True
    ) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            found = await (
                await conn.execute("SELECT to_regclass('procrastinate_jobs')")
            ).fetchone()
            if found is not None and found[0] is not None:
                return False
            await conn.execute(SchemaManager.get_schema())
            log.info("applied Procrastinate's schema")
            return True
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class ProcrastinateQueue:
    def __init__(self, app: procrastinate.App, runner: Runner | None = None) -> None:
        self.app = app
        self.runner = runner
        self.enqueue: Enqueue | None = self._defer

    async def _defer(self, conn: AsyncConnection, task_id: str, engine: str) -> None:
        raw: Any = await conn.get_raw_connection()
        deferrer = self.app.configure_task(
            TASK_NAME,
            queue=queue_for(engine),
            queueing_lock=task_id,
            connection=raw.driver_connection,
        )
        await deferrer.defer_async(task_id=task_id, engine=engine)

    def notify(self) -> None:
        """Nothing to do: workers hear of new jobs through LISTEN/NOTIFY."""

    async def cancel(self, task_id: str) -> None:
        # A queued job is cancelled; a running one is marked for abort, which its worker
        # hears at once (NOTIFY) and turns into a stop of the render (queue.jobs).
        for job in await self.app.job_manager.list_jobs_async(queueing_lock=task_id):
            if job.id is not None and job.status in ACTIVE:
                await self.app.job_manager.cancel_job_by_id_async(job.id, abort=True)

    async def check(self) -> str | None:
        try:
            await self.app.connector.execute_query_one_async(
                "SELECT count(*) AS n FROM procrastinate_jobs WHERE false"
            )
        except Exception as exc:  # any failure means: not ready
            return f"the Procrastinate queue is unreachable ({type(exc).__name__}: {exc})"
        return None

    async def start(self) -> None:
        await self.app.open_async()
        if self.runner is not None:
            await self.runner.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
        await self.app.close_async()
