"""The Wan adapters end to end: tiny random weights saved like real ones, loaded by the
diffusers engine's child process, a task through the API, the MP4 decoded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import Api
from tests.fakes.tiny_wan import save_tiny_wan
from tests.helpers import b64, encode, image_b64, textured
from tests.polling import wait_task

PATH = "/v1/videos/image2video"
TINY = {
    "steps": 2,
    "area": 256,  # 16x16 frames
    "max_frames": 9,
    "fps": 8,
    "dtype": "float32",
    "device": "cpu",
    "guidance_scale": 1.0,
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {
        "wan_i2v": save_tiny_wan(root / "i2v", first_last_frame=False),
        "wan_flf2v": save_tiny_wan(root / "flf", first_last_frame=True),
    }


@pytest.fixture
def api(api_factory: Callable[..., Api], weights: dict[str, Path]) -> Api:
    return api_factory(
        routes={"*": "classic", "wan-tiny": "diffusers", "wan-tiny-flf": "diffusers"},
        diffusers_models={
            "wan-tiny": {"adapter": "wan_i2v", "weights": str(weights["wan_i2v"]), **TINY},
            "wan-tiny-flf": {
                "adapter": "tests.fakes.tiny_wan:RecordingFirstLastFrame",
                "weights": str(weights["wan_flf2v"]),
                **TINY,
            },
        },
    )


def render(api: Api, headers: dict[str, str], body: dict[str, object]) -> tuple[dict, list]:
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed", data
    url = data["task_result"]["videos"][0]["url"]
    path, query = url.split("/files/", 1)[1].split("?", 1)
    video = api.client.get(f"/files/{path}?{query}")
    assert video.status_code == 200
    file = Path(api.services.settings.data_dir) / "check.mp4"
    file.write_bytes(video.content)
    with av.open(str(file)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return data, frames


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
    calls = [json.loads(line) for line in (weights["wan_flf2v"] / "calls.jsonl").open()]
    (call,) = [c for c in calls if c["task"] == data["task_id"]]
    assert call["num_frames"] == 9 and call["height"] == call["width"] == 16
    assert call["prompt"] == "pan left" and call["num_inference_steps"] == 2
    # The pictures the pipeline got are the request's, at the output size.
    assert call["last_image"][0] > 240 and call["image"][0] < 200
    assert call["image"] == pytest.approx(mean_rgb(first), abs=12)
    assert call["last_image"] == pytest.approx(mean_rgb(tail), abs=12)


def mean_rgb(image: np.ndarray) -> list[float]:
    return [float(v) for v in image.reshape(-1, 3).mean(0)]


def test_a_model_without_tail_support_refuses_image_tail(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-tiny", "image": image_b64(), "image_tail": image_b64(seed=3)}
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "image_tail: not supported yet by the 'diffusers' engine serving wan-tiny"
    )
