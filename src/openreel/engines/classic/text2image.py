"""images/generations without subjects: test cards, and the reference composited onto one.

A placeholder, not a generation. Every one of the ``n`` images is a still of the test card
(``card.py``) at the plan's exact size, its backdrop seeded by ``seed + index`` (so the images
differ from each other and a repeated request repeats them).

With a reference ``image`` the multi_image2image compositor (``compose.py``) places it on the
card, under a caption panel that carries the prompt:

- ``image_reference: "subject"``: the subject is cut out (alpha, keyed border or GrabCut;
  ``cutout.py``) and stood on the card;
- ``image_reference: "face"``: classic has no face detector (no model weights), so the
  picture's upper centre, where a portrait's face is, is cropped square and shown in an oval;
- no ``image_reference`` (Kling's plain image-to-image): the whole picture, with rounded
  corners.

``image_fidelity`` (default 0.5) sets how much of its own colour the reference keeps: at 1 none
of it moves towards the card's, at 0 most of it does. ``human_fidelity`` has no effect here.
"""

from __future__ import annotations

import cv2
import numpy as np

from openreel.engines.base import GenerationOutput, OutputFile, ProgressFn, RenderJob
from openreel.engines.classic.card import (
    CAPTION_BOTTOM,
    NOTICE,
    Backdrop,
    caption_layer,
    card_layer,
)
from openreel.engines.classic.color import lab_stats, transfer
from openreel.engines.classic.compose import compose, image_spec
from openreel.engines.classic.cutout import Cutout, cut_out, framed
from openreel.engines.imaging.loading import load_rgba, required, shrink_to
from openreel.engines.imaging.overlay import over
from openreel.engines.imaging.png import save_png

__all__ = ["reference_layer", "render_image_generation"]

DEFAULT_FIDELITY = 0.5
MAX_HARMONY = 0.6  # colour transfer towards the card at image_fidelity 0
STATS_SIDE = 512


def _face_crop(rgb: np.ndarray) -> Cutout:
    """The square around the upper centre of a portrait, in a soft oval."""
    height, width = rgb.shape[:2]
    side = min(width, round(height * 0.8))
    x0 = (width - side) // 2
    y0 = max(0, min(height - side, round(0.12 * height) - side // 8))
    crop = np.ascontiguousarray(rgb[y0 : y0 + side, x0 : x0 + side])
    mask = np.zeros((side, side), np.uint8)
    axes = (max(1, round(0.42 * side)), max(1, round(0.48 * side)))
    cv2.ellipse(mask, (side // 2, side // 2), axes, 0, 0, 360, 255, thickness=-1)
    alpha = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(1.0, 0.02 * side))
    return Cutout(crop, alpha, "face")


def reference_layer(job: RenderJob, size: tuple[int, int]) -> Cutout:
    """The reference picture as a layer, per ``image_reference``."""
    rgb, alpha = load_rgba(required(job.images, "image"), "image", size)
    reference = job.params.get("image_reference")
    if reference == "subject":
        return cut_out(rgb, alpha, job.seed)
    if reference == "face":
        return _face_crop(rgb)
    return framed(rgb)


def _fidelity(job: RenderJob) -> float:
    value = job.params.get("image_fidelity")
    try:
        number = float(value) if value is not None else DEFAULT_FIDELITY
    except (TypeError, ValueError):
        number = DEFAULT_FIDELITY
    return min(1.0, max(0.0, number))


def _label(job: RenderJob, index: int) -> str:
    return f"{NOTICE} · {index + 1}/{image_spec(job).count}"


def _with_reference(
    job: RenderJob, layer: Cutout, size: tuple[int, int], seed: int, index: int
) -> np.ndarray:
    prompt = str(job.params.get("prompt") or "")
    card = Backdrop(size, seed).at(0.0)
    over(card, caption_layer(size, prompt, _label(job, index), seed))
    top = round(CAPTION_BOTTOM * size[1])
    strength = MAX_HARMONY * (1.0 - _fidelity(job))
    if strength > 0:
        target = lab_stats(shrink_to(card[top:], STATS_SIDE))
        own = lab_stats(layer.rgb, layer.alpha)
        layer = Cutout(transfer(layer.rgb, target, strength, source=own), layer.alpha, layer.method)
    rng = np.random.default_rng(seed % 2**63)
    card[top:] = compose(card[top:], [layer], rng)
    return card


def _text_card(job: RenderJob, size: tuple[int, int], seed: int, index: int) -> np.ndarray:
    prompt = str(job.params.get("prompt") or "")
    card = Backdrop(size, seed).at(0.0)
    over(card, card_layer(size, prompt, _label(job, index), seed))
    return card


def render_image_generation(job: RenderJob, progress: ProgressFn) -> GenerationOutput:
    spec = image_spec(job)
    size = (spec.width, spec.height)
    layer = reference_layer(job, size) if "image" in job.images else None
    files = []
    for index in range(spec.count):
        seed = job.seed + index
        picture = (
            _text_card(job, size, seed, index)
            if layer is None
            else _with_reference(job, layer, size, seed, index)
        )
        path = save_png(picture, job.output_dir / f"image_{index}.png")
        files.append(OutputFile(path, "image/png"))
        progress((index + 1) / spec.count)
    return GenerationOutput(files)
