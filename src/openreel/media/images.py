"""Decoding and checking user images: base64 or URL in, JPEG/PNG bytes and size out.

Decoding is bounded: only the JPEG and PNG decoders are allowed (no FITS/TIFF/... surprises),
the encoded size is capped before decoding, and the pixel count is checked from the header
before any pixel is decompressed.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from openreel.errors import InputError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE = 300
MAX_ASPECT = 2.5
# Far above any photo a client sends; keeps a crafted header from claiming gigapixels.
MAX_PIXELS = 64_000_000
FORMATS = ("JPEG", "PNG")  # the only decoders Pillow may use on user bytes
_B64_MAX_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4
_EXIF_ORIENTATION = 0x0112
TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DecodedImage:
    """A checked image; ``width``/``height`` as displayed (after its EXIF orientation), which
    is how engines render it and how masks and trajectories are drawn on it."""

    data: bytes
    format: str  # "JPEG" | "PNG"
    width: int
    height: int

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "JPEG" else "png"

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/png"


def orientation(image: Image.Image) -> int:
    """The EXIF orientation tag of an opened image (1: upright)."""
    # Pillow's PNG getexif() decodes the whole picture when the header had no eXIf chunk, to
    # look for one after the pixel data; the PNG spec (3rd ed.) puts eXIf before IDAT, so a
    # PNG without one in its header is upright. Decoding uses the same rule.
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a malformed EXIF block means upright, never a failure
        return 1


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) as displayed: swapped when the EXIF orientation turns it 90°."""
    width, height = image.size
    return (height, width) if orientation(image) in TRANSPOSED_ORIENTATIONS else (width, height)


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def decode_base64(value: str, field: str) -> bytes:
    """Raw base64 (no ``data:`` prefix, as Kling requires) to bytes, size-capped."""
    if value.startswith("data:"):
        raise InputError(
            field,
            "invalid base64: send the raw base64 string without a 'data:...;base64,' prefix",
        )
    if len(value) > _B64_MAX_CHARS + 4:
        # Line-wrapped base64 is longer than its content: measure without the whitespace.
        value = _WHITESPACE.sub("", value)
        if len(value) > _B64_MAX_CHARS + 4:
            raise InputError(field, "image is larger than 10 MB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.b64decode(_WHITESPACE.sub("", value), validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                field, "must be an http(s) URL or a base64-encoded JPEG/PNG image"
            ) from None
    if not data:
        raise InputError(field, "must not be empty")
    return data


def inspect_image(data: bytes, field: str) -> DecodedImage:
    """Check that ``data`` is a complete JPEG or PNG of sane size; return its geometry.

    The pixels are never held at full size: a JPEG is decoded at 1/8 scale (libjpeg's DCT
    scaling still reads every coded block, so a truncated or corrupt file fails), a PNG's
    chunks are read to IEND with their CRCs checked (zlib data included) without inflating
    the picture. So checking a 64-megapixel 16-bit RGBA PNG costs kilobytes, not gigabytes.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(field, "image is larger than 10 MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                width, height = img.size
                fmt = img.format or ""
                if width * height > MAX_PIXELS:
                    raise InputError(
                        field,
                        f"image is {width}x{height} pixels, over the {MAX_PIXELS} pixel limit",
                    )
                width, height = upright_size(img)
                if fmt == "JPEG":
                    img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
                    img.load()
                else:
                    img.verify()
    except UnidentifiedImageError:
        raise InputError(field, "image format must be JPEG or PNG") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(field, f"image is over the {MAX_PIXELS} pixel limit") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(field, f"image could not be decoded ({exc})") from None
    return DecodedImage(data=data, format=fmt, width=width, height=height)


def validate_image(data: bytes, field: str, *, aspect: bool, is_mask: bool) -> DecodedImage:
    """All the rules one image field must pass (the server's and the SDK's one definition):
    a decodable JPEG/PNG within the limits; unless it is a mask, Kling's geometry rules."""
    image = inspect_image(data, field)
    if not is_mask:
        check_geometry(image, field, aspect=aspect)
    return image


def check_geometry(image: DecodedImage, field: str, *, aspect: bool) -> None:
    """Kling's rules: each side >= 300 px; aspect between 1:2.5 and 2.5:1 where required."""
    if min(image.width, image.height) < MIN_SIDE:
        raise InputError(
            field,
            f"image is {image.width}x{image.height}; each side must be at least {MIN_SIDE} px",
        )
    if aspect:
        ratio = image.width / image.height
        if ratio > MAX_ASPECT or ratio < 1 / MAX_ASPECT:
            raise InputError(
                field,
                f"image aspect ratio {image.width}:{image.height} is outside 1:2.5 to 2.5:1",
            )


def probe_size(path: Path, field: str) -> tuple[int, int]:
    """Width and height as displayed (after the EXIF orientation), from the header of an image
    file, without decoding pixels. The service and the engines both read sizes with it."""
    try:
        with Image.open(path, formats=FORMATS) as img:
            return upright_size(img)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        raise InputError(field, "image could not be decoded") from None
