"""LTX-Video, the fast option:

- ``ltx_video`` (``LTXConditionPipeline``): image2video, ``image`` conditions the first frame
  and ``image_tail`` the last one (either alone, or both); and text2video, without conditions,
  so one set of weights, loaded once, serves both;
- ``ltx_t2v`` (``LTXPipeline``): text2video only, the pipeline the LTX-Video repositories name.

Text-to-video takes the request's ``aspect_ratio``.

torch and diffusers are imported inside ``load``/``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["LtxTextToVideo", "LtxVideo"]


def _multiple(pipeline: Any) -> int:
    # The pipelines themselves insist on multiples of 32, whatever the VAE's ratio.
    return int(
        max(32, pipeline.vae_spatial_compression_ratio * pipeline.transformer_spatial_patch_size)
    )


class LtxVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "LTXConditionPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO, TaskKind.TEXT2VIDEO})
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

        fields = () if job.kind is TaskKind.TEXT2VIDEO else ("image", "image_tail")
        plan = plan_video(
            job, spec, fields, _multiple(pipeline), pipeline.vae_temporal_compression_ratio
        )
        conditions = [
            LTXVideoCondition(image=picture(job, field, (plan.width, plan.height)), frame_index=i)
            for field, i in (("image", 0), ("image_tail", plan.frames - 1))
            if field in job.images and job.kind is TaskKind.IMAGE2VIDEO
        ]
        result = pipeline(
            conditions=conditions or None,
            height=plan.height,
            width=plan.width,
            num_frames=plan.frames,
            frame_rate=spec.fps,
            **common_arguments(job, spec, on_step),
        )
        return write_video(result.frames[0], job, spec.fps)


class LtxTextToVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "LTXPipeline"
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

        plan = plan_video(
            job, spec, (), _multiple(pipeline), pipeline.vae_temporal_compression_ratio
        )
        result = pipeline(
            height=plan.height,
            width=plan.width,
            num_frames=plan.frames,
            frame_rate=spec.fps,
            **common_arguments(job, spec, on_step),
        )
        return write_video(result.frames[0], job, spec.fps)
