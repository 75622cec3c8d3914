"""The reconcile sweep: what no worker's render will clean up, because no worker holds the
task any more (it crashed, or the task ended by another path), done every few seconds by
each process that runs jobs.

- ``engine_slots`` rows of tasks that are not running (a crashed holder's row, whose task
  was then failed or queued again) are deleted.
- Cancels owed upstream (``store.cancels``) that are due and nobody sent (the task's worker
  died, or the process that cancelled stopped first) are sent, for the engines this process
  runs.

``CancelForwarder`` is also what the task's worker (at once, as the holder) and the cancel
itself (when no worker held the task) call: the owed cancel's claim makes it happen once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from openreel.engines.base import Engine, ForwardsCancel, TaskKind
from openreel.store.cancels import UpstreamCancels
from openreel.store.slots import SlotRepository
from openreel.store.tasks import TaskRepository

log = logging.getLogger("openreel.reconcile")

# Seconds between sweeps: what they clean costs nothing while it waits (stale slots do not
# count), so this only bounds how long leftovers stay visible.
SWEEP_SECONDS = 5.0
FORWARD_TIMEOUT = 60.0  # seconds one forwarded cancel may take (the engine's own timeouts)


class CancelForwarder:
    """Sends the cancel a task owes upstream, through the engine that ran it, once."""

    def __init__(
        self, repo: TaskRepository, cancels: UpstreamCancels, engines: Mapping[str, Engine]
    ) -> None:
        self.repo = repo
        self.cancels = cancels
        self.engines = engines

    @property
    def names(self) -> list[str]:
        return [name for name, e in self.engines.items() if isinstance(e, ForwardsCancel)]

    async def forward(
        self, task_id: str, state: dict[str, Any] | None = None, *, holder: bool = False
    ) -> None:
        """Send the task's owed cancel, if one is owed to this caller: ``holder`` is the
        task's last worker, with the ``state`` it knew (maybe newer than the stored one: an
        upstream task id whose save the cancel refused). Never raises."""
        try:
            row = await self.repo.get(task_id)
            engine = self.engines.get(row.engine) if row is not None else None
            if row is None or not isinstance(engine, ForwardsCancel):
                return  # a process that runs the engine sends it
            if not await self.cancels.claim(task_id, holder=holder):
                return
            if state is None:
                state = dict(row.plan.get("engine_state") or {})
            call = asyncio.to_thread(engine.cancel_elsewhere, task_id, TaskKind(row.kind), state)
            if not await asyncio.wait_for(call, timeout=FORWARD_TIMEOUT):
                await self.cancels.unfound(task_id)
        except Exception:  # best effort: the local cancel stands either way
            log.warning("task %s: forwarding the cancel failed", task_id, exc_info=True)

    async def forward_due(self) -> None:
        for task_id in await self.cancels.due(self.names):
            await self.forward(task_id)


class Reconciler:
    def __init__(
        self,
        slots: SlotRepository,
        cancels: CancelForwarder | None = None,
        interval: float = SWEEP_SECONDS,
    ) -> None:
        self.slots = slots
        self.cancels = cancels
        self.interval = interval

    async def sweep(self) -> None:
        stale = await self.slots.delete_stale()
        if stale:
            log.info("deleted %d engine slot(s) of tasks no longer running", stale)
        if self.cancels is not None:
            await self.cancels.forward_due()

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed sweep is tried again."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("reconcile sweep failed; trying again")
            await asyncio.sleep(self.interval)
