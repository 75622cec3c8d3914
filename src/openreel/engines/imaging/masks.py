"""Motion-brush masks: loading them at the output size, and the ``static_mask`` freeze.

A mask is any image with the input's aspect ratio: bright (luma >= 128) means "selected"; a
transparent pixel counts as unselected. Masks are resized to the output size, so their own
resolution does not matter.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from openreel.engines.imaging.loading import load_rgb

__all__ = ["StaticFreeze", "load_mask", "selected"]

_FREEZE_FEATHER = 2  # px of soft edge outside the frozen area's solid core


def load_mask(path: Path, field: str, out_size: tuple[int, int]) -> np.ndarray:
    """Binary (0/255) HxW uint8 mask at ``out_size`` = (width, height)."""
    rgb = load_rgb(path, field, out_size, background=(0, 0, 0))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if grey.shape[::-1] != out_size:
        shrinking = grey.shape[1] > out_size[0]
        grey = cv2.resize(
            grey, out_size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
    return selected(grey)


def selected(grey: np.ndarray) -> np.ndarray:
    """The mask rule: luma >= 128 is selected (255), anything darker is not (0)."""
    binary: np.ndarray = np.where(grey >= 128, 255, 0).astype(np.uint8)
    return binary


class StaticFreeze:
    """Pins the masked pixels of every frame to the first frame's (applied after all motion).

    Inside the mask the weight is exactly 1, so those pixels are copied bit for bit; a
    ``_FREEZE_FEATHER`` px ramp outside it hides the seam.
    """

    def __init__(self, mask: np.ndarray) -> None:
        k = 2 * _FREEZE_FEATHER + 1
        grown = cv2.dilate(mask, np.ones((k, k), np.uint8))
        soft = cv2.blur(grown, (k, k)).astype(np.float32) / 255.0
        soft[mask > 0] = 1.0
        ys, xs = np.nonzero(soft > 0)
        self.empty = ys.size == 0
        if self.empty:
            self.box = (0, 0, 0, 0)
        else:
            self.box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        x0, y0, x1, y1 = self.box
        self.weight = np.ascontiguousarray(soft[y0:y1, x0:x1])
        self.rest = np.ascontiguousarray(1.0 - self.weight)
        self.first: np.ndarray | None = None

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` with the frozen region restored; the first call records the reference."""
        if self.empty:
            return frame
        x0, y0, x1, y1 = self.box
        if self.first is None:
            self.first = frame[y0:y1, x0:x1].copy()
            return frame
        out = frame if frame.flags.writeable else frame.copy()
        out[y0:y1, x0:x1] = cv2.blendLinear(self.first, out[y0:y1, x0:x1], self.weight, self.rest)
        return out
