"""Multi-image-to-image on Qwen-Image-Edit-Plus and FLUX.2 [klein] end to end: tiny random
weights saved in the published layouts, loaded by the engine's child process (Qwen: with the
images-only VL processor), a task through the API, the PNGs decoded; a spy shows which
picture went where."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fakes.tiny_image_edit import save_tiny_flux2_klein, save_tiny_qwen_edit
from tests.support.api import Api
from tests.support.diffusion import mean_rgb
from tests.support.helpers import b64, encode, textured
from tests.support.polling import wait_task

PATH = "/v1/images/multi-image2image"
TINY = {
    "steps": 2,
    "area": 32 * 32,
    "dtype": "float32",
    "device": "cpu",
    "guidance_scale": 1.0,
}


MODELS = {
    "qwen-tiny": ("tests.fakes.tiny_image_edit:RecordingQwenImageEdit", save_tiny_qwen_edit),
    "flux2-tiny": ("tests.fakes.tiny_image_edit:RecordingFlux2Klein", save_tiny_flux2_klein),
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {name: save(root / name) for name, (_, save) in MODELS.items()}


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: dict[str, Path]) -> Api:
    return module_api_factory(
        routes={"*": "classic", **{name: "diffusers" for name in MODELS}},
        diffusers_models={
            name: {"adapter": adapter, "weights": str(weights[name]), **TINY}
            for name, (adapter, _) in MODELS.items()
        },
    )


def coloured(channel: int, seed: int) -> np.ndarray:
    image = textured(400, 400, seed=seed)
    image[:, :, channel] = 250
    return image


@pytest.mark.parametrize("model", list(MODELS))
def test_subjects_scene_and_style_become_numbered_pictures(
    api: Api, headers: dict[str, str], weights: dict[str, Path], model: str
) -> None:
    red, green, blue, grey = coloured(0, 1), coloured(1, 2), coloured(2, 3), textured(400, 400)
    body = {
        "model_name": model,
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

    calls = [json.loads(line) for line in (weights[model] / "calls.jsonl").read_text().splitlines()]
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
    from openreel.engines.diffusers.adapters.image_edit import edit_prompt

    assert edit_prompt("", 1, scene=False, style=True) == (
        "Picture 1 shows the subject. Render it in the style of picture 2."
    )


def test_one_subject_is_placed_as_it() -> None:
    from openreel.engines.diffusers.adapters.image_edit import edit_prompt

    assert edit_prompt("sunset", 1, scene=True, style=False) == (
        "Picture 1 shows the subject. Place it in the scene of picture 2. sunset"
    )
