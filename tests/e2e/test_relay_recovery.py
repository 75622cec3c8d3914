"""SIGKILL of a relaying front server at each phase: after a restart the task finishes, and
upstream made exactly one task for it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.helpers import image_b64
from tests.support.http_stub import Recorded
from tests.support.kling_stub import VIDEO_BYTES, KlingStub
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _has(stub: KlingStub, match: Callable[[Recorded], bool]) -> bool:
    return any(match(r) for r in stub.http.requests)


@pytest.mark.parametrize("phase", ["creating", "polling", "mirroring"])
def test_sigkill_at_each_phase_then_one_upstream_task(
    tmp_path: Path, server_env: dict[str, str], phase: str
) -> None:
    stub = KlingStub(polls_to_finish=4 if phase == "polling" else 1)
    stub.create_delay = 3.0 if phase == "creating" else 0.0
    stub.result_delay = 3.0 if phase == "mirroring" else 0.0
    upstream = {"base_url": stub.url, "style": "kling", "api_key": "sk-x", "poll_interval": 0.3}
    env = {
        **server_env,
        "OPENREEL_ROUTES": json.dumps({"*": "relay:up"}),
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": upstream}),
    }
    data_dir, port = tmp_path / "front", free_port()
    front = ServerProcess(data_dir, port, env, [])
    try:
        front.wait_ready()
        key = front.printed_key()
        created = httpx.post(
            f"{front.url}{PATH}",
            headers={"Authorization": f"Bearer {key}"},
            json={"image": image_b64(640, 400), "model_name": "kling-v2-1"},
            timeout=30,
        )
        assert created.status_code == 200, created.text
        task_id = created.json()["data"]["task_id"]
        if phase == "creating":
            _wait(lambda: len(stub.creates) == 1, "no create reached upstream")
        elif phase == "polling":
            _wait(lambda: _has(stub, lambda r: r.path == f"{PATH}/1000"), "never polled")
        else:
            _wait(lambda: _has(stub, lambda r: r.path.startswith("/results/")), "never mirrored")
        front.kill()
        stub.create_delay = stub.result_delay = 0.0

        front = ServerProcess(data_dir, port, env, [])
        front.wait_ready()
        deadline = time.monotonic() + 90
        with httpx.Client(
            base_url=front.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            while True:
                data = client.get(f"{PATH}/{task_id}").json()["data"]
                if data["task_status"] in ("succeed", "failed"):
                    break
                assert time.monotonic() < deadline, data
                time.sleep(0.2)
        assert data["task_status"] == "succeed", data
        assert httpx.get(data["task_result"]["videos"][0]["url"], timeout=10).content == (
            VIDEO_BYTES
        )
        assert len(stub.creates) == 1 and len(stub.tasks) == 1
        if phase == "creating":  # the restarted front found the task instead of making one
            assert _has(stub, lambda r: f"external_task_id=openreel-{task_id}" in r.path)
    finally:
        front.stop()
        stub.close()
