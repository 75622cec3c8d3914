"""Durability: a task whose server is SIGKILLed mid-render finishes after a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.helpers import image_b64
from tests.support.server import running_server

pytestmark = pytest.mark.db


def test_sigkill_during_render_then_restart_succeeds(
    server_dir: Path, server_env: dict[str, str]
) -> None:
    path = "/v1/videos/image2video"
    with running_server(server_dir, server_env) as server:
        key = server.printed_key()
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            # A long render (pro 1080p, 10 s) so the kill lands while it runs.
            created = client.post(
                path,
                json={
                    "image": image_b64(640, 400),
                    "mode": "pro",
                    "duration": "10",
                    "model_name": "kling-v2-1",
                },
            )
            assert created.status_code == 200, created.text
            task_id = created.json()["data"]["task_id"]
            deadline = time.monotonic() + 60
            while True:
                data = client.get(f"{path}/{task_id}").json()["data"]
                if data["task_status"] == "processing" and data["progress"] > 0:
                    break
                assert data["task_status"] in ("submitted", "processing"), data
                assert time.monotonic() < deadline, "render never started"
                time.sleep(0.05)
            server.kill()

    with running_server(server_dir, server_env) as server:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            data = client.get(f"{path}/{task_id}").json()["data"]
            assert data["task_status"] in ("submitted", "processing")
            deadline = time.monotonic() + 240
            while data["task_status"] not in ("succeed", "failed"):
                assert time.monotonic() < deadline, data
                time.sleep(0.2)
                data = client.get(f"{path}/{task_id}").json()["data"]
            assert data["task_status"] == "succeed", data
            video = httpx.get(data["task_result"]["videos"][0]["url"], timeout=60)
            assert video.status_code == 200 and len(video.content) > 10_000
    # Nothing of the interrupted attempt is kept beside the successful one.
    attempts = sorted(p.name for p in (server_dir / "blobs" / "outputs" / task_id).iterdir())
    assert attempts == ["2"]
