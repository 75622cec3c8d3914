"""What the diffusers-engine tests share: tiny model settings, a task rendered through the API
and decoded (videos and PNGs), what a recording adapter saw, and checks on decoded frames."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

from tests.support.api import Api
from tests.support.polling import wait_task

I2V_PATH = "/v1/videos/image2video"
TINY = {
    "steps": 2,
    "area": 256,  # 16x16 frames
    "max_frames": 9,
    "fps": 8,
    "dtype": "float32",
    "device": "cpu",
    "guidance_scale": 1.0,
}


def render(
    api: Api, headers: dict[str, str], body: Mapping[str, object], path: str = I2V_PATH
) -> tuple[dict[str, Any], list[np.ndarray]]:
    created = api.client.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, path, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed", data
    frames, _ = fetch_video(api, data)
    return data, frames


def fetch_video(api: Api, data: dict[str, Any]) -> tuple[list[np.ndarray], float]:
    """The decoded frames and frame rate of a finished task's first video."""
    url = data["task_result"]["videos"][0]["url"]
    key, query = url.split("/files/", 1)[1].split("?", 1)
    video = api.client.get(f"/files/{key}?{query}")
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    file = Path(api.services.settings.data_dir) / "check.mp4"
    file.write_bytes(video.content)
    with av.open(str(file)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames, fps


def fetch_pngs(api: Api, data: dict[str, Any]) -> list[np.ndarray]:
    """The decoded pictures of a finished image task, in ``index`` order."""
    images = data["task_result"]["images"]
    assert [image["index"] for image in images] == list(range(len(images)))
    decoded = []
    for image in images:
        png = api.client.get(image["url"].replace("http://testserver", ""))
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        picture = Image.open(io.BytesIO(png.content))
        assert picture.format == "PNG" and picture.mode == "RGB"
        decoded.append(np.asarray(picture))
    return decoded


def run_task(
    api: Api, headers: dict[str, str], path: str, body: Mapping[str, object]
) -> dict[str, Any]:
    """Create a task on ``path`` and wait until it succeeds; its ``data``."""
    created = api.client.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, path, created.json()["data"]["task_id"], headers, timeout=300)
    assert data["task_status"] == "succeed", data["task_status_msg"]
    return data


def spied_call(weights: Path, task_id: str) -> dict[str, Any]:
    """What the recording adapter's pipeline got for ``task_id`` (``tests.fakes.tiny_wan``)."""
    calls = [json.loads(line) for line in (weights / "calls.jsonl").read_text().splitlines()]
    (call,) = [c for c in calls if c["task"] == task_id]
    found: dict[str, Any] = call
    return found


def mean_rgb(image: np.ndarray) -> list[float]:
    return [float(v) for v in image.reshape(-1, 3).mean(0)]


def assert_held(frames: list[np.ndarray], source: np.ndarray, region: tuple[slice, slice]) -> None:
    """``region`` of every decoded frame is ``source``'s (luma: H.264 keeps it closely, while
    4:2:0 chroma blurs a noisy texture) and does not move from frame to frame."""
    expected = luma(source)[region]
    for frame in frames:
        assert float(np.abs(luma(frame)[region] - expected).mean()) < 4
        assert float(np.abs(luma(frame)[region] - luma(frames[0])[region]).mean()) < 3


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
