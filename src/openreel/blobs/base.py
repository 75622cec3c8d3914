"""The BlobStore port.

Keys are ``/``-separated relative paths such as ``outputs/<id>/1/video.mp4``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, source: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path:
        """A readable local file with the blob's bytes."""
        ...

    def delete_prefix(self, prefix: str) -> None: ...
