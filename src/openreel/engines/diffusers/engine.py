"""The ``diffusers`` engine: open-weight models in a long-lived child process.

The server process never imports torch. Jobs go to the child over a pipe, one at a time (one
GPU); progress comes back per denoising step. A job is cancelled at its next step (the child
is killed if it does not answer within ``cancel_grace`` seconds, e.g. while loading weights).
If the child dies (a crash, the kernel's OOM killer) or runs out of GPU memory, that task
fails with a clear reason and the next task starts a fresh child.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from openreel.engines.base import (
    Capabilities,
    EngineError,
    GenerationOutput,
    ProgressFn,
    RenderJob,
)
from openreel.engines.diffusers.adapters import adapter_class
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

__all__ = ["DiffusersEngine"]

_POLL_S = 0.1


class DiffusersEngine:
    name = "diffusers"

    def __init__(
        self,
        specs: dict[str, ModelSpec],
        *,
        start_timeout: float = 120.0,
        cancel_grace: float = 5.0,
        check_weights: bool = True,
    ) -> None:
        self.specs = dict(specs)
        self.start_timeout = start_timeout
        self.cancel_grace = cancel_grace
        self.model_capabilities: dict[str, Capabilities] = {}
        for model_name, spec in self.specs.items():
            if check_weights:  # missing weights: an error now, naming the path
                spec.weights_path(model_name)
            adapter = adapter_class(spec.adapter)
            self.model_capabilities[model_name] = Capabilities(
                kinds=adapter.kinds,
                features=adapter.features,
                required=getattr(adapter, "required", frozenset()),
            )
        self.capabilities = Capabilities(
            kinds=frozenset().union(*(c.kinds for c in self.model_capabilities.values())),
            features=frozenset().union(*(c.features for c in self.model_capabilities.values())),
        )
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.child_pid: int | None = None

    # ------------------------------------------------------------------ child

    def _child(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._reap()
        from openreel.engines.diffusers.child import serve

        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(theirs, self.specs), name="openreel-diffusers", daemon=True
        )
        process.start()
        theirs.close()
        if not ours.poll(self.start_timeout):
            process.kill()
            raise EngineError("the diffusers worker process did not start")
        try:
            ready = ours.recv()
        except EOFError:
            raise EngineError(
                f"the diffusers worker process exited at start (exit code {process.exitcode})"
            ) from None
        if not isinstance(ready, Ready):
            raise EngineError(f"the diffusers worker process sent {ready!r} instead of ready")
        self._process, self._conn, self.child_pid = process, ours, ready.pid
        return ours

    def _reap(self) -> None:
        """Forget the child; kill it if it still runs (it is in an unknown state)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        self.child_pid = None

    def capabilities_for(self, model_name: str) -> Capabilities:
        return self.model_capabilities.get(model_name, self.capabilities)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(Stop())
                except OSError:
                    pass
            if self._process is not None:
                self._process.join(timeout=10)
            self._reap()

    # ------------------------------------------------------------------ jobs

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        if job.model_name not in self.specs:
            raise EngineError(f"model {job.model_name!r} has no diffusers weights configured")
        with self._lock:
            conn = self._child()
            conn.send(Generate(job))
            done = 0.0
            while True:
                try:
                    # Called on every poll too, so a shutdown is noticed while weights load.
                    progress(done)
                except BaseException:
                    self._cancel(conn)
                    raise
                message = self._receive(conn)
                if message is None:
                    continue
                if isinstance(message, Progress):
                    done = message.step / max(1, message.total)
                elif isinstance(message, Finished):
                    return message.output
                elif isinstance(message, Failed):
                    if message.restart:
                        self._reap()
                    raise EngineError(message.message)

    def _receive(self, conn: Connection) -> Any:
        try:
            if conn.poll(_POLL_S):
                return conn.recv()
        except (EOFError, OSError):
            pass
        else:
            if self._process is not None and self._process.is_alive():
                return None
        code = None
        if self._process is not None:
            self._process.join(timeout=5)  # the pipe closes a moment before the exit is seen
            code = self._process.exitcode
        self._reap()
        raise EngineError(
            f"the diffusers worker process died while generating (exit code {code}; "
            "killed for memory?); it is restarted for the next task"
        )

    def _cancel(self, conn: Connection) -> None:
        """Ask the child to stop the job; kill it if it does not answer in time."""
        try:
            conn.send(Cancel())
            deadline = time.monotonic() + self.cancel_grace
            while time.monotonic() < deadline:
                if conn.poll(_POLL_S) and isinstance(conn.recv(), Cancelled | Finished | Failed):
                    return
        except (EOFError, OSError):
            pass
        self._reap()
