"""Request bodies are capped before they are parsed or buffered (HTTP 413, Kling's 1201 body),
and inline images of concurrent creates are decoded a bounded number at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from openreel.blobs.base import BlobStore
from openreel.tasks.limits import MAX_BODY_BYTES
from tests.support.api import Api, Response
from tests.support.helpers import image_b64, pg_admin_url
from tests.support.server import running_server

PATH = "/v1/videos/image2video"
MIB = 1024 * 1024


def assert_413(response: Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == 1201
    assert body["message"].startswith(f"body: the request body is larger than {limit} bytes")
    assert body["request_id"] == response.headers["x-request-id"]


def chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    """A body of ``total`` bytes, produced as it is sent (httpx sends it chunked)."""
    sent = 0
    block = b"x" * size
    while sent < total:
        part = block[: min(size, total - sent)]
        sent += len(part)
        yield part


def test_the_limit_is_what_the_largest_create_needs() -> None:
    # image2video: image, image_tail, static_mask and 6 dynamic masks, each 10 MB as base64.
    assert MAX_BODY_BYTES == 9 * ((10 * MIB + 2) // 3 * 4) + MIB


def test_right_at_and_past_a_configured_limit(api_factory: Callable[..., Api]) -> None:
    limit = 200_000
    api = api_factory(max_body_bytes=limit)
    key = api.new_key()
    body = b'{"prompt": "' + b"a" * (limit - 40) + b'"}'
    assert len(body) <= limit
    # Under the cap the request reaches validation (no image: 1201 naming the field).
    under = api.client.post(PATH, content=body, headers=api.auth(key))
    assert under.status_code == 400 and under.json()["message"].startswith("image")
    over = api.client.post(PATH, content=body + b" " * 100, headers=api.auth(key))
    assert_413(over, limit)
    # The same without a Content-Length (chunked): refused once the count passes the cap.
    chunked = api.client.post(PATH, content=chunks(limit + 1, 4096), headers={**api.auth(key)})
    assert_413(chunked, limit)
    fits = api.client.post(PATH, content=chunks(1000, 100), headers=api.auth(key))
    assert fits.status_code == 400  # replayed to the app: not JSON, but it got there


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(pg_admin_url() is not None, reason="HTTP only: runs in the SQLite pass")
def test_oversize_bodies_are_refused_without_being_held(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", args=["--no-auth", "--no-workers"]) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            client.get("/healthz")
            client.post(PATH, json={"prompt": "warm-up"})  # lazy imports out of the way
            idle = _rss(server.proc.pid)
            peak = idle
            stop = threading.Event()

            def watch() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, _rss(server.proc.pid))
                    time.sleep(0.01)

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                streamed = client.post(PATH, content=chunks(200 * MIB))
                declared = client.post(
                    PATH,
                    content=chunks(200 * MIB),
                    headers={"Content-Length": str(200 * MIB)},
                )
            finally:
                stop.set()
                watcher.join()
    assert_413(streamed, MAX_BODY_BYTES)
    assert_413(declared, MAX_BODY_BYTES)
    assert peak - idle < 50 * MIB, (idle, peak)


class SlowWrites:
    """A blob store whose writes take a while, counting how many overlap."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.3)
            self.inner.put_bytes(key, data)
        finally:
            with self.lock:
                self.now -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("slots", [1, 2])
def test_inline_images_of_concurrent_creates_are_decoded_a_few_at_a_time(
    api_factory: Callable[..., Api], slots: int
) -> None:
    api = api_factory(workers=0, max_concurrent_decodes=slots)
    key = api.new_key()
    store = SlowWrites(api.services.tasks.blobs)
    api.services.tasks.blobs = store
    body = {"image": image_b64(640, 400), "prompt": "pan"}

    def create(_: int) -> int:
        return api.client.post(PATH, json=body, headers=api.auth(key)).status_code

    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(create, range(5)))
    assert codes == [200] * 5
    assert store.most == slots
