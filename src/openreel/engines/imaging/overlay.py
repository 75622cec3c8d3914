"""Compositing a premultiplied RGBA layer over RGB pictures, in place and fast (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["over"]


def over(frame: np.ndarray, layer: np.ndarray, x: int = 0, y: int = 0) -> None:
    """Composite ``layer`` (HxWx4 uint8, RGB premultiplied by alpha) onto ``frame`` (uint8 RGB)
    with its top-left corner at (x, y), in place; the parts outside ``frame`` are dropped."""
    height, width = frame.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + layer.shape[1]), min(height, y + layer.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    part = layer[y0 - y : y1 - y, x0 - x : x1 - x]
    roi = frame[y0:y1, x0:x1]
    keep = cv2.merge([255 - part[..., 3]] * 3)
    under = cv2.multiply(roi, keep, scale=1 / 255)
    roi[...] = cv2.add(under, np.ascontiguousarray(part[..., :3]))


class FullLayer:
    """A frame-sized premultiplied layer composited onto many frames (a video's static part):
    its inverse alpha is expanded to three channels once, not per frame."""

    def __init__(self, layer: np.ndarray) -> None:
        self.colour = np.ascontiguousarray(layer[..., :3])
        self.keep = cv2.merge([255 - layer[..., 3]] * 3)

    def onto(self, frame: np.ndarray) -> None:
        """Composite onto ``frame`` (same size, uint8 RGB) in place."""
        under = cv2.multiply(frame, self.keep, scale=1 / 255)
        cv2.add(under, self.colour, dst=frame)
