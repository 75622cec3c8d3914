"""The engine's child process: loads pipelines once, keeps them warm, runs one job at a time.

Started with ``spawn`` (a clean interpreter: CUDA and forked threads do not mix). It reports
each denoising step, stops a job at the next step when told to cancel, and exits after an
out-of-memory error so that the next job gets a fresh process and an unfragmented GPU.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Connection
from typing import Any

from openreel.engines.diffusers.adapters import adapter_class
from openreel.engines.diffusers.adapters.base import Adapter, AdapterError
from openreel.engines.diffusers.protocol import (
    Cancel,
    Cancelled,
    Failed,
    Finished,
    Generate,
    Progress,
    Ready,
    Stop,
)
from openreel.engines.diffusers.spec import ModelSpec
from openreel.errors import InputError

__all__ = ["serve"]


class _JobCancelled(Exception):
    pass


class _StopNow(Exception):
    pass


def _is_out_of_memory(exc: BaseException) -> bool:
    # torch.cuda.OutOfMemoryError (torch.OutOfMemoryError), without importing torch here.
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def serve(conn: Connection, specs: dict[str, ModelSpec]) -> None:
    """The child's main loop (the target of the spawned process)."""
    adapters: dict[str, Adapter] = {}
    pipelines: dict[str, Any] = {}
    conn.send(Ready(os.getpid()))

    def on_step(step: int, total: int) -> None:
        conn.send(Progress(step, total))
        while conn.poll():
            message = conn.recv()
            if isinstance(message, Cancel):
                raise _JobCancelled()
            if isinstance(message, Stop):
                raise _StopNow()

    while True:
        try:
            message = conn.recv()
        except EOFError:
            return  # the engine went away
        if isinstance(message, Stop):
            return
        if not isinstance(message, Generate):
            continue  # a Cancel that arrived after its job ended
        job = message.job
        try:
            spec = specs[job.model_name]
            adapter = adapters.get(job.model_name)
            if adapter is None:
                adapter = adapters[job.model_name] = adapter_class(spec.adapter)()
            if job.model_name not in pipelines:
                pipelines[job.model_name] = adapter.load(spec, job.model_name)
            output = adapter.generate(pipelines[job.model_name], job, spec, on_step)
        except _JobCancelled:
            conn.send(Cancelled())
            continue
        except _StopNow:
            conn.send(Cancelled())
            return
        except (AdapterError, InputError) as exc:
            conn.send(Failed(str(exc), restart=False))
            continue
        except BaseException as exc:
            if _is_out_of_memory(exc):
                conn.send(
                    Failed(
                        "out of GPU memory while generating; lower the resolution or frame "
                        "count, or enable cpu_offload / vae_tiling for this model",
                        restart=True,
                    )
                )
                return
            conn.send(Failed(f"generation failed: {type(exc).__name__}: {exc}", restart=False))
            continue
        conn.send(Finished(output))
