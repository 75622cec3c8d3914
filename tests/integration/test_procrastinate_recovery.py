"""Procrastinate jobs recover by themselves (PostgreSQL only): a job that fails with an
unexpected error (here the database refusing the claim once) runs again and its task
succeeds; a job worker that fails (the database refusing its fetch of the next job) is
started again inside ``serve``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from procrastinate.manager import JobManager

from openreel.queue.procrastinate import conninfo
from openreel.store.tasks import TaskRepository
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64, pg_admin_url
from tests.support.polling import wait_task

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(pg_admin_url() is None, reason="Procrastinate needs PostgreSQL"),
]
PATH = "/v1/videos/image2video"


def start(api_factory: Callable[..., Api], **settings: Any) -> tuple[Api, dict[str, str]]:
    engine = GatedEngine()
    engine.release.set()  # renders finish at once
    api = api_factory(
        engines={engine.name: engine}, routes={"fake": engine.name}, queue="procrastinate",
        **settings,
    )  # fmt: skip
    return api, api.auth(api.new_key())


def create_and_wait(api: Api, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    body = {"image": image_b64(), "model_name": "fake"}
    created = api.client.post(PATH, json=body, headers=headers)
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    data: dict[str, Any] = wait_task(api.client, PATH, task_id, headers, timeout=timeout)
    return data


def test_a_job_that_fails_unexpectedly_runs_again(
    api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = TaskRepository.claim_task
    refused: list[str] = []

    async def flaky_claim(self: TaskRepository, task_id: str, *args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(task_id)
            raise ConnectionError("the database went away")
        return await claim(self, task_id, *args, **kwargs)

    monkeypatch.setattr(TaskRepository, "claim_task", flaky_claim)
    api, headers = start(api_factory)
    data = create_and_wait(api, headers, timeout=30)
    assert refused == [data["task_id"]]
    assert data["task_status"] == "succeed", data["task_status_msg"]


def test_a_failed_worker_is_started_again(
    api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openreel.queue.jobs.RESTART_SECONDS", 0.5)
    fetch = JobManager.fetch_job
    failed: list[str] = []

    async def failing_once(self: JobManager, *args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append("fetch")
            raise ConnectionError("the database went away")
        return await fetch(self, *args, **kwargs)

    monkeypatch.setattr(JobManager, "fetch_job", failing_once)
    api, headers = start(api_factory)
    deadline = time.monotonic() + 10
    while not failed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert failed, "the worker never fetched: the test did not break it"
    data = create_and_wait(api, headers, timeout=30)
    assert data["task_status"] == "succeed", data["task_status_msg"]


def test_the_task_row_and_its_job_commit_together(
    api_factory: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If anything fails after the job was deferred, the task row goes too (and the other
    way round): one transaction."""
    api, headers = start(api_factory, workers=0)
    service = api.services.tasks
    defer = service.enqueue
    assert defer is not None

    async def defer_then_fail(conn: Any, task_id: str, engine: str) -> None:
        await defer(conn, task_id, engine)
        raise RuntimeError("the node died right after deferring")

    monkeypatch.setattr(service, "enqueue", defer_then_fail)
    with pytest.raises(RuntimeError, match="right after deferring"):
        api.client.post(PATH, json={"image": image_b64(), "model_name": "fake"}, headers=headers)
    url = conninfo(api.services.settings.resolved_database_url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)
    assert not list((api.services.settings.data_dir / "blobs").rglob("*.png"))
