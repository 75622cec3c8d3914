"""Downloading result files through a TestClient and decoding them (MP4 frames, PNG pixels),
and the watermark's box as a pixel mask."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from openreel.engines.imaging.watermark import watermark_box


def download(client: TestClient, url: str, content_type: str) -> bytes:
    response = client.get(url.replace("http://testserver", ""))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    return response.content


def mp4_frames(data: bytes) -> tuple[list[np.ndarray], Fraction]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        rate = stream.average_rate
    assert rate is not None
    return frames, Fraction(rate)


def png_pixels(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def badge_mask(width: int, height: int) -> np.ndarray:
    """HxW bool: True inside the watermark's box on a picture of this size."""
    box = watermark_box((width, height))
    inside = np.zeros((height, width), bool)
    inside[box.y : box.y + box.h, box.x : box.x + box.w] = True
    return inside


def mean_diff(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16))[where].mean())
