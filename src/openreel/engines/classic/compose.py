"""multi_image2image: cut-out subjects composited onto a scene (or gradient), optional style.

The canvas is exactly ``job.image``'s size (every aspect ratio, 1k or 2k). Subjects are cut
out (``cutout.cut_out``), harmonised part of the way towards the background's L*a*b*
statistics (Reinhard), and laid out on a grid whose row count suits the canvas shape. With a
``style_image``, the result's colour statistics always move towards the style's; when the style
image is detected as painterly (``painterly.style_features``: little fine noise, large flat
areas, strong edges) a painterly finish (edge-preserving smoothing, posterised lightness,
darkened outlines) is applied first.

Each variant ``i`` draws its layout (subject order, scale, position) from seed ``job.seed + i``,
so the ``count`` images differ while the whole task stays reproducible.
"""

from __future__ import annotations

import cv2
import numpy as np

from openreel.engines.base import (
    EngineError,
    GenerationOutput,
    ImageSpec,
    OutputFile,
    ProgressFn,
    RenderJob,
)
from openreel.engines.classic.color import LabStats, lab_stats, transfer
from openreel.engines.classic.cutout import Cutout, cut_out
from openreel.engines.classic.layout import Rect, grid_layout
from openreel.engines.classic.painterly import painterly, style_features
from openreel.engines.imaging.canvas import cover_crop, palette_gradient, to_u8
from openreel.engines.imaging.loading import indexed_images, load_rgb, load_rgba, shrink_to
from openreel.engines.imaging.png import save_png

HARMONY = 0.35  # how far each subject's colours move towards the background's
STYLE_STRENGTH = 0.8  # how far the final image's colours move towards the style image's
SHADOW_OPACITY = 0.35
STATS_SIDE = 512  # colour statistics are measured on images at most this large


def image_spec(job: RenderJob) -> ImageSpec:
    if job.image is None:
        raise ValueError(f"{job.kind} job {job.task_id} has no ImageSpec")
    return job.image


def _subject_colour(cutout: Cutout) -> np.ndarray:
    mask = (cutout.alpha > 127).astype(np.uint8)
    return np.asarray(cv2.mean(cutout.rgb, mask=mask)[:3], dtype=np.float32)


def _harmonise(cutout: Cutout, target: LabStats) -> Cutout:
    own = lab_stats(cutout.rgb, cutout.alpha)
    return Cutout(transfer(cutout.rgb, target, HARMONY, source=own), cutout.alpha, cutout.method)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    shrinking = size[0] < image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _paste(canvas: np.ndarray, layer: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Blend ``layer`` (float32 RGB) with ``alpha`` (float32 0..1) into ``canvas`` at (x, y)."""
    height, width = canvas.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + layer.shape[1]), min(height, y + layer.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    roi = canvas[y0:y1, x0:x1]
    roi *= np.float32(1.0) - a
    roi += layer[y0 - y : y1 - y, x0 - x : x1 - x] * a


def _contact_shadow(
    canvas: np.ndarray, centre_x: float, ground_y: float, w: float, h: float
) -> None:
    sigma = max(1.0, 0.03 * h)
    pad = int(3 * sigma) + 1
    axes = (max(1, round(0.4 * w)), max(1, round(0.045 * h)))
    patch_w, patch_h = 2 * (axes[0] + pad), 2 * (axes[1] + pad)
    patch = np.zeros((patch_h, patch_w), np.float32)
    cv2.ellipse(patch, (patch_w // 2, patch_h // 2), axes, 0, 0, 360, 1.0, thickness=-1)
    patch = cv2.GaussianBlur(patch, (0, 0), sigmaX=sigma) * np.float32(SHADOW_OPACITY)
    black = np.zeros((patch_h, patch_w, 3), np.float32)
    _paste(canvas, black, patch, round(centre_x) - patch_w // 2, round(ground_y) - patch_h // 2)


def _place(
    canvas: np.ndarray, cutout: Cutout, cell: Rect, item: Rect, rng: np.random.Generator
) -> None:
    scale = float(rng.uniform(0.78, 0.98))
    w, h = item.w * scale, item.h * scale
    slack_x = (cell.w - w) / 2 + 0.04 * cell.w
    centre_x = cell.cx + float(rng.uniform(-1.0, 1.0)) * slack_x
    ground_y = cell.y + cell.h - float(rng.uniform(0.0, 0.06)) * cell.h
    size = (max(1, round(w)), max(1, round(h)))
    rgb = _resize(cutout.rgb, size).astype(np.float32)
    alpha = _resize(cutout.alpha, size).astype(np.float32) * np.float32(1 / 255)
    _contact_shadow(canvas, centre_x, ground_y, w, h)
    _paste(canvas, rgb, alpha, round(centre_x - w / 2), round(ground_y - h))


def compose(background: np.ndarray, cutouts: list[Cutout], rng: np.random.Generator) -> np.ndarray:
    """One layout: subjects on a grid fitted to the canvas shape, bottom-aligned in their cells."""
    height, width = background.shape[:2]
    short = min(width, height)
    order = [int(i) for i in rng.permutation(len(cutouts))]
    placements = grid_layout(
        (width, height),
        [cutouts[i].aspect for i in order],
        margin=(0.06 * short, 0.06 * short),
        gap=0.03 * short,
    )
    canvas = background.astype(np.float32)
    for index, placement in zip(order, placements, strict=True):
        _place(canvas, cutouts[index], placement.cell, placement.item, rng)
    return to_u8(canvas)


def _subjects(job: RenderJob, size: tuple[int, int]) -> list[Cutout]:
    entries = indexed_images(job.images, "subject_image_list", "subject_image")
    if not entries:
        raise EngineError("subject_image_list needs at least one image")
    cutouts = []
    for field, path in entries:
        rgb, alpha = load_rgba(path, field, size)
        cutouts.append(cut_out(rgb, alpha, job.seed))
    return cutouts


def render_multi_image2image(job: RenderJob, progress: ProgressFn) -> GenerationOutput:
    spec = image_spec(job)
    size = (spec.width, spec.height)
    cutouts = _subjects(job, size)

    scene_path = job.images.get("scene_image")
    if scene_path is not None:
        background = cover_crop(load_rgb(scene_path, "scene_image", size), size)
    else:
        background = palette_gradient(size, [_subject_colour(c) for c in cutouts])
    target = lab_stats(shrink_to(background, STATS_SIDE))
    cutouts = [_harmonise(c, target) for c in cutouts]

    style_path = job.images.get("style_image")
    style = None
    painted = False
    if style_path is not None:
        style_min = (STATS_SIDE, STATS_SIDE)
        style_rgb = shrink_to(load_rgb(style_path, "style_image", style_min), STATS_SIDE)
        style = lab_stats(style_rgb)
        painted = style_features(style_rgb).painterly

    files = []
    for variant in range(spec.count):
        rng = np.random.default_rng((job.seed + variant) % 2**63)
        image = compose(background, cutouts, rng)
        if painted:
            image = painterly(image)
        if style is not None:
            image = transfer(image, style, STYLE_STRENGTH)
        files.append(
            OutputFile(save_png(image, job.output_dir / f"image_{variant}.png"), "image/png")
        )
        progress((variant + 1) / spec.count)
    return GenerationOutput(files)
