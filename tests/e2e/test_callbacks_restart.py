"""A callback that failed before the server died is delivered after the restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from openreel.wire.webhook_signing import new_secret
from tests.support.helpers import image_b64
from tests.support.http_stub import HttpStub, Recorded, Reply
from tests.support.server import running_server

pytestmark = pytest.mark.db


def test_pending_callback_survives_a_crash(server_dir: Path, server_env: dict[str, str]) -> None:
    secret = new_secret()
    env = {
        **server_env,
        "OPENREEL_WEBHOOK_SECRET": secret,
        "OPENREEL_CALLBACK_RETRY_SCHEDULE": "3,3,3",
    }
    receiver_up = False

    def route(_: Recorded) -> Reply:
        return Reply(200 if receiver_up else 503)

    receiver = HttpStub(route)
    try:
        with running_server(server_dir, env) as server:
            key = server.printed_key()
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                created = client.post(
                    "/v1/videos/image2video",
                    json={"image": image_b64(), "callback_url": f"{receiver.url}/hook"},
                )
                assert created.status_code == 200, created.text
                task_id = created.json()["data"]["task_id"]
                (refused,) = receiver.wait_for(1)  # the first attempt fails...
                log_url = f"/v1/videos/image2video/{task_id}/callbacks"
                deadline = time.monotonic() + 10
                while not client.get(log_url).json()["data"]["deliveries"][0]["attempts"]:
                    assert time.monotonic() < deadline, "the failed attempt was never recorded"
                    time.sleep(0.02)
                server.kill()  # ...and the server dies before its retry, 3 s later

        receiver_up = True
        with running_server(server_dir, env):
            requests = receiver.wait_for(4, timeout=60)
    finally:
        receiver.close()

    events = [json.loads(r.body) for r in requests]
    assert [e["task_status"] for e in events] == ["submitted", "submitted", "processing", "succeed"]
    assert {e["task_id"] for e in events} == {task_id}
    assert requests[1].headers["webhook-id"] == refused.headers["webhook-id"]
    for request in requests:
        assert Webhook(secret).verify(request.body, request.headers) is not None
