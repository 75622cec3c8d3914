"""Wan 2.1/2.2 image-to-video (``WanImageToVideoPipeline``).

- ``wan_i2v``: a first-frame model (e.g. Wan2.1-I2V-14B-480P/720P-Diffusers).
- ``wan_flf2v``: a first-and-last-frame model (Wan2.1-FLF2V-14B-720P-Diffusers): ``image_tail``
  goes to the pipeline's ``last_image``; these weights need a tail.

torch and diffusers are imported inside ``load``/``generate``: the server reads this module's
capabilities without them; only the engine's child process runs the pipeline.
"""

from __future__ import annotations

from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationJob, GenerationOutput, TaskKind
from openreel.engines.diffusers.adapters.base import AdapterError, PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["WanFirstLastFrame", "WanImageToVideo"]


class WanImageToVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "WanImageToVideoPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset()
    uses_tail: ClassVar[bool] = False

    def generate(
        self, pipeline: Any, job: GenerationJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        import torch

        from openreel.engines.classic.loading import probe_size
        from openreel.engines.diffusers.adapters.common import (
            frame_count,
            output_size,
            picture,
            step_callback,
            write_video,
        )

        if job.video is None:
            raise AdapterError("an image2video job needs a video spec")
        if "image" not in job.images:
            raise AdapterError("image is required by this model")
        multiple = pipeline.vae_scale_factor_spatial * pipeline.transformer.config.patch_size[1]
        width, height = output_size(*probe_size(job.images["image"], "image"), spec.area, multiple)
        frames = frame_count(
            job.video.seconds, spec.fps, spec.max_frames, pipeline.vae_scale_factor_temporal
        )
        extra: dict[str, Any] = {}
        if self.uses_tail:
            extra["last_image"] = picture(job, "image_tail", (width, height))
        result = pipeline(
            image=picture(job, "image", (width, height)),
            prompt=str(job.params.get("prompt") or ""),
            negative_prompt=str(job.params.get("negative_prompt") or spec.negative_prompt),
            height=height,
            width=width,
            num_frames=frames,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance_scale,
            generator=torch.Generator(device="cpu").manual_seed(job.seed),
            output_type="np",
            callback_on_step_end=step_callback(on_step, spec.steps),
            **extra,
        )
        return write_video(result.frames[0], job, spec.fps)


class WanFirstLastFrame(WanImageToVideo):
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL})
    uses_tail: ClassVar[bool] = True
