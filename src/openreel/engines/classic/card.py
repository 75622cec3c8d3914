"""The test card: what classic renders for the text kinds (a placeholder, not a generation).

A card is a procedural backdrop (a seeded gradient with soft colour blobs drifting on Lissajous
paths, so it moves in a video) under a static layer: a faint grid, a centring circle with a
crosshair, a strip of colour bars, and a dark panel with the prompt typeset on it and a line
saying that this is a placeholder. Everything is a function of the seed, the size and the
time, so identical requests give identical pixels (on machines with the same fonts: see
``imaging.text``).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from openreel.engines.imaging.canvas import to_u8
from openreel.engines.imaging.text import draw_text, fit_text, premultiplied, text_layer

__all__ = ["NOTICE", "Backdrop", "card_layer", "caption_layer"]

NOTICE = "openreel classic · test card · placeholder, not a generation"
CAPTION_BOTTOM = 0.24  # the caption panel's lower edge, fraction of the height
_BLOBS = 5
_LOW_RES = 8  # the backdrop is computed at 1/8 size and upscaled: it is all soft gradients
# Seven bars (white, yellow, cyan, green, magenta, red, blue), the broadcast test pattern.
_BARS = [
    (235, 235, 235),
    (235, 235, 16),
    (16, 235, 235),
    (16, 235, 16),
    (235, 16, 235),
    (235, 16, 16),
    (16, 16, 235),
]


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), np.float32) * np.float32(255)


@dataclass(frozen=True)
class _Blob:
    colour: np.ndarray
    centre: tuple[float, float]  # resting centre, fractions of the frame
    reach: tuple[float, float]  # Lissajous amplitude, fractions of the frame
    freq: tuple[float, float]  # cycles per second
    phase: tuple[float, float]
    sigma: float  # fraction of the shorter side


class Backdrop:
    """The moving background of a card: ``at(seconds)`` is an HxWx3 uint8 RGB picture."""

    def __init__(self, size: tuple[int, int], seed: int) -> None:
        self.size = size
        rng = np.random.default_rng(seed % 2**63)
        hue = float(rng.uniform(0, 1))
        self.top = _hsv(hue, 0.55, 0.32)
        self.bottom = _hsv(hue + 0.08, 0.65, 0.12)
        self.blobs = [
            _Blob(
                colour=_hsv(
                    hue + float(rng.uniform(-0.25, 0.25)), 0.75, float(rng.uniform(0.6, 1))
                ),
                centre=(float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.8))),
                reach=(float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.1, 0.3))),
                freq=(float(rng.uniform(0.06, 0.16)), float(rng.uniform(0.06, 0.16))),
                phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
                sigma=float(rng.uniform(0.12, 0.24)),
            )
            for _ in range(_BLOBS)
        ]
        width, height = size
        self.low = (max(8, width // _LOW_RES), max(8, height // _LOW_RES))
        lw, lh = self.low
        self.xs = np.linspace(0.0, 1.0, lw, dtype=np.float32)[None, :]
        self.ys = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None]
        ramp = self.ys[..., None]
        column = self.top * (np.float32(1) - ramp) + self.bottom * ramp
        self.base = np.ascontiguousarray(np.broadcast_to(column, (lh, lw, 3)), np.float32)

    def at(self, seconds: float) -> np.ndarray:
        lw, lh = self.low
        aspect = np.float32(lw / lh)
        total = np.ones((lh, lw, 1), np.float32)
        image = self.base.copy()
        for blob in self.blobs:
            cx = blob.centre[0] + blob.reach[0] * math.sin(
                2 * math.pi * blob.freq[0] * seconds + blob.phase[0]
            )
            cy = blob.centre[1] + blob.reach[1] * math.sin(
                2 * math.pi * blob.freq[1] * seconds + blob.phase[1]
            )
            # Distances in units of the shorter side, so blobs are round on any aspect.
            dx = (self.xs - np.float32(cx)) * (aspect if aspect > 1 else np.float32(1))
            dy = (self.ys - np.float32(cy)) / (aspect if aspect < 1 else np.float32(1))
            weight = np.exp(-(dx * dx + dy * dy) / np.float32(2 * blob.sigma**2))[..., None]
            image += weight * blob.colour
            total += weight
        # Quantised at the low size, then upscaled as uint8: 3x cheaper than upscaling floats,
        # and the blobs are smooth enough that the bilinear ramps between samples do not show.
        low = to_u8(image / total)
        return cv2.resize(low, self.size, interpolation=cv2.INTER_LINEAR)


def _grid(draw: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
    width, height = size
    step = max(8, min(size) // 8)
    line = max(1, min(size) // 360)
    for x in range(width // 2 % step, width, step):
        draw.line((x, 0, x, height), fill=(255, 255, 255, 38), width=line)
    for y in range(height // 2 % step, height, step):
        draw.line((0, y, width, y), fill=(255, 255, 255, 38), width=line)
    cx, cy, r = width / 2, height / 2, 0.42 * min(size)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255, 70), width=2 * line)
    draw.line((cx - r, cy, cx + r, cy), fill=(255, 255, 255, 55), width=line)
    draw.line((cx, cy - r, cx, cy + r), fill=(255, 255, 255, 55), width=line)


def _bars(draw: ImageDraw.ImageDraw, size: tuple[int, int], top: int, height: int) -> None:
    width = size[0]
    for index, colour in enumerate(_BARS):
        x0 = round(index * width / len(_BARS))
        x1 = round((index + 1) * width / len(_BARS))
        draw.rectangle((x0, top, x1, top + height), fill=(*colour, 220))


def _panel(
    layer: Image.Image, box: tuple[int, int, int, int], prompt: str, label: str, accent: np.ndarray
) -> None:
    """A dark rounded panel with a small accent ``label`` line and the prompt under it."""
    x0, y0, x1, y1 = box
    short = min(layer.size)
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle(box, radius=max(4, short // 40), fill=(8, 8, 12, 170))
    pad = max(6, short // 30)
    inner_w = x1 - x0 - 2 * pad
    label_block = fit_text(label, (inner_w, max(8, short // 22)), short // 28, 6)
    colour = (int(accent[0]), int(accent[1]), int(accent[2]), 255)
    draw_text(layer, label_block, (x0 + pad, y0 + pad), inner_w, colour)
    text_top = y0 + pad + label_block.height + pad // 2
    box_h = max(8, y1 - pad - text_top)
    block = fit_text(prompt or " ", (inner_w, box_h), max(10, short // 10), max(6, short // 48))
    offset = (box_h - block.height) // 2
    draw_text(
        layer,
        block,
        (x0 + pad, text_top + offset),
        inner_w,
        (255, 255, 255, 255),
        shadow=(0, 0, 0, 200),
    )


def _accent(seed: int) -> np.ndarray:
    return _hsv(float(np.random.default_rng(seed % 2**63).uniform(0, 1)) + 0.5, 0.45, 1.0)


def card_layer(size: tuple[int, int], prompt: str, label: str, seed: int) -> np.ndarray:
    """The static part of a text card (premultiplied RGBA): grid, bars, the prompt panel."""
    width, height = size
    layer = text_layer(size)
    draw = ImageDraw.Draw(layer)
    _grid(draw, size)
    bar_h = max(4, round(0.05 * height))
    _bars(draw, size, round(0.06 * height), bar_h)
    panel = (
        round(0.12 * width),
        round(0.06 * height) + bar_h + round(0.05 * height),
        round(0.88 * width),
        round(0.86 * height),
    )
    _panel(layer, panel, prompt, label, _accent(seed))
    return premultiplied(layer)


def caption_layer(size: tuple[int, int], prompt: str, label: str, seed: int) -> np.ndarray:
    """The static part of an image-to-image card: grid and a caption panel across the top
    (``size``'s upper part), leaving the rest of the picture to the reference."""
    width, height = size
    layer = text_layer(size)
    draw = ImageDraw.Draw(layer)
    _grid(draw, size)
    margin = round(0.03 * min(size))
    _panel(
        layer, (margin, margin, width - margin, round(0.24 * height)), prompt, label, _accent(seed)
    )
    return premultiplied(layer)


CAPTION_BOTTOM = 0.24  # the caption panel's lower edge, fraction of the height
