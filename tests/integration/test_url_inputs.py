"""URL images are fetched by the worker: a good one renders, a bad one fails the task with
a message naming the field, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.helpers import encode, image_bytes, textured
from tests.support.image_host import ImageHost
from tests.support.polling import wait_task

PATH = "/v1/videos/image2video"


@pytest.fixture
def host() -> Iterator[ImageHost]:
    files = {
        "good.png": image_bytes(640, 400),
        "small.png": image_bytes(200, 200),
        "wide.png": image_bytes(1000, 300),
        "text.txt": b"hello, not an image",
        "mask_wrong_aspect.png": encode(textured(400, 400)),
    }
    server = ImageHost(files)
    yield server
    server.close()


def run(
    api: Api, headers: dict[str, str], body: Mapping[str, object], path: str = PATH
) -> dict[str, Any]:
    created = api.client.post(path, json=body, headers=headers)
    assert created.status_code == 200, created.text
    return wait_task(api.client, path, created.json()["data"]["task_id"], headers)


def stored_inputs(api: Api) -> list[Path]:
    root = Path(api.services.settings.data_dir) / "blobs" / "inputs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_url_image_renders(api: Api, headers: dict[str, str], host: ImageHost) -> None:
    data = run(api, headers, {"image": f"{host.url}/good.png"})
    assert data["task_status"] == "succeed", data


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.png", "image: could not fetch image: HTTP 404"),
        ("small.png", "image: image is 200x200; each side must be at least 300 px"),
        ("wide.png", "image: image aspect ratio 1000:300 is outside 1:2.5 to 2.5:1"),
        ("text.txt", "image: image format must be JPEG or PNG"),
    ],
)
def test_bad_url_image_fails_the_task_naming_the_field(
    api: Api, headers: dict[str, str], host: ImageHost, name: str, message: str
) -> None:
    data = run(api, headers, {"image": f"{host.url}/{name}"})
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == message
    assert data["task_result"] == {}
    assert stored_inputs(api) == []


def test_unreachable_host_fails_the_task(api: Api, headers: dict[str, str]) -> None:
    from tests.support.server import free_port

    data = run(api, headers, {"image": f"http://127.0.0.1:{free_port()}/x.png"})
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == "image: could not fetch image: cannot connect to 127.0.0.1"


def test_url_image_in_a_list_names_its_index(
    api: Api, headers: dict[str, str], host: ImageHost
) -> None:
    body = {
        "image_list": [{"image": f"{host.url}/good.png"}, {"image": f"{host.url}/small.png"}],
        "prompt": "go",
    }
    data = run(api, headers, body, "/v1/videos/multi-image2video")
    assert data["task_status"] == "failed"
    assert data["task_status_msg"].startswith("image_list[1].image: image is 200x200")
