"""Wan 2.1/2.2 image-to-video (``WanImageToVideoPipeline``) and text-to-video (``WanPipeline``).

- ``wan_i2v``: a first-frame model (e.g. Wan2.1-I2V-14B-480P/720P-Diffusers).
- ``wan_flf2v``: a first-and-last-frame model (Wan2.1-FLF2V-14B-720P-Diffusers): ``image_tail``
  goes to the pipeline's ``last_image``; these weights need a tail (refused at create without).
- ``wan_t2v``: text-to-video (Wan2.1-T2V-14B/1.3B, Wan2.2-T2V-A14B, Wan2.2-TI2V-5B as
  ``*-Diffusers``): the output takes the request's ``aspect_ratio``.

Both honour ``static_mask`` by latent blending plus a pixel composite (``static_mask.py``).

torch and diffusers are imported inside ``load``/``generate``: the server reads this module's
capabilities without them; only the engine's child process runs the pipeline.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["WanFirstLastFrame", "WanImageToVideo", "WanTextToVideo"]


class WanImageToVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "WanImageToVideoPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.STATIC_MASK})
    uses_tail: ClassVar[bool] = False

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from openreel.engines.diffusers.adapters.common import (
            common_arguments,
            picture,
            plan_video,
            write_video,
        )
        from openreel.engines.diffusers.adapters.static_mask import (
            LatentFreeze,
            blending_scheduler,
            pixel_freeze,
            static_mask,
        )

        multiple = pipeline.vae_scale_factor_spatial * pipeline.transformer.config.patch_size[1]
        plan = plan_video(job, spec, ("image",), multiple, pipeline.vae_scale_factor_temporal)
        size = (plan.width, plan.height)
        first = picture(job, "image", size)
        extra: dict[str, Any] = {}
        if self.uses_tail:
            extra["last_image"] = picture(job, "image_tail", size)
        mask = static_mask(job, size)
        hold = None if mask is None else LatentFreeze(pipeline, first, mask, plan.frames, job.seed)
        with blending_scheduler(pipeline, spec.steps) if hold else nullcontext():
            result = pipeline(
                image=first,
                height=plan.height,
                width=plan.width,
                num_frames=plan.frames,
                **common_arguments(job, spec, on_step, hold),
                **extra,
            )
        freeze = None if mask is None else pixel_freeze(first, mask)
        return write_video(result.frames[0], job, spec.fps, freeze)


class WanFirstLastFrame(WanImageToVideo):
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL, Feature.STATIC_MASK})
    required: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL})
    uses_tail: ClassVar[bool] = True


class WanTextToVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "WanPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.TEXT2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset()

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from openreel.engines.diffusers.adapters.common import (
            common_arguments,
            plan_video,
            write_video,
        )

        multiple = pipeline.vae_scale_factor_spatial * pipeline.transformer.config.patch_size[1]
        plan = plan_video(job, spec, (), multiple, pipeline.vae_scale_factor_temporal)
        result = pipeline(
            height=plan.height,
            width=plan.width,
            num_frames=plan.frames,
            **common_arguments(job, spec, on_step),
        )
        return write_video(result.frames[0], job, spec.fps)
