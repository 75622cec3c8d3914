"""Memory phase: openreel's RSS at idle and after 10,000 tasks, its storage, and the task
query once those 10,000 tasks wait in the queue.

A fresh ``openreel serve --workers 0 --no-auth`` (nothing renders, every task stays
``submitted``) gets its tasks through the HTTP API: concurrent POSTs of a 320x320 base64 PNG
from ``bench/pyload.py`` (a separate process). RSS is VmRSS from /proc of the server and its
children. Also runs from ``bench/api_bench.py`` (skip with ``--skip-memory``).

    python bench/memory_bench.py [--tasks 10000] [--concurrency 16] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from benchlib import BenchError, b64, encode, image2video_body, rss_kib, start_all, stop_all
from loadgen import Load, choose_tool, measure, run_pyload
from servers import bare_server, create_task, database_for, openreel_server, storage_sizes

CREATE_PATH = "/v1/videos/image2video"


def small_image() -> Image.Image:
    """320x320 (the smallest size Kling accepts is 300 px a side), a plain gradient: cheap
    to send, decode and store, so the 10,000 creates are quick."""
    return Image.linear_gradient("L").resize((320, 320)).convert("RGB")


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)


def run_memory(
    *,
    work_dir: Path,
    admin_url: str | None,
    tasks: int,
    connections: int,
    tool: str,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    body_file = work_dir / "small_body.json"
    body_file.write_bytes(image2video_body(b64(encode(small_image(), "PNG"))))
    body = body_file.read_bytes()
    result: dict[str, Any] = {"tasks": tasks, "small_body_bytes": len(body)}
    with database_for(admin_url) as database_url:
        data_dir = work_dir / "memory-data"
        bare = bare_server(work_dir)
        server = openreel_server(data_dir, work_dir, database_url)
        try:
            start_all([bare, server])
            time.sleep(2.0)  # let start-up garbage settle
            idle = rss_kib(server.pid)
            result["bare_idle_rss_mib"] = _mib(rss_kib(bare.pid)["rss_kib"])
            result["idle_rss_mib"] = _mib(idle["rss_kib"])
            result["idle_processes"] = idle["processes"]

            oldest = create_task(server, body)
            started = time.perf_counter()
            try:
                fill = run_pyload(
                    Load(server.url + CREATE_PATH, "POST", body_file),
                    connections,
                    requests=tasks - 1,
                    limit=1800,
                )
            finally:
                server.check_alive()
            elapsed = time.perf_counter() - started
            result["fill"] = {
                "seconds": round(elapsed, 1),
                "tasks_per_s": round((tasks - 1) / elapsed, 1),
                "p50_ms": fill["p50_ms"],
                "p99_ms": fill["p99_ms"],
                "non_2xx": fill["non_2xx"],
                "socket_errors": fill["socket_errors"],
                "statuses": fill.get("statuses", {}),
            }
            time.sleep(2.0)
            after = rss_kib(server.pid)
            result["after_rss_mib"] = _mib(after["rss_kib"])
            result["after_hwm_mib"] = _mib(after["hwm_self_kib"])
            result["growth_mib"] = round(result["after_rss_mib"] - result["idle_rss_mib"], 1)
            result["storage"] = storage_sizes(data_dir, database_url)
            result["database"] = "postgresql" if database_url else "sqlite"

            # The task query with a full queue: the oldest task is 1st in line, the newest last.
            newest = create_task(server, body)
            query = "/v1/videos/image2video/{}"
            runs: dict[str, dict[str, Any]] = {}
            for name, target, task_id in (
                ("bare", bare, oldest),
                ("oldest", server, oldest),
                ("newest", server, newest),
            ):
                try:
                    runs[name] = measure(
                        tool,
                        Load(target.url + query.format(task_id)),
                        connections,
                        duration,
                        warmup,
                        work_dir,
                        target.pid,
                    )
                finally:
                    server.check_alive()
                    bare.check_alive()
            result["backlog_query"] = runs
            result["after_queries_rss_mib"] = _mib(rss_kib(server.pid)["rss_kib"])
        finally:
            stop_all([server, bare])
    return result


def describe(memory: dict[str, Any]) -> str:
    storage = memory["storage"]
    fill = memory["fill"]
    lines = [
        f"memory ({memory['database']}): idle {memory['idle_rss_mib']} MiB, after "
        f"{memory['tasks']} tasks {memory['after_rss_mib']} MiB (+{memory['growth_mib']} MiB, "
        f"peak {memory['after_hwm_mib']} MiB); bare FastAPI idle {memory['bare_idle_rss_mib']} MiB",
        f"  database {storage['db_bytes'] / 1e6:.1f} MB for {storage['task_rows']} rows, "
        f"blobs {storage['blobs_bytes'] / 1e6:.1f} MB; filled at {fill['tasks_per_s']} tasks/s "
        f"(p50 {fill['p50_ms']} ms, p99 {fill['p99_ms']} ms, non-2xx {fill['non_2xx']})",
    ]
    bare = memory["backlog_query"]["bare"]["rps"]
    for name in ("oldest", "newest"):
        run = memory["backlog_query"][name]
        ratio = run["rps"] / bare if bare else 0.0
        lines.append(
            f"  query {name} task with {memory['tasks']} queued: {run['rps']} rps "
            f"({ratio:.2f}x bare {bare}), p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms, "
            f"server CPU {run.get('server_cpu_ms_per_req', '-')} ms/req"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="backlog query seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--database-url", help="PostgreSQL server; a scratch database is used")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    tool = choose_tool(args.loadgen)
    work_dir = Path(tempfile.mkdtemp(prefix="openreel-membench-"))
    try:
        memory = run_memory(
            work_dir=work_dir,
            admin_url=args.database_url,
            tasks=args.tasks,
            connections=args.concurrency,
            tool=tool,
            duration=args.duration,
            warmup=args.warmup,
        )
    except BenchError as exc:
        print(f"memory bench: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(describe(memory))
    if args.out:
        args.out.write_text(json.dumps({"loadgen": tool, "memory": memory}, indent=2) + "\n")
    return 0 if memory["fill"]["non_2xx"] == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
