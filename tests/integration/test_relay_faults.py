"""The relay engine against a scripted upstream that misbehaves (tests/support/kling_stub.py):
each fault leads to the outcome the design promises, with exactly one upstream task."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from openreel.callbacks.sender import callback_body
from openreel.store.tasks import TaskRecord
from openreel.tasks.prices import format_units
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.http_stub import Recorded, Reply
from tests.support.kling_stub import VIDEO_BYTES, KlingStub, error
from tests.support.polling import wait_task
from tests.support.relay import UPSTREAM_KEY, relayed_app

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"
KEY = UPSTREAM_KEY
KEY_2 = "sk-upstream-secret-0002"


def relay_api(
    api_factory: Callable[..., Api], upstream: KlingStub, workers: int | None = None, **config: Any
) -> tuple[Api, dict[str, str]]:
    api = relayed_app(api_factory, upstream, workers, **config)
    return api, api.auth(api.new_key())


def create(api: Api, headers: dict[str, str]) -> str:
    response = api.client.post(
        PATH,
        headers=headers,
        json={"image": image_b64(640, 400), "model_name": "kling-v2-1", "duration": "5"},
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


def row(api: Api, task_id: str) -> TaskRecord:
    assert api.client.portal is not None
    found = api.client.portal.call(api.services.tasks_repo.get, task_id)
    assert found is not None
    return found


def assert_mirrored(api: Api, data: dict[str, Any]) -> None:
    """Succeeded, with the upstream's video served by openreel itself."""
    assert data["task_status"] == "succeed", data
    video = data["task_result"]["videos"][0]
    assert video["duration"] == "5"
    assert video["url"].startswith("http://testserver/")
    assert api.client.get(video["url"]).content == VIDEO_BYTES


def test_rate_limits_and_5xx_are_waited_out(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    script = [error(429, 1302, "rate limited", **{"Retry-After": "1"})] + [
        error(500, 5000, "server error") for _ in range(3)
    ]

    def faults(request: Recorded) -> Reply | None:
        return script.pop(0) if request.method == "POST" and script else None

    stub.faults = faults
    api, headers = relay_api(api_factory, stub)
    started = time.monotonic()
    task_id = create(api, headers)
    data = wait_task(api.client, PATH, task_id, headers, timeout=60)
    assert_mirrored(api, data)
    posts = stub.creates
    assert len(posts) == 5 and len(stub.tasks) == 1
    assert posts[1].at - posts[0].at >= 0.9  # Retry-After honoured
    assert time.monotonic() - started < 30
    stored = row(api, task_id)
    assert stored.result is not None and stored.result["final_unit_deduction"] == "1.5"
    assert stored.plan["engine_state"]["upstream_task_id"] == "1000"
    # The upstream got openreel's external_task_id, not the client's callback.
    body = next(iter(stub.tasks.values())).body
    assert body["external_task_id"] == f"openreel-{task_id}" and "callback_url" not in body
    assert KEY not in str(stored.plan) and KEY not in str(stored.result)


def test_dropped_create_answer_makes_one_upstream_task(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.drop_create_answers = 1
    api, headers = relay_api(api_factory, stub)
    task_id = create(api, headers)
    assert_mirrored(api, wait_task(api.client, PATH, task_id, headers, timeout=60))
    assert len(stub.creates) == 1 and len(stub.tasks) == 1
    lookups = [r for r in stub.http.requests if "external_task_id=" in r.path]
    assert lookups and f"openreel-{task_id}" in lookups[0].path


def test_upstream_failure_reason_is_carried_over(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.final_status, stub.final_msg = "failed", "Failure to pass the risk control system"
    api, headers = relay_api(api_factory, stub)
    data = wait_task(api.client, PATH, create(api, headers), headers, timeout=60)
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == "Failure to pass the risk control system"


def test_moderation_at_create_fails_the_task(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.faults = lambda r: (
        error(400, 1301, "content security policy triggered") if r.method == "POST" else None
    )
    api, headers = relay_api(api_factory, stub)
    data = wait_task(api.client, PATH, create(api, headers), headers, timeout=60)
    assert data["task_status"] == "failed"
    assert "1301" in data["task_status_msg"]
    assert "content security policy triggered" in data["task_status_msg"]
    assert len(stub.creates) == 1


def test_bad_credentials_fail_naming_the_upstream_and_the_pool_moves_on(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    def faults(request: Recorded) -> Reply | None:
        if request.headers.get("authorization") == f"Bearer {KEY}":
            return error(401, 1002, "Authorization invalid")
        return None

    stub.faults = faults
    api, headers = relay_api(api_factory, stub, keys=[{"api_key": KEY_2}])
    first = wait_task(api.client, PATH, create(api, headers), headers, timeout=60)
    assert first["task_status"] == "failed"
    assert "upstream 'up' refused the credentials" in first["task_status_msg"]
    assert KEY not in first["task_status_msg"]
    # The refused key is not used again: the next task runs on the other key.
    second = wait_task(api.client, PATH, create(api, headers), headers, timeout=60)
    assert_mirrored(api, second)
    assert [t.authorization for t in stub.tasks.values()] == [f"Bearer {KEY_2}"]
    metrics = api.client.get("/metrics").text
    assert KEY not in metrics and KEY_2 not in metrics


def test_rate_limited_key_is_skipped(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    def faults(request: Recorded) -> Reply | None:
        if request.method == "POST" and request.headers.get("authorization") == f"Bearer {KEY}":
            return error(
                429, 1303, "parallel task over resource pack limit", **{"Retry-After": "60"}
            )
        return None

    stub.faults = faults
    api, headers = relay_api(api_factory, stub, keys=[{"api_key": KEY_2}])
    started = time.monotonic()
    task_id = create(api, headers)
    assert_mirrored(api, wait_task(api.client, PATH, task_id, headers, timeout=30))
    assert time.monotonic() - started < 20  # not the 60 s of Retry-After
    assert [t.authorization for t in stub.tasks.values()] == [f"Bearer {KEY_2}"]


def test_result_url_404_once_then_ok(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    stub.result_404s = 1
    api, headers = relay_api(api_factory, stub)
    assert_mirrored(api, wait_task(api.client, PATH, create(api, headers), headers, timeout=60))
    assert len([r for r in stub.http.requests if r.path.startswith("/results/")]) == 2


def test_concurrency_is_bounded_per_upstream(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.polls_to_finish = 4
    api, headers = relay_api(api_factory, stub, workers=3, max_concurrency=1)
    ids = [create(api, headers) for _ in range(3)]
    for task_id in ids:
        assert_mirrored(api, wait_task(api.client, PATH, task_id, headers, timeout=60))
    assert len(stub.tasks) == 3 and stub.max_running == 1


def test_cancel_ends_the_task_and_the_upstream_result_is_discarded(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.polls_to_finish = 10_000
    api, headers = relay_api(api_factory, stub)
    task_id = create(api, headers)
    deadline = time.monotonic() + 30
    while not any(r.path == f"{PATH}/1000" for r in stub.http.requests):
        assert time.monotonic() < deadline, "never polled"
        time.sleep(0.05)
    cancelled = api.client.post(f"{PATH}/{task_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["task_status"] == "failed"
    time.sleep(1.0)  # the render notices at its next progress report
    polls = len(stub.http.requests)
    stub.tasks["1000"].status, stub.tasks["1000"].polls_left = "processing", 1
    time.sleep(1.0)
    assert len(stub.http.requests) == polls  # no more polling
    assert not any(r.path.startswith("/results/") for r in stub.http.requests)
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed" and data["task_result"] == {}


def test_upstream_timeouts_are_retried(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    slow = [Reply(200, b"{}", delay=2.0) for _ in range(2)]

    def faults(request: Recorded) -> Reply | None:
        polling = request.method == "GET" and request.path == f"{PATH}/1000"
        return slow.pop(0) if polling and slow else None

    stub.faults = faults
    api, headers = relay_api(api_factory, stub, request_timeout=0.5)
    assert_mirrored(api, wait_task(api.client, PATH, create(api, headers), headers, timeout=60))
    assert not slow and len(stub.tasks) == 1


def test_upstream_status_msg_is_shown_while_processing(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.polls_to_finish, stub.processing_msg = 10_000, "queued behind 3 tasks"
    api, headers = relay_api(api_factory, stub)
    task_id = create(api, headers)
    deadline = time.monotonic() + 30
    while True:
        data = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
        if data["task_status_msg"] == "queued behind 3 tasks":
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.05)
    assert data["task_status"] == "processing"
    stub.tasks["1000"].polls_left = 1
    assert_mirrored(api, wait_task(api.client, PATH, task_id, headers, timeout=30))
    assert row(api, task_id).status_msg == ""


def test_upstream_charge_is_what_the_task_charges(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.units = "2.5"
    api, headers = relay_api(api_factory, stub)
    response = api.client.post(
        PATH,
        headers=headers,
        json={
            "image": image_b64(640, 400),
            "model_name": "kling-v2-1",
            "duration": "5",
            # Nothing listens there: the events stay in the outbox, where the test reads them.
            "callback_url": "http://127.0.0.1:9/hook",
        },
    )
    assert response.status_code == 200, response.text
    task_id = response.json()["data"]["task_id"]
    quoted = row(api, task_id).price_milli
    assert quoted is not None and quoted != 2500  # the local table prices it otherwise
    data = wait_task(api.client, PATH, task_id, headers, timeout=60)
    assert_mirrored(api, data)
    assert data["final_unit_deduction"] == "2.5"
    listed = api.client.get(PATH, headers=headers, params={"pageNum": 1, "pageSize": 10})
    assert listed.json()["data"][0]["final_unit_deduction"] == "2.5"
    stored = row(api, task_id)
    assert stored.price_milli == 2500
    assert_db = api.client.portal
    assert assert_db is not None

    def charged(conn: Connection) -> list[Any]:
        return list(
            conn.execute(
                sa.text("select units_milli from task_usage where task_id = :t"), {"t": task_id}
            ).scalars()
        )

    def events(conn: Connection) -> list[Any]:
        query = (
            "select event from webhook_deliveries where task_id = :t and task_status = 'succeed'"
        )
        return list(conn.execute(sa.text(query), {"t": task_id}).scalars())

    assert assert_db.call(api.services.db.read, charged) == [2500]
    (event,) = assert_db.call(api.services.db.read, events)
    event = json.loads(event) if isinstance(event, str) else event
    body = json.loads(callback_body(event, lambda key, base: f"http://front/{key}"))
    assert body["final_unit_deduction"] == "2.5"


def test_unreadable_upstream_charge_keeps_the_quoted_price(
    api_factory: Callable[..., Api], stub: KlingStub
) -> None:
    stub.units = "lots"
    api, headers = relay_api(api_factory, stub)
    task_id = create(api, headers)
    quoted = row(api, task_id).price_milli
    data = wait_task(api.client, PATH, task_id, headers, timeout=60)
    assert_mirrored(api, data)
    assert row(api, task_id).price_milli == quoted
    assert data["final_unit_deduction"] == format_units(quoted or 0)


@pytest.mark.parametrize("refused", [False, True])
def test_cancel_is_forwarded_best_effort(
    api_factory: Callable[..., Api], stub: KlingStub, refused: bool
) -> None:
    stub.polls_to_finish = 10_000
    if refused:
        stub.cancel_reply = error(500, 5000, "server error")
    api, headers = relay_api(api_factory, stub, forward_cancel=True)
    task_id = create(api, headers)
    deadline = time.monotonic() + 30
    while not any(r.path == f"{PATH}/1000" for r in stub.http.requests):
        assert time.monotonic() < deadline, "never polled"
        time.sleep(0.05)
    cancelled = api.client.post(f"{PATH}/{task_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["task_status"] == "failed"
    while not stub.cancels:
        assert time.monotonic() < deadline, "cancel never forwarded"
        time.sleep(0.05)
    time.sleep(0.5)
    assert [r.path for r in stub.cancels] == [f"{PATH}/1000/cancel"]  # once, never retried
    assert stub.cancels[0].headers["authorization"] == f"Bearer {KEY}"
    assert stub.tasks["1000"].status == ("processing" if refused else "failed")
    assert len(stub.creates) == 1
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed" and data["task_result"] == {}
    assert "cancelled" in data["task_status_msg"]


def test_concurrency_is_bounded_per_key(api_factory: Callable[..., Api], stub: KlingStub) -> None:
    stub.polls_to_finish = 4
    api, headers = relay_api(
        api_factory,
        stub,
        workers=4,
        keys=[{"api_key": KEY_2, "max_concurrency": 2}],
        max_concurrency_per_key=1,  # the top-level key's bound (KEY_2 sets its own)
        max_concurrency=4,
    )
    ids = [create(api, headers) for _ in range(4)]
    for task_id in ids:
        assert_mirrored(api, wait_task(api.client, PATH, task_id, headers, timeout=60))
    assert len(stub.tasks) == 4
    assert stub.max_running_by_key[f"Bearer {KEY}"] == 1
    assert stub.max_running_by_key[f"Bearer {KEY_2}"] <= 2
    assert KEY not in str(row(api, ids[0]).plan)
