"""Backgrounds: cover-crops, soft gradients and blurred, darkened backdrops (uint8 RGB)."""

from __future__ import annotations

import cv2
import numpy as np

# Kling's video aspect ratios as (width, height) proportions.
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}


def to_u8(values: np.ndarray) -> np.ndarray:
    """Round and saturate float values to uint8."""
    out: np.ndarray = np.clip(values + np.float32(0.5), 0, 255).astype(np.uint8)
    return out


def frame_sized(image: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """``image`` at exactly ``out_size``, cover-cropped if its aspect differs."""
    if (image.shape[1], image.shape[0]) == out_size:
        return image
    return cover_crop(image, out_size)


def cover_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to cover ``size`` = (width, height) and crop the centre."""
    width, height = size
    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    crop_w = min(src_w, max(1, round(width / scale)))
    crop_h = min(src_h, max(1, round(height / scale)))
    x0 = (src_w - crop_w) // 2
    y0 = (src_h - crop_h) // 2
    crop = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(crop, size, interpolation=interpolation)


def _radial(size: tuple[int, int]) -> np.ndarray:
    """HxW float32: 0 at the centre rising to ~1 in the corners."""
    width, height = size
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    r2 = xs[None, :] ** 2 + ys[:, None] ** 2
    radial: np.ndarray = np.minimum(r2 * np.float32(0.5), np.float32(1.0))
    return radial


def vignette(image: np.ndarray, amount: float) -> np.ndarray:
    """Darken towards the corners by up to ``amount`` (0..1)."""
    height, width = image.shape[:2]
    gain = np.float32(1.0) - np.float32(amount) * _radial((width, height))
    out = image.astype(np.float32) * gain[..., None]
    return to_u8(out)


def gradient(size: tuple[int, int], top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Vertical ``top`` -> ``bottom`` RGB gradient with a soft lighter centre."""
    width, height = size
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top_f = np.asarray(top, dtype=np.float32).reshape(1, 1, 3)
    bottom_f = np.asarray(bottom, dtype=np.float32).reshape(1, 1, 3)
    column = top_f + (bottom_f - top_f) * t
    glow = (np.float32(1.0) - _radial(size)) * np.float32(0.12)
    image = column * (np.float32(1.0) + glow[..., None])
    return to_u8(image)


def palette_gradient(size: tuple[int, int], colours: list[np.ndarray]) -> np.ndarray:
    """A quiet gradient derived from the mean colour of the given RGB samples."""
    mean = np.mean(np.stack([np.asarray(c, dtype=np.float32) for c in colours]), axis=0)
    grey = np.float32(mean.mean())
    muted = grey + (mean - grey) * np.float32(0.6)
    top = np.clip(muted * np.float32(0.55) + np.float32(255 * 0.4), 0, 255)
    bottom = np.clip(muted * np.float32(0.45), 0, 255)
    return gradient(size, top, bottom)


def blurred_backdrop(image: np.ndarray, size: tuple[int, int], darken: float = 0.5) -> np.ndarray:
    """Cover-crop of ``image``, heavily blurred, desaturated and darkened, at ``size``."""
    width, height = size
    small_size = (max(8, width // 8), max(8, height // 8))
    crop = cover_crop(image, small_size).astype(np.float32)
    blurred = cv2.GaussianBlur(crop, (0, 0), sigmaX=max(small_size) / 40 + 1.5)
    grey = blurred.mean(axis=2, keepdims=True)
    muted = (grey + (blurred - grey) * np.float32(0.7)) * np.float32(darken)
    big = cv2.resize(muted, size, interpolation=cv2.INTER_CUBIC)
    return vignette(to_u8(big), 0.35)
