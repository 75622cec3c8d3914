"""Text-to-image (``images/generations`` without subjects) on Qwen-Image and FLUX.2 [klein] end
to end: tiny random weights saved like real ones, loaded by the engine's child process, tasks
through the API, the PNGs decoded; a spy shows what reached the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.fakes.tiny_image_edit import save_tiny_flux2_klein, save_tiny_qwen_image
from tests.support.api import Api
from tests.support.diffusion import fetch_pngs, mean_rgb, run_task, spied_call
from tests.support.helpers import b64, encode, textured

PATH = "/v1/images/generations"
TINY = {"steps": 2, "area": 32 * 32, "dtype": "float32", "device": "cpu", "guidance_scale": 4.0}
MODELS = {
    "qwen-image-tiny": ("tests.fakes.tiny_image_edit:RecordingQwenImage", save_tiny_qwen_image),
    "flux2-tiny": ("tests.fakes.tiny_image_edit:RecordingFlux2Klein", save_tiny_flux2_klein),
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("weights")
    return {name: save(root / name) for name, (_, save) in MODELS.items()}


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: dict[str, Path]) -> Api:
    return module_api_factory(
        routes={"*": "classic", **dict.fromkeys(MODELS, "diffusers")},
        diffusers_models={
            name: {"adapter": adapter, "weights": str(weights[name]), **TINY}
            for name, (adapter, _) in MODELS.items()
        },
    )


@pytest.mark.parametrize("model", list(MODELS))
def test_n_images_at_the_requested_aspect(
    api: Api, headers: dict[str, str], weights: dict[str, Path], model: str
) -> None:
    body = {"model_name": model, "prompt": "the cat walks", "n": 2, "aspect_ratio": "16:9"}
    data = run_task(api, headers, PATH, body)
    images = fetch_pngs(api, data)
    call = spied_call(weights[model], data["task_id"])
    assert call["num_images_per_prompt"] == 2 and call["prompt"] == "the cat walks"
    # 16:9 at 1k, capped at the model's 32x32 area and rounded to the model's multiple.
    assert call["width"] > call["height"]
    assert call["width"] * call["height"] <= 1.25 * 32 * 32
    assert [image.shape for image in images] == [(call["height"], call["width"], 3)] * 2
    assert not np.array_equal(images[0], images[1])  # n variants, not n copies
    again = fetch_pngs(api, run_task(api, headers, PATH, body))
    assert all(np.array_equal(a, b) for a, b in zip(images, again, strict=True))


def test_a_square_picture_on_the_cometapi_prefix(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    body = {"model_name": "qwen-image-tiny", "prompt": "the dog", "aspect_ratio": "1:1"}
    data = run_task(api, headers, "/kling/v1/images/generations", body)
    (image,) = fetch_pngs(api, data)
    assert image.shape == (32, 32, 3)
    call = spied_call(weights["qwen-image-tiny"], data["task_id"])
    # Qwen's true CFG at the model's scale, with the blank negative prompt it needs.
    assert call["true_cfg_scale"] == 4.0 and call["negative_prompt"] == " "


def test_flux2_takes_the_reference_image(
    api: Api, headers: dict[str, str], weights: dict[str, Path]
) -> None:
    reference = textured(400, 400, seed=3)
    reference[:, :, 1] = 250  # green-heavy, so its colour tells it apart
    body = {
        "model_name": "flux2-tiny",
        "prompt": "the cat",
        "image": b64(encode(reference)),
        "aspect_ratio": "1:1",
    }
    data = run_task(api, headers, PATH, body)
    (image,) = fetch_pngs(api, data)
    call = spied_call(weights["flux2-tiny"], data["task_id"])
    (seen,) = call["image"]
    assert seen == pytest.approx(mean_rgb(reference), abs=12)
    assert image.shape == (call["height"], call["width"], 3)
    assert "negative_prompt" not in call  # FLUX.2 takes none


def test_qwen_image_refuses_a_reference_image(api: Api, headers: dict[str, str]) -> None:
    body = {
        "model_name": "qwen-image-tiny",
        "prompt": "the cat",
        "image": b64(encode(textured(400, 400))),
    }
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == 1201
    assert response.json()["message"] == (
        "image: not supported yet by the 'diffusers' engine serving qwen-image-tiny"
    )
