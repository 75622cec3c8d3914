"""The relay engine against a real upstream: a second openreel process with the classic engine.

The front server routes every model to ``relay:up``; its results must outlive the upstream
(which is stopped and its data deleted before the download).
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from openreel.tasks.rules import image_size
from tests.support.helpers import image_b64
from tests.support.results import mean_diff, mp4_frames, png_pixels
from tests.support.server import ServerProcess, free_port, running_server


def upstream_env(base: dict[str, str]) -> dict[str, str]:
    """The upstream keeps its own SQLite database: the front alone uses the test's database."""
    return {k: v for k, v in base.items() if k != "OPENREEL_DATABASE_URL"}


def relay_env(
    base: dict[str, str], upstream: ServerProcess, style: str, **extra: Any
) -> dict[str, str]:
    creds = upstream.printed_credentials()
    key: dict[str, Any] = (
        {"api_key": creds["api_key"]}
        if style == "cometapi"
        else {"access_key": creds["access_key"], "secret_key": creds["secret_key"]}
    )
    config = {"base_url": upstream.url, "style": style, "poll_interval": 0.2, **key, **extra}
    return {
        **base,
        "OPENREEL_ROUTES": json.dumps({"*": "relay:up"}),
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": config}),
    }


def poll(client: httpx.Client, path: str, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = client.get(f"{path}/{task_id}").json()["data"]
        if data["task_status"] in ("succeed", "failed"):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.2)


def upstream_tasks(upstream: ServerProcess, path: str, external_id: str) -> dict[str, Any]:
    key = upstream.printed_credentials()["api_key"]
    response = httpx.get(
        f"{upstream.url}{path}",
        params={"external_task_id": external_id},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def poll_upstream(
    upstream: ServerProcess, path: str, task_id: str, timeout: float
) -> dict[str, Any]:
    """The upstream's own view of its task once it has ended."""
    key = upstream.printed_credentials()["api_key"]
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(
            f"{upstream.url}{path}/{task_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["task_status"] in ("succeed", "failed"):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.2)


@pytest.fixture
def open_client() -> Iterator[Callable[[ServerProcess], httpx.Client]]:
    """Clients on a front server's API with its printed key, closed after the test."""
    made: list[httpx.Client] = []

    def make(front: ServerProcess) -> httpx.Client:
        headers = {"Authorization": f"Bearer {front.printed_key()}"}
        made.append(httpx.Client(base_url=front.url, headers=headers, timeout=30))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("style", ["kling", "cometapi"])
def test_image2video_relayed_and_mirrored(
    tmp_path: Path,
    server_env: dict[str, str],
    style: str,
    open_client: Callable[[ServerProcess], httpx.Client],
) -> None:
    upstream_dir = tmp_path / "upstream"
    prefix = "/kling/v1" if style == "cometapi" else "/v1"
    path = f"{prefix}/videos/image2video"
    # The upstream bills its own price (0.3 a second: "1.5" for 5 s), which the front charges.
    upstream_prices = {
        "OPENREEL_PRICES": json.dumps({"kling-v2-1": {"per_second": {"std": "0.3"}}})
    }
    upstream = ServerProcess(
        upstream_dir, free_port(), {**upstream_env(server_env), **upstream_prices}, []
    )
    try:
        upstream.wait_ready()
        env = relay_env(server_env, upstream, style)
        with running_server(tmp_path / "front", env) as front:
            client = open_client(front)
            created = client.post(
                path,
                json={
                    "image": image_b64(640, 400),
                    "model_name": "kling-v2-1",
                    "duration": "5",
                    "mode": "std",
                    "callback_url": "http://127.0.0.1:9/never",
                },
            )
            assert created.status_code == 200, created.text
            task_id = created.json()["data"]["task_id"]
            data = poll(client, path, task_id)
            assert data["task_status"] == "succeed", data
            video = data["task_result"]["videos"][0]
            assert video["url"].startswith(front.url)
            assert video["duration"] == "5"

            # Exactly one upstream task, found by openreel's external_task_id.
            found = upstream_tasks(upstream, path, f"openreel-{task_id}")
            assert found["task_status"] == "succeed"
            assert found["final_unit_deduction"] == data["final_unit_deduction"] == "1.5"
            listed = client.get(path, params={"pageNum": 1, "pageSize": 5}).json()["data"]
            assert listed[0]["final_unit_deduction"] == "1.5"
            upstream.stop()
            shutil.rmtree(upstream_dir)

            body = httpx.get(video["url"], timeout=30)
            assert body.status_code == 200
            assert body.content[4:8] == b"ftyp"
            assert len(body.content) > 10_000

            # No upstream secret in the front's log or metrics.
            metrics = client.get("/metrics").text
            secrets = upstream.printed_credentials()
            for name in ("api_key", "secret_key"):
                assert secrets[name] not in "".join(front.output)
                assert secrets[name] not in metrics
    finally:
        upstream.stop()


def test_multi_image_families_relayed_on_cometapi(
    tmp_path: Path, server_env: dict[str, str], open_client: Callable[[ServerProcess], httpx.Client]
) -> None:
    with running_server(tmp_path / "upstream", upstream_env(server_env)) as upstream:
        env = relay_env(server_env, upstream, "cometapi")
        with running_server(tmp_path / "front", env) as front:
            client = open_client(front)
            path = "/v1/images/multi-image2image"  # the front's Kling path; upstream's Comet one
            created = client.post(
                path,
                json={
                    "subject_image_list": [
                        {"subject_image": image_b64(400, 500, seed=s)} for s in range(2)
                    ],
                    "n": 2,
                    "aspect_ratio": "4:3",
                    "model_name": "kling-v2",
                },
            )
            assert created.status_code == 200, created.text
            task_id = created.json()["data"]["task_id"]
            data = poll(client, path, task_id)
            assert data["task_status"] == "succeed", data
            found = upstream_tasks(upstream, "/kling/v1/images/generations", f"openreel-{task_id}")
            assert found["task_status"] == "succeed"
            elements = client.post(
                "/v1/videos/multi-image2video",
                json={
                    "model_name": "kling-v1-6",
                    "prompt": "they meet",
                    "image_list": [{"image": image_b64(500, 500, seed=s)} for s in range(2)],
                    "aspect_ratio": "9:16",
                },
            )
            assert elements.status_code == 200, elements.text
            elements_id = elements.json()["data"]["task_id"]
            video = poll(client, "/v1/videos/multi-image2video", elements_id)
            assert video["task_status"] == "succeed", video
            upstream.stop()
            mp4 = httpx.get(video["task_result"]["videos"][0]["url"], timeout=30).content
            assert mp4[4:8] == b"ftyp" and len(mp4) > 10_000
            images = data["task_result"]["images"]
            assert len(images) == 2
            for item in images:
                response = httpx.get(item["url"], timeout=30)
                assert response.status_code == 200
                picture = Image.open(io.BytesIO(response.content))
                assert picture.width * 3 == picture.height * 4


@pytest.mark.parametrize("style", ["kling", "cometapi"])
def test_text_families_relayed_and_decoded_after_the_upstream_is_gone(
    tmp_path: Path,
    server_env: dict[str, str],
    style: str,
    open_client: Callable[[ServerProcess], httpx.Client],
) -> None:
    upstream_dir = tmp_path / "upstream"
    upstream = ServerProcess(upstream_dir, free_port(), upstream_env(server_env), [])
    try:
        upstream.wait_ready()
        with running_server(tmp_path / "front", relay_env(server_env, upstream, style)) as front:
            client = open_client(front)
            video = client.post(
                "/v1/videos/text2video",
                json={
                    "prompt": "a paper boat drifting down a rainy street",
                    "aspect_ratio": "16:9",
                },
            )
            images = client.post(
                "/kling/v1/images/generations",
                json={"prompt": "a paper boat, studio photo", "n": 2, "aspect_ratio": "9:16"},
            )
            assert video.status_code == images.status_code == 200, (video.text, images.text)
            video_id = video.json()["data"]["task_id"]
            images_id = images.json()["data"]["task_id"]
            clip = poll(client, "/v1/videos/text2video", video_id, timeout=300)
            pictures = poll(client, "/kling/v1/images/generations", images_id, timeout=300)
            assert clip["task_status"] == pictures["task_status"] == "succeed", (clip, pictures)
            prefix = "/kling/v1" if style == "cometapi" else "/v1"
            for path, task_id in (
                (f"{prefix}/videos/text2video", video_id),
                (f"{prefix}/images/generations", images_id),
            ):
                assert upstream_tasks(upstream, path, f"openreel-{task_id}")["task_status"] == (
                    "succeed"
                )
            upstream.stop()
            shutil.rmtree(upstream_dir)

            [result] = clip["task_result"]["videos"]
            assert result["url"].startswith(front.url)
            mp4 = httpx.get(result["url"], timeout=60)
            assert mp4.status_code == 200
            frames, rate = mp4_frames(mp4.content)
            assert rate == 30 and len(frames) == 150  # kling-v1, 5 s
            assert frames[0].shape == (720, 1280, 3)
            assert mean_diff(frames[0], frames[-1], np.ones((720, 1280), bool)) > 3

            width, height = image_size("9:16", "1k")
            decoded = []
            for item in pictures["task_result"]["images"]:
                assert item["url"].startswith(front.url)
                png = httpx.get(item["url"], timeout=60)
                assert png.status_code == 200 and png.headers["content-type"] == "image/png"
                decoded.append(png_pixels(png.content))
            assert len(decoded) == 2 and {p.shape for p in decoded} == {(height, width, 3)}
            assert decoded[0].tobytes() != decoded[1].tobytes()
    finally:
        upstream.stop()


def test_cancel_on_the_front_cancels_the_upstream_task(
    tmp_path: Path, server_env: dict[str, str], open_client: Callable[[ServerProcess], httpx.Client]
) -> None:
    with running_server(tmp_path / "upstream", upstream_env(server_env)) as upstream:
        env = relay_env(server_env, upstream, "kling", forward_cancel=True)
        with running_server(tmp_path / "front", env) as front:
            client = open_client(front)
            path = "/v1/videos/image2video"
            created = client.post(
                path,
                json={
                    "image": image_b64(640, 400),
                    "model_name": "kling-v2-1",
                    "duration": "10",
                    "mode": "pro",  # 1080p for 10 s: long enough to be cancelled mid-render
                },
            )
            assert created.status_code == 200, created.text
            task_id = created.json()["data"]["task_id"]
            external = f"openreel-{task_id}"
            deadline = time.monotonic() + 60
            while True:  # the upstream task exists and renders
                key = upstream.printed_credentials()["api_key"]
                found = httpx.get(
                    f"{upstream.url}{path}",
                    params={"external_task_id": external},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=10,
                )
                if found.status_code == 200:
                    upstream_task = found.json()["data"]
                    assert upstream_task["task_status"] in ("submitted", "processing")
                    break
                assert time.monotonic() < deadline, found.text
                time.sleep(0.1)

            cancelled = client.post(f"{path}/{task_id}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["data"]["task_status"] == "failed"

            ended = poll_upstream(upstream, path, upstream_task["task_id"], timeout=30)
            assert ended["task_status"] == "failed", ended
            assert "cancelled" in ended["task_status_msg"]
            assert ended["task_result"] == {}
            data = client.get(f"{path}/{task_id}").json()["data"]
            assert data["task_status"] == "failed" and data["task_result"] == {}
            assert data["final_unit_deduction"] == "0"


def test_upstream_callbacks_reach_the_signed_endpoint(
    tmp_path: Path, server_env: dict[str, str], open_client: Callable[[ServerProcess], httpx.Client]
) -> None:
    """The upstream openreel calls back on the front's signed URL (its own callback sender,
    its own signature headers): the front asks it at once and finishes the task, though its
    first poll would come only after ten minutes."""
    path = "/v1/videos/text2video"
    with running_server(tmp_path / "upstream", upstream_env(server_env)) as upstream:
        port = free_port()
        env = relay_env(
            server_env,
            upstream,
            "kling",
            poll_interval=600,
            callback_base_url=f"http://127.0.0.1:{port}",
        )
        front = ServerProcess(tmp_path / "front", port, env, [])
        try:
            front.wait_ready()
            client = open_client(front)
            created = client.post(path, json={"prompt": "a lighthouse", "duration": "5"})
            assert created.status_code == 200, created.text
            task_id = created.json()["data"]["task_id"]
            data = poll(client, path, task_id, timeout=60)
            assert data["task_status"] == "succeed", data
            # Finished long before the first poll: the front asked upstream on its callback.
            video = httpx.get(data["task_result"]["videos"][0]["url"], timeout=30)
            assert video.content[4:8] == b"ftyp"
            # The upstream logged its deliveries to the front as delivered (2xx).
            key = upstream.printed_credentials()["api_key"]
            found = upstream_tasks(upstream, path, f"openreel-{task_id}")
            deadline = time.monotonic() + 30
            while True:
                log = httpx.get(
                    f"{upstream.url}{path}/{found['task_id']}/callbacks",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=10,
                ).json()["data"]["deliveries"]
                states = [item["state"] for item in log]
                if len(log) >= 2 and set(states) == {"delivered"}:
                    break  # processing, succeed: each one answered 2xx by the front
                assert time.monotonic() < deadline, log
                time.sleep(0.2)
            assert all(item["url"].startswith(f"http://127.0.0.1:{port}/") for item in log)
        finally:
            front.stop()
