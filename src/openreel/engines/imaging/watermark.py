"""A visible watermark for results, for any engine: a translucent "openreel AI" badge in the
bottom-right corner of every picture and every video frame.

An engine that honours ``watermark_info.enabled`` keeps its clean file and adds a watermarked
copy beside it (``watermark_outputs``); the render stores both (``url`` and ``watermark_url``).
Only the badge's box (``watermark_box``) differs between the two: a PNG copy is identical
elsewhere, a video copy is the clean clip's decoded frames re-encoded (x264 at the writer's
quality), with the badge blended into the Y/U/V planes directly, so no colour conversion
touches the rest of the picture. The badge is drawn with Pillow's bundled font, so it looks
the same on every machine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from openreel.engines.base import EngineError, OutputFile
from openreel.engines.imaging.overlay import over
from openreel.engines.imaging.png import save_png
from openreel.engines.imaging.text import premultiplied
from openreel.media.video import VideoWriter, Yuv420, rgb_to_yuv444

__all__ = ["Watermark", "watermark_box", "watermark_outputs"]

TEXT = "openreel AI"
_HEIGHT = 0.075  # badge height, fraction of the picture's shorter side
_MARGIN = 0.035  # from the right and bottom edges, same unit
_PANEL_ALPHA = 120
_TEXT_ALPHA = 235
# Limited-range BT.709 black: what (Y, U, V) an RGB of zero converts to.
_YUV_ZERO = np.array([16.0, 128.0, 128.0], np.float32)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


def _font(height: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(height * 0.58)))


def watermark_box(size: tuple[int, int]) -> Box:
    """Where the badge goes on a ``size`` = (width, height) picture."""
    width, height = size
    short = min(width, height)
    badge_h = max(10, round(_HEIGHT * short))
    pad = max(3, badge_h // 3)
    badge_w = min(width, round(_font(badge_h).getlength(TEXT)) + 2 * pad)
    margin = round(_MARGIN * short)
    # Even corners and sides: the box maps exactly onto 4:2:0 chroma samples.
    badge_w, badge_h = badge_w - badge_w % 2, badge_h - badge_h % 2
    x, y = max(0, width - margin - badge_w), max(0, height - margin - badge_h)
    return Box(x - x % 2, y - y % 2, badge_w, badge_h)


def _badge(box: Box) -> np.ndarray:
    """The badge as premultiplied RGBA, ``box.h`` x ``box.w``."""
    layer = Image.new("RGBA", (box.w, box.h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    radius = box.h // 3
    draw.rounded_rectangle((0, 0, box.w - 1, box.h - 1), radius, fill=(10, 10, 14, _PANEL_ALPHA))
    font = _font(box.h)
    draw.text(
        (box.w / 2, box.h / 2), TEXT, font=font, fill=(255, 255, 255, _TEXT_ALPHA), anchor="mm"
    )
    return premultiplied(layer)


class Watermark:
    """The badge for one picture size, ready to blend onto RGB pictures or YUV 4:2:0 frames."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.box = watermark_box(size)
        self.layer = _badge(self.box)
        alpha = self.layer[..., 3].astype(np.float32) / np.float32(255)
        # YUV blend: out = (1 - a) * yuv + q, with q = yuv(premultiplied) - (1 - a) * yuv(0)
        # (the conversion is affine, so this is the RGB "over" carried into Y, U and V).
        q = rgb_to_yuv444(np.ascontiguousarray(self.layer[..., :3])).astype(np.float32)
        q -= (np.float32(1) - alpha)[..., None] * _YUV_ZERO
        self._keep_y = np.float32(1) - alpha
        self._q_y = q[..., 0]
        half = (max(1, self.box.w // 2), max(1, self.box.h // 2))
        self._keep_c = cv2.resize(self._keep_y, half, interpolation=cv2.INTER_AREA)
        self._q_u = cv2.resize(q[..., 1], half, interpolation=cv2.INTER_AREA)
        self._q_v = cv2.resize(q[..., 2], half, interpolation=cv2.INTER_AREA)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """A watermarked copy of an HxWx3 uint8 RGB picture of this size."""
        out = np.array(rgb, dtype=np.uint8, copy=True)
        over(out, self.layer, self.box.x, self.box.y)
        return out

    def apply_yuv(self, frame: Yuv420) -> Yuv420:
        """A watermarked copy of a 4:2:0 frame (the chroma box is the luma box halved)."""
        b = self.box
        y = frame.y.copy()
        u, v = frame.u.copy(), frame.v.copy()
        _blend(y[b.y : b.y + b.h, b.x : b.x + b.w], self._keep_y, self._q_y)
        cx, cy = b.x // 2, b.y // 2
        ch, cw = self._keep_c.shape
        for plane, q in ((u, self._q_u), (v, self._q_v)):
            _blend(plane[cy : cy + ch, cx : cx + cw], self._keep_c, q)
        return Yuv420(y, u, v)


def _blend(roi: np.ndarray, keep: np.ndarray, q: np.ndarray) -> None:
    h, w = roi.shape
    mixed = roi.astype(np.float32) * keep[:h, :w] + q[:h, :w]
    roi[...] = np.clip(mixed + np.float32(0.5), 0, 255).astype(np.uint8)


def watermark_image(source: Path, target: Path) -> Path:
    with Image.open(source) as image:
        rgb = np.asarray(image.convert("RGB"))
    return save_png(Watermark((rgb.shape[1], rgb.shape[0])).apply(rgb), target)


def _planes(frame: av.VideoFrame) -> Yuv420:
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    height, width = frame.height, frame.width
    planar = frame.to_ndarray()  # Y rows, then U, then V (libavcodec's yuv420p layout)
    flat = planar.reshape(-1)
    luma = width * height
    chroma = (width // 2) * (height // 2)
    return Yuv420(
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2),
    )


def watermark_video(
    source: Path, target: Path, on_frame: Callable[[int, int], None] | None = None
) -> Path:
    """Re-encode ``source`` (H.264 MP4) with the badge on every frame; ``on_frame(done, total)``."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if rate is None:
            raise EngineError("the video to watermark has no frame rate")
        total = stream.frames or 0
        width, height = stream.codec_context.width, stream.codec_context.height
        mark = Watermark((width, height))

        def frames() -> Iterator[Yuv420]:
            for frame in container.decode(stream):
                yield mark.apply_yuv(_planes(frame))

        with VideoWriter(target, width, height, round(float(rate))) as writer:
            writer.encode(
                frames(), None if on_frame is None else (lambda done: on_frame(done, total))
            )
    return target


def _marked_path(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}_watermarked{suffix}")


def watermark_outputs(
    files: list[OutputFile], progress: Callable[[float], None] | None = None
) -> list[OutputFile]:
    """Each output with a watermarked copy beside it (``OutputFile.watermark_path``)."""
    marked = []
    for index, file in enumerate(files):
        if file.content_type.startswith("image/"):
            target = watermark_image(file.path, _marked_path(file.path, ".png"))
        elif file.content_type.startswith("video/"):
            target = _marked_path(file.path, file.path.suffix)

            def on_frame(done: int, total: int, index: int = index) -> None:
                if progress is not None and total:
                    progress((index + min(1.0, done / total)) / len(files))

            watermark_video(file.path, target, on_frame)
        else:
            raise EngineError(f"cannot watermark a {file.content_type} output")
        marked.append(dataclasses.replace(file, watermark_path=target))
        if progress is not None:
            progress((index + 1) / len(files))
    return marked
