"""The cancel extension: a queued or running task ends ``failed`` with a cancel message, on
the embedded queue (any database) and on Procrastinate (PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from openreel.queue.procrastinate import conninfo
from openreel.tasks.service import CANCEL_MESSAGE
from tests.fakes.engines import GatedEngine
from tests.support.api import Api
from tests.support.helpers import image_b64, pg_admin_url

pytestmark = pytest.mark.db

PATH = "/v1/videos/image2video"
QUEUES = [
    "local",
    pytest.param(
        "procrastinate",
        marks=pytest.mark.skipif(pg_admin_url() is None, reason="Procrastinate needs PostgreSQL"),
    ),
]
# Nothing listens there: callbacks stay pending, the log still records each event.
CALLBACK = "http://127.0.0.1:9/hook"


def start(api_factory: Callable[..., Api], queue: str, **settings: Any) -> tuple[Api, GatedEngine]:
    engine = GatedEngine()
    api = api_factory(
        engines={engine.name: engine},
        routes={"fake": engine.name},
        queue=queue,
        callback_retry_schedule=[60],
        **settings,
    )
    return api, engine


def create(api: Api, headers: dict[str, str], **body: Any) -> str:
    payload = {"image": image_b64(), "model_name": "fake", "callback_url": CALLBACK, **body}
    response = api.client.post(PATH, json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["task_id"])


def status(api: Api, headers: dict[str, str], task_id: str) -> dict[str, Any]:
    response = api.client.get(f"{PATH}/{task_id}", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def callback_statuses(api: Api, headers: dict[str, str], task_id: str) -> list[str]:
    response = api.client.get(f"{PATH}/{task_id}/callbacks", headers=headers)
    assert response.status_code == 200, response.text
    return [d["task_status"] for d in response.json()["data"]["deliveries"]]


@pytest.mark.parametrize("queue", QUEUES)
def test_cancel_a_queued_task(api_factory: Callable[..., Api], queue: str) -> None:
    api, engine = start(api_factory, queue, workers=0)  # nothing runs: the task stays queued
    headers = api.auth(api.new_key())
    task_id = create(api, headers)
    assert status(api, headers, task_id)["task_status"] == "submitted"

    response = api.client.post(f"/kling/v1/videos/image2video/{task_id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["task_id"] == task_id
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == CANCEL_MESSAGE
    assert data["task_result"] == {}
    assert status(api, headers, task_id)["task_status"] == "failed"
    assert callback_statuses(api, headers, task_id) == ["submitted", "failed"]
    assert engine.runs == 0
    if queue == "procrastinate":  # the job itself is cancelled, not just skipped later
        assert job_statuses(api, task_id) == ["cancelled"]


def job_statuses(api: Api, task_id: str) -> list[str]:
    """The Procrastinate jobs of a task, as rows in its table."""
    url = conninfo(api.services.settings.resolved_database_url)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status FROM procrastinate_jobs WHERE queueing_lock = %s ORDER BY id",
            (task_id,),
        ).fetchall()
    return [str(row[0]) for row in rows]


@pytest.mark.parametrize("queue", QUEUES)
def test_cancel_a_running_task_stops_its_render(
    api_factory: Callable[..., Api], queue: str
) -> None:
    api, engine = start(api_factory, queue)
    headers = api.auth(api.new_key())
    task_id = create(api, headers)
    assert engine.started.wait(30), "the render never started"
    assert status(api, headers, task_id)["task_status"] == "processing"

    response = api.client.post(f"{PATH}/{task_id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["task_status"] == "failed"
    # The render stops without being released (the worker is told, not left to find out).
    assert engine.ended.wait(10), "the render was not stopped"
    time.sleep(0.5)
    data = status(api, headers, task_id)
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == CANCEL_MESSAGE
    assert engine.runs == 1
    assert callback_statuses(api, headers, task_id) == ["submitted", "processing", "failed"]
    if queue == "procrastinate":  # stopped by the job's abort, not by a lost lease
        deadline = time.monotonic() + 10
        while job_statuses(api, task_id) != ["aborted"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job_statuses(api, task_id) == ["aborted"]


def test_cancel_errors(api_factory: Callable[..., Api]) -> None:
    api, engine = start(api_factory, "local", workers=0)
    headers = api.auth(api.new_key())
    task_id = create(api, headers)

    other = api.auth(api.new_key("other"))
    response = api.client.post(f"{PATH}/{task_id}/cancel", headers=other)
    assert response.status_code == 404
    assert response.json()["code"] == 1203

    wrong_family = api.client.post(f"/v1/images/generations/{task_id}/cancel", headers=headers)
    assert wrong_family.status_code == 404

    assert api.client.post(f"{PATH}/{task_id}/cancel", headers=headers).status_code == 200
    again = api.client.post(f"{PATH}/{task_id}/cancel", headers=headers)
    assert again.status_code == 400
    body = again.json()
    assert body["code"] == 1201
    assert body["message"].startswith(f"task_id: task {task_id} has already ended (failed)")

    unauthenticated = api.client.post(f"{PATH}/{task_id}/cancel")
    assert unauthenticated.status_code == 401
