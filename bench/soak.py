"""Soak benchmark: thousands of creates from 32 clients that poll their tasks while the
server's in-process worker renders.

Each client loops: create an image2video task (a small base64 JPEG, kling-v1 std 5 s), then
poll it ``--polls`` times, like a real client waiting on its task. Renders go on in the
background all along (one classic worker), so the API answers while a render holds a core.

Reported: the error rate (any answer other than HTTP 200 + code 0, or a transport error), the
p50/p99 latency of creates and of polls, the throughput, and the server's memory at idle
before the run, right after it, and after a settle pause (RSS of the process tree, and the
API process's peak), with the ratio after/before as the leak indicator (the baseline is the
same process at idle, same run).

    python bench/soak.py [--creates 2000] [--clients 32] [--polls 3] \
        [--database-url postgresql://...] [--out bench/results/soak.json]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    BenchError,
    ChildServer,
    b64,
    encode,
    free_port,
    machine_info,
    photo_like,
    python_argv,
    rss_kib,
)
from servers import database_for, get_json, post_json

PATH = "/v1/videos/image2video"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Tally:
    """What the clients saw; appended from many threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    create_ms: list[float] = field(default_factory=list)
    poll_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    ok: int = 0
    task_ids: list[str] = field(default_factory=list)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def server(data_dir: Path, log_dir: Path, database_url: str | None) -> ChildServer:
    """``openreel serve --no-auth`` with one in-process worker (the default)."""
    port = free_port()
    env = {"OPENREEL_DATABASE_URL": database_url} if database_url else {}
    argv = python_argv(
        "-m", "openreel", "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-auth"
    )
    return ChildServer("openreel", argv, port, log_dir / f"soak-{port}.log", env)


def client_loop(url: str, body: bytes, creates: int, polls: int, tally: Tally) -> None:
    for _ in range(creates):
        started = time.perf_counter()
        try:
            status, payload = post_json(url + PATH, body, timeout=60)
        except OSError as exc:
            tally.error(f"create transport: {type(exc).__name__}")
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or payload.get("code") != 0:
            tally.error(f"create HTTP {status} code {payload.get('code')}")
            continue
        task_id = str(payload["data"]["task_id"])
        with tally.lock:
            tally.create_ms.append(elapsed)
            tally.ok += 1
            tally.task_ids.append(task_id)
        for _ in range(polls):
            started = time.perf_counter()
            try:
                status, payload = get_json(f"{url}{PATH}/{task_id}", timeout=60)
            except OSError as exc:
                tally.error(f"poll transport: {type(exc).__name__}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200 or payload.get("code") != 0:
                tally.error(f"poll HTTP {status} code {payload.get('code')}")
                continue
            with tally.lock:
                tally.poll_ms.append(elapsed)
                tally.ok += 1


def statuses(url: str, ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task_id in ids:
        _, payload = get_json(f"{url}{PATH}/{task_id}")
        status = str(payload.get("data", {}).get("task_status", "missing"))
        counts[status] = counts.get(status, 0) + 1
    return counts


def memory(pid: int) -> dict[str, float]:
    sample = rss_kib(pid)
    return {
        "tree_rss_mib": round(sample["rss_kib"] / 1024, 1),
        "api_rss_mib": round(sample["rss_self_kib"] / 1024, 1),
        "api_peak_mib": round(sample["hwm_self_kib"] / 1024, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    image = encode(photo_like(960, 540), "JPEG")
    body = json.dumps(
        {"model_name": "kling-v1", "image": b64(image), "prompt": "a slow push-in"}
    ).encode()
    with (
        tempfile.TemporaryDirectory(prefix="openreel-soak-") as tmp,
        database_for(args.database_url) as database_url,
    ):
        work = Path(tmp)
        api = server(work / "data", work, database_url)
        api.start()
        try:
            api.wait_ready()
            # Warm-up: a few requests so lazy imports and pools are in the idle figure.
            client_loop(api.url, body, 3, 2, Tally())
            time.sleep(2)
            before = memory(api.pid)
            tally = Tally()
            per_client = max(1, args.creates // args.clients)
            started = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                futures = [
                    pool.submit(client_loop, api.url, body, per_client, args.polls, tally)
                    for _ in range(args.clients)
                ]
                for future in futures:
                    future.result()
            wall = time.monotonic() - started
            api.check_alive()
            after = memory(api.pid)
            time.sleep(args.settle)
            settled = memory(api.pid)
            final = statuses(api.url, tally.task_ids)
        finally:
            api.stop()
    requests = tally.ok + sum(tally.errors.values())
    return {
        "machine": machine_info(Path(tempfile.gettempdir())),
        "database": "postgresql" if args.database_url else "sqlite",
        "clients": args.clients,
        "creates_attempted": per_client * args.clients,
        "polls_per_create": args.polls,
        "wall_s": round(wall, 1),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "error_rate": sum(tally.errors.values()) / requests if requests else math.nan,
        "errors": tally.errors,
        "create_ms": {
            "p50": round(percentile(tally.create_ms, 50), 1),
            "p99": round(percentile(tally.create_ms, 99), 1),
        },
        "poll_ms": {
            "p50": round(percentile(tally.poll_ms, 50), 1),
            "p99": round(percentile(tally.poll_ms, 99), 1),
        },
        "memory_before": before,
        "memory_after": after,
        "memory_settled": settled,
        "api_rss_after_over_before": round(after["api_rss_mib"] / before["api_rss_mib"], 2),
        "task_status_at_end": final,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--polls", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before the last RSS")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    try:
        result = run(args)
    except BenchError as exc:
        raise SystemExit(f"soak: {exc}") from None
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
