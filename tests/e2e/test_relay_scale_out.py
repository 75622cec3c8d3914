"""The relay in scale-out mode: an API node without workers, relay workers on the Procrastinate
queue ``relay`` (every upstream's jobs, each naming its engine), PostgreSQL. A relay worker
SIGKILLed while polling is replaced by another that finishes the task, still with one upstream
task; ``max_concurrency`` holds over two worker processes."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from openreel.queue.procrastinate import conninfo
from tests.support.helpers import create_pg_database, drop_pg_database, image_b64, pg_admin_url
from tests.support.kling_stub import VIDEO_BYTES, KlingStub
from tests.support.server import ServerProcess, WorkerProcess, free_port

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(pg_admin_url() is None, reason="scale-out runs on PostgreSQL only"),
]

PATH = "/v1/videos/image2video"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@contextmanager
def deployment(
    tmp_path: Path, stub: KlingStub, **upstream: Any
) -> Iterator[tuple[httpx.Client, Callable[[], WorkerProcess], str]]:
    """An API node (no workers) on a fresh PostgreSQL database, and a way to start relay
    workers; everything is stopped on the way out."""
    url, name = create_pg_database()
    config = {"base_url": stub.url, "style": "kling", "api_key": "sk-x", **upstream}
    # One data folder for every node (blobs on a shared disk; S3 works the same way).
    shared = tmp_path / "shared"
    env = {
        "OPENREEL_DATABASE_URL": url,
        "OPENREEL_DATA_DIR": str(shared),
        "OPENREEL_QUEUE": "procrastinate",
        "OPENREEL_POLL_INTERVAL": "0.2",
        "OPENREEL_WORKERS": "1",  # one render per worker: two tasks need both workers
        "OPENREEL_LEASE_SECONDS": "2",
        "OPENREEL_WORKER_HEARTBEAT_SECONDS": "0.5",
        "OPENREEL_STALLED_WORKER_SECONDS": "3",
        "OPENREEL_SIGNING_SECRET": "shared-by-every-node",
        "OPENREEL_ROUTES": json.dumps({"*": "relay:up"}),
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": config}),
    }
    workers: list[WorkerProcess] = []
    api = ServerProcess(shared, free_port(), env, ["--no-workers"])
    client: httpx.Client | None = None

    def worker() -> WorkerProcess:
        # "relay": every relay engine (they share the queue).
        workers.append(WorkerProcess(shared, env, ["--engines", "relay"]))
        return workers[-1]

    try:
        api.wait_ready()
        client = httpx.Client(
            base_url=api.url, headers={"Authorization": f"Bearer {api.printed_key()}"}, timeout=30
        )
        yield client, worker, url
    finally:
        if client is not None:
            client.close()
        for started in workers:
            started.stop()
        api.stop()
        drop_pg_database(name)


def create(client: httpx.Client) -> str:
    created = client.post(PATH, json={"image": image_b64(640, 400), "model_name": "kling-v2-1"})
    assert created.status_code == 200, created.text
    task_id: str = created.json()["data"]["task_id"]
    return task_id


def finished(client: httpx.Client, task_id: str) -> dict[str, Any]:
    def ended() -> bool:
        data = client.get(f"{PATH}/{task_id}").json()["data"]
        return data["task_status"] in ("succeed", "failed")

    _wait(ended, f"task {task_id} never finished", timeout=120)
    data: dict[str, Any] = client.get(f"{PATH}/{task_id}").json()["data"]
    return data


def test_relay_workers_on_their_queue_survive_a_sigkill(tmp_path: Path) -> None:
    stub = KlingStub(polls_to_finish=8)
    try:
        with deployment(tmp_path, stub, poll_interval=0.3) as (client, worker, url):
            first = worker()
            task_id = create(client)
            with psycopg.connect(conninfo(url)) as conn:
                job = conn.execute(
                    "select queue_name, args from procrastinate_jobs where queueing_lock = %s",
                    (task_id,),
                ).fetchone()
            assert job is not None and job[0] == "relay"
            assert job[1] == {"task_id": task_id, "engine": "relay:up"}
            try:
                _wait(lambda: any(r.path == f"{PATH}/1000" for r in stub.http.requests), "no poll")
            except AssertionError:
                raise AssertionError(first.text()) from None
            first.stop(signal.SIGKILL)
            worker()
            data = finished(client, task_id)
            assert data["task_status"] == "succeed", data
            video = httpx.get(data["task_result"]["videos"][0]["url"], timeout=10)
            assert video.content == VIDEO_BYTES
            assert len(stub.creates) == 1 and len(stub.tasks) == 1
    finally:
        stub.close()


def test_max_concurrency_holds_over_two_workers(tmp_path: Path) -> None:
    stub = KlingStub(polls_to_finish=6)
    try:
        with deployment(tmp_path, stub, poll_interval=0.2, max_concurrency=1) as (
            client,
            worker,
            _,
        ):
            workers = [worker(), worker()]
            for started in workers:
                started.wait_for("worker on queues relay")
            ids = [create(client) for _ in range(2)]
            for task_id in ids:
                assert finished(client, task_id)["task_status"] == "succeed"
            # One task in each worker process, and never two running upstream at once.
            assert len(stub.tasks) == 2 and stub.max_running == 1
    finally:
        stub.close()
