"""Streaming H.264 MP4 writer on PyAV (libx264, yuv420p, BT.709, ``+faststart``).

Frames are encoded the moment they are written, so a clip never sits in memory. The file is
written under a temporary name next to ``path`` and renamed into place only when the ``with``
block ends without an exception; on failure the partial file is deleted.

Example::

    with VideoWriter(out / "video.mp4", 1280, 720, fps=24) as writer:
        writer.encode(frames)  # an iterable of HxWx3 uint8 RGB frames

``encode`` pulls the frames in a helper thread, so rendering the next frames and converting
them to YUV overlap with x264 encoding the previous ones (OpenCV, NumPy, swscale and x264 all
release the GIL); ``write`` encodes one frame synchronously.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

__all__ = ["VideoWriter", "Yuv420", "even_size_for", "rgb_to_yuv444"]

# ITU-T H.273 code points: BT.709 primaries / transfer / matrix.
_BT709 = 1
# x264's macroblock-tree rate control is not run-to-run reproducible on AVX-512 CPUs when the
# width in macroblocks is not a multiple of 8 (e.g. 576x360: same frames, different bitstream
# on every run; measured with the PyAV 18.1 wheel, fixed by mbtree=0 or by masking AVX-512).
# Engines promise identical output for identical jobs, so it is off: at the same CRF this costs
# roughly 2x the bytes (and gives slightly higher PSNR).
_X264_PARAMS = "mbtree=0"
# Frames rendered ahead of the encoder by ``encode``: enough to ride out uneven frame times,
# few enough that a 1080p clip's buffered frames stay small (3 MiB each in YUV 4:2:0).
_LOOKAHEAD = 4
# x264's own default (1.5 threads per core), capped: each frame thread holds frames, so on a
# many-core host an uncapped encoder would grow a 1080p render by hundreds of MB.
_X264_THREADS = min(6, max(1, round(1.5 * (os.cpu_count() or 1))))
_END = object()


# The one RGB -> YUV conversion of every frame and picture: BT.709 matrix, full-range RGB in,
# limited-range ("TV") YUV out, as the stream is tagged.
_TO_VIDEO_YUV: dict[str, Any] = {
    "src_colorspace": Colorspace.ITU709,
    "dst_colorspace": Colorspace.ITU709,
    "src_color_range": ColorRange.JPEG,
    "dst_color_range": ColorRange.MPEG,
    "dst_color_trc": _BT709,
    "dst_color_primaries": _BT709,
}


@dataclass(frozen=True)
class Yuv420:
    """A frame already in the video's colour space (uint8, BT.709 limited range): ``y`` is
    HxW, ``u`` and ``v`` are (H/2)x(W/2)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def rgb_to_yuv444(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 RGB -> HxWx3 YUV (planes stacked) by the writer's conversion, at full chroma size."""
    height, width = rgb.shape[:2]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    planar = frame.reformat(format="yuv444p", **_TO_VIDEO_YUV).to_ndarray()
    return np.ascontiguousarray(planar.reshape(3, height, width).transpose(1, 2, 0))


def even_size_for(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Scale ``width``x``height`` so its shorter side is ``short_side``, keeping the aspect ratio.

    Both sides are rounded to the nearest even number (H.264 with 4:2:0 chroma needs even sizes);
    an odd ``short_side`` is rounded to even as well.
    """
    if width <= 0 or height <= 0 or short_side <= 0:
        raise ValueError(f"sizes must be positive, got {width}x{height} -> {short_side}")
    scale = short_side / min(width, height)

    def even(value: float) -> int:
        return max(2, 2 * math.floor(value / 2 + 0.5))  # half-up, not banker's rounding

    return even(width * scale), even(height * scale)


class VideoWriter:
    """Context manager that encodes RGB frames into an H.264 MP4 file as they arrive."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: int,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"video size must be positive and even, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.width = width
        self.height = height
        self.fps = fps
        self.crf = crf
        self.preset = preset
        self.frames_written = 0
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        self._container: Any = None
        self._stream: Any = None

    def __enter__(self) -> VideoWriter:
        self._partial.unlink(missing_ok=True)
        container = av.open(
            str(self._partial), mode="w", format="mp4", container_options={"movflags": "+faststart"}
        )
        try:
            stream = container.add_stream(
                "libx264",
                rate=self.fps,
                options={
                    "crf": str(self.crf),
                    "preset": self.preset,
                    "x264-params": _X264_PARAMS,
                },
            )
            stream.width = self.width
            stream.height = self.height
            stream.pix_fmt = "yuv420p"
            ctx = stream.codec_context
            # Frame threads, as the ffmpeg CLI uses (PyAV's default is slice threads, which
            # scale worse). x264 output stays deterministic either way.
            ctx.thread_type = "FRAME"
            ctx.thread_count = _X264_THREADS
            ctx.colorspace = _BT709
            ctx.color_primaries = _BT709
            ctx.color_trc = _BT709
            ctx.color_range = int(ColorRange.MPEG)
        except BaseException:
            container.close()
            self._partial.unlink(missing_ok=True)
            raise
        self._container = container
        self._stream = stream
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one ``height``x``width``x3 uint8 RGB frame."""
        self._encode_yuv(self._to_yuv(frame))

    def encode(
        self,
        frames: Iterable[np.ndarray] | Iterable[Yuv420],
        on_frame: Callable[[int], None] | None = None,
    ) -> None:
        """Encode every frame of ``frames`` (RGB arrays or ``Yuv420`` planes); ``on_frame(n)``
        runs after the n-th is encoded.

        ``frames`` is iterated (and each frame converted to YUV) in a helper thread, at most
        a few frames ahead of the encoder. An exception raised by ``frames`` is re-raised here;
        an exception here stops the helper thread before it propagates.
        """
        if self._container is None:
            raise RuntimeError("VideoWriter.encode() called outside its `with` block")
        handoff: queue.Queue[object] = queue.Queue(maxsize=_LOOKAHEAD)
        stop = threading.Event()

        def hand_over(item: object) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for frame in frames:
                    if not hand_over(self._to_yuv(frame)):
                        return
                hand_over(_END)
            except BaseException as exc:  # handed to the encoding thread, which re-raises it
                hand_over(exc)

        helper = threading.Thread(target=produce, name="openreel-frames", daemon=True)
        helper.start()
        try:
            while (item := handoff.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                item = cast(av.VideoFrame, item)  # the producer hands over frames only
                self._encode_yuv(item)
                if on_frame is not None:
                    on_frame(self.frames_written)
        finally:
            stop.set()
            helper.join()

    def _to_yuv(self, frame: np.ndarray | Yuv420) -> av.VideoFrame:
        if isinstance(frame, Yuv420):
            return self._from_planes(frame)
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"expected a {self.height}x{self.width}x3 uint8 frame, "
                f"got {frame.shape} {frame.dtype}"
            )
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        # Same size in and out, so the interpolation only shapes the 4:2:0 chroma decimation:
        # bilinear gives the same pixels as swscale's default bicubic here, in 60 % of the time.
        return rgb.reformat(format="yuv420p", interpolation=Interpolation.BILINEAR, **_TO_VIDEO_YUV)

    def _from_planes(self, frame: Yuv420) -> av.VideoFrame:
        half = (self.height // 2, self.width // 2)
        planes = (frame.y, frame.u, frame.v)
        if [p.shape for p in planes] != [(self.height, self.width), half, half] or any(
            p.dtype != np.uint8 for p in planes
        ):
            raise ValueError(
                f"expected {self.height}x{self.width} luma and {half[0]}x{half[1]} chroma "
                f"uint8 planes, got {', '.join(f'{p.shape} {p.dtype}' for p in planes)}"
            )
        # libavcodec's yuv420p ndarray layout: Y rows, then U, then V, each plane row-major.
        planar = np.concatenate([p.ravel() for p in planes])
        return av.VideoFrame.from_ndarray(
            planar.reshape(self.height * 3 // 2, self.width), format="yuv420p"
        )

    def _encode_yuv(self, yuv: av.VideoFrame) -> None:
        if self._container is None:
            raise RuntimeError("VideoWriter.write() called outside its `with` block")
        yuv.pts = self.frames_written
        for packet in self._stream.encode(yuv):
            self._container.mux(packet)
        self.frames_written += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        container, stream = self._container, self._stream
        self._container = self._stream = None
        if container is None:
            return
        if exc_type is not None:
            with contextlib.suppress(Exception):
                container.close()
            self._partial.unlink(missing_ok=True)
            return
        try:
            for packet in stream.encode():
                container.mux(packet)
            container.close()
        except BaseException:
            with contextlib.suppress(Exception):
                container.close()
            self._partial.unlink(missing_ok=True)
            raise
        os.replace(self._partial, self.path)
