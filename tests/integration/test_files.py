"""Result files: signed, time-limited URLs minted afresh on every query; Range; content type."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.clock import ManualClock
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"


def test_urls_expire_and_every_query_mints_a_fresh_one(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    engine.release.set()
    clock = ManualClock()
    api = api_factory(
        engines={"gated": engine}, routes={"fake": "gated"}, url_ttl_seconds=60, clock=clock
    )
    headers = api.auth(api.new_key())
    created = api.client.post(
        PATH, json={"image": image_b64(), "model_name": "fake"}, headers=headers
    )
    task_id = created.json()["data"]["task_id"]
    first = wait_task(api.client, PATH, task_id, headers)["task_result"]["videos"][0]["url"]
    local = first.replace("http://testserver", "")
    response = api.client.get(local)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content == b"fake video " + task_id.encode()
    partial = api.client.get(local, headers={"Range": "bytes=5-9"})
    assert partial.status_code == 206 and partial.content == b"video"

    clock.advance(59)
    assert api.client.get(local).status_code == 200  # valid up to its last second
    clock.advance(2)
    expired = api.client.get(local)
    assert expired.status_code == 403 and expired.json()["code"] == 1103
    assert "expired" in expired.json()["message"]

    again = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
    fresh = again["task_result"]["videos"][0]["url"]
    assert parse_qs(urlparse(fresh).query)["exp"] != parse_qs(urlparse(first).query)["exp"]
    assert api.client.get(fresh.replace("http://testserver", "")).status_code == 200


def test_file_urls_cannot_reach_inputs_or_escape_the_store(api: Api) -> None:
    signer = api.services.signer
    for key in ("inputs/1/image.png", "outputs/../signing.key", "../openreel.db"):
        url = signer.url("http://testserver", key).replace("http://testserver", "")
        assert api.client.get(url).status_code in (403, 404)
