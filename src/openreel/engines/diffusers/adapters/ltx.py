"""LTX-Video (``LTXConditionPipeline``): the fast option. ``image`` conditions the first frame
and ``image_tail`` the last one (either alone, or both).

torch and diffusers are imported inside ``load``/``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["LtxVideo"]


class LtxVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "LTXConditionPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL, Feature.TAIL_ONLY})

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        from openreel.engines.diffusers.adapters.common import (
            common_arguments,
            picture,
            plan_video,
            write_video,
        )

        # The pipeline itself insists on multiples of 32, whatever its VAE's ratio.
        multiple = max(
            32, pipeline.vae_spatial_compression_ratio * pipeline.transformer_spatial_patch_size
        )
        plan = plan_video(
            job, spec, ("image", "image_tail"), multiple, pipeline.vae_temporal_compression_ratio
        )
        conditions = [
            LTXVideoCondition(image=picture(job, field, (plan.width, plan.height)), frame_index=i)
            for field, i in (("image", 0), ("image_tail", plan.frames - 1))
            if field in job.images
        ]
        result = pipeline(
            conditions=conditions,
            height=plan.height,
            width=plan.width,
            num_frames=plan.frames,
            frame_rate=spec.fps,
            **common_arguments(job, spec, on_step),
        )
        return write_video(result.frames[0], job, spec.fps)
