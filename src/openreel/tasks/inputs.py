"""Loading a plan's images: fetch or base64-decode, bounded decode, Kling's geometry rules.

Runs at create time so a bad image is a synchronous 1201 naming the field, and the worker
later reads the exact bytes that were validated (a URL's content cannot change under it).
"""

from __future__ import annotations

import asyncio
import re

import httpx

from openreel.media.fetch import fetch_bytes
from openreel.media.images import (
    DecodedImage,
    check_geometry,
    decode_base64,
    inspect_image,
    is_url,
)
from openreel.tasks.rules import ImageField
from openreel.wire.errors import illegal

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


async def load_image(field: ImageField, client: httpx.AsyncClient, timeout: float) -> DecodedImage:
    if is_url(field.value):
        data = await fetch_bytes(client, field.value, field.path, timeout=timeout)
    else:
        data = decode_base64(field.value, field.path)
    image = await asyncio.to_thread(inspect_image, data, field.path)
    if not field.is_mask:
        check_geometry(image, field.path, aspect=field.aspect_rule)
    return image


async def load_images(
    fields: list[ImageField], client: httpx.AsyncClient, timeout: float
) -> dict[str, DecodedImage]:
    images = await asyncio.gather(*(load_image(f, client, timeout) for f in fields))
    loaded = {f.path: image for f, image in zip(fields, images, strict=True)}
    _check_masks(loaded)
    return loaded


def _check_masks(images: dict[str, DecodedImage]) -> None:
    """Masks must share the image's aspect ratio and each other's resolution (compat.md)."""
    masks = [
        (path, img)
        for path, img in images.items()
        if path == "static_mask" or path.startswith("dynamic_masks[")
    ]
    if not masks:
        return
    base = images.get("image")
    if base is not None:
        for path, mask in masks:
            if abs(mask.width * base.height - base.width * mask.height) > max(
                base.width, base.height
            ):
                raise illegal(
                    path,
                    f"mask is {mask.width}x{mask.height} but image is {base.width}x{base.height}; "
                    "a mask must have the same aspect ratio as image",
                )
    first_path, first = masks[0]
    for path, mask in masks[1:]:
        if (mask.width, mask.height) != (first.width, first.height):
            raise illegal(
                path,
                f"mask is {mask.width}x{mask.height} but {first_path} is "
                f"{first.width}x{first.height}; all masks must have the same resolution",
            )


def input_key(task_id: str, index: int, path: str, image: DecodedImage) -> str:
    return f"inputs/{task_id}/{index:02d}-{_UNSAFE.sub('_', path)}.{image.extension}"
