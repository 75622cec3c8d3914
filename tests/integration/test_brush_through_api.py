"""Motion-brush fields travel from the wire to the classic engine: a static mask freezes its
region in the decoded video and a dynamic mask moves its region (Kling's bottom-left
trajectory coordinates)."""

from __future__ import annotations

import io

import av
import numpy as np

from tests.support.api import Api
from tests.support.helpers import b64, encode, textured
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"


def frames_of(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def test_static_and_dynamic_masks_reach_the_engine(api: Api, headers: dict[str, str]) -> None:
    image = textured(640, 400, seed=11)
    static = np.zeros((400, 640, 3), np.uint8)
    static[:, :200] = 255  # left strip frozen
    moving = np.zeros((400, 640, 3), np.uint8)
    moving[150:250, 400:500] = 255  # a square on the right, to be dragged
    body = {
        "model_name": "kling-v1",
        "image": b64(encode(image)),
        "static_mask": b64(encode(static)),
        "dynamic_masks": [
            {
                "mask": b64(encode(moving)),
                # bottom-left origin: y=199 is the square's centre row (400 - 1 - 200)
                "trajectories": [{"x": 450, "y": 199}, {"x": 560, "y": 199}],
            }
        ],
    }
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    data = wait_task(api.client, PATH, created.json()["data"]["task_id"], headers, timeout=300)
    assert data["task_status"] == "succeed", data["task_status_msg"]
    url = data["task_result"]["videos"][0]["url"].replace("http://testserver", "")
    frames = frames_of(api.client.get(url).content)
    assert len(frames) == 150  # kling-v1: 30 fps, 5 s
    height, width = frames[0].shape
    assert (width, height) == (1152, 720)
    frozen = (slice(10, height - 10), slice(10, int(200 * width / 640) - 10))
    for a, b in zip(frames, frames[1:], strict=False):
        assert float(np.abs(a[frozen] - b[frozen]).mean()) <= 1.0
    # The dragged square's area changes a lot between the first and last frame.
    square = (slice(int(150 * 1.8), int(250 * 1.8)), slice(int(400 * 1.8), int(500 * 1.8)))
    assert float(np.abs(frames[0][square] - frames[-1][square]).mean()) > 10
