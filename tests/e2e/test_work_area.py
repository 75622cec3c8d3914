"""Scratch folders of renders killed mid-way (SIGKILL) are removed when a worker starts again,
so nothing under the data directory grows round after round; a live process's folder is
never touched."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.helpers import image_b64
from tests.support.server import running_server

PATH = "/v1/videos/image2video"
LONG_RENDER = {"mode": "pro", "duration": "10", "model_name": "kling-v2-1"}


def render_folders(data_dir: Path) -> list[Path]:
    """The temporary folders of renders in progress (or left behind)."""
    return sorted((data_dir / "work").glob("*/task-*"))


def only_the_live_folder(data_dir: Path) -> Path:
    """The one process folder under work/; every render folder is inside it."""
    (live,) = (data_dir / "work").glob("proc-*")
    assert all(folder.parent == live for folder in render_folders(data_dir))
    return live


def test_sigkill_leftovers_are_swept_at_the_next_start(
    server_dir: Path, server_env: dict[str, str]
) -> None:
    key = ""
    killed: list[Path] = []
    for round_number in range(3):
        with running_server(server_dir, server_env) as server:
            if round_number == 0:
                key = server.printed_key()
            # Earlier rounds' leftovers are gone (the restarted server may already be
            # rendering the task it recovered, in its own folder).
            live = only_the_live_folder(server_dir)
            assert not any(folder.exists() for folder in killed)
            client = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            created = client.post(PATH, json={"image": image_b64(640, 400), **LONG_RENDER})
            assert created.status_code == 200, created.text
            deadline = time.monotonic() + 60
            while not list(live.glob("task-*")):
                assert time.monotonic() < deadline, "render never started"
                time.sleep(0.05)
            server.kill()  # SIGKILL: no cleanup runs
            client.close()
        killed = render_folders(server_dir)
        assert killed  # what the kill left behind
    with running_server(server_dir, server_env):
        only_the_live_folder(server_dir)
        assert not any(folder.exists() for folder in killed)


def test_a_live_processes_folder_is_not_swept(tmp_path: Path) -> None:
    """Two processes on one data directory (scale-out on one machine): a start sweeps only
    folders whose owner is dead."""
    root = tmp_path / "work"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from openreel.work_area import open_work_area; "
            f"area = open_work_area(Path({str(root)!r})); "
            "(area.path / 'task-1-x').mkdir(); print(area.path, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        live = Path(holder.stdout.readline().strip())
        dead = root / "proc-1-dead"
        (dead / "task-2-y").mkdir(parents=True)
        (dead / ".lock").touch()
        from openreel.work_area import open_work_area

        mine = open_work_area(root)
        assert live.is_dir() and (live / "task-1-x").is_dir()
        assert not dead.exists()
        assert sorted(p.name for p in root.iterdir()) == sorted([live.name, mine.path.name])
        mine.close()
        assert not mine.path.exists()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
