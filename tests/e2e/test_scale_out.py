"""Scale-out on loopback: two API nodes and two worker nodes, PostgreSQL, S3 (moto's server).

The nodes are started with the commands of docs/deploy.md (read from it), through
``tests.fakes.counting_cli`` so that every engine run is logged with the pid that ran it.
PostgreSQL only: the queue is Procrastinate.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.support.helpers import create_pg_database, drop_pg_database, image_b64, pg_admin_url
from tests.support.http_stub import HttpStub
from tests.support.s3 import S3Server, s3_server
from tests.support.server import ChildProcess, WorkerProcess, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.db,
    pytest.mark.skipif(pg_admin_url() is None, reason="scale-out runs on PostgreSQL only"),
]

ROOT = Path(__file__).resolve().parents[2]
PATH = "/v1/videos/image2video"
TASKS = 200


def deploy_commands() -> dict[str, list[str]]:
    """The `openreel ...` commands of docs/deploy.md's marked block, by subcommand."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = re.search(
        r"<!-- scale-out commands: begin -->(.*?)<!-- scale-out commands: end -->", text, re.S
    )
    assert block is not None, "docs/deploy.md lost its scale-out commands block"
    commands: dict[str, list[str]] = {}
    for line in block.group(1).splitlines():
        if line.startswith("openreel "):
            args = shlex.split(line, comments=True)[1:]
            commands[args[0]] = args
    assert set(commands) == {"keys", "serve", "worker"}, commands
    return commands


COUNTING_CLI = [sys.executable, "-m", "tests.fakes.counting_cli"]


@dataclass
class Cluster:
    apis: list[httpx.Client]
    workers: list[WorkerProcess]
    run_log: Path
    s3: S3Server
    env: dict[str, str]
    worker_args: list[str]
    tmp: Path

    def runs(self) -> list[tuple[str, int]]:
        if not self.run_log.exists():
            return []
        return [
            (task, int(pid))
            for task, pid in (line.split() for line in self.run_log.read_text().splitlines())
        ]

    def create(self, api: int, prompt: str, **body: Any) -> str:
        payload = {"image": image_b64(320, 320, seed=api), "prompt": prompt, **body}
        response = self.apis[api].post(PATH, json=payload)
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["task_id"])

    def get(self, api: int, task_id: str) -> dict[str, Any]:
        response = self.apis[api].get(f"{PATH}/{task_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def wait(self, task_id: str, until: set[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        turn = 0
        while True:
            data = self.get(turn % 2, task_id)
            if data["task_status"] in until:
                return data
            assert time.monotonic() < deadline, data
            turn += 1
            time.sleep(0.1)

    def start_worker(self) -> WorkerProcess:
        env = {**self.env, "OPENREEL_DATA_DIR": str(self.tmp / f"worker-{len(self.workers)}")}
        # worker_args: deploy.md's command after its `worker` (WorkerProcess puts it back).
        node = WorkerProcess(None, env, self.worker_args[1:], command=COUNTING_CLI, cwd=ROOT)
        node.wait_for("worker on queues classic")
        self.workers.append(node)
        return node


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    commands = deploy_commands()
    tmp = tmp_path_factory.mktemp("scale-out")
    url, name = create_pg_database()
    nodes: list[ChildProcess] = []
    clients: list[httpx.Client] = []
    try:
        with s3_server() as s3:
            env = {
                **s3.env(prefix="prod"),
                "OPENREEL_DATABASE_URL": url,
                "OPENREEL_QUEUE": "procrastinate",
                "OPENREEL_POLL_INTERVAL": "0.2",
                "OPENREEL_LEASE_SECONDS": "2",
                "OPENREEL_WORKER_HEARTBEAT_SECONDS": "0.5",
                "OPENREEL_STALLED_WORKER_SECONDS": "3",
                "OPENREEL_TEST_RUN_LOG": str(tmp / "runs.log"),
                "OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32",  # the callback receiver
            }
            keys = subprocess.run(
                [*COUNTING_CLI, *commands["keys"]],
                cwd=ROOT,
                env={**os.environ, **env, "OPENREEL_DATA_DIR": str(tmp / "admin")},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert keys.returncode == 0, keys.stdout + keys.stderr
            api_key = keys.stdout.split("API key:")[1].split()[0]
            for index in range(2):
                port = free_port()
                args = [
                    {"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(a, a) for a in commands["serve"]
                ]
                data_dir = {"OPENREEL_DATA_DIR": str(tmp / f"api-{index}")}
                node = ChildProcess([*COUNTING_CLI, *args], {**env, **data_dir}, cwd=ROOT)
                nodes.append(node)
                node.wait_for("Application startup complete")
                clients.append(
                    httpx.Client(
                        base_url=f"http://127.0.0.1:{port}",
                        headers={"Authorization": f"Bearer {api_key}"},
                        timeout=30,
                    )
                )
            cluster = Cluster(clients, [], tmp / "runs.log", s3, env, commands["worker"], tmp)
            for _ in range(2):
                cluster.start_worker()
            nodes.extend(cluster.workers)
            yield cluster
            nodes.extend(w for w in cluster.workers if w not in nodes)
    finally:
        for client in clients:
            client.close()
        for node in nodes:
            node.stop()
        drop_pg_database(name)


def test_200_tasks_through_both_apis_each_rendered_once(cluster: Cluster) -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: cluster.create(i % 2, "stub"), range(TASKS)))
    assert len(set(ids)) == TASKS
    pending = set(ids)
    deadline = time.monotonic() + 180
    turn = 0
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tasks still unfinished"
        for task_id in list(pending):
            data = cluster.get(turn % 2, task_id)  # either API answers for any task
            turn += 1
            if data["task_status"] in ("succeed", "failed"):
                assert data["task_status"] == "succeed", data
                pending.discard(task_id)
        time.sleep(0.2)

    runs = Counter(task for task, _ in cluster.runs() if task in set(ids))
    assert set(runs) == set(ids)
    assert max(runs.values()) == 1, [t for t, n in runs.items() if n > 1]
    pids = {pid for task, pid in cluster.runs() if task in set(ids)}
    assert pids == {w.proc.pid for w in cluster.workers}, "both workers took jobs"

    # Each task's result is in the bucket, behind a presigned URL that either API mints.
    for task_id in ids[:3]:
        for api in (0, 1):
            url = cluster.get(api, task_id)["task_result"]["videos"][0]["url"]
            assert url.startswith(f"{cluster.s3.endpoint_url}/{cluster.s3.bucket}/prod/outputs/")
            download = httpx.get(url, timeout=30)
            assert download.status_code == 200
            assert download.content == b"stub video " + task_id.encode()
    assert len(cluster.s3.keys("prod/outputs/")) >= TASKS


def test_cancel_a_queued_and_a_running_task(cluster: Cluster) -> None:
    # Both workers busy (one job at a time each), so a third task waits in the queue.
    busy = [cluster.create(i, "hold:12") for i in (0, 1)]
    for task_id in busy:
        cluster.wait(task_id, {"processing"})
    queued = cluster.create(0, "stub")
    time.sleep(0.5)
    assert cluster.get(1, queued)["task_status"] == "submitted"

    for task_id, api in ((queued, 1), (busy[0], 0)):
        response = cluster.apis[api].post(f"{PATH}/{task_id}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["task_status"] == "failed"

    # The aborted render stops at once: its worker takes the next task while the other
    # worker is still holding its own.
    follow_up = cluster.create(1, "stub")
    assert cluster.wait(follow_up, {"succeed"}, timeout=30)["task_status"] == "succeed"
    assert cluster.get(0, busy[1])["task_status"] == "processing"
    assert cluster.wait(busy[1], {"succeed"}, timeout=30)["task_status"] == "succeed"
    for task_id in (queued, busy[0]):
        data = cluster.get(0, task_id)
        assert data["task_status"] == "failed"
        assert data["task_status_msg"] == "task cancelled by the user (POST .../cancel)"
        assert data["task_result"] == {}
    ran = Counter(task for task, _ in cluster.runs())
    assert ran[queued] == 0 and ran[busy[0]] == 1


def test_a_real_render_is_downloadable_from_s3(cluster: Cluster) -> None:
    task_id = cluster.create(0, "slow zoom in", model_name="kling-v1", mode="std", duration="5")
    data = cluster.wait(task_id, {"succeed", "failed"}, timeout=120)
    assert data["task_status"] == "succeed", data
    video = data["task_result"]["videos"][0]
    assert video["duration"] == "5"
    download = httpx.get(video["url"], timeout=60)
    assert download.status_code == 200
    path = cluster.tmp / "render.mp4"
    path.write_bytes(download.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (720, 720)
    assert frames == 150  # 5 s at 30 fps


def test_callbacks_are_sent_by_the_api_nodes(cluster: Cluster) -> None:
    receiver = HttpStub()
    try:
        task_id = cluster.create(0, "stub", callback_url=f"{receiver.url}/hook")
        assert cluster.wait(task_id, {"succeed"})["task_status"] == "succeed"
        bodies = [r.body for r in receiver.wait_for(3)]
    finally:
        receiver.close()
    # `processing` and `succeed` were written by a worker, which sends nothing itself: the
    # API nodes' senders delivered them (workers have no callback sender at all).
    events = [json.loads(b) for b in bodies]
    assert [e["task_status"] for e in events] == ["submitted", "processing", "succeed"]
    url = events[2]["task_result"]["videos"][0]["url"]  # presigned when the event is sent
    assert url.startswith(f"{cluster.s3.endpoint_url}/{cluster.s3.bucket}/prod/outputs/")
    assert httpx.get(url, timeout=30).content == b"stub video " + task_id.encode()
    assert "callback" not in "".join(w.text() for w in cluster.workers).lower()


def test_sigkill_a_worker_mid_render_the_other_finishes_the_task(cluster: Cluster) -> None:
    task_id = cluster.create(1, "hold:3")
    cluster.wait(task_id, {"processing"})
    deadline = time.monotonic() + 10
    while not any(t == task_id for t, _ in cluster.runs()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first_pid = next(pid for t, pid in cluster.runs() if t == task_id)
    victim = next(w for w in cluster.workers if w.proc.pid == first_pid)
    victim.stop(signal.SIGKILL)

    data = cluster.wait(task_id, {"succeed", "failed"}, timeout=60)
    assert data["task_status"] == "succeed", data
    pids = [pid for t, pid in cluster.runs() if t == task_id]
    survivor = next(w for w in cluster.workers if w is not victim)
    assert pids == [first_pid, survivor.proc.pid]
    # The interrupted attempt left nothing beside the one that succeeded.
    assert cluster.s3.keys(f"prod/outputs/{task_id}/") == [f"prod/outputs/{task_id}/2/video.mp4"]
    url = data["task_result"]["videos"][0]["url"]
    assert httpx.get(url, timeout=30).content == b"stub video " + task_id.encode()


def test_sigterm_hands_the_running_task_to_another_worker(cluster: Cluster) -> None:
    alive = [w for w in cluster.workers if w.proc.poll() is None]
    while len(alive) < 2:
        alive.append(cluster.start_worker())
    task_id = cluster.create(0, "hold:3")
    cluster.wait(task_id, {"processing"})
    deadline = time.monotonic() + 10
    while not any(t == task_id for t, _ in cluster.runs()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first_pid = next(pid for t, pid in cluster.runs() if t == task_id)
    leaving = next(w for w in alive if w.proc.pid == first_pid)
    started = time.monotonic()
    leaving.stop(signal.SIGTERM)
    assert leaving.proc.returncode == 0, leaving.text()
    assert time.monotonic() - started < 10  # the render is handed back, not finished

    data = cluster.wait(task_id, {"succeed", "failed"}, timeout=60)
    assert data["task_status"] == "succeed", data
    other = next(w for w in alive if w is not leaving)
    assert [pid for t, pid in cluster.runs() if t == task_id] == [first_pid, other.proc.pid]
    # A hand-back does not spend an attempt: the result is the first attempt's.
    assert cluster.s3.keys(f"prod/outputs/{task_id}/") == [f"prod/outputs/{task_id}/1/video.mp4"]
