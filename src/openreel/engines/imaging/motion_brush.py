"""``dynamic_masks``: cut each masked region out and drag it along its trajectory.

Per group the masked region (grown a little) becomes a layer with a feathered alpha, the holes
of all groups are filled once with ``cv2.inpaint`` (TELEA, at reduced resolution) to make a
clean background plate, and per frame every layer is translated so that its reference point,
the trajectory's first point, sits on the path (resampled by arc length, eased) before it is
composited over the plate.

Trajectory points are integer pixels of the *input image* with the origin at its bottom-left
corner (Kling wire spec §6.2): ``(x, y)`` is ``(x, in_height - 1 - y)`` from the top-left, then
scaled to the output size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from openreel.engines.base import RenderJob
from openreel.engines.imaging.canvas import frame_sized
from openreel.engines.imaging.easing import smoothstep
from openreel.engines.imaging.loading import indexed_images, load_rgb
from openreel.engines.imaging.masks import load_mask

__all__ = [
    "BrushLayer",
    "FrameAt",
    "MotionBrush",
    "brush_clip",
    "parse_trajectory",
    "resample_path",
]

FrameAt = Callable[[float], np.ndarray]

_GROW = 3  # px the cut-out extends beyond the mask
_FEATHER = 3  # px of soft edge around the grown mask
_INPAINT_SIDE = 400  # the plate is inpainted at most at this size, then upscaled
MAX_GROUPS = 6


def parse_trajectory(
    points: object, in_size: tuple[int, int], out_size: tuple[int, int]
) -> np.ndarray:
    """Kling trajectory (list of ``{"x", "y"}``, bottom-left origin, input pixels) as an Nx2
    float array of output-pixel coordinates from the top-left."""
    if not isinstance(points, Sequence) or isinstance(points, str | bytes):
        return np.zeros((0, 2))
    in_w, in_h = in_size
    out_w, out_h = out_size
    rows: list[tuple[float, float]] = []
    for point in points:
        if not isinstance(point, Mapping):
            continue
        try:
            x, y = float(point["x"]), float(point["y"])
        except (KeyError, TypeError, ValueError):
            continue
        y_top = in_h - 1 - y
        rows.append(((x + 0.5) * out_w / in_w - 0.5, (y_top + 0.5) * out_h / in_h - 0.5))
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def resample_path(path: np.ndarray, count: int) -> np.ndarray:
    """``count`` positions along ``path`` at eased, arc-length-uniform progress."""
    if len(path) == 0:
        return np.zeros((count, 2))
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    lengths = np.concatenate([[0.0], np.cumsum(steps)])
    total = float(lengths[-1])
    if total <= 1e-9:
        return np.repeat(path[:1], count, axis=0)
    ts = [i / (count - 1) if count > 1 else 0.0 for i in range(count)]
    along = np.array([smoothstep(t) * total for t in ts])
    x = np.interp(along, lengths, path[:, 0])
    y = np.interp(along, lengths, path[:, 1])
    return np.stack([x, y], axis=1)


@dataclass(frozen=True)
class BrushLayer:
    rgb: np.ndarray  # crop of the frame, HxWx3 uint8
    alpha: np.ndarray  # HxW float32 in [0, 1]
    origin: tuple[int, int]  # crop's top-left in the frame
    offsets: np.ndarray  # per frame (dx, dy) from the starting position


def _fill(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` (0/255) inpainted at reduced resolution."""
    height, width = hole.shape
    scale = min(1.0, _INPAINT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.dilate(np.where(small_hole > 0, 255, 0).astype(np.uint8), np.ones((3, 3)))
    filled = cv2.inpaint(small, small_hole, 3, cv2.INPAINT_TELEA)
    big = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    big = cv2.GaussianBlur(big, (0, 0), 1.0 / scale)
    plate = image.copy()
    plate[hole > 0] = big[hole > 0]
    return plate


class MotionBrush:
    """Renders the dragged layers over the inpainted plate; frame ``i`` of ``count``."""

    def __init__(
        self,
        image: np.ndarray,
        groups: list[tuple[np.ndarray, np.ndarray]],
        count: int,
    ) -> None:
        """``image``: frame-sized RGB; ``groups``: (binary mask, path in output px) pairs."""
        height, width = image.shape[:2]
        k_grow = np.ones((2 * _GROW + 1, 2 * _GROW + 1), np.uint8)
        k_soft = np.ones((2 * _FEATHER + 1, 2 * _FEATHER + 1), np.uint8)
        holes = np.zeros((height, width), np.uint8)
        self.layers: list[BrushLayer] = []
        for mask, path in groups[:MAX_GROUPS]:
            if not np.any(mask) or len(path) < 2:
                continue
            hole = cv2.dilate(mask, k_grow)
            reach = cv2.dilate(hole, k_soft)
            # A box blur of radius _FEATHER keeps alpha at exactly 1 over the whole hole.
            alpha_full = cv2.blur(reach, (2 * _FEATHER + 1, 2 * _FEATHER + 1))
            ys, xs = np.nonzero(alpha_full)
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            alpha = alpha_full[y0:y1, x0:x1].astype(np.float32) / 255.0
            positions = resample_path(path, count)
            self.layers.append(
                BrushLayer(
                    np.ascontiguousarray(image[y0:y1, x0:x1]),
                    np.ascontiguousarray(alpha),
                    (x0, y0),
                    positions - positions[0],
                )
            )
            holes = np.maximum(holes, hole)
        self.first = image
        self.plate = _fill(image, holes) if self.layers else image

    def frame(self, index: int) -> np.ndarray:
        if index == 0 or not self.layers:
            return self.first.copy()
        out = self.plate.copy()
        height, width = out.shape[:2]
        for layer in self.layers:
            dx, dy = (float(v) for v in layer.offsets[index])
            ix, iy = int(np.floor(dx)), int(np.floor(dy))
            fx, fy = dx - ix, dy - iy
            lh, lw = layer.alpha.shape
            shift = np.array([[1.0, 0.0, fx], [0.0, 1.0, fy]])
            size = (lw + 1, lh + 1)
            rgb = cv2.warpAffine(layer.rgb, shift, size, flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(layer.alpha, shift, size, flags=cv2.INTER_LINEAR)
            x0, y0 = layer.origin[0] + ix, layer.origin[1] + iy
            cx0, cy0 = max(0, x0), max(0, y0)
            cx1, cy1 = min(width, x0 + size[0]), min(height, y0 + size[1])
            if cx0 >= cx1 or cy0 >= cy1:
                continue
            sub = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
            a = np.ascontiguousarray(alpha[sub])
            out[cy0:cy1, cx0:cx1] = cv2.blendLinear(
                np.ascontiguousarray(rgb[sub]), out[cy0:cy1, cx0:cx1], a, 1.0 - a
            )
        return out


def brush_groups(
    params: Mapping[str, Any],
    masks: dict[int, np.ndarray],
    in_size: tuple[int, int],
    out_size: tuple[int, int],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mask, path) pairs from ``params["dynamic_masks"]`` and the loaded mask images."""
    entries = params.get("dynamic_masks")
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        return []
    groups = []
    for index, entry in enumerate(entries[:MAX_GROUPS]):
        if index not in masks or not isinstance(entry, Mapping):
            continue
        path = parse_trajectory(entry.get("trajectories"), in_size, out_size)
        if len(path) >= 2:
            groups.append((masks[index], path))
    return groups


def brush_clip(
    job: RenderJob, in_size: tuple[int, int], out_size: tuple[int, int], count: int
) -> FrameAt | None:
    """The cut-and-drag render of ``dynamic_masks`` (also the diffusers VACE control video)."""
    fields = indexed_images(job.images, "dynamic_masks", "mask")
    if not fields:
        return None
    masks = {
        int(field.split("[", 1)[1].split("]", 1)[0]): load_mask(path, field, out_size)
        for field, path in fields
    }
    groups = brush_groups(job.params, masks, in_size, out_size)
    if not groups:
        return None
    brush = MotionBrush(
        frame_sized(load_rgb(job.images["image"], "image", out_size), out_size), groups, count
    )

    def frame(t: float) -> np.ndarray:
        return brush.frame(round(t * (count - 1)))

    return frame
