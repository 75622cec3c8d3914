"""Tiny fake engines for failure injection (the cog pattern): each does one odd thing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from openreel.engines.base import (
    BaseEngine,
    Capabilities,
    EngineError,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
    TaskKind,
)

CAPS = Capabilities(kinds=frozenset(TaskKind))


class FailingEngine(BaseEngine):
    name = "failing"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        raise EngineError("the fake engine refuses this input")


class CrashingEngine(BaseEngine):
    name = "crashing"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        raise RuntimeError("segfault-like surprise")


class MissingFileEngine(BaseEngine):
    """Claims two outputs, writes only the first: the task must not succeed."""

    name = "missing-file"
    capabilities = CAPS

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        first = job.output_dir / "video.mp4"
        first.write_bytes(b"\0" * 100)
        return GenerationOutput(
            [
                OutputFile(first, "video/mp4", "5"),
                OutputFile(job.output_dir / "gone.mp4", "video/mp4", "5"),
            ]
        )


@dataclass
class GatedEngine(BaseEngine):
    """Reports progress, then waits for ``release`` before writing its output."""

    name: str = "gated"
    capabilities: Capabilities = CAPS
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # Set when a run returns or raises (a stopped render really stops).
    ended: threading.Event = field(default_factory=threading.Event)
    runs: int = 0

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        self.runs += 1
        try:
            progress(0.5)
            self.started.set()
            while not self.release.wait(0.02):
                progress(0.5)  # raises when the worker is stopping
            path = job.output_dir / "video.mp4"
            path.write_bytes(b"fake video " + job.task_id.encode())
            progress(1.0)
            return GenerationOutput([OutputFile(path, "video/mp4", "5")])
        finally:
            self.ended.set()
