"""Submit -> poll -> download -> decode, against a real server process on loopback."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import av
import httpx
from PIL import Image

from tests.support.helpers import image_b64
from tests.support.image_host import ImageHost
from tests.support.server import running_server


def poll(client: httpx.Client, path: str, task_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen_progress: set[int] = set()
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"{path}/{task_id}").json()["data"]
        seen_progress.add(data["progress"])
        if data["task_status"] in ("succeed", "failed"):
            data["_seen_progress"] = sorted(seen_progress)
            return data
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


def probe_video(data: bytes) -> tuple[int, int, float, int, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = float(stream.average_rate or 0)
        width, height = stream.codec_context.width, stream.codec_context.height
        duration = float(container.duration or 0) / 1_000_000
    return width, height, rate, frames, duration


def test_image2video_end_to_end(
    server_dir: Path, server_env: dict[str, str], image_host: ImageHost
) -> None:
    with running_server(server_dir, server_env) as server:
        key = server.printed_key()
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            # CometAPI prefix with a base64 image, Kling prefix with a URL image.
            a = client.post(
                "/kling/v1/videos/image2video",
                json={"image": image_b64(640, 400), "prompt": "zoom in"},
            )
            b = client.post(
                "/v1/videos/image2video",
                json={
                    "image": f"{image_host.url}/photo.png",
                    "model_name": "kling-v2-1",
                    "mode": "pro",
                    "duration": "5",
                },
            )
            assert a.status_code == b.status_code == 200, (a.text, b.text)

            data = poll(client, "/kling/v1/videos/image2video", a.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            video_url = data["task_result"]["videos"][0]["url"]
            assert video_url.startswith(server.url + "/files/")
            content = httpx.get(video_url, timeout=30)
            assert content.status_code == 200
            assert content.headers["content-type"] == "video/mp4"
            width, height, rate, frames, duration = probe_video(content.content)
            assert (width, height) == (1152, 720)  # std: 720 on the short side, 16:10 kept
            assert rate == 30 and frames == 150  # kling-v1: 30 fps, 5 s
            assert abs(duration - 5.0) < 0.1

            # Range requests (browsers seek in MP4 with them).
            partial = httpx.get(video_url, headers={"Range": "bytes=0-99"}, timeout=30)
            assert partial.status_code == 206 and len(partial.content) == 100
            assert partial.content == content.content[:100]

            # URLs are signed: a tampered one is refused.
            bad = httpx.get(video_url.replace("sig=", "sig=0"), timeout=30)
            assert bad.status_code == 403 and bad.json()["code"] == 1103

            data = poll(client, "/v1/videos/image2video", b.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            video = httpx.get(data["task_result"]["videos"][0]["url"], timeout=30).content
            width, height, rate, frames, _ = probe_video(video)
            assert (width, height) == (1440, 1080)  # pro: 1080 short side, 4:3 input
            assert rate == 24 and frames == 120


def test_multi_image_endpoints_end_to_end(server_dir: Path, server_env: dict[str, str]) -> None:
    with running_server(server_dir, server_env) as server:
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.printed_key()}"},
            timeout=30,
        ) as client:
            created = client.post(
                "/kling/v1/videos/multi-image2video",
                json={
                    "model_name": "kling-v1-6",
                    "duration": "5",
                    "prompt": "they meet",
                    "image_list": [{"image": image_b64(500, 500, seed=s)} for s in range(3)],
                    "aspect_ratio": "9:16",
                },
            )
            assert created.status_code == 200, created.text
            images = client.post(
                "/kling/v1/images/generations",
                json={
                    "subject_image_list": [
                        {"subject_image": image_b64(400, 500, seed=s)} for s in range(2)
                    ],
                    "scence_image": image_b64(800, 450, seed=7),
                    "n": 3,
                    "aspect_ratio": "4:3",
                    "model_name": "kling-v2",
                },
            )
            assert images.status_code == 200, images.text

            data = poll(
                client, "/kling/v1/videos/multi-image2video", created.json()["data"]["task_id"]
            )
            assert data["task_status"] == "succeed", data
            width, height, rate, frames, _ = probe_video(
                httpx.get(data["task_result"]["videos"][0]["url"], timeout=30).content
            )
            assert (width, height) == (720, 1280) and rate == 30 and frames == 150

            data = poll(client, "/kling/v1/images/generations", images.json()["data"]["task_id"])
            assert data["task_status"] == "succeed", data
            results = data["task_result"]["images"]
            assert len(results) == 3
            decoded = []
            for item in results:
                response = httpx.get(item["url"], timeout=30)
                assert response.headers["content-type"] == "image/png"
                img = Image.open(io.BytesIO(response.content))
                assert img.width * 3 == img.height * 4
                decoded.append(img.tobytes())
            assert len(set(decoded)) == 3
