"""Eased virtual-camera paths over a still image and the affine maps that render them.

A camera state is a zoom factor (1 = the whole image fills the frame) and the offset of the
view window's centre from the image centre, in units of the free margin at that zoom
(-1 = touching the left/top edge, +1 = touching the right/bottom edge), so any state keeps the
window inside the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.imaging.easing import smoothstep

__all__ = [
    "CameraMove",
    "camera_move_for",
    "render_window",
    "window_matrix",
    "working_source",
]


@dataclass(frozen=True)
class CameraMove:
    name: str
    zoom: tuple[float, float]
    start: tuple[float, float] = (0.0, 0.0)
    end: tuple[float, float] = (0.0, 0.0)

    @property
    def max_zoom(self) -> float:
        return max(self.zoom)

    def at(self, t: float) -> tuple[float, float, float]:
        """(zoom, offset_x, offset_y) at normalised time ``t`` in [0, 1], eased."""
        e = smoothstep(t)
        z0, z1 = self.zoom
        # Interpolate zoom geometrically so a push-in feels uniform in speed.
        zoom = z0 * (z1 / z0) ** e
        ox = self.start[0] + (self.end[0] - self.start[0]) * e
        oy = self.start[1] + (self.end[1] - self.start[1]) * e
        return zoom, ox, oy


_PAN_ZOOM = 1.12
_PAN_REACH = 0.9

PUSH_IN = CameraMove("push_in", (1.0, 1.15))
ZOOM_OUT = CameraMove("zoom_out", (1.15, 1.0))
# "Pan left": the camera turns left, so the view window travels towards the image's left edge.
PAN_LEFT = CameraMove("pan_left", (_PAN_ZOOM, _PAN_ZOOM), (_PAN_REACH, 0.0), (-_PAN_REACH, 0.0))
PAN_RIGHT = CameraMove("pan_right", (_PAN_ZOOM, _PAN_ZOOM), (-_PAN_REACH, 0.0), (_PAN_REACH, 0.0))
TILT_UP = CameraMove("tilt_up", (_PAN_ZOOM, _PAN_ZOOM), (0.0, _PAN_REACH), (0.0, -_PAN_REACH))
TILT_DOWN = CameraMove("tilt_down", (_PAN_ZOOM, _PAN_ZOOM), (0.0, -_PAN_REACH), (0.0, _PAN_REACH))
# A marker: image2video renders an orbit as a two-layer yaw arc (see parallax.py); as a plain
# Ken Burns path it is a slow pan right.
ORBIT = CameraMove("orbit", (_PAN_ZOOM, _PAN_ZOOM), (-0.5, 0.0), (0.5, 0.0))

_KEYWORDS: list[tuple[re.Pattern[str], CameraMove]] = [
    (
        re.compile(
            r"\b(?:orbit(?:s|ing|ed)?|circl(?:e|es|ing|ed)\s+(?:a)?round|arc(?:s|ing)?\s+"
            r"(?:a)?round|revolv(?:e|es|ing)\s+around)\b|环绕|环拍|绕拍"
        ),
        ORBIT,
    ),
    (
        re.compile(
            r"\b(?:zoom(?:s|ing|ed)?|pull(?:s|ing|ed)?|dolly(?:ing)?)\s+(?:out|back)\b"
            r"|拉远|镜头后退"
        ),
        ZOOM_OUT,
    ),
    (
        re.compile(
            r"\b(?:zoom(?:s|ing|ed)?|push(?:es|ing|ed)?|dolly(?:ing)?)\s+in\b"
            r"|推近|推进|镜头前推"
        ),
        PUSH_IN,
    ),
    (
        re.compile(
            r"\b(?:pan(?:s|ning|ned)?|track(?:s|ing)?|truck(?:s|ing)?)\s+"
            r"(?:to\s+the\s+)?left\b|左摇|镜头左移|镜头向左"
        ),
        PAN_LEFT,
    ),
    (
        re.compile(
            r"\b(?:pan(?:s|ning|ned)?|track(?:s|ing)?|truck(?:s|ing)?)\s+"
            r"(?:to\s+the\s+)?right\b|右摇|镜头右移|镜头向右"
        ),
        PAN_RIGHT,
    ),
    (
        re.compile(r"\b(?:tilt(?:s|ing|ed)?|pan(?:s|ning|ned)?)\s+up(?:wards?)?\b|上摇|镜头向上"),
        TILT_UP,
    ),
    (
        re.compile(r"\b(?:tilt(?:s|ing|ed)?|pan(?:s|ning|ned)?)\s+down(?:wards?)?\b|下摇|镜头向下"),
        TILT_DOWN,
    ),
]


def camera_move_for(prompt: str | None) -> CameraMove:
    """The camera path a prompt asks for: the earliest keyword found wins; default push-in."""
    text = (prompt or "").lower()
    best: tuple[int, CameraMove] | None = None
    for pattern, move in _KEYWORDS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), move)
    return best[1] if best else PUSH_IN


def window_matrix(
    src_size: tuple[int, int],
    out_size: tuple[int, int],
    zoom: float,
    offset: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """2x3 inverse map (output pixel -> source pixel) for ``cv2.WARP_INVERSE_MAP``.

    The window covers ``1/zoom`` of the source on each axis and is centred on the source centre
    moved by ``offset`` (in units of the free margin). Pixel centres map onto pixel centres.
    """
    sw, sh = src_size
    ow, oh = out_size
    win_w, win_h = sw / zoom, sh / zoom
    cx = sw / 2 + offset[0] * (sw - win_w) / 2
    cy = sh / 2 + offset[1] * (sh - win_h) / 2
    ax, ay = win_w / ow, win_h / oh
    return np.array(
        [
            [ax, 0.0, cx - win_w / 2 + 0.5 * ax - 0.5],
            [0.0, ay, cy - win_h / 2 + 0.5 * ay - 0.5],
        ],
        dtype=np.float64,
    )


def render_window(
    source: np.ndarray,
    out_size: tuple[int, int],
    zoom: float,
    offset: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """One camera frame: bilinear, reflected border, ``out_size`` = (width, height)."""
    height, width = source.shape[:2]
    matrix = window_matrix((width, height), out_size, zoom, offset)
    return cv2.warpAffine(
        source,
        matrix,
        out_size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def working_source(image: np.ndarray, out_size: tuple[int, int], max_zoom: float) -> np.ndarray:
    """Downscale ``image`` (area filter) to just what the most zoomed-in frame needs.

    Bilinear sampling straight from a much larger source aliases (shimmering texture); one area
    resize to ``out_size * max_zoom`` keeps every frame's detail while each warp then samples at
    a ratio close to 1.
    """
    height, width = image.shape[:2]
    scale = max(out_size[0] * max_zoom / width, out_size[1] * max_zoom / height)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
