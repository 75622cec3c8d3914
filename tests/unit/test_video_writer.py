"""VideoWriter: real H.264 files, decoded back with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from openreel.media.video import VideoWriter, even_size_for


def _frames(count: int, width: int, height: int) -> list[np.ndarray]:
    ramp_x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    ramp_y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    frames = []
    for i in range(count):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (ramp_x + 8 * i) % 256
        frame[..., 1] = np.broadcast_to(ramp_y, (height, width))
        frame[..., 2] = 40 + 10 * i
        frames.append(frame)
    return frames


def _decode(path: Path) -> tuple[list[np.ndarray], av.video.stream.VideoStream]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, stream


def test_writes_every_frame_at_size_and_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    source = _frames(10, 96, 64)
    with VideoWriter(path, 96, 64, fps=12) as writer:
        for frame in source:
            writer.write(frame)

    decoded, stream = _decode(path)
    assert len(decoded) == 10
    assert stream.average_rate == Fraction(12)
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert (stream.codec_context.width, stream.codec_context.height) == (96, 64)
    assert decoded[0].shape == (64, 96, 3)
    # Colours survive the RGB -> BT.709 YUV -> RGB round trip (lossy, but close).
    for got, want in zip(decoded, source, strict=True):
        assert np.abs(got.astype(np.int16) - want).mean() < 6


def test_moov_atom_comes_first(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 64, 64, fps=24) as writer:
        for frame in _frames(3, 64, 64):
            writer.write(frame)
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


@pytest.mark.parametrize("size", [(63, 48), (64, 47), (0, 48)])
def test_odd_or_empty_size_is_rejected(tmp_path: Path, size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "x.mp4", size[0], size[1], fps=24)


def test_exception_in_block_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, 64, 48, fps=24) as writer:
            for frame in _frames(5, 64, 48):
                writer.write(frame)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_shape_raises_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with pytest.raises(ValueError, match="64x48"), VideoWriter(path, 48, 64, fps=24) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_file_appears_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 64, 48, fps=24) as writer:
        writer.write(_frames(1, 64, 48)[0])
        assert not path.exists()
    assert path.exists()


@pytest.mark.parametrize(
    ("size", "short_side", "expected"),
    [
        ((640, 400), 360, (576, 360)),
        ((400, 640), 360, (360, 576)),
        ((1000, 1000), 720, (720, 720)),
        ((1919, 1080), 720, (1280, 720)),
        ((4032, 3024), 1080, (1440, 1080)),
        ((500, 333), 301, (452, 302)),
    ],
)
def test_even_size_for(size: tuple[int, int], short_side: int, expected: tuple[int, int]) -> None:
    width, height = even_size_for(*size, short_side)
    assert (width, height) == expected
    assert width % 2 == 0 and height % 2 == 0
    assert abs(width / height - size[0] / size[1]) < 0.01


def _zooming_shapes(count: int, width: int, height: int) -> list[np.ndarray]:
    """A push-in over random shapes on a gradient: content that exercises x264's lookahead."""
    rng = np.random.default_rng(100)
    ramp = np.linspace(0, 1, width)[None, :, None]
    base = (rng.integers(0, 256, 3) * (1 - ramp) + rng.integers(0, 256, 3) * ramp).astype(np.uint8)
    base = np.ascontiguousarray(base.repeat(height, axis=0))
    for _ in range(70):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y, r = (
            int(rng.integers(0, width)),
            int(rng.integers(0, height)),
            int(rng.integers(6, 50)),
        )
        if rng.integers(0, 2):
            cv2.circle(base, (x, y), r, colour, -1)
        else:
            points = (rng.integers(-r, r, (5, 2)) + [x, y]).astype(np.int32)
            cv2.fillPoly(base, [points], colour)
    frames = []
    for i in range(count):
        zoom = 1 + 0.15 * i / (count - 1)
        matrix = np.array([[1 / zoom, 0, 0], [0, 1 / zoom, 0]], np.float32)
        frames.append(cv2.warpAffine(base, matrix, (width, height), flags=cv2.INTER_LINEAR))
    return frames


def test_same_frames_give_the_same_bytes(tmp_path: Path) -> None:
    # 480 px = 30 macroblocks: a width at which x264's mbtree is not reproducible on AVX-512.
    frames = _zooming_shapes(24, 480, 360)
    outputs = set()
    for attempt in range(6):
        path = tmp_path / f"clip{attempt}.mp4"
        with VideoWriter(path, 480, 360, fps=24) as writer:
            for frame in frames:
                writer.write(frame)
        outputs.add(path.read_bytes())
    assert len(outputs) == 1
