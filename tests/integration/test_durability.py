"""Durable tasks: leases, retries after a lost worker, failure reasons, no success without
files, graceful hand-back on shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openreel.clock import now_ms
from openreel.store.tables import TaskRow
from openreel.store.tasks import TaskRecord
from tests.fakes.engines import CrashingEngine, FailingEngine, GatedEngine, MissingFileEngine
from tests.support.api import Api
from tests.support.helpers import image_b64
from tests.support.polling import wait_task

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"


def start(
    api_factory: Callable[..., Api], engine: Any, **settings: Any
) -> tuple[Api, dict[str, str]]:
    api = api_factory(engines={engine.name: engine}, routes={"fake": engine.name}, **settings)
    return api, api.auth(api.new_key())


def create(api: Api, headers: dict[str, str]) -> str:
    response = api.client.post(
        PATH, json={"image": image_b64(), "model_name": "fake"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["task_id"])


def row(api: Api, task_id: str) -> TaskRecord:
    assert api.client.portal is not None
    found = api.client.portal.call(api.services.tasks_repo.get, task_id)
    assert found is not None
    return found


def update(api: Api, task_id: str, **values: Any) -> None:
    stmt = sa.update(TaskRow).where(TaskRow.id == task_id).values(**values)
    assert api.client.portal is not None
    api.client.portal.call(api.services.db.write, lambda conn: conn.execute(stmt))


def abandon(api: Api, task_id: str, attempts: int) -> None:
    """As if a worker on another node claimed the task and died: processing, lease gone."""
    update(
        api,
        task_id,
        status="processing",
        lease_owner="dead-node",
        attempts=attempts,
        lease_expires_at=now_ms() - 1000,
    )


def outputs(api: Api, task_id: str) -> list[Path]:
    root = Path(api.services.settings.data_dir) / "blobs" / "outputs" / task_id
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_engine_error_fails_task_with_its_message(api_factory: Callable[..., Api]) -> None:
    api, headers = start(api_factory, FailingEngine())
    data = wait_task(api.client, PATH, create(api, headers), headers)
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == "the fake engine refuses this input"
    assert data["task_result"] == {}


def test_unexpected_crash_fails_task_with_reason(api_factory: Callable[..., Api]) -> None:
    api, headers = start(api_factory, CrashingEngine())
    data = wait_task(api.client, PATH, create(api, headers), headers)
    assert data["task_status"] == "failed"
    assert "internal error during generation: segfault-like surprise" in data["task_status_msg"]


def test_never_succeed_without_files(api_factory: Callable[..., Api]) -> None:
    api, headers = start(api_factory, MissingFileEngine())
    task_id = create(api, headers)
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "failed"
    assert outputs(api, task_id) == []  # the partial attempt was removed


def test_progress_is_visible_while_processing_and_succeed_has_files(
    api_factory: Callable[..., Api],
) -> None:
    engine = GatedEngine()
    api, headers = start(api_factory, engine)
    task_id = create(api, headers)
    assert engine.started.wait(10)
    deadline = time.monotonic() + 10
    while True:
        data = api.client.get(f"{PATH}/{task_id}", headers=headers).json()["data"]
        if data["progress"] == 50:
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.05)
    assert data["task_status"] == "processing" and data["task_result"] == {}
    engine.release.set()
    data = wait_task(api.client, PATH, task_id, headers)
    assert data["task_status"] == "succeed" and data["progress"] == 100
    (video,) = data["task_result"]["videos"]
    body = api.client.get(video["url"].replace("http://testserver", "")).content
    assert body == b"fake video " + task_id.encode()


def test_expired_lease_is_retried_by_another_worker(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    engine.release.set()
    api, headers = start(api_factory, engine, workers=0)
    task_id = create(api, headers)
    abandon(api, task_id, attempts=1)
    api2 = api_factory(engines={engine.name: engine}, routes={"fake": engine.name})
    data = wait_task(api2.client, PATH, task_id, headers)
    assert data["task_status"] == "succeed"
    assert row(api2, task_id).attempts == 2
    assert [p.parent.name for p in outputs(api2, task_id)] == ["2"]


def test_exhausted_attempts_fail_with_a_reason(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    api, headers = start(api_factory, engine, workers=0, max_attempts=2)
    task_id = create(api, headers)
    abandon(api, task_id, attempts=2)
    api2 = api_factory(engines={engine.name: engine}, routes={"fake": engine.name}, max_attempts=2)
    data = wait_task(api2.client, PATH, task_id, headers)
    assert data["task_status"] == "failed"
    assert "interrupted 2 times" in data["task_status_msg"]
    assert engine.runs == 0


def test_worker_that_lost_its_lease_cannot_finish_the_task(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    api, headers = start(api_factory, engine)
    task_id = create(api, headers)
    assert engine.started.wait(10)
    update(api, task_id, lease_owner="thief", lease_expires_at=now_ms() + 60_000)
    engine.release.set()
    time.sleep(1.5)
    current = row(api, task_id)
    assert current.status == "processing" and current.lease_owner == "thief"
    assert outputs(api, task_id) == []
    # The pool itself keeps working.
    data = wait_task(api.client, PATH, create(api, headers), headers)
    assert data["task_status"] == "succeed"


def test_graceful_shutdown_hands_the_task_back(api_factory: Callable[..., Api]) -> None:
    engine = GatedEngine()
    api, headers = start(api_factory, engine)
    task_id = create(api, headers)
    assert engine.started.wait(10)
    api.client.__exit__(None, None, None)  # lifespan shutdown while rendering
    engine.release.set()
    api2 = api_factory(engines={engine.name: engine}, routes={"fake": engine.name})
    data = wait_task(api2.client, PATH, task_id, headers)
    assert data["task_status"] == "succeed"
    assert row(api2, task_id).attempts == 1  # the interrupted run did not count
