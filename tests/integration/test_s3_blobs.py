"""The S3 blob store against a real S3 API (moto's server): objects, multipart uploads,
presigned URLs, and a task whose inputs and results live in the bucket."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openreel.blobs.s3 import MIB, S3BlobStore
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.polling import wait_task
from tests.support.s3 import CREDENTIALS, S3Server, s3_server


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    for name, value in CREDENTIALS.items():  # boto3's standard credential chain
        monkeypatch.setenv(name, value)
    with s3_server() as server:
        yield server


def store(s3: S3Server, **options: Any) -> S3BlobStore:
    return S3BlobStore(
        f"s3://{s3.bucket}/base/", endpoint_url=s3.endpoint_url, addressing_style="path", **options
    )


def test_objects_live_under_the_prefix(s3: S3Server, tmp_path: Path) -> None:
    blobs = store(s3)
    blobs.put_bytes("inputs/1/image.png", b"png bytes")
    source = tmp_path / "video.mp4"
    source.write_bytes(b"mp4 bytes")
    blobs.put_file("outputs/1/1/video.mp4", source)
    blobs.put_file("outputs/10/1/video.mp4", source)
    assert s3.keys() == [
        "base/inputs/1/image.png",
        "base/outputs/1/1/video.mp4",
        "base/outputs/10/1/video.mp4",
    ]
    head = s3.client().head_object(Bucket=s3.bucket, Key="base/outputs/1/1/video.mp4")
    assert head["ContentType"] == "video/mp4"
    assert blobs.exists("inputs/1/image.png")
    assert not blobs.exists("inputs/1/other.png")

    local = blobs.materialize("inputs/1/image.png", tmp_path / "work")
    assert local.read_bytes() == b"png bytes"
    assert local.is_relative_to(tmp_path / "work")

    blobs.delete_prefix("outputs/1")  # not outputs/10
    assert s3.keys() == ["base/inputs/1/image.png", "base/outputs/10/1/video.mp4"]
    with pytest.raises(ValueError):
        blobs.put_bytes("../escape", b"")


def test_large_file_is_uploaded_in_parts_and_downloads_whole(s3: S3Server, tmp_path: Path) -> None:
    blobs = store(s3, multipart_threshold=5 * MIB, multipart_chunk=5 * MIB)
    data = os.urandom(12 * MIB)
    source = tmp_path / "big.mp4"
    source.write_bytes(data)
    blobs.put_file("outputs/big/1/big.mp4", source)
    head = s3.client().head_object(Bucket=s3.bucket, Key="base/outputs/big/1/big.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart object of 3 parts

    url = blobs.url("http://api.example/", "outputs/big/1/big.mp4")
    assert url.startswith(f"{s3.endpoint_url}/{s3.bucket}/base/outputs/big/1/big.mp4?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=86400" in url
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    assert response.content == data
    # (moto does not check signatures, so a tampered URL proves nothing here.)


def test_task_inputs_and_results_on_s3(api_factory: Callable[..., Api], s3: S3Server) -> None:
    engine = GatedEngine()
    engine.release.set()
    api = api_factory(
        engines={engine.name: engine},
        routes={"fake": engine.name},
        blobs=f"s3://{s3.bucket}/tasks",
        s3_endpoint_url=s3.endpoint_url,
        s3_addressing_style="path",
    )
    headers = api.auth(api.new_key())
    path = "/v1/videos/image2video"
    created = api.client.post(
        path, json={"image": image_b64(), "model_name": "fake"}, headers=headers
    )
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    data = wait_task(api.client, path, task_id, headers)
    assert data["task_status"] == "succeed", data
    assert s3.keys(f"tasks/inputs/{task_id}/") == [f"tasks/inputs/{task_id}/image.png"]
    assert s3.keys(f"tasks/outputs/{task_id}/") == [f"tasks/outputs/{task_id}/1/video.mp4"]

    url = data["task_result"]["videos"][0]["url"]
    assert url.startswith(f"{s3.endpoint_url}/{s3.bucket}/tasks/outputs/{task_id}/1/video.mp4?")
    download = httpx.get(url, timeout=30)
    assert download.status_code == 200
    assert download.content == b"fake video " + task_id.encode()
    # Nothing is served from the API's own /files route when results are on S3.
    assert api.client.get(f"/files/outputs/{task_id}/1/video.mp4?exp=1&sig=x").status_code in (
        403,
        404,
    )
