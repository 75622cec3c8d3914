"""The reconcile sweep: what no worker's render will clean up, because no worker holds the
task any more (it crashed, or the task ended by another path), done every few seconds by
each process that runs jobs.

- ``engine_slots`` rows of tasks that are not running (a crashed holder's row, whose task
  was then failed or queued again) are deleted.
"""

from __future__ import annotations

import asyncio
import logging

from openreel.store.slots import SlotRepository

log = logging.getLogger("openreel.reconcile")

# Seconds between sweeps: what they clean costs nothing while it waits (stale slots do not
# count), so this only bounds how long leftovers stay visible.
SWEEP_SECONDS = 5.0


class Reconciler:
    def __init__(self, slots: SlotRepository, interval: float = SWEEP_SECONDS) -> None:
        self.slots = slots
        self.interval = interval

    async def sweep(self) -> None:
        stale = await self.slots.delete_stale()
        if stale:
            log.info("deleted %d engine slot(s) of tasks no longer running", stale)

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed sweep is tried again."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("reconcile sweep failed; trying again")
            await asyncio.sleep(self.interval)
