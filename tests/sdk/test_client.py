"""The SDK against a live openreel server: every method, sync and async, and its guarantees
(idempotent retried creates, deadlines, resumable downloads, local validation)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

import openreel
from openreel import (
    AsyncClient,
    AuthenticationError,
    Client,
    Endpoint,
    InternalServerError,
    InvalidRequestError,
    LocalValidationError,
    TaskFailedError,
    WaitTimeoutError,
    WebhookVerificationError,
    parse_webhook,
)
from openreel.sdk.config import JwtSigner
from openreel.wire.webhook_signing import new_secret, webhook_headers
from tests.support.helpers import encode, image_bytes, textured
from tests.support.live import Live


@pytest.fixture
def client(live: Live) -> Iterator[Client]:
    with Client(live.url, live.api_key) as c:
        yield c


def video_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.average_rate is not None
        return frames / float(stream.average_rate)


def test_public_names() -> None:
    assert set(openreel.__all__) == {
        "AccountError",
        "AsyncClient",
        "AuthenticationError",
        "Client",
        "Endpoint",
        "InternalServerError",
        "InvalidRequestError",
        "LocalValidationError",
        "OpenreelError",
        "PolicyError",
        "RateLimitError",
        "RunResult",
        "Task",
        "TaskFailedError",
        "TaskStatus",
        "TransportError",
        "WaitTimeoutError",
        "WebhookVerificationError",
        "__version__",
        "parse_webhook",
        "verify_webhook",
    }
    for name in openreel.__all__:
        assert getattr(openreel, name) is not None


def test_image2video_from_a_file_then_wait_and_download(client: Client, tmp_path: Path) -> None:
    source = tmp_path / "cat.png"
    source.write_bytes(image_bytes(640, 400, seed=1))
    task = client.image2video(source, prompt="zoom in", duration=5)
    assert task.task_status in ("submitted", "processing") and task.endpoint == "image2video"
    assert task.task_info.external_task_id.startswith("openreel-sdk-")  # type: ignore[union-attr]

    seen: list[tuple[str, int]] = []
    done = client.wait(task, on_progress=lambda t: seen.append((t.task_status, t.progress)))
    assert done.task_status == "succeed" and seen[-1] == ("succeed", 100)
    (saved,) = client.download(done, tmp_path / "out" / "cat.mp4")
    assert saved == tmp_path / "out" / "cat.mp4"
    assert video_seconds(saved) == pytest.approx(5, abs=0.1)
    assert not list(saved.parent.glob("*.partial"))


def test_run_multi_image2video_and_multi_image2image(client: Client, tmp_path: Path) -> None:
    people = [Image.fromarray(textured(500, 500, seed=s)) for s in (2, 3)]
    run = client.run(
        "multi_image2video", people, prompt="they meet", aspect_ratio="9:16", output=tmp_path
    )
    assert run.task.task_status == "succeed"
    (video,) = run.files
    assert video == tmp_path / f"{run.task.task_id}.mp4"
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.height > stream.codec_context.width  # 9:16

    subjects = [encode(textured(400, 400, seed=4)), encode(textured(400, 400, seed=5))]
    scene = tmp_path / "scene.jpg"
    scene.write_bytes(image_bytes(800, 500, fmt="JPEG", seed=6))
    task = client.multi_image2image(subjects, scene=scene, n=2, aspect_ratio="1:1")
    task = client.wait(task)
    files = client.download(task, tmp_path / "images")
    assert [f.name for f in files] == [f"{task.task_id}-0.png", f"{task.task_id}-1.png"]
    for file in files:
        with Image.open(file) as image:
            assert image.width == image.height
    assert files[0].read_bytes() != files[1].read_bytes()


async def test_async_client_end_to_end(live: Live, tmp_path: Path) -> None:
    async with AsyncClient(live.url, live.api_key) as client:
        task = await client.image2video(
            image_bytes(640, 400, seed=7), external_task_id="async-one", prompt="pan left"
        )
        done = await client.wait(task)
        assert done.task_status == "succeed"
        (saved,) = await client.download(done, tmp_path / "a.mp4")
        assert video_seconds(saved) == pytest.approx(5, abs=0.1)
        again = await client.get("async-one", "image2video")  # by external_task_id
        assert again.task_id == task.task_id
        listed = await client.list(Endpoint.IMAGE2VIDEO, page_size=50)
        assert task.task_id in [t.task_id for t in listed]
        seen = [t.task_id async for t in client.iterate("image2video", page_size=1)]
        assert task.task_id in seen and len(seen) == len(set(seen))
        result = await client.run(
            "multi_image2image", [image_bytes(400, 400, seed=8)], output=tmp_path / "imgs"
        )
        assert len(result.files) == 1 and result.files[0].suffix == ".png"
        elements = await client.multi_image2video(
            [image_bytes(500, 500, seed=9), image_bytes(500, 500, seed=10)], prompt="meet"
        )
        subjects = await client.multi_image2image([image_bytes(400, 400, seed=11)], n=2)
        for made in (elements, subjects):
            assert (await client.wait(made)).task_status == "succeed"


def test_get_list_and_iterate(client: Client) -> None:
    made = [
        client.image2video(image_bytes(640, 400, seed=10 + i), external_task_id=f"page-{i}")
        for i in range(3)
    ]
    ids = [t.task_id for t in client.iterate("image2video", page_size=2)]
    assert {t.task_id for t in made} <= set(ids)
    assert len(ids) == len(set(ids))
    newest_first = [i for i in ids if i in {t.task_id for t in made}]
    assert newest_first == [t.task_id for t in reversed(made)]
    assert client.get("page-1", endpoint="image2video").task_id == made[1].task_id
    assert client.list(page=1, page_size=1)[0].task_id == ids[0]


def test_kling_ak_sk_mode_signs_and_refreshes_jwts(live: Live) -> None:
    with Client(live.url, access_key=live.access_key, secret_key=live.secret_key) as client:
        assert client.config.signer is not None
        client.config.signer.lifetime = 2  # expire fast: a stale token would get 1004
        first = client.image2video(image_bytes(), prompt="zoom in")
        token = client.config.signer.token()
        time.sleep(2.2)
        assert client.get(first).task_id == first.task_id
        assert client.config.signer.token() != token
    with Client(live.url, access_key=live.access_key, secret_key="w" * 43) as client:
        with pytest.raises(AuthenticationError) as failed:
            client.list()
        assert failed.value.code == 1002 and failed.value.request_id


def test_jwt_signer_refreshes_before_expiry() -> None:
    signer = JwtSigner("ak", "s" * 32, lifetime=1800)
    first = signer.token(now=1000)
    assert signer.token(now=1000 + 1400) == first  # more than 5 min left
    assert signer.token(now=1000 + 1600) != first  # less than 5 min left: a new one


class DropFirstAnswer(httpx.BaseTransport):
    """Delivers the first POST to the server, then loses the answer (a dropped connection)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.posts = 0

    def close(self) -> None:  # the client closes its transport: pass it on to the pool
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.posts += 1
            if self.posts == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection dropped", request=request)
        return response


def test_a_create_retried_after_a_dropped_answer_makes_one_task(live: Live) -> None:
    transport = DropFirstAnswer()
    http = httpx.Client(transport=transport, timeout=30)
    with Client(live.url, live.api_key, http_client=http) as client:
        task = client.image2video(image_bytes(640, 400, seed=21), prompt="once")
        assert transport.posts == 2  # the server got the create twice...
        external = task.task_info.external_task_id
        assert external is not None
        matching = [
            t for t in client.iterate("image2video") if t.task_info.external_task_id == external
        ]
        assert [t.task_id for t in matching] == [task.task_id]  # ...and made one task


def test_wait_honours_the_deadline(client: Client) -> None:
    slow = client.image2video(
        image_bytes(640, 400, seed=22), mode="pro", duration=5, model_name="kling-v2-1"
    )
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as late:
        client.wait(slow, timeout=0.6)
    assert 0.5 < time.monotonic() - started < 2.0
    assert late.value.task.task_status in ("submitted", "processing")
    assert client.wait(slow, timeout=300).task_status == "succeed"


class CutFirstDownload(httpx.BaseTransport):
    """Breaks the first result download after ``limit`` bytes; records Range headers."""

    def __init__(self, limit: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.limit = limit
        self.downloads: list[str | None] = []

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if "/files/" not in request.url.path:
            return response
        self.downloads.append(request.headers.get("range"))
        if len(self.downloads) > 1:
            return response
        limit = self.limit

        class Cut(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                sent = 0
                for chunk in response.stream:  # type: ignore[union-attr]
                    if sent + len(chunk) >= limit:
                        yield chunk[: limit - sent]
                        raise httpx.ReadError("connection reset", request=request)
                    sent += len(chunk)
                    yield chunk

            def close(self) -> None:
                response.close()

        return httpx.Response(
            response.status_code, headers=response.headers, stream=Cut(), request=request
        )


def test_download_resumes_after_an_interrupted_transfer(
    live: Live, client: Client, tmp_path: Path
) -> None:
    task = client.wait(client.image2video(image_bytes(640, 400, seed=23)))
    (whole,) = client.download(task, tmp_path / "whole.mp4")

    transport = CutFirstDownload(limit=50_000)
    with Client(live.url, live.api_key, http_client=httpx.Client(transport=transport)) as cut:
        (resumed,) = cut.download(task, tmp_path / "resumed.mp4")
    assert transport.downloads == [None, "bytes=50000-"]
    assert resumed.read_bytes() == whole.read_bytes()


class Counting(httpx.BaseTransport):
    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(500)


def test_local_validation_refuses_a_200px_image_before_any_request(tmp_path: Path) -> None:
    counting = Counting()
    small = tmp_path / "small.png"
    small.write_bytes(image_bytes(200, 200))
    with Client("http://127.0.0.1:9", "k", http_client=httpx.Client(transport=counting)) as client:
        with pytest.raises(LocalValidationError) as refused:
            client.image2video(small)
        assert str(refused.value).startswith(
            "image: image is 200x200; each side must be at least 300 px"
        )
        with pytest.raises(LocalValidationError, match=r"image_list\[1\]\.image: image is"):
            client.multi_image2video([image_bytes(), Image.new("RGB", (100, 800))])
        with pytest.raises(LocalValidationError, match="camera_control"):
            client.image2video(image_bytes(), camera_control={"type": "simple", "config": {}})
        with pytest.raises(LocalValidationError, match="not a URL, an existing file"):
            client.image2video("no/such/file.png")
    assert counting.requests == 0


def test_errors_carry_code_message_and_request_id(live: Live, client: Client) -> None:
    with Client(live.url, "or_wrong") as bad:
        with pytest.raises(AuthenticationError) as denied:
            bad.list()
    assert denied.value.code == 1002 and denied.value.http_status == 401
    assert denied.value.request_id and denied.value.request_id in str(denied.value)

    with pytest.raises(InvalidRequestError) as missing:
        client.get("12345", "multi_image2video")
    assert missing.value.code == 1203 and missing.value.http_status == 404

    task = client.image2video(f"{live.url}/healthz/not-an-image.png")
    with pytest.raises(TaskFailedError) as failed:
        client.wait(task)
    assert failed.value.task.task_status == "failed"
    assert "image: " in str(failed.value)
    assert client.wait(task, raise_on_failure=False).task_status == "failed"


def test_webhook_helper_verifies_and_parses() -> None:
    secret = new_secret()
    body = json.dumps(
        {"task_id": "9", "task_status": "succeed", "created_at": 1, "updated_at": 2,
         "task_result": {"videos": [{"id": "v", "url": "https://x/v.mp4", "duration": "5"}]}}
    ).encode()  # fmt: skip
    headers = webhook_headers([secret], "msg_1", int(time.time()), body)
    task = parse_webhook(body, headers, secret)
    assert task.task_status == "succeed" and task.task_result.videos is not None
    assert task.task_result.videos[0].url == "https://x/v.mp4"
    with pytest.raises(WebhookVerificationError):
        parse_webhook(body.replace(b"succeed", b"failed"), headers, secret)
    with pytest.raises(WebhookVerificationError):
        parse_webhook(body, headers, new_secret())


class Recorder(httpx.BaseTransport):
    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        if self.answers:
            return self.answers.pop(0)
        return ok_task()


def ok_task(status: str = "submitted") -> httpx.Response:
    data = {"task_id": "1", "task_status": status, "created_at": 1, "updated_at": 1}
    return httpx.Response(
        200, json={"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}
    )


def test_targets_paths_and_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    kling = Recorder()
    client = Client(
        "https://api-singapore.klingai.com", access_key="ak1", secret_key="k" * 32,
        http_client=httpx.Client(transport=kling),
    )  # fmt: skip
    client.multi_image2image([image_bytes(400, 400)], scene=image_bytes(500, 400))
    request = kling.seen[0]
    assert str(request.url) == "https://api-singapore.klingai.com/v1/images/multi-image2image"
    assert request.headers["authorization"].startswith("Bearer ey")
    assert "scene_image" in json.loads(request.content)

    comet = Recorder()
    client = Client(
        "https://api.cometapi.com", "sk-comet", http_client=httpx.Client(transport=comet)
    )
    client.multi_image2image([image_bytes(400, 400)], scene=image_bytes(500, 400))
    client.get("1", "multi_image2image")
    assert str(comet.seen[0].url) == "https://api.cometapi.com/kling/v1/images/generations"
    assert "scence_image" in json.loads(comet.seen[0].content)  # CometAPI's spelling
    assert str(comet.seen[1].url) == "https://api.cometapi.com/kling/v1/images/generations/1"
    assert comet.seen[0].headers["authorization"] == "Bearer sk-comet"

    monkeypatch.setenv("OPENREEL_BASE_URL", "http://example.test:8000/kling/v1")
    monkeypatch.setenv("OPENREEL_API_KEY", "or_env")
    env = Recorder()
    Client(http_client=httpx.Client(transport=env)).get("7", "image2video")
    assert str(env.seen[0].url) == "http://example.test:8000/kling/v1/videos/image2video/7"
    assert env.seen[0].headers["authorization"] == "Bearer or_env"


def test_retries_429_and_5xx_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openreel.sdk.flows.RetryPolicy.delay", lambda self, a, r=None: 0.0)
    flaky = Recorder(
        httpx.Response(503, json={"code": 5001, "message": "maintenance", "request_id": "a"}),
        httpx.Response(429, headers={"Retry-After": "0"}, json={"code": 1302, "message": "slow"}),
    )
    client = Client("http://x.test", "k", http_client=httpx.Client(transport=flaky))
    task = client.image2video(image_bytes())
    assert task.task_id == "1" and len(flaky.seen) == 3
    bodies: list[dict[str, Any]] = [json.loads(r.content) for r in flaky.seen]
    assert len({b["external_task_id"] for b in bodies}) == 1  # the same create each time

    down = Recorder(*[httpx.Response(500, json={"code": 5000, "message": "boom"})] * 4)
    client = Client("http://x.test", "k", http_client=httpx.Client(transport=down))
    with pytest.raises(InternalServerError, match="boom"):
        client.get("1", "image2video")
    assert len(down.seen) == 4  # the first try and 3 retries


def test_pil_and_bytes_inputs_become_raw_base64() -> None:
    seen = Recorder()
    client = Client("http://x.test", "k", http_client=httpx.Client(transport=seen))
    picture = Image.new("RGBA", (400, 400), (10, 20, 30, 128))
    client.multi_image2image([picture], style="https://example.com/style.jpg")
    body = json.loads(seen.seen[0].content)
    value = body["subject_image_list"][0]["subject_image"]
    assert not value.startswith("data:")
    import base64

    with Image.open(io.BytesIO(base64.b64decode(value))) as decoded:
        assert decoded.size == (400, 400) and decoded.format == "PNG"
    assert body["style_image"] == "https://example.com/style.jpg"  # URLs pass through
