"""``image_tail``: an occlusion-aware optical-flow morph from the first frame to the last.

DIS optical flow is computed both ways at about 360p and upsampled. For an intermediate time
``t`` the flows from the frame at ``t`` back to both ends follow the Super SloMo approximation
(Jiang et al., CVPR 2018)::

    F_t->0 = -(1 - t) t F_0->1 + t^2 F_1->0
    F_t->1 = (1 - t)^2 F_0->1 - t (1 - t) F_1->0

both images are backward-warped with ``cv2.remap`` and blended with weights ``(1 - t, t)``, each
multiplied by its pixel's visibility (forward–backward flow consistency), so a region hidden in
one image is taken from the other. Unrelated pairs (few ORB matches under a RANSAC homography,
or mostly inconsistent flow) get a cross-dissolve under a shared gentle push-in and back
instead. Either way frame 0 is exactly the first image and the last frame exactly the tail.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from openreel.engines.classic.camera import render_window
from openreel.engines.imaging.easing import smoothstep

__all__ = ["TailMorph", "is_related"]

_FLOW_SIDE = 360
_MIN_INLIERS = 25
_MIN_INLIER_RATIO = 0.25
_MAX_INCONSISTENT = 0.45
_CONSISTENCY_PX = 1.5  # at flow resolution
_DISSOLVE_ZOOM = 0.08


def _remap(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Backward warp through a packed (x, y) float map.

    ``map2`` must be None here: OpenCV 5.0 hangs on an empty ``map2`` with a reflected border
    (the type stubs admit None since 5.1, the locked version).
    """
    warped: np.ndarray = cv2.remap(
        image,
        xy,
        None,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    return warped


def _grey(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    grey: np.ndarray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    return grey


def is_related(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two greyscale images show the same scene (ORB + RANSAC homography)."""
    orb = cv2.ORB.create(nfeatures=1500)
    kp_a, des_a = orb.detectAndCompute(a, None)
    kp_b, des_b = orb.detectAndCompute(b, None)
    if des_a is None or des_b is None or len(kp_a) < 8 or len(kp_b) < 8:
        return False
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_a, des_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < _MIN_INLIERS:
        return False
    src = np.array([kp_a[m.queryIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp_b[m.trainIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    _, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
    if inliers is None:
        return False
    count = int(inliers.sum())
    return count >= _MIN_INLIERS and count >= _MIN_INLIER_RATIO * len(good)


def _inconsistency(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Per pixel of the first image: |F_0->1(x) + F_1->0(x + F_0->1(x))| (flow resolution)."""
    h, w = forward.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    back = cv2.remap(
        backward,
        gx + forward[..., 0],
        gy + forward[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    error: np.ndarray = np.linalg.norm(forward + back, axis=2)
    return error


class TailMorph:
    """Frame source for a first/last-frame clip; ``frame(t)`` for t in [0, 1]."""

    def __init__(self, first: np.ndarray, last: np.ndarray) -> None:
        height, width = first.shape[:2]
        self.first, self.last = first, last
        self.size = (width, height)
        scale = min(1.0, _FLOW_SIDE / min(width, height))
        flow_size = (max(8, round(width * scale)), max(8, round(height * scale)))
        a, b = _grey(first, flow_size), _grey(last, flow_size)
        self.related = is_related(a, b)
        self.forward = self.backward = np.zeros((height, width, 2), np.float32)
        self.visible0 = self.visible1 = np.ones((height, width), np.float32)
        if self.related:
            dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
            empty = np.zeros((flow_size[1], flow_size[0], 2), np.float32)
            forward = np.asarray(dis.calc(a, b, empty.copy()), np.float32)
            backward = np.asarray(dis.calc(b, a, empty.copy()), np.float32)
            bad0 = _inconsistency(forward, backward) > _CONSISTENCY_PX
            bad1 = _inconsistency(backward, forward) > _CONSISTENCY_PX
            if (float(bad0.mean()) + float(bad1.mean())) / 2 > _MAX_INCONSISTENT:
                self.related = False
            else:
                self.forward = self._upsample(forward, flow_size)
                self.backward = self._upsample(backward, flow_size)
                self.visible0 = self._visibility(bad0)
                self.visible1 = self._visibility(bad1)
        gx, gy = np.meshgrid(
            np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
        )
        self.grid = np.ascontiguousarray(np.dstack([gx, gy]))
        self.first_v = np.dstack([first, self._as_u8(self.visible0)])
        self.last_v = np.dstack([last, self._as_u8(self.visible1)])

    @staticmethod
    def _as_u8(weight: np.ndarray) -> np.ndarray:
        return np.clip(weight * 255.0 + 0.5, 1, 255).astype(np.uint8)

    def _upsample(self, flow: np.ndarray, flow_size: tuple[int, int]) -> np.ndarray:
        width, height = self.size
        big = cv2.resize(flow, self.size, interpolation=cv2.INTER_LINEAR)
        big[..., 0] *= width / flow_size[0]
        big[..., 1] *= height / flow_size[1]
        return np.ascontiguousarray(big)

    def _visibility(self, bad: np.ndarray) -> np.ndarray:
        """Soft weight in [0.02, 1]: low where the pixel has no consistent match."""
        soft = cv2.GaussianBlur(bad.astype(np.float32), (0, 0), 1.5)
        big = cv2.resize(soft, self.size, interpolation=cv2.INTER_LINEAR)
        visible: np.ndarray = np.clip(1.0 - big, 0.02, 1.0).astype(np.float32)
        return visible

    def frame(self, t: float) -> np.ndarray:
        if t <= 0.0:
            return self.first.copy()
        if t >= 1.0:
            return self.last.copy()
        e = smoothstep(t)
        if not self.related:
            return self._dissolve(t, e)
        # Packed as RGB + visibility so one remap per side warps both.
        ft0 = cv2.addWeighted(self.forward, -(1 - e) * e, self.backward, e * e, 0.0)
        ft1 = cv2.addWeighted(self.forward, (1 - e) ** 2, self.backward, -e * (1 - e), 0.0)
        warp0 = _remap(self.first_v, cv2.add(self.grid, ft0))
        warp1 = _remap(self.last_v, cv2.add(self.grid, ft1))
        w0 = np.multiply(cv2.extractChannel(warp0, 3), np.float32((1 - e) / 255), dtype=np.float32)
        w1 = np.multiply(cv2.extractChannel(warp1, 3), np.float32(e / 255), dtype=np.float32)
        rgb0 = cv2.cvtColor(warp0, cv2.COLOR_RGBA2RGB)
        rgb1 = cv2.cvtColor(warp1, cv2.COLOR_RGBA2RGB)
        blended: np.ndarray = cv2.blendLinear(rgb0, rgb1, w0, w1)
        return blended

    def _dissolve(self, t: float, e: float) -> np.ndarray:
        zoom = 1.0 + _DISSOLVE_ZOOM * math.sin(math.pi * t)
        # The warp is linear, so blending first and warping once is the same picture.
        mixed = cv2.addWeighted(self.first, 1.0 - e, self.last, e, 0.0)
        return render_window(mixed, self.size, zoom)
