"""Kling ``camera_control`` as a virtual camera: per-frame homographies over the still image.

The camera moves, the picture moves the opposite way on screen. Kling's signs (wire spec
§6.3) and what each one looks like in the output:

================  ===========================  =============================================
field             camera                       picture on screen
================  ===========================  =============================================
``horizontal``    − moves left / + right       + slides left, − slides right
``vertical``      − moves down / + up          + slides down, − slides up
``pan``           − yaws left / + right        + slides left (with perspective), − right
``tilt``          − pitches down / + up        + slides down (with perspective), − up
``roll``          − counter-clockwise / + cw   + turns counter-clockwise, − clockwise
``zoom``          − narrower FOV / + wider     − grows (zoom in), + shrinks (zoom out)
================  ===========================  =============================================

The magnitude (|value| / 10) scales the move linearly; the full range reaches 18 % of the frame
for translations, 14° of yaw, 10° of pitch, 12° of roll and a 1.5× zoom. Presets:
``down_back`` (descends while pulling back: the picture slides up and shrinks), ``forward_up``
(pushes in while rising: it grows and slides down), ``right_turn_forward`` /
``left_turn_forward`` (yaw right / left while pushing in).

A move is a ``CameraRig``: the camera state at the end of the clip, reached along a
smoothstep ease. ``rig.view(e)`` is the 3x3 homography from view coordinates (pixels of the
output frame, origin at the frame centre) to image-plane coordinates (the input image scaled
to the output size, origin at its centre). Rotations are ``K·R·K⁻¹`` for a 60° horizontal FOV.
Every rendered frame stays inside the picture: ``fit_overscan`` finds the smallest constant
zoom and centre shift for which the view never leaves the image, so there are no borders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from openreel.engines.imaging.easing import smoothstep

__all__ = [
    "CameraRig",
    "Framing",
    "RigRenderer",
    "fit_overscan",
    "framing_for",
    "rig_for_control",
    "source_matrix",
    "warp_view",
]

_FOV_X = math.radians(60.0)
_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
_SHIFT = 0.18  # fraction of the frame at |value| = 10
_YAW = math.radians(14.0)
_PITCH = math.radians(10.0)
_ROLL = math.radians(12.0)
_ZOOM = 1.5


def _translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _scaling(s: float) -> np.ndarray:
    return np.diag([s, s, 1.0])


@dataclass(frozen=True)
class CameraRig:
    """The camera's state at the end of the clip (the start is the neutral view).

    ``shift``: camera offset as a fraction of the frame (+x right, +y down in image space);
    ``yaw`` (+ right), ``pitch`` (+ up), ``roll`` (+ clockwise) in radians; ``scale``: width of
    the view relative to the start (< 1 narrower: the picture grows; > 1 wider: it shrinks).
    """

    name: str
    shift: tuple[float, float] = (0.0, 0.0)
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0

    def view(self, e: float, size: tuple[int, int]) -> np.ndarray:
        """View -> image-plane homography (centred coordinates) at eased progress ``e``."""
        width, height = size
        focal = (width / 2) / math.tan(_FOV_X / 2)
        k = np.diag([focal, focal, 1.0])
        k_inv = np.diag([1 / focal, 1 / focal, 1.0])
        a, b, r = self.yaw * e, self.pitch * e, self.roll * e
        yaw = np.array(
            [[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]]
        )
        pitch = np.array(
            [[1.0, 0.0, 0.0], [0.0, math.cos(b), -math.sin(b)], [0.0, math.sin(b), math.cos(b)]]
        )
        roll = np.array(
            [[math.cos(r), -math.sin(r), 0.0], [math.sin(r), math.cos(r), 0.0], [0.0, 0.0, 1.0]]
        )
        move = _translation(self.shift[0] * width * e, self.shift[1] * height * e)
        result: np.ndarray = move @ k @ yaw @ pitch @ k_inv @ roll @ _scaling(self.scale**e)
        normalised: np.ndarray = result / result[2, 2]
        return normalised

    @property
    def max_magnification(self) -> float:
        """How much more detail than the output size the narrowest view needs (before overscan)."""
        return 1.0 / min(1.0, self.scale)


@dataclass(frozen=True)
class Framing:
    """Constant overscan ``zoom`` (>= 1) and image-plane ``centre`` shift (pixels)."""

    zoom: float = 1.0
    centre: tuple[float, float] = (0.0, 0.0)


def _corners(size: tuple[int, int]) -> np.ndarray:
    w, h = size[0] / 2, size[1] / 2
    return np.array([[-w, -h, 1.0], [w, -h, 1.0], [w, h, 1.0], [-w, h, 1.0]]).T


def fit_overscan(views: list[np.ndarray], size: tuple[int, int]) -> Framing:
    """Smallest constant zoom (and centring) keeping every view inside the image."""
    half = np.array([size[0] / 2, size[1] / 2])
    corners = _corners(size)

    def centre_for(zoom: float) -> tuple[float, float] | None:
        scaled = corners.copy()
        scaled[:2] /= zoom
        points = []
        for view in views:
            mapped = view @ scaled
            points.append((mapped[:2] / mapped[2]).T)
        allp = np.concatenate(points)
        low = -half - allp.min(axis=0)
        high = half - allp.max(axis=0)
        if np.any(low > high + 1e-9):
            return None
        mid = (low + high) / 2
        return float(mid[0]), float(mid[1])

    if (centre := centre_for(1.0)) is not None:
        return Framing(1.0, centre)
    lo, hi = 1.0, 4.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if centre_for(mid) is None:
            lo = mid
        else:
            hi = mid
    found = centre_for(hi)
    return Framing(hi, found if found is not None else (0.0, 0.0))


def source_matrix(
    view: np.ndarray,
    framing: Framing,
    out_size: tuple[int, int],
    src_size: tuple[int, int],
) -> np.ndarray:
    """3x3 inverse map (output pixel -> source pixel) for ``cv2.WARP_INVERSE_MAP``.

    The source is the picture at any resolution; pixel centres map onto pixel centres, so the
    neutral view of a source already at ``out_size`` is the identity.
    """
    ow, oh = out_size
    sw, sh = src_size
    to_centred = _translation(0.5 - ow / 2, 0.5 - oh / 2)
    to_source = np.array([[sw / ow, 0.0, sw / 2 - 0.5], [0.0, sh / oh, sh / 2 - 0.5], [0, 0, 1.0]])
    result: np.ndarray = (
        to_source @ _translation(*framing.centre) @ view @ _scaling(1.0 / framing.zoom) @ to_centred
    )
    return result


def warp_view(source: np.ndarray, matrix: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Render one frame (bilinear, reflected border) through an inverse-map homography."""
    return cv2.warpPerspective(
        source,
        matrix,
        out_size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def _number(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key) or 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return max(-10.0, min(10.0, number)) if math.isfinite(number) else 0.0


def _simple(config: Mapping[str, Any]) -> CameraRig:
    values = {axis: _number(config, axis) for axis in _AXES}
    moving = [axis for axis in _AXES if values[axis] != 0.0]
    if not moving:
        return CameraRig("simple:still")
    axis = moving[0]  # the wire layer guarantees exactly one; be lenient otherwise
    a = values[axis] / 10.0
    name = f"simple:{axis}"
    if axis == "horizontal":
        return CameraRig(name, shift=(_SHIFT * a, 0.0))
    if axis == "vertical":
        return CameraRig(name, shift=(0.0, -_SHIFT * a))
    if axis == "pan":
        return CameraRig(name, yaw=_YAW * a)
    if axis == "tilt":
        return CameraRig(name, pitch=_PITCH * a)
    if axis == "roll":
        return CameraRig(name, roll=_ROLL * a)
    return CameraRig(name, scale=_ZOOM**a)


_PRESETS = {
    "down_back": CameraRig("down_back", shift=(0.0, 0.12), scale=1.3),
    "forward_up": CameraRig("forward_up", shift=(0.0, -0.12), scale=1 / 1.3),
    "right_turn_forward": CameraRig("right_turn_forward", yaw=math.radians(12.0), scale=1 / 1.25),
    "left_turn_forward": CameraRig("left_turn_forward", yaw=-math.radians(12.0), scale=1 / 1.25),
}


def rig_for_control(control: object) -> CameraRig | None:
    """The rig for a request's ``camera_control`` object (``{"type", "config"}``), or None."""
    if not isinstance(control, Mapping):
        return None
    kind = control.get("type")
    if kind in _PRESETS:
        return _PRESETS[str(kind)]
    config = control.get("config")
    if kind == "simple" and isinstance(config, Mapping):
        return _simple(config)
    return None


def framing_for(rigs: list[CameraRig], size: tuple[int, int], samples: int = 17) -> Framing:
    """The overscan that keeps every rig's views (all sampled times) inside the image."""
    views = [rig.view(i / (samples - 1), size) for rig in rigs for i in range(samples)]
    return fit_overscan(views, size)


class RigRenderer:
    """Frames of one rig over a still: ``frame(t)`` for t in [0, 1] (eased internally)."""

    def __init__(self, source: np.ndarray, out_size: tuple[int, int], rig: CameraRig) -> None:
        self.source = source
        self.out_size = out_size
        self.rig = rig
        self.framing = framing_for([rig], out_size)
        self.src_size = (source.shape[1], source.shape[0])

    @staticmethod
    def max_zoom(rig: CameraRig, out_size: tuple[int, int]) -> float:
        return framing_for([rig], out_size).zoom * rig.max_magnification

    def matrix(self, rig: CameraRig, t: float) -> np.ndarray:
        view = rig.view(smoothstep(t), self.out_size)
        return source_matrix(view, self.framing, self.out_size, self.src_size)

    def frame(self, t: float) -> np.ndarray:
        return warp_view(self.source, self.matrix(self.rig, t), self.out_size)
