"""Scratch space for renders, swept of what dead processes left behind.

Each process that renders gets its own folder under ``<data_dir>/work``, with a ``.lock`` file
it holds an exclusive ``flock`` on for as long as it lives. A render's temporary folder lives
inside it and is removed when the render ends; a process killed mid-render (SIGKILL, the OOM
killer, a power cut) cannot remove it, but its lock dies with it. So when a process starts it
removes every folder whose lock it can take: those of dead processes only, never one of a
live worker sharing the data directory (scale-out runs several on one machine).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import IO

__all__ = ["WorkArea", "open_work_area"]

log = logging.getLogger("openreel.work_area")
LOCK_NAME = ".lock"


class WorkArea:
    """This process's folder; keep the object alive as long as the process renders."""

    def __init__(self, path: Path, lock: IO[bytes]) -> None:
        self.path = path
        self._lock = lock  # the open, flocked file: closing it releases the folder

    def close(self) -> None:
        self._lock.close()
        shutil.rmtree(self.path, ignore_errors=True)


def _take(lock_path: Path) -> IO[bytes] | None:
    """The lock file, opened and locked; None when a live process holds it."""
    try:
        handle = open(lock_path, "ab")  # noqa: SIM115 (held for the process's lifetime)
    except OSError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def sweep(root: Path) -> list[Path]:
    """Remove the folders of dead processes under ``root``; return what was removed."""
    removed = []
    for entry in root.iterdir() if root.is_dir() else []:
        if not entry.is_dir():
            continue
        lock_path = entry / LOCK_NAME
        if not lock_path.exists():
            # A render folder of an openreel before 0.2 (task-*), or a folder whose owner
            # died before it made its lock: nothing live can be inside.
            if entry.name.startswith("task-") or entry.name.startswith("proc-"):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            continue
        handle = _take(lock_path)
        if handle is None:
            continue  # a live process's folder
        try:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        finally:
            handle.close()
    return removed


def open_work_area(root: Path) -> WorkArea:
    """Sweep ``root``, then make and lock this process's folder in it."""
    root.mkdir(parents=True, exist_ok=True)
    removed = sweep(root)
    if removed:
        log.info("removed %d work folder(s) left by dead processes", len(removed))
    name = f"proc-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    # Made and locked under a name the sweep ignores, then renamed: another process's sweep
    # never sees this folder without its lock.
    making = root / f".{name}"
    making.mkdir()
    handle = _take(making / LOCK_NAME)
    if handle is None:  # cannot happen for a fresh folder; fail loudly rather than share
        raise RuntimeError(f"could not lock the new work folder {making}")
    path = making.rename(root / name)
    return WorkArea(path, handle)
