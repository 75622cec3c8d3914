"""Classic engine, multi-image tasks: Elements scenes and multi-image compositing.

Real inputs on disk, real MP4/PNG outputs decoded and measured (ORB + RANSAC homography to find
each reference in a frame, correlation for the scene, residual motion for independence).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from openreel.engines.base import ImageSpec, RenderJob, TaskKind, VideoSpec
from openreel.engines.classic import ClassicEngine
from openreel.engines.classic.painterly import style_features
from openreel.engines.classic.scene import Reference, analyse, pick_scene
from openreel.engines.imaging.canvas import cover_crop
from openreel.tasks.rules import image_size
from tests.support.helpers import shapes_image
from tests.support.matching import find

# ---------------------------------------------------------------------------- inputs


def star_rgba(seed: int, side: int = 400) -> np.ndarray:
    """A textured star with an alpha channel (the transparent part is textured too)."""
    alpha = np.zeros((side, side), np.uint8)
    angles = np.linspace(0, 2 * np.pi, 11)[:-1] - np.pi / 2
    radii = np.array([0.48, 0.28] * 5) * side
    points = np.stack([side / 2 + radii * np.cos(angles), side / 2 + radii * np.sin(angles)], 1)
    cv2.fillPoly(alpha, [points.astype(np.int32)], 255)
    return np.dstack([shapes_image(seed, side, side, shapes=150), alpha])


def on_flat(seed: int, noise: float = 0.0) -> np.ndarray:
    """A textured ellipse on a flat saturated studio colour."""
    image = np.full((440, 340, 3), (40, 150, 220), np.uint8)
    mask = np.zeros((440, 340), np.uint8)
    cv2.ellipse(mask, (170, 225), (145, 195), 0, 0, 360, 255, -1)
    image[mask > 0] = shapes_image(seed, 340, 440, noise)[mask > 0]
    return image


def photo_like(seed: int) -> np.ndarray:
    """A textured disc in front of a soft, slightly noisy, multicoloured background."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    soft = cv2.resize(small, (480, 360), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    background = soft // 2 + 60 + rng.normal(0, 6, soft.shape)
    image = np.clip(background, 0, 255).astype(np.uint8)
    mask = np.zeros((360, 480), np.uint8)
    cv2.ellipse(mask, (240, 190), (130, 145), 0, 0, 360, 255, -1)
    image[mask > 0] = shapes_image(seed + 1, 480, 360)[mask > 0]
    photo: np.ndarray = image
    return photo


def painting(seed: int, width: int = 480, height: int = 360) -> np.ndarray:
    """Flat warm colour cells with dark outlines: an illustration / painting stand-in."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (40, 2)) * [width, height]
    palette = np.array(
        [[230, 120, 40], [200, 60, 90], [250, 200, 80], [120, 50, 120], [240, 160, 110]]
    )
    ys, xs = np.mgrid[0:height, 0:width]
    distance = (xs[..., None] - centres[:, 0]) ** 2 + (ys[..., None] - centres[:, 1]) ** 2
    cells = distance.argmin(axis=2)
    image = palette[cells % len(palette)].astype(np.uint8)
    outline = cv2.Canny((cells * 5 % 256).astype(np.uint8), 1, 2)
    image[cv2.dilate(outline, np.ones((3, 3), np.uint8)) > 0] = (40, 20, 30)
    return np.ascontiguousarray(image)


def photo_style(seed: int) -> np.ndarray:
    """The same palette and layout, but soft and noisy like a photograph."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(painting(seed).astype(np.float32), (0, 0), 2.0)
    noisy: np.ndarray = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    return noisy


def save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


# ---------------------------------------------------------------------------- measuring


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two RGB images' blurred greyscale."""
    ga, gb = (
        cv2.GaussianBlur(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2)
        for x in (a, b)
    )
    return float(np.corrcoef(ga.ravel(), gb.ravel())[0, 1])


def fine_noise(image: np.ndarray) -> float:
    """Robust level of pixel-scale detail: median |grey - 3x3 median| (edges barely count)."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    residual = grey.astype(np.float32) - cv2.medianBlur(grey, 3).astype(np.float32)
    return float(np.mean(np.abs(residual)))


def lab_mean(image: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    mean: np.ndarray = lab.reshape(-1, 3).mean(axis=0)
    return mean


# ---------------------------------------------------------------------------- Elements


@pytest.fixture(scope="module")
def element_refs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, Path]]:
    """(RGB used to find it, file): alpha star, subject on flat colour, photo, wide scene."""
    folder = tmp_path_factory.mktemp("elements")
    star = star_rgba(1)
    return [
        (np.ascontiguousarray(star[..., :3]), save(folder / "star.png", star)),
        (on_flat(2), save(folder / "flat.png", on_flat(2))),
        (photo_like(3), save(folder / "photo.png", photo_like(3))),
        (shapes_image(4, 1200, 480), save(folder / "wide.png", shapes_image(4, 1200, 480))),
    ]


def elements_job(
    out: Path, refs: list[tuple[np.ndarray, Path]], spec: VideoSpec, **params: Any
) -> RenderJob:
    out.mkdir(parents=True, exist_ok=True)
    images = {f"image_list[{i}].image": path for i, (_, path) in enumerate(refs)}
    return RenderJob(
        "task", TaskKind.MULTI_IMAGE2VIDEO, "kling-v1-6", dict(params), images, out, 7, video=spec
    )


SPEC = VideoSpec(short_side=432, fps=8, seconds=2)
FRAME = (768, 432)


@pytest.fixture(scope="module")
def three_elements(
    tmp_path_factory: pytest.TempPathFactory, element_refs: list[tuple[np.ndarray, Path]]
) -> tuple[list[np.ndarray], list[float]]:
    progress: list[float] = []
    job = elements_job(tmp_path_factory.mktemp("e3"), element_refs[:3], SPEC, aspect_ratio="16:9")
    output = ClassicEngine().run(job, progress.append)
    return decode(output.files[0].path), progress


@pytest.fixture(scope="module")
def four_elements(
    tmp_path_factory: pytest.TempPathFactory, element_refs: list[tuple[np.ndarray, Path]]
) -> list[np.ndarray]:
    job = elements_job(tmp_path_factory.mktemp("e4"), element_refs, SPEC, aspect_ratio="16:9")
    return decode(ClassicEngine().run(job, lambda _: None).files[0].path)


def test_elements_shows_every_reference(
    three_elements: tuple[list[np.ndarray], list[float]],
    element_refs: list[tuple[np.ndarray, Path]],
) -> None:
    frames, progress = three_elements
    assert len(frames) == 16 and frames[0].shape == (FRAME[1], FRAME[0], 3)
    assert len(progress) >= 16 and progress == sorted(progress) and progress[-1] == 1.0
    for reference, path in element_refs[:3]:
        inliers, corners = find(reference, frames[8])
        assert inliers >= 15, path.name


def test_elements_reference_kinds_are_cut_out(
    element_refs: list[tuple[np.ndarray, Path]],
) -> None:
    star = star_rgba(1)
    assert analyse(star[..., :3], star[..., 3], 7).layer().method == "alpha"
    assert analyse(element_refs[1][0], None, 7).layer().method == "key"
    assert analyse(element_refs[2][0], None, 7).layer().method in {"grabcut", "frame"}
    # The wide textured picture has no compact subject: shown whole, or used as the scene.
    assert analyse(element_refs[3][0], None, 7).subject is None


def test_elements_wide_background_like_reference_becomes_the_scene(
    three_elements: tuple[list[np.ndarray], list[float]],
    four_elements: list[np.ndarray],
    element_refs: list[tuple[np.ndarray, Path]],
) -> None:
    frames = four_elements
    for reference, path in element_refs[:3]:
        inliers, _ = find(reference, frames[8])
        assert inliers >= 15, path.name
    # The top band of the frame (elements keep off it on a scene) is the scene's, cover-cropped
    # and barely pushed in; the generated backdrop of the three-reference run is not.
    expected = cover_crop(element_refs[3][0], FRAME)
    band = slice(0, 50)
    assert correlation(frames[0][band], expected[band]) > 0.8
    assert correlation(frames[8][band], expected[band]) > 0.5
    assert abs(correlation(three_elements[0][8][band], expected[band])) < 0.3


def _centres(refs: list[np.ndarray], frame: np.ndarray) -> np.ndarray:
    """Where each reference's centre is in ``frame`` (its mapped corners' diagonals meet)."""
    centres = []
    for reference in refs:
        _, corners = find(reference, frame)
        assert corners is not None
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners.astype(np.float64)
        # Solve p0 + a (p2 - p0) = p1 + b (p3 - p1): a homography maps centre to centre.
        a, _ = np.linalg.solve([[x2 - x0, x1 - x3], [y2 - y0, y1 - y3]], [x1 - x0, y1 - y0])
        centres.append((x0 + a * (x2 - x0), y0 + a * (y2 - y0)))
    return np.array(centres)


def test_elements_move_independently(
    four_elements: list[np.ndarray], element_refs: list[tuple[np.ndarray, Path]]
) -> None:
    refs = [reference for reference, _ in element_refs[:3]]
    early, late = _centres(refs, four_elements[2]), _centres(refs, four_elements[13])
    moves = late - early
    assert np.linalg.norm(moves, axis=1).min() > 1.5  # every element moves
    # A shared camera move (zoom about a point plus a shift: late = s * early + t) does not
    # explain the motion: each element follows its own path.
    rows = []
    for (x, y), _ in zip(early, moves, strict=True):
        rows += [[x, 1.0, 0.0], [y, 0.0, 1.0]]
    solution, *_ = np.linalg.lstsq(np.array(rows), late.reshape(-1), rcond=None)
    residual = np.abs(np.array(rows) @ solution - late.reshape(-1)).max()
    assert residual > 2.0
    for i, j in itertools.combinations(range(3), 2):
        assert np.linalg.norm(moves[i] - moves[j]) > 2.0


def test_scene_heuristic(element_refs: list[tuple[np.ndarray, Path]]) -> None:
    analysed = [analyse(rgb, None, 7) for rgb, _ in element_refs]
    assert pick_scene(analysed) == 3
    assert pick_scene(analysed[:3]) is None
    assert pick_scene(analysed[3:]) is None  # a lone reference is always an element
    # Same-sized photos without subjects: none is singled out as the background.
    photos = [Reference(shapes_image(50 + i, 420, 360), None) for i in range(3)]
    assert pick_scene(photos) is None
    # A much larger (not wider) subject-less picture is a background too.
    big = Reference(shapes_image(60, 900, 800), None)
    assert pick_scene([analysed[0], analysed[1], big]) == 2
    assert pick_scene([*photos, big]) == 3
    # Transparency always means a subject, however wide the picture.
    wide_rgba = np.dstack([shapes_image(61, 900, 300), np.full((300, 900), 255, np.uint8)])
    wide_rgba[:40, :, 3] = 0
    wide_subject = analyse(wide_rgba[..., :3], wide_rgba[..., 3], 7)
    assert pick_scene([analysed[0], wide_subject]) is None


@pytest.mark.parametrize(("aspect", "shape"), [("9:16", (640, 360, 3)), ("1:1", (360, 360, 3))])
def test_elements_aspect_ratios_on_a_scene(
    tmp_path: Path,
    element_refs: list[tuple[np.ndarray, Path]],
    aspect: str,
    shape: tuple[int, int, int],
) -> None:
    job = elements_job(tmp_path, element_refs, VideoSpec(360, 4, 1), aspect_ratio=aspect)
    frames = decode(ClassicEngine().run(job, lambda _: None).files[0].path)
    assert len(frames) == 4 and frames[0].shape == shape


# ---------------------------------------------------------------------------- multi-image


@pytest.fixture(scope="module")
def compose_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compose")
    scene = shapes_image(30, 1200, 700, noise=10)
    return {
        "subject_image_list[0].subject_image": save(folder / "star.png", star_rgba(31)),
        "subject_image_list[1].subject_image": save(folder / "flat.png", on_flat(32, noise=10)),
        "scene_image": save(folder / "scene.jpg", scene),
        "painting": save(folder / "painting.png", painting(33)),
        "photo": save(folder / "photo.png", photo_style(33)),
    }


def compose(
    out: Path, files: dict[str, Path], size: tuple[int, int], count: int = 1, style: str = ""
) -> list[np.ndarray]:
    out.mkdir(parents=True, exist_ok=True)
    images = {k: v for k, v in files.items() if k.startswith(("subject", "scene"))}
    if style:
        images["style_image"] = files[style]
    spec = ImageSpec(size[0], size[1], count)
    job = RenderJob(
        "task", TaskKind.MULTI_IMAGE2IMAGE, "kling-v2", {"n": count}, images, out, 5, image=spec
    )
    output = ClassicEngine().run(job, lambda _: None)
    return [np.asarray(Image.open(f.path).convert("RGB")) for f in output.files]


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"])
def test_multi_image_every_aspect_ratio_has_the_exact_size(
    tmp_path: Path, compose_files: dict[str, Path], aspect: str
) -> None:
    width, height = image_size(aspect, "1k")
    [image] = compose(tmp_path, compose_files, (width, height))
    assert image.shape == (height, width, 3)
    inliers, _ = find(star_rgba(31)[..., :3], image)
    assert inliers >= 15  # the subject is in the picture on every canvas shape


def test_multi_image_2k(tmp_path: Path, compose_files: dict[str, Path]) -> None:
    width, height = image_size("21:9", "2k")
    [image] = compose(tmp_path, compose_files, (width, height))
    assert image.shape == (height, width, 3)


def test_multi_image_variants_differ(tmp_path: Path, compose_files: dict[str, Path]) -> None:
    outputs = compose(tmp_path, compose_files, (640, 480), count=3)
    assert len(outputs) == 3
    for a, b in itertools.combinations(outputs, 2):
        assert np.abs(a.astype(np.int16) - b).mean() > 4


def test_painterly_style_detection(compose_files: dict[str, Path]) -> None:
    assert style_features(painting(33)).painterly
    assert not style_features(photo_style(33)).painterly
    assert not style_features(shapes_image(34, 400, 300, noise=10)).painterly


def test_multi_image_painterly_style(tmp_path: Path, compose_files: dict[str, Path]) -> None:
    size = (768, 512)
    [plain] = compose(tmp_path / "plain", compose_files, size)
    [painted] = compose(tmp_path / "painted", compose_files, size, style="painting")
    [photo] = compose(tmp_path / "photo", compose_files, size, style="photo")
    style = painting(33)
    # Colour statistics move towards the style image.
    before = np.linalg.norm(lab_mean(plain) - lab_mean(style))
    assert np.linalg.norm(lab_mean(painted) - lab_mean(style)) < 0.5 * before
    # The painterly finish removes fine detail; a photo-like style (same palette) keeps it.
    assert fine_noise(painted) < 0.6 * fine_noise(photo)
    assert fine_noise(photo) > 0.6 * fine_noise(plain)
