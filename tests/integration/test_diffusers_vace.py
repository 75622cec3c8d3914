"""The Wan VACE adapter end to end (tiny random weights saved like real ones, loaded by the
engine's child process): Elements from reference images, and image2video whose static mask,
dynamic mask with its trajectory, and tail frame reach the pipeline as VACE's control video
and masks. A spy beside the weights keeps what the pipeline received."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakes.tiny_wan import save_tiny_vace
from tests.support.api import Api
from tests.support.diffusion import TINY, assert_held, mean_rgb, render
from tests.support.helpers import b64, encode, textured

MULTI = "/v1/videos/multi-image2video"
I2V = "/v1/videos/image2video"
SIZE = {**TINY, "area": 64 * 40}  # 64x48 frames: room for a mask and a drag


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vace(tmp_path_factory.mktemp("weights") / "vace")


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: Path) -> Api:
    return module_api_factory(
        routes={"*": "classic", "vace-tiny": "diffusers"},
        diffusers_models={
            "vace-tiny": {
                "adapter": "tests.fakes.tiny_wan:RecordingVace",
                "weights": str(weights),
                **SIZE,
            }
        },
    )


def call_of(weights: Path, task_id: str) -> dict[str, Any]:
    calls = [json.loads(line) for line in (weights / "calls.jsonl").read_text().splitlines()]
    (call,) = [c for c in calls if c["task"] == task_id]
    return dict(call)


def test_elements_pass_every_picture_as_a_reference(
    api: Api, headers: dict[str, str], weights: Path
) -> None:
    red, blue = textured(400, 400, seed=2), textured(400, 400, seed=3)
    red[:, :, 0], blue[:, :, 2] = 250, 250
    body = {
        "model_name": "vace-tiny",
        "image_list": [{"image": b64(encode(red))}, {"image": b64(encode(blue))}],
        "prompt": "the cat and the dog walks",
        "aspect_ratio": "16:9",
    }
    data, frames = render(api, headers, body, path=MULTI)
    assert len(frames) == 9 and frames[0].shape == (32, 64, 3)  # 16:9 near 64x40, 16-px steps
    call = call_of(weights, data["task_id"])
    assert "video" not in call and "mask" not in call
    first, second = call["reference_images"]
    assert first == pytest.approx(mean_rgb(red), abs=12)
    assert second == pytest.approx(mean_rgb(blue), abs=12)


def test_static_and_dynamic_masks_become_the_control_video(
    api: Api, headers: dict[str, str], weights: Path
) -> None:
    image = textured(640, 480, seed=7)
    static = np.zeros((480, 640, 3), np.uint8)
    static[:, :160] = 255  # the left quarter stays still
    moving = np.zeros((480, 640, 3), np.uint8)
    moving[200:280, 320:400] = 255  # a square to drag right
    image[200:280, 320:400] = (255, 0, 255)  # magenta, so it can be found in the frames
    body = {
        "model_name": "vace-tiny",
        "image": b64(encode(image)),
        "static_mask": b64(encode(static)),
        # Bottom-left origin: the square's centre row 240 from the top is y = 480 - 1 - 240.
        "dynamic_masks": [
            {
                "mask": b64(encode(moving)),
                "trajectories": [{"x": 360, "y": 239}, {"x": 440, "y": 239}, {"x": 520, "y": 239}],
            }
        ],
    }
    data, frames = render(api, headers, body, path=I2V)
    assert len(frames) == 9 and frames[0].shape == (48, 64, 3)
    video = np.load(weights / f"{data['task_id']}-video.npy").astype(np.float32)
    masks = np.load(weights / f"{data['task_id']}-mask.npy")
    assert video.shape == (9, 48, 64, 3) and masks.shape == (9, 48, 64)
    # Frame 0 is the request's picture, kept; later frames are generated except the still part.
    assert np.all(masks[0] == 0)
    assert np.all(masks[1:, :, :12] == 0) and np.all(masks[1:, :, 20:] == 255)
    assert float(np.abs(video[:, :, :12] - video[0, :, :12]).max()) == 0.0
    # The magenta square follows the trajectory: +16 px per trajectory step at 64/640 scale.
    centres = [magenta_centre(frame) for frame in video]
    assert centres[0] == pytest.approx((36, 24), abs=1.5)
    assert centres[-1] == pytest.approx((52, 24), abs=1.5)
    assert all(b[0] >= a[0] - 0.5 for a, b in zip(centres, centres[1:], strict=False))
    # The decoded video holds the still part at the source's pixels (pixel composite).
    assert_held(frames, video[0].astype(np.uint8), (slice(2, 46), slice(2, 12)))


def magenta_centre(frame: np.ndarray) -> tuple[float, float]:
    found = (frame[..., 0] > 230) & (frame[..., 1] < 30) & (frame[..., 2] > 230)
    ys, xs = np.nonzero(found)
    assert xs.size > 0, "the dragged square is not in the control frame"
    return float(xs.mean()), float(ys.mean())


def test_a_tail_only_request_keeps_the_last_frame(
    api: Api, headers: dict[str, str], weights: Path
) -> None:
    tail = textured(640, 480, seed=9)
    tail[:, :, 1] = 240
    body = {"model_name": "vace-tiny", "image_tail": b64(encode(tail)), "prompt": "zoom in"}
    data, frames = render(api, headers, body, path=I2V)
    assert len(frames) == 9
    masks = np.load(weights / f"{data['task_id']}-mask.npy")
    video = np.load(weights / f"{data['task_id']}-video.npy")
    assert np.all(masks[-1] == 0) and np.all(masks[:-1] == 255)
    assert np.all(video[0] == 127)  # nothing known about the start
    assert video[-1].reshape(-1, 3).mean(0) == pytest.approx(mean_rgb(tail), abs=12)
