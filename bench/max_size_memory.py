"""Memory at the size limits (issue 13): the API process while 8 creates of maximum-size
inputs run at once (target: under 600 MiB), and a render of a maximum-size input (target:
under 1.5 GiB).

Not a test. The pictures sit exactly at the limits ``GET /openreel/v1/limits`` publishes
(read from the server, not assumed): 64,000,000 pixels (8000x8000) and just under 10 MiB
encoded. They are written once into a temporary folder:

* ``png16``: a 16-bit RGBA PNG (the most bytes per pixel a PNG can have: 512 MB raw) with
  noisy rows at the top, so that it is also ~10 MB compressed;
* ``jpeg``: a photo-like JPEG at the highest quality that stays under 10 MiB;
* ``mask``: an 8-bit grey PNG, noisy enough to be ~10 MB, for the largest body a valid
  create can carry: image2video with the motion brush (``image`` + ``static_mask`` + 6
  ``dynamic_masks``, 8 pictures at the limits, ~107 MB of JSON).

Phase A (API): for each scenario a fresh ``openreel serve --workers 0 --no-auth`` (its own
data dir, a free port; nothing renders), idle RSS taken 2 s after start-up, then 8 threads
POST the same create at once. The API process's peak is its ``VmHWM`` from /proc (the
kernel's own high-water mark, so nothing between samples is missed), checked against a
10 ms sampling of ``VmRSS``. Scenarios: one inline ``png16``, one inline ``jpeg``, the
``jpeg`` as a URL (the API does not fetch it; the worker does), and the motion-brush body.

Phase B (render): for each scenario a fresh ``openreel serve --no-auth`` with its one
in-process worker (the local queue renders in the serving process, so that process is the
worker), one create, polled until it ends; the peak is the process's ``VmHWM``.

Baselines in the same run: the idle server's RSS (per server), and a plain Pillow decode of
each picture (``Image.open(...).load()``) in a fresh interpreter, its ``VmHWM``; results are
reported as ratios to them.

    python bench/max_size_memory.py [--out bench/results/max_size_memory.json]
        [--clients 8] [--skip-api] [--skip-render]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchlib import (
    BenchError,
    ChildServer,
    b64,
    free_port,
    machine_info,
    photo_like,
    python_argv,
)
from servers import get_json, image_host, openreel_server, post_json

CREATE_PATH = "/v1/videos/image2video"
MIB = 1024 * 1024
API_TARGET_MIB = 600
RENDER_TARGET_MIB = 1.5 * 1024
# Encoded size to aim at: the 10 MiB rule less a margin for the PNG/JPEG framing.
SIZE_MARGIN = 64 * 1024


# --- pictures at the limits -------------------------------------------------------------------


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_rows(
    width: int, height: int, channels: int, depth: int, noise_rows: int, start: int, stop: int
) -> NDArray[np.uint8]:
    """Rows ``start:stop`` of the test picture as PNG scanlines (Sub filter), big-endian.

    A smooth gradient everywhere except the first ``noise_rows`` rows, which are random:
    the gradient costs almost nothing compressed, so those rows set the file size.
    """
    top = (1 << depth) - 1
    step = 8 if depth == 16 else 1  # whole steps: the Sub filter turns them into constants
    y, x = np.mgrid[start:stop, 0:width]
    planes = [x * step, y * step, (x + y) * step, top - x * step][:channels]
    planes = [plane % (top + 1) for plane in planes]
    dtype = np.dtype(">u2") if depth == 16 else np.dtype(np.uint8)
    pixels = np.stack(planes, -1).astype(dtype)
    noisy = max(0, min(stop, noise_rows) - start)
    if noisy:
        rng = np.random.default_rng(start + 1)
        pixels[:noisy] = rng.integers(0, top + 1, pixels[:noisy].shape).astype(dtype)
    raw = pixels.view(np.uint8).reshape(stop - start, -1)
    bpp = channels * depth // 8
    sub = raw.copy()
    sub[:, bpp:] = raw[:, bpp:] - raw[:, :-bpp]  # uint8 arithmetic wraps: the Sub filter
    return np.concatenate([np.ones((stop - start, 1), np.uint8), sub], axis=1)


def write_png(
    path: Path, width: int, height: int, channels: int, depth: int, noise_rows: int
) -> int:
    """A PNG (grey or RGBA, 8 or 16 bits) written row block by row block; its size."""
    colour_type = {1: 0, 4: 6}[channels]
    compressor = zlib.compressobj(6)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
        out.write(_chunk(b"IHDR", ihdr))
        for start in range(0, height, 256):
            rows = _png_rows(width, height, channels, depth, noise_rows, start,
                             min(height, start + 256))  # fmt: skip
            data = compressor.compress(rows.tobytes())
            if data:
                out.write(_chunk(b"IDAT", data))
        out.write(_chunk(b"IDAT", compressor.flush()))
        out.write(_chunk(b"IEND", b""))
    return path.stat().st_size


def png_at_limit(path: Path, side: int, channels: int, depth: int, limit: int) -> int:
    """A ``side`` x ``side`` PNG whose size is just under ``limit``: one try with no noise to
    measure the gradient's cost, then as many noisy rows as the rest of the budget holds."""
    row_bytes = side * channels * depth // 8
    base = write_png(path, side, side, channels, depth, 0)
    rows = max(0, (limit - SIZE_MARGIN - base) // row_bytes)
    size = write_png(path, side, side, channels, depth, rows)
    while size > limit - SIZE_MARGIN // 2 and rows > 0:
        rows -= 4
        size = write_png(path, side, side, channels, depth, rows)
    return size


def jpeg_at_limit(path: Path, side: int, limit: int) -> int:
    """A photo-like JPEG at the highest quality (to 95) whose size is under ``limit``."""
    picture = photo_like(side, side)
    best = b""
    for quality in range(95, 40, -1):
        picture.save(path, "JPEG", quality=quality)
        if path.stat().st_size <= limit - SIZE_MARGIN:
            best = path.read_bytes()
            break
    if not best:
        raise BenchError("no JPEG quality fits the size limit")
    return len(best)


@dataclass(frozen=True)
class Pictures:
    png16: Path
    jpeg: Path
    mask: Path
    side: int

    def describe(self) -> dict[str, Any]:
        return {
            "side_px": self.side,
            "pixels": self.side * self.side,
            "png16_bytes": self.png16.stat().st_size,
            "jpeg_bytes": self.jpeg.stat().st_size,
            "mask_bytes": self.mask.stat().st_size,
        }


def make_pictures(work: Path, limits: dict[str, Any]) -> Pictures:
    side = math.isqrt(int(limits["max_pixels"]))
    max_bytes = int(limits["max_bytes"])
    pictures = Pictures(work / "max-rgba16.png", work / "max.jpg", work / "max-mask.png", side)
    png_at_limit(pictures.png16, side, 4, 16, max_bytes)
    jpeg_at_limit(pictures.jpeg, side, max_bytes)
    png_at_limit(pictures.mask, side, 1, 8, max_bytes)
    return pictures


# --- memory from /proc ------------------------------------------------------------------------


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """``VmRSS`` of one process every ``interval`` s in a thread; the largest seen."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.max_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.max_kib = max(self.max_kib, status_kib(self.pid, "VmRSS"))
            except OSError:
                return
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


PILLOW_DECODE = r"""
import json, sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
before = hwm()
with Image.open(sys.argv[1]) as img:
    img.load()
    mode = img.mode
print(json.dumps({"before_kib": before, "peak_kib": hwm(), "mode": mode}))
"""


def pillow_decode_peak(path: Path) -> dict[str, Any]:
    """A plain Pillow decode of ``path`` in a fresh interpreter: its peak RSS (MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", PILLOW_DECODE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "interpreter_mib": mib(result["before_kib"]),
        "peak_mib": mib(result["peak_kib"]),
        "mode": result["mode"],
    }


# --- request bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    describe: str
    body: Callable[[], bytes]
    needs_host: bool = False


def i2v_body(image: str, **extra: Any) -> bytes:
    fields: dict[str, Any] = {
        "model_name": "kling-v1",
        "mode": "std",
        "duration": "5",
        "image": image,
        "prompt": "a slow push-in on the scene",
    }
    fields.update(extra)
    return json.dumps(fields).encode()


def motion_brush_body(pictures: Pictures) -> bytes:
    """The largest valid create: image2video with the motion brush, 8 pictures at the limit."""
    mask = b64(pictures.mask.read_bytes())
    side = pictures.side
    groups = [
        {
            "mask": mask,
            "trajectories": [
                {"x": side // 8 * (i + 1), "y": side // 2},
                {"x": side // 8 * (i + 1) + side // 20, "y": side // 2 + side // 20},
            ],
        }
        for i in range(6)
    ]
    return i2v_body(
        b64(pictures.jpeg.read_bytes()),
        static_mask=mask,
        dynamic_masks=groups,
        prompt="the marked parts move",
    )


def scenarios(pictures: Pictures, host_url: str) -> list[Scenario]:
    return [
        Scenario(
            "png16_inline",
            "one 8000x8000 16-bit RGBA PNG, base64 in the body",
            lambda: i2v_body(b64(pictures.png16.read_bytes())),
        ),
        Scenario(
            "jpeg_inline",
            "one 8000x8000 JPEG, base64 in the body",
            lambda: i2v_body(b64(pictures.jpeg.read_bytes())),
        ),
        Scenario(
            "jpeg_url",
            "the same JPEG as a URL (fetched by the worker)",
            lambda: i2v_body(f"{host_url}/image.jpg"),
            needs_host=True,
        ),
        Scenario(
            "motion_brush_inline",
            "image2video + static_mask + 6 dynamic_masks: 8 pictures at the limit, base64",
            lambda: motion_brush_body(pictures),
        ),
    ]


# --- the servers ------------------------------------------------------------------------------


def rendering_server(data_dir: Path, log_dir: Path) -> ChildServer:
    """``openreel serve --no-auth`` with its default in-process worker; loopback URLs allowed
    (the image host)."""
    port = free_port()
    argv = python_argv(
        "-m", "openreel", "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-auth"
    )
    env = {"OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32", "OPENREEL_WORKERS": "1"}
    return ChildServer("openreel", argv, port, log_dir / f"render-{port}.log", env)


@contextlib.contextmanager
def running(server: ChildServer) -> Iterator[ChildServer]:
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def idle_kib(server: ChildServer) -> int:
    """VmRSS once start-up garbage has settled, after one cheap request warmed the routes."""
    get_json(server.url + "/openreel/v1/limits")
    time.sleep(2.0)
    return status_kib(server.pid, "VmRSS")


def fetch_limits(work: Path) -> dict[str, Any]:
    """The image limits as a server publishes them (``GET /openreel/v1/limits``)."""
    with running(openreel_server(work / "limits-data", work, None)) as server:
        status, document = get_json(server.url + "/openreel/v1/limits")
    if status != 200:
        raise BenchError(f"GET /openreel/v1/limits answered {status}")
    return document


# --- phase A: the API under 8 concurrent maximum-size creates ---------------------------------


def api_phase(scenario: Scenario, clients: int, work: Path) -> dict[str, Any]:
    body = scenario.body()
    data_dir = work / f"api-{scenario.name}"
    api = openreel_server(data_dir, work, None)
    api.env["OPENREEL_ALLOWED_NETWORKS"] = "127.0.0.1/32"  # the image host's URL
    with running(api) as server:
        idle = idle_kib(server)
        answers: list[str] = []

        def create() -> None:
            try:
                status, payload = post_json(server.url + CREATE_PATH, body, timeout=600)
                answers.append(f"{status} code {payload.get('code')}")
            except OSError as exc:
                answers.append(f"transport {type(exc).__name__}")

        started = time.perf_counter()
        with RssSampler(server.pid) as sampler, ThreadPoolExecutor(clients) as pool:
            for _ in range(clients):
                pool.submit(create)
        wall = time.perf_counter() - started
        server.check_alive()
        peak = status_kib(server.pid, "VmHWM")
        time.sleep(2.0)
        after = status_kib(server.pid, "VmRSS")
    counts = {answer: answers.count(answer) for answer in sorted(set(answers))}
    return {
        "scenario": scenario.name,
        "describe": scenario.describe,
        "body_bytes": len(body),
        "clients": clients,
        "answers": counts,
        "wall_s": round(wall, 1),
        "idle_mib": mib(idle),
        "peak_mib": mib(peak),
        "sampled_max_mib": mib(sampler.max_kib),
        "after_mib": mib(after),
        "peak_over_idle": round(peak / idle, 2),
        "target_mib": API_TARGET_MIB,
        "pass": peak / 1024 < API_TARGET_MIB and counts == {"200 code 0": clients},
    }


# --- phase B: one render of a maximum-size input ----------------------------------------------


def wait_task(server: ChildServer, task_id: str, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        _, payload = get_json(f"{server.url}{CREATE_PATH}/{task_id}")
        data = payload.get("data") or {}
        if data.get("task_status") in ("succeed", "failed"):
            return dict(data)
        time.sleep(0.25)
    raise BenchError(f"task {task_id} did not end within {timeout} s")


def render_phase(scenario: Scenario, work: Path, baseline_mib: float) -> dict[str, Any]:
    body = scenario.body()
    data_dir = work / f"render-{scenario.name}"
    with running(rendering_server(data_dir, work)) as server:
        idle = idle_kib(server)
        started = time.perf_counter()
        with RssSampler(server.pid) as sampler:
            status, payload = post_json(server.url + CREATE_PATH, body, timeout=600)
            if status != 200 or payload.get("code") != 0:
                raise BenchError(f"{scenario.name}: create answered {status} {payload}")
            task = wait_task(server, str(payload["data"]["task_id"]))
        wall = time.perf_counter() - started
        peak = status_kib(server.pid, "VmHWM")
    return {
        "scenario": scenario.name,
        "describe": scenario.describe,
        "task_status": task.get("task_status"),
        "task_status_msg": task.get("task_status_msg", ""),
        "wall_s": round(wall, 1),
        "idle_mib": mib(idle),
        "peak_mib": mib(peak),
        "sampled_max_mib": mib(sampler.max_kib),
        "render_growth_mib": mib(peak - idle),
        "pillow_decode_peak_mib": baseline_mib,
        "peak_over_pillow_decode": round(mib(peak) / baseline_mib, 2),
        "target_mib": RENDER_TARGET_MIB,
        "pass": peak / 1024 < RENDER_TARGET_MIB and task.get("task_status") == "succeed",
    }


# --- report -----------------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    lines = []
    if result.get("api"):
        lines += [
            f"API, {result['clients']} concurrent creates (target < {API_TARGET_MIB} MiB):",
            "| scenario | body MB | answers | idle MiB | peak MiB | peak/idle | pass |",
            "|---|---:|---|---:|---:|---:|---|",
        ]
        for r in result["api"]:
            answers = ", ".join(f"{n}x {a}" for a, n in r["answers"].items())
            lines.append(
                f"| {r['scenario']} | {r['body_bytes'] / 1e6:.1f} | {answers} | {r['idle_mib']} "
                f"| {r['peak_mib']} | {r['peak_over_idle']} | {r['pass']} |"
            )
    if result.get("render"):
        lines += [
            f"Render of one maximum-size input (target < {RENDER_TARGET_MIB:.0f} MiB):",
            "| scenario | status | s | idle MiB | peak MiB | Pillow decode MiB | ratio | pass |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in result["render"]:
            lines.append(
                f"| {r['scenario']} | {r['task_status']} | {r['wall_s']} | {r['idle_mib']} "
                f"| {r['peak_mib']} | {r['pillow_decode_peak_mib']} "
                f"| {r['peak_over_pillow_decode']} | {r['pass']} |"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"clients": args.clients}
    with tempfile.TemporaryDirectory(prefix="openreel-maxmem-") as tmp:
        work = Path(tmp)
        result["machine"] = machine_info(work)
        limits = fetch_limits(work)
        result["limits"] = {"image": limits["image"], "request": limits["request"]}
        pictures = make_pictures(work, limits["image"])
        result["pictures"] = pictures.describe()
        baselines = {
            name: pillow_decode_peak(path)
            for name, path in (("png16", pictures.png16), ("jpeg", pictures.jpeg),
                               ("mask", pictures.mask))
        }  # fmt: skip
        result["pillow_decode"] = baselines
        host = image_host(pictures.jpeg, work)
        host.start()
        try:
            host.wait_ready()
            cases = scenarios(pictures, host.url)
            if not args.skip_api:
                result["api"] = [api_phase(case, args.clients, work) for case in cases]
            if not args.skip_render:
                decode = {
                    "png16_inline": baselines["png16"]["peak_mib"],
                    "jpeg_inline": baselines["jpeg"]["peak_mib"],
                    "jpeg_url": baselines["jpeg"]["peak_mib"],
                    "motion_brush_inline": baselines["jpeg"]["peak_mib"],
                }
                result["render"] = [render_phase(case, work, decode[case.name]) for case in cases]
        finally:
            host.stop()
        result["loadavg_at_end"] = list(os.getloadavg())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent creates in phase A")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    try:
        result = run(args)
    except BenchError as exc:
        print(f"max_size_memory: {exc}", file=sys.stderr)
        return 1
    print(table(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
