"""The BlobStore port, and the links that hand its result files to clients.

Keys are ``/``-separated relative paths such as ``outputs/<id>/1/video.mp4``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, source: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def materialize(self, key: str, work_dir: Path) -> Path:
        """A readable local file with the blob's bytes: the stored file itself where blobs
        are local, else a download into ``work_dir`` (removed with it)."""
        ...

    def delete_prefix(self, prefix: str) -> None: ...


class Links(Protocol):
    """Time-limited download URLs of result files, minted anew on every task query."""

    def url(self, base_url: str, key: str) -> str:
        """The URL of ``key``; ``base_url`` is this API's address as the client sees it
        (used only by links served through the API itself)."""
        ...
