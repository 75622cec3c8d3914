"""Typesetting a prompt onto a picture: font choice, word wrap, fitting to a box (Pillow).

Fonts: the first installed font (see ``FONT_CANDIDATES``) that has a glyph for every character
of the text, else the one that covers most of them, else Pillow's bundled default (Latin only).
A character no font has is drawn as the font's "missing glyph" box: text never fails to render.
So the pixels of a typeset prompt depend on the fonts installed on the machine that renders it.

Wrapping is greedy on spaces; a word wider than the line (or a run of CJK text, which has no
spaces) is broken between characters. Text that does not fit the box at the smallest size is
cut at the last line that fits, ending with an ellipsis.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_CANDIDATES", "TextBlock", "draw_text", "fit_text", "font_for"]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Well-known locations on Debian/Ubuntu, Fedora, Alpine and macOS; the first that exists and
# covers the text wins. Pillow's bundled font (Latin only) is the last resort.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
)
_PROBE_SIZE = 24
_NOT_A_CHARACTER = "\U0010fffd"  # a private-use code point no font maps: the missing glyph
_ELLIPSIS = "…"


@functools.cache
def _installed() -> tuple[str, ...]:
    return tuple(path for path in FONT_CANDIDATES if Path(path).is_file())


@functools.cache
def _load(path: str | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def _mask_key(font: Font, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@functools.cache
def _has_glyph(path: str | None, char: str) -> bool:
    font = _load(path, _PROBE_SIZE)
    return _mask_key(font, char) != _mask_key(font, _NOT_A_CHARACTER)


def _drawable(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char)[0] not in ("C", "Z")


def font_for(text: str, size: int) -> Font:
    """The font that draws most of ``text`` (every character, ideally) at ``size`` px."""
    chars = {c for c in text if _drawable(c)}
    best: tuple[int, str | None] = (-1, None)
    for path in (*_installed(), None):
        covered = sum(1 for c in chars if _has_glyph(path, c))
        if covered == len(chars):
            return _load(path, size)
        if covered > best[0]:
            best = (covered, path)
    return _load(best[1], size)


def clean(text: str) -> str:
    """Control characters dropped, tabs as spaces, line breaks kept as paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")


def _width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def _break_word(font: Font, word: str, width: float) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if current and _width(font, current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def wrap(text: str, font: Font, width: float) -> list[str]:
    """Lines of at most ``width`` px (greedy), paragraphs kept."""
    lines: list[str] = []
    for paragraph in clean(text).split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if _width(font, candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            pieces = _break_word(font, word, width) if _width(font, word) > width else [word]
            lines.extend(pieces[:-1])
            line = pieces[-1] if pieces else ""
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines or [""]


@dataclass(frozen=True)
class TextBlock:
    lines: list[str]
    font: Font
    size: int
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def _block(text: str, box: tuple[int, int], size: int) -> TextBlock:
    font = font_for(text, size)
    return TextBlock(wrap(text, font, box[0]), font, size, round(size * 1.25))


def fit_text(text: str, box: tuple[int, int], max_size: int, min_size: int) -> TextBlock:
    """The largest size in [min_size, max_size] at which ``text`` fits ``box`` = (w, h) px; at
    ``min_size`` the lines past the box are cut and the last one ends with an ellipsis."""
    min_size = max(1, min(min_size, max_size))
    low, high = min_size, max_size
    while low < high:  # binary search on the size: the block's height grows with it
        mid = (low + high + 1) // 2
        if _block(text, box, mid).height <= box[1]:
            low = mid
        else:
            high = mid - 1
    block = _block(text, box, low)
    room = max(1, box[1] // block.line_height)
    if len(block.lines) <= room:
        return block
    kept = block.lines[:room]
    last = kept[-1]
    while last and _width(block.font, last + _ELLIPSIS) > box[0]:
        last = last[:-1]
    kept[-1] = last.rstrip() + _ELLIPSIS
    return TextBlock(kept, block.font, block.size, block.line_height)


def draw_text(
    layer: Image.Image,
    block: TextBlock,
    origin: tuple[int, int],
    width: int,
    fill: tuple[int, int, int, int],
    shadow: tuple[int, int, int, int] | None = None,
) -> None:
    """Draw ``block`` centred on each line within ``width`` px from ``origin`` (RGBA layer)."""
    draw = ImageDraw.Draw(layer)
    offset = max(1, block.size // 16)
    for index, line in enumerate(block.lines):
        x = origin[0] + (width - _width(block.font, line)) / 2
        y = origin[1] + index * block.line_height
        if shadow is not None:
            draw.text((x + offset, y + offset), line, font=block.font, fill=shadow)
        draw.text((x, y), line, font=block.font, fill=fill)


def text_layer(size: tuple[int, int]) -> Image.Image:
    """A transparent RGBA layer to draw text on."""
    return Image.new("RGBA", size, (0, 0, 0, 0))


def premultiplied(layer: Image.Image) -> np.ndarray:
    """HxWx4 uint8: RGB premultiplied by alpha, then alpha (for fast repeated compositing)."""
    rgba = np.asarray(layer.convert("RGBA"), dtype=np.uint16)
    out = np.empty(rgba.shape, np.uint8)
    out[..., :3] = ((rgba[..., :3] * rgba[..., 3:4] + 127) // 255).astype(np.uint8)
    out[..., 3] = rgba[..., 3]
    return out
