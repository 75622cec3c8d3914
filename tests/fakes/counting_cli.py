"""``python -m tests.fakes.counting_cli ARGS``: ``openreel ARGS`` with a counted classic engine.

The engine named ``classic`` is wrapped so that the scale-out tests can see what ran where:

- every run appends ``<task_id> <pid>`` to the file named by ``OPENREEL_TEST_RUN_LOG``;
- the prompt ``stub`` writes a small stub file instead of rendering (hundreds of tasks);
- the prompt ``hold:N`` first holds N seconds, reporting progress (a kill or a cancel lands
  mid-render), then writes the stub;
- any other prompt renders for real with the classic engine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from openreel.engines import registry
from openreel.engines.base import (
    Capabilities,
    Engine,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
)
from openreel.engines.diffusers.spec import ModelSpec

_build_engines = registry.build_engines


class CountedClassic:
    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities

    def capabilities_for(self, model_name: str) -> Capabilities:
        return self.inner.capabilities_for(model_name)

    def close(self) -> None:
        self.inner.close()

    def run(self, job: RenderJob, progress: ProgressFn) -> GenerationOutput:
        line = f"{job.task_id} {os.getpid()}\n".encode()
        fd = os.open(os.environ["OPENREEL_TEST_RUN_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)  # one small O_APPEND write: whole lines from many processes
        finally:
            os.close(fd)
        prompt = str(job.params.get("prompt") or "")
        if prompt.startswith("hold:"):
            deadline = time.monotonic() + float(prompt.split(":", 1)[1])
            while time.monotonic() < deadline:
                progress(0.5)
                time.sleep(0.05)
        elif prompt != "stub":
            return self.inner.run(job, progress)
        path = job.output_dir / "video.mp4"
        path.write_bytes(b"stub video " + job.task_id.encode())
        progress(1.0)
        return GenerationOutput([OutputFile(path, "video/mp4", "5")])


def build_engines(
    diffusers_models: Mapping[str, ModelSpec], *, runs_jobs: bool = True, **more: Any
) -> dict[str, Engine]:
    engines = _build_engines(diffusers_models, runs_jobs=runs_jobs, **more)
    engines["classic"] = CountedClassic(engines["classic"])
    return engines


registry.build_engines = build_engines

if __name__ == "__main__":
    from openreel.cli import main

    main()
