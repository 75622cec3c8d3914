"""What every pipeline adapter shares: device and dtype, speed options, output geometry,
step callbacks and writing the frames. Imported only in the engine's child process."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from openreel.engines.base import GenerationOutput, ImageSpec, OutputFile, RenderJob
from openreel.engines.diffusers.adapters.base import AdapterError, StepFn
from openreel.engines.diffusers.adapters.guidance import guidance_scale
from openreel.engines.diffusers.spec import ModelSpec
from openreel.engines.imaging.canvas import ASPECTS
from openreel.engines.imaging.loading import load_rgb
from openreel.engines.imaging.masks import StaticFreeze
from openreel.engines.imaging.png import save_png
from openreel.media.images import probe_size
from openreel.media.video import VideoWriter

__all__ = [
    "LatentEdit",
    "VideoPlan",
    "common_arguments",
    "frame_count",
    "image_size",
    "image_spec",
    "output_size",
    "picture",
    "plan_video",
    "step_callback",
    "write_images",
    "write_video",
]

# A change to the pipeline's step outputs after each step: (pipeline, step, kwargs) -> kwargs.
LatentEdit = Callable[[Any, int, dict[str, Any]], dict[str, Any]]


def output_size(width: int, height: int, area: int, multiple: int) -> tuple[int, int]:
    """The input's aspect ratio at about ``area`` pixels, both sides multiples of ``multiple``."""
    scale = math.sqrt(area / (width * height))
    out_w = max(multiple, round(width * scale / multiple) * multiple)
    out_h = max(multiple, round(height * scale / multiple) * multiple)
    return out_w, out_h


def frame_count(seconds: int, fps: int, max_frames: int, temporal: int) -> int:
    """Frames for ``seconds`` at the model's ``fps``, as ``temporal * k + 1``, capped."""
    wanted = min(max_frames, seconds * fps + 1)
    return max(1, (wanted - 1) // temporal * temporal + 1)


def image_spec(job: RenderJob) -> ImageSpec:
    if job.image is None:
        raise AdapterError("an image job needs an image spec")
    return job.image


def image_size(job: RenderJob, spec: ModelSpec, multiple: int) -> tuple[int, int]:
    """An image job's output size: the request's ``aspect_ratio``/``resolution`` size, capped
    at the model's ``area``, sides rounded to ``multiple``."""
    wanted = (image_spec(job).width, image_spec(job).height)
    return output_size(*wanted, min(spec.area, wanted[0] * wanted[1]), multiple)


def write_images(images: np.ndarray, job: RenderJob) -> GenerationOutput:
    """``images`` (N, H, W, 3) floats in [0, 1] -> ``image_<i>.png`` in ``job.output_dir``."""
    job.output_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for index, image in enumerate(images):
        pixels = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        files.append(save_png(pixels, job.output_dir / f"image_{index}.png"))
    return GenerationOutput([OutputFile(path, "image/png") for path in files])


@dataclass(frozen=True)
class VideoPlan:
    width: int
    height: int
    frames: int


def plan_video(
    job: RenderJob, spec: ModelSpec, fields: tuple[str, ...], multiple: int, temporal: int
) -> VideoPlan:
    """Output size (the aspect of the first of ``fields`` the job has, or of the request's
    ``aspect_ratio`` when ``fields`` is empty; at ``spec.area``, sides multiples of
    ``multiple``) and frame count (``temporal * k + 1``)."""
    if job.video is None:
        raise AdapterError("a video job needs a video spec")
    width, height = output_size(*_aspect(job, fields), spec.area, multiple)
    frames = frame_count(job.video.seconds, spec.fps, spec.max_frames, temporal)
    return VideoPlan(width, height, frames)


def _aspect(job: RenderJob, fields: tuple[str, ...]) -> tuple[int, int]:
    if not fields:
        ratio = ASPECTS.get(str(job.params.get("aspect_ratio") or "16:9"))
        if ratio is None:
            raise AdapterError(f"aspect_ratio {job.params.get('aspect_ratio')!r} is not supported")
        return ratio
    field = next((f for f in fields if f in job.images), None)
    if field is None:
        raise AdapterError(f"{' or '.join(fields)} is required by this model")
    return probe_size(job.images[field], field)


def common_arguments(
    job: RenderJob, spec: ModelSpec, on_step: StepFn, edit: LatentEdit | None = None
) -> dict[str, Any]:
    """The pipeline arguments every adapter passes the same way (``edit``: see
    ``step_callback``); the request's ``cfg_scale`` through ``guidance.guidance_scale``."""
    cfg_scale = job.params.get("cfg_scale")
    return {
        "prompt": str(job.params.get("prompt") or ""),
        "negative_prompt": str(job.params.get("negative_prompt") or spec.negative_prompt),
        "num_inference_steps": spec.steps,
        "guidance_scale": guidance_scale(
            None if cfg_scale is None else float(cfg_scale), spec.guidance_scale
        ),
        "generator": torch.Generator(device="cpu").manual_seed(job.seed),
        "output_type": "np",
        "callback_on_step_end": step_callback(on_step, spec.steps, edit),
    }


def picture(job: RenderJob, field: str, size: tuple[int, int]) -> Image.Image:
    """An input image at the output size (cover crop keeps the centre)."""
    path = job.images.get(field)
    if path is None:
        raise AdapterError(f"{field} is required by this model")
    from openreel.engines.imaging.canvas import cover_crop

    rgb = load_rgb(path, field, size)
    return Image.fromarray(cover_crop(rgb, size))


def step_callback(on_step: StepFn, total: int, edit: LatentEdit | None = None) -> Any:
    """A diffusers ``callback_on_step_end`` that applies ``edit`` to the step's latents (e.g.
    the static-mask blend), then reports the finished step."""

    def callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if edit is not None:
            kwargs = edit(pipe, step, kwargs)
        on_step(step + 1, total)
        return kwargs

    return callback


def write_video(
    frames: np.ndarray, job: RenderJob, fps: int, freeze: StaticFreeze | None = None
) -> GenerationOutput:
    """``frames`` (T, H, W, 3) floats in [0, 1] -> an H.264 MP4 in ``job.output_dir``, with the
    static region pinned by ``freeze`` when there is one.

    Each frame is converted to bytes as the encoder asks for it (``encode`` iterates in a helper
    thread), not the whole clip first: on an H200 the clip-wide conversion of 121 frames at 480p
    was a large part of the 1.6 s between the pipeline and the finished MP4
    (docs/benchmarks.md), and it held a float copy of the clip.
    """
    clip = np.asarray(frames)
    count, height, width = clip.shape[:3]
    even_h, even_w = height - height % 2, width - width % 2

    def to_bytes(frame: np.ndarray) -> np.ndarray:
        pixels = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if freeze is not None:
            pixels = freeze.apply(pixels)
        return pixels[:even_h, :even_w]

    job.output_dir.mkdir(parents=True, exist_ok=True)
    path = job.output_dir / "video.mp4"
    with VideoWriter(path, even_w, even_h, fps) as writer:
        writer.encode(to_bytes(frame) for frame in clip)
    return GenerationOutput([OutputFile(path, "video/mp4", duration=f"{count / fps:g}")])
