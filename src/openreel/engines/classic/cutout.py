"""Subject extraction without model weights.

In order of preference: the image's own alpha channel; keying out a near-uniform border colour
(product shots, studio portraits); GrabCut seeded with a centred rectangle; a soft centred
ellipse when everything else fails. The result is cropped to the subject with a feathered alpha.

``find_subject`` is the strict variant used by the Elements compositor: it returns ``None``
instead of a doubtful GrabCut mask or the ellipse, so the caller can show the whole picture
(or use it as the scene) rather than a ragged, half-cut subject. A GrabCut mask is trusted only
when it is *compact*: one dominant connected part (>= 85 % of the mask), covering 8-70 % of the
image, solid (area >= 60 % of its convex hull), touching at most 30 % of the outline of GrabCut's
seed rectangle (a ground plane or sky spans it) and separated from the background (the mean
L*a*b* distance between subject and background exceeds half their pooled std).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.color import to_lab
from openreel.engines.imaging.loading import shrink_to

_WORK_SIDE = 512  # masks are computed at most at this size, then upscaled
_GRABCUT_SIDE = 320
_BORDER_DELTA_E = 10.0  # border pixels closer than this to the border median count as uniform
_BORDER_UNIFORM = 0.9  # fraction of border pixels that must be uniform to key
_KEY_DELTA_E = 16.0
_COMPACT_DOMINANT = 0.85
_COMPACT_SOLIDITY = 0.6
_COMPACT_SEPARATION = 0.5
_COMPACT_CONTACT = 0.3


@dataclass(frozen=True)
class Cutout:
    rgb: np.ndarray  # HxWx3 uint8, cropped to the subject
    alpha: np.ndarray  # HxW uint8, feathered
    method: str  # "alpha" | "key" | "grabcut" | "ellipse" | "frame"

    @property
    def aspect(self) -> float:
        return float(self.rgb.shape[1] / self.rgb.shape[0])


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
    small = shrink_to(rgb, _WORK_SIDE)
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


def _grabcut_raw(rgb: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(working-size RGB, binary 0/255 GrabCut subject mask) or None when GrabCut fails."""
    small = np.ascontiguousarray(shrink_to(rgb, _GRABCUT_SIDE))
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
    return small, subject


def _grabcut(rgb: np.ndarray, seed: int) -> np.ndarray | None:
    raw = _grabcut_raw(rgb, seed)
    if raw is None or not _fraction_ok(raw[1], 0.05, 0.95):
        return None
    return _largest_parts(raw[1])


def _contact(mask: np.ndarray) -> float:
    """Fraction of the GrabCut rectangle's inner outline covered by ``mask``."""
    height, width = mask.shape[:2]
    mx, my = max(1, round(0.06 * width)) + 1, max(1, round(0.04 * height)) + 1
    inner = mask[my : height - my, mx : width - mx]
    if inner.shape[0] < 3 or inner.shape[1] < 3:
        return 1.0
    outline = _ring(inner[..., None], 1)
    return float(np.count_nonzero(outline)) / float(outline.shape[0])


def _compact(small: np.ndarray, subject: np.ndarray) -> np.ndarray | None:
    """``subject`` cleaned to its dominant part when it looks like one real object, else None."""
    if not _fraction_ok(subject, 0.08, 0.70):
        return None
    opened = cv2.morphologyEx(subject, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    best = int(np.argmax(areas))
    if areas[best] < _COMPACT_DOMINANT * areas.sum():
        return None
    part = np.where(labels == best + 1, 255, 0).astype(np.uint8)
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    if hull_area <= 0 or areas[best] < _COMPACT_SOLIDITY * hull_area:
        return None
    if not _fraction_ok(part, 0.08, 0.70) or _contact(part) > _COMPACT_CONTACT:
        return None
    lab = to_lab(small).reshape(-1, 3)
    inside = part.reshape(-1) > 0
    fg, bg = lab[inside], lab[~inside]
    pooled = float(np.sqrt((fg.var(axis=0).sum() + bg.var(axis=0).sum()) / 2))
    if float(np.linalg.norm(fg.mean(axis=0) - bg.mean(axis=0))) < _COMPACT_SEPARATION * pooled:
        return None
    filled = part.copy()
    cv2.drawContours(filled, contours, -1, 255, thickness=-1)  # no holes in a solid subject
    return filled


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


def _alpha_or_key(rgb: np.ndarray, alpha: np.ndarray | None) -> Cutout | None:
    """The cheap, certain cut-outs: the file's own alpha, or a near-uniform border keyed out."""
    height, width = rgb.shape[:2]
    if alpha is not None and _fraction_ok(alpha > 127, 0.005, 1.0):
        return _crop(rgb, alpha, "alpha")
    keyed = _key_border(rgb)
    if keyed is not None:
        return _crop(rgb, _feather(keyed, (width, height), 0.004), "key")
    return None


def cut_out(rgb: np.ndarray, alpha: np.ndarray | None, seed: int) -> Cutout:
    """Extract the subject of ``rgb`` (HxWx3 uint8); ``alpha`` is the file's own, if any."""
    height, width = rgb.shape[:2]
    cheap = _alpha_or_key(rgb, alpha)
    if cheap is not None:
        return cheap
    cut = _grabcut(rgb, seed)
    if cut is not None:
        return _crop(rgb, _feather(cut, (width, height), 0.006), "grabcut")
    return _crop(rgb, _feather(_ellipse(height, width), (width, height), 0.04), "ellipse")


def find_subject(rgb: np.ndarray, alpha: np.ndarray | None, seed: int) -> Cutout | None:
    """A confident subject cut-out of ``rgb`` (alpha, border key or compact GrabCut), or None."""
    height, width = rgb.shape[:2]
    cheap = _alpha_or_key(rgb, alpha)
    if cheap is not None:
        return cheap
    raw = _grabcut_raw(rgb, seed)
    if raw is None:
        return None
    compact = _compact(*raw)
    if compact is None:
        return None
    return _crop(rgb, _feather(compact, (width, height), 0.006), "grabcut")


def framed(rgb: np.ndarray, corner: float = 0.06, softness: float = 0.012) -> Cutout:
    """The whole picture as a layer with softly rounded, feathered corners (no subject found)."""
    height, width = rgb.shape[:2]
    short = min(width, height)
    inset = max(1, round(softness * short * 1.5))
    radius = max(1, round(corner * short))
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = inset, inset, width - 1 - inset, height - 1 - inset
    cv2.rectangle(mask, (x0 + radius, y0), (x1 - radius, y1), 255, -1)
    cv2.rectangle(mask, (x0, y0 + radius), (x1, y1 - radius), 255, -1)
    for cx, cy in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1)
    for cx, cy in ((x0 + radius, y1 - radius), (x1 - radius, y1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1)
    sigma = max(0.8, softness * short)
    alpha = cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma)
    return Cutout(np.ascontiguousarray(rgb), alpha, "frame")
