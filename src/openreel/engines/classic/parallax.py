"""Two-layer parallax for the default push-in and the "orbit" prompt.

The foreground is estimated with GrabCut seeded by a centred rectangle (small working size,
seeded RNG, so the result is deterministic); its solid core is cut out of a background plate
and filled with ``cv2.inpaint`` (TELEA, reduced resolution). The foreground layer keeps a
feathered alpha that is exactly 1 over the filled hole, so the neutral frame reproduces the
input. Each layer then gets its own virtual-camera rig: on a push-in the foreground magnifies
faster than the background (it is nearer the camera); on an orbit the background sweeps by a
yaw arc while the foreground turns only a third as far. When no plausible foreground is found
the move falls back to a single layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.camera_control import (
    CameraRig,
    framing_for,
    source_matrix,
    warp_view,
)
from openreel.engines.imaging.easing import smoothstep
from openreel.engines.imaging.loading import shrink_to

__all__ = ["ORBIT", "PUSH_IN", "Foreground", "LayeredRenderer", "Parallax", "find_foreground"]

_GRABCUT_SIDE = 240
_FEATHER = 3  # px (at source size) of soft edge; alpha is exactly 1 further inside
_INPAINT_SIDE = 320


@dataclass(frozen=True)
class Parallax:
    name: str
    background: CameraRig
    foreground: CameraRig


PUSH_IN = Parallax(
    "push_in", CameraRig("push_in:bg", scale=1 / 1.13), CameraRig("push_in:fg", scale=1 / 1.2)
)
ORBIT = Parallax(
    "orbit",
    CameraRig("orbit:bg", yaw=math.radians(10.0)),
    CameraRig("orbit:fg", yaw=math.radians(10.0 / 3)),
)


@dataclass(frozen=True)
class Foreground:
    rgba: np.ndarray  # source-sized RGBA uint8, alpha 0 outside the subject
    plate: np.ndarray  # source-sized RGB with the subject's core inpainted


def _subject_mask(small: np.ndarray, seed: int) -> np.ndarray | None:
    height, width = small.shape[:2]
    rect = (round(0.18 * width), round(0.12 * height), round(0.64 * width), round(0.76 * height))
    mask = np.zeros((height, width), np.uint8)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed % 2**31)
    try:
        cv2.grabCut(np.ascontiguousarray(small), mask, rect, bgd, fgd, 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None
    subject = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    opened = cv2.morphologyEx(subject, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    part = np.where(labels == best, 255, 0).astype(np.uint8)
    fraction = float(np.count_nonzero(part)) / part.size
    return part if 0.04 <= fraction <= 0.6 else None


def find_foreground(source: np.ndarray, seed: int) -> Foreground | None:
    """Foreground layer and background plate of ``source`` (HxWx3 uint8), or None."""
    height, width = source.shape[:2]
    small = shrink_to(source, _GRABCUT_SIDE)
    mask_small = _subject_mask(small, seed)
    if mask_small is None:
        return None
    mask = cv2.resize(mask_small, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
    k = 2 * _FEATHER + 1
    alpha = cv2.blur(mask, (k, k))
    hole = cv2.erode(mask, np.ones((k + 2, k + 2), np.uint8))  # alpha == 255 all over it
    if not np.any(hole):
        return None
    scale = min(1.0, _INPAINT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_src = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(
        cv2.dilate(hole, np.ones((5, 5), np.uint8)), size, interpolation=cv2.INTER_AREA
    )
    small_hole = np.where(small_hole > 0, 255, 0).astype(np.uint8)
    filled = cv2.inpaint(small_src, small_hole, 3, cv2.INPAINT_TELEA)
    big = cv2.GaussianBlur(
        cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR), (0, 0), 1.5
    )
    plate = source.copy()
    plate[hole > 0] = big[hole > 0]
    return Foreground(np.dstack([source, alpha]), plate)


class LayeredRenderer:
    """Background and (optional) foreground layers, each under its own rig."""

    def __init__(
        self,
        source: np.ndarray,
        out_size: tuple[int, int],
        motion: Parallax,
        foreground: Foreground | None,
    ) -> None:
        self.source = source
        self.out_size = out_size
        self.motion = motion
        self.foreground = foreground
        self.framing = framing_for([motion.background], out_size)
        self.src_size = (source.shape[1], source.shape[0])

    @staticmethod
    def max_zoom(motion: Parallax, out_size: tuple[int, int]) -> float:
        zoom = framing_for([motion.background], out_size).zoom
        return zoom * max(motion.background.max_magnification, motion.foreground.max_magnification)

    def _matrix(self, rig: CameraRig, e: float) -> np.ndarray:
        return source_matrix(rig.view(e, self.out_size), self.framing, self.out_size, self.src_size)

    def background_matrix(self, t: float) -> np.ndarray:
        return self._matrix(self.motion.background, smoothstep(t))

    def frame(self, t: float) -> np.ndarray:
        e = smoothstep(t)
        if self.foreground is None:
            return warp_view(self.source, self.background_matrix(t), self.out_size)
        back = warp_view(
            self.foreground.plate, self._matrix(self.motion.background, e), self.out_size
        )
        front = cv2.warpPerspective(
            self.foreground.rgba,
            self._matrix(self.motion.foreground, e),
            self.out_size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        alpha = np.multiply(cv2.extractChannel(front, 3), np.float32(1 / 255), dtype=np.float32)
        out: np.ndarray = cv2.blendLinear(
            cv2.cvtColor(front, cv2.COLOR_RGBA2RGB), back, alpha, np.float32(1) - alpha
        )
        return out
