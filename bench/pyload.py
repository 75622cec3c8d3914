"""Python load generator: keep-alive HTTP/1.1 over raw asyncio streams, one process.

The fallback when ``wrk`` is missing, and the tool that creates a fixed number of tasks for
the memory phase. Closed loop like wrk: ``--connections`` connections, each sending its next
request when the previous response is complete. Prints one JSON object on stdout.

    python bench/pyload.py --url http://127.0.0.1:8000/healthz --duration 10 --warmup 2
    python bench/pyload.py --url URL --method POST --body-file body.json --requests 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    issued: int = 0


def build_request(method: str, url: str, body: bytes | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    head = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: pyload"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
    return host, port, raw


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def _connection(
    host: str,
    port: int,
    request: bytes,
    tally: Tally,
    *,
    measure_from: float,
    stop_at: float,
    budget: list[int] | None,
    timeout: float,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while True:
            if budget is not None:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            elif time.perf_counter() >= stop_at:
                return
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status, close = await asyncio.wait_for(_read_response(reader), timeout)
                finished = time.perf_counter()
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                tally.socket_errors += 1
                if writer is not None:
                    writer.close()
                writer = reader = None
                await asyncio.sleep(0.01)
                continue
            if budget is not None or measure_from <= started and finished <= stop_at:
                tally.latencies.append(finished - started)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if close:
                writer.close()
                writer = reader = None
    finally:
        if writer is not None:
            writer.close()


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    # Nearest rank: the smallest value with at least pct% of the values at or below it.
    rank = max(0, min(len(sorted_values) - 1, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    body = args.body_file.read_bytes() if args.body_file else None
    host, port, request = build_request(args.method, args.url, body)
    tally = Tally()
    now = time.perf_counter()
    if args.requests:
        budget: list[int] | None = [args.requests]
        measure_from, stop_at = now, float("inf")
    else:
        budget = None
        measure_from = now + args.warmup
        stop_at = measure_from + args.duration
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(
                host,
                port,
                request,
                tally,
                measure_from=measure_from,
                stop_at=stop_at,
                budget=budget,
                timeout=args.timeout,
            )
            for _ in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started if args.requests else args.duration
    lat = sorted(tally.latencies)
    ok = sum(n for status, n in tally.statuses.items() if 200 <= status < 300)
    return {
        "tool": "pyload",
        "requests": len(lat),
        "duration_s": round(elapsed, 3),
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p90_ms": round(percentile(lat, 90) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "max_ms": round((lat[-1] if lat else 0.0) * 1000, 2),
        "mean_ms": round(sum(lat) / len(lat) * 1000, 2) if lat else 0.0,
        "ok": ok,
        "non_2xx": len(lat) - ok,
        "socket_errors": tally.socket_errors,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--requests", type=int, default=0, help="fixed count instead of time")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
