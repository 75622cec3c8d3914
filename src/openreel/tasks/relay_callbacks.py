"""Upstream callbacks of relayed tasks (``POST /openreel/v1/relay/callbacks/{task_id}/{token}``).

The token (``wire.relay_callbacks``) proves the caller got the URL openreel gave its upstream
for that task; anything else is refused with Kling's 401/1000. An accepted callback only nudges
the task's render, which asks upstream at once through its usual poll: the body decides
nothing, so a duplicate, late or reordered callback cannot move a task backwards, and one for
a task that has ended is acknowledged and ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from openreel.store.slots import SlotRepository
from openreel.store.tasks import ENDED, TaskRepository
from openreel.wire.errors import ErrorCode, KlingError
from openreel.wire.relay_callbacks import token_matches

__all__ = ["RelayCallbacks"]

log = logging.getLogger("openreel.relay")

_RELAYED = "relay:"  # the engine name of every relayed task (engines.relay.config)


class RelayCallbacks:
    def __init__(self, secret: bytes, tasks: TaskRepository, slots: SlotRepository) -> None:
        self._secret = secret
        self._tasks = tasks
        self._slots = slots

    async def accept(self, task_id: str, token: str, body: Any) -> str:
        """Nudge the task; what was done, in words (the answer's ``message``)."""
        if not token_matches(self._secret, task_id, token):
            raise KlingError(
                ErrorCode.AUTH_FAILED, "relay callback: the token does not sign this task_id"
            )
        row = await self._tasks.get(task_id)
        if row is None or not row.engine.startswith(_RELAYED):
            return "ignored: no relayed task has this task_id"
        if row.status in ENDED:
            return "ignored: the task has ended"
        stored = (row.plan.get("engine_state") or {}).get("upstream_task_id")
        sent = body.get("task_id") if isinstance(body, dict) else None
        if stored and sent and str(sent) != str(stored):
            log.warning("task %s: a callback named upstream task %s, not %s", task_id, sent, stored)
            return "ignored: not this task's upstream task"
        nudged = await self._slots.nudge(task_id)
        log.info("task %s: upstream called back", task_id, extra={"event": "relay.callback"})
        return "accepted" if nudged else "accepted: the task will ask upstream when it runs"
