"""Fake pipeline adapters for the diffusers engine: they run in its real child process and
behave as the job's prompt says (``slow``, ``crash``, ``oom``, ``boom``, ``refuse``)."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np

from openreel.engines.base import (
    Feature,
    GenerationOutput,
    OutputFile,
    RenderJob,
    TaskKind,
)
from openreel.engines.diffusers.adapters.base import AdapterError, StepFn
from openreel.engines.diffusers.spec import ModelSpec
from openreel.media.video import VideoWriter


class OutOfMemoryError(RuntimeError):
    """Named like torch's, which is how the child recognises one."""


class StepAdapter:
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL})
    loads = 0

    def load(self, spec: ModelSpec, model_name: str) -> Any:
        StepAdapter.loads += 1
        weights = spec.weights_path(model_name)
        return {"weights": str(weights), "loads": StepAdapter.loads, "pid": os.getpid()}

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        prompt = str(job.params.get("prompt") or "")
        delay = 0.3 if "slow" in prompt else 0.0
        for step in range(1, spec.steps + 1):
            if "crash" in prompt and step == 2:
                os._exit(137)  # as the kernel's OOM killer would end it
            if "oom" in prompt and step == 2:
                raise OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            if "boom" in prompt:
                raise ValueError("bad tensor shape")
            if "refuse" in prompt:
                raise AdapterError("this model needs an image_tail")
            time.sleep(delay)
            on_step(step, spec.steps)
        job.output_dir.mkdir(parents=True, exist_ok=True)
        path = job.output_dir / "video.mp4"
        with VideoWriter(path, 64, 64, spec.fps) as writer:
            writer.encode(np.full((64, 64, 3), 40 * i, np.uint8) for i in range(4))
        # Who made it: the child's pid and how many times it loaded the pipeline.
        marker = f"{pipeline['pid']}-{pipeline['loads']}"
        (job.output_dir / f"made-by-{marker}").write_text(pipeline["weights"])
        return GenerationOutput([OutputFile(path, "video/mp4", duration="1")])
