"""Test helpers: synthetic images, base64, settings, PostgreSQL databases per test."""

from __future__ import annotations

import base64
import io
import os
import uuid
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

PG_ENV = "OPENREEL_TEST_DATABASE_URL"


def textured(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An RGB image with structure (blocks + gradient + noise) for matching and PSNR."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1
    ).astype(np.float32)
    tiles = rng.integers(0, 256, size=(height // 20 + 1, width // 20 + 1, 3))
    blocks = np.kron(tiles, np.ones((20, 20, 1)))[:height, :width]
    noise = rng.normal(0, 8, size=(height, width, 3))
    return np.clip(0.5 * base + 0.5 * blocks + noise, 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def image_bytes(width: int = 640, height: int = 400, fmt: str = "PNG", seed: int = 0) -> bytes:
    return encode(textured(width, height, seed), fmt)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_b64(width: int = 640, height: int = 400, fmt: str = "PNG", seed: int = 0) -> str:
    return b64(image_bytes(width, height, fmt, seed))


def pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def create_pg_database() -> tuple[str, str]:
    """A fresh PostgreSQL database; returns (async URL, name)."""
    import psycopg

    admin = pg_admin_url()
    assert admin is not None
    name = f"openreel_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_sync(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1), name


def drop_pg_database(name: str) -> None:
    import psycopg

    admin = pg_admin_url()
    assert admin is not None
    with psycopg.connect(_sync(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sync(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


def shapes_image(
    seed: int, width: int, height: int, noise: float = 0.0, shapes: int = 70
) -> np.ndarray:
    """A gradient covered in random coloured shapes (plenty of ORB corners), optional noise."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    image = np.ascontiguousarray((c0 * (1 - t) + c1 * t).astype(np.uint8).repeat(height, axis=0))
    for _ in range(shapes):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(6, max(7, min(width, height) // 7)))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            cv2.circle(image, (x, y), size, colour, -1)
        elif kind == 1:
            cv2.rectangle(image, (x, y), (x + size, y + int(rng.integers(6, 50))), colour, -1)
        else:
            points = (rng.integers(-size, size, (5, 2)) + [x, y]).astype(np.int32)
            cv2.fillPoly(image, [points], colour)
    if noise:
        image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
    return image
