"""Text-to-video on Wan (``WanPipeline``) and LTX-Video (``LTXPipeline``, and the image2video
adapter's ``LTXConditionPipeline`` without conditions) end to end: tiny random weights saved
like real ones, loaded by the engine's child process, a task through the API on both prefixes,
the MP4 decoded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.tiny_ltx import save_tiny_ltx
from tests.fakes.tiny_wan import save_tiny_wan_t2v
from tests.support.api import Api
from tests.support.diffusion import TINY, fetch_video, run_task, spied_call
from tests.support.helpers import image_b64

PATH = "/v1/videos/text2video"
COMET_PATH = "/kling/v1/videos/text2video"
WAN = {**TINY, "area": 64 * 40}  # 16:9 -> 64x32 (multiples of 16)
LTX = {**TINY, "area": 2048}  # 16:9 -> 64x32 (multiples of 32)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {"wan": save_tiny_wan_t2v(root / "wan"), "ltx": save_tiny_ltx(root / "ltx")}


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: dict[str, Path]) -> Api:
    models = {
        "wan-t2v": {"adapter": "wan_t2v", "weights": str(weights["wan"]), **WAN},
        "wan-t2v-spy": {
            "adapter": "tests.fakes.tiny_wan:RecordingWanTextToVideo",
            "weights": str(weights["wan"]),
            **WAN,
            "guidance_scale": 5.0,
        },
        "ltx-t2v": {
            "adapter": "tests.fakes.tiny_ltx:RecordingLtxTextToVideo",
            "weights": str(weights["ltx"]),
            **LTX,
        },
        "ltx-video": {
            "adapter": "tests.fakes.tiny_ltx:RecordingLtx",
            "weights": str(weights["ltx"]),
            **LTX,
        },
    }
    return module_api_factory(
        routes={"*": "classic", **dict.fromkeys(models, "diffusers")},
        diffusers_models=models,
    )


def test_wan_text2video_through_the_api(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-t2v", "prompt": "the cat walks", "aspect_ratio": "16:9"}
    data = run_task(api, headers, PATH, body)
    frames, fps = fetch_video(api, data)
    assert len(frames) == 9 and frames[0].shape == (32, 64, 3)  # 16:9 at the model's area
    assert fps == 8 and data["task_result"]["videos"][0]["duration"] == "1.125"
    assert data["progress"] == 100
    # Identical requests give identical videos (the seed comes from the request).
    again, _ = fetch_video(api, run_task(api, headers, PATH, body))
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
    # Another prompt is another seed: another video.
    other, _ = fetch_video(api, run_task(api, headers, PATH, {**body, "prompt": "the dog"}))
    assert not all(np.array_equal(a, b) for a, b in zip(frames, other, strict=True))


def test_the_request_reaches_the_wan_pipeline(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    body = {
        "model_name": "wan-t2v-spy",
        "prompt": "the dog looks up",
        "negative_prompt": "camera",
        "cfg_scale": 0.25,
        "aspect_ratio": "9:16",
    }
    data = run_task(api, headers, COMET_PATH, body)
    frames, _ = fetch_video(api, data)
    assert len(frames) == 9 and frames[0].shape == (64, 32, 3)  # portrait
    call = spied_call(weights["wan"], data["task_id"])
    assert call["prompt"] == "the dog looks up" and call["negative_prompt"] == "camera"
    # cfg_scale 0.25 on a model configured at 5: half way from no guidance (1) to 5.
    assert call["guidance_scale"] == pytest.approx(3.0)
    assert (call["height"], call["width"], call["num_frames"]) == (64, 32, 9)
    assert call["num_inference_steps"] == 2


def test_ltx_text2video_on_the_cometapi_prefix(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    body = {"model_name": "ltx-t2v", "prompt": "pan left", "aspect_ratio": "1:1"}
    data = run_task(api, headers, COMET_PATH, body)
    frames, fps = fetch_video(api, data)
    assert len(frames) == 9 and frames[0].shape == (32, 32, 3) and fps == 8
    call = spied_call(weights["ltx"], data["task_id"])
    assert call["frame_rate"] == 8 and call["guidance_scale"] == 1.0  # TINY: guidance off
    again, _ = fetch_video(api, run_task(api, headers, COMET_PATH, body))
    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))


def test_the_image2video_ltx_adapter_serves_text2video_without_conditions(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    body = {"model_name": "ltx-video", "prompt": "zoom in", "aspect_ratio": "16:9"}
    data = run_task(api, headers, PATH, body)
    frames, _ = fetch_video(api, data)
    assert len(frames) == 9 and frames[0].shape == (32, 64, 3)
    call = spied_call(weights["ltx"], data["task_id"])
    assert "conditions" not in call and call["prompt"] == "zoom in"


def test_a_text2video_model_refuses_image2video(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "wan-t2v", "image": image_b64(), "prompt": "the cat"}
    response = api.client.post("/v1/videos/image2video", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "model_name: image2video is not supported by the 'diffusers' engine serving wan-t2v"
    )


def test_camera_control_is_refused_by_a_diffusers_text2video_model(
    api: Api, headers: dict[str, str]
) -> None:
    body = {
        "model_name": "wan-t2v",
        "prompt": "the cat",
        "camera_control": {"type": "simple", "config": {"zoom": 5}},
    }
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == 1201
    assert response.json()["message"] == (
        "camera_control: not supported yet by the 'diffusers' engine serving wan-t2v"
    )
