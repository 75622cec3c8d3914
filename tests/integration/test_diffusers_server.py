"""The diffusers engine behind the API (fake pipelines in its real child process): routed by
model_name, refused at create for what the model's adapter cannot do, and a clear start-up
error when its weights are missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from openreel.engines.diffusers.spec import EngineConfigError
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

FAKE = "tests.fakes.diffusers_adapters:StepAdapter"
PATH = "/v1/videos/image2video"


def diffusers_api(api_factory: Callable[..., Api], weights: Path) -> Api:
    weights.mkdir(exist_ok=True)
    return api_factory(
        routes={"*": "classic", "open-video": "diffusers"},
        diffusers_models={"open-video": {"adapter": FAKE, "weights": str(weights), "steps": 3}},
    )


def test_a_task_routed_to_the_diffusers_engine(
    api_factory: Callable[..., Api], tmp_path: Path
) -> None:
    api = diffusers_api(api_factory, tmp_path / "weights")
    headers = api.auth(api.new_key())
    body = {"model_name": "open-video", "image": image_b64(), "image_tail": image_b64(seed=2)}
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed", data
    (video,) = data["task_result"]["videos"]
    assert video["duration"] == "1"
    # Kling model names still go to the classic engine.
    classic = api.client.post(PATH, json={"image": image_b64()}, headers=headers)
    assert (
        wait_task(api.client, PATH, classic.json()["data"]["task_id"], headers)["task_status"]
        == "succeed"
    )


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            PATH,
            {"camera_control": {"type": "down_back"}},
            "camera_control: not supported yet by the 'diffusers' engine serving open-video",
        ),
        (
            PATH,
            {"static_mask": image_b64()},
            "static_mask: not supported yet by the 'diffusers' engine serving open-video",
        ),
        (
            "/v1/videos/multi-image2video",
            {"image_list": [{"image": image_b64()}], "prompt": "p"},
            "model_name: multi image2video is not supported by the 'diffusers' engine",
        ),
    ],
)
def test_what_the_adapter_cannot_do_is_refused_at_create(
    api_factory: Callable[..., Api], tmp_path: Path, path: str, body: dict[str, Any], message: str
) -> None:
    api = diffusers_api(api_factory, tmp_path / "weights")
    headers = api.auth(api.new_key())
    payload = {"model_name": "open-video", "image": image_b64(), **body}
    if "image_list" in body:
        payload.pop("image")
    response = api.client.post(path, json=payload, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 1201
    assert response.json()["message"].startswith(message)


def test_missing_weights_stop_the_server_at_start_naming_the_path(
    api_factory: Callable[..., Api], tmp_path: Path
) -> None:
    missing = tmp_path / "not-downloaded"
    with pytest.raises(EngineConfigError, match=f"weights directory {missing} does not exist"):
        api_factory(
            routes={"*": "classic", "open-video": "diffusers"},
            diffusers_models={"open-video": {"adapter": FAKE, "weights": str(missing)}},
        )


def test_an_api_node_needs_no_weights(api_factory: Callable[..., Api], tmp_path: Path) -> None:
    """``serve --no-workers`` (workers=0) routes and refuses by each model's capabilities, and
    leaves the weights to the GPU workers."""
    api = api_factory(
        routes={"*": "classic", "open-video": "diffusers"},
        diffusers_models={"open-video": {"adapter": FAKE, "weights": str(tmp_path / "elsewhere")}},
        workers=0,
    )
    headers = api.auth(api.new_key())
    body = {
        "model_name": "open-video",
        "image": image_b64(),
        "camera_control": {"type": "down_back"},
    }
    refused = api.client.post("/v1/videos/image2video", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == 1201
    body.pop("camera_control")
    accepted = api.client.post("/v1/videos/image2video", json=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["task_status"] == "submitted"
