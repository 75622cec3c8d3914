"""End-to-end fixtures: a real server process and a loopback image host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.helpers import image_bytes
from tests.support.image_host import ImageHost


@pytest.fixture
def image_host() -> Iterator[ImageHost]:
    host = ImageHost({"photo.png": image_bytes(800, 600, seed=5)})
    yield host
    host.close()


@pytest.fixture
def server_env(database_url: str | None) -> dict[str, str]:
    env = {
        "OPENREEL_POLL_INTERVAL": "0.1",
        "OPENREEL_LEASE_SECONDS": "5",
        # The image hosts and callback receivers of the tests listen on loopback.
        "OPENREEL_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    if database_url:
        env["OPENREEL_DATABASE_URL"] = database_url
    return env


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    return tmp_path / "server-data"
