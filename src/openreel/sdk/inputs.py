"""Image arguments -> what the API takes: a URL as is, anything local as raw base64.

Local images (file paths, bytes, PIL images, or base64 text) are checked here with the
server's own rules (``media.images.validate_image``) before any request is made, so a 200x200
picture fails at once with the same message the server would give.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

from PIL import Image

from openreel.errors import InputError
from openreel.media.images import MAX_IMAGE_BYTES, decode_base64, is_url, validate_image
from openreel.sdk.errors import LocalValidationError

__all__ = ["ImageInput", "image_value"]

ImageInput = str | os.PathLike[str] | bytes | Image.Image


def _from_pil(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    mode = image.mode if image.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
    image.convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _read_file(path: Path, field: str) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LocalValidationError(f"{field}: cannot read {path} ({exc.strerror})") from None
    if size > MAX_IMAGE_BYTES:
        raise LocalValidationError(f"{field}: image is larger than 10 MB")
    return path.read_bytes()


def _local_bytes(value: Any, field: str) -> bytes:
    if isinstance(value, Image.Image):
        return _from_pil(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, os.PathLike):
        return _read_file(Path(value), field)
    if isinstance(value, str):
        if len(value) < 4096 and Path(value).expanduser().is_file():
            return _read_file(Path(value).expanduser(), field)
        try:
            return decode_base64(value, field)
        except InputError:
            raise LocalValidationError(
                f"{field}: not a URL, an existing file or base64 image data"
            ) from None
    raise LocalValidationError(
        f"{field}: expected a URL, a file path, bytes or a PIL image, got {type(value).__name__}"
    )


def image_value(value: Any, field: str, *, aspect: bool = True, is_mask: bool = False) -> str:
    """The wire value for one image field: a URL unchanged, else checked raw base64."""
    if isinstance(value, str) and is_url(value):
        return value  # fetched by the server, which checks it
    data = _local_bytes(value, field)
    try:
        validate_image(data, field, aspect=aspect, is_mask=is_mask)
    except InputError as exc:
        raise LocalValidationError(exc.message) from None
    return base64.b64encode(data).decode("ascii")
