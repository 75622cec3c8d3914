"""The LTX-Video adapter end to end (tiny random weights saved like real ones): first and last
frame conditions, or the last one alone, reach the pipeline at the right frame indices."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.fakes.tiny_ltx import save_tiny_ltx
from tests.support.api import Api
from tests.support.helpers import b64, encode, textured
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"
TINY = {
    "steps": 2,
    "area": 2048,  # 64x32 frames from a 16:10 picture (LTX wants multiples of 32)
    "max_frames": 9,
    "fps": 8,
    "dtype": "float32",
    "device": "cpu",
    "guidance_scale": 1.0,
}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_ltx(tmp_path_factory.mktemp("ltx") / "weights")


@pytest.fixture(scope="module")
def api(module_api_factory: Callable[..., Api], weights: Path) -> Api:
    return module_api_factory(
        routes={"*": "classic", "ltx-spy": "diffusers", "ltx": "diffusers"},
        diffusers_models={
            "ltx-spy": {
                "adapter": "tests.fakes.tiny_ltx:RecordingLtx",
                "weights": str(weights),
                **TINY,
            },
            "ltx": {"adapter": "ltx_video", "weights": str(weights), **TINY},
        },
    )


def mean_rgb(image: np.ndarray) -> list[float]:
    return [float(v) for v in image.reshape(-1, 3).mean(0)]


def run(
    api: Api, headers: dict[str, str], body: Mapping[str, object]
) -> tuple[dict[str, Any], list[np.ndarray]]:
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed", data
    path, query = data["task_result"]["videos"][0]["url"].split("/files/", 1)[1].split("?", 1)
    file = Path(api.services.settings.data_dir) / f"{data['task_id']}.mp4"
    file.write_bytes(api.client.get(f"/files/{path}?{query}").content)
    with av.open(str(file)) as container:
        return data, [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def calls(weights: Path, task_id: str) -> dict[str, Any]:
    lines = (weights / "calls.jsonl").read_text().splitlines()
    (call,) = [c for c in map(json.loads, lines) if c["task"] == task_id]
    return dict(call)


def test_first_and_last_frame_conditions(api: Api, headers: dict[str, str], weights: Path) -> None:
    first, tail = textured(640, 400, seed=2), textured(640, 400, seed=6)
    tail[:, :, 2] = 250
    body = {"model_name": "ltx-spy", "image": b64(encode(first)), "image_tail": b64(encode(tail))}
    data, frames = run(api, headers, body)
    assert len(frames) == 9 and frames[0].shape == (32, 64, 3)
    call = calls(weights, data["task_id"])
    assert call["num_frames"] == 9 and call["frame_rate"] == 8
    (start, end) = call["conditions"]
    assert start["frame_index"] == 0 and end["frame_index"] == 8
    assert start["image"] == pytest.approx(mean_rgb(first), abs=12)
    assert end["image"] == pytest.approx(mean_rgb(tail), abs=12)


def test_a_tail_alone_conditions_the_last_frame(
    api: Api, headers: dict[str, str], weights: Path
) -> None:
    tail = textured(400, 640, seed=8)  # portrait: the output follows its aspect
    data, frames = run(api, headers, {"model_name": "ltx-spy", "image_tail": b64(encode(tail))})
    assert frames[0].shape[0] > frames[0].shape[1]
    (only,) = calls(weights, data["task_id"])["conditions"]
    assert only["frame_index"] == 8
    assert only["image"] == pytest.approx(mean_rgb(tail), abs=12)


def test_the_built_in_name_serves_the_same_weights(api: Api, headers: dict[str, str]) -> None:
    _, frames = run(api, headers, {"model_name": "ltx", "image": b64(encode(textured(500, 500)))})
    assert len(frames) == 9 and frames[0].shape == (32, 32, 3)  # square in, square out
