"""The relay in scale-out mode: an API node without workers, relay workers on the Procrastinate
queue ``relay:up`` (one queue per engine), PostgreSQL. A relay worker SIGKILLed while polling
is replaced by another that finishes the task, still with one upstream task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.helpers import create_pg_database, drop_pg_database, image_b64, pg_admin_url
from tests.support.kling_stub import VIDEO_BYTES, KlingStub
from tests.support.server import ServerProcess, _die_with_parent, free_port

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(pg_admin_url() is None, reason="scale-out runs on PostgreSQL only"),
]

PATH = "/v1/videos/image2video"


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openreel", "worker", "--engines", "relay:up"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # The reader ends at the pipe's EOF (the process is gone); close our end of it.
        self._reader.join(timeout=10)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_relay_workers_on_their_own_queue_survive_a_sigkill(tmp_path: Path) -> None:
    stub = KlingStub(polls_to_finish=8)
    url, name = create_pg_database()
    upstream = {"base_url": stub.url, "style": "kling", "api_key": "sk-x", "poll_interval": 0.3}
    env = {
        "OPENREEL_DATABASE_URL": url,
        "OPENREEL_QUEUE": "procrastinate",
        "OPENREEL_POLL_INTERVAL": "0.2",
        "OPENREEL_LEASE_SECONDS": "2",
        "OPENREEL_WORKER_HEARTBEAT_SECONDS": "0.5",
        "OPENREEL_STALLED_WORKER_SECONDS": "3",
        "OPENREEL_SIGNING_SECRET": "shared-by-every-node",
        "OPENREEL_ROUTES": json.dumps({"*": "relay:up"}),
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": upstream}),
    }
    workers: list[Worker] = []
    # One data folder for every node (blobs on a shared disk; S3 works the same way).
    shared = tmp_path / "shared"
    env["OPENREEL_DATA_DIR"] = str(shared)
    api = ServerProcess(shared, free_port(), env, ["--no-workers"])
    client: httpx.Client | None = None
    try:
        api.wait_ready()
        client = httpx.Client(
            base_url=api.url, headers={"Authorization": f"Bearer {api.printed_key()}"}, timeout=30
        )
        workers.append(Worker(env))
        created = client.post(PATH, json={"image": image_b64(640, 400), "model_name": "kling-v2-1"})
        assert created.status_code == 200, created.text
        task_id = created.json()["data"]["task_id"]
        try:
            _wait(lambda: any(r.path == f"{PATH}/1000" for r in stub.http.requests), "no poll")
        except AssertionError:
            raise AssertionError("".join(workers[0].output)) from None
        workers[0].stop(signal.SIGKILL)
        workers.append(Worker(env))

        def finished() -> bool:
            data = client.get(f"{PATH}/{task_id}").json()["data"]
            return data["task_status"] in ("succeed", "failed")

        _wait(finished, "task never finished after the worker was killed", timeout=120)
        data = client.get(f"{PATH}/{task_id}").json()["data"]
        assert data["task_status"] == "succeed", data
        assert httpx.get(data["task_result"]["videos"][0]["url"], timeout=10).content == (
            VIDEO_BYTES
        )
        assert len(stub.creates) == 1 and len(stub.tasks) == 1
    finally:
        if client is not None:
            client.close()
        for worker in workers:
            worker.stop()
        api.stop()
        stub.close()
        drop_pg_database(name)
