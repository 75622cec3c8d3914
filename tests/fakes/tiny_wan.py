"""Tiny Wan weights (``openreel.engines.diffusers.random_weights``) and a spy that records
what a real adapter passed its pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from openreel.engines.base import GenerationOutput, RenderJob
from openreel.engines.diffusers.adapters.base import StepFn
from openreel.engines.diffusers.adapters.vace import WanVace
from openreel.engines.diffusers.adapters.wan import (
    WanFirstLastFrame,
    WanImageToVideo,
    WanTextToVideo,
)
from openreel.engines.diffusers.random_weights import save_vace, save_wan, save_wan_t2v
from openreel.engines.diffusers.spec import ModelSpec


def save_tiny_wan(path: Path, *, first_last_frame: bool) -> Path:
    """Write a tiny Wan I2V (or first-and-last-frame) pipeline to ``path``."""
    return save_wan(path, scale="tiny", first_last_frame=first_last_frame)


def save_tiny_wan_t2v(path: Path) -> Path:
    """Write a tiny Wan text-to-video pipeline (``WanPipeline``) to ``path``."""
    return save_wan_t2v(path, scale="tiny")


def save_tiny_vace(path: Path) -> Path:
    """Write a tiny Wan VACE pipeline to ``path`` (sizes of diffusers' own VACE tests)."""
    return save_vace(path, scale="tiny")


def _summary(value: Any) -> Any:
    """What a test can compare: pictures as their mean colour (masks: their white fraction),
    conditions as such."""
    if isinstance(value, Image.Image) and value.mode == "L":
        return round(float(np.asarray(value).mean()) / 255.0, 4)
    if isinstance(value, Image.Image):
        return [round(float(v), 1) for v in np.asarray(value).reshape(-1, 3).mean(0)]
    if isinstance(value, list):
        return [_summary(v) for v in value]
    if hasattr(value, "frame_index") and hasattr(value, "image"):
        return {"frame_index": value.frame_index, "image": _summary(value.image)}
    return value if isinstance(value, str | int | float) else None


def recording(base: type[Any]) -> type[Any]:
    """``base`` (a real adapter) with a spy between it and the pipeline that appends what each
    call received to ``calls.jsonl`` beside the weights. Tiny random weights barely react to
    their conditions, so tests look at what reached the pipeline instead of at the pixels."""

    class Recording(base):  # type: ignore[misc]
        def generate(
            self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
        ) -> GenerationOutput:
            log = spec.weights_path(job.model_name) / "calls.jsonl"

            class Spy:
                def __getattr__(self, name: str) -> Any:
                    return getattr(pipeline, name)

                def __setattr__(self, name: str, value: Any) -> None:
                    setattr(pipeline, name, value)  # e.g. a scheduler swapped for one call

                def __call__(self, **kwargs: Any) -> Any:
                    for name, value in kwargs.items():  # picture lists, whole, for the pixels
                        if isinstance(value, list) and value and isinstance(value[0], Image.Image):
                            arrays = [np.asarray(v) for v in value]
                            if len({a.shape for a in arrays}) == 1:
                                np.save(log.parent / f"{job.task_id}-{name}.npy", np.stack(arrays))
                    seen = {k: _summary(v) for k, v in kwargs.items()}
                    seen = {k: v for k, v in seen.items() if v is not None}
                    with log.open("a") as file:
                        file.write(json.dumps({"task": job.task_id, **seen}) + "\n")
                    return pipeline(**kwargs)

            output: GenerationOutput = super().generate(Spy(), job, spec, on_step)
            return output

    Recording.__name__ = Recording.__qualname__ = f"Recording{base.__name__}"
    return Recording


RecordingFirstLastFrame = recording(WanFirstLastFrame)
RecordingImageToVideo = recording(WanImageToVideo)
RecordingVace = recording(WanVace)
RecordingWanTextToVideo = recording(WanTextToVideo)
