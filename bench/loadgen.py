"""Running one load scenario: ``wrk`` (preferred) or ``bench/pyload.py`` (fallback).

Either way the load generator is its own process, so it never shares the server's GIL, and
the result is the same dict: rps, p50/p90/p99/max/mean latency in ms, non-2xx count and
socket errors.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, BenchError, cpu_seconds, die_with_parent

WRK_MARK = "WRK_JSON "

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"connect\":%d,\"read\":%d,"
    .. "\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50_us\":%d,\"p90_us\":%d,"
    .. "\"p99_us\":%d,\"max_us\":%d,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
    latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class Load:
    """What to send: one request, repeated."""

    url: str
    method: str = "GET"
    body_file: Path | None = None


def choose_tool(preference: str) -> str:
    """``auto`` takes wrk when it is on PATH, else the Python generator."""
    if preference == "python":
        return "pyload"
    if shutil.which("wrk"):
        return "wrk"
    if preference == "wrk":
        raise SystemExit("--loadgen wrk: wrk is not installed (apt-get install -y wrk)")
    return "pyload"


def _lua_script(load: Load, path: Path) -> Path:
    lines = [f"wrk.method = {json.dumps(load.method)}"]
    if load.body_file is not None:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            "do",
            f"  local f = assert(io.open({json.dumps(str(load.body_file))}, 'rb'))",
            "  wrk.body = f:read('*a')",
            "  f:close()",
            "end",
        ]
    path.write_text("\n".join(lines) + "\n" + _LUA_DONE)
    return path


def _run(argv: list[str], limit: float) -> str:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
        preexec_fn=die_with_parent,
    )
    if done.returncode != 0:
        raise BenchError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def run_wrk(load: Load, connections: int, duration: float, script_dir: Path) -> dict[str, Any]:
    script = _lua_script(load, script_dir / f"wrk-{abs(hash(load))}.lua")
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        load.url,
    ]
    out = _run(argv, duration + 60)
    line = next((ln for ln in out.splitlines() if ln.startswith(WRK_MARK)), None)
    if line is None:
        raise BenchError(f"wrk printed no summary:\n{out}")
    raw = json.loads(line[len(WRK_MARK) :])
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "duration_s": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "ok": raw["requests"] - raw["status"],
        "non_2xx": raw["status"],
        "socket_errors": socket_errors,
    }


def run_pyload(
    load: Load,
    connections: int,
    *,
    duration: float = 0.0,
    warmup: float = 0.0,
    requests: int = 0,
    limit: float = 600.0,
) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(BENCH_DIR / "pyload.py"),
        "--url",
        load.url,
        "--method",
        load.method,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--requests",
        str(requests),
    ]
    if load.body_file is not None:
        argv += ["--body-file", str(load.body_file)]
    out = _run(argv, limit if requests else duration + warmup + 60)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def measure(
    tool: str,
    load: Load,
    connections: int,
    duration: float,
    warmup: float,
    script_dir: Path,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Warm up (results dropped), then measure for ``duration`` seconds.

    With ``server_pid``, also the server's CPU time over the measured run alone, per request
    (less sensitive than RPS to what else the machine is doing).
    """

    def once(seconds: float) -> dict[str, Any]:
        if tool == "wrk":
            return run_wrk(load, connections, seconds, script_dir)
        return run_pyload(load, connections, duration=seconds)

    if warmup > 0:
        once(warmup)
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    result = once(duration)
    if server_pid:
        cpu = cpu_seconds(server_pid) - cpu_before
        result["server_cpu_s"] = round(cpu, 2)
        requests = max(1, result["requests"])
        result["server_cpu_ms_per_req"] = round(cpu * 1000 / requests, 3)
    return result
