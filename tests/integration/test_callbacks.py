"""Callbacks: a real receiver on loopback gets every status change, in order, signed, and
retried until it answers 2xx (or 410, or the schedule runs out)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from openreel.wire.webhook_signing import new_secret
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.http_stub import HttpStub, Recorded, Reply
from tests.support.polling import wait_task

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"
SERVER_SECRET = new_secret()
FAST = {"callback_retry_schedule": [0.1, 0.1, 0.1, 0.1], "callback_timeout_seconds": 2.0}


@pytest.fixture
def receiver() -> Iterator[HttpStub]:
    server = HttpStub()
    yield server
    server.close()


@pytest.fixture
def api(stand_in_factory: Callable[..., Api]) -> Api:
    return stand_in_factory(webhook_secret=SERVER_SECRET, **FAST)


def create(api: Api, headers: dict[str, str], callback_url: str, **body: Any) -> str:
    payload = {"image": image_b64(), "prompt": "zoom in", "callback_url": callback_url, **body}
    response = api.client.post(PATH, json=payload, headers=headers)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


def bodies(requests: list[Recorded]) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in requests]


def delivery_log(api: Api, headers: dict[str, str], task_id: str) -> list[dict[str, Any]]:
    response = api.client.get(f"{PATH}/{task_id}/callbacks", headers=headers)
    assert response.status_code == 200, response.text
    deliveries: list[dict[str, Any]] = response.json()["data"]["deliveries"]
    return deliveries


def settled_log(
    api: Api, headers: dict[str, str], task_id: str, count: int, timeout: float = 15
) -> list[dict[str, Any]]:
    """The log once ``count`` events exist and none is pending."""
    deadline = time.monotonic() + timeout
    while True:
        log = delivery_log(api, headers, task_id)
        if len(log) >= count and all(d["state"] != "pending" for d in log):
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries still pending: {log}")
        time.sleep(0.05)


def test_every_status_change_arrives_in_order_with_kling_body_and_signature(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    task_id = create(api, headers, f"{receiver.url}/hook", external_task_id="order-1")
    final = wait_task(api.client, PATH, task_id, headers)
    assert final["task_status"] == "succeed"
    requests = receiver.wait_for(3)

    events = bodies(requests)
    assert [e["task_status"] for e in events] == ["submitted", "processing", "succeed"]
    for request, event in zip(requests, events, strict=True):
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        # Kling's callback body: the task's fields at top level, no {code, data} envelope.
        assert "code" not in event and "data" not in event
        assert event["task_id"] == task_id
        assert event["task_info"] == {"external_task_id": "order-1"}
        assert isinstance(event["created_at"], int) and isinstance(event["updated_at"], int)
        # Standard Webhooks signature, checked by the reference library.
        assert Webhook(SERVER_SECRET).verify(request.body, request.headers) is not None
    assert len({r.headers["webhook-id"] for r in requests}) == 3
    assert [e["updated_at"] for e in events] == sorted(e["updated_at"] for e in events)
    # The final event carries the result, and its link downloads the video.
    (video,) = events[2]["task_result"]["videos"]
    assert video["duration"] == "5" and video == final["task_result"]["videos"][0] | {
        "url": video["url"]
    }
    link = urlsplit(video["url"])
    download = api.client.get(f"{link.path}?{link.query}")
    assert download.status_code == 200 and download.content[4:8] == b"ftyp"
    assert events[0]["task_result"] == {} and events[1]["task_result"] == {}

    log = settled_log(api, headers, task_id, 3)
    assert [d["task_status"] for d in log] == ["submitted", "processing", "succeed"]
    assert all(d["state"] == "delivered" and len(d["attempts"]) == 1 for d in log)
    assert [d["event_id"] for d in log] == [r.headers["webhook-id"] for r in requests]


def test_a_failed_task_reports_failed_with_its_message(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    missing = f"{receiver.url}/missing.png"  # the receiver answers 200 with no image
    task_id = create(api, headers, f"{receiver.url}/hook", image=missing)
    wait_task(api.client, PATH, task_id, headers)
    events = bodies([r for r in receiver.wait_for(4) if r.method == "POST"])
    assert [e["task_status"] for e in events] == ["submitted", "processing", "failed"]
    assert events[2]["task_status_msg"].startswith("image: ")


def test_a_receiver_that_fails_three_times_then_succeeds_gets_the_event(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    answers = iter([503, 500, 502])
    receiver.route = lambda _: Reply(next(answers, 200))
    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    requests = receiver.wait_for(6)

    statuses = [e["task_status"] for e in bodies(requests)]
    assert statuses == ["submitted"] * 4 + ["processing", "succeed"]  # later events wait
    assert len({r.headers["webhook-id"] for r in requests[:4]}) == 1  # stable across retries
    log = settled_log(api, headers, task_id, 3)
    first = log[0]
    assert first["state"] == "delivered"
    assert [a["status_code"] for a in first["attempts"]] == [503, 500, 502, 200]
    assert [a["number"] for a in first["attempts"]] == [1, 2, 3, 4]
    assert first["last_error"] == ""
    assert all(d["state"] == "delivered" for d in log)


def test_410_stops_all_callbacks_of_the_task(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    receiver.route = lambda _: Reply(410)
    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    log = settled_log(api, headers, task_id, 3)
    assert len(receiver.requests) == 1
    assert [d["state"] for d in log] == ["gone", "gone", "gone"]
    assert log[0]["attempts"][0]["status_code"] == 410
    assert log[1]["attempts"] == [] and "410" in log[1]["last_error"]


def test_the_schedule_runs_out_and_redirects_are_not_followed(
    stand_in_factory: Callable[..., Api], receiver: HttpStub
) -> None:
    api = stand_in_factory(callback_retry_schedule=[0.05, 0.05])
    headers = api.auth(api.new_key())
    receiver.route = lambda r: Reply(302, headers={"Location": f"{receiver.url}/elsewhere"})
    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    log = settled_log(api, headers, task_id, 3)
    assert all(d["state"] == "failed" for d in log)
    assert [len(d["attempts"]) for d in log] == [3, 3, 3]
    assert log[0]["last_error"] == "HTTP 302 (redirects are not followed); gave up after 3 attempts"
    assert {r.path for r in receiver.requests} == {"/hook"}  # /elsewhere never reached


def test_retry_after_is_honoured(stand_in_factory: Callable[..., Api], receiver: HttpStub) -> None:
    api = stand_in_factory(callback_retry_schedule=[0.05])
    headers = api.auth(api.new_key())
    answers = iter([Reply(429, headers={"Retry-After": "1"})])
    receiver.route = lambda _: next(answers, Reply(200))
    create(api, headers, f"{receiver.url}/hook")
    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 0.95


def test_a_slow_receiver_times_out_and_is_retried(
    stand_in_factory: Callable[..., Api], receiver: HttpStub
) -> None:
    api = stand_in_factory(callback_retry_schedule=[0.05], callback_timeout_seconds=0.5)
    headers = api.auth(api.new_key())
    answers = iter([Reply(delay=2.0)])
    receiver.route = lambda _: next(answers, Reply(200))
    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    log = settled_log(api, headers, task_id, 3, timeout=20)
    attempts = log[0]["attempts"]
    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"] == "no answer within 0.5 s"
    assert attempts[0]["duration_ms"] < 1500
    assert attempts[1]["status_code"] == 200 and log[0]["state"] == "delivered"


def test_a_callback_name_resolving_to_a_private_address_fails_without_retries(
    api: Api, headers: dict[str, str]
) -> None:
    async def private_dns(host: str, port: int) -> list[str]:
        return ["10.20.30.40"]

    api.services.http.resolver = private_dns
    task_id = create(api, headers, "http://hooks.example/cb")
    wait_task(api.client, PATH, task_id, headers)
    log = settled_log(api, headers, task_id, 3)
    assert [d["state"] for d in log] == ["failed"] * 3
    assert len(log[0]["attempts"]) == 1
    assert log[0]["last_error"] == (
        "URL host is not allowed: hooks.example resolves to a private address"
    )


def test_per_key_secret_signs_and_rotation_sends_both(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    keys = api.services.keys
    portal = api.client.portal
    assert portal is not None
    key_row = portal.call(keys.by_hash, _hash(headers))
    assert key_row is not None
    first = new_secret()
    portal.call(partial(keys.set_webhook_secret, key_row.id, first, keep_previous=False))

    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    signed = receiver.wait_for(3)[0]
    assert Webhook(first).verify(signed.body, signed.headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(SERVER_SECRET).verify(signed.body, signed.headers)  # the key's own wins

    second = new_secret()
    portal.call(partial(keys.set_webhook_secret, key_row.id, second, keep_previous=True))
    create(api, headers, f"{receiver.url}/hook2")
    rotated = receiver.wait_for(4)[3]
    assert len(rotated.headers["webhook-signature"].split()) == 2
    assert Webhook(first).verify(rotated.body, rotated.headers) is not None
    assert Webhook(second).verify(rotated.body, rotated.headers) is not None


def _hash(headers: dict[str, str]) -> str:
    from openreel.auth.keys import hash_key

    return hash_key(headers["Authorization"].removeprefix("Bearer "))


def test_unsigned_without_any_secret(
    stand_in_factory: Callable[..., Api], receiver: HttpStub
) -> None:
    api = stand_in_factory(**FAST)
    headers = api.auth(api.new_key())
    create(api, headers, f"{receiver.url}/hook")
    request = receiver.wait_for(1)[0]
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in request.headers


def test_redeliver_sends_an_event_again_with_the_same_id(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    task_id = create(api, headers, f"{receiver.url}/hook")
    wait_task(api.client, PATH, task_id, headers)
    log = settled_log(api, headers, task_id, 3)
    receiver.wait_for(3)

    again = api.client.post(f"{PATH}/{task_id}/callbacks/redeliver", headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["data"] == {"task_id": task_id, "queued": [log[2]["event_id"]]}
    resent = receiver.wait_for(4)[3]
    assert resent.headers["webhook-id"] == log[2]["event_id"]
    assert json.loads(resent.body)["task_status"] == "succeed"

    first = api.client.post(
        f"{PATH}/{task_id}/callbacks/redeliver",
        json={"event_id": log[0]["event_id"]},
        headers=headers,
    )
    assert first.status_code == 200
    assert json.loads(receiver.wait_for(5)[4].body)["task_status"] == "submitted"
    assert len(settled_log(api, headers, task_id, 3)[0]["attempts"]) == 2

    unknown = api.client.post(
        f"{PATH}/{task_id}/callbacks/redeliver", json={"event_id": "msg_0"}, headers=headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["message"].startswith("event_id: ")


def test_log_and_redeliver_are_owner_scoped_and_need_a_callback(
    api: Api, headers: dict[str, str], receiver: HttpStub
) -> None:
    response = api.client.post(PATH, json={"image": image_b64()}, headers=headers)
    plain = response.json()["data"]["task_id"]
    assert delivery_log(api, headers, plain) == []
    refused = api.client.post(f"{PATH}/{plain}/callbacks/redeliver", headers=headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == 1201
    assert refused.json()["message"].startswith("callback_url: ")

    task_id = create(api, headers, f"{receiver.url}/hook")
    other = api.auth(api.new_key("someone else"))
    for method, suffix in (("GET", ""), ("POST", "/redeliver")):
        response = api.client.request(method, f"{PATH}/{task_id}/callbacks{suffix}", headers=other)
        assert response.status_code == 404 and response.json()["code"] == 1203
    # and on the other path family too
    assert (
        api.client.get(
            f"/kling/v1/videos/image2video/{task_id}/callbacks", headers=headers
        ).status_code
        == 200
    )
