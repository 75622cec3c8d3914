"""Wan VACE (``WanVACEPipeline``, e.g. Wan2.1-VACE-14B or Wan2.2-VACE-Fun-A14B): one model for
Elements and for the image2video conditions the I2V models lack.

VACE takes a control ``video`` and a ``mask`` per frame (black: keep these pixels, white:
generate), plus ``reference_images`` that it encodes as extra leading latent frames and strips
after denoising, i.e. references rather than keyframes.

- multi-image2video (Elements): the ``image_list`` pictures are the references; the output takes
  the request's ``aspect_ratio``.
- image2video: the first frame is kept (``image``), the last one too with ``image_tail`` (or
  alone, tail only); the frames between are grey and generated.
- ``dynamic_masks``: the control video is the classic engine's cut-and-drag render (each masked
  region dragged along its trajectory over an inpainted plate), all frames after the first left
  to the model to repaint with that motion as its guide (quality on real weights unconfirmed).
- ``static_mask``: the masked region is black in every frame's mask with the source's pixels in
  the video, then composited exactly into the decoded frames.

torch and diffusers are imported inside ``generate`` (see ``wan.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from openreel.engines.base import Feature, GenerationOutput, RenderJob, TaskKind
from openreel.engines.diffusers.adapters.base import PipelineAdapter, StepFn
from openreel.engines.diffusers.spec import ModelSpec

__all__ = ["Control", "WanVace", "control_video"]

_GREY = 127  # VACE's "nothing here yet": 0 after scaling to [-1, 1]
KEEP, GENERATE = 0, 255


@dataclass
class Control:
    """VACE's ``video`` (RGB frames) and ``mask`` (0 keep / 255 generate), the request's
    static mask (if any) and the picture its region is held to."""

    video: list[np.ndarray]
    masks: list[np.ndarray]
    anchor: np.ndarray
    still: np.ndarray | None


def control_video(job: RenderJob, size: tuple[int, int], frames: int) -> Control:
    """The control video and masks of an image2video job at ``size`` = (width, height)."""
    from openreel.engines.diffusers.adapters.common import picture
    from openreel.engines.diffusers.adapters.static_mask import static_mask
    from openreel.engines.imaging.canvas import cover_crop
    from openreel.engines.imaging.motion_brush import brush_clip
    from openreel.media.images import probe_size

    width, height = size
    video = [np.full((height, width, 3), _GREY, np.uint8) for _ in range(frames)]
    masks = [np.full((height, width), GENERATE, np.uint8) for _ in range(frames)]
    keep = {}
    if "image" in job.images:
        keep[0] = np.array(picture(job, "image", size))
        # Rendered at the picture's own aspect, then cropped like the picture, so masks and
        # trajectories land on the same pixels when the output's sides were rounded.
        in_size = probe_size(job.images["image"], "image")
        scale = max(width / in_size[0], height / in_size[1])
        cover = (max(width, round(in_size[0] * scale)), max(height, round(in_size[1] * scale)))
        brush = brush_clip(job, in_size, cover, frames)
        if brush is not None:
            video = [cover_crop(brush(i / max(1, frames - 1)), size) for i in range(frames)]
    if "image_tail" in job.images:
        keep[frames - 1] = np.array(picture(job, "image_tail", size))
    for index, frame in keep.items():
        video[index], masks[index] = frame, np.full_like(masks[index], KEEP)
    anchor = keep.get(0, keep.get(frames - 1, video[0]))
    still = static_mask(job, size)
    if still is not None:
        held = still > 0
        for frame, mask in zip(video, masks, strict=True):
            frame[held] = anchor[held]
            mask[held] = KEEP
    return Control(video, masks, anchor, still)


class WanVace(PipelineAdapter):
    pipeline: ClassVar[str] = "WanVACEPipeline"
    kinds: ClassVar[frozenset[TaskKind]] = frozenset(
        {TaskKind.IMAGE2VIDEO, TaskKind.MULTI_IMAGE2VIDEO}
    )
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.IMAGE_TAIL, Feature.TAIL_ONLY, Feature.STATIC_MASK, Feature.DYNAMIC_MASKS}
    )

    def generate(
        self, pipeline: Any, job: RenderJob, spec: ModelSpec, on_step: StepFn
    ) -> GenerationOutput:
        from PIL import Image

        from openreel.engines.diffusers.adapters.common import (
            common_arguments,
            plan_video,
            write_video,
        )
        from openreel.engines.diffusers.adapters.static_mask import pixel_freeze
        from openreel.engines.imaging.loading import indexed_images, load_rgb

        multiple = pipeline.vae_scale_factor_spatial * pipeline.transformer.config.patch_size[1]
        temporal = pipeline.vae_scale_factor_temporal
        arguments = common_arguments(job, spec, on_step)
        if job.kind is TaskKind.MULTI_IMAGE2VIDEO:
            plan = plan_video(job, spec, (), multiple, temporal)
            size = (plan.width, plan.height)
            references = [
                Image.fromarray(load_rgb(path, field, size))
                for field, path in indexed_images(job.images, "image_list", "image")
            ]
            result = pipeline(
                reference_images=references,
                height=plan.height,
                width=plan.width,
                num_frames=plan.frames,
                **arguments,
            )
            return write_video(result.frames[0], job, spec.fps)

        plan = plan_video(job, spec, ("image", "image_tail"), multiple, temporal)
        size = (plan.width, plan.height)
        control = control_video(job, size, plan.frames)
        result = pipeline(
            video=[Image.fromarray(frame) for frame in control.video],
            mask=[Image.fromarray(mask) for mask in control.masks],
            height=plan.height,
            width=plan.width,
            num_frames=plan.frames,
            **arguments,
        )
        still = control.still
        freeze = None if still is None else pixel_freeze(Image.fromarray(control.anchor), still)
        return write_video(result.frames[0], job, spec.fps, freeze)
