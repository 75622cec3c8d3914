"""text2video: the test card (``card.py``) as a clip, seen through the request's camera move.

A placeholder, not a generation: the prompt is typeset on a card whose backdrop moves, and the
whole card is filmed by the virtual camera of image2video: ``camera_control`` when the request
has one (``camera_control.py``: simple moves and the four presets), else the move the prompt
names ("pan left", "zoom out"...; default a slow push-in, ``camera.py``). A time code in the
top-left corner stays put on screen. Size, fps and frame count follow the plan's ``VideoSpec``
and ``aspect_ratio`` like multi_image2video; the backdrop is seeded by the task's seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

from openreel.engines.base import GenerationOutput, OutputFile, ProgressFn, RenderJob
from openreel.engines.classic.camera import camera_move_for, window_matrix
from openreel.engines.classic.camera_control import (
    RigRenderer,
    framing_for,
    rig_for_control,
    source_matrix,
    warp_view,
)
from openreel.engines.classic.card import NOTICE, Backdrop, card_layer
from openreel.engines.classic.elements import frame_size
from openreel.engines.classic.image2video import VIDEO_NAME, video_spec
from openreel.engines.imaging.easing import smoothstep
from openreel.engines.imaging.overlay import FullLayer
from openreel.media.video import VideoWriter

__all__ = ["render_text2video"]

MatrixAt = Callable[[float], np.ndarray]


def _as_3x3(matrix: np.ndarray) -> np.ndarray:
    return matrix if matrix.shape == (3, 3) else np.vstack([matrix, [0.0, 0.0, 1.0]])


def camera_path(job: RenderJob, out_size: tuple[int, int]) -> tuple[float, MatrixAt]:
    """(how much larger than the frame the card must be drawn, t -> output-to-card matrix given
    the card's size): ``camera_control`` first, else the prompt's camera move."""
    rig = rig_for_control(job.params.get("camera_control"))
    if rig is not None:
        max_zoom = RigRenderer.max_zoom(rig, out_size)
        src = _source_size(out_size, max_zoom)
        framing = framing_for([rig], out_size)
        return max_zoom, lambda t: source_matrix(
            rig.view(smoothstep(t), out_size), framing, out_size, src
        )
    move = camera_move_for(str(job.params.get("prompt") or ""))
    src = _source_size(out_size, move.max_zoom)

    def matrix_at(t: float) -> np.ndarray:
        zoom, ox, oy = move.at(t)
        return _as_3x3(window_matrix(src, out_size, zoom, (ox, oy)))

    return move.max_zoom, matrix_at


def _source_size(out_size: tuple[int, int], max_zoom: float) -> tuple[int, int]:
    """The card is drawn at the resolution the most zoomed-in frame needs (sharp text)."""
    zoom = max(1.0, max_zoom)
    return round(out_size[0] * zoom), round(out_size[1] * zoom)


def _timecode(frame: np.ndarray, index: int, frames: int, fps: int) -> None:
    """``mm:ss.ff  index/frames`` in the top-left corner, on a dark backing (ASCII only)."""
    seconds, sub = divmod(index, fps)
    text = f"{seconds // 60:02d}:{seconds % 60:02d}.{sub:02d}  {index + 1}/{frames}"
    short = min(frame.shape[:2])
    scale = max(0.3, short / 900)
    thickness = max(1, round(scale * 1.6))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = max(2, short // 40), max(2, short // 40)
    pad = max(2, h // 3)
    roi = frame[y : y + h + base + 2 * pad, x : x + w + 2 * pad]
    roi[...] = (roi.astype(np.uint16) * 2 // 5).astype(np.uint8)
    cv2.putText(
        frame,
        text,
        (x + pad, y + pad + h),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )


def render_text2video(job: RenderJob, progress: ProgressFn) -> GenerationOutput:
    spec = video_spec(job)
    out_size = frame_size(job.params.get("aspect_ratio"), spec.short_side)
    max_zoom, matrix_at = camera_path(job, out_size)
    src_size = _source_size(out_size, max_zoom)
    prompt = str(job.params.get("prompt") or "")
    layer = FullLayer(card_layer(src_size, prompt, NOTICE, job.seed))
    backdrop = Backdrop(src_size, job.seed)
    frames = spec.frame_count

    def rendered() -> Iterator[np.ndarray]:
        for index in range(frames):
            t = index / (frames - 1) if frames > 1 else 0.0
            card = backdrop.at(index / spec.fps)
            layer.onto(card)
            frame = warp_view(card, matrix_at(t), out_size)
            _timecode(frame, index, frames, spec.fps)
            yield frame

    target = job.output_dir / VIDEO_NAME
    with VideoWriter(target, out_size[0], out_size[1], spec.fps) as writer:
        writer.encode(rendered(), lambda done: progress(done / (frames + 1)))
    progress(1.0)
    return GenerationOutput([OutputFile(target, "video/mp4", duration=str(spec.seconds))])
