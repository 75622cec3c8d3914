"""Colour statistics and Reinhard mean/std transfer in CIE L*a*b* (float32)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.imaging.canvas import to_u8

# Limits on the per-channel std ratio so a flat source or target cannot blow colours up.
_MIN_RATIO, _MAX_RATIO = 0.5, 2.0


@dataclass(frozen=True)
class LabStats:
    mean: np.ndarray  # (3,) float32: L in [0, 100], a/b roughly [-127, 127]
    std: np.ndarray  # (3,) float32


def to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)


def to_rgb8(lab: np.ndarray) -> np.ndarray:
    return to_u8(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * np.float32(255))


def lab_stats(rgb: np.ndarray, mask: np.ndarray | None = None) -> LabStats:
    """Mean and std of an RGB image's L*a*b* values (over ``mask`` > 127 when given)."""
    lab = to_lab(rgb)
    cv_mask = None if mask is None else (mask > 127).astype(np.uint8)
    if cv_mask is not None and not cv_mask.any():
        cv_mask = None
    mean, std = cv2.meanStdDev(lab, mask=cv_mask)
    return LabStats(mean.reshape(3).astype(np.float32), std.reshape(3).astype(np.float32))


def transfer(
    rgb: np.ndarray,
    target: LabStats,
    strength: float = 1.0,
    source: LabStats | None = None,
) -> np.ndarray:
    """Move ``rgb``'s L*a*b* mean/std ``strength`` of the way towards ``target`` (Reinhard)."""
    src = source if source is not None else lab_stats(rgb)
    k = np.float32(min(1.0, max(0.0, strength)))
    goal_mean = src.mean + k * (target.mean - src.mean)
    goal_std = src.std + k * (target.std - src.std)
    ratio = np.clip(goal_std / np.maximum(src.std, np.float32(1e-3)), _MIN_RATIO, _MAX_RATIO)
    lab = to_lab(rgb)
    lab -= src.mean.reshape(1, 1, 3)
    lab *= ratio.astype(np.float32).reshape(1, 1, 3)
    lab += goal_mean.reshape(1, 1, 3)
    np.clip(lab[..., 0], 0.0, 100.0, out=lab[..., 0])
    return to_rgb8(lab)
