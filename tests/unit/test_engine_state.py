"""The engine state port: a job carrying the stored state still crosses a process boundary."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any, cast

from openreel.engines.base import MemoryState, RenderJob, TaskKind
from openreel.render import StoredState
from openreel.store.tasks import TaskRecord, TaskRepository


def test_a_job_with_stored_state_pickles_as_a_copy(tmp_path: Path) -> None:
    row = cast(Any, type("Row", (), {"plan": {"engine_state": {"upstream_task_id": "42"}}})())
    loop = asyncio.new_event_loop()
    try:
        state = StoredState(cast(TaskRecord, row), "worker", cast(TaskRepository, object()), loop)
        job = RenderJob("t", TaskKind.IMAGE2VIDEO, "m", {}, {}, tmp_path, 1, state=state)
        copied = pickle.loads(pickle.dumps(job))  # noqa: S301 (our own bytes, as the child pipe)
    finally:
        loop.close()
    assert isinstance(copied.state, MemoryState)
    assert copied.state.load() == {"upstream_task_id": "42"}
