"""``text2video`` and ``images`` (text-to-image, single-reference image-to-image), and what
``get``/``wait``/``download``/``cancel`` accept: a ``Task``, or a task id with ``endpoint=``.

Offline against recording transports, and through a real app (in-process, a stand-in engine
that serves every kind) for finished tasks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from openreel import AsyncClient, Client, Endpoint, InvalidRequestError, LocalValidationError
from tests.fakes.engines import GatedEngine, StandInEngine
from tests.support.api import Api
from tests.support.helpers import image_bytes

KLING = "https://api-singapore.klingai.com"
COMET = "https://api.cometapi.com"


def task_answer(task_id: str = "1", status: str = "submitted", **data: object) -> httpx.Response:
    body = {"task_id": task_id, "task_status": status, "created_at": 1, "updated_at": 1, **data}
    return httpx.Response(
        200, json={"code": 0, "message": "SUCCEED", "request_id": "r", "data": body}
    )


class Script:
    """Records each request and answers from a list (then a submitted task)."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        return self.answers.pop(0) if self.answers else task_answer()

    def body(self, index: int = 0) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.seen[index].content)
        return parsed

    def urls(self) -> list[str]:
        return [f"{r.method} {r.url}" for r in self.seen]


def sync_client(script: Script, base_url: str = KLING) -> Client:
    transport = httpx.MockTransport(script.answer)
    return Client(base_url, "k", http_client=httpx.Client(transport=transport))


def async_client(script: Script, base_url: str = KLING) -> AsyncClient:
    transport = httpx.MockTransport(script.answer)
    return AsyncClient(base_url, "k", http_client=httpx.AsyncClient(transport=transport))


# ---------------------------------------------------------------- bodies and paths


def test_text2video_body_and_path_on_both_prefixes() -> None:
    for base, path in ((KLING, "/v1"), (COMET, "/kling/v1")):
        script = Script()
        task = sync_client(script, base).text2video(
            "a lighthouse at dusk",
            negative_prompt="blur",
            duration=10,
            aspect_ratio="9:16",
            mode="pro",
            cfg_scale=0.4,
            camera_control={"type": "simple", "config": {"zoom": 5}},
            model_name="kling-v1",
        )
        assert task.endpoint is Endpoint.TEXT2VIDEO
        assert script.urls() == [f"POST {base}{path}/videos/text2video"]
        body = script.body()
        assert body.pop("external_task_id").startswith("openreel-sdk-")
        assert body == {
            "prompt": "a lighthouse at dusk",
            "negative_prompt": "blur",
            "duration": "10",  # Kling documents a string
            "aspect_ratio": "9:16",
            "mode": "pro",
            "cfg_scale": 0.4,
            "camera_control": {"type": "simple", "config": {"zoom": 5}},
            "model_name": "kling-v1",
        }


def test_images_text_only_and_with_one_reference() -> None:
    script = Script()
    client = sync_client(script, COMET)
    client.images("a red fox in snow", n=3, aspect_ratio="1:1", resolution="2k")
    face = image_bytes(500, 600, seed=3)
    client.images(
        "the same person as an astronaut",
        image=face,
        image_reference="face",
        image_fidelity=0.7,
        human_fidelity=0.5,
    )
    client.images(image="https://example.com/ref.jpg", image_reference="subject")
    assert script.urls() == [f"POST {COMET}/kling/v1/images/generations"] * 3
    text_only, with_face, by_url = script.body(0), script.body(1), script.body(2)
    assert {k: v for k, v in text_only.items() if k != "external_task_id"} == {
        "prompt": "a red fox in snow",
        "n": 3,
        "aspect_ratio": "1:1",
        "resolution": "2k",
    }
    assert "subject_image_list" not in with_face
    assert with_face["image_reference"] == "face" and with_face["image_fidelity"] == 0.7
    assert with_face["image"] and not with_face["image"].startswith(("data:", "http"))
    assert by_url == {
        "image": "https://example.com/ref.jpg",
        "image_reference": "subject",
        "external_task_id": by_url["external_task_id"],
    }

    kling = Script()
    sync_client(kling, KLING).images("a fox")
    assert kling.urls() == [f"POST {KLING}/v1/images/generations"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: c.text2video("x", aspect_ratio="4:3"), "aspect_ratio: Input should be"),
        (lambda c: c.text2video("x", duration=7), "duration"),
        (
            lambda c: c.text2video("x", camera_control={"type": "simple", "config": "zoom"}),
            'camera_control.config: expected an object {"horizontal": number',
        ),
        (lambda c: c.images("x", n=12), "n: Input should be less than or equal to 9"),
        (lambda c: c.images("x", image_reference="body"), "image_reference"),
        (lambda c: c.images("x", image=image_bytes(200, 200)), "image: image is 200x200"),
        (
            lambda c: c.images("x", extra={"subject_image_list": []}),
            "subject_image_list: subjects are composed by multi_image2image",
        ),
    ],
)
def test_local_validation_before_any_request(
    make: Callable[[Client], object], message: str
) -> None:
    script = Script()
    with pytest.raises(LocalValidationError) as refused:
        make(sync_client(script))
    assert message in str(refused.value)
    assert script.seen == []


async def test_async_text2video_and_images() -> None:
    script = Script()
    async with async_client(script, COMET) as client:
        video = await client.text2video("waves", duration=5)
        image = await client.images("a fox", n=2)
    assert video.endpoint is Endpoint.TEXT2VIDEO and image.endpoint is Endpoint.IMAGE_GENERATION
    assert script.urls() == [
        f"POST {COMET}/kling/v1/videos/text2video",
        f"POST {COMET}/kling/v1/images/generations",
    ]
    assert script.body(0)["duration"] == "5" and script.body(1)["n"] == 2


# ---------------------------------------------------------------- task ids and types


def test_a_task_id_string_with_its_endpoint() -> None:
    result = {"videos": [{"id": "v", "url": f"{KLING}/files/v.mp4", "duration": "5"}]}
    script = Script(
        task_answer("7534", "processing"),  # wait: the first look
        task_answer("7534", "succeed", task_result=result),
        task_answer("7534", "processing"),  # get
        task_answer("7534", "failed", task_status_msg="cancelled"),  # cancel
    )
    client = sync_client(script)
    client.policy = type(client.policy)(retries=0, base_delay=0)
    done = client.wait("7534", endpoint="text2video", timeout=30)
    assert done.task_status == "succeed" and done.endpoint is Endpoint.TEXT2VIDEO
    assert client.get("7534", endpoint=Endpoint.TEXT2VIDEO).task_status == "processing"
    cancelled = client.cancel("7534", endpoint="image_generation")
    assert cancelled.task_status == "failed" and cancelled.endpoint is Endpoint.IMAGE_GENERATION
    assert script.urls() == [
        f"GET {KLING}/v1/videos/text2video/7534",
        f"GET {KLING}/v1/videos/text2video/7534",
        f"GET {KLING}/v1/videos/text2video/7534",
        f"POST {KLING}/v1/images/generations/7534/cancel",
    ]


@pytest.mark.parametrize("operation", ["get", "wait", "download", "cancel"])
def test_a_task_id_without_endpoint_says_what_is_missing(operation: str) -> None:
    script = Script()
    with pytest.raises(TypeError) as refused:
        getattr(sync_client(script), operation)("7534")
    message = str(refused.value)
    assert f"{operation}('7534'): a task id needs endpoint=" in message
    assert "'text2video'" in message and "'image2video'" in message
    assert script.seen == []


@pytest.mark.parametrize("operation", ["get", "wait", "download", "cancel"])
@pytest.mark.parametrize(
    ("value", "named"),
    [(7534, "got int (7534)"), (None, "got NoneType"), ({"task_id": "1"}, "got dict")],
)
def test_anything_but_a_task_or_an_id_is_a_type_error(
    operation: str, value: object, named: str
) -> None:
    script = Script()
    with pytest.raises(TypeError) as refused:
        getattr(sync_client(script), operation)(value, endpoint="text2video")
    assert str(refused.value).startswith(f"{operation}() takes a Task or a task id string")
    assert named in str(refused.value)
    assert script.seen == []


def test_an_unknown_endpoint_name_lists_the_known_ones() -> None:
    script = Script()
    with pytest.raises(ValueError, match=r"endpoint 'txt2vid' is not one of 'image2video', "):
        sync_client(script).wait("1", endpoint="txt2vid")
    with pytest.raises(TypeError, match="endpoint must be an Endpoint"):
        sync_client(script).get("1", endpoint=3)  # type: ignore[arg-type]
    task = sync_client(Script(task_answer("5"))).text2video("x")
    with pytest.raises(ValueError, match="the task is on 'text2video', not on endpoint"):
        sync_client(script).get(task, endpoint="image2video")
    assert script.seen == []


async def test_async_ids_and_type_errors() -> None:
    script = Script(task_answer("9", "succeed"), task_answer("9", "failed"))
    async with async_client(script) as client:
        assert (await client.wait("9", endpoint="image2video")).task_status == "succeed"
        assert (await client.cancel("9", endpoint="text2video")).task_status == "failed"
        with pytest.raises(TypeError, match="a task id needs endpoint="):
            await client.download("9")
        with pytest.raises(TypeError, match=r"takes a Task or a task id string, got int"):
            await client.get(9)  # type: ignore[arg-type]
    assert script.urls() == [
        f"GET {KLING}/v1/videos/image2video/9",
        f"POST {KLING}/v1/videos/text2video/9/cancel",
    ]


# ---------------------------------------------------------------- finished tasks, real app


def test_text2video_and_images_finish_and_download_by_id(
    api_factory: Callable[..., Api], tmp_path: Path
) -> None:
    engine = StandInEngine()
    api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    client = api.sdk(api.new_key())

    video = client.text2video("a lighthouse at dusk", aspect_ratio="9:16", duration=5)
    done = client.wait(video.task_id, endpoint="text2video", timeout=60)
    assert done.task_status == "succeed" and done.endpoint is Endpoint.TEXT2VIDEO
    (clip,) = client.download(video.task_id, tmp_path / "clip.mp4", endpoint="text2video")
    with av.open(str(clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0

    images = client.run("image_generation", "a red fox", n=2, aspect_ratio="1:1", output=tmp_path)
    assert [f.suffix for f in images.files] == [".png", ".png"]
    for file in images.files:
        with Image.open(file) as picture:
            assert picture.width == picture.height

    reference = client.images("same fox, at night", image=image_bytes(600, 400, seed=5))
    assert client.wait(reference).task_status == "succeed"
    assert client.get(reference).task_id == reference.task_id  # a Task refreshes


def test_cancel_by_task_and_by_id(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    api = api_factory(engines={engine.name: engine}, routes={"*": engine.name})
    client = api.sdk(api.new_key())
    try:
        first = client.text2video("one")
        second = client.images("two")
        by_task = client.cancel(first)
        by_id = client.cancel(second.task_id, endpoint="image_generation")
        assert by_task.task_status == by_id.task_status == "failed"
        assert "cancel" in (by_task.task_status_msg or "")
        with pytest.raises(InvalidRequestError) as again:
            client.cancel(first)  # it already ended
        assert again.value.code == 1201
    finally:
        engine.release.set()
