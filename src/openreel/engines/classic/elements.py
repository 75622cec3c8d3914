"""multi_image2video: every reference image as a card drifting over a blurred backdrop.

The cards are laid out on a grid so none overlaps another, each bobs and breathes on its own
seeded rhythm and pops in with a short staggered scale-in, while the camera slowly pushes in
(cards faster than the backdrop, for parallax). Cards are only scaled and translated, so each
reference image stays undistorted and recognisable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.base import (
    EngineError,
    GenerationJob,
    GenerationOutput,
    OutputFile,
    ProgressFn,
)
from openreel.engines.classic.camera import render_window, smoothstep
from openreel.engines.classic.canvas import blurred_backdrop
from openreel.engines.classic.image2video import VIDEO_NAME, video_spec
from openreel.engines.classic.layout import Rect, grid_layout
from openreel.engines.classic.loading import indexed_images, load_rgb
from openreel.media.video import VideoWriter, even_size_for

ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}

CARD_ZOOM = 1.05  # camera push-in as seen on the cards
BACKDROP_ZOOM = 1.03  # the (farther) backdrop moves less
BREATHE = 0.012  # card scale oscillation amplitude
BOB = 0.015  # card drift amplitude, fraction of the frame's shorter side
GAP = 0.045  # between cards, fraction of the frame's shorter side (> 2 x BOB + breathing)
ENTRANCE_S = 0.6  # seconds of scale-in per card
ENTRANCE_FROM = 0.94
CARD_FILL = (245, 245, 245)  # card border, and what transparent references are flattened onto


def frame_size(aspect_ratio: object, short_side: int) -> tuple[int, int]:
    ratio = ASPECTS.get(str(aspect_ratio or "16:9"))
    if ratio is None:
        raise EngineError(f"aspect_ratio {aspect_ratio!r} is not supported")
    return even_size_for(ratio[0], ratio[1], short_side)


@dataclass(frozen=True)
class Motion:
    delay: float
    bob_periods: tuple[float, float]
    bob_phases: tuple[float, float]
    breathe_period: float
    breathe_phase: float


@dataclass(frozen=True)
class Card:
    sprite: np.ndarray  # HxWx4 uint8: premultiplied RGB + alpha (card, border and shadow)
    anchor: tuple[float, float]  # card centre in sprite pixel-index coordinates
    max_scale: float  # display scale the sprite was rendered at, relative to the layout
    home: Rect  # card rectangle on the canvas at scale 1
    motion: Motion


def _card_sprite(
    image: np.ndarray, rect: Rect, scale: float
) -> tuple[np.ndarray, tuple[float, float]]:
    box_w, box_h = rect.w * scale, rect.h * scale
    border = max(2, round(0.03 * min(box_w, box_h)))
    src_h, src_w = image.shape[:2]
    fit = min((box_w - 2 * border) / src_w, (box_h - 2 * border) / src_h)
    img_w, img_h = max(2, round(src_w * fit)), max(2, round(src_h * fit))
    interpolation = cv2.INTER_AREA if fit < 1.0 else cv2.INTER_LINEAR
    inner = cv2.resize(image, (img_w, img_h), interpolation=interpolation)
    card_w, card_h = img_w + 2 * border, img_h + 2 * border

    offset = max(1, round(0.025 * card_h))
    sigma = max(1.0, 0.035 * min(card_w, card_h))
    pad = math.ceil(3 * sigma) + offset + 2
    sprite_h, sprite_w = card_h + 2 * pad, card_w + 2 * pad

    shadow = np.zeros((sprite_h, sprite_w), dtype=np.float32)
    shadow[pad + offset : pad + offset + card_h, pad : pad + card_w] = 0.55
    shadow = cv2.GaussianBlur(shadow, (0, 0), sigmaX=sigma)
    alpha = shadow
    alpha[pad : pad + card_h, pad : pad + card_w] = 1.0

    sprite = np.zeros((sprite_h, sprite_w, 4), dtype=np.uint8)
    card = sprite[pad : pad + card_h, pad : pad + card_w, :3]
    card[...] = CARD_FILL
    card[border : border + img_h, border : border + img_w] = inner
    sprite[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    anchor = (pad + (card_w - 1) / 2, pad + (card_h - 1) / 2)
    return sprite, anchor


def _motion(rng: np.random.Generator, index: int) -> Motion:
    return Motion(
        delay=0.12 * index,
        bob_periods=(float(rng.uniform(3.2, 5.0)), float(rng.uniform(2.4, 3.8))),
        bob_phases=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        breathe_period=float(rng.uniform(3.0, 4.5)),
        breathe_phase=float(rng.uniform(0, 2 * math.pi)),
    )


def _margins(size: tuple[int, int]) -> tuple[float, float]:
    """Margins that keep every card inside the frame through push-in, drift and breathing."""
    short = min(size)
    wobble = (BOB + BREATHE / 2 + 0.01) * short
    width, height = size
    return (
        ((CARD_ZOOM - 1) * width / 2 + wobble) / CARD_ZOOM,
        ((CARD_ZOOM - 1) * height / 2 + wobble) / CARD_ZOOM,
    )


def build_cards(references: list[np.ndarray], size: tuple[int, int], seed: int) -> list[Card]:
    short = min(size)
    aspects = [img.shape[1] / img.shape[0] for img in references]
    placements = grid_layout(size, aspects, margin=_margins(size), gap=GAP * short)
    rng = np.random.default_rng(seed % 2**63)
    max_scale = CARD_ZOOM * (1 + BREATHE)
    cards = []
    for index, (image, placement) in enumerate(zip(references, placements, strict=True)):
        sprite, anchor = _card_sprite(image, placement.item, max_scale)
        cards.append(Card(sprite, anchor, max_scale, placement.item, _motion(rng, index)))
    return cards


def _card_matrix(card: Card, size: tuple[int, int], seconds: float, t: float) -> np.ndarray:
    """Forward 2x3 map sprite pixel -> canvas pixel at time ``seconds`` (``t`` normalised)."""
    m = card.motion
    short = min(size)
    zoom = 1.0 + (CARD_ZOOM - 1.0) * smoothstep(t)
    entrance = ENTRANCE_FROM + (1 - ENTRANCE_FROM) * smoothstep((seconds - m.delay) / ENTRANCE_S)
    breathe = 1.0 + BREATHE * math.sin(2 * math.pi * seconds / m.breathe_period + m.breathe_phase)
    dx = BOB * short * math.sin(2 * math.pi * seconds / m.bob_periods[0] + m.bob_phases[0])
    dy = BOB * short * math.sin(2 * math.pi * seconds / m.bob_periods[1] + m.bob_phases[1])
    centre_x, centre_y = size[0] / 2, size[1] / 2
    px = centre_x + zoom * (card.home.cx + dx - centre_x)
    py = centre_y + zoom * (card.home.cy + dy - centre_y)
    s = zoom * entrance * breathe / card.max_scale
    ax, ay = card.anchor
    return np.array([[s, 0.0, px - 0.5 - s * ax], [0.0, s, py - 0.5 - s * ay]], dtype=np.float64)


def draw_card(frame: np.ndarray, card: Card, matrix: np.ndarray) -> None:
    """Alpha-composite the premultiplied sprite onto ``frame`` in place, touching its ROI only."""
    height, width = frame.shape[:2]
    sprite_h, sprite_w = card.sprite.shape[:2]
    s, tx, ty = matrix[0, 0], matrix[0, 2], matrix[1, 2]
    x0 = max(0, math.floor(tx - 0.5 * s))
    y0 = max(0, math.floor(ty - 0.5 * s))
    x1 = min(width, math.ceil(tx + (sprite_w - 0.5) * s) + 1)
    y1 = min(height, math.ceil(ty + (sprite_h - 0.5) * s) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    local = matrix.copy()
    local[0, 2] -= x0
    local[1, 2] -= y0
    warped = cv2.warpAffine(
        card.sprite,
        local,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    roi = frame[y0:y1, x0:x1]
    keep = cv2.merge([255 - warped[..., 3]] * 3)
    under = cv2.multiply(roi, keep, scale=1 / 255)
    roi[...] = cv2.add(under, np.ascontiguousarray(warped[..., :3]))


def _reference_images(job: GenerationJob, size: tuple[int, int]) -> list[np.ndarray]:
    entries = indexed_images(job.images, "image_list", "image")
    if not entries:
        raise EngineError("image_list needs at least one image")
    return [load_rgb(path, field, size, background=CARD_FILL) for field, path in entries]


def render_multi_image2video(job: GenerationJob, progress: ProgressFn) -> GenerationOutput:
    spec = video_spec(job)
    size = frame_size(job.params.get("aspect_ratio"), spec.short_side)
    references = _reference_images(job, size)
    # The backdrop is a heavy blur: render its camera move at half size and upscale (4x fewer
    # pixels to warp, no visible difference).
    half = (max(2, size[0] // 2), max(2, size[1] // 2))
    backdrop = blurred_backdrop(references[0], half)
    cards = build_cards(references, size, job.seed)

    frames = spec.frame_count
    target = job.output_dir / VIDEO_NAME
    with VideoWriter(target, size[0], size[1], spec.fps) as writer:
        for index in range(frames):
            t = index / (frames - 1) if frames > 1 else 0.0
            seconds = index / spec.fps
            zoom = 1.0 + (BACKDROP_ZOOM - 1.0) * smoothstep(t)
            frame = cv2.resize(
                render_window(backdrop, half, zoom), size, interpolation=cv2.INTER_LINEAR
            )
            for card in cards:
                draw_card(frame, card, _card_matrix(card, size, seconds, t))
            writer.write(frame)
            progress((index + 1) / (frames + 1))
    progress(1.0)
    return GenerationOutput([OutputFile(target, "video/mp4", duration=str(spec.seconds))])
