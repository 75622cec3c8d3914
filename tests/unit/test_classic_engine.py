"""ClassicEngine end to end: real inputs on disk, real MP4/PNG outputs decoded and measured."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from openreel.engines.base import (
    EngineError,
    Feature,
    ImageSpec,
    RenderJob,
    TaskKind,
    VideoSpec,
)
from openreel.engines.classic import ClassicEngine
from openreel.engines.classic.camera import camera_move_for
from openreel.engines.classic.cutout import cut_out
from tests.support.classic import Run, decode, run, save, video_job
from tests.support.helpers import shapes_image
from tests.support.matching import find

# ---------------------------------------------------------------------------- helpers


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return float(10 * np.log10(255.0**2 / max(mse, 1e-6)))


# ---------------------------------------------------------------------------- engine


def test_declares_what_it_serves() -> None:
    engine = ClassicEngine()
    assert engine.name == "classic"
    assert engine.capabilities.kinds == {
        TaskKind.IMAGE2VIDEO,
        TaskKind.TEXT2VIDEO,  # a test card: a placeholder, not a generation
        TaskKind.MULTI_IMAGE2VIDEO,
        TaskKind.MULTI_IMAGE2IMAGE,
        TaskKind.IMAGE_GENERATION,  # test cards, and the reference composited onto one
    }
    assert engine.capabilities.features == {
        Feature.WATERMARK,
        Feature.IMAGE_REFERENCE,
        Feature.SCENE_IMAGE,
        Feature.STYLE_IMAGE,
        Feature.IMAGE_TAIL,
        Feature.TAIL_ONLY,
        Feature.STATIC_MASK,
        Feature.DYNAMIC_MASKS,
        Feature.CAMERA_CONTROL,
    }
    assert engine.capabilities.advisory == {"cfg_scale", "negative_prompt", "human_fidelity"}


def test_undecodable_image_is_an_engine_error(tmp_path: Path) -> None:
    bad = tmp_path / "image.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 20)
    job = video_job(tmp_path / "out", TaskKind.IMAGE2VIDEO, {"image": bad}, VideoSpec(360, 8, 1))
    with pytest.raises(EngineError, match="image could not be decoded"):
        run(job)
    assert list((tmp_path / "out").iterdir()) == []


# ---------------------------------------------------------------------------- image2video

I2V_SPEC = VideoSpec(short_side=360, fps=24, seconds=5)


@pytest.fixture(scope="module")
def i2v_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    image = shapes_image(1, 640, 400)
    return image, save(tmp_path_factory.mktemp("i2v") / "input.png", image)


@pytest.fixture(scope="module")
def i2v_runs(
    tmp_path_factory: pytest.TempPathFactory, i2v_source: tuple[np.ndarray, Path]
) -> list[tuple[Run, list[np.ndarray], Fraction]]:
    results = []
    for attempt in range(2):
        out = tmp_path_factory.mktemp(f"i2v-out-{attempt}")
        job = video_job(
            out, TaskKind.IMAGE2VIDEO, {"image": i2v_source[1]}, I2V_SPEC, prompt="a cat"
        )
        result = run(job)
        frames, rate = decode(result.output.files[0].path)
        results.append((result, frames, rate))
    return results


def test_image2video_output_geometry(
    i2v_runs: list[tuple[Run, list[np.ndarray], Fraction]],
) -> None:
    result, frames, rate = i2v_runs[0]
    [file] = result.output.files
    assert file.path.name == "video.mp4"
    assert file.content_type == "video/mp4"
    assert file.duration == "5"
    assert len(frames) == 120
    assert rate == 24
    assert frames[0].shape == (360, 576, 3)


def test_image2video_starts_on_the_input_and_moves(
    i2v_source: tuple[np.ndarray, Path],
    i2v_runs: list[tuple[Run, list[np.ndarray], Fraction]],
) -> None:
    _, frames, _ = i2v_runs[0]
    expected = cv2.resize(i2v_source[0], (576, 360), interpolation=cv2.INTER_AREA)
    assert psnr(frames[0], expected) > 25
    assert psnr(frames[-1], expected) < 22  # the camera pushed in
    # Smooth motion: consecutive frames are close, and the move eases in and out.
    steps = [
        np.abs(b.astype(np.int16) - a).mean() for a, b in zip(frames[:-1], frames[1:], strict=True)
    ]
    assert max(steps) < 12
    assert steps[0] < steps[len(steps) // 2] and steps[-1] < steps[len(steps) // 2]


def test_image2video_reports_progress_per_frame(
    i2v_runs: list[tuple[Run, list[np.ndarray], Fraction]],
) -> None:
    progress = i2v_runs[0][0].progress
    assert len(progress) >= 120
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert all(0.0 <= p <= 1.0 for p in progress)


def test_image2video_is_deterministic(
    i2v_runs: list[tuple[Run, list[np.ndarray], Fraction]],
) -> None:
    (_, first, _), (_, second, _) = i2v_runs
    assert len(first) == len(second)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def render_prompt(tmp_path: Path, source: Path, prompt: str) -> list[np.ndarray]:
    """A 1 s, 6 fps, 360p image2video render of ``source`` for ``prompt``; decoded frames."""
    job = video_job(
        tmp_path, TaskKind.IMAGE2VIDEO, {"image": source}, VideoSpec(360, 6, 1), prompt=prompt
    )
    frames, _ = decode(run(job).output.files[0].path)
    return frames


@pytest.mark.parametrize(
    ("prompt", "direction"),
    [("the camera pans left", (1, 0)), ("slow pan right", (-1, 0)), ("tilt up", (0, 1))],
)
def test_image2video_prompt_picks_the_pan(
    tmp_path: Path, i2v_source: tuple[np.ndarray, Path], prompt: str, direction: tuple[int, int]
) -> None:
    frames = render_prompt(tmp_path, i2v_source[1], prompt)
    first, last = (
        cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (frames[0], frames[-1])
    )
    (dx, dy), _ = cv2.phaseCorrelate(first, last)
    # Panning left means the view travels left, so the picture content slides right.
    assert dx * direction[0] > 10 or direction[0] == 0
    assert dy * direction[1] > 10 or direction[1] == 0
    assert abs(dx) < 3 or direction[0] != 0
    assert abs(dy) < 3 or direction[1] != 0


def test_image2video_zoom_out_ends_on_the_whole_image(
    tmp_path: Path, i2v_source: tuple[np.ndarray, Path]
) -> None:
    frames = render_prompt(tmp_path, i2v_source[1], "Zoom out slowly")
    expected = cv2.resize(i2v_source[0], (576, 360), interpolation=cv2.INTER_AREA)
    assert psnr(frames[-1], expected) > 25
    assert psnr(frames[0], expected) < 22


@pytest.mark.parametrize(
    ("prompt", "move"),
    [
        ("a cat on a sofa", "push_in"),
        ("", "push_in"),
        ("Zoom out to reveal the city", "zoom_out"),
        ("the camera pulls back", "zoom_out"),
        ("camera pans to the left", "pan_left"),
        ("slow pan right over the hills", "pan_right"),
        ("tilt up to the sky", "tilt_up"),
        ("tilting down", "tilt_down"),
        ("push in, then pan left", "push_in"),  # the first camera instruction wins
        ("镜头左摇", "pan_left"),
    ],
)
def test_prompt_keywords_pick_the_camera_move(prompt: str, move: str) -> None:
    assert camera_move_for(prompt).name == move


# ---------------------------------------------------------------------------- multi_image2video

REFERENCE_SIZES = [(480, 360), (360, 480), (420, 420)]


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, Path]]:
    folder = tmp_path_factory.mktemp("refs")
    refs = []
    for index, (w, h) in enumerate(REFERENCE_SIZES):
        image = shapes_image(100 + index, w, h)
        refs.append((image, save(folder / f"ref{index}.png", image)))
    return refs


def elements_job(
    out: Path, refs: list[tuple[np.ndarray, Path]], spec: VideoSpec, **params: Any
) -> RenderJob:
    images = {f"image_list[{i}].image": path for i, (_, path) in enumerate(refs)}
    return video_job(out, TaskKind.MULTI_IMAGE2VIDEO, images, spec, prompt="they play", **params)


def test_multi_image2video_shows_every_reference(
    tmp_path: Path, references: list[tuple[np.ndarray, Path]]
) -> None:
    result = run(elements_job(tmp_path, references, VideoSpec(360, 8, 2), aspect_ratio="16:9"))
    [file] = result.output.files
    assert (file.path.name, file.content_type, file.duration) == ("video.mp4", "video/mp4", "2")
    frames, rate = decode(file.path)
    assert len(frames) == 16 and rate == 8
    assert frames[0].shape == (360, 640, 3)
    assert result.progress[-1] == 1.0 and len(result.progress) >= 16

    boxes = []
    for image, _ in references:
        inliers, corners = find(image, frames[8])
        assert inliers >= 15
        assert corners is not None
        x0, y0 = corners.min(axis=0)
        x1, y1 = corners.max(axis=0)
        assert min(x1 - x0, y1 - y0) >= 0.28 * 360  # a clearly visible card
        assert x0 > -2 and y0 > -2 and x1 < 642 and y1 < 362  # fully inside the frame
        boxes.append((x0, y0, x1, y1))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_w <= 4 or overlap_h <= 4  # cards do not overlap

    # Each card moves on its own between two frames.
    _, early = find(references[0][0], frames[2])
    _, late = find(references[0][0], frames[14])
    assert early is not None and late is not None
    assert np.abs(early - late).max() > 1.5


def test_multi_image2video_portrait(
    tmp_path: Path, references: list[tuple[np.ndarray, Path]]
) -> None:
    result = run(elements_job(tmp_path, references[:2], VideoSpec(360, 4, 1), aspect_ratio="9:16"))
    frames, _ = decode(result.output.files[0].path)
    assert len(frames) == 4
    assert frames[0].shape == (640, 360, 3)


def test_multi_image2video_is_deterministic(
    tmp_path: Path, references: list[tuple[np.ndarray, Path]]
) -> None:
    spec = VideoSpec(360, 4, 1)
    a, _ = decode(
        run(elements_job(tmp_path / "a", references, spec, aspect_ratio="1:1")).output.files[0].path
    )
    b, _ = decode(
        run(elements_job(tmp_path / "b", references, spec, aspect_ratio="1:1")).output.files[0].path
    )
    assert a[0].shape == (360, 360, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_multi_image2video_rejects_unknown_aspect(
    tmp_path: Path, references: list[tuple[np.ndarray, Path]]
) -> None:
    with pytest.raises(EngineError, match="aspect_ratio"):
        run(elements_job(tmp_path, references, VideoSpec(360, 4, 1), aspect_ratio="4:3"))


# ---------------------------------------------------------------------------- multi_image2image

CANVAS = (1360, 765)


def subject_on_white(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured ellipse on a flat near-white studio background, and its true mask."""
    image = np.full((500, 400, 3), 248, np.uint8)
    mask = np.zeros((500, 400), np.uint8)
    cv2.ellipse(mask, (200, 260), (150, 200), 0, 0, 360, 255, -1)
    image[mask > 0] = shapes_image(seed, 400, 500)[mask > 0]
    return image, mask


def star_rgba(seed: int) -> np.ndarray:
    alpha = np.zeros((450, 450), np.uint8)
    angles = np.linspace(0, 2 * np.pi, 11)[:-1] - np.pi / 2
    radii = np.array([210, 90] * 5)
    points = np.stack([225 + radii * np.cos(angles), 225 + radii * np.sin(angles)], axis=1)
    cv2.fillPoly(alpha, [points.astype(np.int32)], 255)
    return np.dstack([shapes_image(seed, 450, 450), alpha])


def scene(width: int = 1600, height: int = 900) -> np.ndarray:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = (
        np.array([120, 170, 235], np.float32) * (1 - t) + np.array([215, 228, 245], np.float32) * t
    )
    ground = np.array([70, 125, 60], np.float32) * (1 + 0.3 * t)
    image = np.where(t < 0.6, sky, ground)
    return np.broadcast_to(image, (height, width, 3)).astype(np.uint8).copy()


@pytest.fixture(scope="module")
def compose_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compose")
    rng = np.random.default_rng(3)
    style = np.clip(np.array([210, 120, 40]) + rng.normal(0, 18, (320, 320, 3)), 0, 255)
    return {
        "subject_image_list[0].subject_image": save(folder / "s0.jpg", subject_on_white(11)[0]),
        "subject_image_list[1].subject_image": save(folder / "s1.png", star_rgba(12)),
        "scene_image": save(folder / "scene.jpg", scene()),
        "style_image": save(folder / "style.png", style.astype(np.uint8)),
    }


def compose_job(out: Path, images: dict[str, Path], count: int, seed: int = 5) -> RenderJob:
    spec = ImageSpec(CANVAS[0], CANVAS[1], count)
    return RenderJob(
        "task", TaskKind.MULTI_IMAGE2IMAGE, "kling-v2", {"n": count}, images, out, seed, image=spec
    )


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_multi_image2image_makes_n_different_images(
    tmp_path: Path, compose_inputs: dict[str, Path]
) -> None:
    images = {k: v for k, v in compose_inputs.items() if k != "style_image"}
    result = run(compose_job(tmp_path, images, 3))
    assert [f.path.name for f in result.output.files] == [
        "image_0.png",
        "image_1.png",
        "image_2.png",
    ]
    assert all(f.content_type == "image/png" for f in result.output.files)
    assert result.progress == sorted(result.progress) and result.progress[-1] == 1.0
    outputs = [load(f.path) for f in result.output.files]
    for image in outputs:
        assert image.shape == (CANVAS[1], CANVAS[0], 3)
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(outputs[i].astype(np.int16) - outputs[j]).mean() > 4

    # The scene is the background: the top strip (above every subject) is the scene's own.
    background = cv2.resize(scene(), CANVAS, interpolation=cv2.INTER_AREA)
    assert np.abs(outputs[0][:30].astype(np.int16) - background[:30]).mean() < 3
    # Both subjects are in the picture, recognisable.
    for field in ("subject_image_list[0].subject_image", "subject_image_list[1].subject_image"):
        reference = np.asarray(Image.open(field_path := images[field]).convert("RGB"))
        inliers, _ = find(reference, outputs[0])
        assert inliers >= 15, field_path


def test_multi_image2image_is_deterministic(
    tmp_path: Path, compose_inputs: dict[str, Path]
) -> None:
    a = run(compose_job(tmp_path / "a", compose_inputs, 1)).output.files[0].path
    b = run(compose_job(tmp_path / "b", compose_inputs, 1)).output.files[0].path
    assert np.array_equal(load(a), load(b))


def test_multi_image2image_style_moves_colours_towards_style(
    tmp_path: Path, compose_inputs: dict[str, Path]
) -> None:
    plain_inputs = {k: v for k, v in compose_inputs.items() if k != "style_image"}
    plain = load(run(compose_job(tmp_path / "plain", plain_inputs, 1)).output.files[0].path)
    styled = load(run(compose_job(tmp_path / "styled", compose_inputs, 1)).output.files[0].path)
    style = load(compose_inputs["style_image"])

    def lab_mean(image: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
        mean: np.ndarray = lab.reshape(-1, 3).mean(axis=0)
        return mean

    before = np.linalg.norm(lab_mean(plain) - lab_mean(style))
    after = np.linalg.norm(lab_mean(styled) - lab_mean(style))
    assert after < 0.5 * before


def test_multi_image2image_without_scene_uses_a_gradient(
    tmp_path: Path, compose_inputs: dict[str, Path]
) -> None:
    images = {k: v for k, v in compose_inputs.items() if k.startswith("subject_image_list")}
    [file] = run(compose_job(tmp_path, images, 1)).output.files
    image = load(file.path)
    assert image.shape == (CANVAS[1], CANVAS[0], 3)
    top, bottom = image[:20].reshape(-1, 3).mean(axis=0), image[-20:].reshape(-1, 3).mean(axis=0)
    assert np.abs(top - bottom).sum() > 30  # a real gradient, not a flat fill


# ---------------------------------------------------------------------------- cut-outs


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


def test_cutout_keys_a_uniform_border() -> None:
    image, mask = subject_on_white(21)
    cut = cut_out(image, None, seed=0)
    assert cut.method == "key"
    solid = cut.alpha > 127
    ys, xs = np.nonzero(solid)
    assert (
        abs(int(np.ptp(ys)) - 400) <= 4 and abs(int(np.ptp(xs)) - 300) <= 4
    )  # the ellipse's extent
    assert abs(int(solid.sum()) / int((mask > 0).sum()) - 1) < 0.03
    assert cut.alpha[0, 0] == 0 and cut.alpha[solid.shape[0] // 2, solid.shape[1] // 2] == 255


def test_cutout_uses_the_alpha_channel() -> None:
    rgba = star_rgba(22)
    cut = cut_out(np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3]), seed=0)
    assert cut.method == "alpha"
    assert (cut.alpha[cut.alpha.shape[0] // 2, cut.alpha.shape[1] // 2]) == 255
    assert cut.alpha[0, 0] == 0


def test_cutout_falls_back_to_grabcut_deterministically() -> None:
    rng = np.random.default_rng(4)
    noise = cv2.resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (400, 300))
    subject = np.zeros((300, 400), np.uint8)
    cv2.circle(subject, (200, 150), 90, 255, -1)
    image = noise.copy()
    image[subject > 0] = (230, 40, 40)
    first = cut_out(image, None, seed=9)
    second = cut_out(image, None, seed=9)
    assert first.method in {"grabcut", "ellipse"}
    assert np.array_equal(first.alpha, second.alpha)
