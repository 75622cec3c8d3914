"""Multi-image-to-image on Qwen-Image-Edit-Plus end to end: tiny random weights saved in the
published layout, loaded by the engine's child process (with the images-only VL processor), a
task through the API, the PNGs decoded; a spy shows which picture went where."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import Api
from tests.fakes.tiny_qwen import save_tiny_qwen_edit
from tests.helpers import b64, encode, textured
from tests.integration.test_diffusers_wan import mean_rgb
from tests.polling import wait_task

PATH = "/v1/images/multi-image2image"
TINY = {
    "steps": 2,
    "area": 32 * 32,
    "dtype": "float32",
    "device": "cpu",
    "guidance_scale": 1.0,
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_qwen_edit(tmp_path_factory.mktemp("weights") / "qwen")


@pytest.fixture
def api(api_factory: Callable[..., Api], weights: Path) -> Api:
    return api_factory(
        routes={"*": "classic", "qwen-tiny": "diffusers"},
        diffusers_models={
            "qwen-tiny": {
                "adapter": "tests.fakes.tiny_qwen:RecordingQwenImageEdit",
                "weights": str(weights),
                **TINY,
            }
        },
    )


def coloured(channel: int, seed: int) -> np.ndarray:
    image = textured(400, 400, seed=seed)
    image[:, :, channel] = 250
    return image


def test_subjects_scene_and_style_become_numbered_pictures(
    api: Api, headers: dict[str, str], weights: Path
) -> None:
    red, green, blue, grey = coloured(0, 1), coloured(1, 2), coloured(2, 3), textured(400, 400)
    body = {
        "model_name": "qwen-tiny",
        "subject_image_list": [
            {"subject_image": b64(encode(red))},
            {"subject_image": b64(encode(green))},
        ],
        "scene_image": b64(encode(blue)),
        "style_image": b64(encode(grey)),
        "prompt": "the cat and the dog",
        "aspect_ratio": "1:1",
        "n": 2,
    }
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers, timeout=300)
    assert data["task_status"] == "succeed", data["task_status_msg"]
    images = data["task_result"]["images"]
    assert [image["index"] for image in images] == [0, 1]
    for image in images:
        url = image["url"].replace("http://testserver", "")
        png = api.client.get(url)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        decoded = Image.open(io.BytesIO(png.content))
        assert decoded.size == (32, 32) and decoded.mode == "RGB"

    calls = [json.loads(line) for line in (weights / "calls.jsonl").open()]
    (call,) = [c for c in calls if c["task"] == data["task_id"]]
    assert call["prompt"] == (
        "Picture 1, 2 show the subjects. Place them in the scene of picture 3. "
        "Render it in the style of picture 4. the cat and the dog"
    )
    assert call["num_images_per_prompt"] == 2 and call["height"] == call["width"] == 32
    assert len(call["image"]) == 4
    for seen, sent in zip(call["image"], (red, green, blue, grey), strict=True):
        assert seen == pytest.approx(mean_rgb(sent), abs=12)


def test_a_video_request_is_refused_by_an_image_model(api: Api, headers: dict[str, str]) -> None:
    body = {"model_name": "qwen-tiny", "image": b64(encode(textured(640, 400)))}
    response = api.client.post("/v1/videos/image2video", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "model_name: image2video is not supported by the 'diffusers' engine serving qwen-tiny"
    )


def test_the_prompt_numbers_one_subject_alone() -> None:
    from openreel.engines.diffusers.adapters.qwen_edit import edit_prompt

    assert edit_prompt("", 1, scene=False, style=True) == (
        "Picture 1 shows the subject. Render it in the style of picture 2."
    )
