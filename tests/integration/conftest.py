"""Fixtures of the integration tests' relay modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kling_stub import KlingStub


@pytest.fixture
def stub() -> Iterator[KlingStub]:
    """The scripted upstream of the relay tests (finishes a task after a few polls)."""
    upstream = KlingStub()
    yield upstream
    upstream.close()
