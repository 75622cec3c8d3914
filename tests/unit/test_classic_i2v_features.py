"""Classic image2video controls end to end: image_tail morphs, static/dynamic masks and
camera_control, each rendered to H.264, decoded and measured."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from openreel.engines.base import Feature, RenderJob, TaskKind, VideoSpec
from openreel.engines.classic import ClassicEngine
from openreel.engines.classic.morph import TailMorph
from openreel.engines.imaging.canvas import cover_crop
from openreel.engines.imaging.motion_brush import parse_trajectory, resample_path

OUT = (576, 360)  # output of a 640x400 input at short side 360


def textured(seed: int, width: int, height: int) -> np.ndarray:
    """A gradient covered in random coloured shapes: plenty of corners, never flat."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    image = np.ascontiguousarray((c0 * (1 - t) + c1 * t).astype(np.uint8).repeat(height, axis=0))
    for _ in range(90):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(6, max(7, min(width, height) // 7)))
        if rng.integers(0, 2):
            cv2.circle(image, (x, y), size, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + size, y + int(rng.integers(6, 50))), colour, -1)
    # Photo-like edges: H.264's 4:2:0 chroma cannot hold 1-px saturated colour steps.
    return cv2.GaussianBlur(image, (0, 0), 1.0)


def save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


def render(
    out: Path, images: dict[str, Path], spec: VideoSpec, **params: Any
) -> tuple[list[np.ndarray], list[float]]:
    out.mkdir(parents=True, exist_ok=True)
    job = RenderJob("task", TaskKind.IMAGE2VIDEO, "kling-v1", dict(params), images, out, 7, spec)
    calls: list[float] = []
    result = ClassicEngine().run(job, calls.append)
    with av.open(str(result.files[0].path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == spec.frame_count
    return frames, calls


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return float(10 * np.log10(255.0**2 / max(mse, 1e-6)))


def fit(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, OUT, interpolation=cv2.INTER_AREA)


def similarity(early: np.ndarray, late: np.ndarray) -> tuple[float, float, float, float]:
    """How the picture moved from ``early`` to ``late``: (scale, angle in degrees, positive =
    clockwise on screen, dx, dy of the early frame's centre), by ORB + RANSAC."""
    orb = cv2.ORB.create(nfeatures=3000)
    g0, g1 = (cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (early, late))
    k0, d0 = orb.detectAndCompute(g0, None)
    k1, d1 = orb.detectAndCompute(g1, None)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d0, d1, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    src = np.array([k0[m.queryIdx].pt for m in good], np.float32)
    dst = np.array([k1[m.trainIdx].pt for m in good], np.float32)
    matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC)
    assert matrix is not None and int(inliers.sum()) >= 20
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    angle = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    h, w = early.shape[:2]
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    moved = matrix[:, :2] @ centre + matrix[:, 2] - centre
    return scale, angle, float(moved[0]), float(moved[1])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    image = textured(1, 640, 400)
    return image, save(tmp_path_factory.mktemp("src") / "image.png", image)


def test_declares_the_controls() -> None:
    features = ClassicEngine().capabilities.features
    assert {
        Feature.IMAGE_TAIL,
        Feature.TAIL_ONLY,
        Feature.STATIC_MASK,
        Feature.DYNAMIC_MASKS,
        Feature.CAMERA_CONTROL,
    } <= features


# ---------------------------------------------------------------------------- image_tail


def test_tail_morph_related_pair(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    image, path = source
    # Same scene, camera moved: zoomed 1.08x about a point and shifted.
    matrix = cv2.getRotationMatrix2D((300.0, 180.0), 0.0, 1.08)
    matrix[:, 2] += np.array([24.0, -14.0])
    tail = cv2.warpAffine(image, matrix, (640, 400), borderMode=cv2.BORDER_REFLECT)
    tail_path = save(tmp_path / "tail.png", tail)
    assert TailMorph(fit(image), fit(tail)).related
    frames, progress = render(
        tmp_path / "out", {"image": path, "image_tail": tail_path}, VideoSpec(360, 12, 2)
    )
    assert psnr(frames[0], fit(image)) >= 30
    assert psnr(frames[-1], fit(tail)) >= 30
    # The middle is a warp, not a double exposure: it is sharper than the 50/50 blend would be,
    # i.e. closer to the halfway geometry than the plain cross-fade of the two ends.
    middle = frames[len(frames) // 2]
    fade = cv2.addWeighted(fit(image), 0.5, fit(tail), 0.5, 0.0)
    sharp = cv2.Laplacian(cv2.cvtColor(middle, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var()
    blurry = cv2.Laplacian(cv2.cvtColor(fade, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var()
    assert sharp > 1.3 * blurry
    assert progress[-1] == 1.0 and len(progress) >= len(frames)


def test_tail_unrelated_pair_dissolves(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    image, path = source
    tail = textured(99, 500, 500)  # another picture, another aspect ratio
    tail_path = save(tmp_path / "tail.png", tail)
    assert not TailMorph(fit(image), cover_crop(tail, OUT)).related
    frames, _ = render(
        tmp_path / "out", {"image": path, "image_tail": tail_path}, VideoSpec(360, 12, 2)
    )
    assert psnr(frames[0], fit(image)) >= 30
    assert psnr(frames[-1], cover_crop(tail, OUT)) >= 30
    middle = frames[len(frames) // 2]
    assert psnr(middle, fit(image)) < 20 and psnr(middle, cover_crop(tail, OUT)) < 20


def test_tail_only_ends_on_the_tail(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    image, path = source
    frames, _ = render(tmp_path, {"image_tail": path}, VideoSpec(360, 12, 1))
    assert psnr(frames[-1], fit(image)) >= 30
    assert psnr(frames[0], fit(image)) < 22


# ---------------------------------------------------------------------------- static_mask


def test_static_mask_freezes_its_region(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    _, path = source
    mask = np.zeros((200, 320), np.uint8)  # half the input's resolution, same aspect
    cv2.rectangle(mask, (20, 110), (150, 190), 255, -1)
    mask_path = save(tmp_path / "mask.png", mask)
    frames, _ = render(
        tmp_path / "out", {"image": path, "static_mask": mask_path}, VideoSpec(360, 24, 2)
    )
    inside = cv2.resize(mask, OUT, interpolation=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    grey = [f.astype(np.float32) for f in frames]
    steps = [float(np.abs(b - a)[inside].mean()) for a, b in zip(grey, grey[1:], strict=False)]
    assert max(steps) <= 1.0
    outside = ~(cv2.dilate(inside.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0)
    assert float(np.abs(grey[-1] - grey[0])[outside].mean()) > 8.0  # the push-in goes on


# ---------------------------------------------------------------------------- dynamic_masks


def test_trajectory_bottom_left_origin() -> None:
    path = parse_trajectory([{"x": 0, "y": 0}, {"x": 639, "y": 399}], (640, 400), (640, 400))
    assert path.tolist() == [[0.0, 399.0], [639.0, 0.0]]
    scaled = parse_trajectory([{"x": 100, "y": 0}], (640, 400), (320, 200))
    assert scaled.tolist() == [[49.75, 199.25]]
    eased = resample_path(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]), 5)
    assert eased[0].tolist() == [0.0, 0.0] and eased[-1].tolist() == [10.0, 10.0]
    assert eased[2].tolist() == [10.0, 0.0]  # halfway along the arc length


def _distance_to_polyline(point: np.ndarray, line: np.ndarray) -> float:
    best = math.inf
    for a, b in zip(line[:-1], line[1:], strict=True):
        ab = b - a
        u = float(np.clip(np.dot(point - a, ab) / max(float(np.dot(ab, ab)), 1e-9), 0, 1))
        best = min(best, float(np.linalg.norm(point - (a + u * ab))))
    return best


def test_dynamic_mask_follows_its_trajectory(tmp_path: Path) -> None:
    image = textured(5, 640, 400) // 3  # a dim scene
    square = np.clip(textured(6, 60, 60).astype(np.int16) // 2 + 128, 0, 255).astype(np.uint8)
    image[250:310, 100:160] = square  # bright, textured, centre (129.5, 279.5)
    mask = np.zeros((400, 640), np.uint8)
    mask[248:312, 98:162] = 255
    image_path = save(tmp_path / "image.png", image)
    mask_path = save(tmp_path / "mask.png", mask)
    # Bottom-left origin: y = 399 - y_top.
    points = [{"x": 130, "y": 120}, {"x": 330, "y": 250}, {"x": 500, "y": 150}]
    params = {"dynamic_masks": [{"mask": "input:mask", "trajectories": points}]}
    frames, _ = render(
        tmp_path / "out",
        {"image": image_path, "dynamic_masks[0].mask": mask_path},
        VideoSpec(360, 24, 2),
        **params,
    )
    scale = OUT[0] / 640
    line = np.array(
        [[(p["x"] + 0.5) * scale - 0.5, (399 - p["y"] + 0.5) * scale - 0.5] for p in points]
    )
    template = fit(image)[225:279, 90:144]  # the square, scaled, is ~54 px
    tracked = []
    for index in range(0, len(frames), 6):
        frame = frames[index]
        result = cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED)
        _, score, _, (x, y) = cv2.minMaxLoc(result)
        assert score > 0.6
        centre = np.array([x + 26.5, y + 26.5])  # the square's centre at output scale
        assert _distance_to_polyline(centre, line) <= 8.0
        tracked.append(centre)
    assert np.linalg.norm(tracked[0] - line[0]) <= 8.0
    result = cv2.matchTemplate(frames[-1], template, cv2.TM_CCOEFF_NORMED)
    x, y = cv2.minMaxLoc(result)[3]
    assert np.linalg.norm(np.array([x + 26.5, y + 26.5]) - line[-1]) <= 8.0
    assert max(float(np.linalg.norm(c - line[0])) for c in tracked) > 150


# ---------------------------------------------------------------------------- camera_control


def _simple(axis: str, value: float) -> dict[str, Any]:
    config = dict.fromkeys(("horizontal", "vertical", "pan", "tilt", "roll", "zoom"), 0.0)
    config[axis] = value
    return {"type": "simple", "config": config}


CAMERA_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("horizontal+", _simple("horizontal", 6), "left"),
    ("horizontal-", _simple("horizontal", -6), "right"),
    ("vertical+", _simple("vertical", 6), "down"),
    ("vertical-", _simple("vertical", -6), "up"),
    ("pan+", _simple("pan", 6), "left"),
    ("tilt+", _simple("tilt", 6), "down"),
    ("zoom-", _simple("zoom", -6), "strongly grow"),
    ("zoom+", _simple("zoom", 6), "strongly shrink"),
    ("roll+", _simple("roll", 6), "ccw"),
    ("roll-", _simple("roll", -6), "cw"),
    ("down_back", {"type": "down_back", "config": None}, "shrink up"),
    ("forward_up", {"type": "forward_up"}, "grow down"),
    ("right_turn_forward", {"type": "right_turn_forward"}, "grow left"),
    ("left_turn_forward", {"type": "left_turn_forward"}, "grow right"),
]


@pytest.mark.parametrize(
    ("control", "expect"), [c[1:] for c in CAMERA_CASES], ids=[c[0] for c in CAMERA_CASES]
)
def test_camera_control_direction(
    tmp_path: Path, source: tuple[np.ndarray, Path], control: dict[str, Any], expect: str
) -> None:
    frames, _ = render(tmp_path, {"image": source[1]}, VideoSpec(360, 8, 2), camera_control=control)
    scale, angle, dx, dy = similarity(frames[0], frames[-1])
    words = set(expect.split())
    checks = {
        "left": dx < -30,
        "right": dx > 30,
        "up": dy < -25,
        "down": dy > 25,
        "grow": scale > 1.12,
        "shrink": scale < 0.88,
        "strongly": abs(math.log(scale)) > math.log(1.22),  # beyond the default push-in
        "ccw": angle < -3,
        "cw": angle > 3,
    }
    for word in words:
        assert checks[word], (expect, scale, angle, dx, dy)
    if not words & {"grow", "shrink"}:
        assert 0.9 < scale < 1.12, scale
    if not words & {"cw", "ccw"}:
        assert abs(angle) < 1.5, angle
    steps = [
        float(np.abs(b.astype(np.int16) - a).mean())
        for a, b in zip(frames, frames[1:], strict=False)
    ]
    assert max(steps) < 40  # a move, not a cut


def test_orbit_prompt_sweeps_sideways(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    frames, _ = render(tmp_path, {"image": source[1]}, VideoSpec(360, 8, 2), prompt="orbit the car")
    _, _, dx, _ = similarity(frames[0], frames[-1])
    assert abs(dx) > 12


# ---------------------------------------------------------------------------- determinism


def test_controls_are_deterministic(tmp_path: Path, source: tuple[np.ndarray, Path]) -> None:
    mask = np.zeros((400, 640), np.uint8)
    mask[50:150, 400:560] = 255
    mask_path = save(tmp_path / "mask.png", mask)
    images = {"image": source[1], "static_mask": mask_path}
    a, _ = render(tmp_path / "a", images, VideoSpec(360, 8, 1), prompt="a street")
    b, _ = render(tmp_path / "b", images, VideoSpec(360, 8, 1), prompt="a street")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
