"""Live: what the SDK and CLI tests know of a live openreel server."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.server import ServerProcess


@dataclass(frozen=True)
class Live:
    url: str
    api_key: str
    access_key: str
    secret_key: str
    server: ServerProcess
