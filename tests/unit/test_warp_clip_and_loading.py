"""A camera move rendered straight to YUV matches the RGB render; EXIF orientation of inputs."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from openreel.engines.classic.camera import window_matrix
from openreel.engines.classic.warp_clip import WarpClip
from openreel.engines.imaging.loading import load_rgb
from openreel.media.images import probe_size
from openreel.media.video import VideoWriter
from tests.support.helpers import shapes_image

OUT = (320, 180)


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _pan(source: np.ndarray) -> WarpClip:
    size = (source.shape[1], source.shape[0])
    # A zoomed window that slides right and down by sub-pixel steps.
    return WarpClip(source, OUT, lambda t: window_matrix(size, OUT, 1.3, (t - 0.5, 0.6 * t - 0.3)))


@pytest.mark.parametrize("matrix_rows", [2, 3])
def test_yuv_frames_match_the_rgb_frames(tmp_path: Path, matrix_rows: int) -> None:
    source = shapes_image(3, 480, 270)  # hard colour edges: misplaced chroma would show
    clip = _pan(source)
    if matrix_rows == 3:
        affine = clip.matrix_at
        clip = WarpClip(source, OUT, lambda t: np.vstack([affine(t), [0, 0, 1]]))
    count = 9
    with VideoWriter(tmp_path / "yuv.mp4", *OUT, fps=24) as writer:
        writer.encode(clip.yuv_frames(count))
    with VideoWriter(tmp_path / "rgb.mp4", *OUT, fps=24) as writer:
        writer.encode(clip(i / (count - 1)) for i in range(count))

    from_yuv, from_rgb = _decoded(tmp_path / "yuv.mp4"), _decoded(tmp_path / "rgb.mp4")
    assert len(from_yuv) == len(from_rgb) == count
    for index, (a, b) in enumerate(zip(from_yuv, from_rgb, strict=True)):
        truth = clip(index / (count - 1)).astype(np.int16)
        yuv_error = np.abs(a.astype(np.int16) - truth).mean()
        rgb_error = np.abs(b.astype(np.int16) - truth).mean()
        assert yuv_error < rgb_error + 1.5, (index, yuv_error, rgb_error)
        assert np.abs(a.astype(np.int16) - b).mean() < 4
    # The camera really moves between the first and last frame.
    assert np.abs(from_yuv[0].astype(np.int16) - from_yuv[-1]).mean() > 10


def _with_orientation(image: Image.Image, fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_turns_the_picture_upright(tmp_path: Path, fmt: str) -> None:
    stored = np.zeros((300, 400, 3), np.uint8)  # as stored: wide, red band at the top
    stored[:60] = (255, 0, 0)
    path = tmp_path / f"turned.{fmt.lower()}"
    path.write_bytes(_with_orientation(Image.fromarray(stored), fmt, 6))  # rotate 90 CW

    assert probe_size(path, "image") == (300, 400)
    upright = load_rgb(path, "image")
    assert upright.shape == (400, 300, 3)
    # Turned clockwise, the top band is now on the right.
    assert upright[:, -30:, 0].mean() > 200 and upright[:, :30, 0].mean() < 50


def test_png_without_exif_is_read_as_stored(tmp_path: Path) -> None:
    stored = shapes_image(5, 400, 300)
    path = tmp_path / "plain.png"
    Image.fromarray(stored).save(path)
    assert probe_size(path, "image") == (400, 300)
    assert np.array_equal(load_rgb(path, "image"), stored)
