"""Queue benchmark: the embedded queue against Procrastinate, on the classic engine.

Two numbers per setup, measured in one run on the same machine:

* **tasks/min**: a burst of image2video tasks (kling-v1, std, 5 s: a 720p, 150-frame
  classic render) submitted at once; the time from the first create until every task is
  `succeed`. Procrastinate with 1 and 2 `openreel worker` processes (one job at a time each),
  and the embedded queue (`openreel serve`, one in-process worker) for reference.
* **queue latency, create -> processing**: one task at a time on an idle system (the next is
  created once the previous one finished), so the number is what the queue adds, not time
  spent behind other tasks. Taken from the database: the task's `created_at` and the
  `created_at` of its `processing` callback event, which the worker writes in the
  transaction of its claim (both in ms, same clock). Every task has a `callback_url` (a
  receiver in this process answering 204) for that reason.

Usage (PostgreSQL is needed for Procrastinate; each setup gets a scratch database):

    python bench/queue_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test \
        [--tasks 30] [--latency-tasks 30] [--out bench/results/queue.json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import io
import json
import math
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from benchlib import BenchError, ChildServer, free_port, machine_info, photo_like, python_argv
from servers import _libpq_url, get_json, post_json, scratch_database

PATH = "/v1/videos/image2video"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@contextlib.contextmanager
def callback_receiver() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


class Worker(ChildServer):
    """An ``openreel worker`` process: ready when its log says it listens."""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if "worker on queues" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not start:\n{self.log_tail()}")


@dataclass
class Setup:
    name: str
    queue: str  # local | procrastinate
    worker_processes: int  # procrastinate: `openreel worker` processes; local: 0
    postgres: bool = True
    results: dict[str, Any] = field(default_factory=dict)


def body(image: str, callback_url: str) -> bytes:
    return json.dumps(
        {
            "image": image,
            "prompt": "a slow push-in on the scene",
            "model_name": "kling-v1",
            "mode": "std",
            "duration": "5",
            "callback_url": callback_url,
        }
    ).encode()


def create(api: ChildServer, payload: bytes) -> str:
    status, answer = post_json(f"{api.url}{PATH}", payload)
    if status != 200 or answer.get("code") != 0:
        raise BenchError(f"create refused: {status} {answer}")
    return str(answer["data"]["task_id"])


def wait_all(api: ChildServer, ids: list[str], timeout: float, procs: list[ChildServer]) -> None:
    pending = set(ids)
    deadline = time.monotonic() + timeout
    while pending:
        for proc in procs:
            proc.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{len(pending)} tasks unfinished after {timeout} s")
        _, page = get_json(f"{api.url}{PATH}?pageSize=500")
        for task in page["data"]:
            if task["task_id"] in pending and task["task_status"] in ("succeed", "failed"):
                if task["task_status"] != "succeed":
                    raise BenchError(f"task failed: {task}")
                pending.discard(task["task_id"])
        time.sleep(0.05)


def processing_latencies(database_url: str | None, data_dir: Path, ids: list[str]) -> list[float]:
    """create -> processing, ms, from the task rows and their `processing` outbox events."""
    query = (
        "SELECT d.created_at - t.created_at FROM tasks t JOIN webhook_deliveries d "
        "ON d.task_id = t.id AND d.task_status = 'processing' WHERE t.id = ANY(%s)"
    )
    if database_url is not None:
        with psycopg.connect(_libpq_url(database_url)) as conn:
            return [float(r[0]) for r in conn.execute(query, (ids,)).fetchall()]
    import sqlite3

    marks = ",".join("?" * len(ids))
    with contextlib.closing(sqlite3.connect(data_dir / "openreel.db")) as conn:
        rows = conn.execute(query.replace("= ANY(%s)", f"IN ({marks})"), ids).fetchall()
        return [float(r[0]) for r in rows]


def run_setup(setup: Setup, args: argparse.Namespace, image: str, callback: str) -> None:
    with contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(scratch_database(args.database_url)) if setup.postgres else None
        )
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="queue-bench-")))
        env = {
            "OPENREEL_QUEUE": setup.queue,
            "OPENREEL_DATA_DIR": str(work / "data"),  # one data dir: local blobs are shared
            "OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        if database_url is not None:
            env["OPENREEL_DATABASE_URL"] = database_url
        port = free_port()
        serve = ["serve", "--port", str(port), "--no-auth"]
        serve += ["--no-workers"] if setup.worker_processes else ["--workers", "1"]
        api = ChildServer("api", python_argv("-m", "openreel", *serve), port, work / "api.log", env)
        procs: list[ChildServer] = [api]
        for index in range(setup.worker_processes):
            argv = python_argv(
                "-m", "openreel", "worker", "--engines", "classic", "--concurrency", "1"
            )
            procs.append(Worker(f"worker-{index}", argv, 0, work / f"worker-{index}.log", env))
        try:
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.wait_ready()
            payload = body(image, callback)
            # Warm-up: the first render loads codecs, the first job opens connection pools.
            wait_all(api, [create(api, payload)], 300, procs)

            if args.latency_tasks and setup.worker_processes <= 1:
                ids = []
                for _ in range(args.latency_tasks):
                    task_id = create(api, payload)
                    ids.append(task_id)
                    wait_all(api, [task_id], 120, procs)
                    time.sleep(0.2)
                lat = processing_latencies(database_url, work / "data", ids)
                setup.results["latency_ms"] = {
                    "n": len(lat),
                    "p50": percentile(lat, 50),
                    "p99": percentile(lat, 99),
                    "max": max(lat),
                    "mean": round(sum(lat) / len(lat), 1),
                }

            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(lambda _: create(api, payload), range(args.tasks)))
            wait_all(api, ids, 60 * 30, procs)
            elapsed = time.monotonic() - started
            setup.results["throughput"] = {
                "tasks": args.tasks,
                "seconds": round(elapsed, 2),
                "tasks_per_min": round(args.tasks / elapsed * 60, 1),
            }
        finally:
            for proc in reversed(procs):
                proc.stop()
    print(f"{setup.name}: {json.dumps(setup.results)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL admin URL")
    parser.add_argument("--tasks", type=int, default=30, help="tasks in each throughput burst")
    parser.add_argument("--latency-tasks", type=int, default=30, help="one-at-a-time tasks")
    parser.add_argument("--out", type=Path, help="write all results as JSON here")
    args = parser.parse_args()

    buffer = io.BytesIO()
    photo_like(640, 400).save(buffer, "PNG")
    image = base64.b64encode(buffer.getvalue()).decode()
    setups = [
        Setup("embedded (SQLite), 1 in-process worker", "local", 0, postgres=False),
        Setup("embedded (PostgreSQL), 1 in-process worker", "local", 0),
        Setup("Procrastinate, 1 worker process", "procrastinate", 1),
        Setup("Procrastinate, 2 worker processes", "procrastinate", 2),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        facts = machine_info(Path(tmp))
    with callback_receiver() as callback:
        for setup in setups:
            run_setup(setup, args, image, callback)

    print("\n| setup | tasks/min | create -> processing p50 / p99 (ms) |")
    print("|---|---:|---:|")
    for s in setups:
        lat = s.results.get("latency_ms")
        cell = f"{lat['p50']:.0f} / {lat['p99']:.0f} (n={lat['n']})" if lat else "-"
        print(f"| {s.name} | {s.results['throughput']['tasks_per_min']} | {cell} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {"machine": facts, "args": vars(args) | {"out": str(args.out)}}
        report["setups"] = [{"name": s.name, **s.results} for s in setups]
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
