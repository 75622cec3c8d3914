"""What the diffusers-engine tests share: tiny model settings, a task rendered through the API
and decoded, and checks on decoded frames."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

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
    url = data["task_result"]["videos"][0]["url"]
    key, query = url.split("/files/", 1)[1].split("?", 1)
    video = api.client.get(f"/files/{key}?{query}")
    assert video.status_code == 200
    file = Path(api.services.settings.data_dir) / "check.mp4"
    file.write_bytes(video.content)
    with av.open(str(file)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return data, frames


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
