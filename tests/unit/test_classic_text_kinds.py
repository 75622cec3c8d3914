"""Classic engine, text kinds: the text2video test card clip and the images/generations test
cards (with and without a reference), decoded and measured; text fitting; the watermark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from openreel.engines.base import ImageSpec, OutputFile, RenderJob, TaskKind, VideoSpec
from openreel.engines.imaging.text import fit_text
from openreel.engines.imaging.watermark import Watermark, watermark_box, watermark_outputs
from tests.support.classic import decode, run, save

SPEC = VideoSpec(short_side=144, fps=8, seconds=2)
PROMPT = "A red fox runs through the snowy woods at dawn"


def t2v(out: Path, seed: int = 7, spec: VideoSpec = SPEC, **params: Any) -> RenderJob:
    body = {"prompt": PROMPT, "aspect_ratio": "16:9", **params}
    return RenderJob("task", TaskKind.TEXT2VIDEO, "kling-v1", body, {}, out, seed, video=spec)


def t2i(
    out: Path,
    spec: ImageSpec,
    images: dict[str, Path] | None = None,
    seed: int = 7,
    **params: Any,
) -> RenderJob:
    body = {"prompt": PROMPT, **params}
    return RenderJob(
        "task", TaskKind.IMAGE_GENERATION, "kling-v1", body, images or {}, out, seed, image=spec
    )


def frames_of(job: RenderJob) -> list[np.ndarray]:
    assert job.video is not None
    output = run(job).output
    assert len(output.files) == 1 and output.files[0].content_type == "video/mp4"
    assert output.files[0].duration == str(job.video.seconds)
    frames, rate = decode(output.files[0].path)
    assert rate == job.video.fps
    return frames


def pngs(paths: list[Path]) -> list[np.ndarray]:
    return [np.asarray(Image.open(path).convert("RGB")) for path in paths]


def paths(files: list[OutputFile], watermarked: bool = False) -> list[Path]:
    found = [f.watermark_path if watermarked else f.path for f in files]
    assert all(path is not None and path.is_file() for path in found)
    return [path for path in found if path is not None]


# ------------------------------------------------------------------------------ text2video


@pytest.mark.parametrize(
    ("aspect", "size"), [("16:9", (256, 144)), ("9:16", (144, 256)), ("1:1", (144, 144))]
)
def test_text2video_frame_count_and_size_follow_the_spec(
    tmp_path: Path, aspect: str, size: tuple[int, int]
) -> None:
    frames = frames_of(t2v(tmp_path, aspect_ratio=aspect))
    assert len(frames) == SPEC.fps * SPEC.seconds
    assert {(f.shape[1], f.shape[0]) for f in frames} == {size}


def test_text2video_frames_change_and_repeat_for_the_same_seed(tmp_path: Path) -> None:
    first = frames_of(t2v(tmp_path / "a"))
    again = frames_of(t2v(tmp_path / "b"))
    other = frames_of(t2v(tmp_path / "c", seed=8))
    # Every frame differs from the one before (moving backdrop, camera, time code).
    for before, after in zip(first, first[1:], strict=False):
        assert np.abs(before.astype(int) - after.astype(int)).mean() > 0.3
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert np.abs(first[0].astype(int) - other[0].astype(int)).mean() > 5


def _shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Global translation from ``a`` to ``b`` (phase correlation on the grey frames)."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (a, b)]
    window = cv2.createHanningWindow((a.shape[1], a.shape[0]), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(grey[0], grey[1], window)
    return dx, dy


@pytest.mark.parametrize("value", [10, -10])
def test_text2video_camera_control_moves_the_card(tmp_path: Path, value: int) -> None:
    control = {"type": "simple", "config": {"horizontal": value}}
    frames = frames_of(t2v(tmp_path, prompt="CAMERA TEST " * 4, camera_control=control))
    dx, dy = _shift(frames[0], frames[-1])
    width = frames[0].shape[1]
    # Camera right (+) -> the picture slides left; 18 % of the frame at |value| = 10.
    assert -np.sign(value) * dx > 0.1 * width, (dx, dy)
    assert abs(dy) < 0.05 * frames[0].shape[0]


def test_text2video_prompt_camera_move_without_camera_control(tmp_path: Path) -> None:
    left = frames_of(t2v(tmp_path / "l", prompt="pan left over the words"))
    right = frames_of(t2v(tmp_path / "r", prompt="pan right over the words"))
    # The view travels left: the picture slides right, and the other way round.
    assert _shift(left[0], left[-1])[0] > 2
    assert _shift(right[0], right[-1])[0] < -2


def test_text2video_long_and_non_latin_prompts_render(tmp_path: Path) -> None:
    prompt = "猫が雪の中を走る。" * 40 + " Привет мир مرحبا " + "word " * 400 + "😀\n\tend"
    frames = frames_of(t2v(tmp_path, prompt=prompt[:2500]))
    assert len(frames) == SPEC.frame_count


# ---------------------------------------------------------------------------- text fitting


def test_fit_text_wraps_within_the_box_and_shrinks_long_text() -> None:
    short = fit_text("a short prompt", (400, 200), max_size=60, min_size=8)
    long = fit_text("many words here " * 60, (400, 200), max_size=60, min_size=8)
    assert short.size > long.size
    for block in (short, long):
        assert block.height <= 200
        assert all(block.font.getlength(line) <= 400 for line in block.lines)


def test_fit_text_breaks_text_without_spaces_and_cuts_with_an_ellipsis() -> None:
    cjk = fit_text("雪" * 200, (300, 400), max_size=40, min_size=20)
    assert len(cjk.lines) > 1 and all(cjk.font.getlength(line) <= 300 for line in cjk.lines)
    cut = fit_text("word " * 2000, (200, 60), max_size=30, min_size=12)
    assert cut.height <= 60 and cut.lines[-1].endswith("…")


# ------------------------------------------------------------------------ images/generations


def test_text_to_image_renders_n_distinct_repeatable_cards(tmp_path: Path) -> None:
    spec = ImageSpec(width=320, height=180, count=3)
    first = pngs(paths(run(t2i(tmp_path / "a", spec)).output.files))
    again = pngs(paths(run(t2i(tmp_path / "b", spec)).output.files))
    assert len(first) == 3
    assert all(image.shape == (180, 320, 3) for image in first)
    assert len({image.tobytes() for image in first}) == 3
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize(("width", "height"), [(180, 320), (240, 240), (420, 180)])
def test_text_to_image_size_follows_the_aspect_ratio(
    tmp_path: Path, width: int, height: int
) -> None:
    [image] = pngs(paths(run(t2i(tmp_path, ImageSpec(width, height, 1))).output.files))
    assert image.shape == (height, width, 3)


def _red_disc(path: Path) -> Path:
    """A saturated red disc on a flat white studio background (keyed out as the subject)."""
    image = np.full((600, 600, 3), 255, np.uint8)
    cv2.circle(image, (300, 320), 170, (220, 20, 20), -1)
    return save(path, image)


def _red_share(image: np.ndarray) -> float:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return float(np.mean((r > 170) & (g < 70) & (b < 70)))


@pytest.mark.parametrize("reference", ["subject", "face", None])
def test_image_to_image_places_the_reference_on_the_card(
    tmp_path: Path, reference: str | None
) -> None:
    spec = ImageSpec(width=480, height=270, count=2)
    params: dict[str, Any] = {"image_fidelity": 1.0}
    if reference:
        params["image_reference"] = reference
    images = {"image": _red_disc(tmp_path / "ref.png")}
    composed = pngs(paths(run(t2i(tmp_path / "out", spec, images, **params)).output.files))
    plain = pngs(paths(run(t2i(tmp_path / "plain", spec)).output.files))
    assert len(composed) == 2 and all(image.shape == (270, 480, 3) for image in composed)
    assert composed[0].tobytes() != composed[1].tobytes()
    for image in composed:
        top = round(0.24 * 270)
        assert _red_share(image[top:]) > 0.04  # the reference, below the caption panel
        assert _red_share(image[: top - 4]) < 0.01
    assert _red_share(plain[0]) < 0.01
    if reference == "subject":
        # A cut-out: the white studio background is gone.
        assert np.mean(np.all(composed[0] > 245, axis=2)) < 0.01


# ------------------------------------------------------------------------------- watermark


def test_watermark_changes_only_its_box_on_a_picture() -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    marked = Watermark((640, 360)).apply(picture)
    box = watermark_box((640, 360))
    inside = np.zeros((360, 640), bool)
    inside[box.y : box.y + box.h, box.x : box.x + box.w] = True
    assert box.x + box.w <= 640 and box.y + box.h <= 360 and box.x > 320 and box.y > 180
    assert np.array_equal(marked[~inside], picture[~inside])
    assert np.abs(marked[inside].astype(int) - picture[inside].astype(int)).mean() > 20


def test_watermarked_engine_outputs_are_copies_with_the_badge(tmp_path: Path) -> None:
    video = run(RenderJob(**{**vars(t2v(tmp_path / "v")), "watermark": True})).output.files
    spec = ImageSpec(width=320, height=180, count=2)
    images = run(RenderJob(**{**vars(t2i(tmp_path / "i", spec)), "watermark": True})).output.files
    clean, marked = pngs(paths(images)), pngs(paths(images, watermarked=True))
    box = watermark_box((320, 180))
    inside = np.zeros((180, 320), bool)
    inside[box.y : box.y + box.h, box.x : box.x + box.w] = True
    for a, b in zip(clean, marked, strict=True):
        assert np.array_equal(a[~inside], b[~inside])
        assert np.abs(a[inside].astype(int) - b[inside].astype(int)).mean() > 10

    plain, _ = decode(paths(video)[0])
    badged, _ = decode(paths(video, watermarked=True)[0])
    assert len(plain) == len(badged) == SPEC.frame_count
    box = watermark_box((256, 144))
    inside = np.zeros((144, 256), bool)
    inside[box.y : box.y + box.h, box.x : box.x + box.w] = True
    for a, b in zip(plain, badged, strict=True):
        diff = np.abs(a.astype(int) - b.astype(int)).mean(axis=2)
        assert diff[inside].mean() > 10 > 2 > diff[~inside].mean()


def test_watermark_outputs_refuses_a_file_it_cannot_mark(tmp_path: Path) -> None:
    odd = tmp_path / "result.bin"
    odd.write_bytes(b"x")
    with pytest.raises(Exception, match="cannot watermark"):
        watermark_outputs([OutputFile(odd, "application/octet-stream")])
