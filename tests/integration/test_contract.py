"""Wire contract of every endpoint under both prefixes: envelope, ids, statuses, lookups."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest

from openreel.wire.tasks import TaskData
from tests.support.api import Api, Response
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

pytestmark = pytest.mark.db

PREFIXES = ["/kling/v1", "/v1"]


@pytest.fixture
def api(stand_in_factory: Callable[..., Api]) -> Api:
    """The wire is the subject: tasks finish on the stand-in engine, not in 720p renders."""
    return stand_in_factory()


def i2v_body(**extra: object) -> dict[str, object]:
    return {"image": image_b64(), "prompt": "a calm lake", **extra}


def mi2v_body(**extra: object) -> dict[str, object]:
    images = [{"image": image_b64(seed=i)} for i in range(2)]
    return {"image_list": images, "prompt": "they wave", "model_name": "kling-v1-6", **extra}


def mi2i_body(**extra: object) -> dict[str, object]:
    subjects = [{"subject_image": image_b64(400, 400, seed=i)} for i in range(2)]
    return {"subject_image_list": subjects, "prompt": "two friends", **extra}


CREATE_CASES = [
    ("videos/image2video", i2v_body),
    ("videos/multi-image2video", mi2v_body),
    ("images/generations", mi2i_body),
    ("images/multi-image2image", mi2i_body),
]


def assert_envelope(response: Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "message", "request_id"}
    assert uuid.UUID(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"]
    return dict(body)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("family", "make_body"), CREATE_CASES)
def test_create_returns_kling_envelope(
    shared_api: Api,
    shared_headers: dict[str, str],
    prefix: str,
    family: str,
    make_body: Callable[[], dict[str, object]],
) -> None:
    response = shared_api.client.post(
        f"{prefix}/{family}", json=make_body(), headers=shared_headers
    )
    body = assert_envelope(response)
    assert body["code"] == 0 and body["message"] == "SUCCEED"
    data = body["data"]
    assert re.fullmatch(r"\d{15,20}", data["task_id"])
    assert data["task_status"] in {"submitted", "processing", "succeed"}
    assert data["task_info"] == {}
    assert isinstance(data["created_at"], int) and data["created_at"] > 1_700_000_000_000
    assert isinstance(data["updated_at"], int)
    assert 0 <= data["progress"] <= 100
    TaskData.model_validate(data)  # the wire model (shared with clients) accepts it


@pytest.mark.parametrize("prefix", PREFIXES)
def test_query_by_task_id_external_id_and_query_string(
    api: Api, headers: dict[str, str], prefix: str
) -> None:
    path = f"{prefix}/videos/image2video"
    created = api.client.post(path, json=i2v_body(external_task_id="order-42"), headers=headers)
    task_id = assert_envelope(created)["data"]["task_id"]
    assert created.json()["data"]["task_info"] == {"external_task_id": "order-42"}
    for url in (
        f"{path}/{task_id}",
        f"{path}/order-42",
        f"{path}?external_task_id=order-42",
        f"{path}/order-42?external_task_id=true",
    ):
        data = assert_envelope(api.client.get(url, headers=headers))["data"]
        assert data["task_id"] == task_id, url
        assert data["task_info"]["external_task_id"] == "order-42"


def test_finished_task_schema(api: Api, headers: dict[str, str]) -> None:
    path = "/kling/v1/videos/image2video"
    task_id = api.client.post(path, json=i2v_body(), headers=headers).json()["data"]["task_id"]
    data = wait_task(api.client, path, task_id, headers)
    assert data["task_status"] == "succeed", data["task_status_msg"]
    assert data["task_status_msg"] == ""
    assert data["progress"] == 100
    assert "queue_position" not in data
    TaskData.model_validate(data)
    (video,) = data["task_result"]["videos"]
    assert set(video) == {"id", "url", "duration"}
    assert video["duration"] == "5" and isinstance(video["id"], str)
    assert video["url"].startswith("http://testserver/files/outputs/")
    assert data["updated_at"] >= data["created_at"]


def test_image_task_results_have_index_and_url(api: Api, headers: dict[str, str]) -> None:
    path = "/kling/v1/images/generations"
    created = api.client.post(path, json=mi2i_body(n=2), headers=headers)
    data = wait_task(api.client, path, created.json()["data"]["task_id"], headers)
    assert data["task_status"] == "succeed", data["task_status_msg"]
    images = data["task_result"]["images"]
    assert [image["index"] for image in images] == [0, 1]
    assert all(set(image) == {"index", "url"} for image in images)


def test_list_is_newest_first_bare_array_and_paged(api: Api, headers: dict[str, str]) -> None:
    path = "/v1/videos/image2video"
    ids = [
        api.client.post(path, json=i2v_body(prompt=f"p{i}"), headers=headers).json()["data"][
            "task_id"
        ]
        for i in range(3)
    ]
    listed = assert_envelope(api.client.get(path, headers=headers))["data"]
    assert isinstance(listed, list)
    assert [t["task_id"] for t in listed] == ids[::-1]
    page2 = api.client.get(f"{path}?pageNum=2&pageSize=2", headers=headers).json()["data"]
    assert [t["task_id"] for t in page2] == [ids[0]]


def test_task_is_found_only_on_its_family(api: Api, headers: dict[str, str]) -> None:
    created = api.client.post("/v1/videos/image2video", json=i2v_body(), headers=headers)
    task_id = created.json()["data"]["task_id"]
    response = api.client.get(f"/v1/videos/multi-image2video/{task_id}", headers=headers)
    body = assert_envelope(response, 404)
    assert body["code"] == 1203 and "data" not in body
    # Same family under the other prefix is the same task.
    assert (
        api.client.get(f"/kling/v1/videos/image2video/{task_id}", headers=headers).status_code
        == 200
    )


def test_multi_image2image_via_generations_is_polled_there(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory()  # the classic engine: the stand-in takes no scene image
    headers = api.auth(api.new_key())
    created = api.client.post(
        "/kling/v1/images/generations",
        json=mi2i_body(scence_image=image_b64(seed=9)),
        headers=headers,
    )
    task_id = assert_envelope(created)["data"]["task_id"]
    assert (
        api.client.get(f"/kling/v1/images/generations/{task_id}", headers=headers).status_code
        == 200
    )
    missing = api.client.get(f"/kling/v1/images/multi-image2image/{task_id}", headers=headers)
    assert missing.status_code == 404


def test_unknown_task_is_1203(shared_api: Api, shared_headers: dict[str, str]) -> None:
    body = assert_envelope(
        shared_api.client.get("/v1/videos/image2video/123", headers=shared_headers), 404
    )
    assert body["code"] == 1203 and "task_id" in body["message"]


def test_unknown_route_and_method_are_kling_errors(
    shared_api: Api, shared_headers: dict[str, str]
) -> None:
    body = assert_envelope(shared_api.client.get("/v1/videos/nope", headers=shared_headers), 404)
    assert body["code"] == 1202
    body = assert_envelope(
        shared_api.client.delete("/v1/videos/image2video", headers=shared_headers), 404
    )
    assert body["code"] == 1202


def test_invalid_json_is_1200_never_422(shared_api: Api, shared_headers: dict[str, str]) -> None:
    response = shared_api.client.post(
        "/v1/videos/image2video",
        content=b"{not json",
        headers={**shared_headers, "Content-Type": "application/json"},
    )
    body = assert_envelope(response, 400)
    assert body["code"] == 1200 and "detail" not in body
    response = shared_api.client.post("/v1/videos/image2video", json=[1, 2], headers=shared_headers)
    assert assert_envelope(response, 400)["code"] == 1200


def test_openapi_describes_kling_errors_not_422(shared_api: Api) -> None:
    doc = shared_api.client.get("/openapi.json").json()
    text = str(doc)
    assert "HTTPValidationError" not in text and "'422'" not in text
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorEnvelope"]["properties"]) == {"code", "message", "request_id"}
    create = doc["paths"]["/kling/v1/videos/image2video"]["post"]
    ok = create["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "TaskData" in str(schemas[ok.rsplit("/", 1)[1]])
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorEnvelope"
    )
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "Image2VideoRequest"
    )
    for prefix in PREFIXES:
        for family, _ in CREATE_CASES:
            assert f"{prefix}/{family}" in doc["paths"]
            assert f"{prefix}/{family}/{{task_id}}" in doc["paths"]


def test_queue_position_while_submitted(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    key = api.new_key()
    headers = api.auth(key)
    ids = [
        api.client.post("/v1/videos/image2video", json=i2v_body(), headers=headers).json()["data"]
        for _ in range(3)
    ]
    assert [d["queue_position"] for d in ids] == [1, 2, 3]
    listed = api.client.get("/v1/videos/image2video", headers=headers).json()["data"]
    assert [d["queue_position"] for d in listed] == [3, 2, 1]
    assert all(d["task_status"] == "submitted" and d["progress"] == 0 for d in listed)


def test_queue_position_is_capped_past_1000_ahead(api_factory: Callable[..., Api]) -> None:
    import sqlalchemy as sa

    from openreel.store.client_tasks import QUEUE_COUNT_CAP
    from openreel.store.tables import TaskRow

    api = api_factory(workers=0)
    headers = api.auth(api.new_key())
    base: dict[str, Any] = {
        "owner_id": "someone-else",
        "family": "videos/image2video",
        "kind": "image2video",
        "model_name": "kling-v1",
        "engine": "classic",
        "external_task_id": None,
        "request_hash": "",
        "params": {},
        "status": "submitted",
        "status_msg": "",
        "progress": 0,
        "result": None,
        "attempts": 0,
        "lease_owner": None,
        "lease_expires_at": None,
        "created_at": 1_000,
        "updated_at": 1_000,
    }
    rows = [{**base, "id": f"{i:06d}"} for i in range(QUEUE_COUNT_CAP + 5)]
    assert api.client.portal is not None
    api.client.portal.call(
        api.services.db.write,
        lambda conn: conn.execute(sa.insert(cast(sa.Table, TaskRow.__table__)), rows),
    )
    created = api.client.post("/v1/videos/image2video", json=i2v_body(), headers=headers)
    assert created.json()["data"]["queue_position"] == QUEUE_COUNT_CAP + 1


def test_task_id_wins_over_an_equal_external_id(api: Api, headers: dict[str, str]) -> None:
    path = "/v1/videos/image2video"
    first = api.client.post(path, json=i2v_body(), headers=headers).json()["data"]["task_id"]
    other = api.client.post(path, json=i2v_body(external_task_id=first), headers=headers)
    assert other.status_code == 200 and other.json()["data"]["task_id"] != first
    assert api.client.get(f"{path}/{first}", headers=headers).json()["data"]["task_id"] == first
