"""Upstream callbacks of relayed tasks: openreel's signed endpoint, against the scripted
upstream. A callback makes the task ask upstream at once (the poll interval here is far longer
than any test); a forged one is refused; late and duplicate ones change nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from openreel.wire.relay_callbacks import callback_path
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.kling_stub import VIDEO_BYTES, KlingStub
from tests.support.polling import wait_task
from tests.support.relay import relayed_app

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"
FRONT = "https://front.example:8443/base"


@pytest.fixture
def stub() -> Iterator[KlingStub]:
    upstream = KlingStub(polls_to_finish=10_000)
    yield upstream
    upstream.close()


def relay_api(api_factory: Callable[..., Api], stub: KlingStub, **config: Any) -> Api:
    # No poll within any test: only a callback can move the task along.
    return relayed_app(
        api_factory, stub, **{"poll_interval": 600, "callback_base_url": FRONT, **config}
    )


def relayed(api: Api, stub: KlingStub, headers: dict[str, str]) -> tuple[str, str]:
    """A relayed task once its upstream task exists and is stored: (task id, the path of the
    callback_url its upstream got, under this server)."""
    response = api.client.post(
        PATH, headers=headers, json={"image": image_b64(640, 400), "model_name": "kling-v2-1"}
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    assert api.client.portal is not None
    deadline = time.monotonic() + 30
    while True:
        row = api.client.portal.call(api.services.tasks_repo.get, task_id)
        assert row is not None
        if (row.plan.get("engine_state") or {}).get("upstream_task_id") == "1000":
            break
        assert time.monotonic() < deadline, "the upstream task was never stored"
        time.sleep(0.05)
    url = str(stub.tasks["1000"].body["callback_url"])
    assert url.startswith(FRONT + "/openreel/v1/relay/callbacks/")
    return task_id, urlsplit(url).path.removeprefix("/base")


def polls(stub: KlingStub) -> int:
    return sum(1 for r in stub.http.requests if r.method == "GET" and r.path == f"{PATH}/1000")


def test_a_callback_finishes_the_task_at_once(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    api = relay_api(api_factory, stub)
    headers = api.auth(api.new_key())
    task_id, path = relayed(api, stub, headers)
    assert callback_path(b"x", task_id) != path  # signed with this server's secret
    stub.tasks["1000"].status = "processing"
    stub.processing_msg = "rendering on upstream"
    # Kling's callback body: the task's fields at top level.
    answer = api.client.post(path, json={"task_id": "1000", "task_status": "processing"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == 0 and answer.json()["message"] == "accepted"
    deadline = time.monotonic() + 30
    while True:
        data = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
        if data["task_status_msg"] == "rendering on upstream":
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.05)
    assert data["task_status"] == "processing" and polls(stub) == 1
    stub.tasks["1000"].status = "succeed"
    # A duplicate of the first callback, then the last one: either wakes the task; the
    # upstream's own answer decides (a stale "processing" body cannot hold it back).
    for status in ("processing", "succeed"):
        assert api.client.post(path, json={"task_id": "1000", "task_status": status}).is_success
    data = wait_task(api.client, PATH, task_id, headers, timeout=30)
    assert data["task_status"] == "succeed", data
    assert api.client.get(data["task_result"]["videos"][0]["url"]).content == VIDEO_BYTES
    # Late callbacks for an ended task: acknowledged, nothing more.
    late = api.client.post(path, json={"task_id": "1000", "task_status": "processing"})
    assert late.status_code == 200 and late.json()["message"] == "ignored: the task has ended"
    after = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
    assert (after["task_status"], after["updated_at"]) == ("succeed", data["updated_at"])
    assert len(stub.creates) == 1


def test_forged_callbacks_are_refused(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    api = relay_api(api_factory, stub)
    headers = api.auth(api.new_key())
    task_id, path = relayed(api, stub, headers)
    other = api.client.post(
        PATH, headers=headers, json={"image": image_b64(640, 400), "model_name": "kling-v2-1"}
    )
    other_id = other.json()["data"]["task_id"]
    token = path.rsplit("/", 1)[1]
    forged = [
        path[: -len(token)] + "0" * len(token),  # a wrong token
        path.replace(task_id, other_id),  # a good token of another task
        f"/openreel/v1/relay/callbacks/{task_id}/",  # none at all
        callback_path(b"not-the-server-secret", task_id),
    ]
    stub.tasks["1000"].status = "succeed"
    for url in forged:
        answer = api.client.post(url, json={"task_id": "1000", "task_status": "succeed"})
        assert answer.status_code in (401, 404), (url, answer.text)
        if answer.status_code == 401:
            assert answer.json()["code"] == 1000
            assert "token" in answer.json()["message"]
    time.sleep(1.0)  # a nudge would have been acted on within a 0.5 s step
    assert polls(stub) == 0
    data = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
    assert data["task_status"] == "processing"
    # The token names the task, not the upstream task id a body claims.
    wrong = api.client.post(path, json={"task_id": "999999", "task_status": "succeed"})
    assert wrong.status_code == 200 and wrong.json()["message"].startswith("ignored")


def test_callbacks_are_off_by_default(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    api = relay_api(api_factory, stub, callback_base_url=None)
    headers = api.auth(api.new_key())
    response = api.client.post(
        PATH,
        headers=headers,
        json={
            "image": image_b64(640, 400),
            "model_name": "kling-v2-1",
            "callback_url": "http://127.0.0.1:9/client-hook",
        },
    )
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 30
    while "1000" not in stub.tasks:
        assert time.monotonic() < deadline, "never created upstream"
        time.sleep(0.05)
    assert "callback_url" not in stub.tasks["1000"].body  # nor the client's own
