"""LTX-Video (``LTXConditionPipeline``): the fast option. ``image`` conditions the first frame
and ``image_tail`` the last one (either alone, or both).

torch and diffusers are imported inside ``load``/``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from openreel.engines.base import Feature, GenerationJob, GenerationOutput, TaskKind
from openreel.engines.diffusers.adapters.base import AdapterError, PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["LtxVideo"]


class LtxVideo(PipelineAdapter):
    pipeline: ClassVar[str] = "LTXConditionPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.IMAGE2VIDEO})
    features: ClassVar[frozenset[Feature]] = frozenset({Feature.IMAGE_TAIL, Feature.TAIL_ONLY})

    def generate(
        self, pipeline: Any, job: GenerationJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        import torch
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

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
        first = "image" if "image" in job.images else "image_tail"
        if first not in job.images:
            raise AdapterError("image or image_tail is required by this model")
        # The pipeline itself insists on multiples of 32, whatever its VAE's ratio.
        multiple = max(
            32, pipeline.vae_spatial_compression_ratio * pipeline.transformer_spatial_patch_size
        )
        width, height = output_size(*probe_size(job.images[first], first), spec.area, multiple)
        frames = frame_count(
            job.video.seconds, spec.fps, spec.max_frames, pipeline.vae_temporal_compression_ratio
        )
        conditions = [
            LTXVideoCondition(image=picture(job, field, (width, height)), frame_index=index)
            for field, index in (("image", 0), ("image_tail", frames - 1))
            if field in job.images
        ]
        result = pipeline(
            conditions=conditions,
            prompt=str(job.params.get("prompt") or ""),
            negative_prompt=str(job.params.get("negative_prompt") or spec.negative_prompt),
            height=height,
            width=width,
            num_frames=frames,
            frame_rate=spec.fps,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance_scale,
            generator=torch.Generator(device="cpu").manual_seed(job.seed),
            output_type="np",
            callback_on_step_end=step_callback(on_step, spec.steps),
        )
        return write_video(result.frames[0], job, spec.fps)
