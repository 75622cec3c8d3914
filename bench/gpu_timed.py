"""Built-in diffusers adapters that also log how long each ``pipeline(...)`` call took, so
``bench/gpu.py`` can split a task's end-to-end time into pipeline and server overhead.

Named by import path in the bench server's config (``gpu_timed:TimedWan``); the bench puts
this folder on the server's ``PYTHONPATH``. The log is ``timings.jsonl`` beside the weights.
"""

from __future__ import annotations

import json
import time
from typing import Any

from openreel.engines.base import GenerationOutput, RenderJob
from openreel.engines.diffusers.adapters.base import StepFn
from openreel.engines.diffusers.adapters.image_edit import Flux2Klein
from openreel.engines.diffusers.adapters.ltx import LtxTextToVideo, LtxVideo
from openreel.engines.diffusers.adapters.text2image import QwenImage
from openreel.engines.diffusers.adapters.wan import WanImageToVideo, WanTextToVideo
from openreel.engines.diffusers.spec import ModelSpec


def timed(base: type[Any]) -> type[Any]:
    class Timed(base):  # type: ignore[misc]
        def generate(
            self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
        ) -> GenerationOutput:
            log = spec.weights_path(job.model_name) / "timings.jsonl"
            spent: list[float] = []

            class Clocked:
                def __getattr__(self, name: str) -> Any:
                    return getattr(pipeline, name)

                def __setattr__(self, name: str, value: Any) -> None:
                    setattr(pipeline, name, value)

                def __call__(self, **kwargs: Any) -> Any:
                    start = time.perf_counter()
                    try:
                        return pipeline(**kwargs)
                    finally:
                        spent.append(time.perf_counter() - start)

            started = time.perf_counter()
            output: GenerationOutput = super().generate(Clocked(), job, spec, on_step)
            record = {
                "task": job.task_id,
                "pipeline_s": sum(spent),
                "generate_s": time.perf_counter() - started,
            }
            with log.open("a") as file:
                file.write(json.dumps(record) + "\n")
            return output

    Timed.__name__ = Timed.__qualname__ = f"Timed{base.__name__}"
    return Timed


TimedWan = timed(WanImageToVideo)
TimedLtx = timed(LtxVideo)
TimedWanT2V = timed(WanTextToVideo)
TimedLtxT2V = timed(LtxTextToVideo)
TimedFlux2Klein = timed(Flux2Klein)
TimedQwenImage = timed(QwenImage)
