"""API throughput and latency of openreel against a bare FastAPI endpoint, on loopback.

Starts (each a subprocess on a free 127.0.0.1 port that dies with this script) the bare app
(``bench/bare_app.py``), ``openreel serve --workers 0 --no-auth`` on a fresh data dir
(SQLite, or a scratch PostgreSQL database with ``--database-url``) and a static image host
(``bench/image_host.py``, 800x600 PNG), then runs each scenario against the bare app and
openreel in turn with ``wrk`` (or ``bench/pyload.py`` without wrk):

  query        GET  /v1/videos/image2video/{task_id}   (a task created beforehand)
  create_url   POST /v1/videos/image2video             image = URL on the image host
  create_1mp   POST /v1/videos/image2video             image = base64 1152x864 (~1 MP)

The bare app gets the very same requests (same bodies). The result is openreel RPS / bare
RPS per scenario, checked against the targets (query >= 0.4x, create_url >= 0.25x) and
reported as PASS/FAIL: the exit status is 0 either way, 1 when a server crashed or did not
start, 3 when responses were errors (non-2xx or socket errors: the numbers are not valid).
Then the memory phase (``bench/memory_bench.py``) unless ``--skip-memory``.

    python bench/api_bench.py [--duration 10] [--concurrency 16] [--database-url URL]
                              [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    BenchError,
    ChildServer,
    b64,
    encode,
    image2video_body,
    machine_info,
    photo_like,
    start_all,
    stop_all,
)
from loadgen import Load, choose_tool, measure
from memory_bench import describe, run_memory
from servers import bare_server, create_task, database_for, get_json, image_host, openreel_server

CREATE_PATH = "/v1/videos/image2video"
TARGETS = {"query": 0.4, "create_url": 0.25}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: str
    path: str
    body_file: Path | None = None

    def load(self, server: ChildServer) -> Load:
        return Load(server.url + self.path, self.method, self.body_file)


def _prepare_images(work_dir: Path, large_format: str) -> dict[str, Any]:
    url_image = work_dir / "image.png"
    url_image.write_bytes(encode(photo_like(800, 600, seed=1, grain=0.0), "PNG"))
    large = encode(photo_like(1152, 864, seed=2), large_format)
    large_body = work_dir / "large_body.json"
    large_body.write_bytes(image2video_body(b64(large)))
    return {
        "url_image": url_image,
        "url_image_bytes": url_image.stat().st_size,
        "large_body": large_body,
        "large_image_bytes": len(large),
        "large_body_bytes": large_body.stat().st_size,
        "large_format": large_format,
    }


def _check_ok(result: dict[str, Any]) -> bool:
    return bool(result["non_2xx"] == 0 and result["socket_errors"] == 0 and result["requests"] > 0)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(run[key] for run in runs)), 3)


def summarise(name: str, title: str, rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    bare = [r["bare"] for r in rounds]
    ours = [r["openreel"] for r in rounds]
    ratios = [o["rps"] / b["rps"] if b["rps"] else 0.0 for b, o in zip(bare, ours, strict=True)]
    ratio = round(statistics.median(ratios), 3)
    valid = all(_check_ok(run) for run in bare + ours)
    target = TARGETS.get(name)
    if not valid:
        verdict = "INVALID"
    elif target is None:
        verdict = "-"
    else:
        verdict = "PASS" if ratio >= target else "FAIL"
    row: dict[str, Any] = {"scenario": name, "title": title, "ratio": ratio, "ratios": ratios}
    for side, runs in (("bare", bare), ("openreel", ours)):
        for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_req"):
            row[f"{side}_{key}"] = _median(runs, key)
    row.update(target=target, verdict=verdict, rounds=rounds)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | bare RPS | openreel RPS | ratio | bare p50 / p99 ms | openreel p50 / p99 ms "
        "| server CPU ms/req bare / openreel | target | result |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        target = f">= {r['target']}x" if r["target"] is not None else "-"
        lines.append(
            f"| {r['title']} | {r['bare_rps']:.0f} | {r['openreel_rps']:.0f} | "
            f"{r['ratio']:.2f}x | {r['bare_p50_ms']:.1f} / {r['bare_p99_ms']:.1f} | "
            f"{r['openreel_p50_ms']:.1f} / {r['openreel_p99_ms']:.1f} | "
            f"{r['bare_server_cpu_ms_per_req']:.2f} / {r['openreel_server_cpu_ms_per_req']:.2f} | "
            f"{target} | {r['verdict']} |"
        )
    return "\n".join(lines)


def run_api(args: argparse.Namespace, tool: str, work_dir: Path) -> dict[str, Any]:
    images = _prepare_images(work_dir, args.large_format)
    with database_for(args.database_url) as database_url:
        host = image_host(images["url_image"], work_dir)
        bare = bare_server(work_dir)
        ours = openreel_server(work_dir / "api-data", work_dir, database_url)
        servers = [host, bare, ours]
        try:
            start_all(servers)
            url_body = work_dir / "url_body.json"
            url_body.write_bytes(image2video_body(f"{host.url}/image.png"))
            task_id = create_task(ours, url_body.read_bytes())
            create_task(ours, images["large_body"].read_bytes())  # the 1 MP body is accepted
            status, _ = get_json(f"{ours.url}{CREATE_PATH}/{task_id}")
            if status != 200:
                raise BenchError(f"openreel query of {task_id} answered {status}")
            scenarios = [
                Scenario("query", "GET task query", "GET", f"{CREATE_PATH}/{task_id}"),
                Scenario(
                    "create_url", "POST image2video, URL image", "POST", CREATE_PATH, url_body
                ),
                Scenario(
                    "create_1mp",
                    "POST image2video, 1 MP base64",
                    "POST",
                    CREATE_PATH,
                    images["large_body"],
                ),
            ]
            rounds: dict[str, list[dict[str, dict[str, Any]]]] = {s.name: [] for s in scenarios}
            for round_no in range(args.repeat):
                for scenario in scenarios:
                    pair: dict[str, dict[str, Any]] = {}
                    for side, server in (("bare", bare), ("openreel", ours)):
                        try:
                            pair[side] = measure(
                                tool,
                                scenario.load(server),
                                args.concurrency,
                                args.duration,
                                args.warmup,
                                work_dir,
                                server.pid,
                            )
                        finally:
                            # A dead server explains a failed load run better than the run.
                            for each in servers:
                                each.check_alive()
                        print(
                            f"  [{round_no + 1}/{args.repeat}] {scenario.name:<11} {side:<8} "
                            f"{pair[side]['rps']:>8.1f} rps  p50 {pair[side]['p50_ms']:>7.2f} ms"
                            f"  p99 {pair[side]['p99_ms']:>7.2f} ms  non-2xx "
                            f"{pair[side]['non_2xx']}  socket errors {pair[side]['socket_errors']}",
                            flush=True,
                        )
                    rounds[scenario.name].append(pair)
        finally:
            stop_all(servers)
    rows = [summarise(s.name, s.title, rounds[s.name]) for s in scenarios]
    info = {k: v for k, v in images.items() if not isinstance(v, Path)}
    return {"database": "postgresql" if database_url else "sqlite", "images": info, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432/test): a scratch "
        "database openreel_bench_<random> is created on it and dropped; default SQLite",
    )
    parser.add_argument("--large-format", choices=("JPEG", "PNG"), default="JPEG", type=str.upper)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks in the memory phase")
    parser.add_argument("--skip-memory", action="store_true", help="no memory phase")
    parser.add_argument("--out", type=Path, help="write all results as JSON here")
    args = parser.parse_args()

    # SIGTERM unwinds through the finally blocks, so children are stopped cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tool = choose_tool(args.loadgen)
    work_dir = Path(tempfile.mkdtemp(prefix="openreel-bench-"))
    report: dict[str, Any] = {
        "machine": machine_info(work_dir),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "loadgen": tool,
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "repeat": args.repeat,
        },
    }
    print(
        f"openreel API bench: load generator {tool}, {args.concurrency} connections, "
        f"{args.duration:g} s per run after {args.warmup:g} s warm-up; temp {work_dir}"
    )
    started = time.monotonic()
    try:
        report["api"] = run_api(args, tool, work_dir)
        print("\n" + table(report["api"]["rows"]) + "\n", flush=True)
        if not args.skip_memory:
            report["memory"] = run_memory(
                work_dir=work_dir,
                admin_url=args.database_url,
                tasks=args.tasks,
                connections=args.concurrency,
                tool=tool,
                duration=args.duration,
                warmup=args.warmup,
            )
            print(describe(report["memory"]), flush=True)
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report["machine"]["loadavg_at_end"] = list(os.getloadavg())
    report["runtime_s"] = round(time.monotonic() - started, 1)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    invalid = any(r["verdict"] == "INVALID" for r in report["api"]["rows"])
    memory = report.get("memory")
    if memory and (memory["fill"]["non_2xx"] or memory["fill"]["socket_errors"]):
        invalid = True
    for row in report["api"]["rows"]:
        if row["target"] is not None:
            print(
                f"target {row['scenario']}: {row['ratio']:.2f}x >= {row['target']}x? "
                f"{row['verdict']}"
            )
    print(f"done in {report['runtime_s']} s")
    return 3 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
