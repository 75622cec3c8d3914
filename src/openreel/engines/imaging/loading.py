"""Reading the job's input images into numpy arrays (RGB or RGB + alpha, uint8)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from openreel.engines.base import EngineError
from openreel.media.images import TRANSPOSED_ORIENTATIONS, orientation


def _open(path: Path, field: str) -> Image.Image:
    try:
        return Image.open(path)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise EngineError(f"{field} could not be decoded as an image") from exc


def _decode(path: Path, field: str, min_size: tuple[int, int] | None) -> Image.Image:
    image = _open(path, field)
    try:
        if min_size is not None and image.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers min_size.
            want_w, want_h = min_size
            if orientation(image) in TRANSPOSED_ORIENTATIONS:
                want_w, want_h = want_h, want_w
            image.draft("RGB", (want_w, want_h))
        turned = orientation(image) != 1
        image.load()
        if not turned:
            return image
        upright = ImageOps.exif_transpose(image)
        return upright if upright is not None else image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise EngineError(f"{field} could not be decoded as an image") from exc


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """Pillow clips 16/32-bit grey to 255 on ``convert("L")``; rescale instead."""
    values = np.asarray(image, dtype=np.float32)
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    return Image.fromarray(np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8))


def flatten(rgb: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Composite ``rgb`` with ``alpha`` over a solid ``background`` colour."""
    a = alpha.astype(np.float32)[..., None] * np.float32(1 / 255)
    under = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
    flat = rgb.astype(np.float32) * a + under * (np.float32(1) - a)
    out: np.ndarray = np.clip(flat + np.float32(0.5), 0, 255).astype(np.uint8)
    return out


def load_rgb(
    path: Path,
    field: str,
    min_size: tuple[int, int] | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """HxWx3 uint8 RGB, transparency flattened onto ``background``.

    ``min_size`` allows a reduced-scale JPEG decode that still covers it.
    """
    rgb, alpha = load_rgba(path, field, min_size)
    return rgb if alpha is None else flatten(rgb, alpha, background)


def _reduced(image: Image.Image, min_size: tuple[int, int] | None) -> Image.Image:
    """Box-reduce by the largest integer factor that still covers ``min_size``, before any
    conversion or float math multiplies the picture's size (a 64-megapixel PNG cannot be
    decoded at reduced scale the way a JPEG can)."""
    if min_size is None:
        return image
    factor = min(image.width // max(1, min_size[0]), image.height // max(1, min_size[1]))
    return image.reduce(factor) if factor >= 2 else image


def load_rgba(
    path: Path, field: str, min_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(HxWx3 uint8 RGB, HxW uint8 alpha or None when the image has no transparency).

    16-bit and float pictures become 8-bit first; with ``min_size`` the picture is reduced
    to about that size before anything else is done with it.
    """
    image = _decode(path, field, min_size)
    if image.mode.startswith("I") or image.mode == "F":
        image = _high_bit_depth_to_l(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    if image.mode not in ("L", "LA", "RGB", "RGBA"):  # palette, 1-bit...: what reduce() takes
        image = image.convert("RGBA" if has_alpha else "RGB")
    image = _reduced(image, min_size)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"))
        rgb = np.ascontiguousarray(rgba[..., :3])
        alpha = np.ascontiguousarray(rgba[..., 3])
        return rgb, (alpha if int(alpha.min()) < 255 else None)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))), None


def indexed_images(images: dict[str, Path], list_name: str, item: str) -> list[tuple[str, Path]]:
    """``list_name[i].item`` entries of ``images``, ordered by ``i``, as (field, path) pairs."""
    pattern = re.compile(rf"^{re.escape(list_name)}\[(\d+)\]\.{re.escape(item)}$")
    found: list[tuple[int, str, Path]] = []
    for field, path in images.items():
        match = pattern.match(field)
        if match:
            found.append((int(match.group(1)), field, path))
    return [(field, path) for _, field, path in sorted(found)]


def required(images: dict[str, Path], field: str) -> Path:
    try:
        return images[field]
    except KeyError:
        raise EngineError(f"{field} is required") from None


def shrink_to(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale (area filter) so the longer side is at most ``side``; never upscale."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
