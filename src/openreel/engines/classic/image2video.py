"""image2video: camera moves, first/last-frame morphs and motion-brush drags, streamed to H.264.

What drives the clip, in order of precedence (Kling allows only one group per request):

1. ``image`` + ``image_tail``: an optical-flow morph from one to the other (``morph.py``).
   ``image_tail`` alone: a pull-back over the tail that ends exactly on it.
2. ``dynamic_masks``: the masked regions follow their trajectories (``motion_brush.py``).
3. ``camera_control``: a virtual-camera homography path (``camera_control.py``).
4. Otherwise the prompt picks the move ("zoom out", "pan left", "tilt up", "orbit"...); the
   default is a two-layer parallax push-in (``parallax.py``).

``static_mask`` is applied last, on top of any of these: its pixels stay those of frame 0.
Frames are produced one at a time and encoded immediately; nothing holds the whole clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from openreel.engines.base import (
    EngineError,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
    VideoSpec,
)
from openreel.engines.classic.camera import (
    ZOOM_OUT,
    CameraMove,
    camera_move_for,
    window_matrix,
    working_source,
)
from openreel.engines.classic.camera_control import RigRenderer, rig_for_control
from openreel.engines.classic.morph import TailMorph
from openreel.engines.classic.parallax import (
    ORBIT,
    PUSH_IN,
    LayeredRenderer,
    find_foreground,
)
from openreel.engines.classic.warp_clip import WarpClip
from openreel.engines.imaging.canvas import frame_sized
from openreel.engines.imaging.loading import load_rgb
from openreel.engines.imaging.masks import StaticFreeze, load_mask
from openreel.engines.imaging.motion_brush import FrameAt, brush_clip
from openreel.media.images import probe_size
from openreel.media.video import VideoWriter, even_size_for

VIDEO_NAME = "video.mp4"


def video_spec(job: RenderJob) -> VideoSpec:
    if job.video is None:
        raise ValueError(f"{job.kind} job {job.task_id} has no VideoSpec")
    return job.video


def _frame_sized(path: Path, field: str, out_size: tuple[int, int]) -> np.ndarray:
    """The whole image at exactly ``out_size`` (cover-cropped if its aspect differs)."""
    return frame_sized(load_rgb(path, field, out_size), out_size)


def _tail_clip(job: RenderJob, out_size: tuple[int, int]) -> FrameAt:
    first = _frame_sized(job.images["image"], "image", out_size)
    last = _frame_sized(job.images["image_tail"], "image_tail", out_size)
    return TailMorph(first, last).frame


def _source(path: Path, field: str, out_size: tuple[int, int], max_zoom: float) -> np.ndarray:
    """The picture at the resolution the most zoomed-in frame of a move needs."""
    hint = (round(out_size[0] * max_zoom), round(out_size[1] * max_zoom))
    return working_source(load_rgb(path, field, hint), out_size, max_zoom)


def _move_clip(path: Path, field: str, move: CameraMove, out_size: tuple[int, int]) -> WarpClip:
    """A prompt camera move (zoom and pan of a window) over one picture."""
    source = _source(path, field, out_size, move.max_zoom)
    src_size = (source.shape[1], source.shape[0])

    def matrix_at(t: float) -> np.ndarray:
        zoom, ox, oy = move.at(t)
        return window_matrix(src_size, out_size, zoom, (ox, oy))

    return WarpClip(source, out_size, matrix_at)


def _tail_only_clip(job: RenderJob, out_size: tuple[int, int]) -> FrameAt:
    return _move_clip(job.images["image_tail"], "image_tail", ZOOM_OUT, out_size)


def _camera_clip(job: RenderJob, out_size: tuple[int, int]) -> FrameAt | None:
    rig = rig_for_control(job.params.get("camera_control"))
    if rig is None:
        return None
    source = _source(job.images["image"], "image", out_size, RigRenderer.max_zoom(rig, out_size))
    renderer = RigRenderer(source, out_size, rig)
    return WarpClip(source, out_size, lambda t: renderer.matrix(rig, t))


def _prompt_clip(job: RenderJob, out_size: tuple[int, int]) -> FrameAt:
    move = camera_move_for(str(job.params.get("prompt") or ""))
    path = job.images["image"]
    if move.name in ("push_in", "orbit"):
        motion = ORBIT if move.name == "orbit" else PUSH_IN
        source = _source(path, "image", out_size, LayeredRenderer.max_zoom(motion, out_size))
        foreground = find_foreground(source, job.seed)
        layered = LayeredRenderer(source, out_size, motion, foreground)
        if foreground is not None:
            return layered.frame
        return WarpClip(source, out_size, layered.background_matrix)

    return _move_clip(path, "image", move, out_size)


def _clip(
    job: RenderJob, in_size: tuple[int, int], out_size: tuple[int, int], count: int
) -> FrameAt:
    has_image, has_tail = "image" in job.images, "image_tail" in job.images
    if has_image and has_tail:
        return _tail_clip(job, out_size)
    if has_tail:
        return _tail_only_clip(job, out_size)
    return (
        brush_clip(job, in_size, out_size, count)
        or _camera_clip(job, out_size)
        or _prompt_clip(job, out_size)
    )


def render_image2video(job: RenderJob, progress: ProgressFn) -> GenerationOutput:
    spec = video_spec(job)
    if "image" in job.images:
        field = "image"
    elif "image_tail" in job.images:
        field = "image_tail"
    else:
        raise EngineError("image is required")
    in_size = probe_size(job.images[field], field)
    out_size = even_size_for(in_size[0], in_size[1], spec.short_side)
    frames = spec.frame_count
    clip = _clip(job, in_size, out_size, frames)
    freeze = (
        StaticFreeze(load_mask(job.images["static_mask"], "static_mask", out_size))
        if "static_mask" in job.images
        else None
    )

    def rendered() -> Iterator[np.ndarray]:
        for index in range(frames):
            frame = clip(index / (frames - 1) if frames > 1 else 0.0)
            yield frame if freeze is None else freeze.apply(frame)

    # A plain camera move renders straight to YUV; anything that post-processes RGB cannot.
    stream = clip.yuv_frames(frames) if isinstance(clip, WarpClip) and freeze is None else None
    target = job.output_dir / VIDEO_NAME
    with VideoWriter(target, out_size[0], out_size[1], spec.fps) as writer:
        writer.encode(stream or rendered(), lambda done: progress(done / (frames + 1)))
    progress(1.0)
    return GenerationOutput([OutputFile(target, "video/mp4", duration=str(spec.seconds))])
