"""The Wan adapters end to end: tiny random weights saved like real ones, loaded by the
diffusers engine's child process, a task through the API, the MP4 decoded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.fakes.tiny_wan import save_tiny_wan
from tests.support.api import Api
from tests.support.diffusion import TINY, assert_held, luma, mean_rgb, render
from tests.support.helpers import b64, encode, image_b64, textured

PATH = "/v1/videos/image2video"


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {
        "wan_i2v": save_tiny_wan(root / "i2v", first_last_frame=False),
        "wan_flf2v": save_tiny_wan(root / "flf", first_last_frame=True),
    }


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: dict[str, Path]) -> Api:
    return module_api_factory(
        routes={
            "*": "classic",
            "wan-tiny": "diffusers",
            "wan-tiny-flf": "diffusers",
            "wan-tiny-64": "diffusers",
        },
        diffusers_models={
            "wan-tiny": {"adapter": "wan_i2v", "weights": str(weights["wan_i2v"]), **TINY},
            "wan-tiny-64": {
                "adapter": "wan_i2v",
                "weights": str(weights["wan_i2v"]),
                **TINY,
                "area": 64 * 40,
            },
            "wan-tiny-flf": {
                "adapter": "tests.fakes.tiny_wan:RecordingFirstLastFrame",
                "weights": str(weights["wan_flf2v"]),
                **TINY,
            },
        },
    )


def test_wan_image2video_through_the_api(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-tiny", "image": image_b64(640, 400), "prompt": "the cat turns"}
    data, frames = render(api, headers, body)
    assert len(frames) == 9 and frames[0].shape == (16, 16, 3)
    assert data["task_result"]["videos"][0]["duration"] == "1.125"  # 9 frames at 8 fps
    assert data["progress"] == 100
    # Identical requests give identical videos (the seed comes from the request).
    _, again = render(api, headers, body)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))


def test_the_tail_frame_reaches_the_pipeline(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    first, tail = textured(640, 400, seed=1), textured(640, 400, seed=5)
    tail[:, :, 0] = 250  # a red-heavy tail, so its colour tells it apart from the first frame
    body = {
        "model_name": "wan-tiny-flf",
        "image": b64(encode(first)),
        "image_tail": b64(encode(tail)),
        "prompt": "pan left",
    }
    data, frames = render(api, headers, body)
    assert len(frames) == 9 and frames[0].shape == (16, 16, 3)
    calls = [
        json.loads(line) for line in (weights["wan_flf2v"] / "calls.jsonl").read_text().splitlines()
    ]
    (call,) = [c for c in calls if c["task"] == data["task_id"]]
    assert call["num_frames"] == 9 and call["height"] == call["width"] == 16
    assert call["prompt"] == "pan left" and call["num_inference_steps"] == 2
    # The pictures the pipeline got are the request's, at the output size.
    assert call["last_image"][0] > 240 and call["image"][0] < 200
    assert call["image"] == pytest.approx(mean_rgb(first), abs=12)
    assert call["last_image"] == pytest.approx(mean_rgb(tail), abs=12)


def test_a_model_without_tail_support_refuses_image_tail(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-tiny", "image": image_b64(), "image_tail": image_b64(seed=3)}
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "image_tail: not supported yet by the 'diffusers' engine serving wan-tiny"
    )


def test_a_first_last_frame_model_requires_image_tail(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-tiny-flf", "image": image_b64()}
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 1201
    assert response.json()["message"] == (
        "image_tail: is required by the 'diffusers' engine serving wan-tiny-flf"
    )


def test_a_static_mask_holds_its_region_at_the_source_pixels(
    api: Api, headers: dict[str, str]
) -> None:
    image = textured(640, 480, seed=4)
    static = np.zeros((480, 640, 3), np.uint8)
    static[:, 320:] = 255  # the right half stays still
    body = {
        "model_name": "wan-tiny-64",
        "image": b64(encode(image)),
        "static_mask": b64(encode(static)),
    }
    _, frames = render(api, headers, body)
    assert len(frames) == 9 and frames[0].shape == (48, 64, 3)
    source = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
    assert_held(frames, source, (slice(2, 46), slice(36, 62)))
    # Without the composite the tiny random model draws noise: the free half is far off.
    free = (slice(2, 46), slice(2, 28))
    assert float(np.abs(luma(frames[-1])[free] - luma(source)[free]).mean()) > 10
