"""Soak benchmark: thousands of creates from 32 clients that poll their tasks while the
server's in-process worker renders.

Each client loops: create an image2video task (a small base64 JPEG, kling-v1 std 5 s), then
poll it ``--polls`` times, ``--poll-interval`` s apart, like a real client waiting on its
task. The clients share one budget of ``--creates`` creates. Renders go on in the background
all along (the classic engine, ``--workers`` in-process workers), so the API answers while
a render holds a core.

Unpaced (the default), the clients create as fast as the server answers: on a small machine
the queue then grows far beyond what the workers render. ``--rate R`` paces the creates to R
per second in total (create i is sent no earlier than i/R s after the start), so that with R
at or under the render rate the queue stays bounded.

Reported: the error rate (any answer other than HTTP 200 + code 0, or a transport error), the
p50/p99 latency of creates and of polls, the throughput, the tasks that finished (during the
run and after a settle pause), and the server's memory: RSS of the API process at idle before
the run (after a warm-up), right after it, and after the settle pause, its peak (VmHWM), and a
timeline sampled every ``--sample-every`` s; the ratio after/before is the leak indicator (the
baseline is the same process at idle, same run). ``--malloc-arena-max N`` starts the server
with ``MALLOC_ARENA_MAX=N`` (glibc), to tell heap growth from allocator arenas.

    python bench/soak.py [--creates 2000] [--clients 32] [--polls 3] [--rate R] \
        [--malloc-arena-max N] [--database-url postgresql://...] [--out bench/results/soak.json]
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
ENDED = ("succeed", "failed")


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
    ended_seen: set[str] = field(default_factory=set)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


class Budget:
    """The creates left to send, shared by the clients; with a rate, the time each may go."""

    def __init__(self, creates: int, rate: float | None) -> None:
        self.left = creates
        self.rate = rate
        self.sent = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        """Claim the next create (False when none is left); sleeps until its paced slot."""
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            slot = self.sent
            self.sent += 1
        if self.rate:
            delay = self.started + slot / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return True


def server(
    data_dir: Path,
    log_dir: Path,
    database_url: str | None,
    workers: int,
    arena_max: int | None,
) -> ChildServer:
    """``openreel serve --no-auth`` with ``workers`` in-process workers."""
    port = free_port()
    env = {"OPENREEL_WORKERS": str(workers)}
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = str(arena_max)
    argv = python_argv(
        "-m",
        "openreel",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--no-auth",
        "--workers",
        str(workers),
    )
    return ChildServer("openreel", argv, port, log_dir / f"soak-{port}.log", env)


def poll(url: str, task_id: str, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        status, payload = get_json(f"{url}{PATH}/{task_id}", timeout=60)
    except OSError as exc:
        tally.error(f"poll transport: {type(exc).__name__}")
        return
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200 or payload.get("code") != 0:
        tally.error(f"poll HTTP {status} code {payload.get('code')}")
        return
    with tally.lock:
        tally.poll_ms.append(elapsed)
        tally.ok += 1
        if payload["data"].get("task_status") in ENDED:
            tally.ended_seen.add(task_id)


def client_loop(
    url: str, body: bytes, budget: Budget, polls: int, interval: float, tally: Tally
) -> None:
    while budget.take():
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
            if interval:
                time.sleep(interval)
            poll(url, task_id, tally)


def status_of(url: str, ids: list[str]) -> dict[str, str]:
    """Task id -> its status now."""
    found: dict[str, str] = {}
    for task_id in ids:
        _, payload = get_json(f"{url}{PATH}/{task_id}")
        found[task_id] = str(payload.get("data", {}).get("task_status", "missing"))
    return found


def statuses(url: str, ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in status_of(url, ids).values():
        counts[status] = counts.get(status, 0) + 1
    return counts


def cancel_unfinished(url: str, ids: list[str]) -> int:
    """Cancel every task still queued or rendering (openreel's cancel extension), so that the
    server is idle again for the last memory figure; returns how many were cancelled."""
    cancelled = 0
    for task_id, status in status_of(url, ids).items():
        if status not in ENDED:
            answer, payload = post_json(f"{url}{PATH}/{task_id}/cancel", b"{}")
            cancelled += answer == 200 and payload.get("code") == 0
    return cancelled


def memory(pid: int) -> dict[str, float]:
    sample = rss_kib(pid)
    return {
        "tree_rss_mib": round(sample["rss_kib"] / 1024, 1),
        "api_rss_mib": round(sample["rss_self_kib"] / 1024, 1),
        "api_peak_mib": round(sample["hwm_self_kib"] / 1024, 1),
    }


class Timeline:
    """The API process's RSS every ``every`` s while the soak runs (a leak climbs steadily;
    allocator arenas step up early and then stay flat)."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid = pid
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                rss = rss_kib(self.pid)["rss_self_kib"] / 1024
            except OSError:
                return
            self.samples.append((round(time.monotonic() - self.started, 1), round(rss, 1)))

    def __enter__(self) -> Timeline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(args: argparse.Namespace) -> dict[str, Any]:
    image = encode(photo_like(640, 400), "JPEG")
    body = json.dumps(
        {"model_name": "kling-v1", "image": b64(image), "prompt": "a slow push-in"}
    ).encode()
    with (
        tempfile.TemporaryDirectory(prefix="openreel-soak-") as tmp,
        database_for(args.database_url) as database_url,
    ):
        work = Path(tmp)
        machine = machine_info(work)
        api = server(work / "data", work, database_url, args.workers, args.malloc_arena_max)
        api.start()
        try:
            api.wait_ready()
            # Warm-up: a few requests so lazy imports and pools are in the idle figure, and
            # one render so the engine's libraries are loaded before the baseline.
            warm = Tally()
            client_loop(api.url, body, Budget(2, None), 1, 0.0, warm)
            for task_id in warm.task_ids if args.workers else []:
                while status_of(api.url, [task_id])[task_id] not in ENDED:
                    time.sleep(0.5)
            time.sleep(2)
            before = memory(api.pid)
            tally = Tally()
            budget = Budget(args.creates, args.rate)
            started = time.monotonic()
            with Timeline(api.pid, args.sample_every) as timeline:
                with ThreadPoolExecutor(args.clients) as pool:
                    futures = [
                        pool.submit(
                            client_loop,
                            api.url,
                            body,
                            budget,
                            args.polls,
                            args.poll_interval,
                            tally,
                        )
                        for _ in range(args.clients)
                    ]
                    for future in futures:
                        future.result()
                wall = time.monotonic() - started
                api.check_alive()
                after = memory(api.pid)
                at_end = statuses(api.url, tally.task_ids)
                time.sleep(args.settle)
            settled = memory(api.pid)
            final = statuses(api.url, tally.task_ids)
            # Back to idle, as the "before" figure was: the rest of the queue cancelled, the
            # render in flight stopped, garbage given time to settle.
            cancelled = cancel_unfinished(api.url, tally.task_ids)
            time.sleep(args.settle)
            idle_again = memory(api.pid)
        finally:
            api.stop()
    requests = tally.ok + sum(tally.errors.values())
    ended_at_end = sum(at_end.get(s, 0) for s in ENDED)
    ended_final = sum(final.get(s, 0) for s in ENDED)
    return {
        "machine": machine,
        "database": "postgresql" if args.database_url else "sqlite",
        "clients": args.clients,
        "workers": args.workers,
        "rate_per_s": args.rate,
        "malloc_arena_max": args.malloc_arena_max,
        "creates_attempted": budget.sent,
        "creates_ok": len(tally.create_ms),
        "polls_per_create": args.polls,
        "poll_interval_s": args.poll_interval,
        "wall_s": round(wall, 1),
        "creates_per_s": round(budget.sent / wall, 2),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "error_rate": sum(tally.errors.values()) / requests if requests else math.nan,
        "errors": tally.errors,
        "create_ms": {
            "p50": round(percentile(tally.create_ms, 50), 1),
            "p99": round(percentile(tally.create_ms, 99), 1),
            "max": round(max(tally.create_ms, default=math.nan), 1),
        },
        "poll_ms": {
            "p50": round(percentile(tally.poll_ms, 50), 1),
            "p99": round(percentile(tally.poll_ms, 99), 1),
            "max": round(max(tally.poll_ms, default=math.nan), 1),
        },
        "memory_before": before,
        "memory_after": after,
        "memory_settled": settled,
        "api_rss_after_over_before": round(after["api_rss_mib"] / before["api_rss_mib"], 2),
        "api_rss_settled_over_before": round(settled["api_rss_mib"] / before["api_rss_mib"], 2),
        "tasks_ended_at_end": ended_at_end,
        "renders_per_min": round(ended_at_end / wall * 60, 1),
        "task_status_at_end": at_end,
        "settle_s": args.settle,
        "tasks_ended_after_settle": ended_final,
        "task_status_after_settle": final,
        "cancelled_after_settle": cancelled,
        "memory_idle_again": idle_again,
        "api_rss_idle_again_over_before": round(
            idle_again["api_rss_mib"] / before["api_rss_mib"], 2
        ),
        "rss_timeline": timeline.samples,
    }


def summary(result: dict[str, Any]) -> str:
    before, after = result["memory_before"], result["memory_after"]
    pace = f"{result['rate_per_s']}/s" if result["rate_per_s"] else "unpaced"
    return "\n".join(
        [
            f"soak ({result['database']}, {pace}, MALLOC_ARENA_MAX="
            f"{result['malloc_arena_max'] or 'default'}): {result['creates_ok']}/"
            f"{result['creates_attempted']} creates in {result['wall_s']} s from "
            f"{result['clients']} clients, error rate {result['error_rate']:.4%}",
            f"  create p50 {result['create_ms']['p50']} ms p99 {result['create_ms']['p99']} ms;"
            f" poll p50 {result['poll_ms']['p50']} ms p99 {result['poll_ms']['p99']} ms",
            f"  API RSS before {before['api_rss_mib']} MiB, after {after['api_rss_mib']} MiB "
            f"({result['api_rss_after_over_before']}x), settled "
            f"{result['memory_settled']['api_rss_mib']} MiB, peak {after['api_peak_mib']} MiB",
            f"  idle again (rest cancelled): {result['memory_idle_again']['api_rss_mib']} MiB "
            f"({result['api_rss_idle_again_over_before']}x before)",
            f"  tasks ended during the run {result['tasks_ended_at_end']} "
            f"({result['renders_per_min']}/min), after {result['settle_s']} s more "
            f"{result['tasks_ended_after_settle']}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--polls", type=int, default=3, help="polls after each create")
    parser.add_argument("--poll-interval", type=float, default=0.0, help="seconds between polls")
    parser.add_argument("--rate", type=float, default=None, help="creates per second, in all")
    parser.add_argument("--workers", type=int, default=1, help="in-process render workers")
    parser.add_argument("--malloc-arena-max", type=int, default=None)
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS timeline step, s")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before the last RSS")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    try:
        result = run(args)
    except BenchError as exc:
        raise SystemExit(f"soak: {exc}") from None
    print(summary(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
