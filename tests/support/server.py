"""A real ``openreel serve`` process on a free loopback port, for end-to-end tests.

The child gets PR_SET_PDEATHSIG so it dies with the test process, and every test stops it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ChildProcess:
    """A command on a pipe (stdout and stderr together, collected line by line) that dies
    with the test process. ``name`` says which one in errors."""

    stop_timeout = 20.0  # seconds ``stop`` waits after its signal before a SIGKILL

    def __init__(
        self, argv: list[str], env: dict[str, str], cwd: Path | None = None, name: str = ""
    ) -> None:
        self.name = name or " ".join(argv[:4])
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def text(self) -> str:
        """Everything the process printed (all of it, once it has exited)."""
        if self.proc.poll() is not None:
            self._reader.join(timeout=10)
        return "".join(self.output)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        """Until the process has printed ``needle``."""
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no {needle!r}:\n{self.text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_output()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Sends ``sig`` (if it still runs), waits for the end, SIGKILLs after stop_timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_output()

    def _close_output(self) -> None:
        """The reader ends at the pipe's EOF (the process is gone); close our end of it."""
        self._reader.join(timeout=10)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()


class ServerProcess(ChildProcess):
    stop_timeout = 15.0

    def __init__(
        self,
        data_dir: Path,
        port: int,
        env: dict[str, str],
        args: list[str],
        command: list[str] | None = None,
        cwd: Path | None = None,
        cafile: Path | None = None,
    ) -> None:
        self.port = port
        self.data_dir = data_dir
        # With a CA file the server speaks HTTPS (--ssl-certfile) and is verified against it.
        self.verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(cafile)) if cafile else True
        )
        self.url = f"{'https' if cafile else 'http'}://127.0.0.1:{port}"
        argv = [
            *(command or [sys.executable, "-m", "openreel"]),
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ]
        super().__init__(argv, env, cwd, name="server")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + "".join(self.output))
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=1, verify=self.verify)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("server did not start:\n" + "".join(self.output))

    def printed_key(self) -> str:
        text = "".join(self.output)
        assert "API key:" in text, text
        return text.split("API key:")[1].split()[0]

    def saved_key(self) -> str:
        """The first key, from the file ``--log-format json`` writes instead of printing it."""
        text = (self.data_dir / "first-key.txt").read_text()
        return text.split("API key:")[1].split()[0]

    def printed_credentials(self) -> dict[str, str]:
        """The first key a fresh server printed: api_key, access_key, secret_key."""
        text = "".join(self.output)
        found = {}
        for label, name in (
            ("API key:", "api_key"),
            ("access key:", "access_key"),
            ("secret key:", "secret_key"),
        ):
            assert label in text, text
            found[name] = text.split(label)[1].split()[0]
        return found


@contextmanager
def running_server(
    data_dir: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    cafile: Path | None = None,
) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir, free_port(), env or {}, args or [], cafile=cafile)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class WorkerProcess(ChildProcess):
    """A real ``openreel worker`` process (PostgreSQL and OPENREEL_QUEUE=procrastinate in
    ``env``), its stdout and stderr collected. ``command`` replaces ``python -m openreel``
    (e.g. a launcher that wraps it); without ``data_dir``, ``env`` names it."""

    def __init__(
        self,
        data_dir: Path | None,
        env: dict[str, str],
        args: list[str],
        command: list[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        argv = [
            *(command or [sys.executable, "-m", "openreel"]),
            "worker",
            *(["--data-dir", str(data_dir)] if data_dir is not None else []),
            *args,
        ]
        super().__init__(argv, env, cwd, name="worker")
