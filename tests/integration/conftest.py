"""Fixtures shared by integration modules: the relay modules' scripted upstream, apps whose
tasks finish on the stand-in engine, and a migrated database for repository tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from openreel.config import Settings
from openreel.store.db import Database
from tests.fakes.engines import StandInEngine
from tests.support.api import Api
from tests.support.kling_stub import KlingStub


@pytest.fixture
def stub() -> Iterator[KlingStub]:
    """The scripted upstream of the relay tests (finishes a task after a few polls)."""
    upstream = KlingStub()
    yield upstream
    upstream.close()


@pytest.fixture
def stand_in_factory(api_factory: Callable[..., Api]) -> Callable[..., Api]:
    """``api_factory`` whose tasks finish on the stand-in engine (small real files of the
    geometry asked for), for modules whose subject is not what an engine renders: callbacks,
    the wire contract, account costs. A 720p classic render costs seconds of CPU; the
    stand-in, milliseconds."""

    def start(**settings: Any) -> Api:
        engine = StandInEngine()
        return api_factory(engines={engine.name: engine}, routes={"*": engine.name}, **settings)

    return start


@pytest.fixture
async def db(make_settings: Callable[..., Settings]) -> AsyncIterator[Database]:
    """The test's database (SQLite, or PostgreSQL in the ``db`` pass), migrated, for tests of
    one repository on its own."""
    settings = make_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    try:
        await database.migrate()
        yield database
    finally:
        await database.dispose()
