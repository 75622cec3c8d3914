"""Validation through HTTP: a refusal is Kling's status and envelope on both prefixes and
leaves nothing behind; the rules that need the store (external_task_id, pages, ids). The
whole battery of rules runs through the domain in tests/unit/test_validation_rules.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.helpers import b64, image_b64
from tests.support.validation_cases import IMG, i2v, mi2i

# Through HTTP, a sample of the table under both prefixes: a 1201 is a 400, a 1203 a 404,
# with Kling's envelope; every case of the table is checked through the domain in
# tests/unit/test_validation_rules.py.
MAPPED = [
    ("/kling/v1/videos/image2video", i2v(prompt="x" * 501), 1201, "prompt: must be at most 500"),
    ("/v1/videos/image2video", i2v(prompt="x" * 2501), 1201, "prompt: must be at most 2500"),
    ("/kling/v1/videos/image2video", i2v(model_name="kling-v9"), 1203, "model_name: model"),
    ("/v1/videos/image2video", i2v(model_name="kling-v9"), 1203, "model_name: model"),
    # Refused after its first image was decoded and stored: the stored file is removed.
    (
        "/kling/v1/videos/multi-image2video",
        {"image_list": [{"image": IMG}, {"image": "http://0x0a000001/x.png"}], "prompt": "p"},
        1201,
        "image_list[1].image: URL host is not allowed",
    ),
    (
        "/v1/images/multi-image2image",
        mi2i(2, subject_image_list=[{"subject_image": IMG}, {"subject_image": "!!"}]),
        1201,
        "subject_image_list[1].subject_image",
    ),
    # text2video and text-to-image, each under both prefixes
    ("/v1/videos/text2video", {"prompt": "p", "duration": "7"}, 1201, "duration: "),
    ("/kling/v1/videos/text2video", {}, 1201, "prompt: is required for text2video"),
    ("/v1/videos/text2video", {"prompt": "p", "model_name": "kling-v9"}, 1203, "model_name: "),
    ("/v1/images/generations", {"prompt": "p", "n": 10}, 1201, "n: "),
    (
        "/kling/v1/images/generations",
        {"prompt": "p", "image_reference": "subject"},
        1201,
        "image: is required when image_reference is set",
    ),
]


@pytest.mark.parametrize(("path", "body", "code", "text"), MAPPED)
def test_refusal_is_kling_status_and_envelope(
    api: Api, headers: dict[str, str], path: str, body: dict[str, Any], code: int, text: str
) -> None:
    response = api.client.post(path, json=body, headers=headers)
    assert response.status_code == (404 if code == 1203 else 400), response.text
    payload = response.json()
    assert payload["code"] == code
    assert text in payload["message"], payload["message"]
    assert set(payload) == {"code", "message", "request_id"}
    # Nothing was created and no input file was kept.
    listed = api.client.get(path, headers=headers).json()["data"]
    assert listed == []
    inputs = Path(api.services.settings.data_dir) / "blobs" / "inputs"
    assert not inputs.exists() or not any(inputs.rglob("*.*"))


def test_image_fields_accept_both_base64_and_jpeg(api: Api, headers: dict[str, str]) -> None:
    body = i2v(image=image_b64(fmt="JPEG"))
    assert api.client.post("/v1/videos/image2video", json=body, headers=headers).status_code == 200


def test_duration_accepts_number_and_aspect_ratio_is_ignored_on_image2video(
    api: Api, headers: dict[str, str]
) -> None:
    body = i2v(duration=10, aspect_ratio="16:9")
    response = api.client.post("/v1/videos/image2video", json=body, headers=headers)
    assert response.status_code == 200, response.text


def test_decompression_bomb_header_is_refused(api: Api, headers: dict[str, str]) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    response = api.client.post("/v1/videos/image2video", json=i2v(image=b64(png)), headers=headers)
    assert response.status_code == 400
    assert "pixel limit" in response.json()["message"]


@pytest.mark.db
def test_external_task_id_reuse(api: Api, headers: dict[str, str]) -> None:
    path = "/v1/videos/image2video"
    first = api.client.post(path, json=i2v(external_task_id="job-1", prompt="a"), headers=headers)
    again = api.client.post(path, json=i2v(external_task_id="job-1", prompt="a"), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["task_id"] == again.json()["data"]["task_id"]
    other = api.client.post(path, json=i2v(external_task_id="job-1", prompt="b"), headers=headers)
    assert other.status_code == 400
    assert other.json()["code"] == 1201 and "external_task_id" in other.json()["message"]
    assert len(api.client.get(path, headers=headers).json()["data"]) == 1


@pytest.mark.db
def test_external_task_id_is_per_owner(api: Api, headers: dict[str, str]) -> None:
    other = api.auth(api.new_key("other"))
    path = "/v1/videos/image2video"
    a = api.client.post(path, json=i2v(external_task_id="same"), headers=headers)
    b = api.client.post(path, json=i2v(external_task_id="same", prompt="z"), headers=other)
    assert a.status_code == b.status_code == 200
    assert a.json()["data"]["task_id"] != b.json()["data"]["task_id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pageNum=0", "pageNum"),
        ("pageNum=1001", "pageNum"),
        ("pageSize=0", "pageSize"),
        ("pageSize=501", "pageSize"),
        ("pageNum=abc", "pageNum"),
    ],
)
def test_page_ranges(api: Api, headers: dict[str, str], query: str, field: str) -> None:
    response = api.client.get(f"/v1/videos/image2video?{query}", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 1201 and response.json()["message"].startswith(field)


@pytest.mark.db
def test_a_colliding_task_id_is_replaced_not_an_error(
    api: Api, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import openreel.tasks.service as service
    from openreel.ids import new_id

    first = api.client.post("/v1/videos/image2video", json=i2v(), headers=headers)
    taken = first.json()["data"]["task_id"]
    minted = iter([taken, new_id()])
    monkeypatch.setattr(service, "new_id", lambda: next(minted))
    second = api.client.post("/v1/videos/image2video", json=i2v(prompt="b"), headers=headers)
    assert second.status_code == 200, second.text
    assert second.json()["data"]["task_id"] != taken
    assert len(api.client.get("/v1/videos/image2video", headers=headers).json()["data"]) == 2
