"""BlobStore on the local data directory. Writes are atomic: temp file, then rename."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path, PurePosixPath

# A write in progress is seconds old; one this old was left by a process that died mid-write.
STALE_TMP_SECONDS = 3600


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._sweep_tmp()

    def _sweep_tmp(self) -> None:
        """Remove half-written files of dead processes (live ones may share the folder)."""
        cutoff = time.time() - STALE_TMP_SECONDS
        for entry in self._tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                continue  # gone already, or not ours to remove

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    def _commit(self, tmp: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._commit(tmp, key)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, key: str, source: Path) -> None:
        tmp = self._tmp / uuid.uuid4().hex
        try:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            self._commit(tmp, key)
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except ValueError:
            return False

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def materialize(self, key: str, work_dir: Path) -> Path:
        return self._path(key)

    def delete_prefix(self, prefix: str) -> None:
        target = self._path(prefix.rstrip("/"))
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.is_file():
            target.unlink(missing_ok=True)
