"""Recognising a painterly style image and giving a composite a matching painterly finish.

Detection (on the style image's greyscale at most ``_PROBE_SIDE`` px, 0..255):

* ``noise``: robust std of the residual after a 3x3 median (1.4826 x median absolute value).
  Camera noise and fine texture make it several grey levels; flat painted or drawn colour
  leaves almost nothing.
* ``flat``: fraction of pixels whose Sobel gradient magnitude is below ``_FLAT_GRADIENT``:
  large areas of flat colour.
* ``edges``: Canny edge density: a painting or illustration still has strong outlines.

The style is painterly when ``noise <= NOISE_MAX`` and ``flat >= FLAT_MIN`` and
``edges >= EDGES_MIN``. A smooth photo (blurry sky) fails on edges; a sharp photo on noise.

Finish: an edge-preserving smoothing (``cv2.edgePreservingFilter``, recursive) at a bounded
working size, a posterisation of L* (``POSTER_LEVELS`` levels, blended in at ``POSTER_MIX``)
and darkened edges (Canny on the smoothed image, softened) -- fine texture goes, outlines stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.color import to_lab, to_rgb8
from openreel.engines.imaging.canvas import to_u8
from openreel.engines.imaging.loading import shrink_to

_PROBE_SIDE = 384
_FLAT_GRADIENT = 6.0
NOISE_MAX = 1.5
FLAT_MIN = 0.45
EDGES_MIN = 0.008

_WORK_SIDE = 1280  # the smoothing runs at most at this size (it is the expensive step)
POSTER_LEVELS = 7
POSTER_MIX = 0.6
EDGE_DARKEN = 0.45


@dataclass(frozen=True)
class StyleFeatures:
    noise: float
    flat: float
    edges: float

    @property
    def painterly(self) -> bool:
        return self.noise <= NOISE_MAX and self.flat >= FLAT_MIN and self.edges >= EDGES_MIN


def style_features(rgb: np.ndarray) -> StyleFeatures:
    grey = cv2.cvtColor(shrink_to(rgb, _PROBE_SIDE), cv2.COLOR_RGB2GRAY)
    residual = grey.astype(np.float32) - cv2.medianBlur(grey, 3).astype(np.float32)
    noise = 1.4826 * float(np.median(np.abs(residual)))
    # A plain median of |residual| is 0 whenever over half the pixels are exactly flat; the
    # mean over the non-flat half keeps some signal for lightly textured images.
    noise = max(noise, float(np.mean(np.abs(residual))) * 0.5)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) * np.float32(0.25)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) * np.float32(0.25)
    flat = float(np.mean(cv2.magnitude(gx, gy) < _FLAT_GRADIENT))
    edges = float(np.count_nonzero(cv2.Canny(grey, 60, 150))) / grey.size
    return StyleFeatures(noise, flat, edges)


def is_painterly(rgb: np.ndarray) -> bool:
    return style_features(rgb).painterly


def painterly(rgb: np.ndarray) -> np.ndarray:
    """A painterly finish of ``rgb`` (HxWx3 uint8): smoothed, posterised, outlined."""
    height, width = rgb.shape[:2]
    work = shrink_to(rgb, _WORK_SIDE)
    sigma_s = max(10.0, 0.03 * max(work.shape[:2]))
    smooth = cv2.edgePreservingFilter(work, flags=cv2.RECURS_FILTER, sigma_s=sigma_s, sigma_r=0.4)
    if smooth.shape[:2] != (height, width):
        smooth = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_CUBIC)

    lab = to_lab(smooth)
    step = np.float32(100.0 / POSTER_LEVELS)
    poster = (np.floor(lab[..., 0] / step) + np.float32(0.5)) * step
    lab[..., 0] += np.float32(POSTER_MIX) * (poster - lab[..., 0])
    finished = to_rgb8(lab)

    grey = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.medianBlur(grey, 5), 40, 110)
    if min(height, width) > 900:
        edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    ink = cv2.GaussianBlur(edges.astype(np.float32) * np.float32(1 / 255), (0, 0), sigmaX=0.8)
    gain = np.float32(1.0) - np.float32(EDGE_DARKEN) * np.minimum(ink * np.float32(2), 1.0)
    return to_u8(finished.astype(np.float32) * gain[..., None])
