"""Task input images: validated once, stored as blobs, handed to engines as local files.

Base64 images are checked at create time (the bytes are in hand, so a bad one is a
synchronous 1201 naming the field). URL images are fetched by the worker before the engine
runs, as the first step of generation: a create never waits on someone else's server, and a
URL that cannot be fetched or is not a valid image fails the task with a message that names
the field. Either way the engine reads the exact bytes that were validated.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openreel.blobs.base import BlobStore
from openreel.media.fetch import fetch_image
from openreel.media.images import (
    DecodedImage,
    decode_base64,
    is_url,
    probe_size,
    validate_image,
)
from openreel.net.safe_http import FetchLimits, SafeHttp
from openreel.wire.errors import illegal

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ImageField:
    path: str
    value: str
    aspect_rule: bool = True
    is_mask: bool = False

    @property
    def is_remote(self) -> bool:
        return is_url(self.value)


def _validated(field: ImageField, data: bytes) -> DecodedImage:
    return validate_image(data, field.path, aspect=field.aspect_rule, is_mask=field.is_mask)


def input_key(task_id: str, path: str, extension: str) -> str:
    return f"inputs/{task_id}/{_UNSAFE.sub('_', path)}.{extension}"


async def store_inline_images(
    task_id: str, fields: list[ImageField], blobs: BlobStore, params: dict[str, Any]
) -> dict[str, str]:
    """Decode and check the base64 images of a create; store them; return path -> blob key.

    URL fields are only checked for their scheme here (the worker fetches them).
    """

    def run() -> dict[str, str]:
        sizes: dict[str, tuple[int, int]] = {}
        decoded: list[tuple[ImageField, DecodedImage]] = []
        for field in fields:
            if field.is_remote:
                continue
            image = _validated(field, decode_base64(field.value, field.path))
            decoded.append((field, image))
            sizes[field.path] = (image.width, image.height)
        check_image_set(sizes, params)
        keys: dict[str, str] = {}
        for field, image in decoded:
            key = input_key(task_id, field.path, image.extension)
            blobs.put_bytes(key, image.data)
            keys[field.path] = key
        return keys

    if not any(not f.is_remote for f in fields):
        return {}
    return await asyncio.to_thread(run)


async def resolve_inputs(
    task_id: str,
    params: Mapping[str, Any],
    stored_inputs: Mapping[str, str],
    remote_inputs: Sequence[ImageField],
    blobs: BlobStore,
    http: SafeHttp,
    limits: FetchLimits,
    work_dir: Path,
) -> dict[str, Path]:
    """Worker side: fetch and check URL images, then every field -> a local file (the blob
    itself, or a copy in ``work_dir`` where blobs are remote).

    Every URL image is fetched and checked before any is stored, so an input that cannot be
    used leaves nothing behind. Raises ``KlingError`` (1201, naming the field) for it.
    """

    async def local(key: str) -> Path:
        return await asyncio.to_thread(blobs.materialize, key, work_dir)

    keys = dict(stored_inputs)
    pending = list(remote_inputs)
    fetched = await asyncio.gather(*(fetch_image(http, f.value, f.path, limits) for f in pending))
    checked = [
        (field, await asyncio.to_thread(_validated, field, data))
        for field, data in zip(pending, fetched, strict=True)
    ]
    if pending:
        stored = {path: await local(key) for path, key in keys.items()}
        sizes = {path: probe_size(file, path) for path, file in stored.items()}
        sizes.update({field.path: (image.width, image.height) for field, image in checked})
        check_image_set(sizes, params)
    for field, image in checked:
        key = input_key(task_id, field.path, image.extension)
        await asyncio.to_thread(blobs.put_bytes, key, image.data)
        keys[field.path] = key
    return {path: await local(key) for path, key in keys.items()}


def check_image_set(sizes: dict[str, tuple[int, int]], params: Mapping[str, Any]) -> None:
    """Rules between images, checked once every size involved is known."""
    check_masks(sizes)
    check_trajectories(sizes, params)


def check_trajectories(sizes: dict[str, tuple[int, int]], params: Mapping[str, Any]) -> None:
    """Trajectory points are integer pixels of ``image`` (origin bottom-left): inside it."""
    base = sizes.get("image")
    if base is None:
        return
    width, height = base
    for g, group in enumerate(params.get("dynamic_masks") or []):
        for p, point in enumerate(group.get("trajectories", [])):
            x, y = point["x"], point["y"]
            if not (0 <= x < width and 0 <= y < height):
                raise illegal(
                    f"dynamic_masks[{g}].trajectories[{p}]",
                    f"point ({x}, {y}) is outside the {width}x{height} image "
                    "(pixels, origin at the bottom-left corner)",
                )


def check_masks(sizes: dict[str, tuple[int, int]]) -> None:
    """Masks must share the image's aspect ratio and each other's resolution (compat.md)."""
    masks = [
        (path, size)
        for path, size in sizes.items()
        if path == "static_mask" or path.startswith("dynamic_masks[")
    ]
    if not masks:
        return
    base = sizes.get("image")
    if base is not None:
        bw, bh = base
        for path, (mw, mh) in masks:
            if abs(mw * bh - bw * mh) > max(bw, bh):
                raise illegal(
                    path,
                    f"mask is {mw}x{mh} but image is {bw}x{bh}; "
                    "a mask must have the same aspect ratio as image",
                )
    first_path, first = masks[0]
    for path, size in masks[1:]:
        if size != first:
            raise illegal(
                path,
                f"mask is {size[0]}x{size[1]} but {first_path} is {first[0]}x{first[1]}; "
                "all masks must have the same resolution",
            )
