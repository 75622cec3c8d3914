"""image2video: an eased camera move (Ken Burns) over the input image, streamed to H.264."""

from __future__ import annotations

import math

from openreel.engines.base import (
    GenerationJob,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    VideoSpec,
)
from openreel.engines.classic.camera import camera_move_for, render_window, working_source
from openreel.engines.classic.loading import load_rgb, probe_size, required
from openreel.media.video import VideoWriter, even_size_for

VIDEO_NAME = "video.mp4"


def video_spec(job: GenerationJob) -> VideoSpec:
    if job.video is None:
        raise ValueError(f"{job.kind} job {job.task_id} has no VideoSpec")
    return job.video


def render_image2video(job: GenerationJob, progress: ProgressFn) -> GenerationOutput:
    spec = video_spec(job)
    path = required(job.images, "image")
    in_w, in_h = probe_size(path, "image")
    out_size = even_size_for(in_w, in_h, spec.short_side)
    move = camera_move_for(str(job.params.get("prompt") or ""))

    decode_hint = (
        math.ceil(out_size[0] * move.max_zoom),
        math.ceil(out_size[1] * move.max_zoom),
    )
    source = working_source(load_rgb(path, "image", decode_hint), out_size, move.max_zoom)

    frames = spec.frame_count
    target = job.output_dir / VIDEO_NAME
    with VideoWriter(target, out_size[0], out_size[1], spec.fps) as writer:
        for index in range(frames):
            t = index / (frames - 1) if frames > 1 else 0.0
            zoom, ox, oy = move.at(t)
            writer.write(render_window(source, out_size, zoom, (ox, oy)))
            progress((index + 1) / (frames + 1))
    progress(1.0)
    return GenerationOutput([OutputFile(target, "video/mp4", duration=str(spec.seconds))])
