"""Shared pieces of the benchmarks: child processes, ports, memory, test images, machine facts.

Every server the benchmarks start is a child process that gets ``PR_SET_PDEATHSIG`` (it is
killed when the bench dies, even by SIGKILL) and is also stopped in a ``finally``.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import io
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """The measurement is invalid: a server crashed or did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """``preexec_fn``: SIGKILL this child when the process that started it exits."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class ChildServer:
    """A server subprocess on a loopback port, its output in a log file."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/healthz"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        log = open(self.log_path, "wb")  # the child keeps its own descriptor
        try:
            self.proc = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc is not None else None
            raise BenchError(f"{self.name} exited (code {code}):\n{self.log_tail()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not become ready:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_all(servers: list[ChildServer]) -> None:
    """Start the servers together (start-up overlaps), then wait for each."""
    for server in servers:
        server.start()
    for server in servers:
        server.wait_ready()


def stop_all(servers: list[ChildServer]) -> None:
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


# --- memory ---------------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    """``pid`` and every live descendant, from the parent links in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found = [pid]
    index = 0
    while index < len(found):
        found.extend(children.get(found[index], []))
        index += 1
    return found


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS of the process and its children (KiB), and the process's own peak (VmHWM)."""
    pids = descendants(pid)
    total = 0
    for each in pids:
        with contextlib.suppress(OSError):
            total += _status_kb(each, "VmRSS")
    return {
        "rss_kib": total,
        "rss_self_kib": _status_kb(pid, "VmRSS"),
        "hwm_self_kib": _status_kb(pid, "VmHWM"),
        "processes": len(pids),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # After the ')': state is field 3 of stat(5), so utime (14) and stime (15) are [11], [12].
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


# --- images ---------------------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int = 7, grain: float = 0.12) -> Image.Image:
    """A deterministic RGB picture: gradients, shapes and ``grain`` (0: none) of noise.

    With grain it compresses about as badly as a photo does; without, PNG shrinks a lot.
    """
    rng = random.Random(seed)
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    blue = red.transpose(Image.Transpose.ROTATE_180)
    img = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(20, width // 3), y0 + rng.randrange(20, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(3))
    if grain <= 0:
        return img
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(img, noise, grain)


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt.upper() == "JPEG":
        img.save(buf, "JPEG", quality=90)
    else:
        img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def image2video_body(image: str, prompt: str = "a slow push-in on the scene") -> bytes:
    return json.dumps({"image": image, "prompt": prompt}).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- machine --------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _mem_total_gib() -> float:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "-"


def _fs_type(path: Path) -> str:
    best, fstype = "", "-"
    with contextlib.suppress(OSError), open("/proc/mounts") as handle:
        for line in handle:
            parts = line.split()
            mount = parts[1]
            inside = str(path).startswith(mount.rstrip("/") + "/") or str(path) == mount
            if inside and len(mount) >= len(best):
                best, fstype = mount, parts[2]
    return fstype


def machine_info(work_dir: Path) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    wrk_version = "-"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        wrk_version = (
            (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
        )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "mem_total_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": list(os.getloadavg()),
        "temp_fs": _fs_type(work_dir),
        "wrk": wrk_version,
        "versions": {
            name: _version(name)
            for name in (
                "openreel",
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "sqlalchemy",
                "psycopg",
                "pydantic",
                "pillow",
                "httpx",
            )
        },
    }
