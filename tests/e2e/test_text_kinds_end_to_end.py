"""text2video and text-to-image against a real server process: create, poll, download over
HTTP, decode the MP4 and the PNGs (classic test cards), with and without the watermark."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from openreel.tasks.rules import image_size
from tests.support.results import badge_mask, mean_diff, mp4_frames, png_pixels
from tests.support.server import running_server


def finished(client: httpx.Client, path: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"{path}/{task_id}").json()["data"]
        if data["task_status"] in ("succeed", "failed"):
            return data
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} did not finish")


def fetched(url: str, content_type: str) -> bytes:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == content_type
    return response.content


def test_text2video_and_text_to_image_end_to_end(
    server_dir: Path, server_env: dict[str, str]
) -> None:
    with running_server(server_dir, server_env) as server:
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.printed_key()}"},
            timeout=30,
        ) as client:
            video = client.post(
                "/kling/v1/videos/text2video",
                json={
                    "prompt": "a paper boat drifting down a rainy street",
                    "aspect_ratio": "16:9",
                    "camera_control": {"type": "forward_up"},
                    "watermark_info": {"enabled": True},
                },
            )
            images = client.post(
                "/v1/images/generations",
                json={"prompt": "a paper boat, studio photo", "n": 3, "aspect_ratio": "9:16"},
            )
            assert video.status_code == images.status_code == 200, (video.text, images.text)

            data = finished(client, "/kling/v1/videos/text2video", video.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            assert data["watermark_info"] == {"enabled": True}
            [result] = data["task_result"]["videos"]
            clean, rate = mp4_frames(fetched(result["url"], "video/mp4"))
            marked, _ = mp4_frames(fetched(result["watermark_url"], "video/mp4"))
            assert rate == 30 and len(clean) == len(marked) == 150  # kling-v1, 5 s
            assert clean[0].shape == (720, 1280, 3)
            everywhere = np.ones((720, 1280), bool)
            assert mean_diff(clean[0], clean[-1], everywhere) > 3
            inside = badge_mask(1280, 720)
            assert mean_diff(clean[-1], marked[-1], inside) > 15
            assert mean_diff(clean[-1], marked[-1], ~inside) < 2

            data = finished(client, "/v1/images/generations", images.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            assert data["watermark_info"] == {"enabled": False}
            width, height = image_size("9:16", "1k")
            pictures = [
                png_pixels(fetched(item["url"], "image/png"))
                for item in data["task_result"]["images"]
            ]
            assert len(pictures) == 3 and {p.shape for p in pictures} == {(height, width, 3)}
            assert len({p.tobytes() for p in pictures}) == 3
