"""Relay engine benchmark: what openreel in front of an upstream costs.

A front ``openreel serve`` (SQLite, ``--no-auth``, every model routed to ``relay:up``) and an
upstream stub in this process (answers a create at once, reports ``succeed`` at the first
poll, serves the result file from memory). Three measurements:

1. overhead: front create sent -> upstream create received, sequential tasks (median, p95);
2. mirror throughput: one result of ``--result-mb`` MB copied into openreel's blob store,
   timed from the front's first byte requested to the last byte served (MB/s);
3. polling cost: ``--concurrent`` relayed tasks kept running upstream (never finishing), the
   front's CPU over ``--window`` seconds while it polls them every ``--poll-interval`` s.

Usage: python bench/relay_bench.py [--tasks 20] [--result-mb 20] [--concurrent 200]
[--out bench/results/relay.json]
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchlib import (
    ChildServer,
    b64,
    cpu_seconds,
    encode,
    free_port,
    machine_info,
    photo_like,
    python_argv,
    rss_kib,
)

PATH = "/v1/videos/image2video"


class Upstream:
    """Kling-wire stub: tasks in memory; ``finish`` False keeps them processing forever."""

    def __init__(self, result: bytes) -> None:
        self.result = result
        self.finish = True
        self.creates: list[float] = []
        self.polls = 0
        self.served: list[tuple[float, float]] = []  # (first byte asked, last byte sent)
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _json(self, data: Any) -> None:
                body = json.dumps({"code": 0, "message": "SUCCEED", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _task(self, task_id: str) -> dict[str, Any]:
                done = upstream.finish
                url = f"http://127.0.0.1:{upstream.port}/results/{task_id}.mp4"
                return {
                    "task_id": task_id,
                    "task_status": "succeed" if done else "processing",
                    "task_result": {"videos": [{"id": task_id, "url": url, "duration": "5"}]}
                    if done
                    else {},
                    "final_unit_deduction": "1",
                }

            def do_POST(self) -> None:  # noqa: N802
                received = time.perf_counter()
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with upstream.lock:
                    upstream.creates.append(received)
                    task_id = str(len(upstream.creates))
                self._json(self._task(task_id))

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/results/"):
                    started = time.perf_counter()
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(len(upstream.result)))
                    self.end_headers()
                    self.wfile.write(upstream.result)
                    self.wfile.flush()
                    upstream.served.append((started, time.perf_counter()))
                    return
                with upstream.lock:
                    upstream.polls += 1
                self._json(self._task(self.path.rsplit("/", 1)[-1]))

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        data: dict[str, Any] = json.loads(response.read())["data"]
        return data


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as response:
        data: dict[str, Any] = json.loads(response.read())["data"]
        return data


def wait(front: ChildServer, task_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = get(f"{front.url}{PATH}/{task_id}")
        if data["task_status"] in ("succeed", "failed"):
            return data
        time.sleep(0.05)
    raise TimeoutError(task_id)


def front_server(work: Path, upstream: Upstream, workers: int, poll: float) -> ChildServer:
    port = free_port()
    config = {
        "base_url": f"http://127.0.0.1:{upstream.port}",
        "style": "kling",
        "api_key": "bench",
        "poll_interval": poll,
        "max_poll_interval": poll,
        "max_concurrency": max(workers, 1),
    }
    env = {
        "OPENREEL_ROUTES": json.dumps({"*": "relay:up"}),
        "OPENREEL_RELAY_UPSTREAMS": json.dumps({"up": config}),
        # Idle workers look for tasks this often: fast for the one-at-a-time phase, calm for
        # the phase with hundreds of workers.
        "OPENREEL_POLL_INTERVAL": "0.05" if workers == 1 else "1",
    }
    argv = python_argv(
        "-m", "openreel", "serve", "--port", str(port), "--data-dir", str(work / f"front-{port}")
    )
    argv += ["--no-auth", "--workers", str(workers)]
    return ChildServer("front", argv, port, work / f"front-{port}.log", env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--result-mb", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    image = b64(encode(photo_like(640, 400), "PNG"))
    body = json.dumps({"image": image, "model_name": "kling-v2-1"}).encode()
    upstream = Upstream(bytes(range(256)) * (args.result_mb * 4096))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        work = Path(tmp)
        results["machine"] = machine_info(work)

        # 1 + 2: overhead and mirror throughput, one task at a time.
        front = front_server(work, upstream, workers=1, poll=0.05)
        front.start()
        try:
            front.wait_ready()
            latencies, totals = [], []
            for _ in range(args.tasks):
                sent = time.perf_counter()
                task = post(f"{front.url}{PATH}", body)
                wait(front, task["task_id"])
                latencies.append(upstream.creates[-1] - sent)
                totals.append(time.perf_counter() - sent)
            mirror = [last - first for first, last in upstream.served]
        finally:
            front.stop()
        latencies.sort()
        results["overhead"] = {
            "tasks": args.tasks,
            "create_to_upstream_ms_median": round(statistics.median(latencies) * 1000, 1),
            "create_to_upstream_ms_p95": round(
                latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1
            ),
            "create_to_succeed_s_median": round(statistics.median(totals), 2),
        }
        results["mirror"] = {
            "result_mb": args.result_mb,
            "mb_per_s_median": round(args.result_mb / statistics.median(mirror), 1),
        }

        # 3: polling cost of many tasks running upstream at once.
        upstream.finish = False
        front = front_server(work, upstream, workers=args.concurrent, poll=args.poll_interval)
        front.start()
        try:
            front.wait_ready()
            first_create = len(upstream.creates)
            for _ in range(args.concurrent):
                post(f"{front.url}{PATH}", body)
            deadline = time.monotonic() + 300
            while len(upstream.creates) - first_create < args.concurrent:
                if time.monotonic() > deadline:
                    raise TimeoutError("not every task reached upstream")
                time.sleep(0.2)
            time.sleep(args.poll_interval)  # every task is polling now
            polls, cpu, started = upstream.polls, cpu_seconds(front.pid), time.monotonic()
            time.sleep(args.window)
            elapsed = time.monotonic() - started
            results["polling"] = {
                "concurrent_tasks": args.concurrent,
                "poll_interval_s": args.poll_interval,
                "polls_per_s": round((upstream.polls - polls) / elapsed, 1),
                "front_cpu_percent_of_one_core": round(
                    100 * (cpu_seconds(front.pid) - cpu) / elapsed, 1
                ),
                "front_rss_mib": round(rss_kib(front.pid)["rss_kib"] / 1024, 1),
            }
        finally:
            front.stop()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
