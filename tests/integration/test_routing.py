"""model_name -> engine routing from configuration, and the engine's declared capabilities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from openreel.config import Settings
from openreel.engines.base import Capabilities, TaskKind
from openreel.tasks.kling_models import DEFAULT_MODEL
from openreel.tasks.routing import EngineRouter
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"


def test_custom_model_name_routes_to_its_engine(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine(name="mine")
    engine.release.set()
    classic_free = {"*": "mine", "studio-x": "mine"}
    api: Api = api_factory(engines={"mine": engine}, routes=classic_free)
    headers = api.auth(api.new_key())
    created = api.client.post(
        PATH, json={"image": image_b64(), "model_name": "studio-x"}, headers=headers
    )
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed" and engine.runs == 1
    # A custom name follows its engine's rules, not Kling's per-model map: the gated engine
    # declares no tail-frame feature, so the error names the engine.
    response = api.client.post(
        PATH,
        json={"image": image_b64(), "image_tail": image_b64(), "model_name": "studio-x"},
        headers=headers,
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "image_tail: not supported yet by the 'mine' engine serving studio-x"
    )
    unknown = api.client.post(
        PATH, json={"image": image_b64(), "model_name": "studio-y"}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == 1203


KIND_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "multi image2image": (
        "/v1/images/multi-image2image",
        {"subject_image_list": [{"subject_image": image_b64(seed=i)} for i in range(2)]},
    ),
    "text2video": ("/kling/v1/videos/text2video", {"prompt": "a fox in the snow"}),
    "image generation": ("/v1/images/generations", {"prompt": "a cat"}),
}


@pytest.mark.parametrize("kind", sorted(KIND_BODIES))
def test_engine_without_a_kind_refuses_it(api_factory: Callable[..., Api], kind: str) -> None:
    engine = GatedEngine(
        name="videos-only", capabilities=Capabilities(kinds=frozenset({TaskKind.IMAGE2VIDEO}))
    )
    api: Api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    headers = api.auth(api.new_key())
    path, body = KIND_BODIES[kind]
    family = path.split("/v1/")[1]
    # No model_name sent: the endpoint is named, with the routing that sent it there.
    response = api.client.post(path, json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == 1201
    message = response.json()["message"]
    assert message.startswith(f"{family}: {kind} is not supported by the 'videos-only' engine")
    assert "default model" in message and "OPENREEL_ROUTES" in message
    # model_name sent: that is the field to change.
    model = DEFAULT_MODEL[TaskKind(kind.replace(" ", "_"))]
    named = api.client.post(path, json={**body, "model_name": model}, headers=headers)
    assert named.status_code == 400
    assert named.json()["message"].startswith(
        f"model_name: {kind} is not supported by the 'videos-only' engine serving {model}"
    )
    assert api.client.get(path, headers=headers).json()["data"] == []


def test_routes_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENREEL_ROUTES", json.dumps({"*": "classic", "house": "classic"}))
    assert Settings().routes == {"*": "classic", "house": "classic"}


def test_routes_naming_an_unknown_engine_fail_at_start() -> None:
    with pytest.raises(ValueError, match="unknown engines"):
        EngineRouter({}, {"*": "nope"})


FEATURE_BODIES: dict[str, dict[str, Any]] = {
    "image_tail": {"image_tail": image_b64(seed=4)},
    "static_mask": {"static_mask": image_b64(seed=5)},
    "dynamic_masks": {
        "dynamic_masks": [
            {"mask": image_b64(seed=6), "trajectories": [{"x": 1, "y": 1}, {"x": 9, "y": 9}]}
        ]
    },
    "camera_control": {"camera_control": {"type": "simple", "config": {"zoom": 5}}},
    # An engine that cannot draw a watermark refuses it rather than return clean files only.
    "watermark_info.enabled": {"watermark_info": {"enabled": True}},
}


@pytest.mark.parametrize("feature", sorted(FEATURE_BODIES))
def test_a_feature_the_engine_lacks_is_refused_by_name(
    api_factory: Callable[..., Api], feature: str
) -> None:
    engine = GatedEngine(
        name="plain", capabilities=Capabilities(kinds=frozenset({TaskKind.IMAGE2VIDEO}))
    )
    api: Api = api_factory(engines={"plain": engine}, routes={"plain-model": "plain"})
    headers = api.auth(api.new_key())
    body = {"image": image_b64(), "model_name": "plain-model", **FEATURE_BODIES[feature]}
    response = api.client.post(PATH, json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == 1201
    assert response.json()["message"] == (
        f"{feature}: not supported yet by the 'plain' engine serving plain-model"
    )
    assert api.client.get(PATH, headers=headers).json()["data"] == []
