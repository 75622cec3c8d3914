"""VideoWriter: real H.264 files, decoded back with PyAV."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from openreel.media.video import VideoWriter, Yuv420, even_size_for, rgb_to_yuv444


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


def test_encode_streams_an_iterable_in_order_and_reports_each_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    source = _frames(12, 96, 64)
    seen: list[int] = []
    with VideoWriter(path, 96, 64, fps=12) as writer:
        writer.encode(iter(source), seen.append)

    assert seen == list(range(1, 13))
    decoded, _ = _decode(path)
    assert len(decoded) == 12
    # Order kept: each decoded frame is closest to its own source frame.
    for index, got in enumerate(decoded):
        errors = [np.abs(got.astype(np.int16) - want).mean() for want in source]
        assert int(np.argmin(errors)) == index


def test_encode_reraises_the_frame_source_error_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"

    def frames() -> Iterator[np.ndarray]:
        yield from _frames(3, 64, 64)
        raise RuntimeError("render failed at frame 4")

    with pytest.raises(RuntimeError, match="frame 4"), VideoWriter(path, 64, 64, fps=24) as writer:
        writer.encode(frames())
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_encode_stops_the_frame_source_when_encoding_fails(tmp_path: Path) -> None:
    produced: list[int] = []

    def frames() -> Iterator[np.ndarray]:
        for index in range(200):
            frame = np.full((64, 64, 3), index % 256, np.uint8)
            produced.append(index)
            yield frame

    def fail(done: int) -> None:
        if done == 2:
            raise KeyboardInterrupt  # e.g. a cancelled task

    with pytest.raises(KeyboardInterrupt), VideoWriter(tmp_path / "c.mp4", 64, 64, 24) as writer:
        writer.encode(frames(), fail)
    # The helper thread rendered at most a few frames ahead, then stopped.
    assert len(produced) < 12
    assert list(tmp_path.iterdir()) == []


def test_yuv_planes_encode_like_the_same_picture_in_rgb(tmp_path: Path) -> None:
    rgb = _frames(4, 96, 64)
    planes = []
    for frame in rgb:
        yuv = rgb_to_yuv444(frame)
        u, v = (cv2.resize(yuv[:, :, i], (48, 32), interpolation=cv2.INTER_AREA) for i in (1, 2))
        planes.append(Yuv420(np.ascontiguousarray(yuv[:, :, 0]), u, v))
    with VideoWriter(tmp_path / "planes.mp4", 96, 64, fps=12) as writer:
        writer.encode(planes)

    decoded, stream = _decode(tmp_path / "planes.mp4")
    assert len(decoded) == 4
    assert stream.codec_context.color_range == 1  # limited ("TV") range, as tagged
    for got, want in zip(decoded, rgb, strict=True):
        assert np.abs(got.astype(np.int16) - want).mean() < 6


def test_yuv_planes_of_the_wrong_size_are_refused(tmp_path: Path) -> None:
    frame = Yuv420(np.zeros((64, 96), np.uint8), *[np.zeros((64, 96), np.uint8)] * 2)
    with (
        pytest.raises(ValueError, match="32x48 chroma"),
        VideoWriter(tmp_path / "x.mp4", 96, 64, fps=12) as writer,
    ):
        writer.encode([frame])
    assert list(tmp_path.iterdir()) == []
