"""Subject extraction without model weights.

In order of preference: the image's own alpha channel; keying out a near-uniform border colour
(product shots, studio portraits); GrabCut seeded with a centred rectangle; a soft centred
ellipse when everything else fails. The result is cropped to the subject with a feathered alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.color import to_lab

_WORK_SIDE = 512  # masks are computed at most at this size, then upscaled
_GRABCUT_SIDE = 320
_BORDER_DELTA_E = 10.0  # border pixels closer than this to the border median count as uniform
_BORDER_UNIFORM = 0.9  # fraction of border pixels that must be uniform to key
_KEY_DELTA_E = 16.0


@dataclass(frozen=True)
class Cutout:
    rgb: np.ndarray  # HxWx3 uint8, cropped to the subject
    alpha: np.ndarray  # HxW uint8, feathered
    method: str  # "alpha" | "key" | "grabcut" | "ellipse"

    @property
    def aspect(self) -> float:
        return float(self.rgb.shape[1] / self.rgb.shape[0])


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _ring(image: np.ndarray, band: int) -> np.ndarray:
    """The pixels of the ``band``-wide frame around ``image``, flattened to (N, channels)."""
    channels = image.shape[2] if image.ndim == 3 else 1
    parts = [image[:band], image[-band:], image[band:-band, :band], image[band:-band, -band:]]
    return np.concatenate([p.reshape(-1, channels) for p in parts])


def _fraction_ok(mask: np.ndarray, low: float, high: float) -> bool:
    fraction = float(np.count_nonzero(mask)) / mask.size
    return low <= fraction <= high


def _key_border(rgb: np.ndarray) -> np.ndarray | None:
    """Binary (0/255) subject mask at working size, or None if the border is not uniform."""
    small = _shrink(rgb, _WORK_SIDE)
    lab = to_lab(small)
    band = max(2, round(0.02 * min(small.shape[:2])))
    ring = _ring(lab, band)
    median = np.median(ring, axis=0).astype(np.float32)
    if np.mean(np.linalg.norm(ring - median, axis=1) < _BORDER_DELTA_E) < _BORDER_UNIFORM:
        return None
    distance = np.linalg.norm(lab - median.reshape(1, 1, 3), axis=2)
    bg_like = (distance < _KEY_DELTA_E).astype(np.uint8)
    _, labels = cv2.connectedComponents(bg_like, connectivity=4)
    edge_labels = np.unique(_ring(labels[..., None], 1)[:, 0])
    background = np.isin(labels, edge_labels[edge_labels > 0])
    keyed = np.where(background, 0, 255).astype(np.uint8)
    subject: np.ndarray = cv2.morphologyEx(keyed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return subject if _fraction_ok(subject, 0.02, 0.95) else None


def _largest_parts(mask: np.ndarray, keep: float = 0.1) -> np.ndarray:
    """Drop connected components smaller than ``keep`` x the largest one."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(areas >= keep * areas.max()) + 1
    return np.where(np.isin(labels, kept), 255, 0).astype(np.uint8)


def _grabcut(rgb: np.ndarray, seed: int) -> np.ndarray | None:
    small = np.ascontiguousarray(_shrink(rgb, _GRABCUT_SIDE))
    height, width = small.shape[:2]
    mx, my = max(1, round(0.06 * width)), max(1, round(0.04 * height))
    rect = (mx, my, width - 2 * mx, height - 2 * my)
    mask = np.zeros((height, width), np.uint8)
    bgd_model = np.zeros((1, 65), np.float64)  # OpenCV's required GMM buffer type
    fgd_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed % 2**31)  # GrabCut's k-means init draws from OpenCV's RNG
    try:
        cv2.grabCut(small, mask, rect, bgd_model, fgd_model, 4, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None
    subject = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    if not _fraction_ok(subject, 0.05, 0.95):
        return None
    return _largest_parts(subject)


def _ellipse(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    centre = (width // 2, height // 2)
    axes = (max(1, round(0.45 * width)), max(1, round(0.47 * height)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, thickness=-1)
    return mask


def _feather(mask: np.ndarray, size: tuple[int, int], softness: float) -> np.ndarray:
    """Upscale a binary mask to ``size`` = (width, height), shrink 1 px and soften the edge."""
    width, height = size
    if mask.shape[:2] != (height, width):
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    sigma = max(0.8, softness * min(width, height))
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma)


def _crop(rgb: np.ndarray, alpha: np.ndarray, method: str) -> Cutout:
    ys, xs = np.nonzero(alpha > 8)
    if ys.size == 0:
        return Cutout(rgb, np.full(rgb.shape[:2], 255, np.uint8), method)
    pad = 2
    y0, y1 = max(0, int(ys.min()) - pad), min(rgb.shape[0], int(ys.max()) + pad + 1)
    x0, x1 = max(0, int(xs.min()) - pad), min(rgb.shape[1], int(xs.max()) + pad + 1)
    return Cutout(
        np.ascontiguousarray(rgb[y0:y1, x0:x1]),
        np.ascontiguousarray(alpha[y0:y1, x0:x1]),
        method,
    )


def cut_out(rgb: np.ndarray, alpha: np.ndarray | None, seed: int) -> Cutout:
    """Extract the subject of ``rgb`` (HxWx3 uint8); ``alpha`` is the file's own, if any."""
    height, width = rgb.shape[:2]
    if alpha is not None and _fraction_ok(alpha > 127, 0.005, 1.0):
        return _crop(rgb, alpha, "alpha")
    keyed = _key_border(rgb)
    if keyed is not None:
        return _crop(rgb, _feather(keyed, (width, height), 0.004), "key")
    cut = _grabcut(rgb, seed)
    if cut is not None:
        return _crop(rgb, _feather(cut, (width, height), 0.006), "grabcut")
    return _crop(rgb, _feather(_ellipse(height, width), (width, height), 0.04), "ellipse")
