"""A clip that is one still picture seen through a moving camera (one homography per frame).

Camera moves without layers (prompt moves, ``camera_control``, a push-in with no foreground)
are this shape. Besides RGB frames (for features that post-process them, e.g. the static
mask) a ``WarpClip`` renders straight to 4:2:0 YUV: the picture is converted once, then each
frame warps the luma plane at full size and the chroma planes at half size. That is half the
pixels of an RGB warp and no per-frame colour conversion, the way ffmpeg's own filters run
after one conversion of their input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.camera_control import warp_view
from openreel.media.video import Yuv420, rgb_to_yuv444

__all__ = ["WarpClip"]

MatrixAt = Callable[[float], np.ndarray]

# Luma pixel (x, y) <-> 4:2:0 chroma pixel, chroma samples centred between luma pairs.
_LUMA_FROM_CHROMA = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])


def _as_3x3(matrix: np.ndarray) -> np.ndarray:
    if matrix.shape == (3, 3):
        return matrix
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _warp(plane: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpPerspective(
        plane, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


@dataclass(frozen=True)
class WarpClip:
    """``source`` (HxWx3 RGB) through ``matrix_at(t)``: 3x3 or 2x3, output -> source pixel."""

    source: np.ndarray
    out_size: tuple[int, int]
    matrix_at: MatrixAt

    def __call__(self, t: float) -> np.ndarray:
        return warp_view(self.source, _as_3x3(self.matrix_at(t)), self.out_size)

    def yuv_frames(self, count: int) -> Iterator[Yuv420]:
        """The clip's ``count`` frames (t from 0 to 1) as BT.709 4:2:0 frames."""
        yuv = rgb_to_yuv444(self.source)
        luma = np.ascontiguousarray(yuv[:, :, 0])
        height, width = luma.shape
        half = ((width + 1) // 2, (height + 1) // 2)
        # One plane at a time: OpenCV warps single-channel images ~3x faster than two-channel.
        u, v = (
            cv2.resize(np.ascontiguousarray(yuv[:, :, i]), half, interpolation=cv2.INTER_AREA)
            for i in (1, 2)
        )
        # Chroma planes are half the luma size; their pixel grid is mapped through luma's.
        to_chroma = np.diag([half[0] / width, half[1] / height, 1.0])
        to_chroma[:2, 2] = (to_chroma[0, 0] - 1) / 2, (to_chroma[1, 1] - 1) / 2
        out_w, out_h = self.out_size
        for index in range(count):
            t = index / (count - 1) if count > 1 else 0.0
            matrix = _as_3x3(self.matrix_at(t))
            chroma_matrix = to_chroma @ matrix @ _LUMA_FROM_CHROMA
            out_half = (out_w // 2, out_h // 2)
            yield Yuv420(
                _warp(luma, matrix, self.out_size),
                _warp(u, chroma_matrix, out_half),
                _warp(v, chroma_matrix, out_half),
            )
