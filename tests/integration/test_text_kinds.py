"""text2video and text-to-image through the API on the classic engine (test cards), on both
prefixes: created, polled to succeed, downloaded and decoded; the watermarked copies differ
from the clean results in the badge's box only; watermark_info is echoed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from openreel.engines.base import Capabilities, Feature, TaskKind
from openreel.tasks.rules import image_size
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.http_stub import HttpStub
from tests.support.polling import wait_task
from tests.support.results import badge_mask, download, mean_diff, mp4_frames, png_pixels

PREFIXES = ["/v1", "/kling/v1"]


def create(api: Api, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.mark.parametrize("prefix", PREFIXES)
def test_text2video_renders_a_watermarked_test_card_clip(
    api: Api, headers: dict[str, str], prefix: str
) -> None:
    path = f"{prefix}/videos/text2video"
    body = {
        "model_name": "kling-v1",
        "prompt": "A lighthouse in a storm, waves crashing, 灯台",
        "aspect_ratio": "9:16",
        "duration": "5",
        "mode": "std",
        "camera_control": {"type": "simple", "config": {"zoom": -6}},
        "watermark_info": {"enabled": True},
    }
    created = create(api, headers, path, body)
    assert created["watermark_info"] == {"enabled": True}
    data = wait_task(api.client, path, created["task_id"], headers, timeout=300)
    assert data["task_status"] == "succeed", data
    assert data["watermark_info"] == {"enabled": True}
    [video] = data["task_result"]["videos"]
    assert video["duration"] == "5" and video["url"] != video["watermark_url"]

    clean, rate = mp4_frames(download(api.client, video["url"], "video/mp4"))
    marked, marked_rate = mp4_frames(download(api.client, video["watermark_url"], "video/mp4"))
    assert rate == marked_rate == 30  # kling-v1: 30 fps
    assert len(clean) == len(marked) == 150  # 5 s
    assert {f.shape for f in clean + marked} == {(1280, 720, 3)}  # 9:16, 720 short side
    assert mean_diff(clean[0], clean[75], np.ones((1280, 720), bool)) > 3  # it moves
    inside = badge_mask(720, 1280)
    for index in (0, 75, 149):
        assert mean_diff(clean[index], marked[index], inside) > 15
        assert mean_diff(clean[index], marked[index], ~inside) < 2


@pytest.mark.parametrize("prefix", PREFIXES)
def test_text_to_image_renders_n_watermarked_test_cards(
    api: Api, headers: dict[str, str], prefix: str
) -> None:
    path = f"{prefix}/images/generations"
    body = {
        "prompt": "a cat astronaut, oil painting",
        "n": 2,
        "aspect_ratio": "3:2",
        "watermark_info": {"enabled": True},
    }
    created = create(api, headers, path, body)
    data = wait_task(api.client, path, created["task_id"], headers)
    assert data["task_status"] == "succeed", data
    assert data["watermark_info"] == {"enabled": True}
    images = data["task_result"]["images"]
    assert [item["index"] for item in images] == [0, 1]
    width, height = image_size("3:2", "1k")
    inside = badge_mask(width, height)
    cards = []
    for item in images:
        clean = png_pixels(download(api.client, item["url"], "image/png"))
        marked = png_pixels(download(api.client, item["watermark_url"], "image/png"))
        assert clean.shape == marked.shape == (height, width, 3)
        assert mean_diff(clean, marked, inside) > 15
        assert np.array_equal(clean[~inside], marked[~inside])
        cards.append(clean.tobytes())
    assert len(set(cards)) == 2


@pytest.mark.parametrize("prefix", PREFIXES)
def test_image_to_image_with_a_subject_reference_and_no_watermark(
    api: Api, headers: dict[str, str], prefix: str
) -> None:
    path = f"{prefix}/images/generations"
    body = {
        "model_name": "kling-v1-5",
        "prompt": "the same toy on a beach",
        "image": image_b64(600, 600, seed=3),
        "image_reference": "subject",
        "image_fidelity": 0.8,
        "aspect_ratio": "1:1",
    }
    created = create(api, headers, path, body)
    data = wait_task(api.client, path, created["task_id"], headers)
    assert data["task_status"] == "succeed", data
    assert data["watermark_info"] == {"enabled": False}
    [item] = data["task_result"]["images"]
    assert "watermark_url" not in item
    picture = png_pixels(download(api.client, item["url"], "image/png"))
    assert picture.shape == (1024, 1024, 3)


def test_same_text2video_request_gives_the_same_clip(api: Api, headers: dict[str, str]) -> None:
    path = "/v1/videos/text2video"
    body = {"prompt": "repeat me", "aspect_ratio": "1:1"}
    first = create(api, headers, path, {**body, "external_task_id": "a"})
    second = create(api, headers, path, {**body, "external_task_id": "b"})
    urls = []
    for task in (first, second):
        data = wait_task(api.client, path, task["task_id"], headers, timeout=300)
        assert data["task_status"] == "succeed", data
        urls.append(data["task_result"]["videos"][0]["url"])
    assert download(api.client, urls[0], "video/mp4") == download(api.client, urls[1], "video/mp4")


def test_callbacks_carry_watermark_info_and_both_urls(api: Api, headers: dict[str, str]) -> None:
    receiver = HttpStub()
    try:
        path = "/kling/v1/images/generations"
        body = {
            "prompt": "a kite",
            "aspect_ratio": "1:1",
            "watermark_info": {"enabled": True},
            "callback_url": f"{receiver.url}/hook",
        }
        created = create(api, headers, path, body)
        data = wait_task(api.client, path, created["task_id"], headers)
        assert data["task_status"] == "succeed", data
        events = [json.loads(r.body) for r in receiver.wait_for(3, timeout=30)]
    finally:
        receiver.close()
    assert [e["task_status"] for e in events] == ["submitted", "processing", "succeed"]
    assert all(e["watermark_info"] == {"enabled": True} for e in events)
    [item] = events[-1]["task_result"]["images"]
    clean = png_pixels(download(api.client, item["url"], "image/png"))
    marked = png_pixels(download(api.client, item["watermark_url"], "image/png"))
    inside = badge_mask(1024, 1024)
    assert mean_diff(clean, marked, inside) > 15
    assert np.array_equal(clean[~inside], marked[~inside])


def test_an_engine_that_claims_the_watermark_but_returns_no_copy_fails_the_task(
    api_factory: Callable[..., Api],
) -> None:
    engine = GatedEngine(
        name="forgetful",
        capabilities=Capabilities(kinds=frozenset(TaskKind), features=frozenset(Feature)),
    )
    engine.release.set()
    api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    headers = api.auth(api.new_key())
    path = "/v1/videos/text2video"
    body = {"prompt": "x", "watermark_info": {"enabled": True}}
    data = wait_task(api.client, path, create(api, headers, path, body)["task_id"], headers)
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == "the engine produced no watermarked copy of its output"
