"""Admission control: past the queue limits a create gets HTTP 429 with Kling's 1303 and a
Retry-After, and nothing is stored (no task row, no input file)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.api import Api, Response
from tests.support.helpers import image_b64

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"


def task_rows(api: Api) -> int:
    assert api.client.portal is not None
    return int(
        api.client.portal.call(
            api.services.db.read,
            lambda conn: conn.execute(sa.text("select count(*) from tasks")).scalar(),
        )
    )


def input_files(api: Api) -> list[Path]:
    root = Path(api.services.settings.data_dir) / "blobs" / "inputs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def create(api: Api, headers: dict[str, str], **extra: str) -> Response:
    body = {"image": image_b64(640, 400), "prompt": "pan", **extra}
    return api.client.post(PATH, json=body, headers=headers)


def test_past_the_engine_limit_a_create_is_refused_and_nothing_is_stored(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(workers=0, max_queued=2, retry_after_seconds=7)
    headers = api.auth(api.new_key())
    first = create(api, headers, external_task_id="one")
    assert first.status_code == 200
    assert create(api, headers).status_code == 200
    rows, files = task_rows(api), input_files(api)

    refused = create(api, headers)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == 1303
    assert "OPENREEL_MAX_QUEUED" in body["message"] and "'classic'" in body["message"]
    assert refused.headers["Retry-After"] == "7"
    assert task_rows(api) == rows and input_files(api) == files

    # An idempotent retry of a task that exists is not a new task: it is answered.
    again = create(api, headers, external_task_id="one")
    assert again.status_code == 200
    assert again.json()["data"]["task_id"] == first.json()["data"]["task_id"]


def test_the_per_key_limit_holds_one_key_back_not_another(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(workers=0, max_queued_per_key=1)
    busy, other = api.auth(api.new_key("busy")), api.auth(api.new_key("other"))
    assert create(api, busy).status_code == 200
    refused = create(api, busy)
    assert refused.status_code == 429
    assert refused.json()["code"] == 1303
    assert "OPENREEL_MAX_QUEUED_PER_KEY" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert create(api, other).status_code == 200
    assert task_rows(api) == 2


def test_no_limit_by_default(api_factory: Callable[..., Api]) -> None:
    api = api_factory(workers=0)
    headers = api.auth(api.new_key())
    assert all(create(api, headers).status_code == 200 for _ in range(5))


def burst(api: Api, headers: dict[str, str], creates: int) -> list[Response]:
    """``creates`` creates at once, each with its own inline image to decode and store."""
    barrier = threading.Barrier(creates)

    def one(seed: int) -> Response:
        body = {"image": image_b64(640, 400, seed=seed), "prompt": f"pan {seed}"}
        barrier.wait()
        return api.client.post(PATH, json=body, headers=headers)

    with ThreadPoolExecutor(creates) as pool:
        return list(pool.map(one, range(creates)))


def input_task_ids(api: Api) -> set[str]:
    return {path.parent.name for path in input_files(api)}  # inputs/<task_id>/<file>


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_queued": 3}, "OPENREEL_MAX_QUEUED)"),
        ({"max_queued_per_key": 3}, "OPENREEL_MAX_QUEUED_PER_KEY"),
    ],
)
def test_concurrent_creates_never_overshoot_a_limit(
    api_factory: Callable[..., Api], limits: dict[str, int], message: str
) -> None:
    # Creates that all pass the first count while the others decode their images: only the
    # count in the insert's transaction can hold them back.
    api = api_factory(workers=0, max_concurrent_decodes=8, **limits)
    assert_burst_admits_three(api, message)


def test_concurrent_creates_never_overshoot_with_the_procrastinate_queue(
    api_factory: Callable[..., Api], database_url: str | None
) -> None:
    if database_url is None:
        pytest.skip("Procrastinate needs PostgreSQL")
    api = api_factory(workers=0, max_concurrent_decodes=8, max_queued=3, queue="procrastinate")
    assert_burst_admits_three(api, "OPENREEL_MAX_QUEUED)")


def assert_burst_admits_three(api: Api, message: str) -> None:
    headers = api.auth(api.new_key())
    responses = burst(api, headers, 20)

    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(accepted) == 3, [r.text for r in accepted]
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json()["code"] == 1303 and message in response.json()["message"]
        assert response.headers["Retry-After"] == "10"
    assert task_rows(api) == 3
    # Only the accepted tasks' input images are left (a refused create removes its own).
    assert input_task_ids(api) == {r.json()["data"]["task_id"] for r in accepted}
